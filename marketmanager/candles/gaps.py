"""Which candles of a range are missing, and why: "no trades" or "not fetched".

A range is *covered* once a backfill asked the exchange for it: every candle the exchange
had there is stored, so a missing candle inside coverage means the exchange has none
(no trades in that bucket). A missing candle outside coverage was never fetched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from marketmanager.candles.timeframes import ceil_ms, timeframe_ms

GapKind = Literal["NO_TRADES", "NOT_FETCHED"]


@dataclass(frozen=True, slots=True)
class Gap:
    start: int  # open time of the first missing candle, ms
    end: int  # open time of the first candle after the gap, ms (exclusive)
    kind: GapKind
    candles: int  # how many candles are missing


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Half-open [start, end) ranges, overlapping or touching ones merged, in order."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(r for r in ranges if r[1] > r[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _covered(ms: int, coverage: Sequence[tuple[int, int]]) -> bool:
    return any(start <= ms < end for start, end in coverage)


def find_gaps(
    timeframe: str,
    start: int,
    end: int,
    stored: Iterable[int],
    coverage: Iterable[tuple[int, int]],
) -> list[Gap]:
    """The gaps of the buckets opening in [start, end) given the open times `stored` and
    the `coverage` ranges; consecutive missing buckets of one kind make one gap."""
    step = timeframe_ms(timeframe)
    present = set(stored)
    covered = merge_ranges(coverage)
    gaps: list[Gap] = []
    ms = ceil_ms(start, timeframe)
    while ms < end:
        if ms in present:
            ms += step
            continue
        kind: GapKind = "NO_TRADES" if _covered(ms, covered) else "NOT_FETCHED"
        if gaps and gaps[-1].end == ms and gaps[-1].kind == kind:
            last = gaps[-1]
            gaps[-1] = Gap(last.start, ms + step, kind, last.candles + 1)
        else:
            gaps.append(Gap(ms, ms + step, kind, 1))
        ms += step
    return gaps
