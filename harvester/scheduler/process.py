"""The `scheduler` child: queue a SCHEDULE run for each exchange as soon as it is due.

It sleeps until the next exchange comes due (at most MM_TICK_SECONDS), and wakes early
when a run finishes (its NOTIFY on ``mm_live``), since that exchange's next due time is
then known: a run starts within milliseconds of being due, not up to a tick later.

Only one scheduler in the whole cluster decides at a time: the one holding a
PostgreSQL advisory lock on its connection. The others wait for it; when its host dies
its connection closes, the lock is released, and another node's scheduler takes over.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import psycopg
import structlog

from harvester.child import run_connected, start_child
from harvester.context import ChildContext
from harvester.scheduler.decisions import ExchangeSchedule, due, seconds_to_next_due
from marketmanager import db
from marketmanager.reconnect import LongLivedConnection
from marketmanager.run_events import CHANNEL, run_event

log = structlog.get_logger()

LEADER_LOCK = 0x4D4D_5343_4845  # "MMSCHE": one scheduler decides at a time


class Scheduler:
    def __init__(self, conn: psycopg.Connection[Any], tick_seconds: float = 1.0) -> None:
        self.conn = conn
        self.leader = False
        self.started_at: dt.datetime | None = None
        self.tick_seconds = tick_seconds
        self.next_tick_in = tick_seconds  # seconds until the next exchange comes due
        self.run_finished = False  # a finished run was announced since the last tick
        conn.execute(f"LISTEN {CHANNEL}")

    def _take_lead(self) -> bool:
        if not self.leader:
            got = db.fetch_one(self.conn, "scheduler_try_lead", {"key": LEADER_LOCK})
            self.leader = bool(got and got["ok"])
            if self.leader:
                self.started_at = dt.datetime.now(dt.UTC)
                log.info("scheduler.leading")
        return self.leader

    def tick(self) -> list[int]:
        """Queue what is due; the exchange ids queued. Sets `next_tick_in`."""
        self.next_tick_in = self.tick_seconds
        self.run_finished = False  # what finishes from now on is read by the next tick
        if not self._take_lead():
            return []
        assert self.started_at is not None
        rows = db.fetch_all(self.conn, "schedule_candidates")
        now = dt.datetime.now(dt.UTC)
        exchanges = [ExchangeSchedule(**row) for row in rows]
        due_ids = due(exchanges, now, self.started_at)
        self.next_tick_in = seconds_to_next_due(
            [exchange for exchange in exchanges if exchange.id not in due_ids],
            now,
            self.started_at,
            self.tick_seconds,
        )
        if not due_ids:
            return []
        queued = db.fetch_all(self.conn, "enqueue_scheduled", {"exchange_ids": due_ids})
        for row in queued:
            log.info(
                "run.queued", run_id=row["id"], exchange_id=row["exchange_id"], trigger="SCHEDULE"
            )
        return [row["exchange_id"] for row in queued]

    def wait(self) -> None:
        """Sleep until the next exchange comes due, or a run finishes, whichever is first."""
        deadline = time.monotonic() + self.next_tick_in
        while not self.run_finished and (left := deadline - time.monotonic()) > 0:
            # Notifications that arrived during the tick wait in psycopg's backlog and come
            # first (a notify handler would stop that, and psycopg warns against mixing both).
            for notify in self.conn.notifies(timeout=left, stop_after=1):
                event = run_event(notify.payload)
                self.run_finished = self.run_finished or bool(event and event.finished)

    def step(self) -> None:
        self.tick()
        self.wait()


def run(ctx: ChildContext) -> None:
    start_child(ctx)
    # A new connection after the database came back gets a new Scheduler: the advisory
    # lock went with the old session, so the lead must be taken again.
    with LongLivedConnection(ctx.database_url) as database:
        run_connected(
            ctx,
            database,
            lambda conn: Scheduler(conn, ctx.settings.tick_seconds).step,
            lambda _result: 0.0,  # step() waited already
        )
