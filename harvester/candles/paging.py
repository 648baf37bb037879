"""The paging of a backfill, pure: where to start, what a page covered, where to go next.

A page asks the exchange for the candles opening at or after `cursor`; the fetch of a
market covers [start, until), `until` being the open time of the candle still open when
the job started (it is never stored: it is not final). Kraken serves only its last 720
candles of each timeframe: a start older than that is moved into the window and the part
before recorded as unavailable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from marketmanager.candles.aggregate import Candle
from marketmanager.candles.gaps import find_gaps
from marketmanager.candles.timeframes import ceil_ms, floor_ms, timeframe_ms

HISTORY_WINDOW: dict[str, int] = {"kraken": 720}
"""Exchanges that keep only their last N candles of a timeframe."""

DEFAULT_PAGE_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Span:
    start: int  # first open time to fetch (ms)
    until: int  # first open time not to fetch: the candle still open
    unavailable_before: int | None  # the exchange has nothing older than this


def plan_span(exchange: str, timeframe: str, since: int, resume_at: int | None, now: int) -> Span:
    """What to fetch of one market: from `since` (or where a previous fetch of that range
    ended, `resume_at`) up to the last closed candle at `now`."""
    until = floor_ms(now, timeframe)
    start = ceil_ms(since, timeframe)
    if resume_at is not None:
        start = max(start, resume_at)
    unavailable = None
    window = HISTORY_WINDOW.get(exchange)
    if window is not None:
        # One candle of margin: the window moves on while the request travels.
        oldest = until - (window - 2) * timeframe_ms(timeframe)
        if start < oldest:
            start, unavailable = oldest, oldest
    return Span(min(start, until), until, unavailable)


@dataclass(frozen=True, slots=True)
class Page:
    candles: list[Candle]  # the closed candles of [cursor, next_cursor)
    covered: tuple[int, int]  # [cursor, next_cursor): fetched, whatever is missing there
    no_trade_gaps: int  # runs of missing candles inside `covered`
    done: bool  # nothing more to ask for


def read_page(
    timeframe: str, cursor: int, until: int, received: Sequence[Candle], limit: int
) -> Page:
    """What the answer `received` to a request for `limit` candles from `cursor` covered.

    A full answer covers up to its newest candle (the next page starts after it); a
    shorter one means the exchange has nothing more: it covers up to `until`."""
    step = timeframe_ms(timeframe)
    kept = sorted(
        {c.ts: c for c in received if cursor <= c.ts < until}.values(), key=lambda c: c.ts
    )
    full = len(received) >= limit and bool(kept)
    next_cursor = kept[-1].ts + step if full else until
    next_cursor = min(next_cursor, until)
    gaps = find_gaps(timeframe, cursor, next_cursor, (c.ts for c in kept), [(cursor, next_cursor)])
    return Page(kept, (cursor, next_cursor), len(gaps), next_cursor >= until)
