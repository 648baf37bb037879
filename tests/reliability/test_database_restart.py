"""Suite 1, database restart: the daemon and the API recover from it by themselves.

A harvester node (the real process tree) harvests ten exchanges from two simulators
while a real uvicorn serves a steady query load; then PostgreSQL restarts (the embedded
server, or the system cluster when DATABASE_URL is set). With no hand: no request
hangs, none gets INTERNAL or a 5xx other than 503/SERVICE_UNAVAILABLE, /readyz is 200
again (how long after the database is back is measured against the 5 s target and
printed, never asserted: a test does not pass or fail by the machine's speed),
`ctl status` answers, every exchange
is harvested again, no run stays RUNNING, no process was restarted, and the markets
are whole and equal to what the simulators served.

The simulators speak binance's and kraken's wire formats, and exchange names are unique
ccxt ids: binance, binanceus and kraken really harvest; the seven others are real ccxt
ids pointed at a simulator too, where their first request gets a 404, so each of their
runs ends FAILED with that exchange error (scheduled, claimed, run and finished all the
same). The recovery times are printed and recorded in ``var/reliability/``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from marketmanager import db
from simulator.server import SimulatorServer, running_simulator
from tests.support.api_client import GRAPHQL_RESPONSE
from tests.support.api_server import ProcessServer, wait_ready
from tests.support.daemon import Harvester
from tests.support.processes import REPO, wait_for
from tests.support.query_load import Outcome, QueryLoad
from tests.support.restart import (
    children,
    database_now,
    finished_since,
    restart_database,
    running_since_before,
    system_cluster_version,
)
from tests.support.rows import add_exchange, markets_of

pytestmark = [pytest.mark.reliability, pytest.mark.server_restart]

HARVESTED = ("binance", "binanceus", "kraken")
FAILING = ("bybit", "okx", "kucoin", "bitstamp", "coinbase", "luno", "bitfinex")
INTERVAL = 3
MARKETS = 100
READY_TARGET = 5.0  # seconds from the database being back to /readyz 200: reported
UNAVAILABLE = "SERVICE_UNAVAILABLE"


def harvested_again(url: str, since: Any) -> dict[str, list[dict[str, Any]]] | None:
    """The runs queued after `since`, once every exchange has finished one: SUCCEEDED for
    the real ones, FAILED with the simulator's "not found" for the others."""
    runs = finished_since(url, since)
    if not all(any(r["state"] == "SUCCEEDED" for r in runs.get(n, [])) for n in HARVESTED):
        return None
    return runs if all(runs.get(name) for name in FAILING) else None


def ready_now(base_url: str) -> float | None:
    """time.monotonic() if /readyz answers 200 now."""
    return (
        time.monotonic() if httpx.get(f"{base_url}/readyz", timeout=30).status_code == 200 else None
    )


def check_outcomes(outcomes: list[Outcome]) -> None:
    """What the clients saw: no hang, no INTERNAL, no 5xx but 503 SERVICE_UNAVAILABLE."""
    assert not [o for o in outcomes if o.status is None], "requests without an answer"
    assert not [o for o in outcomes if "INTERNAL" in o.codes], "INTERNAL errors"
    for outcome in outcomes:
        assert outcome.codes <= {UNAVAILABLE}, outcome
        if outcome.status != 200:
            assert (outcome.status, outcome.codes) == (503, {UNAVAILABLE}), outcome
            assert outcome.accept == GRAPHQL_RESPONSE, outcome


def check_markets(conn: Any, name: str, sim: SimulatorServer, wire: str) -> None:
    """The markets of `name` are what its simulator served last, all from one write, and
    each harvest's history is whole."""
    served = sim.simulator.tickers(wire)
    stored = markets_of(conn, name)
    assert set(stored) == set(served) and len(stored) == MARKETS, name  # none lost
    for symbol, ticker in served.items():
        values = (ticker.last, ticker.bid, ticker.ask, ticker.base_volume)
        row = stored[symbol]
        assert (row["last"], row["bid"], row["ask"], row["base_volume"]) == values, (name, symbol)
    written = {row["updated_at"] for row in stored.values()}
    assert len(written) == 1, f"{name}: rows of several writes"
    ticks = conn.execute(
        "SELECT t.ts, count(*) AS markets FROM market_ticks t JOIN markets m"
        " ON m.id = t.market_id JOIN exchanges e ON e.id = m.exchange_id"
        " WHERE e.name = %s GROUP BY t.ts",
        (name,),
    ).fetchall()
    assert all(row["markets"] == MARKETS for row in ticks), (name, ticks)  # none half-written
    succeeded = conn.execute(
        "SELECT count(*) AS runs FROM harvest_runs r JOIN exchanges e ON e.id = r.exchange_id"
        " WHERE e.name = %s AND r.state = 'SUCCEEDED'",
        (name,),
    ).fetchone()
    assert succeeded is not None and len(ticks) == succeeded["runs"], name  # one per harvest


