"""What every resolver gets as ``info.context``: built per request in `get_context`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import strawberry

from graphql_api.auth import Principal, authenticate
from graphql_api.database import Database
from graphql_api.loaders import Loaders
from marketmanager.settings import Settings

if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool


@dataclass
class RequestTrace:
    """What the canonical ``api.request`` log line and the metrics say about a request."""

    operation_name: str | None = None
    operation_type: str | None = None
    error_codes: list[str] = field(default_factory=list)
    refused: bool = False  # refused before execution: an HTTP error or a request error


@dataclass
class Context:
    db: Database
    settings: Settings
    loaders: Loaders
    now: dt.datetime
    authorization: str | None = None
    trace: RequestTrace = field(default_factory=RequestTrace)
    memo: dict[Any, Any] = field(default_factory=dict)  # what resolvers work out once
    request: Any = None
    response: Any = None
    connection_params: dict[str, Any] | None = None  # a websocket's connection_init payload
    _principal: Principal | None = None
    _authenticated: bool = False

    @classmethod
    def create(
        cls,
        pool: AsyncConnectionPool,
        settings: Settings,
        *,
        authorization: str | None = None,
        trace: RequestTrace | None = None,
        **extra: Any,
    ) -> Context:
        db = Database(pool)
        return cls(
            db=db,
            settings=settings,
            loaders=Loaders(db),
            now=dt.datetime.now(dt.UTC),
            authorization=authorization,
            trace=trace or RequestTrace(),
            **extra,
        )

    def release(self) -> None:
        """Let go of the request's rows once the response is made (see `Loaders.release`)."""
        self.loaders.release()
        self.memo.clear()

    async def principal(self) -> Principal | None:
        """The caller's token (looked up once per request); UNAUTHENTICATED if bad."""
        if not self._authenticated:
            self._principal = await authenticate(self.db, self.authorization)
            self._authenticated = True
        return self._principal


Info = strawberry.Info[Context, None]
