"""Crash matrix (suite 2): `kill -9` of each role of one supervised tree, in turn.

A worker mid-write (held inside its write transaction by a row lock the test takes on
its exchange), the scheduler child, the poller, the control child, the
harvester parent and the API: each comes back (its parent or supervisord restarts it),
and all along and at the end: at most one active run per exchange, every run ends in a
final state, and each exchange's markets are exactly its last SUCCEEDED run's data.
Each case prints how long the role took to come back.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from marketmanager import db
from simulator.server import SimulatorServer
from tests.support.daemon import Supervised, try_status
from tests.support.processes import alive, wait_for
from tests.support.rows import Conn, add_exchange

pytestmark = pytest.mark.reliability

EXCHANGES = {"binance": "binance", "binanceus": "binance", "kraken": "kraken"}
INTERVAL = 2
COME_BACK = 60  # seconds: a generous deadline, not a measure
FINAL = ("SUCCEEDED", "FAILED", "CRASHED")  # the states a run ends in


def _one_active_run_per_exchange(conn: Conn) -> None:
    doubled = conn.execute(
        "SELECT exchange_id FROM harvest_runs WHERE state IN ('QUEUED', 'RUNNING')"
        " GROUP BY exchange_id HAVING count(*) > 1"
    ).fetchall()
    assert doubled == [], f"two active runs of one exchange: {doubled}"


def _child_pid(supervised: Supervised, name: str) -> int | None:
    """`name`'s pid when the control socket lists it alive (None while it does not)."""
    status = try_status(supervised.socket_path)
    if status is None:
        return None
    child = next(p for p in status["processes"] if p["name"] == name)
    return int(child["pid"]) if child["alive"] else None


def _came_back(
    conn: Conn, what: str, new_pid: Callable[[], int | None], old_pid: int, killed_at: float
) -> float:
    """Wait until `new_pid()` names a live process other than `old_pid`; seconds it took."""

    def back() -> bool:
        _one_active_run_per_exchange(conn)
        pid = new_pid()
        return pid is not None and pid != old_pid and alive(pid)

    wait_for(back, COME_BACK, f"{what} to come back")
    took = time.monotonic() - killed_at
    print(f"crash matrix: {what:<28} came back in {took:5.1f} s")
    return took


def _kill(pid: int) -> float:
    os.kill(pid, signal.SIGKILL)
    return time.monotonic()


@pytest.fixture
def tree(conn: Conn, sim: SimulatorServer, db_url: str, tmp_path: Path) -> Iterator[Supervised]:
    for name, wire in EXCHANGES.items():
        add_exchange(conn, name, sim.exchange_url(wire), interval_seconds=INTERVAL)
    with Supervised(db_url, tmp_path / "data") as supervised:
        supervised.wait_running("harvester")
        supervised.wait_running("api")
        supervised.wait_control()
        wait_for(supervised.api_ready, COME_BACK, "the api to be ready")
        yield supervised


def _kill_a_worker_mid_write(conn: Conn, db_url: str, supervised: Supervised) -> None:
    exchange_id = conn.execute("SELECT id FROM exchanges WHERE name = 'binance'").fetchone()
    assert exchange_id is not None
    with db.connect(db_url) as holder:  # a transaction that holds the exchange's row
        holder.execute(
            "SELECT 1 FROM exchanges WHERE id = %s FOR NO KEY UPDATE", (exchange_id["id"],)
        )
        holder_pid = holder.info.backend_pid
        blocked = wait_for(
            lambda: conn.execute(
                "SELECT r.id, r.worker FROM harvest_runs r WHERE r.exchange_id = %s"
                " AND r.state = 'RUNNING' AND EXISTS (SELECT 1 FROM pg_stat_activity a"
                " WHERE %s = ANY(pg_blocking_pids(a.pid)))",
                (exchange_id["id"], holder_pid),
            ).fetchone(),
            COME_BACK,
            "a binance run to block inside its write transaction",
        )
        victim = _child_pid(supervised, blocked["worker"])
        assert victim is not None
        killed_at = _kill(victim)
        holder.rollback()
    _came_back(
        conn,
        f"{blocked['worker']} (mid-write)",
        lambda: _child_pid(supervised, blocked["worker"]),
        victim,
        killed_at,
    )

    def retried() -> bool:
        _one_active_run_per_exchange(conn)
        run = conn.execute(
            "SELECT state FROM harvest_runs WHERE id = %s", (blocked["id"],)
        ).fetchone()
        retry = conn.execute(
            "SELECT state FROM harvest_runs WHERE retry_of = %s", (blocked["id"],)
        ).fetchone()
        assert run is not None and run["state"] != "SUCCEEDED", "a killed write committed"
        return run["state"] == "CRASHED" and retry is not None and retry["state"] == "SUCCEEDED"

    wait_for(retried, COME_BACK, "the killed run to crash and its retry to succeed")


