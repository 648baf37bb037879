"""The response cache's pure parts: which documents are kept and under what key
(normalisation, variables, operation, scope, epoch), the bounds of the store and its
eviction, the epoch rules and the single flight of identical misses."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from graphql import get_named_type
from starlette.requests import Request

from graphql_api.auth import Principal
from graphql_api.errors import Unauthenticated
from graphql_api.response_cache.policy import VOLATILE, Judge, judge
from graphql_api.response_cache.service import Hit, Pending, ResponseCache
from graphql_api.response_cache.store import ENTRY_OVERHEAD, ResponseStore
from graphql_api.schema import schema as api_schema

SCHEMA = api_schema._schema
MARKETS = "{ markets(first: 100) { nodes { symbol last } } }"


def kept(query: str, operation_name: str | None = None) -> bool:
    return judge(SCHEMA, query, operation_name).normalised is not None


# -- policy -------------------------------------------------------------------------------


def test_documents_that_differ_only_in_spacing_and_comments_share_one_normalised_form() -> None:
    spaced = "query {\n  markets( first : 100 ) {\n # the page\n nodes { symbol  last } } }"
    assert judge(SCHEMA, MARKETS, None).normalised == judge(SCHEMA, spaced, None).normalised
    other = "{ markets(first: 99) { nodes { symbol last } } }"
    assert judge(SCHEMA, MARKETS, None).normalised != judge(SCHEMA, other, None).normalised


def test_only_queries_are_kept() -> None:
    assert kept(MARKETS)
    assert not kept('mutation { deleteExchange(name: "x") }')
    assert not kept("subscription { runUpdates { id } }")
    assert not kept("{ markets(first: 1 { nodes { id } } }")  # a syntax error
    assert not kept("{ " + "__typename " * 5000 + "}")  # past the schema's token bound


def test_a_document_of_several_operations_is_kept_only_for_the_one_named() -> None:
    document = 'query A { exchanges { nodes { name } } } mutation B { deleteExchange(name: "x") }'
    assert not kept(document)
    assert kept(document, "A")
    assert not kept(document, "B")
    assert not kept(document, "C")


@pytest.mark.parametrize(
    "query",
    [
        "{ status { queueDepth } }",
        "{ backfills { id } }",
        "{ exchanges { nodes { name status { state } } } }",
        "{ markets { nodes { symbol stale } } }",
        '{ market(exchange: "a", symbol: "B/C") { candles(timeframe: "1m", from: "2025-01-01", '
        'to: "2025-01-02") { ts } } }',
        "{ runs { nodes { heartbeatAt } } }",
        "{ exchanges { nodes { ...E } } } fragment E on Exchange { status { state } }",
        "{ markets { nodes { ... on Market { stale } } } }",
        "{ markets { nodes { exchange { runs { nodes { heartbeatAt } } } } } }",
    ],
)
def test_a_field_that_follows_the_clock_or_unannounced_writes_is_never_kept(query: str) -> None:
    assert not kept(query)


def test_introspection_and_announced_fields_are_kept() -> None:
    assert kept("{ __schema { types { name } } }")
    assert kept("{ exchanges { nodes { name lastUpdateAt runs { nodes { state } } } } }")
    assert kept('{ asset(symbol: "BTC/USDT") { vwap markets { last anomalous } } }')


def test_every_volatile_field_named_is_a_field_of_the_schema() -> None:
    for type_name, names in VOLATILE.items():
        gql_type = get_named_type(SCHEMA.get_type(type_name))
        assert gql_type is not None, type_name
        missing = set(names) - set(gql_type.fields)  # type: ignore[union-attr]
        assert not missing, f"{type_name} has no field {missing}: rename it in VOLATILE"


def test_the_judge_remembers_a_bounded_number_of_documents() -> None:
    remembered = Judge(SCHEMA, limit=2)
    first = remembered(MARKETS, None)
    assert remembered(MARKETS, None) is first
    remembered("{ exchanges { nodes { id } } }", None)
    remembered("{ exchanges { nodes { name } } }", None)
    assert remembered(MARKETS, None) is not first  # pushed out, judged again
    assert remembered(MARKETS, None) == first


# -- store --------------------------------------------------------------------------------


def test_the_store_keeps_at_most_its_entries_and_evicts_the_least_recently_used() -> None:
    store = ResponseStore(max_entries=2, max_bytes=10**6)
    store.put(1, "a", b"A")
    store.put(1, "b", b"B")
    assert store.get(1, "a") == b"A"  # now b is the least recently used
    store.put(1, "c", b"C")
    assert (store.get(1, "a"), store.get(1, "b"), store.get(1, "c")) == (b"A", None, b"C")
    assert store.counters.evictions == 1
    assert len(store) == 2


def test_the_store_keeps_at_most_its_bytes_and_refuses_a_body_bigger_than_all() -> None:
    store = ResponseStore(max_entries=100, max_bytes=3 * (ENTRY_OVERHEAD + 100))
    for key in "abc":
        assert store.put(1, key, b"x" * 100)
    assert store.bytes == 3 * (ENTRY_OVERHEAD + 100)
    assert store.put(1, "d", b"x" * 100)
    assert store.get(1, "a") is None and store.counters.evictions == 1
    assert not store.put(1, "huge", b"x" * (3 * (ENTRY_OVERHEAD + 100)))
    assert store.get(1, "huge") is None
    store.put(1, "b", b"y")  # replacing an entry counts its new size only
    assert store.bytes == 2 * (ENTRY_OVERHEAD + 100) + ENTRY_OVERHEAD + 1


def test_a_new_epoch_empties_the_store_and_an_older_one_neither_reads_nor_writes() -> None:
    store = ResponseStore(max_entries=10, max_bytes=10**6)
    store.put(1, "a", b"A")
    assert store.get(2, "a") is None
    assert len(store) == 0 and store.bytes == 0
    assert not store.put(1, "a", b"old")  # computed before the change: never kept
    assert store.get(1, "a") is None
    assert store.epoch == 2
    assert store.counters.evictions == 0  # a new epoch is not an eviction


# -- the request side ---------------------------------------------------------------------


def request(
    body: Any, *, authorization: str | None = None, method: str = "POST", query_string: bytes = b""
) -> Request:
    """A Starlette request as uvicorn would hand it over (no network needed)."""
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    headers = [(b"content-type", b"application/json")]
    if authorization is not None:
        headers.append((b"authorization", authorization.encode()))
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    scope = {"type": "http", "method": method, "path": "/graphql", "headers": headers}
    scope["query_string"] = query_string
    return Request(scope, receive)


class Epoch:
    def __init__(self) -> None:
        self.value: int | None = 1
        self.settled = True  # no notification waits unread

    def __call__(self) -> int | None:
        return self.value


READER = Principal(1, "reader", frozenset({"read"}))
WRITER = Principal(2, "writer", frozenset({"read", "write"}))


async def tokens(request: Request, header: str) -> Principal | None:
    found = {"Bearer r": READER, "Bearer w": WRITER}.get(header)
    if found is None:
        raise Unauthenticated("the token is unknown or revoked")
    return found


def new_cache(epoch: Epoch, *, require_token: bool = False) -> ResponseCache:
    return ResponseCache(
        SCHEMA,
        epoch=epoch,
        settled=lambda: epoch.settled,
        authenticate=tokens,
        require_token=require_token,
        max_bytes=10**6,
    )


async def answer(cache: ResponseCache, req: Request, body: bytes = b"{}") -> bytes | None:
    """What a request gets: a kept body (returned), or None after executing it."""
    found = await cache.lookup(req)
    if isinstance(found, Hit):
        return found.body
    if isinstance(found, Pending):
        found.finish(body)
    return None


@pytest.fixture(name="epoch")
def epoch_fixture() -> Iterator[Epoch]:
    yield Epoch()


def test_the_same_question_asked_differently_is_answered_from_the_cache(epoch: Epoch) -> None:
    async def scenario() -> None:
        cache = new_cache(epoch)
        asked = {"query": "query Q($n: Int, $s: String) { markets(first: $n, search: $s) "
                 "{ nodes { symbol } } }", "variables": {"n": 5, "s": "BTC"}}  # fmt: skip
        assert await answer(cache, request(asked), b"first") is None
        respaced = {**asked, "query": asked["query"].replace(" {", "{\n  ")}
        reordered = {**respaced, "variables": {"s": "BTC", "n": 5}}
        assert await answer(cache, request(reordered)) == b"first"
        other = {**asked, "variables": {"n": 6, "s": "BTC"}}
        assert await answer(cache, request(other)) is None
        named = {**asked, "operationName": "Q"}
        assert await answer(cache, request(named)) is None  # another key, same answer
        assert (cache.counters.hits, cache.counters.misses) == (1, 3)

    asyncio.run(scenario())


def test_each_scope_has_its_own_answers_and_a_bad_token_is_never_answered(epoch: Epoch) -> None:
    async def scenario() -> None:
        cache = new_cache(epoch)
        asked = {"query": MARKETS}
        assert await answer(cache, request(asked), b"anonymous") is None
        assert await answer(cache, request(asked, authorization="Bearer r"), b"reader") is None
        assert await answer(cache, request(asked, authorization="Bearer w"), b"writer") is None
        assert await answer(cache, request(asked)) == b"anonymous"
        assert await answer(cache, request(asked, authorization="Bearer r")) == b"reader"
        assert await answer(cache, request(asked, authorization="Bearer w")) == b"writer"
        assert await cache.lookup(request(asked, authorization="Bearer revoked")) is None
        assert cache.counters.bypasses == 1

    asyncio.run(scenario())


def test_with_tokens_required_an_anonymous_request_is_never_answered(epoch: Epoch) -> None:
    async def scenario() -> None:
        cache = new_cache(epoch, require_token=True)
        asked = {"query": MARKETS}
        assert await cache.lookup(request(asked)) is None
        assert await answer(cache, request(asked, authorization="Bearer r"), b"r") is None
        assert await answer(cache, request(asked, authorization="Bearer r")) == b"r"

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        orjson.dumps({"query": 5}),
        orjson.dumps({"query": MARKETS, "variables": [1]}),
        orjson.dumps({"query": MARKETS, "operationName": 3}),
        orjson.dumps({"query": MARKETS, "extensions": {"persistedQuery": {}}}),
        orjson.dumps({"query": "{ status { queueDepth } }"}),
        orjson.dumps({"query": 'mutation { deleteExchange(name: "x") }'}),
    ],
)
def test_what_is_not_plainly_a_cacheable_query_bypasses(epoch: Epoch, body: bytes) -> None:
    async def scenario() -> None:
        cache = new_cache(epoch)
        assert await cache.lookup(request(body)) is None
        assert cache.counters.bypasses == 1 and len(cache.store) == 0
        assert cache.counters.bypassed_for == {"not kept": 1}

    asyncio.run(scenario())


def test_nothing_is_served_nor_kept_while_the_listener_is_not_listening(epoch: Epoch) -> None:
    async def scenario() -> None:
        cache = new_cache(epoch)
        assert await answer(cache, request({"query": MARKETS}), b"before") is None
        epoch.value = None  # the listener lost its connection
        assert await cache.lookup(request({"query": MARKETS})) is None
        assert cache.counters.bypassed_for == {"not listening": 1}
        epoch.value = 2  # listening again: what was kept before is not served
        assert await answer(cache, request({"query": MARKETS}), b"after") is None
        assert await answer(cache, request({"query": MARKETS})) == b"after"

    asyncio.run(scenario())


def test_an_answer_computed_across_an_announcement_is_not_kept(epoch: Epoch) -> None:
    async def scenario() -> None:
        cache = new_cache(epoch)
        pending = await cache.lookup(request({"query": MARKETS}))
        assert isinstance(pending, Pending)
        epoch.value = 2  # a write was announced while it executed
        assert not pending.finish(b"maybe old")
        assert await answer(cache, request({"query": MARKETS}), b"new") is None
        assert await answer(cache, request({"query": MARKETS})) == b"new"

    asyncio.run(scenario())


def test_identical_misses_execute_once_and_share_the_answer(epoch: Epoch) -> None:
    async def scenario() -> None:
        cache = new_cache(epoch)
        first = await cache.lookup(request({"query": MARKETS}))
        assert isinstance(first, Pending)
        waiters = [asyncio.create_task(cache.lookup(request({"query": MARKETS}))) for _ in range(3)]
        await asyncio.sleep(0)
        assert not any(waiter.done() for waiter in waiters)
        first.finish(b"once")
        assert [found.body for found in await asyncio.gather(*waiters)] == [b"once"] * 3  # type: ignore[union-attr]
        assert (cache.counters.misses, cache.counters.hits) == (1, 3)

    asyncio.run(scenario())


def test_waiters_of_an_answer_that_cannot_be_kept_execute_on_their_own(epoch: Epoch) -> None:
    async def scenario() -> None:
        cache = new_cache(epoch)
        first = await cache.lookup(request({"query": MARKETS}))
        assert isinstance(first, Pending)
        waiter = asyncio.create_task(cache.lookup(request({"query": MARKETS})))
        await asyncio.sleep(0)
        first.finish(None)  # it had errors
        assert await waiter is None
        assert cache.counters.bypasses == 1

    asyncio.run(scenario())


def test_a_mutation_run_here_moves_the_epoch_at_once(epoch: Epoch) -> None:
    async def scenario() -> None:
        cache = new_cache(epoch)
        assert await answer(cache, request({"query": MARKETS}), b"before") is None
        cache.note_write()
        assert await answer(cache, request({"query": MARKETS}), b"after") is None
        assert await answer(cache, request({"query": MARKETS})) == b"after"
        epoch.value = None
        assert cache.epoch() is None

    asyncio.run(scenario())


def test_a_get_shares_the_answers_of_the_same_post(epoch: Epoch) -> None:
    async def scenario() -> None:
        cache = new_cache(epoch)
        variables = {"n": 3}
        query = "query ($n: Int) { markets(first: $n) { nodes { symbol } } }"
        assert await answer(cache, request({"query": query, "variables": variables}), b"A") is None
        params = urlencode({"query": query, "variables": orjson.dumps(variables).decode()})
        got = request(b"", method="GET", query_string=params.encode())
        assert await answer(cache, got) == b"A"
        bad = request(
            b"", method="GET", query_string=urlencode({"query": query, "variables": "{"}).encode()
        )
        assert await cache.lookup(bad) is None

    asyncio.run(scenario())


def test_waiters_share_an_answer_that_an_announcement_kept_from_being_kept(
    epoch: Epoch,
) -> None:
    async def scenario() -> None:
        cache = new_cache(epoch)
        first = await cache.lookup(request({"query": MARKETS}))
        assert isinstance(first, Pending)
        waiter = asyncio.create_task(cache.lookup(request({"query": MARKETS})))
        await asyncio.sleep(0)
        epoch.value = 2  # announced after both asked: they need nothing newer
        assert not first.finish(b"fresh for both")
        found = await waiter
        assert isinstance(found, Hit) and found.body == b"fresh for both"
        assert len(cache.store) == 0
        assert await answer(cache, request({"query": MARKETS}), b"newer") is None

    asyncio.run(scenario())


def test_while_a_notification_waits_unread_nothing_kept_is_served_and_asking_is_shared(
    epoch: Epoch,
) -> None:
    async def scenario() -> None:
        cache = new_cache(epoch)
        assert await answer(cache, request({"query": MARKETS}), b"before") is None
        epoch.settled = False  # a notification arrived; the listener has not read it yet
        first = await cache.lookup(request({"query": MARKETS}))
        assert isinstance(first, Pending)
        waiter = asyncio.create_task(cache.lookup(request({"query": MARKETS})))
        await asyncio.sleep(0)
        assert not first.finish(b"after")  # shared, not kept: its epoch is about to move
        found = await waiter
        assert isinstance(found, Hit) and found.body == b"after"
        epoch.settled, epoch.value = True, 2  # read: the epoch moved
        assert await answer(cache, request({"query": MARKETS}), b"after, kept") is None
        assert await answer(cache, request({"query": MARKETS})) == b"after, kept"

    asyncio.run(scenario())
