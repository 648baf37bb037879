"""A real harvester meets trouble: killed workers and children, hung runs, SIGTERM mid-run."""

from __future__ import annotations

import datetime as dt
import os
import signal
from pathlib import Path

from simulator.server import SimulatorServer
from tests.support.daemon import Harvester, wait_for_retry, wait_for_state
from tests.support.processes import alive, session_pids, wait_for
from tests.support.rows import (
    HOUR,
    Conn,
    add_exchange,
    mark_harvested,
    markets_of,
    run_by_id,
    runs_of,
)

STALE_AFTER = 4.0
# How late the poller may notice a crash: its tick (0.5 s) and one heartbeat period
# normally; generous, so that a busy two-core machine does not fail the test. Which rule
# crashed a run (no heartbeat, or the run timeout) is checked on its error, not its time.
NOTICE_SLACK = 10.0


def _queue(harvester: Harvester, exchange: str) -> int:
    reply = harvester.request({"cmd": "run", "exchange": exchange})
    assert reply["ok"] and reply["created"], reply
    return int(reply["run"]["id"])


def _db_now(conn: Conn) -> dt.datetime:
    row = conn.execute("SELECT clock_timestamp() AS now").fetchone()
    assert row is not None
    return row["now"]


def test_a_killed_worker_run_crashes_and_is_retried_without_touching_good_markets(
    conn: Conn, sim: SimulatorServer, tmp_path: Path, db_url: str
) -> None:
    exchange_id = add_exchange(conn, "binance", sim.exchange_url("binance"), interval_seconds=HOUR)
    mark_harvested(conn, exchange_id)
    with Harvester(db_url, tmp_path / "node", MM_STALE_AFTER=str(STALE_AFTER)) as harvester:
        harvester.wait_ready()
        good = _queue(harvester, "binance")
        wait_for(lambda: run_by_id(conn, good)["state"] == "SUCCEEDED", 30, "a first good run")
        before = markets_of(conn, "binance")
        assert len(before) == 200

        sim.simulator.set_faults({"latency": 8.0}, exchange="binance")  # a long run
        doomed = _queue(harvester, "binance")
        running = wait_for_state(conn, doomed, "RUNNING", 30)
        worker = str(running["worker"])
        victim = harvester.pids()[worker]
        os.kill(victim, signal.SIGKILL)
        killed_at = _db_now(conn)
        sim.simulator.clear_faults()

        def crashed_with_markets_intact() -> bool:
            assert markets_of(conn, "binance") == before, "a crashed run changed markets"
            return run_by_id(conn, doomed)["state"] != "RUNNING"

        wait_for(crashed_with_markets_intact, STALE_AFTER + 10, "the killed run to crash")
        crashed = run_by_id(conn, doomed)
        assert crashed["state"] == "CRASHED", crashed
        assert "no heartbeat" in crashed["error"] and worker in crashed["error"]
        assert crashed["finished_at"] - killed_at <= dt.timedelta(
            seconds=STALE_AFTER + NOTICE_SLACK
        )

        retry = wait_for_retry(conn, doomed, 10)
        assert (retry["trigger"], retry["attempt"]) == ("RETRY", 2)

        def retried_with_markets_intact() -> bool:
            state = run_by_id(conn, int(retry["id"]))["state"]
            if state != "SUCCEEDED":
                assert markets_of(conn, "binance") == before, "markets changed before the retry"
            return state == "SUCCEEDED"

        wait_for(retried_with_markets_intact, 30, "the retry to succeed")
        after = markets_of(conn, "binance")
        assert set(after) == set(before)
        assert all(after[s]["updated_at"] > before[s]["updated_at"] for s in before), (
            "the retry wrote every market"
        )

        replaced = wait_for(
            lambda: (pid := harvester.pids()[worker]) != victim and alive(pid) and pid,
            20,
            f"{worker} to be restarted",
        )
        assert not alive(victim) and replaced != victim


