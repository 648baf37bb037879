"""What is due: the scheduler's decisions, pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

# First runs of exchanges that never ran are spread over at most this many seconds, so
# that a thousand new exchanges do not all fire on the harvester's first tick.
FIRST_RUN_SPREAD_SECONDS = 30.0
_GOLDEN = 0.6180339887498949


@dataclass(frozen=True, slots=True)
class ExchangeSchedule:
    id: int
    enabled: bool
    interval_seconds: int
    active_run: bool  # a QUEUED or RUNNING run exists
    last_finished_at: dt.datetime | None  # of its newest finished run


def first_run_offset(exchange_id: int, interval_seconds: float) -> float:
    """A stable offset in [0, min(interval, spread)) that scatters first runs evenly."""
    window = min(float(interval_seconds), FIRST_RUN_SPREAD_SECONDS)
    return ((exchange_id * _GOLDEN) % 1.0) * window


def due(
    exchanges: Iterable[ExchangeSchedule], now: dt.datetime, scheduler_started_at: dt.datetime
) -> list[int]:
    """Ids of the exchanges to enqueue a SCHEDULE run for at `now`.

    Due: enabled, no active run, and its last run finished at least `interval_seconds`
    ago; one that never ran is due at the scheduler's start plus its spread offset.
    """
    chosen = []
    for exchange in exchanges:
        if not exchange.enabled or exchange.active_run:
            continue
        if exchange.last_finished_at is None:
            offset = first_run_offset(exchange.id, exchange.interval_seconds)
            due_at = scheduler_started_at + dt.timedelta(seconds=offset)
        else:
            due_at = exchange.last_finished_at + dt.timedelta(seconds=exchange.interval_seconds)
        if due_at <= now:
            chosen.append(exchange.id)
    return chosen
