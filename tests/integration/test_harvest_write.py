"""The write path: one transaction, delisted markets, folding, crashes meanwhile, pools."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from structlog.testing import capture_logs

from harvester.harvest import runs, write
from harvester.harvest.pipeline import HarvestResult, harvest_exchange
from marketmanager import db
from tests.support.rows import Conn, add_exchange, exchange_row, markets_of, tick_count


def ticker(symbol: str, last: Any = "1", **extra: Any) -> dict[str, Any]:
    return {"symbol": symbol, "last": last, "quoteVolume": "10", **extra}


class FakeSource:
    """A `TickerSource` serving fixed tickers (markets derived from their symbols)."""

    def __init__(self, tickers: Sequence[Mapping[str, Any]]) -> None:
        self.tickers = list(tickers)

    def load_markets(self) -> Mapping[str, Mapping[str, Any]]:
        return {}

    def fetch_tickers(self) -> Sequence[Mapping[str, Any]]:
        return self.tickers


def harvest(
    database: Any, exchange: dict[str, Any], tickers: Sequence[Any], **kwargs: Any
) -> HarvestResult:
    with db.connect(exchange["_url"], autocommit=True) as conn:
        run = runs.create_run(conn, exchange["id"], running=True, node="n", worker="w")
    return harvest_exchange(database, FakeSource(tickers), exchange, run.id, **kwargs)


@pytest.fixture
def exchange(conn: Conn, db_url: str) -> dict[str, Any]:
    add_exchange(conn, "bitstamp")
    return {**exchange_row(conn, "bitstamp"), "_url": db_url}


def test_delisted_markets_become_inactive_and_come_back(conn: Conn, exchange: Any) -> None:
    assert harvest(conn, exchange, [ticker("BTC/USD"), ticker("ETH/USD")]).succeeded
    result = harvest(conn, exchange, [ticker("BTC/USD")])
    assert (result.markets, result.deactivated) == (1, 1)
    stored = markets_of(conn, exchange["id"])
    assert {s: r["active"] for s, r in stored.items()} == {"BTC/USD": True, "ETH/USD": False}
    assert harvest(conn, exchange, [ticker("ETH/USD"), ticker("BTC/USD")]).succeeded
    again = markets_of(conn, exchange["id"])
    assert all(row["active"] for row in again.values())
    assert {s: r["id"] for s, r in again.items()} == {s: r["id"] for s, r in stored.items()}


def test_a_run_updates_known_markets_and_adds_new_ones_with_a_tick_each(
    conn: Conn, exchange: Any
) -> None:
    assert harvest(conn, exchange, [ticker("BTC/USD", "100")]).succeeded
    known = markets_of(conn, exchange["id"])["BTC/USD"]["id"]
    result = harvest(conn, exchange, [ticker("BTC/USD", "101"), ticker("ETH/USD", "5")])
    assert (result.markets, result.deactivated) == (2, 0)
    stored = markets_of(conn, exchange["id"])
    assert {s: r["last"] for s, r in stored.items()} == {"BTC/USD": 101, "ETH/USD": 5}
    assert stored["BTC/USD"]["id"] == known
    ticks = conn.execute(
        "SELECT market_id, last FROM market_ticks ORDER BY ts, market_id"
    ).fetchall()
    assert [(t["market_id"], t["last"]) for t in ticks] == [
        (known, 100),
        (known, 101),
        (stored["ETH/USD"]["id"], 5),
    ]


def test_duplicates_are_folded_and_garbage_is_stored_as_null(conn: Conn, exchange: Any) -> None:
    tickers = [
        ticker("BTC/USD", "100"),
        ticker("BTC/USD", "101", bid="NaN", ask="-3", baseVolume="inf"),
        {"symbol": None},
    ]
    result = harvest(conn, exchange, tickers)
    assert (result.markets, result.skipped) == (1, 1)
    row = markets_of(conn, exchange["id"])["BTC/USD"]
    assert (row["last"], row["bid"], row["ask"], row["base_volume"]) == (
        Decimal(101),
        None,
        None,
        None,
    )
    assert row["volume_usd"] == Decimal(10) and tick_count(conn, exchange["id"]) == 1


def test_a_failure_while_writing_writes_nothing_but_the_failed_run(
    conn: Conn, exchange: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = db.execute

    def failing(c: Any, name: str, params: Any = None) -> int:
        if name == "harvest_update_exchange":
            raise psycopg.errors.DataError("boom")
        return real(c, name, params)

    monkeypatch.setattr(write.db, "execute", failing)
    result = harvest(conn, exchange, [ticker("BTC/USD")])
    assert not result.succeeded and result.error == "DataError: boom"
    assert result.retryable is False
    assert markets_of(conn, exchange["id"]) == {} and tick_count(conn, exchange["id"]) == 0
    assert exchange_row(conn, "bitstamp")["last_update_at"] is None
    run = db.fetch_one(conn, "run_by_id", {"run_id": result.run_id})
    assert run is not None and (run["state"], run["error"]) == ("FAILED", "DataError: boom")


def test_a_run_crashed_meanwhile_writes_nothing(conn: Conn, exchange: Any) -> None:
    class CrashingSource(FakeSource):
        def fetch_tickers(self) -> Sequence[Mapping[str, Any]]:
            conn.execute("UPDATE harvest_runs SET state = 'CRASHED', finished_at = now()")
            return self.tickers

    run = runs.create_run(conn, exchange["id"], running=True, node="n", worker="w")
    source = CrashingSource([ticker("BTC/USD")])
    result = harvest_exchange(conn, source, exchange, run.id)
    assert not result.succeeded and result.error is not None
    assert result.error.startswith("RunNotRunning")
    assert markets_of(conn, exchange["id"]) == {}
    stored = runs.get_run(conn, run.id)
    assert stored is not None and stored.state == "CRASHED"


def test_no_usable_ticker_fails_the_run(conn: Conn, exchange: Any) -> None:
    result = harvest(conn, exchange, [{"symbol": "nonsense"}])
    assert not result.succeeded and result.retryable
    assert result.error == "BadResponse: bitstamp returned no usable tickers (1 received)"


def test_history_goes_to_the_partition_of_the_harvest_day(conn: Conn, exchange: Any) -> None:
    when = dt.datetime(2031, 1, 5, 23, 59, tzinfo=dt.UTC)
    assert harvest(conn, exchange, [ticker("BTC/USD")], now=when).succeeded
    tables = conn.execute(
        "SELECT tableoid::regclass::text AS part, ts FROM market_ticks"
    ).fetchall()
    assert tables == [{"part": "market_ticks_p20310105", "ts": when}]
    assert conn.execute("SELECT to_regclass('market_ticks_p20310106') AS t").fetchone() == {
        "t": "market_ticks_p20310106"
    }
    assert exchange_row(conn, "bitstamp")["last_update_at"] == when


def test_through_a_pool_with_the_canonical_log_line(conn: Conn, exchange: Any) -> None:
    pool = db.create_pool(exchange["_url"], min_size=1, max_size=2)
    try:
        with capture_logs() as logs:
            result = harvest(pool, exchange, [ticker("BTC/USD"), ticker("ETH/XYZ")])
    finally:
        pool.close()
    assert result.succeeded and result.unpriced == 1
    finished = [entry for entry in logs if entry["event"] == "run.finished"]
    assert len(finished) == 1
    assert finished[0]["exchange"] == "bitstamp" and finished[0]["run_id"] == result.run_id
    assert finished[0]["markets"] == 2 and finished[0]["seconds"] >= 0
    assert exchange_row(conn, "bitstamp")["unpriced_markets"] == 1


def _ticks_of_markets(conn: Conn, market_ids: list[int]) -> int:
    row = conn.execute(
        "SELECT count(*) AS n FROM market_ticks WHERE market_id = ANY(%s)", (market_ids,)
    ).fetchone()
    assert row is not None
    return int(row["n"])


def test_removing_an_exchange_removes_its_history_and_only_its(
    conn: Conn, exchange: Any, db_url: str
) -> None:
    add_exchange(conn, "kraken")
    other = {**exchange_row(conn, "kraken"), "_url": db_url}
    for _ in range(2):
        assert harvest(conn, exchange, [ticker("BTC/USD"), ticker("ETH/USD")]).succeeded
        assert harvest(conn, other, [ticker("BTC/USD")]).succeeded
    removed = [row["id"] for row in markets_of(conn, exchange["id"]).values()]
    assert _ticks_of_markets(conn, removed) == 4
    assert db.fetch_one(conn, "delete_exchange", {"name": "bitstamp"}) is not None
    assert _ticks_of_markets(conn, removed) == 0
    assert tick_count(conn, other["id"]) == 2


def test_emptying_the_exchanges_empties_the_history(conn: Conn, exchange: Any) -> None:
    assert harvest(conn, exchange, [ticker("BTC/USD")]).succeeded
    conn.execute("TRUNCATE exchanges CASCADE")
    assert conn.execute("SELECT count(*) AS n FROM market_ticks").fetchone() == {"n": 0}
