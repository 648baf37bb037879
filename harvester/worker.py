"""A worker child: an asyncio loop that keeps up to MM_RUNS_PER_WORKER runs in flight.

It claims QUEUED runs (FOR UPDATE SKIP LOCKED) while it has room and harvests each in a
task of its own with ccxt's asyncio client, so a run waiting on the network (an exchange
hanging until its request timeout) holds no process and delays no other run. Database
work (claims, heartbeats, the write of a run in one transaction) runs in threads with
connections of a small pool. ccxt instances are kept per exchange, so markets load once
per worker and are refreshed every MM_MARKETS_REFRESH_SECONDS.

It claims as soon as a run is queued: a listener task wakes it on the run's NOTIFY
(``mm_live``), and a look every IDLE_WAIT covers what no notification announces (a
retry whose backoff ended, a lost listening connection). Each exchange has a home
worker (`home_slot`: its id modulo MM_POOL_SIZE) that alone claims its runs, its home
exchanges' first; another worker claims one only once it waited STRANGER_AFTER
seconds past due (its home worker is away, or full), the busier worker the later
(`stranger_after`). So exchanges spread over the processes, and so over the cores, and
each exchange's markets are loaded and kept by one worker, not in every worker's
memory (a 5,000-market exchange costs 40-70 MB); an instance a worker no longer needs
is let go (`harvester.kept_markets`).

One heartbeat task beats every run in flight with one statement. A run the poller took
away (it ran past MM_RUN_TIMEOUT, or looked stale) has its task cancelled, which closes
its request at once; should a task not end within MM_STALE_AFTER of that, the process
exits and its parent starts a fresh one.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import gc
import os
import time
from typing import Any

import psycopg
import structlog
from psycopg_pool import ConnectionPool

from harvester import heap
from harvester.child import REPLACE_ME_EXIT, should_stop, start_child
from harvester.context import ChildContext
from harvester.harvest import runs
from harvester.harvest.async_adapter import AsyncExchangeAdapter
from harvester.harvest.pipeline import failure_of, harvest_exchange_async
from harvester.kept_markets import Kept, to_release
from marketmanager import db
from marketmanager.run_events import CHANNEL, run_event

log = structlog.get_logger()

IDLE_WAIT = 0.5  # seconds between looks at an empty queue (or a full worker)
# A run is claimed by another worker than its exchange's home worker only once it waited
# this long past due: its home worker is away (dead, restarting) or full. Well within
# the 5 s of lateness bench/capacity.py allows, with a look (IDLE_WAIT) on top.
STRANGER_AFTER = 2.0
STRANGER_DELAY = 0.2  # after it claimed such a run, a worker waits this long to claim again
CLAIM_DELAY_PER_RUN = 0.1  # and this much longer per run it has in flight
LISTEN_RETRY = 2.0  # seconds before listening again after the connection was lost


def home_slot(exchange_id: int, pool_size: int) -> int:
    """The slot (0-based worker number) whose worker harvests `exchange_id` by preference."""
    return exchange_id % pool_size


def worker_slot(name: str) -> int:
    """``worker-3`` → 2; 0 for any other name (a lone worker)."""
    prefix, _, number = name.rpartition("-")
    return int(number) - 1 if prefix == "worker" and number.isdigit() else 0


def stranger_after(in_flight: int) -> float:
    """How long past due a run waits for its home worker before a worker with
    `in_flight` runs claims it: the busier the later (an idler worker claims first)."""
    return STRANGER_AFTER + in_flight * CLAIM_DELAY_PER_RUN


def claim_delay(in_flight: int, home: bool) -> float:
    """How long a worker waits before claiming again: at once after its home exchange's
    run, else a little later, the busier the later (an idler worker claims meanwhile);
    never past its next look."""
    if home:
        return 0.0
    return min(IDLE_WAIT, STRANGER_DELAY + in_flight * CLAIM_DELAY_PER_RUN)


DB_CONNECTIONS = 4  # claims, heartbeats and writes of one worker share these


Claim = tuple[dict[str, Any], dict[str, Any] | None]  # the run, its exchange (None: deleted)


class Worker:
    def __init__(self, ctx: ChildContext, pool: ConnectionPool) -> None:
        self.ctx = ctx
        self.pool = pool
        self.capacity = ctx.settings.runs_per_worker
        self.adapters: dict[str, AsyncExchangeAdapter] = {}
        self.api_urls: dict[str, str | None] = {}
        # by exchange name, beside its adapter: its id, its runs in flight, when one ended
        self.exchange_ids: dict[str, int] = {}
        self.runs_using: collections.Counter[str] = collections.Counter()
        self.last_used: dict[str, float] = {}
        self.in_flight: dict[int, asyncio.Task[None]] = {}
        self.abandoned: dict[int, float] = {}  # run id → when its task was cancelled
        self.wake = asyncio.Event()  # a run was queued (or one of ours ended)
        self.queued: set[int] = set()  # exchanges whose runs were announced since the wake
        self.pool_size = ctx.settings.pool_size
        self.slot = worker_slot(ctx.name) % self.pool_size

    # ------------------------------------------------------------ claiming

    def is_home(self, exchange_id: int) -> bool:
        return home_slot(exchange_id, self.pool_size) == self.slot

    def _claim(self, in_flight: int) -> Claim | None:
        params = {
            "node": self.ctx.node_id,
            "worker": self.ctx.name,
            "pool_size": self.pool_size,
            "slot": self.slot,
            "stranger_after": stranger_after(in_flight),
        }
        with self.pool.connection() as conn:
            run = db.fetch_one(conn, "claim_run", params)
            if run is None:
                return None
            return run, db.fetch_one(conn, "exchange_by_id", {"id": run["exchange_id"]})

    async def claim(self) -> int | None:
        """Claim one run and start its task; its exchange id, None when none was due."""
        claimed = await asyncio.to_thread(self._claim, len(self.in_flight))
        if claimed is None:
            return None
        run, exchange = claimed
        if exchange is not None:  # else deleted between the claim and now: the run went too
            task = asyncio.create_task(self._harvest(run, exchange), name=f"run-{run['id']}")
            self.in_flight[run["id"]] = task
            task.add_done_callback(functools.partial(self._done, run["id"]))
        return int(run["exchange_id"])

    def _done(self, run_id: int, _task: object) -> None:
        self.in_flight.pop(run_id, None)
        self.abandoned.pop(run_id, None)
        self.wake.set()  # room again: look at the queue now

    # ------------------------------------------------------------ waking up

    async def listen_forever(self) -> None:
        """Set `wake` whenever a run is queued; listen again after a lost connection."""
        while True:
            try:
                await self._listen()
            except (psycopg.Error, OSError) as error:
                log.warning("worker.listen_lost", error=str(error))
            await asyncio.sleep(LISTEN_RETRY)

    async def _listen(self) -> None:
        async with await psycopg.AsyncConnection.connect(
            self.ctx.database_url, autocommit=True, connect_timeout=10
        ) as conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            while True:
                async for notify in conn.notifies(timeout=self.ctx.settings.stale_after):
                    event = run_event(notify.payload)
                    if event is not None and event.queued:
                        self.queued.add(event.exchange_id)
                        self.wake.set()
                await conn.execute("SELECT 1")  # raises when the server went away

    async def idle(self) -> None:
        """Wait until a run of a home exchange is queued, or one of ours ended, but no
        longer than IDLE_WAIT (the next look: runs of others' exchanges are claimed only
        once they waited STRANGER_AFTER)."""
        deadline = time.monotonic() + IDLE_WAIT
        while (left := deadline - time.monotonic()) > 0:
            try:
                await asyncio.wait_for(self.wake.wait(), left)
            except TimeoutError:
                return
            if not self.queued or any(map(self.is_home, self.queued)):
                return
            self.wake.clear()
            self.queued.clear()

    # ------------------------------------------------------------ one run

    async def adapter(self, exchange: dict[str, Any]) -> AsyncExchangeAdapter:
        name = exchange["name"]
        if name in self.adapters and self.api_urls[name] != exchange["api_url"]:
            await self.adapters.pop(name).close()
        if name not in self.adapters:
            self.adapters[name] = AsyncExchangeAdapter.from_row(exchange, self.ctx.settings)
            self.api_urls[name] = exchange["api_url"]
        return self.adapters[name]

    async def _harvest(self, run: dict[str, Any], exchange: dict[str, Any]) -> None:
        # A task runs in a copy of the context: these stay bound to this run's lines.
        structlog.contextvars.bind_contextvars(exchange=exchange["name"], run_id=run["id"])
        log.info("run.claimed", trigger=run["trigger"], attempt=run["attempt"])
        name = exchange["name"]
        self.exchange_ids[name] = int(exchange["id"])
        self.runs_using[name] += 1
        try:
            await self._harvest_with_adapter(run, exchange)
        finally:
            self.runs_using[name] -= 1
            self.last_used[name] = time.monotonic()
            heap.trim()  # what the run parsed and wrote is garbage now

    async def _harvest_with_adapter(self, run: dict[str, Any], exchange: dict[str, Any]) -> None:
        try:
            try:
                adapter = await self.adapter(exchange)
            except Exception as error:  # e.g. a name ccxt no longer knows: not worth a retry
                await asyncio.to_thread(self._fail, run["id"], error)
                return
            await harvest_exchange_async(self.pool, adapter, exchange, run["id"])
        except asyncio.CancelledError:
            log.warning("run.abandoned", reason="taken away from this worker")
            raise
        except Exception:  # the database is gone: the poller crashes the run, it is retried
            log.exception("run.error")

    def _fail(self, run_id: int, error: Exception) -> None:
        with self.pool.connection() as conn:
            runs.finish_failed(conn, run_id, failure_of(error).error, retryable=False)

    # ------------------------------------------------------------ markets kept

    def _enabled_intervals(self) -> dict[int, float]:
        with self.pool.connection() as conn:
            rows = db.fetch_all(conn, "enabled_exchange_intervals")
        return {int(row["id"]): float(row["interval_seconds"]) for row in rows}

    async def release_unneeded(self) -> None:
        """Let go of the ccxt instances (and markets) this worker no longer needs."""
        if not self.adapters:
            return
        intervals = await asyncio.to_thread(self._enabled_intervals)
        now = time.monotonic()
        kept = {
            name: Kept(
                exchange_id=self.exchange_ids[name],
                home=self.is_home(self.exchange_ids[name]),
                unused_since=None if self.runs_using[name] else self.last_used.get(name, now),
            )
            for name in self.adapters
        }
        refresh = self.ctx.settings.markets_refresh_seconds
        released = []  # all out of reach before the first await: a run starting then makes anew
        for name, reason in to_release(kept, intervals, now, refresh).items():
            log.info("worker.markets_released", exchange=name, reason=reason)
            del self.api_urls[name]
            released.append(self.adapters.pop(name))
        for adapter in released:
            await adapter.close()
        if released:
            gc.collect()  # a ccxt instance is in reference cycles
            heap.trim()

    # ------------------------------------------------------------ heartbeats

    def _beat(self, run_ids: list[int]) -> dict[int, str]:
        with self.pool.connection() as conn:
            return runs.heartbeat_many(conn, run_ids)

    async def beat(self) -> None:
        """Beat the runs in flight; cancel those taken away; give up on stuck ones."""
        held = [run_id for run_id, task in self.in_flight.items() if not task.done()]
        if held:
            try:
                states = await asyncio.to_thread(self._beat, held)
            except Exception as error:  # a missed beat is not fatal
                log.warning("run.heartbeat_failed", error=str(error))
                states = None
            if states is not None:
                for run_id in runs.taken_away(held, states):
                    self._abandon(run_id, states.get(run_id, "deleted"))
        stuck_since = time.monotonic() - self.ctx.settings.stale_after
        if any(when < stuck_since for when in self.abandoned.values()):
            log.error("run.stuck", runs=sorted(self.abandoned), reason="replacing this worker")
            os._exit(REPLACE_ME_EXIT)

    def _abandon(self, run_id: int, state: str) -> None:
        task = self.in_flight.get(run_id)
        if task is None or task.done() or run_id in self.abandoned:
            return
        log.error("run.lost", run_id=run_id, state=state, reason="the run is no longer RUNNING")
        self.abandoned[run_id] = time.monotonic()
        task.cancel()

    async def beat_forever(self) -> None:
        every = max(0.2, self.ctx.settings.stale_after / 3)
        while True:
            await asyncio.sleep(every)
            await self.beat()
            try:
                await self.release_unneeded()
            except Exception as error:  # the database is away: next time
                log.warning("worker.release_failed", error=str(error))

    # ------------------------------------------------------------ the loop

    async def serve(self) -> None:
        """Claim while there is room, until the parent says stop; then let runs finish
        (the parent gives them MM_SHUTDOWN_GRACE and puts back what is left)."""
        beating = asyncio.create_task(self.beat_forever(), name="heartbeat")
        listening = asyncio.create_task(self.listen_forever(), name="listen")
        try:
            while not should_stop(self.ctx):
                self.wake.clear()  # before the claim: a run queued after it wakes us
                self.queued.clear()
                claimed = None
                if len(self.in_flight) < self.capacity:
                    claimed = await self._claim_safely()
                if claimed is None:
                    await self.idle()
                else:  # more may be queued: their home (or idler) workers claim first
                    await asyncio.sleep(claim_delay(len(self.in_flight), self.is_home(claimed)))
            if self.in_flight:
                await asyncio.wait(list(self.in_flight.values()))
        finally:
            beating.cancel()
            listening.cancel()
            for adapter in self.adapters.values():
                await adapter.close()

    async def _claim_safely(self) -> int | None:
        try:
            return await self.claim()
        except Exception as error:  # the database is away: look again in a moment
            log.warning("run.claim_failed", error=str(error))
            return None


def run(ctx: ChildContext) -> None:
    start_child(ctx)
    pool = db.create_pool(ctx.database_url, min_size=1, max_size=DB_CONNECTIONS)
    try:
        asyncio.run(Worker(ctx, pool).serve())
    finally:
        pool.close()
