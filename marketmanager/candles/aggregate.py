"""Candles, and coarser candles made of finer ones the way exchanges make theirs.

A coarse candle is its bucket's finer candles taken together: the open of the first, the
highest high, the lowest low, the close of the last and the summed volumes. A bucket
without any finer candle (no trades) has no coarse candle either.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import NamedTuple

from marketmanager.candles.timeframes import floor_ms


class Candle(NamedTuple):
    ts: int  # open time, ms since the epoch (UTC)
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    base_volume: Decimal
    quote_volume: Decimal | None = None  # where the exchange gives it


def aggregate(candles: Iterable[Candle], timeframe: str) -> list[Candle]:
    """`candles` (one timeframe, in time order) as candles of the coarser `timeframe`."""
    merged: list[Candle] = []
    for candle in candles:
        bucket = floor_ms(candle.ts, timeframe)
        if merged and merged[-1].ts == bucket:
            last = merged[-1]
            quote = (
                None
                if last.quote_volume is None or candle.quote_volume is None
                else last.quote_volume + candle.quote_volume
            )
            merged[-1] = Candle(
                bucket,
                last.open,
                max(last.high, candle.high),
                min(last.low, candle.low),
                candle.close,
                last.base_volume + candle.base_volume,
                quote,
            )
        else:
            merged.append(candle._replace(ts=bucket))
    return merged
