"""The `backfill` child: the harvester's lane for candle backfills, apart from the workers.

Ticker runs are claimed by the worker pool only; this child alone claims backfill jobs,
one at a time, so however long a backfill takes, no worker waits for it and no scheduled
harvest is delayed. At most one job per exchange runs at a time across every node (a
partial unique index), and a job whose lane died (no heartbeat for MM_STALE_AFTER) is
claimed again and resumes where its last page ended. Every tick the lane also queues the
small fetches that keep an exchange's ``candle_timeframes`` current; a long MANUAL job
goes back to the queue between two pages to let them run first, and resumes after.
"""

from __future__ import annotations

import datetime as dt
import gc
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import structlog
from psycopg import errors as pg_errors

from harvester import heap
from harvester.candles.backfill import BackfillResult, run_backfill
from harvester.candles.jobs import DEFAULT_TOP, queue_backfill
from harvester.candles.keeping import SLICE_SECONDS, KeptTimeframe, due_fetches, gives_way
from harvester.candles.source import CandleSource
from harvester.child import run_connected, should_stop, start_child
from harvester.context import ChildContext
from harvester.harvest.adapter import ExchangeAdapter
from harvester.harvest.runs import Heartbeat
from marketmanager import db
from marketmanager.reconnect import LongLivedConnection

log = structlog.get_logger()

IDLE_WAIT = 0.5
# An exchange's ccxt instance (its markets: 40-70 MB for 5,000) is let go once no job
# used it for this long; keep-current fetches of one exchange come closer together.
SOURCE_KEEP = 120.0


class JobHeartbeat(Heartbeat):
    """Beats a RUNNING job from a thread with its own connection; `lost` is set when the
    job stopped being this worker's (another lane took it over)."""

    def __init__(self, url: str, job: dict[str, Any], every: float) -> None:
        self.lost = threading.Event()
        self.kept_waiting = threading.Event()  # a keep-current fetch is queued
        super().__init__(url, job["id"], every=every, on_lost=self.lost.set)
        self._params = {"id": job["id"], "node": job["node"], "worker": job["worker"]}

    def beat_once(self, conn: psycopg.Connection[Any]) -> bool:
        row = db.fetch_one(conn, "backfill_heartbeat", self._params)
        if row is not None and row["kept_waiting"]:
            self.kept_waiting.set()
        else:
            self.kept_waiting.clear()
        return row is not None


class BackfillLane:
    def __init__(
        self,
        ctx: ChildContext,
        conn: psycopg.Connection[Any] | None,
        slice_seconds: float = SLICE_SECONDS,
    ) -> None:
        self.ctx = ctx
        self.conn: Any = conn  # set by `on` in the child process
        self.slice_seconds = slice_seconds
        self._kept_at = -math.inf
        self.sources: dict[str, CandleSource] = {}
        self.api_urls: dict[str, str | None] = {}
        self.last_used: dict[str, float] = {}  # by exchange name: when its last job ended

    def source(self, exchange: dict[str, Any]) -> CandleSource:
        name = exchange["name"]
        if name in self.sources and self.api_urls[name] != exchange["api_url"]:
            self.sources.pop(name).close()
        if name not in self.sources:
            adapter = ExchangeAdapter.from_row(exchange, self.ctx.settings)
            self.sources[name] = CandleSource(adapter)
            self.api_urls[name] = exchange["api_url"]
        return self.sources[name]

    def keep_current(self) -> list[int]:
        """Queue the fetches that keep candle_timeframes current; the job ids."""
        rows = db.fetch_all(self.conn, "keep_current_due")
        now = dt.datetime.now(dt.UTC)
        queued = []
        for fetch in due_fetches([KeptTimeframe(**row) for row in rows], now):
            symbols = fetch.symbols or self._top_symbols(fetch.exchange_id)
            if not symbols:  # no harvest yet to pick the top pairs from: wait for one
                continue
            try:
                job = queue_backfill(
                    self.conn,
                    fetch.exchange_id,
                    fetch.timeframe,
                    fetch.since,
                    symbols,
                    trigger="SCHEDULE",
                )
            except pg_errors.UniqueViolation:  # another node's lane queued it just now
                continue
            queued.append(job["id"])
        return queued

    def _top_symbols(self, exchange_id: int) -> list[str]:
        params = {"exchange_id": exchange_id, "top": DEFAULT_TOP}
        return [row["symbol"] for row in db.fetch_all(self.conn, "top_markets", params)]

    def claim(self) -> dict[str, Any] | None:
        params = {
            "node": self.ctx.node_id,
            "worker": self.ctx.name,
            "stale_after": self.ctx.settings.stale_after,
        }
        try:
            return db.fetch_one(self.conn, "claim_backfill", params)
        except pg_errors.UniqueViolation:  # another node started a job of that exchange
            return None

    def step(self) -> BackfillResult | None:
        """Claim and run one job; None when there was none to claim."""
        job = self.claim()
        if job is None:
            return None
        exchange = db.fetch_one(self.conn, "exchange_by_id", {"id": job["exchange_id"]})
        if exchange is None:
            return None
        structlog.contextvars.bind_contextvars(exchange=exchange["name"], job_id=job["id"])
        try:
            log.info("backfill.claimed", timeframe=job["timeframe"], trigger=job["trigger"])
            beat_every = max(0.2, self.ctx.settings.stale_after / 3)
            heartbeat = JobHeartbeat(self.ctx.database_url, job, beat_every)
            started = time.monotonic()

            def keep_going() -> bool:
                if should_stop(self.ctx) or heartbeat.lost.is_set():
                    return False
                waiting, ran = heartbeat.kept_waiting.is_set(), time.monotonic() - started
                return not gives_way(job["trigger"], waiting, ran, self.slice_seconds)

            with heartbeat:
                return run_backfill(self.conn, self.source(exchange), job, keep_going=keep_going)
        finally:
            self.last_used[exchange["name"]] = time.monotonic()
            structlog.contextvars.unbind_contextvars("exchange", "job_id")

    def release_unused(self) -> None:
        """Let go of the ccxt instances no job used for SOURCE_KEEP seconds."""
        now = time.monotonic()
        unused = [name for name in self.sources if now - self.last_used[name] >= SOURCE_KEEP]
        for name in unused:
            log.info("backfill.markets_released", exchange=name)
            self.sources.pop(name).close()
            del self.api_urls[name]
        if unused:
            gc.collect()  # a ccxt instance is in reference cycles
            heap.trim()

    def on(self, conn: psycopg.Connection[Any]) -> Callable[[], bool]:
        """The lane's tick on `conn` (a new one after the database came back)."""
        self.conn = conn
        return self.tick

    def tick(self) -> bool:
        """Keep timeframes current (once a tick), then run one job; whether one ran."""
        if time.monotonic() - self._kept_at >= self.ctx.settings.tick_seconds:
            self.keep_current()
            self._kept_at = time.monotonic()
        if self.step() is not None:
            return True
        self.release_unused()
        return False

    def close(self) -> None:
        for source in self.sources.values():
            source.close()


def run(ctx: ChildContext) -> None:
    start_child(ctx)
    lane = BackfillLane(ctx, None)
    try:
        # Through a database restart: wait for it, then go on with a new connection (a job
        # cut off meanwhile stops beating and is taken up again after MM_STALE_AFTER).
        with LongLivedConnection(ctx.database_url) as database:
            run_connected(ctx, database, lane.on, lambda ran: 0.0 if ran else IDLE_WAIT)
    finally:
        lane.close()