def _markets_are_the_last_succeeded_runs(conn: Conn, name: str) -> None:
    last = conn.execute(
        "SELECT r.* FROM harvest_runs r JOIN exchanges e ON e.id = r.exchange_id"
        " WHERE e.name = %s AND r.state = 'SUCCEEDED' ORDER BY r.finished_at DESC LIMIT 1",
        (name,),
    ).fetchone()
    assert last is not None, name
    markets = conn.execute(
        "SELECT count(*) AS n, min(m.updated_at) AS first, max(m.updated_at) AS last"
        " FROM markets m JOIN exchanges e ON e.id = m.exchange_id WHERE e.name = %s",
        (name,),
    ).fetchone()
    assert markets is not None and markets["n"] == last["markets_count"], (markets, last)
    assert markets["first"] == markets["last"], "markets of two runs are mixed"
    assert last["started_at"] <= markets["last"] <= last["finished_at"], (markets, last)
    differing = conn.execute(
        "SELECT count(*) AS n FROM markets m JOIN exchanges e ON e.id = m.exchange_id"
        " LEFT JOIN market_ticks t ON t.market_id = m.id AND t.ts = m.updated_at"
        " WHERE e.name = %s AND (t.market_id IS NULL OR (t.last, t.bid, t.ask)"
        " IS DISTINCT FROM (m.last, m.bid, m.ask))",
        (name,),
    ).fetchone()
    assert differing is not None and differing["n"] == 0, "markets differ from the run's ticks"


def test_every_role_killed_with_sigkill_comes_back_and_the_runs_stay_sound(
    conn: Conn, db_url: str, tree: Supervised
) -> None:
    _kill_a_worker_mid_write(conn, db_url, tree)

    for name in ("scheduler", "poller", "control", "backfill"):
        old = _child_pid(tree, name)
        assert old is not None
        _came_back(conn, name, lambda name=name: _child_pid(tree, name), old, _kill(old))

    parent = tree.program_pid("harvester")
    old_node = try_status(tree.socket_path)
    assert old_node is not None
    killed_at = _kill(parent)

    def new_parent() -> int | None:
        status = try_status(tree.socket_path)
        if tree.program_state("harvester") != "RUNNING" or status is None:
            return None
        if status["node"] == old_node["node"] or not all(p["alive"] for p in status["processes"]):
            return None
        return tree.program_pid("harvester")

    _came_back(conn, "harvester parent", new_parent, parent, killed_at)

    api = tree.program_pid("api")

    def new_api() -> int | None:
        if tree.program_state("api") != "RUNNING" or not tree.api_ready():
            return None
        return tree.program_pid("api")

    _came_back(conn, "api", new_api, api, _kill(api))

    # every exchange harvests again under the new tree; then let the queue run dry
    started = conn.execute("SELECT max(id) AS id FROM harvest_runs").fetchone()
    assert started is not None
    wait_for(
        lambda: (
            conn.execute(
                "SELECT count(DISTINCT exchange_id) AS n FROM harvest_runs"
                " WHERE id > %s AND state = 'SUCCEEDED'",
                (started["id"],),
            ).fetchone()["n"]
            == len(EXCHANGES)
        ),
        COME_BACK,
        "every exchange to be harvested after the crashes",
    )
    conn.execute("UPDATE exchanges SET enabled = false")

    def all_final() -> bool:
        _one_active_run_per_exchange(conn)
        left = conn.execute(
            "SELECT count(*) AS n FROM harvest_runs WHERE state <> ALL(%s)", (list(FINAL),)
        ).fetchone()
        return left is not None and left["n"] == 0

    wait_for(all_final, COME_BACK, "every run to reach a final state")
    for name in EXCHANGES:
        _markets_are_the_last_succeeded_runs(conn, name)
    summary: dict[str, Any] = dict(
        conn.execute(
            "SELECT count(*) FILTER (WHERE state = 'SUCCEEDED') AS succeeded,"
            " count(*) FILTER (WHERE state = 'CRASHED') AS crashed,"
            " count(*) FILTER (WHERE state = 'FAILED') AS failed FROM harvest_runs"
        ).fetchone()
        or {}
    )
    print(f"crash matrix: runs {summary}")
