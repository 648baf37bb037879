"""The `poller` child: crashes stale and hung runs, retries failures, notices dead nodes,
and keeps the history partitions (ahead of time, and within retention).

Every statement here is safe to run from several nodes at once: each is one atomic
UPDATE/INSERT, and the unique indexes on harvest_runs turn a second retry into a no-op.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import psycopg
import structlog
from psycopg import sql

from harvester.child import run_connected, start_child
from harvester.context import ChildContext
from harvester.poller.decisions import FinishedRun, partitions_to_drop, retries
from marketmanager import db
from marketmanager.reconnect import LongLivedConnection
from marketmanager.settings import Settings
from sql import compose

log = structlog.get_logger()

PARTITIONS_EVERY = 600.0  # seconds between partition upkeep
PARTITION_DAYS_AHEAD = 3


class Poller:
    def __init__(self, conn: psycopg.Connection[Any], settings: Settings) -> None:
        self.conn = conn
        self.settings = settings
        self._partitions_due = 0.0

    def tick(self) -> None:
        self.recover_gone_nodes()
        self.crash_stale_runs()
        self.retry_failed_runs()
        if time.monotonic() >= self._partitions_due:
            self.keep_partitions(dt.datetime.now(dt.UTC).date())
            self._partitions_due = time.monotonic() + PARTITIONS_EVERY

    def recover_gone_nodes(self) -> None:
        params = {"stale_after": self.settings.stale_after}
        for row in db.fetch_all(self.conn, "mark_gone_nodes", params):
            log.warning("node.gone", gone_node=row["id"])
        for row in db.fetch_all(self.conn, "crash_runs_of_gone_nodes"):
            log.warning(
                "run.crashed",
                run_id=row["id"],
                exchange_id=row["exchange_id"],
                reason=f"node {row['node']} is gone",
            )

    def crash_stale_runs(self) -> None:
        params = {
            "stale_after": self.settings.stale_after,
            "run_timeout": self.settings.run_timeout,
        }
        for row in db.fetch_all(self.conn, "crash_stale_runs", params):
            log.warning(
                "run.crashed", run_id=row["id"], exchange_id=row["exchange_id"], reason=row["error"]
            )

    def retry_failed_runs(self) -> None:
        failed = [FinishedRun(**row) for row in db.fetch_all(self.conn, "retry_candidates")]
        for retry in retries(failed, self.settings.max_attempts):
            row = db.fetch_one(
                self.conn,
                "enqueue_retry",
                {
                    "exchange_id": retry.exchange_id,
                    "attempt": retry.attempt,
                    "retry_of": retry.retry_of,
                    "not_before": retry.not_before,
                },
            )
            if row:
                log.info(
                    "run.queued",
                    run_id=row["id"],
                    exchange_id=retry.exchange_id,
                    trigger="RETRY",
                    attempt=retry.attempt,
                    retry_of=retry.retry_of,
                    not_before=retry.not_before.isoformat(),
                )

    def keep_partitions(self, today: dt.date) -> None:
        db.execute(
            self.conn, "ensure_tick_partitions", {"first_day": today, "days": PARTITION_DAYS_AHEAD}
        )
        names = [row["name"] for row in db.fetch_all(self.conn, "tick_partitions")]
        for name in partitions_to_drop(names, today, self.settings.history_retention_days):
            self.conn.execute(compose("drop_tick_partition", partition=sql.Identifier(name)))
            db.execute(self.conn, "announce_edit", {"table": "market_ticks"})  # cached answers
            log.info("history.partition_dropped", partition=name)


def run(ctx: ChildContext) -> None:
    start_child(ctx)
    every = min(ctx.settings.tick_seconds, ctx.settings.stale_after / 3)
    with LongLivedConnection(ctx.database_url) as database:
        run_connected(ctx, database, lambda conn: Poller(conn, ctx.settings).tick, lambda _: every)
