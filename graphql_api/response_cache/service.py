"""The request side of the response cache: `ResponseCache.lookup` before execution,
`Pending.finish` after it.

The race that matters: a write commits and is announced while a request executes. The
epoch is read *before* executing (with no pause between reading it and looking up), the
body is kept under that epoch, and only if the epoch has not moved meanwhile; a request
that starts after an announcement reads the new epoch, a key nothing was kept under.
While the listener is not listening (not yet connected, or reconnecting after a database
restart) announcements may be lost, so nothing is served nor kept. While a notification
waits unread on its socket (`settled()` is false), nothing kept is served: requests
asking then execute anew, once for all those asking the same at the same time.

A mutation executed by this process moves the epoch at once (`note_write`), so that its
caller's next query sees it even before the listener hears of it.

Identical requests that miss together execute once: the others wait for its body
(single flight), kept or not; when it has errors, they execute on their own.

Not kept (a bypass): mutations, subscriptions, documents with a volatile field
(`policy.VOLATILE`), a request the cache cannot read (the normal path answers it, with
its error), a token that does not authenticate, and answers with errors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import GraphQLSchema
from starlette.requests import Request

from graphql_api.auth import READ, Principal
from graphql_api.errors import ApiError
from graphql_api.response_cache.policy import Judge
from graphql_api.response_cache.store import ResponseStore

MAX_ENTRIES = 10_000
ANONYMOUS: tuple[str, ...] = ()
UNSETTLED = "unsettled"  # the last part of the key of a flight while input waits unread

Authenticate = Callable[[Request, str], Awaitable[Principal | None]]


@dataclass
class Hit:
    body: bytes
    operation_name: str | None


@dataclass
class Pending:
    """A request that executes and whose body is kept if it can be."""

    cache: ResponseCache
    epoch: int
    key: Hashable
    flight: asyncio.Future[bytes | None] = field(repr=False)
    keep: bool = True  # False: only shared with those asking meanwhile (unsettled)

    def finish(self, body: bytes | None) -> bool:
        """Keep `body` (None: the answer may not be kept); True when it was kept."""
        return self.cache._land(self, body)


class ResponseCache:
    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        epoch: Callable[[], int | None],
        settled: Callable[[], bool],
        authenticate: Authenticate,
        require_token: bool,
        max_bytes: int,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self.judge = Judge(schema)
        self.announced = epoch
        self.written = 0  # mutations executed here: see `note_write`
        self.settled = settled
        self.authenticate = authenticate
        self.require_token = require_token
        self.store = ResponseStore(max_entries, max_bytes)
        self.counters = self.store.counters
        self._flights: dict[Hashable, asyncio.Future[bytes | None]] = {}

    def epoch(self) -> int | None:
        """The listener's epoch plus this process's own writes; None while not listening."""
        announced = self.announced()
        return None if announced is None else announced + self.written

    def note_write(self) -> None:
        """A mutation ran here: its caller's next query must see it, before the write's
        announcement comes back through the listener."""
        self.written += 1

    async def lookup(self, request: Request) -> Hit | Pending | None:
        """A kept body; or the pending entry to finish after executing; None: bypass."""
        asked = await self._key(request)
        epoch = self.epoch()  # before executing: an announcement from here on is a new key
        if asked is None or epoch is None:
            self._bypass("not kept" if asked is None else "not listening")
            return None
        settled = self.settled()
        key = (*asked, epoch) if settled else (*asked, epoch, UNSETTLED)
        body = self.store.get(epoch, key) if settled else None
        if body is not None:
            self.counters.hits += 1
            return Hit(body, asked[2])
        flight = self._flights.get(key)
        if flight is not None:
            body = await asyncio.shield(flight)
            if body is not None:
                self.counters.hits += 1
                return Hit(body, asked[2])
            self._bypass("errors")
            return None
        self.counters.misses += 1
        flight = self._flights[key] = asyncio.get_running_loop().create_future()
        return Pending(self, epoch, key, flight, keep=settled)

    def _bypass(self, reason: str) -> None:
        self.counters.bypasses += 1
        self.counters.bypassed_for[reason] += 1

    def _land(self, pending: Pending, body: bytes | None) -> bool:
        if self._flights.get(pending.key) is pending.flight:
            del self._flights[pending.key]
        kept = pending.keep and body is not None and self.epoch() == pending.epoch
        kept = kept and self.store.put(pending.epoch, pending.key, body)  # type: ignore[arg-type]
        if not pending.flight.done():
            # Its waiters share it even when an announcement came meanwhile (not kept):
            # they asked under the same epoch, so no announcement came between the
            # moment this one read it and theirs, and it executed after that moment.
            pending.flight.set_result(body)
        return kept

    async def _key(self, request: Request) -> tuple[Any, ...] | None:
        """What identifies the answer besides the epoch; None when it may not be kept."""
        asked = await self._asked(request)
        if asked is None:
            return None
        query, variables, operation_name = asked
        verdict = self.judge(query, operation_name)
        if verdict.normalised is None:
            return None
        scope = await self._scope(request)
        if scope is None:
            return None
        return (verdict.normalised, variables, operation_name, scope)

    async def _asked(self, request: Request) -> tuple[str, bytes, str | None] | None:
        """(query, canonical variables, operation name) of a request; None when it is
        not plainly one (the normal path will say what is wrong with it)."""
        if request.method == "POST":
            try:
                data = orjson.loads(await request.body())
            except orjson.JSONDecodeError:
                return None
            if not isinstance(data, dict):
                return None
            variables = data.get("variables")
        elif request.method == "GET":
            data = dict(request.query_params)
            try:
                variables = orjson.loads(data.get("variables") or "null")
            except orjson.JSONDecodeError:
                return None
        else:
            return None
        query, operation_name = data.get("query"), data.get("operationName")
        if not isinstance(query, str) or data.get("extensions"):
            return None
        if operation_name is not None and not isinstance(operation_name, str):
            return None
        if variables is not None and not isinstance(variables, dict):
            return None
        try:
            canonical = orjson.dumps(variables, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            return None
        return query, canonical, operation_name

    async def _scope(self, request: Request) -> tuple[str, ...] | None:
        header = request.headers.get("authorization")
        if header is None:
            return None if self.require_token else ANONYMOUS
        try:
            principal = await self.authenticate(request, header)
        except ApiError:  # a bad token, or the database away: the normal path says so
            return None
        if principal is None or (self.require_token and READ not in principal.scopes):
            return None
        return tuple(sorted(principal.scopes))
