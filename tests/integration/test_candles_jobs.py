"""Backfill jobs in the database: one running per exchange, takeover, keeping current."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import time
from typing import Any

import psycopg
import pytest
from psycopg import errors as pg_errors

from harvester.candles.jobs import get_backfill, queue_backfill
from harvester.candles.lane import SOURCE_KEEP, BackfillLane, JobHeartbeat
from harvester.context import ChildContext
from harvester.harvest.adapter import ExchangeAdapter
from marketmanager import db
from marketmanager.settings import Settings
from simulator.server import running_simulator
from tests.support.harvesting import harvest_once
from tests.support.rows import add_exchange, exchange_row

SINCE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def lane(conn: psycopg.Connection[Any], db_url: str, name: str) -> BackfillLane:
    settings = Settings(database_url=db_url, stale_after=5).resolved()
    stop = multiprocessing.get_context("spawn").Event()
    return BackfillLane(ChildContext(name, "node-a", db_url, settings, stop), conn)


def test_at_most_one_backfill_per_exchange_runs_at_a_time(
    conn: psycopg.Connection[Any], db_url: str
) -> None:
    binance = add_exchange(conn, "binance")
    kraken = add_exchange(conn, "kraken")
    first = queue_backfill(conn, binance, "1m", SINCE, ["BTC/USDT"])
    second = queue_backfill(conn, binance, "1h", SINCE, ["BTC/USDT"])
    other = queue_backfill(conn, kraken, "1h", SINCE, ["BTC/USD"])
    lanes = [lane(conn, db_url, f"backfill-{n}") for n in range(3)]
    claimed = [one.claim() for one in lanes]
    assert [job and job["id"] for job in claimed] == [first["id"], other["id"], None]
    still = get_backfill(conn, second["id"])
    assert still is not None and still["state"] == "QUEUED"
    done = {"id": first["id"], "node": "node-a", "worker": "backfill-0"}
    assert db.execute(conn, "finish_backfill", {**done, "state": "SUCCEEDED", "error": None}) == 1
    taken = lanes[2].claim()
    assert taken is not None and taken["id"] == second["id"]


def test_the_same_job_queued_twice_is_one_job(conn: psycopg.Connection[Any]) -> None:
    binance = add_exchange(conn, "binance")
    first = queue_backfill(conn, binance, "1m", SINCE, ["BTC/USDT", "BTC/USDT"])
    again = queue_backfill(conn, binance, "1m", SINCE, ["BTC/USDT"])
    assert first["id"] == again["id"] and first["symbols"] == ["BTC/USDT"]


def test_a_job_whose_lane_stopped_beating_is_taken_over(
    conn: psycopg.Connection[Any], db_url: str
) -> None:
    binance = add_exchange(conn, "binance")
    job = queue_backfill(conn, binance, "1m", SINCE, ["BTC/USDT"])
    dead, alive = lane(conn, db_url, "backfill-dead"), lane(conn, db_url, "backfill-alive")
    assert dead.claim() is not None
    assert alive.claim() is None  # beating: left alone
    conn.execute(
        "UPDATE candle_backfills SET heartbeat_at = now() - interval '1 minute' WHERE id = %s",
        (job["id"],),
    )
    taken = alive.claim()
    assert taken is not None and taken["id"] == job["id"] and taken["worker"] == "backfill-alive"
    # The lane that lost it can neither give it back nor finish it.
    lost = {"id": job["id"], "node": "node-a", "worker": "backfill-dead"}
    assert db.execute(conn, "requeue_backfill", lost) == 0
    assert db.execute(conn, "finish_backfill", {**lost, "state": "FAILED", "error": "x"}) == 0


def test_kept_timeframes_are_fetched_for_the_top_pairs_then_kept_current(
    conn: psycopg.Connection[Any], db_url: str
) -> None:
    with running_simulator(markets=30, seed=2, exchanges=["binance"]) as sim:
        add_exchange(conn, "binance", sim.exchange_url("binance"))
        exchange = exchange_row(conn, "binance")
        conn.execute("UPDATE exchanges SET candle_timeframes = '{1m,1h}'")
        keeper = lane(conn, db_url, "backfill")
        assert keeper.keep_current() == []  # no harvest yet: no top pairs to keep
        with ExchangeAdapter("binance", api_url=sim.exchange_url("binance")) as adapter:
            assert harvest_once(conn, adapter, exchange).succeeded
        queued = keeper.keep_current()
        assert len(queued) == 2 and keeper.keep_current() == []  # pending: once
        results = [keeper.step(), keeper.step()]
        keeper.close()
    assert [r.state if r else None for r in results] == ["SUCCEEDED", "SUCCEEDED"]
    jobs = [get_backfill(conn, job_id) for job_id in queued]
    assert all(job and job["trigger"] == "SCHEDULE" and len(job["symbols"]) == 10 for job in jobs)
    day_of_minutes = conn.execute(
        "SELECT count(*) AS n FROM market_candles WHERE timeframe = '1m'"
    ).fetchone()
    assert day_of_minutes is not None and day_of_minutes["n"] >= 10 * (24 * 60 - 1) * 0.9
    # Later ticks ask only from where the fetched ranges end, for the same markets.
    fetched_to = {job["timeframe"]: job["until_ts"] for job in jobs if job}
    for job_id in keeper.keep_current():
        job = get_backfill(conn, job_id)
        assert job is not None and len(job["symbols"]) == 10
        assert job["since"] == fetched_to[job["timeframe"]]


def test_a_lane_whose_job_was_taken_over_notices_and_lets_go(
    conn: psycopg.Connection[Any], db_url: str
) -> None:
    binance = add_exchange(conn, "binance")
    queue_backfill(conn, binance, "1m", SINCE, ["BTC/USDT"])
    slow, other = lane(conn, db_url, "backfill-slow"), lane(conn, db_url, "backfill-other")
    job = slow.claim()
    assert job is not None
    heartbeat = JobHeartbeat(db_url, job, every=0.1)
    with heartbeat:
        conn.execute(
            "UPDATE candle_backfills SET worker = 'backfill-other' WHERE id = %s", (job["id"],)
        )
        assert heartbeat.lost.wait(30), "the heartbeat did not notice the takeover"
    assert other.claim() is None  # the job stays with the lane that holds it


def test_a_kept_timeframe_has_one_schedule_job_whichever_lane_queues_it(
    conn: psycopg.Connection[Any],
) -> None:
    binance = add_exchange(conn, "binance")
    queue_backfill(conn, binance, "1m", SINCE, ["BTC/USDT"], trigger="SCHEDULE")
    with pytest.raises(pg_errors.UniqueViolation):
        queue_backfill(conn, binance, "1m", SINCE, ["ETH/USDT"], trigger="SCHEDULE")
    manual = queue_backfill(conn, binance, "1m", SINCE, ["ETH/USDT"])
    assert manual["trigger"] == "MANUAL"


def test_the_heartbeat_of_a_job_tells_when_keep_current_fetches_wait(
    conn: psycopg.Connection[Any], db_url: str
) -> None:
    binance = add_exchange(conn, "binance")
    kraken = add_exchange(conn, "kraken")
    queue_backfill(conn, binance, "1m", SINCE, ["BTC/USDT"])
    job = lane(conn, db_url, "backfill").claim()
    assert job is not None
    heartbeat = JobHeartbeat(db_url, job, every=0.1)
    with heartbeat:
        queue_backfill(conn, kraken, "1h", SINCE, ["BTC/USD"], trigger="SCHEDULE")
        assert heartbeat.kept_waiting.wait(30), "the heartbeat did not see the waiting fetch"


def test_a_lane_lets_go_of_an_exchanges_markets_once_no_job_used_them_for_a_while(
    conn: psycopg.Connection[Any], db_url: str
) -> None:
    one = lane(conn, db_url, "backfill")
    binance = {"name": "binance", "api_url": None}
    source = one.source(binance)
    one.last_used["binance"] = time.monotonic()  # a job of binance just ended
    one.release_unused()
    assert one.sources == {"binance": source}
    one.last_used["binance"] = time.monotonic() - SOURCE_KEEP
    one.release_unused()
    assert one.sources == {}
    assert one.source(binance) is not source, "the next job makes a new one"
