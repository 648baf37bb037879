"""The poller's decisions, pure: which failed runs to retry and when, which history
partitions are past retention."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass


def retry_delay(attempt: int, *, base: float = 2.0, cap: float = 300.0) -> float:
    """Seconds before retrying a run that failed at `attempt` (1, 2, 3… → 2, 4, 8… s)."""
    return float(min(cap, base * 2 ** (attempt - 1)))


# A retry waits its backoff plus up to this share of it more, drawn at random.
JITTER = 0.5


def jittered(delay: float, draw: Callable[[], float]) -> float:
    """`delay` stretched by a random share in [0, JITTER) (`draw` gives a number in [0, 1)).

    Never shorter than the backoff itself, and never as long as the next one (2 s → [2, 3),
    4 s → [4, 6)), so retries still back off; but exchanges that failed together (a
    network outage) no longer retry in lockstep.
    """
    return delay * (1.0 + JITTER * draw())


@dataclass(frozen=True, slots=True)
class FinishedRun:
    id: int
    exchange_id: int
    state: str  # FAILED or CRASHED
    attempt: int
    retryable: bool | None
    finished_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Retry:
    retry_of: int
    exchange_id: int
    attempt: int
    not_before: dt.datetime


def retries(
    failed: Iterable[FinishedRun],
    max_attempts: int,
    draw: Callable[[], float] = random.random,
) -> list[Retry]:
    """The RETRY runs owed to the newest FAILED/CRASHED runs of their exchanges.

    A CRASHED run is always retryable; a FAILED one only when its error was (network
    trouble, rate limits, an exchange that is down). Never past `max_attempts`. Each
    waits its backoff with jitter (`draw`: the random source, injectable for tests).
    """
    planned = []
    for run in failed:
        if run.attempt >= max_attempts:
            continue
        if run.state == "FAILED" and not run.retryable:
            continue
        wait = dt.timedelta(seconds=jittered(retry_delay(run.attempt), draw))
        planned.append(Retry(run.id, run.exchange_id, run.attempt + 1, run.finished_at + wait))
    return planned


def partitions_to_drop(names: Iterable[str], today: dt.date, retention_days: int) -> list[str]:
    """The ``market_ticks_pYYYYMMDD`` partitions wholly older than the retention window."""
    oldest_kept = today - dt.timedelta(days=retention_days)
    doomed = []
    for name in names:
        try:
            day = dt.datetime.strptime(name.removeprefix("market_ticks_p"), "%Y%m%d").date()
        except ValueError:
            continue
        if name.startswith("market_ticks_p") and day < oldest_kept:
            doomed.append(name)
    return sorted(doomed)
