"""The enums of the schema (ExchangeState is `quality`'s, registered here)."""

from __future__ import annotations

from enum import Enum

import strawberry

from graphql_api.quality import ExchangeState

strawberry.enum(
    ExchangeState,
    description=(
        "DISABLED: not harvested; QUEUED/RUNNING: a run waits or runs; STALE: running but "
        "its heartbeat is older than MM_STALE_AFTER; FAILING: the last finished run FAILED "
        "or CRASHED; IDLE: otherwise. An active run wins over DISABLED."
    ),
)


@strawberry.enum(
    description=(
        "The states of a harvest run: QUEUED, then RUNNING, then SUCCEEDED, FAILED or "
        "CRASHED (its worker stopped beating or it ran past MM_RUN_TIMEOUT)."
    )
)
class RunState(Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CRASHED = "CRASHED"


@strawberry.enum(description="What queued a run.")
class RunTrigger(Enum):
    SCHEDULE = "SCHEDULE"
    MANUAL = "MANUAL"
    RETRY = "RETRY"


@strawberry.enum(description="Orders of `markets`; ties are broken by id.")
class MarketOrder(Enum):
    VOLUME_USD_DESC = "VOLUME_USD_DESC"
    SYMBOL_ASC = "SYMBOL_ASC"
    UPDATED_AT_DESC = "UPDATED_AT_DESC"
    CHANGE_PCT_DESC = "CHANGE_PCT_DESC"


@strawberry.enum(description="Orders of `exchanges`; ties are broken by id.")
class ExchangeOrder(Enum):
    NAME_ASC = "NAME_ASC"
    VOLUME_USD_DESC = "VOLUME_USD_DESC"
    LAST_UPDATE_AT_DESC = "LAST_UPDATE_AT_DESC"


__all__ = ["ExchangeOrder", "ExchangeState", "MarketOrder", "RunState", "RunTrigger"]