def test_a_hung_run_is_stopped_at_the_run_timeout_and_abandoned_by_a_worker_that_lives_on(
    conn: Conn, sim: SimulatorServer, tmp_path: Path, db_url: str
) -> None:
    run_timeout = 6.0
    exchange_id = add_exchange(conn, "binance", sim.exchange_url("binance"), interval_seconds=HOUR)
    mark_harvested(conn, exchange_id)
    sim.simulator.set_faults({"timeout": 1.0}, exchange="binance")  # every request hangs
    with Harvester(
        db_url,
        tmp_path / "node",
        MM_STALE_AFTER=str(STALE_AFTER),
        MM_RUN_TIMEOUT=str(run_timeout),
        MM_REQUEST_TIMEOUT="60",  # ccxt would wait longer than the run may take
    ) as harvester:
        harvester.wait_ready()
        hung = _queue(harvester, "binance")
        running = wait_for_state(conn, hung, "RUNNING", 30)
        worker = str(running["worker"])
        pid = harvester.pids()[worker]

        wait_for(
            lambda: run_by_id(conn, hung)["state"] != "RUNNING",
            run_timeout + 15,
            "the hung run to be stopped",
        )
        crashed = run_by_id(conn, hung)
        sim.simulator.clear_faults()
        assert crashed["state"] == "CRASHED", crashed
        assert crashed["error"].startswith("timed out"), crashed["error"]
        took = crashed["finished_at"] - crashed["started_at"]
        assert dt.timedelta(seconds=run_timeout) <= took
        assert took <= dt.timedelta(seconds=run_timeout + NOTICE_SLACK)

        # The worker cancels the run's task (closing its request) and carries on.
        abandoned = wait_for(
            lambda: [e for e in harvester.events("run.abandoned") if e.get("run_id") == hung],
            20,
            "the worker to abandon the hung run",
        )
        assert abandoned[0]["process"] == worker
        lost = [e for e in harvester.events("run.lost") if e.get("run_id") == hung]
        assert lost and lost[0]["process"] == worker
        retry = wait_for_retry(conn, hung, 10)
        wait_for(
            lambda: run_by_id(conn, int(retry["id"]))["state"] == "SUCCEEDED",
            30,
            "the retry to succeed once the exchange answers",
        )
        assert harvester.pids()[worker] == pid and alive(pid), "no worker had to be replaced"
        assert not harvester.events("run.stuck")


def test_children_killed_with_sigkill_are_restarted(tmp_path: Path, db_url: str) -> None:
    with Harvester(db_url, tmp_path / "node") as harvester:
        before = harvester.wait_ready()
        pids = {p["name"]: p["pid"] for p in before["processes"]}
        for name in ("poller", "control", "scheduler"):
            os.kill(pids[name], signal.SIGKILL)

            def restarted(name: str = name) -> bool:
                status = harvester.try_status()
                if status is None:  # the control child itself is being restarted
                    return False
                child = next(p for p in status["processes"] if p["name"] == name)
                return child["pid"] != pids[name] and child["alive"] and child["restarts"] >= 1

            wait_for(restarted, 20, f"the {name} child to be restarted")
        after = harvester.pids()
        assert all(after[name] == pids[name] for name in ("worker-1", "worker-2"))
        assert harvester.process is not None and harvester.process.poll() is None
        died = {e["child"] for e in harvester.events("child.died")}
        assert died == {"poller", "control", "scheduler"}


def test_sigterm_finishes_or_requeues_runs_in_flight_and_exits_0(
    conn: Conn, sim: SimulatorServer, tmp_path: Path, db_url: str
) -> None:
    for name in ("binance", "kraken"):
        mark_harvested(
            conn, add_exchange(conn, name, sim.exchange_url(name), interval_seconds=HOUR)
        )
    sim.simulator.set_faults({"latency": 0.6}, exchange="binance")  # done within the grace
    sim.simulator.set_faults({"latency": 60.0}, exchange="kraken")  # not done within it
    with Harvester(
        db_url, tmp_path / "node", MM_SHUTDOWN_GRACE="5", MM_REQUEST_TIMEOUT="60"
    ) as harvester:
        harvester.wait_ready()
        node = harvester.node_id()
        quick, slow = _queue(harvester, "binance"), _queue(harvester, "kraken")
        wait_for(
            lambda: {run_by_id(conn, r)["state"] for r in (quick, slow)} == {"RUNNING"},
            30,
            "both runs to be running",
        )
        os.killpg(harvester.pid, signal.SIGTERM)  # as supervisord does (stopasgroup)
        assert harvester.wait(30) == 0, harvester.output()[-3000:]
        wait_for(lambda: not session_pids(harvester.pid), 10, "every child to exit")

    assert run_by_id(conn, quick)["state"] == "SUCCEEDED"
    requeued = run_by_id(conn, slow)
    assert requeued["state"] == "QUEUED" and requeued["attempt"] == 1
    assert requeued["node"] is None and requeued["started_at"] is None
    assert not [r for r in runs_of(conn) if r["state"] == "RUNNING"]
    stopped = conn.execute("SELECT stopped_at FROM harvester_nodes WHERE id = %s", (node,))
    row = stopped.fetchone()
    assert row is not None and row["stopped_at"] is not None
