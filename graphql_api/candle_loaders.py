"""`Market.candles` and `Market.candleGaps` of many markets at once.

Per request, one DataLoader per (field, timeframe, from, to), keyed by market id: a page
of markets asking for the same range loads in a bounded number of statements, whatever
the number of markets. Candles: the stored ones of every market in one statement; for
the markets without any, which finer timeframes they store (one), then the derived
candles of each finer timeframe chosen (one per timeframe, at most five). Gaps: the
stored open times and the fetched ranges (two).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from graphql_api.context import Info
from graphql_api.database import Database, Row
from marketmanager.candles.gaps import Gap, find_gaps
from marketmanager.candles.timeframes import (
    ceil_ms,
    finer_divisors,
    from_ms,
    timeframe_ms,
    to_ms,
)

MAX_CANDLES = 5_000

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CandleRange:
    """What a candle field asks for: a timeframe and [start, end), both bounds in UTC."""

    timeframe: str
    start: dt.datetime
    end: dt.datetime

    def params(self, market_ids: list[int]) -> dict[str, Any]:
        return {
            "market_ids": market_ids,
            "timeframe": self.timeframe,
            "from_ts": self.start,
            "to_ts": self.end,
            "limit": MAX_CANDLES,
        }


def best_source(stored: dict[str, int], timeframe: str) -> str | None:
    """The finer stored timeframe to derive `timeframe` from: the one that spans the most
    time in the range (candles × length), the coarser on a tie (fewer rows to read)."""
    finer = [tf for tf in finer_divisors(timeframe) if stored.get(tf)]
    return max(finer, key=lambda tf: stored[tf] * timeframe_ms(tf), default=None)


def _by_market(rows: Iterable[Row]) -> dict[int, list[Row]]:
    """Rows grouped by their `market_id` (taken out of each row), in the rows' order."""
    grouped: dict[int, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[row.pop("market_id")].append(row)
    return grouped


async def load_candles(db: Database, wanted: CandleRange, market_ids: list[int]) -> list[list[Row]]:
    """Each market's candles of the range: stored ones, else derived from a finer
    stored timeframe the way the exchanges build theirs."""
    found = _by_market(await db.fetch_all("candles_of_markets", wanted.params(market_ids)))
    bare = [market_id for market_id in market_ids if market_id not in found]
    if bare:
        stored: dict[int, dict[str, int]] = defaultdict(dict)
        counts = await db.fetch_all("candle_timeframes_stored_of_markets", wanted.params(bare))
        for row in counts:
            stored[row["market_id"]][row["timeframe"]] = row["candles"]
        sources: dict[str, list[int]] = defaultdict(list)
        for market_id in bare:
            source = best_source(stored[market_id], wanted.timeframe)
            if source is not None:
                sources[source].append(market_id)
        # The buckets opening in [from, to) are made of the finer candles of
        # [ceil(from), ceil(to)): never a bucket cut in two by an unaligned bound.
        whole = {
            "from_ts": from_ms(ceil_ms(to_ms(wanted.start), wanted.timeframe)),
            "to_ts": from_ms(ceil_ms(to_ms(wanted.end), wanted.timeframe)),
            "bucket": dt.timedelta(milliseconds=timeframe_ms(wanted.timeframe)),
        }
        for source, ids in sources.items():
            params = {**wanted.params(ids), **whole, "timeframe": source}
            found.update(_by_market(await db.fetch_all("candles_derived_of_markets", params)))
    return [found.get(market_id, []) for market_id in market_ids]


async def load_gaps(db: Database, wanted: CandleRange, market_ids: list[int]) -> list[list[Gap]]:
    """Each market's missing candles of the range: no trades, or never fetched."""
    params = wanted.params(market_ids)
    times = _by_market(await db.fetch_all("candle_times_of_markets", params))
    coverage = _by_market(await db.fetch_all("candle_coverage_of_markets", params))
    return [
        find_gaps(
            wanted.timeframe,
            to_ms(wanted.start),
            to_ms(wanted.end),
            (to_ms(row["ts"]) for row in times.get(market_id, [])),
            ((to_ms(r["from_ts"]), to_ms(r["to_ts"])) for r in coverage.get(market_id, [])),
        )
        for market_id in market_ids
    ]


def candles_loader(info: Info, wanted: CandleRange) -> DataLoader[int, list[Row]]:
    """The request's loader of this range's candles, by market id."""
    return _loader(info, "candles", wanted, load_candles)


def gaps_loader(info: Info, wanted: CandleRange) -> DataLoader[int, list[Gap]]:
    """The request's loader of this range's gaps, by market id."""
    return _loader(info, "candle_gaps", wanted, load_gaps)


def _loader(
    info: Info,
    field: str,
    wanted: CandleRange,
    load: Callable[[Database, CandleRange, list[int]], Awaitable[list[T]]],
) -> DataLoader[int, T]:
    memo = info.context.memo
    key = (field, wanted)
    if key not in memo:
        db = info.context.db

        async def batch(market_ids: list[int]) -> list[T]:
            return await load(db, wanted, market_ids)

        memo[key] = DataLoader(batch)
    loader: DataLoader[int, T] = memo[key]
    return loader
