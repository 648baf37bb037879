"""Pure judgements the API derives from rows: an exchange's state, a market's flags.

No I/O and no clock: callers pass ``now`` (and the thresholds from the settings).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum

ACTIVE_STATES = frozenset({"QUEUED", "RUNNING"})
FAILED_STATES = frozenset({"FAILED", "CRASHED"})


class ExchangeState(Enum):
    DISABLED = "DISABLED"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    STALE = "STALE"
    FAILING = "FAILING"
    IDLE = "IDLE"


@dataclass(frozen=True, slots=True)
class RunSnapshot:
    """The few columns of a harvest run that the state depends on."""

    state: str
    heartbeat_at: dt.datetime | None = None


def exchange_state(
    *,
    enabled: bool,
    newest: RunSnapshot | None,
    last_finished: RunSnapshot | None,
    now: dt.datetime,
    stale_after: float,
) -> ExchangeState:
    """The state of an exchange for the API, from its newest and last finished runs.

    An active run wins, because it tells what is happening now, even on an exchange that
    was disabled meanwhile: RUNNING, or STALE when its heartbeat is older than
    `stale_after` seconds (the poller will mark it CRASHED), or QUEUED. Otherwise a
    disabled exchange is DISABLED, one whose last finished run FAILED or CRASHED is
    FAILING, and any other (never run, or last run SUCCEEDED) is IDLE.
    """
    if newest is not None and newest.state == "RUNNING":
        beat = newest.heartbeat_at
        late = beat is None or (now - beat).total_seconds() > stale_after
        return ExchangeState.STALE if late else ExchangeState.RUNNING
    if newest is not None and newest.state == "QUEUED":
        return ExchangeState.QUEUED
    if not enabled:
        return ExchangeState.DISABLED
    if last_finished is not None and last_finished.state in FAILED_STATES:
        return ExchangeState.FAILING
    return ExchangeState.IDLE


def spread_pct(bid: float | None, ask: float | None) -> float | None:
    """(ask − bid) / mid × 100 with mid = (ask + bid) / 2; None unless both are > 0.

    Negative when the book is crossed (bid above ask).
    """
    if bid is None or ask is None or bid <= 0 or ask <= 0:
        return None
    return (ask - bid) / ((ask + bid) / 2) * 100


def is_anomalous(
    last: float | None, bid: float | None, ask: float | None, *, threshold_pct: float
) -> bool:
    """True when the ticker does not look like a sane book, by more than `threshold_pct`:

    - the spread |ask − bid| / mid × 100 exceeds it (a wide or crossed book), or
    - the last price is outside [min(bid, ask), max(bid, ask)] by more than it, measured
      relative to the nearer bound (last < low × (1 − t/100) or last > high × (1 + t/100)).

    A ticker missing bid or ask (or with non-positive ones) cannot be judged: False.
    """
    spread = spread_pct(bid, ask)
    if spread is None:
        return False
    assert bid is not None and ask is not None
    if abs(spread) > threshold_pct:
        return True
    if last is None or last <= 0:
        return False
    low, high = min(bid, ask), max(bid, ask)
    factor = threshold_pct / 100
    return last < low * (1 - factor) or last > high * (1 + factor)


def is_stale(
    *, active: bool, updated_at: dt.datetime, now: dt.datetime, stale_hours: float
) -> bool:
    """An inactive market, or one not updated for more than `stale_hours`."""
    return not active or (now - updated_at).total_seconds() > stale_hours * 3600
