"""The Query root: exchanges, markets, runs, the harvester's status, ccxt's exchange ids."""

from __future__ import annotations

import asyncio
from typing import Annotated

import strawberry

from graphql_api.context import Info
from graphql_api.errors import NotFound
from graphql_api.paging import pages
from graphql_api.paging.cursors import DEFAULT_PAGE_SIZE, check_first
from graphql_api.paging.listings import EXCHANGES, MARKETS, RUNS
from graphql_api.types.asset import Asset, find_asset
from graphql_api.types.candles import CandleBackfill
from graphql_api.types.enums import ExchangeOrder, MarketOrder, RunState
from graphql_api.types.exchange import Exchange, ExchangeConnection, ExchangeFilter
from graphql_api.types.market import PROJECTION, Market, MarketConnection
from graphql_api.types.run import HarvestRun, RunConnection
from graphql_api.types.status import HarvesterNode, HarvesterStatus
from marketmanager.exchange_catalogue import supported_exchanges


async def exchange_id(info: Info, name: str | None) -> int | None:
    """The id of exchange `name` (None for None); NOT_FOUND if there is none."""
    if name is None:
        return None
    row = await info.context.loaders.exchange_by_name.load(name)
    if row is None:
        raise NotFound(f"no exchange named {name!r}", field="exchange")
    return int(row["id"])


@strawberry.type
class Query:
    @strawberry.field(description="The exchanges being harvested.")
    async def exchanges(
        self,
        info: Info,
        filter: ExchangeFilter | None = None,
        order_by: ExchangeOrder | None = ExchangeOrder.NAME_ASC,
        first: int | None = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> ExchangeConnection:
        given = filter or ExchangeFilter()
        filters = {
            "enabled": given.enabled,
            "names": tuple(given.names) if given.names is not None else None,
            "search": pages.search_pattern(given.search),
        }
        request = pages.page_request(EXCHANGES, order_by, first, after, filters)
        loaders = info.context.loaders
        return await pages.top_level(
            info,
            EXCHANGES,
            request,
            ExchangeConnection,
            Exchange.from_row,
            prime=loaders.prime_exchanges,
        )

    @strawberry.field(description="One exchange by its ccxt id; null if it is not harvested.")
    async def exchange(self, info: Info, name: str) -> Exchange | None:
        row = await info.context.loaders.exchange_by_name.load(name)
        return None if row is None else Exchange.from_row(row)

    @strawberry.field(description="Markets across exchanges; `exchange` must exist.")
    async def markets(
        self,
        info: Info,
        exchange: str | None = None,
        base: str | None = None,
        quote: str | None = None,
        search: Annotated[
            str | None, strawberry.argument(description="Part of the symbol, case-insensitive.")
        ] = None,
        order_by: MarketOrder | None = MarketOrder.VOLUME_USD_DESC,
        first: int | None = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> MarketConnection:
        filters = {
            "exchange_id": await exchange_id(info, exchange),
            "base": base,
            "quote": quote,
            "search": pages.search_pattern(search),
        }
        columns = pages.selected_columns(info, PROJECTION)
        request = pages.page_request(MARKETS, order_by, first, after, filters, columns)
        return await pages.top_level(info, MARKETS, request, MarketConnection, Market.from_row)

    @strawberry.field(description="One market by exchange and symbol; null if unknown.")
    async def market(self, info: Info, exchange: str, symbol: str) -> Market | None:
        params = {"exchange": exchange, "symbol": symbol}
        row = await info.context.db.fetch_one("api_market_by_symbol", params)
        return None if row is None else Market.from_row(row)

    @strawberry.field(description="Harvest runs, newest first; `exchange` must exist.")
    async def runs(
        self,
        info: Info,
        exchange: str | None = None,
        state: RunState | None = None,
        first: int | None = DEFAULT_PAGE_SIZE,
        after: str | None = None,
    ) -> RunConnection:
        filters = {
            "exchange_id": await exchange_id(info, exchange),
            "state": state.value if state else None,
        }
        request = pages.page_request(RUNS, "NEWEST_FIRST", first, after, filters)
        return await pages.top_level(info, RUNS, request, RunConnection, HarvestRun.from_row)

    @strawberry.field(description="The harvester's nodes and queue.")
    async def status(self, info: Info) -> HarvesterStatus:
        db = info.context.db
        stale_after = {"stale_after": info.context.settings.stale_after}
        nodes = await db.fetch_all("api_nodes", stale_after)
        depth = await db.fetch_one("queue_depth")
        active = await db.fetch_all("api_active_runs", stale_after)
        backfills = await db.fetch_all("api_active_backfills")
        assert depth is not None
        return HarvesterStatus(
            nodes=[HarvesterNode.from_row(row) for row in nodes],
            queue_depth=depth["queued"],
            queue_due=depth["due"],
            running=[HarvestRun.from_row(row) for row in active],
            stale=[HarvestRun.from_row(row) for row in active if row["stale"]],
            backfills=[CandleBackfill.from_row(row) for row in backfills],
        )

    @strawberry.field(description="Candle backfill jobs, newest first; `exchange` must exist.")
    async def backfills(
        self, info: Info, exchange: str | None = None, first: int = DEFAULT_PAGE_SIZE
    ) -> list[CandleBackfill]:
        await exchange_id(info, exchange)
        params = {"exchange": exchange, "limit": check_first(first)}
        rows = await info.context.db.fetch_all("list_backfills", params)
        return [CandleBackfill.from_row(row) for row in rows]

    @strawberry.field(description="One pair across every enabled exchange; null if none lists it.")
    async def asset(self, info: Info, symbol: str) -> Asset | None:
        return await find_asset(info, symbol)

    @strawberry.field(description="Every exchange id that ccxt knows, sorted.")
    async def supported_exchanges(self) -> list[str]:
        return sorted(await asyncio.to_thread(supported_exchanges))