def quiesce_then_harvest_once(conn: Any, node: Harvester) -> None:
    """Stop the schedule, let what is queued finish, then one MANUAL run of each real
    exchange (through `ctl run`), so that the last thing each simulator served is in."""
    conn.execute("UPDATE exchanges SET interval_seconds = 3600")

    def idle() -> bool:
        row = conn.execute(
            "SELECT count(*) AS active FROM harvest_runs WHERE state IN ('QUEUED', 'RUNNING')"
        ).fetchone()
        return row is not None and row["active"] == 0

    wait_for(idle, 60, "the queue to empty")
    since = database_now(node.env["DATABASE_URL"])
    for name in HARVESTED:
        queued = node.ctl("run", name)
        assert queued.returncode == 0, queued.stdout + queued.stderr
    wait_for(
        lambda: all(
            any(
                r["state"] == "SUCCEEDED"
                for r in finished_since(node.env["DATABASE_URL"], since).get(n, [])
            )
            for n in HARVESTED
        ),
        60,
        "the manual runs",
    )
    wait_for(idle, 60, "the queue to empty again")


def record(kind: str, figures: dict[str, float | int]) -> None:
    line = ", ".join(f"{key} {value}" for key, value in figures.items())
    print(f"\ndatabase restart ({kind} server; /readyz target {READY_TARGET} s): {line}")
    folder = REPO / "var" / "reliability"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"database-restart-{kind}.json").write_text(json.dumps(figures, indent=2) + "\n")


def test_the_daemon_and_the_api_recover_by_themselves_from_a_database_restart(
    db_url: str, tmp_path: Path, record_property: Any
) -> None:
    kind = "system" if os.environ.get("DATABASE_URL") else "embedded"
    if kind == "system":
        system_cluster_version()  # skips now, not after starting everything, if it cannot
    with (
        running_simulator(markets=MARKETS, seed=1) as first_sim,
        running_simulator(markets=MARKETS, seed=2) as second_sim,
    ):
        sources = {
            "binance": (first_sim, "binance"),
            "kraken": (first_sim, "kraken"),
            "binanceus": (second_sim, "binance"),
        }
        with db.connect(db_url, autocommit=True) as conn:
            for name, (sim, wire) in sources.items():
                add_exchange(conn, name, sim.exchange_url(wire), interval_seconds=INTERVAL)
            for name in FAILING:  # nothing of theirs is served: a 404
                add_exchange(conn, name, second_sim.exchange_url("kraken"), INTERVAL)
        api = ProcessServer(db_url).start()
        try:
            with Harvester(db_url, tmp_path / "node", MM_POOL_SIZE="3") as node:
                started = database_now(db_url)
                before = children(node.wait_ready())
                wait_for(lambda: harvested_again(db_url, started), 90, "every exchange harvested")
                wait_ready(api.url)
                with QueryLoad(api.url) as load:
                    wait_for(lambda: len(load.snapshot()) >= 20, 30, "the query load")
                    restarted = time.monotonic()
                    back = restart_database(db_url)
                    back_db = database_now(db_url)
                    ready_at = wait_for(lambda: ready_now(api.url), 60, "/readyz 200")
                    status = wait_for(node.try_status, 60, "ctl status to answer")
                    ctl_at = time.monotonic()
                    runs = wait_for(lambda: harvested_again(db_url, back_db), 90, "the harvests")
                    all_at = time.monotonic()
                    wait_for(lambda: not running_since_before(db_url, back_db), 60, "no RUNNING")
                    wait_for(
                        lambda: any(o.ok and o.started > all_at for o in load.snapshot()),
                        30,
                        "an answer",
                    )
                outcomes = load.snapshot()
                assert api.process is not None and api.process.poll() is None, "the API died"
                assert children(status) == before == children(node.status()), "a child restarted"
                for name in FAILING:
                    for run in runs[name]:
                        assert run["state"] == "FAILED" and "not found" in run["error"], run
                check_outcomes(outcomes)
                with db.connect(db_url, autocommit=True) as conn:
                    quiesce_then_harvest_once(conn, node)
                    for name, (sim, wire) in sources.items():
                        check_markets(conn, name, sim, wire)
        finally:
            api.stop()

    first_harvest = min(
        r["finished_at"] for n in HARVESTED for r in runs[n] if r["state"] == "SUCCEEDED"
    )
    figures: dict[str, float | int] = {
        "restart_seconds": round(back - restarted, 2),
        "readyz_seconds": round(ready_at - back, 2),
        "ctl_status_seconds": round(ctl_at - back, 2),
        "first_harvest_seconds": round((first_harvest - back_db).total_seconds(), 2),
        "every_exchange_seconds": round(all_at - back, 2),
        "requests": len(outcomes),
        "unavailable_answers": sum(UNAVAILABLE in o.codes for o in outcomes),
        "slowest_request_seconds": round(max(o.seconds for o in outcomes), 2),
    }
    record(kind, figures)
    for key, value in figures.items():
        record_property(key, value)
