"""Keeping candles current, pure: which timeframes of which exchanges need a small fetch.

An exchange's ``candle_timeframes`` are kept current by a SCHEDULE backfill queued once a
candle of that timeframe closed after the end of what was fetched (for the market that
lags most), unless one of that timeframe is queued or running already. A timeframe never
fetched starts with the last day (the exchange's top pairs). A long MANUAL backfill gives
way to them every `SLICE_SECONDS`. After a failed fetch the
next waits `RETRY_AFTER` (at most one candle), so a exchange that is down is not asked
every tick.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from marketmanager.candles.timeframes import floor_ms, timeframe_ms, to_ms

FIRST_FETCH = dt.timedelta(days=1)
SLICE_SECONDS = 30.0  # a MANUAL backfill gives way to waiting keep-current fetches after this
RETRY_AFTER = dt.timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class KeptTimeframe:
    exchange_id: int
    timeframe: str
    symbols: Sequence[str]  # the markets fetched so far (none: the top pairs)
    resume_from: dt.datetime | None  # the earliest end of their fetched ranges
    pending: bool  # a job of this timeframe is queued or running
    failed_at: dt.datetime | None = None  # when its last SCHEDULE job FAILED


@dataclass(frozen=True, slots=True)
class KeepCurrent:
    exchange_id: int
    timeframe: str
    symbols: list[str]
    since: dt.datetime


def due_fetches(kept: Iterable[KeptTimeframe], now: dt.datetime) -> list[KeepCurrent]:
    due = []
    for item in kept:
        if item.pending:
            continue
        wait = min(RETRY_AFTER, dt.timedelta(milliseconds=timeframe_ms(item.timeframe)))
        if item.failed_at is not None and now - item.failed_at < wait:
            continue
        if item.resume_from is None:
            due.append(KeepCurrent(item.exchange_id, item.timeframe, [], now - FIRST_FETCH))
            continue
        newest_closed = floor_ms(to_ms(now), item.timeframe)
        if newest_closed > to_ms(item.resume_from):
            due.append(
                KeepCurrent(item.exchange_id, item.timeframe, list(item.symbols), item.resume_from)
            )
    return due


def gives_way(trigger: str, kept_waiting: bool, ran_seconds: float, slice_seconds: float) -> bool:
    """Whether a running job should go back to the queue (it resumes right after) so that
    the keep-current fetches waiting behind it run first: a MANUAL job, past its slice."""
    return trigger == "MANUAL" and kept_waiting and ran_seconds >= slice_seconds
