"""Database access: where the database is, connections and pools, three query verbs.

`database_url(settings)` is ``DATABASE_URL`` when set, otherwise the embedded server's
(started on first use). Statements come from `sql.queries` by name; rows are dicts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from marketmanager.errors import DatabaseUnavailable
from marketmanager.settings import Settings, mask_password
from sql import compose, queries

Row = dict[str, Any]
Params = Mapping[str, Any] | None


def database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    from marketmanager.embedded import embedded_database_url

    return embedded_database_url(settings.data_dir)


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection[Row]:
    """A connection with dict rows, or `DatabaseUnavailable` with a readable message."""
    try:
        return psycopg.connect(url, row_factory=dict_row, autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        reason = lines[0] if lines else "no answer"
        raise DatabaseUnavailable(
            f"cannot reach the database at {mask_password(url)}: {reason}"
        ) from error


def _pool_options(name: str, min_size: int, max_size: int) -> dict[str, Any]:
    return {
        "min_size": min_size,
        "max_size": max_size,
        "kwargs": {"row_factory": dict_row},
        "name": name,
    }


# Seconds a pool keeps retrying (with growing pauses) to replace a lost connection
# before it gives up and lets the next request start afresh: this bounds the pause
# between attempts, so that a pool is back within seconds of its database.
RECONNECT_TIMEOUT = 3.0
# Seconds a caller waits for a pooled connection: while the database is away, callers
# fail this fast and ask again, and asking again is what starts a new connection
# attempt once the pool's own attempts gave up.
POOL_TIMEOUT = 5.0


def create_pool(url: str, *, min_size: int = 1, max_size: int = 4) -> ConnectionPool:
    """A pool that checks each connection it hands out. The first dead one found has
    every idle one checked at once: after a database restart they are all dead, and
    psycopg_pool would otherwise find them one at a time, pausing 1, 2, 4 s between."""

    def check(conn: psycopg.Connection[Any]) -> None:
        try:
            ConnectionPool.check_connection(conn)
        except Exception:
            pool.check()
            raise

    options = _pool_options("marketmanager", min_size, max_size)
    pool = ConnectionPool(
        url,
        open=True,
        check=check,
        timeout=POOL_TIMEOUT,
        reconnect_timeout=RECONNECT_TIMEOUT,
        **options,
    )
    return pool


def create_async_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> AsyncConnectionPool:
    """An async pool, not yet opened: ``await pool.open()`` in the app's lifespan."""
    options = _pool_options("marketmanager-api", min_size, max_size)
    return AsyncConnectionPool(url, open=False, **options)


def execute(conn: psycopg.Connection[Any], name: str, params: Params = None) -> int:
    """Run the named statement; return the number of rows it touched."""
    with conn.cursor() as cur:
        cur.execute(queries[name], params or {})
        return cur.rowcount


def fetch_one(conn: psycopg.Connection[Any], name: str, params: Params = None) -> Row | None:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(queries[name], params or {})
        return cur.fetchone()


def fetch_all(conn: psycopg.Connection[Any], name: str, params: Params = None) -> list[Row]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(queries[name], params or {})
        return cur.fetchall()


def with_database(url: str, dbname: str) -> str:
    """`url` pointing at database `dbname` instead (query string and credentials kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + dbname))


def scratch_name(prefix: str) -> str:
    """A fresh database name starting with `prefix`."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def create_database(server_url: str, name: str, *, template: str | None = None) -> str:
    """Create database `name` on `server_url` (a copy of `template`, if given); its URL."""
    database = sql.Identifier(name)
    create = (
        compose(
            "create_database_from_template", database=database, template=sql.Identifier(template)
        )
        if template
        else compose("create_database", database=database)
    )
    with connect(with_database(server_url, "postgres"), autocommit=True) as admin:
        admin.execute(create)
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    """Drop database `name` if it exists, open connections or not."""
    with connect(with_database(server_url, "postgres"), autocommit=True) as admin:
        admin.execute(compose("drop_database", database=sql.Identifier(name)))


@contextmanager
def scratch_database(server_url: str, prefix: str, *, template: str | None = None) -> Iterator[str]:
    """A new database on `server_url` (a copy of `template`, if given) for the block's
    duration; its URL. Dropped afterwards, open connections or not (tests, benchmarks)."""
    name = scratch_name(prefix)
    url = create_database(server_url, name, template=template)
    try:
        yield url
    finally:
        drop_database(server_url, name)
