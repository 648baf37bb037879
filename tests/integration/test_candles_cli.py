"""`marketmanager backfill` and `runs`: real processes against the simulator, and bad input."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from simulator.server import SimulatorServer, running_simulator
from tests.support import rows
from tests.support.processes import child_env, marketmanager
from tests.support.rows import add_exchange


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorServer]:
    with running_simulator(markets=30, seed=5, exchanges=["binance"]) as server:
        yield server


def run_cli(db_url: str, *argv: str) -> subprocess.CompletedProcess[str]:
    env = child_env(DATABASE_URL=db_url, MM_LOG_FORMAT="json")
    return marketmanager(*argv, env=env, timeout=180)


def backfill(db_url: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return run_cli(db_url, "backfill", *argv)


def test_backfill_without_a_daemon_runs_here_with_a_progress_bar(
    conn: psycopg.Connection[Any], db_url: str, simulator: SimulatorServer
) -> None:
    add_exchange(conn, "binance", simulator.exchange_url("binance"))
    done = backfill(
        db_url, "binance", "BTC/USDT", "--timeframe", "1h", "--since", "90d", "--keep-current"
    )
    assert done.returncode == 0, done.stderr
    assert "binance 1h: [" in done.stderr  # the progress bar, one line per step off a TTY
    assert "candles stored for 1 market(s)" in done.stdout
    row = conn.execute(
        "SELECT count(*) AS n FROM market_candles AS c JOIN markets AS m ON m.id = c.market_id"
        " WHERE m.symbol = 'BTC/USDT' AND c.timeframe = '1h'"
    ).fetchone()
    assert row is not None and 90 * 24 - 1 <= row["n"] <= 90 * 24
    job = conn.execute("SELECT * FROM candle_backfills").fetchone()
    assert job is not None and job["state"] == "SUCCEEDED" and job["requests"] == 3
    kept = conn.execute("SELECT candle_timeframes FROM exchanges").fetchone()
    assert kept is not None and kept["candle_timeframes"] == ["1h"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nosuch", "BTC/USDT"], "no exchange named 'nosuch'"),
        (["binance", "--since", "soon"], "give a duration (30d, 12h, 90m, 2w) or a date"),
        (["binance", "--since", "2999-01-01"], "is not in the past"),
        (["binance", "--top", "0"], "--top must be positive"),
    ],
)
def test_bad_input_to_backfill_is_refused(
    argv: list[str], message: str, conn: psycopg.Connection[Any], db_url: str
) -> None:
    add_exchange(conn, "binance", "http://127.0.0.1:9/binance")
    done = backfill(db_url, *argv)
    assert done.returncode == 2
    assert message in done.stderr


def test_a_symbol_the_exchange_does_not_list_fails_the_job_clearly(
    conn: psycopg.Connection[Any], db_url: str, simulator: SimulatorServer
) -> None:
    add_exchange(conn, "binance", simulator.exchange_url("binance"))
    done = backfill(db_url, "binance", "NOPE/USDT", "--since", "1d")
    assert done.returncode == 1
    assert "binance does not list NOPE/USDT" in done.stderr


def test_runs_lists_the_harvest_runs_and_the_backfill_jobs(
    conn: psycopg.Connection[Any], db_url: str, simulator: SimulatorServer
) -> None:
    exchange_id = add_exchange(conn, "binance", simulator.exchange_url("binance"))
    rows.add_exchange(conn, "kraken")
    assert backfill(db_url, "binance", "BTC/USDT", "--since", "2d").returncode == 0
    run_id = rows.run(conn, exchange_id, "FAILED", error="binance said: 503 Service Unavailable")
    listed = run_cli(db_url, "runs")
    assert listed.returncode == 0, listed.stderr
    harvests, backfills = listed.stdout.split("Candle backfills")
    [run_line] = [line for line in harvests.splitlines() if line.startswith(f"{run_id} ")]
    assert run_line.split()[1:4] == ["binance", "FAILED", "SCHEDULE"]
    assert run_line.endswith("binance said: 503 Service Unavailable")
    job = conn.execute("SELECT id, candles_stored FROM candle_backfills").fetchone()
    assert job is not None and job["candles_stored"] >= 47
    [line] = [line for line in backfills.splitlines() if line.startswith(str(job["id"]))]
    cells = ["binance", "1h", "SUCCEEDED", "MANUAL", "100%", "1/1", str(job["candles_stored"])]
    assert line.split()[1:8] == cells
    only_kraken = run_cli(db_url, "runs", "kraken")
    assert only_kraken.returncode == 0
    assert "binance" not in only_kraken.stdout and only_kraken.stdout.count("none") == 2
    unknown = run_cli(db_url, "runs", "nosuch")
    assert unknown.returncode == 2 and "no exchange named 'nosuch'" in unknown.stderr
