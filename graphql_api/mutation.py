"""The Mutation root: exchanges and manual runs; every field needs a token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry
from psycopg import errors as pg_errors

from graphql_api import validation
from graphql_api.auth import ADMIN, WRITE, require_scope
from graphql_api.context import Info
from graphql_api.errors import Conflict, NotFound
from graphql_api.types.candles import CandleBackfill, candle_timeframes, queue_backfill
from graphql_api.types.exchange import Exchange
from graphql_api.types.inputs import BackfillInput, CreateExchangeInput, UpdateExchangeInput
from graphql_api.types.run import HarvestRun

RUN_EXCHANGE_ATTEMPTS = 3


async def _require(info: Info, scope: str) -> None:
    require_scope(await info.context.principal(), scope)


async def _existing(info: Info, name: str) -> dict[str, Any]:
    row = await info.context.loaders.exchange_by_name.load(name)
    if row is None:
        raise NotFound(f"no exchange named {name!r}", field="name")
    return row


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Start harvesting a ccxt exchange (write; apiUrl: admin).")
    async def create_exchange(self, info: Info, input: CreateExchangeInput) -> Exchange:
        await _require(info, WRITE)
        if input.api_url is not None:
            await _require(info, ADMIN)
        settings = info.context.settings
        name, described = await validation.harvestable_exchange(input.name)
        params = {
            "name": name,
            "enabled": input.enabled,
            "interval_seconds": validation.interval_seconds(input.interval_seconds),
            "api_url": validation.api_url(
                input.api_url, allow_private=settings.allow_private_api_urls
            ),
            "url": validation.web_url(input.url, "url"),
            "logo": validation.web_url(input.logo, "logo"),
        }
        params["url"] = params["url"] or described.url
        params["logo"] = params["logo"] or described.logo
        try:
            row = await info.context.db.fetch_one("insert_exchange", params)
        except pg_errors.UniqueViolation:
            raise Conflict(f"exchange {name!r} exists already", field="name") from None
        assert row is not None
        return Exchange.from_row(row)

    @strawberry.mutation(description="Change an exchange (write; apiUrl: admin).")
    async def update_exchange(self, info: Info, name: str, input: UpdateExchangeInput) -> Exchange:
        await _require(info, WRITE)
        given = {
            key: value
            for key, value in vars(input).items()
            if value is not strawberry.UNSET and not key.startswith("_")
        }
        if "api_url" in given:
            await _require(info, ADMIN)
        checks: dict[str, Callable[[Any], Any]] = {
            "enabled": validation.enabled,
            "interval_seconds": validation.interval_seconds,
            "api_url": lambda v: validation.api_url(
                v, allow_private=info.context.settings.allow_private_api_urls
            ),
            "url": lambda v: validation.web_url(v, "url"),
            "logo": lambda v: validation.web_url(v, "logo"),
            "candle_timeframes": candle_timeframes,
        }
        params: dict[str, Any] = {"name": name}
        for key, check in checks.items():
            params[f"set_{key}"] = key in given
            params[key] = check(given[key]) if key in given else None
        row = await info.context.db.fetch_one("api_update_exchange", params)
        if row is None:
            raise NotFound(f"no exchange named {name!r}", field="name")
        return Exchange.from_row(row)

    @strawberry.mutation(description="Stop harvesting an exchange and forget its data (write).")
    async def delete_exchange(self, info: Info, name: str) -> bool:
        await _require(info, WRITE)
        if await info.context.db.fetch_one("api_delete_exchange", {"name": name}) is None:
            raise NotFound(f"no exchange named {name!r}", field="name")
        return True

    @strawberry.mutation(
        description="Queue a MANUAL run now, or get the QUEUED/RUNNING one (write)."
    )
    async def run_exchange(self, info: Info, name: str) -> HarvestRun:
        await _require(info, WRITE)
        exchange = await _existing(info, name)
        for _ in range(RUN_EXCHANGE_ATTEMPTS):
            # No row: another run was inserted concurrently after this statement's
            # snapshot; the next statement sees it (or inserts, if it is already over).
            row = await info.context.db.fetch_one(
                "api_run_exchange", {"exchange_id": exchange["id"]}
            )
            if row is not None:
                return HarvestRun.from_row(row)
        raise RuntimeError(f"runExchange({name!r}) lost the race {RUN_EXCHANGE_ATTEMPTS} times")

    @strawberry.mutation(
        description="Queue a candle backfill for the harvester's backfill lane (write)."
    )
    async def backfill(self, info: Info, input: BackfillInput) -> CandleBackfill:
        await _require(info, WRITE)
        exchange = await info.context.loaders.exchange_by_name.load(input.exchange)
        if exchange is None:
            raise NotFound(f"no exchange named {input.exchange!r}", field="exchange")
        return await queue_backfill(info, exchange["id"], input)
