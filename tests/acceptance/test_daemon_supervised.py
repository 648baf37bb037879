"""The harvester under supervisord (`marketmanager up`): schedules, a killed parent, drain."""

from __future__ import annotations

import datetime as dt
import os
import signal
from itertools import pairwise
from pathlib import Path
from typing import Any

from simulator.server import SimulatorServer
from tests.support.daemon import Supervised, holds, try_status, wait_for_state
from tests.support.processes import alive, descendants, marketmanager, wait_for
from tests.support.rows import HOUR, Conn, add_exchange, mark_harvested, run_by_id, runs_of

INTERVAL = 5


def _node_of(conn: Conn, pid: int) -> dict[str, Any]:
    """The harvester_nodes row of the harvester parent `pid`, once it lists its children."""
    found = wait_for(
        lambda: conn.execute(
            "SELECT * FROM harvester_nodes WHERE pid = %s AND jsonb_array_length(processes) > 0",
            (pid,),
        ).fetchone(),
        30,
        f"the node of harvester pid {pid} to beat",
    )
    assert isinstance(found, dict)
    return found


def test_supervisord_runs_the_harvester_which_harvests_on_schedule(
    conn: Conn, sim: SimulatorServer, db_url: str, tmp_path: Path
) -> None:
    for name in ("binance", "kraken"):
        add_exchange(conn, name, sim.exchange_url(name), interval_seconds=INTERVAL)
    with Supervised(db_url, tmp_path / "data") as supervised:
        supervised.wait_running("harvester")
        status = supervised.supervisorctl("status", "harvester")
        assert status.returncode == 0, status.stdout + status.stderr
        assert status.stdout.split()[:2] == ["harvester", "RUNNING"]

        def succeeded(name: str) -> list[dict[str, Any]]:
            return [r for r in runs_of(conn, name) if r["state"] == "SUCCEEDED"]

        wait_for(
            lambda: all(len(succeeded(name)) >= 3 for name in ("binance", "kraken")),
            90,
            "three scheduled harvests of each exchange",
        )
    interval = dt.timedelta(seconds=INTERVAL)
    for name in ("binance", "kraken"):
        runs = runs_of(conn, name)
        assert runs and all(r["trigger"] == "SCHEDULE" for r in runs), runs
        finished = [r for r in runs if r["finished_at"] is not None]
        assert all(r["state"] == "SUCCEEDED" for r in finished), finished
        for earlier, later in pairwise(finished):
            # due once the previous run finished `interval` ago, not before
            assert later["queued_at"] >= earlier["finished_at"] + interval, (earlier, later)
            assert later["started_at"] - earlier["started_at"] >= interval


