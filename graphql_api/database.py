"""The API's handle on PostgreSQL: an autocommit pool and three verbs that count.

Every statement the API runs goes through `Database`, one per request, which counts
them (the N+1 test reads ``statements``). A verb takes a named query of
``sql/queries.sql`` or a composed statement (`graphql_api.paging.listings`).

A database restart is ordinary: the pool checks each connection as it hands it out and
replaces a dead one; a read whose connection dies under it runs once more; while the
database cannot be reached, a statement waits at most `POOL_TIMEOUT` seconds and fails
with `ServiceUnavailable` (``SERVICE_UNAVAILABLE``), never an internal error.
"""

from __future__ import annotations

import asyncio
import select
from collections.abc import Mapping
from typing import Any

import psycopg
import structlog
from psycopg import AsyncConnection, sql
from psycopg.pq import ExecStatus, TransactionStatus
from psycopg.rows import dict_row
from psycopg.types.numeric import FloatLoader
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from graphql_api.errors import ServiceUnavailable
from marketmanager.db import POOL_TIMEOUT, RECONNECT_TIMEOUT
from sql import queries

log = structlog.get_logger()

Row = dict[str, Any]
Statement = str | sql.Composable  # a query name, or a composed statement

POOL_MIN_SIZE = 2
POOL_MAX_SIZE = 16
UNAVAILABLE_MESSAGE = "the database is unavailable; try again shortly"


async def configure(conn: AsyncConnection[Any]) -> None:
    """numeric columns load as float: GraphQL serves them as Float anyway, and building a
    Decimal for each value only to convert it costs more than the rest of the row.
    Exact values leave the database as text where they must (the keys of cursors)."""
    conn.adapters.register_loader("numeric", FloatLoader)


def quiet(conn: AsyncConnection[Any]) -> bool:
    """Whether a pooled connection is plainly alive without asking the server: open,
    idle, and nothing to read on its socket. A server that ends a session (a restart,
    ``pg_terminate_backend``) says so on the socket, an error message and then end of
    file, which makes it readable; an idle session's socket has nothing to read (the
    API's pool never LISTENs). Two microseconds, where a round trip costs a tenth of a
    page of markets in both processes."""
    pgconn = conn.pgconn
    if conn.closed or pgconn.transaction_status != TransactionStatus.IDLE:
        return False
    poller = select.poll()
    poller.register(pgconn.socket, select.POLLIN)
    return not poller.poll(0)


class SweepingCheck:
    """The pool's check of each connection it hands out: a quiet one (`quiet`) passes,
    any other must answer an empty query. The first dead one found makes it check every
    idle connection at once (`AsyncConnectionPool.check`). After a restart they are all
    dead, and psycopg_pool would otherwise find them one request at a time, pausing
    longer after each (1, 2, 4 s …). A connection that dies after its check fails its
    statement, which a read runs once more (`Database.fetch_all`)."""

    def __init__(self) -> None:
        self.pool: AsyncConnectionPool[Any] | None = None
        self._sweep: asyncio.Task[None] | None = None

    async def __call__(self, conn: AsyncConnection[Any]) -> None:
        if quiet(conn):
            return
        try:
            await AsyncConnectionPool.check_connection(conn)
        except Exception:
            if self.pool is not None and (self._sweep is None or self._sweep.done()):
                self._sweep = asyncio.create_task(self.pool.check())
            raise


def create_pool(url: str) -> AsyncConnectionPool[Any]:
    """Autocommit connections: each API statement is its own transaction (no BEGIN/COMMIT
    round trips), which every read and every mutation here is. Opened in the lifespan."""
    check = SweepingCheck()
    check.pool = AsyncConnectionPool(
        url,
        min_size=POOL_MIN_SIZE,
        max_size=POOL_MAX_SIZE,
        kwargs={"row_factory": dict_row, "autocommit": True},
        configure=configure,
        check=check,
        timeout=POOL_TIMEOUT,  # then SERVICE_UNAVAILABLE
        reconnect_timeout=RECONNECT_TIMEOUT,  # the API is back within seconds of the database
        open=False,
        name="marketmanager-api",
    )
    return check.pool


def returns_rows(cursor: psycopg.AsyncCursor[Any]) -> bool:
    """Whether the statement returned rows (even none): what ``cursor.description is not
    None`` says, without building a `Column` for each column of each statement."""
    result = cursor.pgresult
    return result is not None and (result.nfields > 0 or result.status == ExecStatus.TUPLES_OK)


def is_read(statement: Statement) -> bool:
    """Statements that may run twice: SELECTs (the composed ones are all listings)."""
    if not isinstance(statement, str):
        return True
    return queries[statement].lstrip().upper().startswith("SELECT")


def unavailable(error: Exception) -> ServiceUnavailable:
    log.warning("api.database_unavailable", error=" ".join(str(error).split()))
    return ServiceUnavailable(UNAVAILABLE_MESSAGE)


class Database:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool
        self.statements = 0

    async def fetch_all(
        self, statement: Statement, params: Mapping[str, Any] | None = None
    ) -> list[Row]:
        query = queries[statement] if isinstance(statement, str) else statement
        self.statements += 1
        attempts = 2 if is_read(statement) else 1
        for attempt in range(1, attempts + 1):
            conn: Any = None  # the pool's connection, once it gave one
            try:
                async with self._pool.connection() as conn:
                    cursor = await conn.execute(query, params)
                    rows: list[Row] = await cursor.fetchall() if returns_rows(cursor) else []
                    return rows
            except PoolTimeout as error:
                raise unavailable(error) from error
            except (psycopg.OperationalError, psycopg.InterfaceError) as error:
                if conn is not None and not conn.closed:
                    raise  # the statement failed, not the connection
                if attempt == attempts:
                    raise unavailable(error) from error
        raise AssertionError("unreachable")

    async def fetch_one(
        self, statement: Statement, params: Mapping[str, Any] | None = None
    ) -> Row | None:
        rows = await self.fetch_all(statement, params)
        return rows[0] if rows else None

    async def fetch_value(
        self, statement: Statement, params: Mapping[str, Any] | None = None
    ) -> Any:
        row = await self.fetch_one(statement, params)
        return None if row is None else next(iter(row.values()))
