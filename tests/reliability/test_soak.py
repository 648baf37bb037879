"""Soak (suite 8): twenty exchanges every 10 s under supervisord for MM_SOAK_SECONDS
(default 600): the memory of every process stays flat, file descriptors and database
connections do not grow, no process dies. Run by `make soak`, not by `make test`.

Three of the exchanges really harvest from the simulator (binance, binanceus, kraken);
the other seventeen are real ccxt ids whose requests the simulator answers with 404, so
their runs fail each time (two of them retryably): the failure path soaks too. The API
is asked a query per sample. After a warm-up (a fifth of the time), the first and the
last third of the samples are compared: median RSS within 10%, at most as many file
descriptors and database connections at the end as at the start.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from simulator.server import SimulatorServer
from tests.acceptance.test_daemon_cluster import FAILING, HARVESTED, add_twenty_exchanges
from tests.support.daemon import Supervised
from tests.support.processes import wait_for
from tests.support.resources import (
    Usage,
    database_connections,
    report_line,
    tree_pids,
    usage,
    window,
)
from tests.support.rows import Conn, runs_of

SOAK_SECONDS = float(os.environ.get("MM_SOAK_SECONDS", "600"))
SAMPLE_EVERY = 5.0
INTERVAL = 10
RSS_TOLERANCE = 0.10
QUERY = "{ exchanges(first: 50) { totalCount nodes { name volumeUsd status { state } } } }"

pytestmark = [pytest.mark.soak, pytest.mark.reliability]


@pytest.mark.timeout(SOAK_SECONDS + 300)
def test_soak_twenty_exchanges_keep_memory_fds_and_connections_flat(
    conn: Conn, sim: SimulatorServer, db_url: str, tmp_path: Path
) -> None:
    add_twenty_exchanges(conn, sim, INTERVAL)
    samples: dict[str, list[Usage]] = {}
    connections: list[int] = []
    with Supervised(db_url, tmp_path / "data", MM_RUN_TIMEOUT="30") as supervised:
        supervised.wait_running("harvester")
        supervised.wait_running("api")
        wait_for(supervised.api_ready, 60, "the api to be ready")
        pids = tree_pids(supervised)
        api = supervised.api_url("/graphql")
        started = time.monotonic()
        while time.monotonic() - started < SOAK_SECONDS:
            answer = httpx.post(api, json={"query": QUERY}, timeout=30)
            assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
            for role, pid in pids.items():
                samples.setdefault(role, []).append(usage(pid))
            connections.append(database_connections(conn))
            time.sleep(SAMPLE_EVERY)
        assert tree_pids(supervised) == pids, "a process died or was replaced during the soak"
    states = Counter((r["exchange"], r["state"]) for r in runs_of(conn))

    count = len(connections)
    warm = count // 5
    third = max(1, (count - warm) // 3)
    early, late = slice(warm, warm + third), slice(count - third, count)
    print(f"\nsoak: {SOAK_SECONDS:.0f} s, {count} samples, warm-up {warm}, windows of {third}")
    grown = []
    for role, series in samples.items():
        before, after = window(series[early]), window(series[late])
        print(report_line(role, before, after, pids[role]))
        if after.rss_kib > before.rss_kib * (1 + RSS_TOLERANCE) or after.fds > before.fds:
            grown.append(role)
    before_conns, after_conns = max(connections[early]), max(connections[late])
    print(f"database connections {before_conns} -> {after_conns}")
    for name in (*HARVESTED, *FAILING):
        runs = {state: n for (exchange, state), n in states.items() if exchange == name}
        print(f"runs {name:<15} {runs}")
    assert all(states[(name, "SUCCEEDED")] >= 2 for name in HARVESTED), states
    assert not grown, f"resources grew: {grown}"
    assert after_conns <= before_conns
