"""`LiveUpdates`: what one API process holds for subscriptions (``app.state.live``).

One hub, one listener, the count of open websockets, and the closing of the connections
of dropped subscribers. `data_version` is the process's one data version (issue 11's
response cache keys on it).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from psycopg_pool import AsyncConnectionPool
from starlette.websockets import WebSocket

from graphql_api.live.hub import Hub
from graphql_api.live.listener import Listener

MAX_CONNECTIONS = 10_000  # open websockets per API process
MAX_SUBSCRIPTIONS_PER_CONNECTION = 20
KEEPALIVE_SECONDS = 15.0  # a graphql-transport-ws ping this often on an idle connection
CLOSE_TOO_SLOW = 4008  # close code for a subscriber that does not keep up
CLOSE_TIMEOUT = 5.0


class LiveUpdates:
    def __init__(self, url: str, pool: AsyncConnectionPool[Any], queue_size: int) -> None:
        self.hub = Hub(queue_size)
        self.listener = Listener(url, pool, self.hub)
        self.connections = 0
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def data_version(self) -> int:
        return self.listener.data_version

    def start(self) -> None:
        self.listener.start()

    async def stop(self) -> None:
        await self.listener.stop()
        for task in list(self._closing):
            task.cancel()

    def close_later(self, websocket: WebSocket, code: int, reason: str) -> None:
        """Close `websocket` without waiting for it (its peer may not be reading)."""

        async def close() -> None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(websocket.close(code=code, reason=reason), CLOSE_TIMEOUT)

        task = asyncio.create_task(close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
