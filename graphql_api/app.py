"""The Starlette application: /graphql (and GraphiQL), the status page at /, /healthz,
/readyz, /metrics.

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
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route, WebSocketRoute

from graphql_api import graphiql, status_page
from graphql_api.auth import Principal, authenticate
from graphql_api.database import Database, create_pool
from graphql_api.http import BodyLimit
from graphql_api.limits import MAX_BODY_BYTES
from graphql_api.live.metrics import LiveCollector
from graphql_api.live.service import LiveUpdates
from graphql_api.live.websocket import LiveGraphQLView
from graphql_api.metrics import ApiMetrics, RequestLog, metrics_endpoint
from graphql_api.response_cache.metrics import CacheCollector
from graphql_api.response_cache.service import ResponseCache
from graphql_api.schema import create_schema
from marketmanager import db
from marketmanager.settings import Settings
from sql import MIGRATIONS_DIR, load_migrations, queries

log = structlog.get_logger()


async def healthz(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def readyz(request: Request) -> JSONResponse:
    pool: AsyncConnectionPool = request.app.state.pool
    expected = max((m.version for m in load_migrations(MIGRATIONS_DIR)), default=0)
    try:
        async with pool.connection(timeout=2) as conn:
            cur = await conn.execute(queries["migrated_version"])
            row: Any = await cur.fetchone()
    except Exception as error:  # any failure to answer means not ready
        log.warning("readyz.failed", error=str(error))
        return JSONResponse({"ready": False, "database": "unreachable"}, status_code=503)
    if row["version"] < expected:
        return JSONResponse({"ready": False, "database": "not migrated"}, status_code=503)
    return JSONResponse({"ready": True})


def create_app(settings: Settings) -> Starlette:
    url = db.database_url(settings)
    metrics = ApiMetrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool = create_pool(url)
        await pool.open()
        app.state.pool = pool
        app.state.live = live = LiveUpdates(url, pool, settings.live_queue_size)
        live.start()
        try:
            yield
        finally:
            await live.stop()
            await pool.close()

    schema = create_schema(
        introspection=settings.api_introspection, fast_executor=settings.api_fast_executor
    )
    view = LiveGraphQLView(schema, settings)
    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint),
        Route("/graphql", view, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", view),
        Mount(graphiql.ASSETS_URL, app=graphiql.assets(), name="graphiql"),
        Route("/", status_page.StatusPage(schema, settings)),
        Mount(status_page.ASSETS_URL, app=status_page.assets(), name="status"),
    ]
    middleware = [
        Middleware(RequestLog, metrics=metrics),
        Middleware(BodyLimit, max_bytes=MAX_BODY_BYTES),
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.metrics = metrics
    metrics.registry.register(LiveCollector(lambda: getattr(app.state, "live", None)))
    if settings.api_cache:
        view.cache = response_cache(app, schema, settings)
        metrics.registry.register(CacheCollector(view.cache))
    return app


def response_cache(app: Starlette, schema: Any, settings: Settings) -> ResponseCache:
    """The process's cache of query answers, keyed on its listener's epoch."""

    def epoch() -> int | None:
        live: LiveUpdates | None = getattr(app.state, "live", None)
        return None if live is None else live.listener.epoch

    def settled() -> bool:
        live: LiveUpdates | None = getattr(app.state, "live", None)
        return live is not None and not live.listener.unsettled()

    async def caller(request: Request, header: str) -> Principal | None:
        return await authenticate(Database(request.app.state.pool), header)

    return ResponseCache(
        schema._schema,
        epoch=epoch,
        settled=settled,
        authenticate=caller,
        require_token=settings.api_require_token,
        max_bytes=settings.api_cache_bytes,
    )


def __getattr__(name: str) -> Any:
    # `uvicorn graphql_api.app:app` imports this lazily, so that importing the module in
    # tests does not read the environment or start a database.
    if name == "app":
        return create_app(Settings.from_env())
    raise AttributeError(name)
