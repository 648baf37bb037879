"""Candles over GraphQL: `Market.candles`, `Market.candleGaps`, backfill jobs.

A coarse timeframe that is not stored is derived in SQL from the finer stored timeframe
that tiles it (1h from 1m …), the way the exchanges build theirs, so the answer is the
one the exchange would give. The markets of a page load together (`candle_loaders`).
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from typing import Any

import strawberry

from graphql_api.candle_loaders import MAX_CANDLES, CandleRange, candles_loader, gaps_loader
from graphql_api.context import Info
from graphql_api.errors import BadUserInput
from marketmanager.candles.timeframes import (
    TIMEFRAMES,
    TimeframeError,
    check_since,
    from_ms,
    timeframe_ms,
    to_ms,
)

MAX_GAP_SCAN = 100_000  # candles of a range that candleGaps looks through


@strawberry.type(description="One OHLCV candle; `ts` is its open time.")
class Candle:
    ts: dt.datetime
    open: float
    high: float
    low: float
    close: float
    base_volume: float
    quote_volume: float | None = strawberry.field(description="Where the exchange gives it.")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Candle:
        return cls(**row)


@strawberry.enum(description="Why candles are missing.")
class CandleGapKind(enum.Enum):
    NO_TRADES = "NO_TRADES"
    NOT_FETCHED = "NOT_FETCHED"


@strawberry.type(description="Consecutive missing candles of one kind: [start, end).")
class CandleGap:
    start: dt.datetime
    end: dt.datetime
    kind: CandleGapKind = strawberry.field(
        description="NO_TRADES: fetched, and the exchange has none; NOT_FETCHED: never asked."
    )
    candles: int


@strawberry.type(description="A candle backfill job (table candle_backfills).")
class CandleBackfill:
    id: strawberry.ID
    exchange: str
    symbols: list[str] = strawberry.field(description="Empty: the top pairs by USD volume.")
    timeframe: str
    since: dt.datetime
    trigger: str = strawberry.field(description="MANUAL, or SCHEDULE (candleTimeframes).")
    state: str = strawberry.field(description="QUEUED, RUNNING, SUCCEEDED or FAILED.")
    queued_at: dt.datetime
    started_at: dt.datetime | None
    heartbeat_at: dt.datetime | None
    finished_at: dt.datetime | None
    node: str | None
    worker: str | None
    markets_total: int | None
    markets_done: int
    requests: int
    candles_stored: int
    covered_from: dt.datetime | None
    covered_to: dt.datetime | None
    no_trade_gaps: int
    unavailable_before: dt.datetime | None = strawberry.field(
        description="The exchange serves nothing older (kraken keeps its last 720 candles)."
    )
    error: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> CandleBackfill:
        names = cls.__annotations__.keys()
        values = {name: row[name] for name in names if name != "id"}
        return cls(id=strawberry.ID(str(row["id"])), **values)


def check_timeframe(timeframe: str) -> str:
    if timeframe not in TIMEFRAMES:
        raise BadUserInput(
            f"timeframe must be one of {', '.join(TIMEFRAMES)}, got {timeframe!r}",
            field="timeframe",
        )
    return timeframe


def candle_timeframes(value: list[str] | None) -> list[str]:
    """updateExchange's candleTimeframes: known timeframes, each once, finest first."""
    if value is None:
        raise BadUserInput("candleTimeframes cannot be null: [] stops", field="candleTimeframes")
    unknown = [tf for tf in value if tf not in TIMEFRAMES]
    if unknown:
        raise BadUserInput(
            f"unknown timeframe(s) {', '.join(unknown)}; use {', '.join(TIMEFRAMES)}",
            field="candleTimeframes",
        )
    return [tf for tf in TIMEFRAMES if tf in value]


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _range(timeframe: str, start: dt.datetime, end: dt.datetime, most: int) -> int:
    """How many candles [start, end) holds; BAD_USER_INPUT past `most` or when empty."""
    if end <= start:
        raise BadUserInput("`to` must be after `from`", field="to")
    count = math.ceil((to_ms(end) - to_ms(start)) / timeframe_ms(timeframe))
    if count > most:
        raise BadUserInput(
            f"[from, to) holds {count:,} {timeframe} candles; at most {most:,} per call: "
            "narrow the range or take a coarser timeframe",
            field="to",
        )
    return count


async def market_candles(
    info: Info, market_id: int, timeframe: str, start: dt.datetime, end: dt.datetime
) -> list[Candle]:
    wanted = CandleRange(check_timeframe(timeframe), _utc(start), _utc(end))
    _range(wanted.timeframe, wanted.start, wanted.end, MAX_CANDLES)
    rows = await candles_loader(info, wanted).load(market_id)
    return [Candle.from_row(row) for row in rows]


async def market_candle_gaps(
    info: Info, market_id: int, timeframe: str, start: dt.datetime, end: dt.datetime
) -> list[CandleGap]:
    wanted = CandleRange(check_timeframe(timeframe), _utc(start), _utc(end))
    _range(wanted.timeframe, wanted.start, wanted.end, MAX_GAP_SCAN)
    gaps = await gaps_loader(info, wanted).load(market_id)
    return [
        CandleGap(
            start=from_ms(gap.start),
            end=from_ms(gap.end),
            kind=CandleGapKind(gap.kind),
            candles=gap.candles,
        )
        for gap in gaps
    ]


MAX_SYMBOLS = 200


async def queue_backfill(info: Info, exchange_id: int, given: Any) -> CandleBackfill:
    """Queue the `backfill` mutation's job (a `BackfillInput`), or get the same one queued."""
    try:
        since = check_since(_utc(given.since), dt.datetime.now(dt.UTC))
    except TimeframeError as error:
        raise BadUserInput(str(error), field="since") from None
    if not 1 <= given.top <= MAX_SYMBOLS:
        raise BadUserInput(f"top must be from 1 to {MAX_SYMBOLS}", field="top")
    if len(given.symbols) > MAX_SYMBOLS or any(not s or len(s) > 100 for s in given.symbols):
        raise BadUserInput(
            f"at most {MAX_SYMBOLS} symbols, each 1 to 100 characters", field="symbols"
        )
    params = {
        "exchange_id": exchange_id,
        "timeframe": check_timeframe(given.timeframe),
        "since": since,
        "symbols": list(dict.fromkeys(given.symbols)),
        "top": given.top,
        "trigger": "MANUAL",
    }
    row = await info.context.db.fetch_one("queue_backfill", params)
    assert row is not None
    job = await info.context.db.fetch_one("backfill_by_id", {"id": row["id"]})
    assert job is not None
    return CandleBackfill.from_row(job)
