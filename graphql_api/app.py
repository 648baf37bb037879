"""The Starlette application: /graphql, /healthz, /readyz.

`create_app(settings)` is the factory; the module-level `app` (what uvicorn serves) is
built from the environment on first import.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import structlog
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL

from graphql_api.schema import schema
from marketmanager import db
from marketmanager.settings import Settings
from sql import MIGRATIONS_DIR, load_migrations

log = structlog.get_logger()


async def healthz(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def readyz(request: Request) -> JSONResponse:
    pool: AsyncConnectionPool = request.app.state.pool
    expected = max((m.version for m in load_migrations(MIGRATIONS_DIR)), default=0)
    try:
        async with pool.connection(timeout=2) as conn:
            cur = await conn.execute(
                "SELECT coalesce(max(version), 0) AS version FROM schema_migrations"
            )
            row: Any = await cur.fetchone()
    except Exception as error:  # any failure to answer means not ready
        log.warning("readyz.failed", error=str(error))
        return JSONResponse({"ready": False, "database": "unreachable"}, status_code=503)
    if row["version"] < expected:
        return JSONResponse({"ready": False, "database": "not migrated"}, status_code=503)
    return JSONResponse({"ready": True})


def create_app(settings: Settings) -> Starlette:
    url = db.database_url(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool = db.create_async_pool(url)
        await pool.open()
        app.state.pool = pool
        try:
            yield
        finally:
            await pool.close()

    graphql = GraphQL(schema)
    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/graphql", graphql, methods=["GET", "POST"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def __getattr__(name: str) -> Any:
    # `uvicorn graphql_api.app:app` imports this lazily, so that importing the module in
    # tests does not read the environment or start a database.
    if name == "app":
        return create_app(Settings.from_env())
    raise AttributeError(name)
