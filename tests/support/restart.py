"""Restarting the PostgreSQL server the suite runs against, as an operator would.

Without ``DATABASE_URL`` that is the suite's embedded server (``pg_ctl restart``);
with it, the system cluster on this machine (``pg_ctlcluster … restart``, which needs
root and a cluster under /etc/postgresql). Every connection is cut by the restart;
`restart_database` returns the moment (``time.monotonic()``) the server accepts
connections again.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from marketmanager import db
from marketmanager.embedded import restart_embedded, stop_embedded
from tests.support.processes import REPO, wait_for

EMBEDDED_DATA_DIR = REPO / "var" / "test-pg"  # the suite's embedded server (tests/conftest.py)
CLUSTERS = Path("/etc/postgresql")


def system_cluster_version() -> str:
    """The one PostgreSQL version under /etc/postgresql; skips when it cannot be restarted."""
    versions = sorted(p.name for p in CLUSTERS.iterdir()) if CLUSTERS.is_dir() else []
    if len(versions) != 1 or os.geteuid() != 0:
        pytest.skip(
            "DATABASE_URL names a server this test cannot restart: it restarts the local "
            "cluster (one version under /etc/postgresql) as root"
        )
    return versions[0]


def accepting(url: str) -> bool:
    try:
        with db.connect(url, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except Exception:  # refused, starting up, shutting down: not yet
        return False
    return True


def restart_database(url: str, down_for: float = 0.0) -> float:
    """Restart the server of `url` (a database on the suite's server), leaving it stopped
    for `down_for` seconds in between; the monotonic time at which it accepts
    connections again."""
    system = bool(os.environ.get("DATABASE_URL"))
    cluster = ["pg_ctlcluster", "--skip-systemctl-redirect"]
    if system:
        cluster += [system_cluster_version(), "main"]
    if down_for:
        if system:
            subprocess.run([*cluster, "stop"], check=True, capture_output=True, timeout=120)
        else:
            stop_embedded(EMBEDDED_DATA_DIR)
        time.sleep(down_for)
    if system:  # restart also starts a stopped cluster
        subprocess.run([*cluster, "restart"], check=True, capture_output=True, timeout=120)
    else:
        restart_embedded(EMBEDDED_DATA_DIR)  # pg_ctl restart starts a stopped one too
    wait_for(lambda: accepting(url), 60, "the database to accept connections again")
    return time.monotonic()


def database_now(url: str) -> dt.datetime:
    """The server's clock (run times are stamped by it)."""
    with db.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT now() AS now").fetchone()
    assert row is not None
    return row["now"]  # type: ignore[no-any-return]


def children(status: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Child name → (pid, restarts), from a node's status reply."""
    return {p["name"]: (p["pid"], p["restarts"]) for p in status["processes"]}


def finished_since(url: str, since: dt.datetime) -> dict[str, list[dict[str, Any]]]:
    """Exchange name → its runs queued and finished after `since`, oldest first."""
    with db.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT e.name AS exchange, r.* FROM harvest_runs r JOIN exchanges e"
            " ON e.id = r.exchange_id WHERE r.queued_at > %s AND r.finished_at IS NOT NULL"
            " ORDER BY r.id",
            (since,),
        ).fetchall()
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row["exchange"], []).append(row)
    return found


def running_since_before(url: str, since: dt.datetime) -> list[dict[str, Any]]:
    """Runs still RUNNING that started before `since` (each must end, one way or another)."""
    with db.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT * FROM harvest_runs WHERE state = 'RUNNING' AND started_at < %s", (since,)
        ).fetchall()


def beat_since(url: str, node_id: str, since: dt.datetime) -> bool:
    """True once node `node_id` has beaten after `since`."""
    with db.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT heartbeat_at > %s AS beat FROM harvester_nodes WHERE id = %s",
            (since, node_id),
        ).fetchone()
    return bool(row and row["beat"])
