"""A worker child: claim a QUEUED run (FOR UPDATE SKIP LOCKED), harvest it, repeat.

ccxt instances are kept per exchange, so markets load once per worker and are
refreshed every MM_MARKETS_REFRESH_SECONDS. While a run is in flight a heartbeat thread
beats it; if the poller takes the run away (it ran past MM_RUN_TIMEOUT, or looked
stale), the worker process exits at once and its parent starts a fresh one: that is
the only sure way to abandon a request that hangs inside ccxt.
"""

from __future__ import annotations

import contextvars
import functools
import os
from typing import Any

import psycopg
import structlog

from harvester import runs
from harvester.child import REPLACE_ME_EXIT, run_connected, start_child
from harvester.context import ChildContext
from harvester.exchanges import ExchangeAdapter
from harvester.harvest import failure_of, harvest_exchange
from harvester.runs import Heartbeat
from marketmanager import db
from marketmanager.reconnect import LongLivedConnection

log = structlog.get_logger()

IDLE_WAIT = 0.5  # seconds between looks at an empty queue


def abandon_run() -> None:
    log.error("run.lost", reason="the run is no longer RUNNING; replacing this worker")
    os._exit(REPLACE_ME_EXIT)


class Worker:
    def __init__(self, ctx: ChildContext, database: LongLivedConnection) -> None:
        self.ctx = ctx
        self.database = database  # the run is written on a checked connection
        self.adapters: dict[str, ExchangeAdapter] = {}
        self.api_urls: dict[str, str | None] = {}

    def adapter(self, exchange: dict[str, Any]) -> ExchangeAdapter:
        name = exchange["name"]
        if name in self.adapters and self.api_urls[name] != exchange["api_url"]:
            self.adapters.pop(name).close()
        if name not in self.adapters:
            self.adapters[name] = ExchangeAdapter.from_row(exchange, self.ctx.settings)
            self.api_urls[name] = exchange["api_url"]
        return self.adapters[name]

    def step(self, conn: psycopg.Connection[Any]) -> bool:
        """Claim (on `conn`) and harvest one run; False when there was none to claim."""
        run = db.fetch_one(conn, "claim_run", {"node": self.ctx.node_id, "worker": self.ctx.name})
        if run is None:
            return False
        exchange = db.fetch_one(conn, "exchange_by_id", {"id": run["exchange_id"]})
        if exchange is None:  # deleted between the claim and now; the run went with it
            return True
        structlog.contextvars.bind_contextvars(exchange=exchange["name"], run_id=run["id"])
        log.info("run.claimed", trigger=run["trigger"], attempt=run["attempt"])
        try:
            try:
                adapter = self.adapter(exchange)
            except Exception as error:  # e.g. a name ccxt no longer knows: not worth a retry
                runs.finish_failed(conn, run["id"], failure_of(error).error, retryable=False)
                return True
            beat_every = max(0.2, self.ctx.settings.stale_after / 3)
            # The heartbeat thread starts with an empty context: log `run.lost` in this one
            # (process, node, exchange, run_id).
            context = contextvars.copy_context()
            on_lost = functools.partial(context.run, abandon_run)
            with Heartbeat(self.ctx.database_url, run["id"], every=beat_every, on_lost=on_lost):
                harvest_exchange(self.database, adapter, exchange, run["id"])
        finally:
            structlog.contextvars.unbind_contextvars("exchange", "run_id")
        return True

    def close(self) -> None:
        for adapter in self.adapters.values():
            adapter.close()


def run(ctx: ChildContext) -> None:
    start_child(ctx)
    with LongLivedConnection(ctx.database_url) as database:
        worker = Worker(ctx, database)
        try:
            run_connected(
                ctx,
                database,
                lambda conn: functools.partial(worker.step, conn),
                lambda claimed: 0.0 if claimed else IDLE_WAIT,
            )
        finally:
            worker.close()
