"""Market.history: a market's ticks bucketed with ``date_bin`` (issue 10).

Buckets start at `from` and are `everySeconds` wide; a bucket without a tick is absent.
At most MAX_POINTS buckets per call. The statement reads the ticks of one market between
two instants: PostgreSQL answers it from the (market_id, ts) index of the day partitions
the range covers, and no others.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any

import strawberry

from graphql_api.context import Info
from graphql_api.errors import BadUserInput

MAX_POINTS = 2000


@strawberry.type(description="One bucket of a market's history; ticks are harvests.")
class HistoryPoint:
    time: dt.datetime = strawberry.field(description="The start of the bucket.")
    open: float | None = strawberry.field(description="The first `last` of the bucket.")
    high: float | None
    low: float | None
    close: float | None = strawberry.field(description="The final `last` of the bucket.")
    bid: float | None = strawberry.field(description="The mean bid of the bucket.")
    ask: float | None = strawberry.field(description="The mean ask of the bucket.")
    base_volume: float | None = strawberry.field(description="At the bucket's final tick.")
    quote_volume: float | None = strawberry.field(description="At the bucket's final tick.")
    ticks: int = strawberry.field(description="How many ticks the bucket holds.")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> HistoryPoint:
        return cls(**row)


def buckets_between(start: dt.datetime, end: dt.datetime, every_seconds: int) -> int:
    """How many buckets [start, end) spans; BAD_USER_INPUT for a range that is not one."""
    if start.tzinfo is None or end.tzinfo is None:
        raise BadUserInput("from and to need a time zone (e.g. 2026-01-02T00:00:00Z)", field="from")
    if end <= start:
        raise BadUserInput("`to` must be after `from`", field="to")
    if every_seconds < 1:
        raise BadUserInput("everySeconds must be at least 1", field="everySeconds")
    count = math.ceil((end - start).total_seconds() / every_seconds)
    if count > MAX_POINTS:
        raise BadUserInput(
            f"{count} buckets asked for; at most {MAX_POINTS}: widen everySeconds or narrow "
            "the range",
            field="everySeconds",
        )
    return count


async def market_history(
    root: Any,
    info: Info,
    from_: Annotated[dt.datetime, strawberry.argument(name="from")],
    to: dt.datetime,
    every_seconds: int,
) -> list[HistoryPoint]:
    buckets_between(from_, to, every_seconds)
    params = {"market_id": root.id, "from": from_, "to": to, "every": every_seconds}
    rows = await info.context.db.fetch_all("api_market_history", params)
    return [HistoryPoint.from_row(row) for row in rows]
