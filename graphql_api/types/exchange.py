"""Exchange: a ccxt exchange being harvested, with its status and nested listings."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry

from graphql_api import quality
from graphql_api.context import Info
from graphql_api.paging import pages
from graphql_api.paging.cursors import DEFAULT_PAGE_SIZE
from graphql_api.paging.listings import MARKETS, RUNS
from graphql_api.types.connection import Connection
from graphql_api.types.enums import ExchangeState, MarketOrder, RunState
from graphql_api.types.market import PROJECTION, Market, MarketConnection, number
from graphql_api.types.run import HarvestRun, RunConnection


@strawberry.type(description="How an exchange's harvesting goes, derived from its newest runs.")
class ExchangeStatus:
    state: ExchangeState
    last_run: dt.datetime | None = strawberry.field(
        description="When the last finished run (of any outcome) finished."
    )
    last_run_id: strawberry.ID | None = strawberry.field(description="The newest run's id.")
    time_started: dt.datetime | None = strawberry.field(
        description="When the newest run started (null while it is queued)."
    )
    last_error: str | None = strawberry.field(
        description="The error of the last finished run, when it FAILED or CRASHED."
    )


def _snapshot(row: dict[str, Any] | None) -> quality.RunSnapshot | None:
    return None if row is None else quality.RunSnapshot(row["state"], row["heartbeat_at"])


@strawberry.input(description="Every given condition must hold.")
class ExchangeFilter:
    enabled: bool | None = None
    names: list[str] | None = strawberry.field(default=None, description="Any of these names.")
    search: str | None = strawberry.field(default=None, description="Part of the name.")


@strawberry.type(description="An exchange to harvest (a ccxt id).")
class Exchange:
    id: strawberry.ID
    name: str = strawberry.field(description="The ccxt exchange id, e.g. binance.")
    enabled: bool
    logo: str | None
    url: str | None
    api_url: str | None = strawberry.field(
        description="Where ccxt's requests go instead of the exchange (a simulator, a proxy)."
    )
    volume_usd: float | None
    top_pair: str | None
    top_pair_volume_usd: float | None
    unpriced_markets: int | None = strawberry.field(
        description="Markets of the last successful run whose volume had no USD price."
    )
    interval_seconds: int
    candle_timeframes: list[str] = strawberry.field(
        description="Timeframes whose candles are kept current (a fetch after each closes)."
    )
    created_at: dt.datetime
    updated_at: dt.datetime
    last_update_at: dt.datetime | None = strawberry.field(
        description="When the last successful harvest finished."
    )
    row_id: strawberry.Private[int]
    row_enabled: strawberry.Private[bool]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Exchange:
        return cls(
            id=strawberry.ID(str(row["id"])),
            name=row["name"],
            enabled=row["enabled"],
            logo=row["logo"],
            url=row["url"],
            api_url=row["api_url"],
            volume_usd=number(row["volume_usd"]),
            top_pair=row["top_pair"],
            top_pair_volume_usd=number(row["top_pair_volume_usd"]),
            unpriced_markets=row["unpriced_markets"],
            interval_seconds=row["interval_seconds"],
            candle_timeframes=row["candle_timeframes"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            last_update_at=row["last_update_at"],
            row_id=row["id"],
            row_enabled=row["enabled"],
        )

    @strawberry.field
    async def status(self, info: Info) -> ExchangeStatus:
        summary = await info.context.loaders.run_summary.load(self.row_id)
        newest, finished = summary.newest, summary.finished
        state = quality.exchange_state(
            enabled=self.row_enabled,
            newest=_snapshot(newest),
            last_finished=_snapshot(finished),
            now=summary.db_now or info.context.now,
            stale_after=info.context.settings.stale_after,
        )
        failed = finished is not None and finished["state"] in quality.FAILED_STATES
        return ExchangeStatus(
            state=state,
            last_run=finished["finished_at"] if finished else None,
            last_run_id=strawberry.ID(str(newest["run_id"])) if newest else None,
            time_started=newest["started_at"] if newest else None,
            last_error=finished["error"] if failed and finished else None,
        )

    @strawberry.field(description="This exchange's markets (same arguments as `markets`).")
    async def markets(
        self,
        info: Info,
        base: str | None = None,
        quote: str | None = None,
        search: str | None = None,
        order_by: MarketOrder | None = MarketOrder.VOLUME_USD_DESC,
        first: int | None = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> MarketConnection:
        filters = {"base": base, "quote": quote, "search": pages.search_pattern(search)}
        columns = pages.selected_columns(info, PROJECTION)
        request = pages.page_request(MARKETS, order_by, first, after, filters, columns)
        return await pages.nested(
            info, MARKETS, self.row_id, request, MarketConnection, Market.from_row
        )

    @strawberry.field(description="This exchange's runs, newest first.")
    async def runs(
        self,
        info: Info,
        state: RunState | None = None,
        first: int | None = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> RunConnection:
        filters = {"state": state.value if state else None}
        request = pages.page_request(RUNS, "NEWEST_FIRST", first, after, filters)
        return await pages.nested(
            info, RUNS, self.row_id, request, RunConnection, HarvestRun.from_row
        )


@strawberry.type(description="A page of exchanges.")
class ExchangeConnection(Connection[Exchange]):
    pass
