"""The `scheduler` child: every tick, queue a SCHEDULE run for each exchange that is due.

Only one scheduler in the whole cluster decides at a time: the one holding a
PostgreSQL advisory lock on its connection. The others wait for it; when its host dies
its connection closes, the lock is released, and another node's scheduler takes over.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
import structlog

from harvester.child import run_connected, start_child
from harvester.context import ChildContext
from harvester.scheduler.decisions import ExchangeSchedule, due
from marketmanager import db
from marketmanager.reconnect import LongLivedConnection

log = structlog.get_logger()

LEADER_LOCK = 0x4D4D_5343_4845  # "MMSCHE": one scheduler decides at a time


class Scheduler:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.leader = False
        self.started_at: dt.datetime | None = None

    def _take_lead(self) -> bool:
        if not self.leader:
            got = db.fetch_one(self.conn, "scheduler_try_lead", {"key": LEADER_LOCK})
            self.leader = bool(got and got["ok"])
            if self.leader:
                self.started_at = dt.datetime.now(dt.UTC)
                log.info("scheduler.leading")
        return self.leader

    def tick(self) -> list[int]:
        """Queue what is due; the exchange ids queued."""
        if not self._take_lead():
            return []
        assert self.started_at is not None
        rows = db.fetch_all(self.conn, "schedule_candidates")
        now = dt.datetime.now(dt.UTC)
        exchanges = [ExchangeSchedule(**row) for row in rows]
        due_ids = due(exchanges, now, self.started_at)
        if not due_ids:
            return []
        queued = db.fetch_all(self.conn, "enqueue_scheduled", {"exchange_ids": due_ids})
        for row in queued:
            log.info(
                "run.queued", run_id=row["id"], exchange_id=row["exchange_id"], trigger="SCHEDULE"
            )
        return [row["exchange_id"] for row in queued]


def run(ctx: ChildContext) -> None:
    start_child(ctx)
    # A new connection after the database came back gets a new Scheduler: the advisory
    # lock went with the old session, so the lead must be taken again.
    with LongLivedConnection(ctx.database_url) as database:
        run_connected(
            ctx,
            database,
            lambda conn: Scheduler(conn).tick,
            lambda _queued: ctx.settings.tick_seconds,
        )
