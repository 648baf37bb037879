"""Identical subscriptions execute an event once; different ones each execute it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import strawberry

from graphql_api.live.shared_events import SharedEventExecutor

CALLS: list[int] = []


@strawberry.type
class Tick:
    value: int

    @strawberry.field
    async def doubled(self) -> int:
        CALLS.append(self.value)
        return self.value * 2


PAYLOADS = [Tick(value=1), Tick(value=2)]


@strawberry.type
class Query:
    ok: bool = True


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def ticks(self) -> AsyncGenerator[Tick, None]:
        for payload in PAYLOADS:  # the same objects for every subscriber, as the hub does
            yield payload


schema = strawberry.Schema(
    query=Query, subscription=Subscription, execution_context_class=SharedEventExecutor
)


async def collect(query: str) -> list[object]:
    stream = await schema.subscribe(query)
    return [result.data async for result in stream]  # type: ignore[union-attr]


def test_identical_subscriptions_share_one_execution_per_event() -> None:
    CALLS.clear()

    async def scenario() -> list[list[object]]:
        same = "subscription { ticks { doubled } }"
        other = "subscription Other { ticks { value doubled } }"
        return await asyncio.gather(collect(same), collect(same), collect(same), collect(other))

    first, second, third, other = asyncio.run(scenario())
    assert first == second == third == [{"ticks": {"doubled": 2}}, {"ticks": {"doubled": 4}}]
    assert other == [{"ticks": {"value": 1, "doubled": 2}}, {"ticks": {"value": 2, "doubled": 4}}]
    assert sorted(CALLS) == [1, 1, 2, 2], "once per event for the three, once for the other"
