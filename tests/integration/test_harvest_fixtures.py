"""Recorded real responses (ccxt's static fixtures) through the adapter and the write path."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import psycopg
import pytest

from harvester.harvest import runs
from harvester.harvest.adapter import ExchangeAdapter
from harvester.harvest.pipeline import harvest_exchange
from marketmanager import db

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(os.environ.get("MM_CCXT_FIXTURES") or REPO.parent / "shared/fixtures/ccxt_static")
FIELDS = {
    "bid": "bid",
    "ask": "ask",
    "last": "last",
    "base_volume": "baseVolume",
    "quote_volume": "quoteVolume",
}


def _fixture_files() -> list[Any]:
    files = sorted(FIXTURES.glob("*.json")) if FIXTURES.is_dir() else []
    if not files:
        return [pytest.param(None, id="no-fixtures")]
    return [pytest.param(path, id=path.stem) for path in files]


def _runs_of(fixture: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (method, entry)
        for method in ("fetchTickers", "fetchTicker")
        for entry in fixture.get(method, [])
    ]


def _expected(method: str, entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    parsed = entry["parsedResponse"]
    tickers = list(parsed.values()) if method == "fetchTickers" else [parsed]
    return {ticker["symbol"]: ticker for ticker in tickers}


def _stored(conn: psycopg.Connection[Any], exchange_id: int) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        "SELECT * FROM markets WHERE exchange_id = %s AND active", (exchange_id,)
    ).fetchall()
    return {row["symbol"]: row for row in rows}


@pytest.mark.parametrize("path", _fixture_files())
def test_recorded_tickers_are_stored_as_ccxt_parses_them(
    path: Path | None, conn: psycopg.Connection[Any], settings: Any
) -> None:
    if path is None:
        pytest.fail(f"no ccxt fixtures in {FIXTURES}: set MM_CCXT_FIXTURES to their folder")
    fixture = json.loads(path.read_text())
    name = fixture["exchange"]
    exchange = db.fetch_one(
        conn,
        "insert_exchange",
        {
            "name": name,
            "enabled": True,
            "api_url": None,
            "interval_seconds": 60,
            "url": None,
            "logo": None,
        },
    )
    assert exchange is not None
    markets = fixture["markets"]
    assert _runs_of(fixture), f"{path.name} has no ticker responses"
    with ExchangeAdapter.from_row(exchange, settings, enable_rate_limit=False) as adapter:
        for method, entry in _runs_of(fixture):
            wanted = entry["input"][0] if method == "fetchTicker" else None
            adapter.install_markets([markets[wanted]] if wanted else list(markets.values()))
            adapter.ticker_method = method
            adapter.exchange.fetch = lambda *args, body=entry["httpResponse"], **kw: body
            run = runs.create_run(conn, exchange["id"], running=True, node="test", worker="fixture")
            result = harvest_exchange(conn, adapter, exchange, run.id)
            assert result.succeeded, result.error
            stored = _stored(conn, exchange["id"])
            expected = _expected(method, entry)
            assert set(stored) == set(expected), entry["description"]
            for symbol, ticker in expected.items():
                for column, key in FIELDS.items():
                    value = stored[symbol][column]
                    if ticker.get(key) is None:
                        assert value is None, (symbol, column)
                    else:
                        assert float(value) == pytest.approx(ticker[key], rel=1e-12), (
                            symbol,
                            column,
                        )
            ticks = conn.execute(
                "SELECT count(*) AS n FROM market_ticks t JOIN markets m ON m.id = t.market_id"
                " WHERE m.exchange_id = %s",
                (exchange["id"],),
            ).fetchone()
            assert ticks is not None and ticks["n"] >= len(expected)
