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


def due_at(exchange: ExchangeSchedule, scheduler_started_at: dt.datetime) -> dt.datetime:
    """When `exchange` is next due: `interval_seconds` after its last run finished; one
    that never ran at the scheduler's start plus its spread offset."""
    if exchange.last_finished_at is None:
        offset = first_run_offset(exchange.id, exchange.interval_seconds)
        return scheduler_started_at + dt.timedelta(seconds=offset)
    return exchange.last_finished_at + dt.timedelta(seconds=exchange.interval_seconds)


def _waiting(exchanges: Iterable[ExchangeSchedule]) -> Iterable[ExchangeSchedule]:
    return (exchange for exchange in exchanges if exchange.enabled and not exchange.active_run)


def due(
    exchanges: Iterable[ExchangeSchedule], now: dt.datetime, scheduler_started_at: dt.datetime
) -> list[int]:
    """Ids of the exchanges to enqueue a SCHEDULE run for at `now`: enabled, no active
    run, and `due_at` reached."""
    return [
        exchange.id
        for exchange in _waiting(exchanges)
        if due_at(exchange, scheduler_started_at) <= now
    ]


def seconds_to_next_due(
    exchanges: Iterable[ExchangeSchedule],
    now: dt.datetime,
    scheduler_started_at: dt.datetime,
    longest: float,
) -> float:
    """How long the scheduler may sleep after queueing what was due at `now`: until the
    next exchange without an active run comes due, and at most `longest` seconds (an
    exchange with an active run comes due only after that run ends, which wakes it)."""
    upcoming = [
        (due_at(exchange, scheduler_started_at) - now).total_seconds()
        for exchange in _waiting(exchanges)
    ]
    return min([longest, *(seconds for seconds in upcoming if seconds > 0)])
