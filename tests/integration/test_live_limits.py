"""The websocket limits and the keep-alive ping, on an in-process server whose limits a
test may lower."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from starlette.routing import WebSocketRoute
from websockets.exceptions import InvalidStatus

from graphql_api.live.websocket import KeepAliveHandler, LiveGraphQLView
from marketmanager.settings import Settings
from tests.support.api_server import ThreadServer
from tests.support.live_client import LiveClient
from tests.support.processes import wait_for


@pytest.fixture
def server(settings: Settings) -> Iterator[ThreadServer]:
    running = ThreadServer(settings, websockets=True).start()
    try:
        yield running
    finally:
        running.stop()


def view_of(server: ThreadServer) -> LiveGraphQLView:
    for route in server.app.routes:
        if isinstance(route, WebSocketRoute) and route.path == "/graphql":
            assert isinstance(route.endpoint, LiveGraphQLView)
            return route.endpoint
    raise AssertionError("no websocket route at /graphql")


def test_connections_past_the_process_limit_are_refused_at_the_handshake(
    server: ThreadServer,
) -> None:
    view_of(server).max_connections = 1
    first = LiveClient(server.url)
    with pytest.raises(InvalidStatus) as refused:
        LiveClient(server.url)
    assert refused.value.response.status_code == 403
    first.close()
    live = server.app.state.live
    wait_for(lambda: live.connections == 0, 30, "the first connection to be counted out")
    LiveClient(server.url).close()  # room again


def test_an_idle_connection_gets_keep_alive_pings(
    server: ThreadServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(KeepAliveHandler, "keepalive_seconds", 0.2)
    client = LiveClient(server.url)
    try:
        for _ in range(2):
            assert json.loads(client.ws.recv(timeout=30)) == {"type": "ping"}
    finally:
        client.close()
