"""Two harvester nodes on one database: shared work, one run per exchange, recovery.

The simulator speaks binance's and kraken's wire formats only, and exchange names are
unique ccxt ids, so three of the twenty exchanges really harvest (binance and binanceus
share binance's wire format; kraken); the other seventeen are real ccxt ids pointed at
the simulator too, where their first request gets a 404: their runs are claimed,
executed and finished FAILED (two of them retryably, so they get RETRY runs) just the
same, which is all that coordinating the work is about.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors as pg_errors

from marketmanager import db
from simulator.server import SimulatorServer
from tests.support.daemon import Harvester
from tests.support.processes import wait_for
from tests.support.rows import Conn, add_exchange, run_by_id, runs_of

HARVESTED = {"binance": "binance", "binanceus": "binance", "kraken": "kraken"}
FAILING = (
    # a 404 is a permanent ExchangeError for these …
    "bybit", "okx", "kucoin", "bitstamp", "coinbase", "luno", "bitfinex", "cryptocom",
    "indodax", "kucoinfutures", "zaif", "bitbank", "bitopro", "whitebit", "hollaex",
    # … and ExchangeNotAvailable (retryable) for these
    "bitvavo", "upbit",
)  # fmt: skip
INTERVAL = 5
SOAK_SECONDS = 60
# The sampler must have looked this often before the soak ends (it runs as long as it
# takes on a busy machine, up to SOAK_DEADLINE), so that a violation had many chances
# to be seen.
MIN_SAMPLES = 300
SOAK_DEADLINE = 240


def add_twenty_exchanges(conn: Conn, sim: SimulatorServer, interval: int) -> None:
    """HARVESTED and FAILING, each harvested every `interval` seconds."""
    for name, wire in HARVESTED.items():
        add_exchange(conn, name, sim.exchange_url(wire), interval_seconds=interval)
    for name in FAILING:
        add_exchange(conn, name, sim.exchange_url("binance"), interval_seconds=interval)


class Sampler:
    """Looks at harvest_runs every 50 ms from a thread: exchanges with two active runs."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.samples = 0
        self.most_running = 0
        self.violations: list[dict[str, Any]] = []
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="sampler", daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _main(self) -> None:
        try:
            with db.connect(self.url, autocommit=True) as conn:
                while not self._stop.wait(0.05):
                    self._sample(conn)
        except BaseException as error:  # reported by check()
            self.errors.append(error)

    def _sample(self, conn: psycopg.Connection[Any]) -> None:
        rows = conn.execute(
            "SELECT exchange_id, count(*) FILTER (WHERE state = 'RUNNING') AS running,"
            " count(*) AS active FROM harvest_runs WHERE state IN ('QUEUED', 'RUNNING')"
            " GROUP BY exchange_id"
        ).fetchall()
        self.samples += 1
        self.most_running = max(self.most_running, sum(row["running"] for row in rows))
        self.violations += [row for row in rows if row["running"] > 1 or row["active"] > 1]

    def check(self) -> None:
        assert not self.errors, self.errors
        assert self._thread.is_alive(), "the sampler stopped"
        assert not self.violations, f"exchanges with two active runs: {self.violations[:5]}"


def _claims(*nodes: Harvester) -> dict[int, list[tuple[str, str]]]:
    """run id → the (node, worker) of every `run.claimed` line in the nodes' logs."""
    claims: dict[int, list[tuple[str, str]]] = {}
    for node in nodes:
        for event in node.events("run.claimed"):
            claims.setdefault(event["run_id"], []).append((event["node"], event["process"]))
    return claims


def _check_claimed_once(
    conn: Conn, *nodes: Harvester, dead: str | None = None
) -> dict[int, list[tuple[str, str]]]:
    """Every started run was claimed by exactly the one worker the database names."""
    # The database first, the logs second: a run finished in the snapshot logged its
    # claim before it finished; one claimed after the snapshot is not checked.
    started = [r for r in runs_of(conn) if r["started_at"] is not None]
    claims = _claims(*nodes)
    twice = {run_id: seen for run_id, seen in claims.items() if len(seen) > 1}
    assert not twice, f"runs claimed more than once: {twice}"
    for run in started:
        if run["id"] not in claims and (
            run["state"] == "RUNNING"  # claimed a moment ago; its log line is on its way
            or (run["node"] == dead and run["state"] == "CRASHED")  # killed before logging
        ):
            continue
        assert claims.get(run["id"]) == [(run["node"], run["worker"])], run
    return claims


