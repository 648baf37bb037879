"""Subscriptions through a restart of the database: the API's listening connection comes
back by itself and the subscribers receive again, without reconnecting."""

from __future__ import annotations

import httpx
import pytest

from marketmanager import db
from tests.integration.test_live_subscriptions import RUN_UPDATES, queue_runs_until_pushed
from tests.support.api_server import ProcessServer
from tests.support.live_client import LiveClient
from tests.support.restart import restart_database
from tests.support.rows import add_exchange, exchange_row

pytestmark = [pytest.mark.reliability, pytest.mark.server_restart]


def test_subscribers_receive_again_after_the_database_restarts(db_url: str) -> None:
    server = ProcessServer(db_url).start()
    client: LiveClient | None = None
    try:
        with db.connect(db_url, autocommit=True) as conn:
            add_exchange(conn, "binance")
            exchange = exchange_row(conn, "binance")
            client = LiveClient(server.url)
            client.subscribe("runs", RUN_UPDATES)
            queue_runs_until_pushed(conn, exchange["id"], client)
        restart_database(db_url, down_for=3.0)
        with db.connect(db_url, autocommit=True) as conn:  # the old one was cut
            pushed = queue_runs_until_pushed(conn, exchange["id"], client)
        assert all(p["data"]["runUpdates"]["state"] in ("QUEUED", "FAILED") for p in pushed)
        metrics = httpx.get(f"{server.url}/metrics", timeout=30).text
        reconnects = [line for line in metrics.splitlines() if line.startswith("mm_live_listener")]
        assert reconnects and float(reconnects[0].split()[1]) >= 1, reconnects
    finally:
        if client is not None:
            client.close()
        output = server.stop()
    assert '"event": "live.listener_lost"' in output
