"""`ctl status` reports what the harvester parent knows now, not its last heartbeat."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon import Harvester
from tests.support.processes import alive, wait_for

pytestmark = pytest.mark.reliability


def _child(status: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in status["processes"] if p["name"] == name)


def test_status_reports_a_killed_child_dead_before_its_parent_reaps_it(
    db_url: str, tmp_path: Path
) -> None:
    # a slow heartbeat (every 2 s): a status built from it would lag behind
    with Harvester(db_url, tmp_path / "node", MM_STALE_AFTER="30") as harvester:
        harvester.wait_ready()
        victim = harvester.pids()["worker-1"]
        # freeze the parent: it can neither reap the worker nor beat
        os.kill(harvester.pid, signal.SIGSTOP)
        try:
            os.kill(victim, signal.SIGKILL)
            wait_for(lambda: not alive(victim), 10, "the worker to die (a zombie)")
            worker = _child(harvester.status(), "worker-1")
            assert (worker["pid"], worker["alive"]) == (victim, False), worker
        finally:
            os.kill(harvester.pid, signal.SIGCONT)
        restarted = wait_for(
            lambda: (w := _child(harvester.status(), "worker-1"))["pid"] != victim and w,
            30,
            "worker-1 to be restarted",
        )
        assert restarted["alive"] and restarted["restarts"] == 1, restarted

        # the control child itself: the first answer of the new one already lists it
        control = harvester.pids()["control"]
        os.kill(control, signal.SIGKILL)
        status = wait_for(
            lambda: (s := harvester.try_status()) and _child(s, "control")["pid"] != control and s,
            30,
            "the restarted control child to answer",
        )
        listed = _child(status, "control")
        assert listed["alive"] and listed["restarts"] == 1, listed
        assert listed["pid"] == harvester.pids()["control"]
