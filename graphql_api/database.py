"""The API's handle on PostgreSQL: an autocommit pool and three verbs that count.

Every statement the API runs goes through `Database`, one per request, which counts
them (the N+1 test reads ``statements``). A verb takes a named query of
``sql/queries.sql`` or a composed statement (`graphql_api.paging.listings`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.rows import dict_row
from psycopg.types.numeric import FloatLoader
from psycopg_pool import AsyncConnectionPool

from sql import queries

Row = dict[str, Any]
Statement = str | sql.Composable  # a query name, or a composed statement

POOL_MIN_SIZE = 2
POOL_MAX_SIZE = 16


async def configure(conn: AsyncConnection[Any]) -> None:
    """numeric columns load as float: GraphQL serves them as Float anyway, and building a
    Decimal for each value only to convert it costs more than the rest of the row.
    Exact values leave the database as text where they must (the keys of cursors)."""
    conn.adapters.register_loader("numeric", FloatLoader)


def create_pool(url: str) -> AsyncConnectionPool[Any]:
    """Autocommit connections: each API statement is its own transaction (no BEGIN/COMMIT
    round trips), which every read and every mutation here is. Opened in the lifespan."""
    return AsyncConnectionPool(
        url,
        min_size=POOL_MIN_SIZE,
        max_size=POOL_MAX_SIZE,
        kwargs={"row_factory": dict_row, "autocommit": True},
        configure=configure,
        open=False,
        name="marketmanager-api",
    )


class Database:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool
        self.statements = 0

    async def fetch_all(
        self, statement: Statement, params: Mapping[str, Any] | None = None
    ) -> list[Row]:
        query = queries[statement] if isinstance(statement, str) else statement
        self.statements += 1
        async with self._pool.connection() as conn:
            cursor = await conn.execute(query, params)
            rows: list[Row] = await cursor.fetchall() if cursor.description else []
            return rows

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
