"""The process's one listening connection: LISTEN mm_live, read what changed, fan out.

Per notification the listener reads what changed once, through the API's pool (the
run; and after a successful harvest the markets it wrote, for the exchanges somebody
here watches), and hands it to the `Hub`. When the connection drops, or a read fails, it
reconnects with backoff and re-reads the changes after the last data version it saw,
so a notification missed meanwhile is handled late rather than lost.

`data_version` is the process's data version: the newest change it has handled.
`epoch` is what the response cache keys on: it moves at each notification as soon as it
is read (before the reads it leads to), and at each (re)connection; it is None while the
listener is not listening, when notifications may be lost. `unsettled()` says that
input waits unread on its socket (a notification that has arrived, which the event loop
has not handed to the listener yet): the cache then answers nothing kept from before
it. `data_version` cannot serve there: versions are taken in order but commit out of
order, so a late one leaves the highest unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import psycopg
import structlog
from psycopg_pool import AsyncConnectionPool

from graphql_api.database import Database
from graphql_api.errors import ServiceUnavailable
from graphql_api.live.changes import (
    Change,
    ChangedMarkets,
    RecentVersions,
    exchanges_with_new_markets,
)
from graphql_api.live.hub import Hub
from graphql_api.types.market import Market
from graphql_api.types.run import HarvestRun
from marketmanager.run_events import CHANNEL

log = structlog.get_logger()

MIN_BACKOFF, MAX_BACKOFF = 0.2, 10.0
IDLE_CHECK_SECONDS = 30.0  # with no notification for this long, check the connection


class Listener:
    def __init__(self, url: str, pool: AsyncConnectionPool[Any], hub: Hub) -> None:
        self.url = url
        self.db = Database(pool)
        self.hub = hub
        self.versions = RecentVersions()
        self.markets = ChangedMarkets()
        self.listening = asyncio.Event()  # set while LISTEN is in place
        self.reconnects = 0
        self._epoch = 0
        self._unread: select.poll | None = None  # the listening socket, polled for input
        self._task: asyncio.Task[None] | None = None
        self._started = False

    @property
    def data_version(self) -> int:
        return self.versions.highest

    @property
    def epoch(self) -> int | None:
        return self._epoch if self.listening.is_set() else None

    def unsettled(self) -> bool:
        """Input waits unread on the listening socket (one poll(2), no wait)."""
        unread = self._unread
        return unread is not None and bool(unread.poll(0))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="live-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        backoff = MIN_BACKOFF
        while True:
            try:
                await self._listen()
            except (psycopg.Error, OSError, TimeoutError, ServiceUnavailable) as error:
                log.warning("live.listener_lost", error=str(error), retry_in=backoff)
            self.listening.clear()
            self.reconnects += 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def _listen(self) -> None:
        async with await psycopg.AsyncConnection.connect(
            self.url, autocommit=True, connect_timeout=5
        ) as conn:
            try:
                await conn.execute(f"LISTEN {CHANNEL}")
                await self._catch_up()
                self._unread = select.poll()
                self._unread.register(conn.pgconn.socket, select.POLLIN)
                self._epoch += 1  # what was missed while away is caught up from here
                self.listening.set()
                log.info("live.listening", data_version=self.data_version)
                while True:
                    async for notify in conn.notifies(timeout=IDLE_CHECK_SECONDS):
                        self._epoch += 1
                        try:
                            change = Change.from_payload(notify.payload)
                        except ValueError as error:
                            log.warning("live.bad_notification", error=str(error))
                            continue
                        if change is not None:
                            await self.handle([change])
                    await conn.execute("SELECT 1")  # raises when the server went away
            finally:
                self.listening.clear()  # at once: notifications may be lost from here
                self._unread = None

    async def _catch_up(self) -> None:
        if not self._started:  # nothing to recover: start from now
            self.versions.mark(await self.db.fetch_value("live_latest_version"))
            self._started = True
            return
        rows = await self.db.fetch_all("live_changes_since", {"after": self.versions.reread_from})
        await self.handle([Change.from_row(row) for row in rows])

    async def handle(self, changes: Sequence[Change]) -> None:
        """Read what `changes` changed, once, and offer it to the hub's subscribers."""
        new = [change for change in changes if self.versions.is_new(change.version)]
        if not new:
            return
        if self.hub.runs:
            await self._publish_runs(new)
        watched = self.hub.watched_exchanges()
        harvested = exchanges_with_new_markets(new) & watched
        if harvested:
            await self._publish_markets(harvested)
        for exchange_id in self.markets.remembered() - watched:
            self.markets.forget(exchange_id)
        for change in new:
            self.versions.mark(change.version)

    async def _publish_runs(self, changes: Sequence[Change]) -> None:
        ids = sorted({change.run_id for change in changes})
        rows = {row["id"]: row for row in await self.db.fetch_all("live_runs_by_id", {"ids": ids})}
        for change in changes:
            row = rows.get(change.run_id)
            if row is not None:  # gone with its exchange
                run = HarvestRun.from_row({**row, "state": change.state})
                self.hub.publish_run(change.exchange_id, run)

    async def _publish_markets(self, exchange_ids: set[int]) -> None:
        params = {"exchange_ids": sorted(exchange_ids)}
        by_exchange: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in await self.db.fetch_all("live_markets_of_last_harvest", params):
            by_exchange[row["exchange_id"]].append(row)
        for exchange_id, rows in by_exchange.items():
            changed = self.markets.changed(exchange_id, rows)
            self.hub.publish_markets(exchange_id, [Market.from_row(row) for row in changed])
