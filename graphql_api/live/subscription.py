"""The Subscription root: `marketUpdates` and `runUpdates` (DESIGN section 5)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncGenerator, Callable
from typing import Any

import strawberry

from graphql_api.context import Info
from graphql_api.errors import BadUserInput
from graphql_api.live.hub import Subscriber
from graphql_api.live.service import CLOSE_TOO_SLOW, LiveUpdates
from graphql_api.query import exchange_id
from graphql_api.types.market import Market
from graphql_api.types.run import HarvestRun

MAX_SYMBOLS = 500


def live_of(info: Info) -> LiveUpdates:
    live: LiveUpdates = info.context.request.app.state.live
    return live


def dropper(info: Info, live: LiveUpdates) -> Callable[[], None]:
    websocket = info.context.request
    return lambda: live.close_later(websocket, CLOSE_TOO_SLOW, "subscriber too slow")


async def relay(info: Info, live: LiveUpdates, subscriber: Subscriber) -> AsyncGenerator[Any, None]:
    """The subscriber's updates; each is resolved with fresh loaders and clock, since the
    connection's context lives as long as the connection."""
    try:
        async for item in subscriber.updates():
            info.context.release()
            info.context.now = dt.datetime.now(dt.UTC)
            yield item
    finally:
        live.hub.leave(subscriber)


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description=(
            "The markets of `exchange` (or only `symbols`) whose values changed, pushed as "
            "each harvest commits."
        )
    )
    async def market_updates(
        self, info: Info, exchange: str, symbols: list[str] | None = None
    ) -> AsyncGenerator[Market, None]:
        if symbols is not None and len(symbols) > MAX_SYMBOLS:
            raise BadUserInput(f"at most {MAX_SYMBOLS} symbols", field="symbols")
        wanted = await exchange_id(info, exchange)
        assert wanted is not None
        live = live_of(info)
        subscriber = live.hub.watch_markets(wanted, symbols, dropper(info, live))
        async for market in relay(info, live, subscriber):
            yield market

    @strawberry.subscription(
        description="Each change of a run's state, of `exchange` or of every exchange."
    )
    async def run_updates(
        self, info: Info, exchange: str | None = None
    ) -> AsyncGenerator[HarvestRun, None]:
        wanted = await exchange_id(info, exchange)
        live = live_of(info)
        subscriber = live.hub.watch_runs(wanted, dropper(info, live))
        async for run in relay(info, live, subscriber):
            yield run
