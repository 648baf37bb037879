"""The API through a restart of its database, and while no database answers.

A restart cuts every pooled connection: the next requests must get fresh ones (the pool
checks each connection it hands out, a read whose connection died runs once more), not
``INTERNAL``. While the database cannot be reached, a request gets
``SERVICE_UNAVAILABLE`` (HTTP 503 under application/graphql-response+json) within the
pool's timeout, never ``INTERNAL`` and never a hang.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest

from graphql_api.database import POOL_MAX_SIZE
from marketmanager import db
from tests.support import rows
from tests.support.api_client import GRAPHQL_RESPONSE, Client
from tests.support.api_server import ThreadServer, settings_for
from tests.support.processes import free_port, wait_for
from tests.support.restart import restart_database

pytestmark = [pytest.mark.reliability, pytest.mark.server_restart]

QUERY = "{ exchanges(first: 5) { totalCount nodes { name markets(first: 3) { totalCount } } } }"


def served(database_url: str) -> Iterator[Client]:
    server = ThreadServer(settings_for(database_url, {})).start()
    client = Client(server.url)
    try:
        yield client
    finally:
        client.close()
        server.stop()


@pytest.fixture
def client(db_url: str) -> Iterator[Client]:
    with db.connect(db_url, autocommit=True) as conn:
        exchange_id = rows.add_exchange(conn, "binance")
        rows.markets(conn, exchange_id, 5)
    yield from served(db_url)


def ready(client: Client) -> bool:
    return httpx.get(f"{client.base_url}/readyz", timeout=30).status_code == 200


def test_requests_after_a_database_restart_get_fresh_connections_not_internal(
    client: Client, db_url: str
) -> None:
    # Several requests at once, so that the pool holds several connections when the
    # database restarts under them.
    with ThreadPoolExecutor(8) as pool:
        for result in pool.map(lambda _: client.query(QUERY), range(32)):
            assert result["exchanges"]["totalCount"] == 1
    restart_database(db_url)
    for _ in range(POOL_MAX_SIZE + 2):  # more requests than the pool has connections
        response = client.post(QUERY, accept=GRAPHQL_RESPONSE)
        assert response.status_code == 200, response.text
        assert "errors" not in response.json(), response.json()
        assert response.json()["data"]["exchanges"]["totalCount"] == 1
    wait_for(lambda: ready(client), 30, "/readyz to answer 200")


def test_without_a_database_requests_get_service_unavailable_not_internal(
    server_url: str,
) -> None:
    nowhere = f"postgresql://mm@127.0.0.1:{free_port()}/mm?connect_timeout=2"
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(nowhere).close()  # nothing listens there
    for client in served(nowhere):
        strict = client.post(QUERY, accept=GRAPHQL_RESPONSE)  # the client's timeout: 30 s
        assert strict.status_code == 503, strict.text
        assert strict.headers["content-type"].startswith(GRAPHQL_RESPONSE)
        assert "data" not in strict.json()
        codes = {e["extensions"]["code"] for e in strict.json()["errors"]}
        assert codes == {"SERVICE_UNAVAILABLE"}, strict.json()
        plain = client.post(QUERY, accept="application/json")
        assert plain.status_code == 200, plain.text
        assert {e["extensions"]["code"] for e in plain.json()["errors"]} == {"SERVICE_UNAVAILABLE"}
        # what needs no database still answers
        assert client.query("{ supportedExchanges }")["supportedExchanges"]
        assert httpx.get(f"{client.base_url}/readyz", timeout=30).status_code == 503
