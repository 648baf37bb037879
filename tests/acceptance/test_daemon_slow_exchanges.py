"""Exchanges that hang delay no one: a healthy exchange is harvested on time beside them.

Two exchanges point at a simulator where every request hangs (until a long request
timeout), one at a fault-free simulator. With the default pool of two workers, a worker
that waited on the network as a whole process would be held by each hanging run and the
healthy exchange's runs would wait in the queue until a hanging request gave up. The
test proves the order of events instead of timing them: the healthy exchange's runs are
queued, started and SUCCEEDED several times while the first runs of the hanging
exchanges are still RUNNING.
"""

from __future__ import annotations

from pathlib import Path

from simulator.server import SimulatorServer, running_simulator
from tests.support.daemon import Harvester
from tests.support.processes import wait_for
from tests.support.rows import Conn, add_exchange, run_by_id, runs_of

HANGING = {"binance": "binance", "kraken": "kraken"}  # ccxt id → wire format
HEALTHY = "binanceus"  # binance's wire format
REQUEST_TIMEOUT = 120  # far longer than the test waits for the healthy runs
HEALTHY_RUNS = 3


def test_a_healthy_exchange_is_harvested_while_others_hang(
    conn: Conn, sim: SimulatorServer, tmp_path: Path, db_url: str
) -> None:
    with running_simulator(markets=50, seed=3, faults={"timeout": 1.0}) as hanging:
        for name, wire in HANGING.items():
            add_exchange(conn, name, hanging.exchange_url(wire), interval_seconds=2)
        add_exchange(conn, HEALTHY, sim.exchange_url("binance"), interval_seconds=2)
        with Harvester(
            db_url,
            tmp_path / "node",
            MM_POOL_SIZE="2",
            MM_REQUEST_TIMEOUT=str(REQUEST_TIMEOUT),
            MM_RUN_TIMEOUT=str(REQUEST_TIMEOUT * 3),
        ) as harvester:
            harvester.wait_ready()
            hung = wait_for(
                lambda: _first_runs_running(conn), 60, "both hanging exchanges to be RUNNING"
            )
            latest_hang_start = max(run["started_at"] for run in hung)

            def healthy_runs_after_the_hang() -> list[dict[str, object]]:
                done = [
                    run
                    for run in runs_of(conn, HEALTHY)
                    if run["state"] == "SUCCEEDED" and run["queued_at"] > latest_hang_start
                ]
                return done if len(done) >= HEALTHY_RUNS else []

            healthy = wait_for(
                healthy_runs_after_the_hang, 90, f"{HEALTHY_RUNS} healthy runs beside the hang"
            )
            # Read after the healthy runs finished: the hanging runs never stopped hanging.
            still = [run_by_id(conn, int(run["id"])) for run in hung]
            assert [run["state"] for run in still] == ["RUNNING", "RUNNING"], still
            assert [run["attempt"] for run in still] == [1, 1]
            waits = [(run["started_at"] - run["queued_at"]).total_seconds() for run in healthy]
            print(f"healthy runs waited in the queue {max(waits):.2f} s at most: {waits}")
            assert harvester.process is not None and harvester.process.poll() is None


def _first_runs_running(conn: Conn) -> list[dict[str, object]]:
    """The first run of each hanging exchange, once both are RUNNING."""
    first = []
    for name in HANGING:
        runs = runs_of(conn, name)
        if not runs or runs[0]["state"] != "RUNNING":
            return []
        first.append(runs[0])
    return first
