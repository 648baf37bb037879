"""A graphql-transport-ws client over `websockets` (blocking), as a subscriber would speak it."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from typing import Any
from urllib.parse import urlsplit

from websockets.sync.client import ClientConnection, connect

PROTOCOL = "graphql-transport-ws"


def ws_url(http_url: str) -> str:
    return http_url.replace("http://", "ws://", 1) + "/graphql"


class LiveClient:
    """``LiveClient(api.url)`` connects and is acknowledged; `subscribe` then `next`.

    A `stalled` client stops taking messages off the socket as soon as one waits
    unread, with a small receive buffer and no compression (so that the buffers on the
    way fill in a bounded number of pushes): a subscriber that stopped reading.
    """

    def __init__(
        self, http_url: str, payload: dict[str, Any] | None = None, *, stalled: bool = False
    ) -> None:
        self._stack = contextlib.ExitStack()
        options: dict[str, Any] = {}
        if stalled:
            address = urlsplit(http_url)
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect((address.hostname, address.port))
            options = {"sock": sock, "max_queue": 1, "compression": None}
        self.ws: ClientConnection = self._stack.enter_context(
            connect(ws_url(http_url), subprotocols=[PROTOCOL], open_timeout=30, **options)  # type: ignore[list-item]
        )
        self.send({"type": "connection_init", "payload": payload or {}})
        ack = self.receive(30)
        assert ack["type"] == "connection_ack", ack

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send(json.dumps(message))

    def receive(self, timeout: float) -> dict[str, Any]:
        """The next message other than a ping (answered with a pong)."""
        deadline = time.monotonic() + timeout
        while True:
            message: dict[str, Any] = json.loads(
                self.ws.recv(timeout=max(deadline - time.monotonic(), 0.001))
            )
            if message["type"] == "ping":
                self.send({"type": "pong"})
                continue
            return message

    def subscribe(self, operation_id: str, query: str, variables: dict[str, Any] | None = None):
        self.send(
            {
                "id": operation_id,
                "type": "subscribe",
                "payload": {"query": query, "variables": variables or {}},
            }
        )

    def next(self, timeout: float) -> dict[str, Any]:
        """The payload of the next `next` message; AssertionError on anything else."""
        message = self.receive(timeout)
        assert message["type"] == "next", message
        payload: dict[str, Any] = message["payload"]
        return payload

    def close(self) -> None:
        self._stack.close()
