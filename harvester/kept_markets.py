"""Which of a worker's ccxt instances, each holding its exchange's markets, to let go (pure).

A 5,000-market exchange costs a worker 40-70 MB for as long as it keeps its ccxt
instance. A worker keeps the instances of its home exchanges, which it harvests run after
run; it lets go of one whose exchange was disabled or deleted, of one it would have to
reload anyway at its next run (unused for MM_MARKETS_REFRESH_SECONDS), and of another
worker's exchange (taken over while that worker was away or full) once its own worker
harvests it again: unused here for two of its intervals (at least STRANGER_KEEP seconds).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

STRANGER_KEEP = 30.0  # seconds an unused instance of another worker's exchange is kept at least


@dataclass(frozen=True, slots=True)
class Kept:
    """A kept ccxt instance: its exchange, whether it is this worker's, and since when it
    is unused (monotonic seconds; None while a run uses it)."""

    exchange_id: int
    home: bool
    unused_since: float | None


def to_release(
    kept: Mapping[str, Kept], intervals: Mapping[int, float], now: float, refresh: float
) -> dict[str, str]:
    """The instances to let go, by exchange name, with why; `intervals` holds the enabled
    exchanges' interval seconds by id (an exchange missing from it was disabled or deleted)."""
    released = {}
    for name, instance in kept.items():
        if instance.unused_since is None:
            continue
        unused = now - instance.unused_since
        interval = intervals.get(instance.exchange_id)
        if interval is None:
            released[name] = "disabled or deleted"
        elif unused >= refresh:
            released[name] = "unused until its markets are old"
        elif not instance.home and unused >= max(STRANGER_KEEP, 2 * interval):
            released[name] = "its home worker harvests it"
    return released
