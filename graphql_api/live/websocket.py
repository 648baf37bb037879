"""/graphql over websockets: graphql-transport-ws with a keep-alive ping, the limits
(connections per process, subscriptions per connection) and the token rules of queries.

A browser cannot set headers on a websocket: the token may come in the
``connection_init`` payload as ``{"Authorization": "Bearer …"}`` as well.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

import structlog
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)

from graphql_api.auth import READ, require_scope
from graphql_api.context import Context
from graphql_api.errors import ApiError
from graphql_api.http import GraphQLView, dump_json
from graphql_api.live.service import (
    KEEPALIVE_SECONDS,
    MAX_CONNECTIONS,
    MAX_SUBSCRIPTIONS_PER_CONNECTION,
    LiveUpdates,
)
from marketmanager.settings import Settings

log = structlog.get_logger()


class KeepAliveHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Sends a protocol ``ping`` every KEEPALIVE_SECONDS once the connection is acknowledged,
    so that proxies keep an idle subscription open and clients see the server alive."""

    keepalive_seconds = KEEPALIVE_SECONDS
    _pinger: asyncio.Task[None] | None = None

    def on_request_accepted(self) -> None:
        super().on_request_accepted()
        self._pinger = asyncio.create_task(self._ping())

    async def _ping(self) -> None:
        with contextlib.suppress(Exception):
            while True:
                await asyncio.sleep(self.keepalive_seconds)
                if self.connection_acknowledged:
                    await self.send_message({"type": "ping"})

    async def shutdown(self) -> None:
        if self._pinger is not None:
            self._pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pinger
        await super().shutdown()


class TextFrames(ASGIWebSocketAdapter):
    """graphql-transport-ws messages go in text frames; the view's `encode_json` gives
    bytes (orjson, for HTTP), which strawberry would send as binary frames."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(dump_json(message).decode())
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class LiveGraphQLView(GraphQLView):
    graphql_transport_ws_handler_class = KeepAliveHandler
    websocket_adapter_class = TextFrames  # type: ignore[assignment]
    max_connections = MAX_CONNECTIONS

    def __init__(self, schema: Any, settings: Settings) -> None:
        super().__init__(schema, settings)
        self.max_subscriptions_per_connection = MAX_SUBSCRIPTIONS_PER_CONNECTION

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await super().__call__(scope, receive, send)
            return
        live: LiveUpdates = scope["app"].state.live
        if live.connections >= self.max_connections:  # refused at the handshake: HTTP 403
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1013})
            log.warning("live.connection_refused", reason="too many connections")
            return
        live.connections += 1
        try:
            await super().__call__(scope, receive, send)
        finally:
            live.connections -= 1

    async def on_ws_connect(self, context: Context) -> Any:
        params = context.connection_params or {}
        header = params.get("Authorization", params.get("authorization"))
        if header is not None:
            context.authorization = str(header)
        try:
            if context.authorization is not None or self.settings.api_require_token:
                principal = await context.principal()
                if self.settings.api_require_token:
                    require_scope(principal, READ)
        except ApiError as error:
            log.info("live.connection_refused", reason=str(error))
            raise ConnectionRejectionError({"message": str(error)}) from error
        return await super().on_ws_connect(context)
