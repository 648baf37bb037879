"""Fixtures of the API tests: import `API_FIXTURES`' names into a test module
(``from tests.support.api_fixtures import *``) to use ``api``.

One database and one uvicorn (in a thread) per settings variant serve the whole
session: starting them per test would cost a second each. Each test starts from empty
tables (`api` truncates them).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from marketmanager import db
from tests.support import rows
from tests.support.api_client import Client
from tests.support.api_server import ThreadServer, settings_for


@pytest.fixture(scope="session", name="api_db")
def api_db_fixture(server_url: str, template_db: str) -> Iterator[str]:
    with db.scratch_database(server_url, "mm_api", template=template_db) as url:
        yield url


class Servers:
    """One server per settings variant, started on first use."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.running: dict[tuple[tuple[str, Any], ...], ThreadServer] = {}

    def get(self, **overrides: Any) -> ThreadServer:
        key = tuple(sorted(overrides.items()))
        if key not in self.running:
            settings = settings_for(self.database_url, overrides)
            self.running[key] = ThreadServer(settings).start()
        return self.running[key]

    def stop(self) -> None:
        for server in self.running.values():
            server.stop()


@pytest.fixture(scope="session", name="api_servers")
def api_servers_fixture(api_db: str) -> Iterator[Servers]:
    servers = Servers(api_db)
    yield servers
    servers.stop()


@dataclass
class Api:
    conn: psycopg.Connection[Any]
    servers: Servers
    client: Client

    def variant(self, **overrides: Any) -> Client:
        """A client of a server started with these settings (same database)."""
        return Client(self.servers.get(**overrides).url)


@pytest.fixture(name="api")
def api_fixture(api_db: str, api_servers: Servers) -> Iterator[Api]:
    """Empty tables, a connection to them, and a client of the default server."""
    with db.connect(api_db, autocommit=True) as conn:
        rows.clear(conn)
        client = Client(api_servers.get().url)
        try:
            yield Api(conn, api_servers, client)
        finally:
            client.close()


__all__ = ["Api", "api_db_fixture", "api_fixture", "api_servers_fixture"]
