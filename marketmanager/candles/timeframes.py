"""Timeframes ("1m" … "1d"): their length, and the arithmetic of their buckets.

Buckets are aligned on the Unix epoch in UTC, as binance and kraken align theirs (a 4h
candle opens at 00:00, 04:00, … UTC; a 1d candle at 00:00 UTC).
"""

from __future__ import annotations

import datetime as dt
import re

MINUTE_MS = 60_000

TIMEFRAME_MS: dict[str, int] = {
    "1m": MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
    "1d": 1440 * MINUTE_MS,
}
"""Every timeframe that can be stored, finest first."""

TIMEFRAMES: tuple[str, ...] = tuple(TIMEFRAME_MS)

EARLIEST = dt.datetime(2010, 1, 1, tzinfo=dt.UTC)
"""No exchange has candles older than this: an earlier `since` is a mistake."""

_RELATIVE = re.compile(r"^(\d+)([mhdw])$")
_UNIT = {
    "m": dt.timedelta(minutes=1),
    "h": dt.timedelta(hours=1),
    "d": dt.timedelta(days=1),
    "w": dt.timedelta(weeks=1),
}


class TimeframeError(ValueError):
    """A timeframe or a time that cannot be used; the message says what is accepted."""


def timeframe_ms(timeframe: str) -> int:
    try:
        return TIMEFRAME_MS[timeframe]
    except KeyError:
        raise TimeframeError(
            f"unknown timeframe {timeframe!r}; use one of {', '.join(TIMEFRAMES)}"
        ) from None


def floor_ms(ms: int, timeframe: str) -> int:
    """The open time of the bucket of `timeframe` that holds `ms`."""
    step = timeframe_ms(timeframe)
    return ms - ms % step


def ceil_ms(ms: int, timeframe: str) -> int:
    """The first bucket open time at or after `ms`."""
    step = timeframe_ms(timeframe)
    return -(-ms // step) * step


def to_ms(moment: dt.datetime) -> int:
    if moment.tzinfo is None:
        raise TimeframeError(f"{moment.isoformat()} has no time zone")
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def finer_divisors(timeframe: str) -> list[str]:
    """The finer timeframes whose buckets tile `timeframe`'s exactly, coarsest first."""
    step = timeframe_ms(timeframe)
    finer = [tf for tf, ms in TIMEFRAME_MS.items() if ms < step and step % ms == 0]
    return sorted(finer, key=TIMEFRAME_MS.__getitem__, reverse=True)


def parse_since(text: str, now: dt.datetime) -> dt.datetime:
    """``30d``, ``12h``, ``90m``, ``2w`` before `now`, or a date/time (``2025-01-01``,
    ``2025-01-01T12:00``, UTC unless it says otherwise)."""
    text = text.strip()
    relative = _RELATIVE.match(text)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        if amount <= 0:
            raise TimeframeError(f"--since {text!r}: the amount must be positive")
        return now - amount * _UNIT[unit]
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise TimeframeError(
            f"--since {text!r}: give a duration (30d, 12h, 90m, 2w) or a date (2025-01-01)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return check_since(moment, now, f"--since {text!r}")


def check_since(moment: dt.datetime, now: dt.datetime, what: str = "since") -> dt.datetime:
    """`moment` if it is in the past and not before `EARLIEST`."""
    if moment >= now:
        raise TimeframeError(f"{what} is not in the past")
    if moment < EARLIEST:
        raise TimeframeError(f"{what} is before {EARLIEST:%Y-%m-%d}: no exchange has candles then")
    return moment
