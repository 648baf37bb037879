"""Suite 3, exchange faults: minutes of scheduled harvesting against a faulty simulator.

Every fault kind is injected at 20% of requests, in three phases: binance gets http429,
then http500, then timeout; kraken http503, then malformed, then truncated; both a 0.5 s
latency on 20% of requests throughout. (One kind at a time per exchange: at 60% of
faulty requests a binance run, four requests, would almost never succeed.) A phase lasts
a third of MM_FAULT_SUITE_SECONDS (default 120), and longer if its kinds were not yet
injected twice each (a failing exchange spends most of its time in backoff, so it makes
few requests). Meanwhile binanceus is harvested from a fault-free simulator of its own.
A real harvester node (parent, scheduler, poller, control, two workers) does the work.

Then: no process died or was replaced; every failed run carries one readable line
naming its ccxt error and exchange; retries back off (each waits at least its backoff and
less than the next one) and are not in lockstep; the healthy exchange never failed and
its runs started soon after they were queued, however long the faulty ones hung.
The counts are printed (run with ``-s``) for docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from harvester.poller.decisions import retry_delay
from simulator import Simulator, running_simulator
from tests.support.daemon import Harvester
from tests.support.rows import Conn, add_exchange, runs_of

pytestmark = pytest.mark.reliability

SECONDS = float(os.environ.get("MM_FAULT_SUITE_SECONDS", "120"))
REQUEST_TIMEOUT = 20.0  # a timeout fault holds its run this long
LATENCY = {"latency": 0.5, "latency_rate": 0.2}
RATE = 0.2
PHASES = [
    {"binance": "http429", "kraken": "http503"},
    {"binance": "http500", "kraken": "malformed"},
    {"binance": "timeout", "kraken": "truncated"},
]
PLANS = {name: [phase[name] for phase in PHASES] for name in PHASES[0]}  # its kinds
HEALTHY = "binanceus"  # binance's wire format, on a simulator without faults
INTERVAL = 2
MAX_ATTEMPTS = 4  # backoffs of 2, 4 and 8 s (and jitter)
PHASE_FAULTS = 2  # each kind of a phase is injected at least this often …
PHASE_DEADLINE = 120.0  # … within this many seconds more than the phase's share
# A healthy run is claimed within half a second normally; this is generous for a busy
# machine, and a worker held by a hanging run would have made it wait REQUEST_TIMEOUT.
HEALTHY_MAX_WAIT = REQUEST_TIMEOUT / 2
READABLE = re.compile(r"^[A-Z][A-Za-z]+: (binance|kraken)\b[^\n]*$")
# The ccxt error a fault kind fails its run with (binance sends 429 as DDoSProtection).
ERRORS = {
    "http429": {"DDoSProtection", "RateLimitExceeded"},
    "http500": {"ExchangeNotAvailable"},
    "http503": {"ExchangeNotAvailable"},
    "timeout": {"RequestTimeout"},
    "malformed": {"BadResponse"},
    "truncated": {"NetworkError"},
}


def test_faulty_exchanges_fail_readably_retry_with_backoff_and_delay_no_one(
    conn: Conn, tmp_path: Path, db_url: str
) -> None:
    with (
        running_simulator(markets=100, seed=7, hold_seconds=REQUEST_TIMEOUT * 3) as faulty,
        running_simulator(markets=100, seed=8) as healthy,
    ):
        for name in PLANS:
            add_exchange(conn, name, faulty.exchange_url(name), interval_seconds=INTERVAL)
        add_exchange(conn, HEALTHY, healthy.exchange_url("binance"), interval_seconds=INTERVAL)
        with Harvester(
            db_url,
            tmp_path / "node",
            MM_REQUEST_TIMEOUT=str(REQUEST_TIMEOUT),
            MM_RUN_TIMEOUT=str(REQUEST_TIMEOUT * 3),
            MM_MAX_ATTEMPTS=str(MAX_ATTEMPTS),
        ) as harvester:
            harvester.wait_ready()
            for phase in PHASES:
                _run_phase(harvester, faulty.simulator, phase)
            status = harvester.status()
            runs = runs_of(conn)
            injected = faulty.simulator.state()["exchanges"]
            assert isinstance(injected, dict)
            harvester.signal(signal.SIGTERM)
            assert harvester.wait(60) == 0, harvester.output()[-3000:]
            deaths = [
                e
                for e in harvester.events()
                if e.get("event") in ("child.died", "child.replaced", "child.gave_up", "run.stuck")
            ]

    report = _report(runs, injected)
    print("\nexchange faults:", json.dumps(report, indent=1, sort_keys=True))
    assert all(p["alive"] and p["restarts"] == 0 for p in status["processes"]), status
    assert not deaths, deaths
    _check_injected_every_kind(injected)
    _check_failures_are_readable(runs)
    _check_retries_back_off(runs)
    _check_healthy_never_delayed(runs)


def _run_phase(harvester: Harvester, simulator: Simulator, phase: dict[str, str]) -> None:
    """Inject the phase's kinds for its share of the time, and until each was injected
    PHASE_FAULTS times; the harvester must stay up throughout."""

    def injected() -> dict[str, int]:
        exchanges = simulator.state()["exchanges"]
        assert isinstance(exchanges, dict)
        return {
            name: exchanges[name]["faults_injected"].get(kind, 0) for name, kind in phase.items()
        }

    before = injected()
    for name, kind in phase.items():
        simulator.set_faults({kind: RATE, **LATENCY}, exchange=name)
    started = time.monotonic()
    while True:
        assert harvester.process is not None and harvester.process.poll() is None
        now = injected()
        enough = all(now[name] - before[name] >= PHASE_FAULTS for name in phase)
        elapsed = time.monotonic() - started
        if enough and elapsed >= SECONDS / len(PHASES):
            return
        assert elapsed < SECONDS / len(PHASES) + PHASE_DEADLINE, f"{phase}: {before} → {now}"
        time.sleep(1)


def _check_injected_every_kind(injected: dict[str, Any]) -> None:
    for name, kinds in PLANS.items():
        assert set(injected[name]["faults_injected"]) == set(kinds), injected[name]


def _check_failures_are_readable(runs: list[dict[str, Any]]) -> None:
    faulty = [r for r in runs if r["exchange"] in PLANS]
    assert not [r for r in faulty if r["state"] == "CRASHED"], "a faulty run crashed"
    failed = [r for r in faulty if r["state"] == "FAILED"]
    assert failed, "the faults failed no run"
    for run in failed:
        assert READABLE.match(run["error"] or ""), run["error"]
        assert run["retryable"], run["error"]
    for name, kinds in PLANS.items():
        seen = {r["error"].split(":")[0] for r in failed if r["exchange"] == name}
        expected = set().union(*(ERRORS[kind] for kind in kinds))
        assert seen <= expected, (name, seen)
        for kind in kinds:  # each kind failed a run with its own error
            assert seen & ERRORS[kind], (name, kind, seen)
    assert [r for r in faulty if r["state"] == "SUCCEEDED"], "no faulty exchange ever succeeded"


def _check_retries_back_off(runs: list[dict[str, Any]]) -> None:
    by_id = {r["id"]: r for r in runs}
    retries = [r for r in runs if r["trigger"] == "RETRY"]
    assert retries, "nothing was retried"
    stretches = []
    for retry in retries:
        failed = by_id[retry["retry_of"]]
        assert retry["attempt"] == failed["attempt"] + 1
        waited = (retry["not_before"] - failed["finished_at"]).total_seconds()
        backoff = retry_delay(failed["attempt"])
        assert backoff <= waited < retry_delay(failed["attempt"] + 1), (waited, retry)
        if retry["started_at"] is not None:
            assert retry["started_at"] >= retry["not_before"]
        stretches.append(waited / backoff)
    assert len(stretches) >= 3, f"only {len(stretches)} retries"
    assert len({round(s, 3) for s in stretches}) > 1, f"lockstep retries: {stretches}"


def _check_healthy_never_delayed(runs: list[dict[str, Any]]) -> None:
    mine = [r for r in runs if r["exchange"] == HEALTHY]
    assert all(r["state"] in ("SUCCEEDED", "QUEUED", "RUNNING") for r in mine), mine
    assert sum(r["state"] == "SUCCEEDED" for r in mine) >= SECONDS / (INTERVAL * 4)
    waits = [_queue_wait(r) for r in mine if r["started_at"] is not None]
    assert max(waits) < HEALTHY_MAX_WAIT, waits


def _queue_wait(run: dict[str, Any]) -> float:
    return float((run["started_at"] - max(run["queued_at"], run["not_before"])).total_seconds())


def _hung_overlap(runs: list[dict[str, Any]]) -> int:
    """Healthy runs queued and started while both faulty exchanges had a run in flight."""
    faulty = [r for r in runs if r["exchange"] in PLANS and r["started_at"] is not None]
    count = 0
    for run in (r for r in runs if r["exchange"] == HEALTHY and r["started_at"] is not None):
        busy = {
            f["exchange"]
            for f in faulty
            if f["started_at"] <= run["queued_at"]
            and (f["finished_at"] is None or f["finished_at"] >= run["started_at"])
        }
        count += busy == set(PLANS)
    return count


def _report(runs: list[dict[str, Any]], injected: dict[str, Any]) -> dict[str, Any]:
    report: dict[str, Any] = {"seconds": SECONDS}
    for name in (*PLANS, HEALTHY):
        mine = [r for r in runs if r["exchange"] == name]
        report[name] = {
            "runs": len(mine),
            "states": dict(Counter(r["state"] for r in mine)),
            "failed_by_error": dict(
                Counter(r["error"].split(":")[0] for r in mine if r["state"] == "FAILED")
            ),
            "retried": sum(r["trigger"] == "RETRY" for r in mine),
            "max_attempt": max((r["attempt"] for r in mine), default=0),
        }
        if name in PLANS:
            report[name]["faults_injected"] = injected[name]["faults_injected"]
            report[name]["requests"] = sum(injected[name]["requests"].values())
    waits = [_queue_wait(r) for r in runs if r["exchange"] == HEALTHY and r["started_at"]]
    report[HEALTHY]["queue_wait_max_s"] = round(max(waits, default=0.0), 3)
    report[HEALTHY]["queue_wait_mean_s"] = round(sum(waits) / max(len(waits), 1), 3)
    report[HEALTHY]["runs_while_both_faulty_in_flight"] = _hung_overlap(runs)
    return report