def _check_the_unique_index(conn: Conn) -> None:
    index = conn.execute(
        "SELECT i.indisunique, i.indisvalid, pg_get_expr(i.indpred, i.indrelid) AS pred"
        " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE c.relname = 'harvest_runs_one_active'"
    ).fetchone()
    assert index is not None and index["indisunique"] and index["indisvalid"]
    assert "QUEUED" in index["pred"] and "RUNNING" in index["pred"]
    exchange = conn.execute("SELECT id FROM exchanges WHERE name = 'binance'").fetchone()
    assert exchange is not None
    with pytest.raises(pg_errors.UniqueViolation), conn.transaction():  # rolled back
        for _ in range(2):
            conn.execute(
                "INSERT INTO harvest_runs (exchange_id, trigger) VALUES (%s, 'MANUAL')",
                (exchange["id"],),
            )


def test_two_nodes_share_the_work_and_one_recovers_the_other(
    conn: Conn, sim: SimulatorServer, db_url: str, tmp_path: Path
) -> None:
    add_twenty_exchanges(conn, sim, INTERVAL)
    sim.simulator.set_faults({"latency": 0.3})  # real runs take a moment: they overlap
    with (
        Sampler(db_url) as sampler,
        Harvester(db_url, tmp_path / "a") as first,
        Harvester(db_url, tmp_path / "b") as second,
    ):
        first.wait_ready()
        second.wait_ready()
        survivor, victim = first.node_id(), second.node_id()
        started = time.monotonic()
        # A minute of both nodes at work, and as long again as the sampler needs.
        while time.monotonic() < started + SOAK_SECONDS or sampler.samples < MIN_SAMPLES:
            assert time.monotonic() < started + SOAK_DEADLINE, (
                f"the sampler took {sampler.samples} samples in {SOAK_DEADLINE} s"
            )
            for node in (first, second):
                assert node.process is not None and node.process.poll() is None, node.output()
            sampler.check()
            time.sleep(1)

        runs = runs_of(conn)
        finished = Counter(r["exchange"] for r in runs if r["finished_at"] is not None)
        assert all(finished[name] >= 2 for name in (*HARVESTED, *FAILING)), finished
        succeeded = Counter(r["exchange"] for r in runs if r["state"] == "SUCCEEDED")
        assert all(succeeded[name] >= 3 for name in HARVESTED), succeeded
        assert not {r["exchange"] for r in runs if r["state"] == "SUCCEEDED"} - set(HARVESTED)
        claims = _check_claimed_once(conn, first, second)
        by_node = Counter(seen[0][0] for seen in claims.values())
        assert by_node[survivor] > 0 and by_node[victim] > 0, by_node
        assert sampler.samples >= MIN_SAMPLES and sampler.most_running >= 2
        _check_the_unique_index(conn)

        # One node dies with runs in flight; the other takes them over.
        sim.simulator.set_faults({"latency": 5.0})
        wait_for(
            lambda: conn.execute(
                "SELECT 1 FROM harvest_runs r JOIN exchanges e ON e.id = r.exchange_id"
                " WHERE r.node = %s AND r.state = 'RUNNING' AND e.name = ANY(%s)",
                (victim, list(HARVESTED)),
            ).fetchone(),
            30,
            "the second node to run a harvest",
        )
        second.kill_all()
        # A worker keeps several runs in flight: the exchanges that fail by design may be
        # among them. Their retries end FAILED again; the harvested ones' must succeed.
        orphaned = {
            r["id"]: r["exchange"]
            for r in runs_of(conn)
            if r["node"] == victim and r["state"] == "RUNNING"
        }
        assert set(orphaned.values()) & set(HARVESTED)
        sim.simulator.clear_faults()

        wait_for(
            lambda: conn.execute(
                "SELECT 1 FROM harvester_nodes WHERE id = %s AND stopped_at IS NOT NULL",
                (victim,),
            ).fetchone(),
            20,
            "the dead node to be marked gone",
        )

        def recovered(run_id: int) -> bool:
            crashed = run_by_id(conn, run_id)
            if crashed["state"] == "RUNNING":
                return False
            assert crashed["state"] == "CRASHED", crashed
            retry = conn.execute(
                "SELECT * FROM harvest_runs WHERE retry_of = %s", (run_id,)
            ).fetchone()
            if retry is None:
                return False
            if orphaned[run_id] in HARVESTED:
                return retry["state"] == "SUCCEEDED"
            return retry["state"] in ("SUCCEEDED", "FAILED")

        wait_for(lambda: all(recovered(r) for r in orphaned), 40, "the dead node's runs retried")
        for run_id in orphaned:
            retry = conn.execute("SELECT * FROM harvest_runs WHERE retry_of = %s", (run_id,))
            row = retry.fetchone()
            assert row is not None and row["node"] == survivor and row["trigger"] == "RETRY"
        assert not [r for r in runs_of(conn) if r["node"] == victim and r["state"] == "RUNNING"]
        sampler.check()
        _check_claimed_once(conn, first, second, dead=victim)
