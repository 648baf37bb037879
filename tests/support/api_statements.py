"""How many SQL statements one GraphQL operation runs: `Database.statements` of the
request's context, in this process (the N+1 tests)."""

from __future__ import annotations

import asyncio
from typing import Any

from graphql_api.context import Context
from graphql_api.database import create_pool
from graphql_api.schema import schema
from marketmanager.settings import Settings


def count_statements(
    api_db: str, query: str, variables: dict[str, Any] | None = None
) -> tuple[int, dict[str, Any]]:
    """The statements `query` ran, and its data (errors fail the test)."""

    async def run() -> tuple[int, dict[str, Any]]:
        pool = create_pool(api_db)
        await pool.open()
        try:
            context = Context.create(pool, Settings(database_url=api_db))
            result = await schema.execute(query, variable_values=variables, context_value=context)
            assert result.errors is None, result.errors
            assert result.data is not None
            return context.db.statements, result.data
        finally:
            await pool.close()

    return asyncio.run(run())
