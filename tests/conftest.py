"""Shared fixtures: a real PostgreSQL, a migrated template, a fresh database per test.

The server is ``DATABASE_URL`` when set, otherwise the embedded one (under
``var/test-pg``; its data is kept between runs, and the server is stopped when the
session ends, so that `make test` leaves no process behind). Each session migrates a
template database once; each test that asks for ``db_url`` gets its own
``CREATE DATABASE … TEMPLATE …`` copy (made while the test before it ran), dropped
afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from marketmanager import db
from marketmanager.migrations import migrate
from marketmanager.settings import Settings
from tests.support.databases import TemplateCopies

REPO = Path(__file__).resolve().parent.parent
# The suite keeps an API server per settings variant for the whole session (each with its
# pool) while acceptance tests run whole process trees beside them: more than the
# default 100 connections at peak. The embedded test server gets room for that.
TEST_SERVER_CONNECTIONS = 300


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--only-using",
        action="append",
        default=[],
        metavar="FIXTURE",
        help="run only the tests that use FIXTURE, directly or through other fixtures "
        "(CI's later passes: only what the server or setting they change can reach)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = config.getoption("only_using")
    if not wanted:
        return
    kept, dropped = [], []
    for item in items:
        uses = set(getattr(item, "fixturenames", ()))
        (kept if uses.issuperset(wanted) else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _embedded_test_server(data_dir: Path) -> str:
    """The embedded test server's URL, restarted once with TEST_SERVER_CONNECTIONS."""
    from marketmanager.embedded import embedded_database_url, restart_embedded

    url = embedded_database_url(data_dir)
    with db.connect(url, autocommit=True) as conn:
        row = conn.execute("SHOW max_connections").fetchone()
        if row is not None and int(row["max_connections"]) >= TEST_SERVER_CONNECTIONS:
            return url
        conn.execute(f"ALTER SYSTEM SET max_connections = {TEST_SERVER_CONNECTIONS}".encode())
    restart_embedded(data_dir)
    return url


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """URL of the PostgreSQL server the suite runs against (any database on it)."""
    explicit = os.environ.get("DATABASE_URL")
    if explicit:
        yield explicit
        return
    from marketmanager.embedded import stop_embedded

    data_dir = REPO / "var" / "test-pg"
    try:
        yield _embedded_test_server(data_dir)
    finally:
        stop_embedded(data_dir)


@pytest.fixture(scope="session")
def template_db(server_url: str) -> Iterator[str]:
    """The name of a database migrated once for the session, copied by `db_url`."""
    with db.scratch_database(server_url, "mm_tpl") as url:
        with db.connect(url) as conn:
            migrate(conn)
        yield urlsplit(url).path.lstrip("/")


@pytest.fixture
def empty_db_url(server_url: str) -> Iterator[str]:
    """A new database with nothing in it (for migration tests)."""
    with db.scratch_database(server_url, "mm_test") as url:
        yield url


@pytest.fixture(scope="session")
def template_copies(server_url: str, template_db: str) -> Iterator[TemplateCopies]:
    """Copies of the template for `db_url`, the next one made while a test runs."""
    copies = TemplateCopies(server_url, template_db)
    yield copies
    copies.close()


@pytest.fixture
def db_url(template_copies: TemplateCopies) -> Iterator[str]:
    """A new, migrated database for this test alone."""
    name, url = template_copies.take()
    try:
        yield url
    finally:
        template_copies.drop(name)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection (dict rows) to this test's database."""
    with db.connect(db_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Settings pointing at this test's database, with a private data dir."""
    return Settings(database_url=db_url, data_dir=tmp_path / "data").resolved()
