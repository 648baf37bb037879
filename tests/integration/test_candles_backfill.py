"""Backfills against the simulator into a real PostgreSQL: paging, resuming, faults."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from harvester.candles.backfill import run_backfill
from harvester.candles.jobs import get_backfill
from marketmanager.candles.aggregate import Candle
from marketmanager.candles.timeframes import to_ms
from simulator.history import MarketHistory
from simulator.server import SimulatorServer, running_simulator
from simulator.universe import REFERENCE_USD
from tests.support.candles import backfill, candle_source, claim, stored_candles
from tests.support.rows import add_exchange, exchange_row

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with running_simulator(markets=80, seed=3) as server:
        yield server


def expected(
    sim: SimulatorServer, name: str, symbol: str, tf: str, start: Any, end: Any
) -> list[Candle]:
    model_market = next(m for m in sim.simulator.markets(name) if m.symbol == symbol)
    universe = sim.simulator._models[name].universe
    return MarketHistory(universe, model_market).candles(tf, to_ms(start), to_ms(end))


def test_binance_backfill_pages_past_the_1000_limit_and_stores_every_candle_once(
    conn: psycopg.Connection[Any], sim: SimulatorServer
) -> None:
    add_exchange(conn, "binance", sim.exchange_url("binance"))
    exchange = exchange_row(conn, "binance")
    with candle_source(sim.exchange_url("binance"), "binance") as source:
        since = NOW - dt.timedelta(minutes=2500)
        result, job = backfill(conn, source, exchange, ["BTC/USDT"], "1m", since)
    assert result.state == "SUCCEEDED", result.error
    assert source.limit == 1000
    assert job["requests"] == 3  # 2,500 candles: 1,000 + 1,000 + 500
    stored = stored_candles(conn, exchange["id"], "BTC/USDT", "1m")
    assert stored == expected(
        sim, "binance", "BTC/USDT", "1m", job["covered_from"], job["until_ts"]
    )
    assert len(stored) == len({c.ts for c in stored}) == job["candles_stored"] >= 2499
    assert all(c.quote_volume is not None for c in stored)


def test_kraken_backfill_stops_at_its_720_candle_window_and_says_so(
    conn: psycopg.Connection[Any], sim: SimulatorServer
) -> None:
    add_exchange(conn, "kraken", sim.exchange_url("kraken"))
    exchange = exchange_row(conn, "kraken")
    with candle_source(sim.exchange_url("kraken"), "kraken") as source:
        since = NOW - dt.timedelta(minutes=1000)
        result, job = backfill(conn, source, exchange, ["BTC/USDT"], "1m", since)
    assert result.state == "SUCCEEDED", result.error
    assert source.limit == 720
    assert job["requests"] == 1
    assert job["unavailable_before"] is not None and job["unavailable_before"] > since
    stored = stored_candles(conn, exchange["id"], "BTC/USDT", "1m")
    want = expected(sim, "kraken", "BTC/USDT", "1m", job["unavailable_before"], job["until_ts"])
    assert [c[:6] for c in stored] == [c[:6] for c in want]
    assert len(stored) >= 700


def test_running_a_backfill_again_fetches_only_what_is_new(
    conn: psycopg.Connection[Any], sim: SimulatorServer
) -> None:
    add_exchange(conn, "binance", sim.exchange_url("binance"))
    exchange = exchange_row(conn, "binance")
    since = NOW - dt.timedelta(hours=30)
    with candle_source(sim.exchange_url("binance"), "binance") as source:
        first, first_job = backfill(conn, source, exchange, ["ETH/USDT"], "1h", since)
        second, second_job = backfill(conn, source, exchange, ["ETH/USDT"], "1h", since)
    assert first.state == second.state == "SUCCEEDED"
    assert first_job["candles_stored"] >= 29
    # Only the hours that closed in between (none, or one at an hour's turn) are asked for.
    new_hours = (to_ms(second_job["until_ts"]) - to_ms(first_job["until_ts"])) // 3_600_000
    assert second_job["candles_stored"] == new_hours
    assert second_job["requests"] == (1 if new_hours else 0)
    stored = stored_candles(conn, exchange["id"], "ETH/USDT", "1h")
    assert stored == expected(
        sim, "binance", "ETH/USDT", "1h", first_job["covered_from"], second_job["until_ts"]
    )


def test_a_fault_mid_backfill_resumes_without_duplicates_or_holes(
    conn: psycopg.Connection[Any], sim: SimulatorServer
) -> None:
    add_exchange(conn, "binance", sim.exchange_url("binance"))
    exchange = exchange_row(conn, "binance")
    thin = next(m.symbol for m in sim.simulator.markets("binance") if m.base not in REFERENCE_USD)
    since = NOW - dt.timedelta(minutes=6000)
    jobs = []
    sim.simulator.set_faults({"http500": 0.35}, exchange="binance")
    try:
        with candle_source(sim.exchange_url("binance"), "binance") as source:
            for _ in range(40):
                result, job = backfill(conn, source, exchange, [thin], "1m", since, attempts=1)
                jobs.append(job)
                if result.state == "SUCCEEDED":
                    break
    finally:
        sim.simulator.clear_faults("binance")
    assert jobs[-1]["state"] == "SUCCEEDED"
    failed = [job for job in jobs if job["state"] == "FAILED"]
    assert any(job["candles_stored"] > 0 for job in failed), "no fault struck mid-backfill"
    assert all("ExchangeNotAvailable" in job["error"] for job in failed)
    stored = stored_candles(conn, exchange["id"], thin, "1m")
    start = min(job["covered_from"] for job in jobs if job["covered_from"] is not None)
    want = expected(sim, "binance", thin, "1m", start, jobs[-1]["until_ts"])
    assert stored == want
    assert sum(job["candles_stored"] for job in jobs) == len(stored)
    # A thin market has minutes without trades: found, and told apart from holes.
    assert sum(job["no_trade_gaps"] for job in jobs) > 0


def test_a_page_stored_twice_changes_nothing(
    conn: psycopg.Connection[Any], sim: SimulatorServer
) -> None:
    add_exchange(conn, "binance", sim.exchange_url("binance"))
    exchange = exchange_row(conn, "binance")
    since = NOW - dt.timedelta(hours=10)
    with candle_source(sim.exchange_url("binance"), "binance") as source:
        backfill(conn, source, exchange, ["BTC/USDT"], "1h", since)
        conn.execute("DELETE FROM candle_coverage")  # forget what was fetched: fetch again
        _, again = backfill(conn, source, exchange, ["BTC/USDT"], "1h", since)
    assert again["requests"] == 1
    assert again["candles_stored"] == 0


def test_a_lane_that_stops_gives_its_job_back_and_the_next_run_resumes(
    conn: psycopg.Connection[Any], sim: SimulatorServer
) -> None:
    add_exchange(conn, "binance", sim.exchange_url("binance"))
    exchange = exchange_row(conn, "binance")
    since = NOW - dt.timedelta(minutes=4500)
    pages_allowed = iter([True, True, False])
    with candle_source(sim.exchange_url("binance"), "binance") as source:
        stopped, job = backfill(
            conn, source, exchange, ["BTC/USDT"], "1m", since,
            keep_going=lambda: next(pages_allowed, False),
        )  # fmt: skip
        assert stopped.state == job["state"] == "QUEUED"
        assert job["candles_stored"] == 2000 and job["node"] is None
        result = run_backfill(conn, source, claim(conn, job["id"]))
    assert result.state == "SUCCEEDED" and result.requests == 3
    done = get_backfill(conn, job["id"])
    assert done is not None
    stored = stored_candles(conn, exchange["id"], "BTC/USDT", "1m")
    assert stored == expected(
        sim, "binance", "BTC/USDT", "1m", done["covered_from"], done["until_ts"]
    )
