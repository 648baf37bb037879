"""`marketmanager exchanges add|list|remove` and `harvest`, with good and bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from marketmanager import exchange_catalogue as catalog
from marketmanager.cli import main
from marketmanager.cli.commands import harvest as harvest_command
from simulator import SimulatorServer, running_simulator

REPO = Path(__file__).resolve().parents[2]
Conn = psycopg.Connection[Any]


@pytest.fixture(autouse=True)
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("MM_REQUEST_TIMEOUT", "2")
    # configure_logging() caches loggers on capsys's stream, closed after the test: keep
    # the process's logging as it is (the subprocess test covers the real thing).
    monkeypatch.setattr(harvest_command, "configure_logging", lambda *args, **kwargs: None)


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorServer]:
    with running_simulator(markets=60, seed=3, exchanges=["binance"]) as server:
        yield server


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["binanse"], "'binanse' is not a ccxt exchange id; did you mean binance"),
        (["nosuchexchangeatall"], "is not a ccxt exchange id"),
        (["binance", "--api-url", "ftp://example.org"], "must be an http(s) URL with a host"),
        (["binance", "--api-url", "http://"], "must be an http(s) URL with a host"),
        (["binance", "--interval", "0"], "--interval must be a whole number of seconds above 0"),
        (["binance", "--interval", "-5"], "above 0, got '-5'"),
        (["binance", "--interval", "soon"], "above 0, got 'soon'"),
    ],
)
def test_bad_input_to_add_is_refused(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], conn: Conn
) -> None:
    code, out, err = run_cli(capsys, "exchanges", "add", *argv)
    assert code == 2 and out == ""
    assert err.startswith("marketmanager: error: ") and message in err
    assert conn.execute("SELECT count(*) AS n FROM exchanges").fetchone() == {"n": 0}


def test_an_exchange_without_tickers_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog, "supports_tickers", lambda exchange_id: False)
    code, _, err = run_cli(capsys, "exchanges", "add", "kraken")
    assert code == 2 and "neither fetchTickers nor fetchTicker" in err


def test_add_list_remove(capsys: pytest.CaptureFixture[str], conn: Conn) -> None:
    url = "http://127.0.0.1:8900/binance"
    code, out, _ = run_cli(capsys, "exchanges", "add", "binance", "--api-url", url)
    assert code == 0 and "added binance" in out
    assert run_cli(capsys, "exchanges", "add", "kraken", "--interval", "300", "--disabled")[0] == 0
    code, _, err = run_cli(capsys, "exchanges", "add", "binance")
    assert code == 2 and "already exists" in err

    code, out, _ = run_cli(capsys, "exchanges", "list")
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:3] == ["NAME", "ENABLED", "INTERVAL"]
    assert lines[1].split()[:4] == ["binance", "yes", "60s", "0"] and url in lines[1]
    assert lines[2].split()[:3] == ["kraken", "no", "300s"]
    row = conn.execute("SELECT url, logo FROM exchanges WHERE name = 'binance'").fetchone()
    assert row is not None and row["url"].startswith("https://") and row["logo"]

    assert run_cli(capsys, "exchanges", "remove", "kraken")[0] == 0
    code, _, err = run_cli(capsys, "exchanges", "remove", "kraken")
    assert code == 2 and "no exchange named 'kraken'" in err


def test_harvest_of_an_unknown_exchange(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "harvest", "binance")
    assert code == 2 and "no exchange named 'binance'" in err


def test_harvest_failure_exits_1_with_the_error(
    capsys: pytest.CaptureFixture[str], simulator: SimulatorServer, conn: Conn
) -> None:
    run_cli(capsys, "exchanges", "add", "binance", "--api-url", simulator.exchange_url("binance"))
    simulator.simulator.set_faults({"http503": 1.0})
    try:
        code, _, err = run_cli(capsys, "harvest", "binance")
    finally:
        simulator.simulator.clear_faults()
    assert code == 1
    assert "marketmanager: harvest of binance failed: ExchangeNotAvailable: binance" in err
    run = conn.execute("SELECT state, trigger, node, worker FROM harvest_runs").fetchone()
    assert run is not None and (run["state"], run["trigger"]) == ("FAILED", "MANUAL")
    assert run["node"] and run["worker"].startswith("cli-")


def test_harvest_in_a_subprocess(simulator: SimulatorServer, db_url: str, conn: Conn) -> None:
    env = {**os.environ, "DATABASE_URL": db_url, "MM_LOG_FORMAT": "json"}
    script = [str(REPO / ".venv/bin/marketmanager")]
    if not Path(script[0]).exists():
        script = [sys.executable, "-m", "marketmanager.cli"]
    add = [*script, "exchanges", "add", "binance", "--api-url", simulator.exchange_url("binance")]
    subprocess.run(add, env=env, check=True, capture_output=True, timeout=60)
    done = subprocess.run(
        [*script, "harvest", "binance"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "binance: loading markets…" in done.stderr
    assert "binance: writing 60 markets…" in done.stderr
    summary = done.stdout.strip().splitlines()[-1]
    assert summary.startswith("binance: 60 markets in ") and "top pair " in summary
    assert '"event": "run.finished"' in done.stdout
    count = conn.execute("SELECT count(*) AS n FROM markets WHERE active").fetchone()
    assert count == {"n": 60}


def test_simulate_is_wired_to_the_simulator(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "simulate", "--markets", "0")
    assert code == 2 and "simulate: error:" in err and "markets" in err
