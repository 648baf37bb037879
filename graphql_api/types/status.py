"""HarvesterStatus: the nodes of the harvester and the queue, as the database shows them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry

from graphql_api.types.candles import CandleBackfill
from graphql_api.types.run import HarvestRun


@strawberry.type(description="A child process of a node's harvester parent.")
class NodeProcess:
    name: str
    pid: int | None
    alive: bool | None
    started_at: dt.datetime | None
    restarts: int | None

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> NodeProcess:
        started = item.get("started_at")
        if isinstance(started, (int, float)):
            started_at: dt.datetime | None = dt.datetime.fromtimestamp(started, dt.UTC)
        elif isinstance(started, str):
            started_at = dt.datetime.fromisoformat(started)
        else:
            started_at = None
        return cls(
            name=str(item.get("name", "?")),
            pid=item.get("pid"),
            alive=item.get("alive"),
            started_at=started_at,
            restarts=item.get("restarts"),
        )


@strawberry.type(description="A harvester host (table harvester_nodes).")
class HarvesterNode:
    id: strawberry.ID
    host: str
    pid: int
    started_at: dt.datetime
    heartbeat_at: dt.datetime
    stopped_at: dt.datetime | None
    paused: bool
    draining: bool
    pool_size: int
    alive: bool = strawberry.field(
        description="Not stopped, and a heartbeat within MM_STALE_AFTER seconds."
    )
    processes: list[NodeProcess]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> HarvesterNode:
        processes = row["processes"] if isinstance(row["processes"], list) else []
        return cls(
            id=strawberry.ID(row["id"]),
            host=row["host"],
            pid=row["pid"],
            started_at=row["started_at"],
            heartbeat_at=row["heartbeat_at"],
            stopped_at=row["stopped_at"],
            paused=row["paused"],
            draining=row["draining"],
            pool_size=row["pool_size"],
            alive=row["alive"],
            processes=[NodeProcess.from_json(p) for p in processes if isinstance(p, dict)],
        )


@strawberry.type(description="What the harvester is doing, from the database.")
class HarvesterStatus:
    nodes: list[HarvesterNode]
    queue_depth: int = strawberry.field(description="QUEUED runs.")
    queue_due: int = strawberry.field(description="QUEUED runs that may be claimed now.")
    running: list[HarvestRun] = strawberry.field(description="RUNNING runs, newest first.")
    stale: list[HarvestRun] = strawberry.field(
        description="RUNNING runs whose heartbeat is older than MM_STALE_AFTER."
    )
    backfills: list[CandleBackfill] = strawberry.field(
        description="Candle backfills QUEUED or RUNNING (the harvester's backfill lane)."
    )
