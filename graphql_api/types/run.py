"""HarvestRun: one attempt at harvesting one exchange."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from graphql_api.context import Info
from graphql_api.types.connection import Connection
from graphql_api.types.enums import RunState, RunTrigger

if TYPE_CHECKING:
    from graphql_api.types.exchange import Exchange


@strawberry.type(description="A harvest run (table harvest_runs).")
class HarvestRun:
    id: strawberry.ID
    state: RunState
    trigger: RunTrigger
    attempt: int
    retry_of: strawberry.ID | None = strawberry.field(description="The run this one retries.")
    queued_at: dt.datetime
    not_before: dt.datetime = strawberry.field(description="Not claimed before (backoff).")
    started_at: dt.datetime | None
    heartbeat_at: dt.datetime | None
    finished_at: dt.datetime | None
    node: str | None
    worker: str | None
    markets_count: int | None
    error: str | None
    retryable: bool | None
    exchange_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> HarvestRun:
        retry_of = row["retry_of"]
        return cls(
            id=strawberry.ID(str(row["id"])),
            state=RunState(row["state"]),
            trigger=RunTrigger(row["trigger"]),
            attempt=row["attempt"],
            retry_of=None if retry_of is None else strawberry.ID(str(retry_of)),
            queued_at=row["queued_at"],
            not_before=row["not_before"],
            started_at=row["started_at"],
            heartbeat_at=row["heartbeat_at"],
            finished_at=row["finished_at"],
            node=row["node"],
            worker=row["worker"],
            markets_count=row["markets_count"],
            error=row["error"],
            retryable=row["retryable"],
            exchange_id=row["exchange_id"],
        )

    @strawberry.field
    async def exchange(
        self, info: Info
    ) -> Annotated[Exchange, strawberry.lazy("graphql_api.types.exchange")]:
        from graphql_api.types.exchange import Exchange

        row = await info.context.loaders.exchange_by_id.load(self.exchange_id)
        assert row is not None, "runs cascade with their exchange"
        return Exchange.from_row(row)


@strawberry.type(description="A page of harvest runs, newest first.")
class RunConnection(Connection[HarvestRun]):
    pass
