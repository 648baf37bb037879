"""A long backfill never delays scheduled ticker harvests: it runs in its own lane.

The harvester node has ONE ticker worker. The test holds a lock on ``market_candles``,
so the backfill it queues blocks on its first write and stays RUNNING for as long as the
test wants; meanwhile the exchange's scheduled ticker runs must keep being queued,
claimed by that one worker and finished. Then the lock goes, and the backfill finishes.
"""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
from pathlib import Path
from typing import Any

from harvester.candles.jobs import get_backfill, queue_backfill
from marketmanager import db
from simulator.server import SimulatorServer
from tests.support.daemon import Harvester
from tests.support.processes import BIN, REPO, wait_for
from tests.support.rows import HOUR, Conn, add_exchange, runs_of

TICKER_RUNS_DURING_BACKFILL = 3


def test_scheduled_ticker_runs_keep_going_while_a_backfill_runs(
    conn: Conn, db_url: str, sim: SimulatorServer, tmp_path: Path
) -> None:
    exchange_id = add_exchange(conn, "kraken", sim.exchange_url("kraken"), interval_seconds=1)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=6)
    with Harvester(db_url, tmp_path, MM_POOL_SIZE="1") as node, db.connect(db_url) as blocker:
        blocker.execute("LOCK TABLE market_candles IN SHARE ROW EXCLUSIVE MODE")
        job = queue_backfill(conn, exchange_id, "1m", since, ["BTC/USDT"])
        node.wait_ready()

        def running() -> dict[str, Any] | None:
            row = get_backfill(conn, job["id"])
            return row if row and row["state"] == "RUNNING" else None

        started = wait_for(running, 60, "the backfill to be RUNNING")
        assert started["worker"] == "backfill"

        def ticker_runs_since_then() -> list[dict[str, Any]] | None:
            done = [
                run
                for run in runs_of(conn, "kraken")
                if run["trigger"] == "SCHEDULE"
                and run["queued_at"] > started["started_at"]
                and run["state"] == "SUCCEEDED"
            ]
            return done if len(done) >= TICKER_RUNS_DURING_BACKFILL else None

        during = wait_for(ticker_runs_since_then, 120, "scheduled ticker runs to finish")
        # The backfill has not moved meanwhile: every one of those runs went by it.
        still = get_backfill(conn, job["id"])
        assert still is not None and still["state"] == "RUNNING"
        assert still["candles_stored"] == 0
        assert {run["worker"] for run in during} == {"worker-1"}
        blocker.rollback()  # the lock goes: the backfill writes and finishes

        def finished() -> dict[str, Any] | None:
            row = get_backfill(conn, job["id"])
            return row if row and row["state"] not in ("QUEUED", "RUNNING") else None

        done = wait_for(finished, 120, "the backfill to finish")
    assert done["state"] == "SUCCEEDED", done["error"]
    assert done["candles_stored"] >= 6 * 60 - 1
    assert all(run["finished_at"] < done["finished_at"] for run in during)


def test_the_backfill_command_hands_its_job_to_a_running_harvester(
    conn: Conn, db_url: str, sim: SimulatorServer, tmp_path: Path
) -> None:
    add_exchange(conn, "binance", sim.exchange_url("binance"), interval_seconds=HOUR)
    # The simulator computes a 1,000-candle page of 1h candles in seconds of Python:
    # more than the short request timeout of FAST on a busy machine (a generous deadline).
    with Harvester(db_url, tmp_path, MM_REQUEST_TIMEOUT="60") as node:
        node.wait_ready()
        done = subprocess.run(
            [
                str(BIN / "marketmanager"),
                "backfill",
                "binance",
                "BTC/USDT",
                "-t",
                "1h",
                "-s",
                "90d",
            ],
            env=node.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=180,
        )
    assert done.returncode == 0, done.stderr
    assert "candles stored for 1 market(s)" in done.stdout
    job = conn.execute("SELECT * FROM candle_backfills").fetchone()
    assert job is not None and job["worker"] == "backfill" and job["node"] != socket.gethostname()
