"""A harvester node through a restart of its database: every process carries on.

A restart cuts every connection of every process, and the database stays away for a
while. None of them may need a hand: the control socket answers again, the parent keeps
beating, the scheduler queues and the workers harvest, and no child dies over it (same
pids, no restarts).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from marketmanager import db
from marketmanager.db import POOL_TIMEOUT
from simulator.server import running_simulator
from tests.support.daemon import Harvester
from tests.support.processes import wait_for
from tests.support.restart import (
    beat_since,
    children,
    database_now,
    finished_since,
    restart_database,
    running_since_before,
)
from tests.support.rows import add_exchange

pytestmark = [pytest.mark.reliability, pytest.mark.server_restart]

OUTAGE_SECONDS = 2 * POOL_TIMEOUT


def test_every_harvester_process_recovers_by_itself_after_a_database_outage(
    db_url: str, tmp_path: Path
) -> None:
    with running_simulator(markets=50) as sim:
        with db.connect(db_url, autocommit=True) as conn:
            add_exchange(conn, "binance", sim.exchange_url("binance"), interval_seconds=2)
        with Harvester(db_url, tmp_path / "node") as node:
            started = database_now(db_url)
            before = children(node.wait_ready())
            wait_for(
                lambda: any(
                    r["state"] == "SUCCEEDED"
                    for r in finished_since(db_url, started).get("binance", [])
                ),
                60,
                "a first harvest",
            )

            # Down for longer than a pooled connection is waited for, so that the
            # processes go through a real outage, not only a blink.
            restart_database(db_url, down_for=OUTAGE_SECONDS)
            back = database_now(db_url)

            # The control socket answers again (it used to say "the connection is closed").
            status = wait_for(node.try_status, 30, "ctl status to answer after the restart")
            cli = node.ctl("status")
            assert cli.returncode == 0, cli.stdout + cli.stderr
            # The scheduler queues and a worker harvests, on new connections.
            wait_for(
                lambda: any(
                    r["state"] == "SUCCEEDED"
                    for r in finished_since(db_url, back).get("binance", [])
                ),
                60,
                "a harvest queued after the restart",
            )
            # The parent beats again.
            wait_for(lambda: beat_since(db_url, status["node"], back), 30, "a node heartbeat")
            wait_for(lambda: not running_since_before(db_url, back), 60, "no run left RUNNING")
            # Nobody died over it: the same children, never restarted.
            assert children(status) == before
            assert children(node.status()) == before
            assert node.process is not None and node.process.poll() is None
