"""Recorded real responses (ccxt's static fixtures) through the adapter and the write path.

The project carries the recordings it replays (tests/fixtures/ccxt_static, see its
README); MM_CCXT_FIXTURES names another folder of such files to replay as well.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest

from harvester.harvest import runs
from harvester.harvest.adapter import ExchangeAdapter
from harvester.harvest.pipeline import harvest_exchange
from marketmanager import db

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ccxt_static"
MORE_FIXTURES = os.environ.get("MM_CCXT_FIXTURES")
FIELDS = {
    "bid": "bid",
    "ask": "ask",
    "last": "last",
    "base_volume": "baseVolume",
    "quote_volume": "quoteVolume",
}


def _fixture_files() -> list[Any]:
    """The project's recordings, then those of MM_CCXT_FIXTURES (ids prefixed ``more-``)."""
    params = [pytest.param(path, id=path.stem) for path in sorted(FIXTURES.glob("*.json"))]
    if MORE_FIXTURES:
        more = sorted(Path(MORE_FIXTURES).glob("*.json"))
        params += [pytest.param(path, id=f"more-{path.stem}") for path in more]
        if not more:
            params.append(pytest.param(Path(MORE_FIXTURES), id="more-none"))
    return params


def test_the_project_carries_its_recorded_responses() -> None:
    names = {path.stem for path in FIXTURES.glob("*.json")}
    assert {"binance", "kraken", "coinbase", "gemini"} <= names, names
    assert "MIT" in (FIXTURES / "README.md").read_text()


class RecordedCall:
    """A ticker source that replays one recorded call with its recorded arguments."""

    def __init__(self, adapter: ExchangeAdapter, method: str, entry: dict[str, Any]) -> None:
        self.adapter = adapter
        self.method = method
        self.entry = entry

    def load_markets(self) -> Mapping[str, Mapping[str, Any]]:
        return self.adapter.load_markets()

    def symbols(self) -> list[str] | None:
        """fetchTicker(symbol) asks for its symbol; fetchTickers(symbols?) for its list."""
        args = self.entry["input"]
        if self.method == "fetchTicker":
            return [args[0]]
        return list(args[0]) if args and args[0] else None

    def fetch_tickers(self) -> Sequence[Mapping[str, Any]]:
        self.adapter.ticker_method = self.method
        return self.adapter.fetch_tickers(self.symbols())


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


def _seen_by_run(
    conn: psycopg.Connection[Any], exchange_id: int, harvested_at: dt.datetime
) -> dict[str, dict[str, Any]]:
    """The exchange's markets that got a history tick stamped `harvested_at`: one run's."""
    rows = conn.execute(
        "SELECT m.* FROM markets m JOIN market_ticks t ON t.market_id = m.id"
        " WHERE m.exchange_id = %s AND t.ts = %s",
        (exchange_id, harvested_at),
    ).fetchall()
    return {row["symbol"]: row for row in rows}


def _replay(
    conn: psycopg.Connection[Any],
    adapter: ExchangeAdapter,
    exchange: dict[str, Any],
    method: str,
    entry: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    """Run one recorded call through a harvest; the markets that run stored."""
    adapter.exchange.fetch = lambda *args, body=entry["httpResponse"], **kw: body
    run = runs.create_run(conn, exchange["id"], running=True, node="test", worker="fixture")
    harvested_at = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(
        seconds=run.id  # a distinct stamp per run
    )
    result = harvest_exchange(
        conn, RecordedCall(adapter, method, entry), exchange, run.id, harvested_at
    )
    assert result.succeeded, result.error
    return _seen_by_run(conn, exchange["id"], harvested_at)


def _add_exchange(conn: psycopg.Connection[Any], name: str) -> dict[str, Any]:
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
    return exchange


@pytest.mark.parametrize("path", _fixture_files())
def test_recorded_tickers_are_stored_as_ccxt_parses_them(
    path: Path, conn: psycopg.Connection[Any], settings: Any
) -> None:
    assert path.is_file(), f"MM_CCXT_FIXTURES={MORE_FIXTURES} holds no *.json recordings"
    fixture = json.loads(path.read_text())
    exchange = _add_exchange(conn, fixture["exchange"])
    assert _runs_of(fixture), f"{path.name} has no ticker responses"
    with ExchangeAdapter.from_row(exchange, settings, enable_rate_limit=False) as adapter:
        adapter.install_markets(list(fixture["markets"].values()))  # as ccxt's own replay
        for method, entry in _runs_of(fixture):
            stored = _replay(conn, adapter, exchange, method, entry)
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


def test_a_recorded_ticker_of_an_inactive_market_is_still_asked_for(
    conn: psycopg.Connection[Any], settings: Any
) -> None:
    fixture = json.loads((FIXTURES / "binance.json").read_text())
    [entry] = fixture["fetchTicker"]
    symbol = entry["input"][0]
    inactive = {**fixture["markets"][symbol], "active": False}
    exchange = _add_exchange(conn, "binance")
    with ExchangeAdapter.from_row(exchange, settings, enable_rate_limit=False) as adapter:
        adapter.install_markets([inactive])
        stored = _replay(conn, adapter, exchange, "fetchTicker", entry)
    assert set(stored) == {symbol}
    assert stored[symbol]["active"] is False, "the market's own flag is kept"
    assert float(stored[symbol]["last"]) == pytest.approx(entry["parsedResponse"]["last"])
