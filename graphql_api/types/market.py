"""Market: one pair of one exchange, as the last successful harvest left it."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from graphql_api import pair_view, quality
from graphql_api.context import Info
from graphql_api.projection import Projection, plain_columns
from graphql_api.types.candles import Candle, CandleGap, market_candle_gaps, market_candles
from graphql_api.types.connection import Connection
from graphql_api.types.history import HistoryPoint, market_history

if TYPE_CHECKING:
    from graphql_api.types.exchange import Exchange


def number(value: Any) -> float | None:
    return None if value is None else float(value)


@strawberry.type(
    description="A market (pair) of an exchange, as its last successful harvest saw it."
)
class Market:
    id: strawberry.ID
    symbol: str = strawberry.field(description='ccxt\'s unified symbol, e.g. "BTC/USDT".')
    base: str
    quote: str
    type: str = strawberry.field(description="spot, swap, future, option, …")
    active: bool
    last: float | None
    bid: float | None
    ask: float | None
    base_volume: float | None
    quote_volume: float | None
    volume_usd: float | None = strawberry.field(
        description="24 h quote volume in USD; null when the quote cannot be priced."
    )
    change_pct: float | None
    exchange_ts: dt.datetime | None = strawberry.field(
        description="The exchange's own timestamp of the ticker."
    )
    updated_at: dt.datetime
    exchange_id: strawberry.Private[int]
    history: list[HistoryPoint] = strawberry.field(
        resolver=market_history,
        description="Ticks bucketed by `everySeconds` from `from` to `to` (at most 2,000).",
    )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Market:
        """The market over its row, whose columns are its attributes: the API's pool loads
        numeric as float (`graphql_api.database.configure`), and the id stays an int, which
        the ID scalar serializes as text. A page's rows carry the columns of the fields
        asked for (`PROJECTION`). Pages of markets are built by the hundred: this is ten
        times cheaper than converting column by column."""
        market = cls.__new__(cls)
        market.__dict__ = row
        return market

    @strawberry.field
    async def exchange(
        self, info: Info
    ) -> Annotated[Exchange, strawberry.lazy("graphql_api.types.exchange")]:
        from graphql_api.types.exchange import Exchange

        row = await info.context.loaders.exchange_by_id.load(self.exchange_id)
        assert row is not None, "markets cascade with their exchange"
        return Exchange.from_row(row)

    @strawberry.field(description="(ask − bid) / mid × 100; null without a positive bid and ask.")
    def spread_pct(self) -> float | None:
        return quality.spread_pct(self.bid, self.ask)

    @strawberry.field(
        description=(
            "The spread, or the distance of `last` outside [bid, ask] relative to the nearer "
            "bound, is above MM_ANOMALY_PCT percent; or `last` is more than MM_ANOMALY_PCT "
            "percent from the median last of the same pair on the other enabled exchanges."
        )
    )
    async def anomalous(self, info: Info) -> bool:
        threshold = info.context.settings.anomaly_pct
        if quality.is_anomalous(self.last, self.bid, self.ask, threshold_pct=threshold):
            return True
        others = await pair_view.pair_lasts(info).load(self.symbol)
        return pair_view.off_the_pair(self.last, self.exchange_id, others, threshold)

    @strawberry.field(description="Inactive, or not updated for MM_STALE_MARKET_HOURS.")
    def stale(self, info: Info) -> bool:
        return quality.is_stale(
            active=self.active,
            updated_at=self.updated_at,
            now=info.context.now,
            stale_hours=info.context.settings.stale_market_hours,
        )

    @strawberry.field(
        description=(
            "OHLCV candles opening in [from, to), oldest first, at most 5,000. A timeframe "
            "that is not stored is derived from a finer stored one (1h from 1m …)."
        )
    )
    async def candles(
        self,
        info: Info,
        timeframe: str,
        from_: Annotated[dt.datetime, strawberry.argument(name="from")],
        to: dt.datetime,
    ) -> list[Candle]:
        return await market_candles(info, int(self.id), timeframe, from_, to)

    @strawberry.field(
        description=(
            "Missing candles of a stored timeframe in [from, to): no trades, or never fetched."
        )
    )
    async def candle_gaps(
        self,
        info: Info,
        timeframe: str,
        from_: Annotated[dt.datetime, strawberry.argument(name="from")],
        to: dt.datetime,
    ) -> list[CandleGap]:
        return await market_candle_gaps(info, int(self.id), timeframe, from_, to)


# The columns behind each field, so that a page loads only those of the fields asked for
# (`graphql_api.projection`); a field missing here makes pages load every column.
PROJECTION = Projection(
    always=("exchange_id", "id"),
    fields=plain_columns(
        Market,
        exchange=("exchange_id",),
        spreadPct=("ask", "bid"),
        anomalous=("ask", "bid", "last", "symbol"),
        stale=("active", "updated_at"),
        candles=(),
        candleGaps=(),
        history=(),
    ),
)


@strawberry.type(description="A page of markets (see the Connection types).")
class MarketConnection(Connection[Market]):
    pass