def test_a_killed_parent_is_restarted_and_its_orphans_leave_nothing_running(
    conn: Conn, sim: SimulatorServer, db_url: str, tmp_path: Path
) -> None:
    add_exchange(conn, "binance", sim.exchange_url("binance"), interval_seconds=1)
    add_exchange(conn, "kraken", sim.exchange_url("kraken"), interval_seconds=1)
    sim.simulator.set_faults({"latency": 1.0})  # runs take seconds: some are in flight
    with Supervised(db_url, tmp_path / "data") as supervised:
        old_pid = supervised.wait_running("harvester")
        old_node = _node_of(conn, old_pid)
        # its children, and every other process of its tree (the forkserver its workers
        # were forked from, multiprocessing's resource tracker)
        orphans = {child["pid"] for child in old_node["processes"]} | set(descendants(old_pid))
        in_flight = wait_for(
            lambda: conn.execute(
                "SELECT id FROM harvest_runs WHERE node = %s AND state = 'RUNNING'",
                (old_node["id"],),
            ).fetchall(),
            60,
            "a run in flight on the first harvester",
        )
        assert isinstance(in_flight, list)
        os.kill(old_pid, signal.SIGKILL)
        sim.simulator.clear_faults()

        wait_for(
            lambda: (
                supervised.program_state("harvester") == "RUNNING"
                and supervised.program_pid("harvester") != old_pid
            ),
            60,
            "supervisord to restart the harvester",
        )
        new_pid = supervised.program_pid("harvester")
        assert alive(new_pid)
        wait_for(lambda: not [pid for pid in orphans if alive(pid)], 30, "the orphans to exit")

        new_node = _node_of(conn, new_pid)
        # the socket is the new tree's, whenever the orphaned control child went away
        wait_for(
            lambda: (
                (status := try_status(supervised.socket_path)) is not None
                and status["node"] == new_node["id"]
            ),
            30,
            "the new harvester to answer on the socket",
        )

        def settled() -> bool:
            stuck = [r for r in runs_of(conn) if r["state"] == "RUNNING"]
            if any(r["node"] != new_node["id"] for r in stuck):
                return False
            for row in in_flight:
                run = run_by_id(conn, row["id"])
                if run["state"] in ("QUEUED", "RUNNING"):
                    return False
                if run["state"] == "CRASHED":
                    retries = conn.execute(
                        "SELECT state FROM harvest_runs WHERE retry_of = %s", (run["id"],)
                    ).fetchall()
                    if not retries or retries[0]["state"] in ("QUEUED", "RUNNING"):
                        return False
            return True

        wait_for(settled, 60, "the old node's runs to be finished or retried")
        wait_for(
            lambda: conn.execute(
                "SELECT 1 FROM harvester_nodes WHERE id = %s AND stopped_at IS NOT NULL",
                (old_node["id"],),
            ).fetchone(),
            30,
            "the killed harvester's node to be marked gone",
        )
        wait_for(
            lambda: conn.execute(
                "SELECT 1 FROM harvest_runs WHERE node = %s AND state = 'SUCCEEDED'",
                (new_node["id"],),
            ).fetchone(),
            30,
            "the new harvester to harvest",
        )


def test_drain_finishes_runs_and_supervisord_leaves_the_harvester_exited(
    conn: Conn, sim: SimulatorServer, db_url: str, tmp_path: Path
) -> None:
    for name in ("binance", "kraken"):
        mark_harvested(
            conn, add_exchange(conn, name, sim.exchange_url(name), interval_seconds=HOUR)
        )
    sim.simulator.set_faults({"latency": 0.7}, exchange="binance")
    with Supervised(db_url, tmp_path / "data") as supervised:
        pid = supervised.wait_running("harvester")
        node = _node_of(conn, pid)
        supervised.wait_control()
        queued = supervised.request({"cmd": "run", "exchange": "binance"})
        run_id = int(queued["run"]["id"])
        wait_for_state(conn, run_id, "RUNNING", 30)

        drained = marketmanager("ctl", "drain", env=supervised.env)
        assert drained.returncode == 0, drained.stderr
        assert "(draining)" in drained.stdout
        later = supervised.request({"cmd": "run", "exchange": "kraken"})
        assert later["ok"] and later["created"], later

        wait_for(
            lambda: supervised.program_state("harvester") == "EXITED", 60, "the harvester to exit"
        )
        assert "exited: harvester (exit status 0; expected)" in supervised.output()
        assert run_by_id(conn, run_id)["state"] == "SUCCEEDED"  # finished, not cut short
        assert run_by_id(conn, int(later["run"]["id"]))["state"] == "QUEUED"  # not claimed
        stopped = conn.execute(
            "SELECT stopped_at FROM harvester_nodes WHERE id = %s", (node["id"],)
        ).fetchone()
        assert stopped is not None and stopped["stopped_at"] is not None
        assert not alive(pid)
        # exit 0 is expected: supervisord does not start it again
        holds(lambda: supervised.program_state("harvester") == "EXITED", 2.5, "EXITED")
        assert supervised.program_state("api") == "RUNNING"
