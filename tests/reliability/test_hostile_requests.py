"""Issue 8, suite 5: hostile shapes of request (deep nesting, alias floods, huge lists,
batches, oversized and non-UTF-8 bodies) and SQL-looking text in every string argument
of the schema: each is refused with a 4xx or a coded error, or answered correctly, and
nothing in the database changes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import graphql
import httpx
import pytest

from graphql_api.limits import MAX_ALIASES, MAX_BODY_BYTES
from graphql_api.schema import schema
from tests.support import rows
from tests.support.api_client import GRAPHQL_RESPONSE
from tests.support.api_fixtures import *  # noqa: F403  (the api fixtures)
from tests.support.api_fixtures import Api

pytestmark = pytest.mark.reliability

SQL_LOOKING = [
    "'; DROP TABLE exchanges; --",
    "binance' OR '1'='1",
    'binance" OR "1"="1',
    "%",
    "_",
    "\\",
    "$$; DELETE FROM markets; $$",
    "1; SELECT pg_sleep(30)",
    "') UNION SELECT token_sha256::text FROM api_tokens --",
    "E'\\x27' OR 1=1",
]
USE_MARKS = ("last_used_at",)  # when a token was last used: using one is what these do
REFUSED_CODES = {"BAD_USER_INPUT", "NOT_FOUND", "GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED"}


@pytest.fixture
def seeded(api: Api) -> Iterator[tuple[str, dict[str, str]]]:
    """binance with markets and a run, an admin token; and the tables' contents, which
    must be the same after the test."""
    exchange = rows.add_exchange(api.conn, "binance")
    rows.markets(api.conn, exchange, 30)
    rows.run(api.conn, exchange, "SUCCEEDED")
    token = rows.token(api.conn, "admin", "admin")
    before = rows.table_contents(api.conn, ignoring=USE_MARKS)
    yield token, before
    assert rows.table_contents(api.conn, ignoring=USE_MARKS) == before, (
        "a hostile request changed the database"
    )


def _is_string(type_: graphql.GraphQLInputType) -> bool:
    return graphql.get_named_type(type_) in (graphql.GraphQLString, graphql.GraphQLID)


def _required_literal(type_: graphql.GraphQLInputType) -> str:
    named = graphql.get_named_type(type_)
    return '"binance"' if _is_string(named) else "60" if named is graphql.GraphQLInt else "true"


def _selection(field: graphql.GraphQLField) -> str:
    """Nothing for a leaf; a connection's totalCount (which must come out 0); else a name."""
    named = graphql.get_named_type(field.type)
    if graphql.is_leaf_type(named):
        return ""
    assert isinstance(named, graphql.GraphQLObjectType)
    return " { totalCount }" if "totalCount" in named.fields else " { __typename }"


def _argument_variants(field: graphql.GraphQLField) -> Iterator[tuple[str, str, str]]:
    """(label, arguments with $s in one string place, $s's type) for each string place
    of `field`'s arguments, top level or inside an input object."""
    for name, argument in field.args.items():
        others = [
            f"{n}: {_required_literal(a.type)}"
            for n, a in field.args.items()
            if n != name and graphql.is_non_null_type(a.type)
        ]
        if _is_string(argument.type):
            yield name, ", ".join([f"{name}: $s", *others]), str(argument.type)
        named = graphql.get_named_type(argument.type)
        if isinstance(named, graphql.GraphQLInputObjectType):
            for inner, input_field in named.fields.items():
                if not _is_string(input_field.type):
                    continue
                required = [
                    f"{n}: {_required_literal(f.type)}"
                    for n, f in named.fields.items()
                    if n != inner and graphql.is_non_null_type(f.type)
                ]
                value = "{" + ", ".join([f"{inner}: $s", *required]) + "}"
                yield (
                    f"{name}.{inner}",
                    ", ".join([f"{name}: {value}", *others]),
                    str(input_field.type),
                )


def string_places() -> list[tuple[str, str]]:
    """(label, operation with a `$s` variable) for every string argument of the schema:
    the root fields of Query and Mutation, and the fields of Exchange (under binance)."""
    gql = schema._schema
    places = []
    roots = [("query", gql.query_type, "{}"), ("mutation", gql.mutation_type, "{}")]
    roots.append(("query", gql.get_type("Exchange"), 'exchange(name: "binance") {{ {} }}'))
    for kind, owner, wrap in roots:
        assert isinstance(owner, graphql.GraphQLObjectType)
        for name, field in owner.fields.items():
            for label, arguments, type_ in _argument_variants(field):
                body = wrap.format(f"{name}({arguments}){_selection(field)}")
                places.append(
                    (f"{owner.name}.{name}({label})", f"{kind}($s: {type_}) {{ {body} }}")
                )
    return places


PLACES = string_places()


def test_every_string_argument_is_covered() -> None:
    labels = {label for label, _ in PLACES}
    assert {"Query.markets(search)", "Mutation.createExchange(input.apiUrl)"} <= labels
    assert "Exchange.markets(search)" in labels and len(labels) >= 15


def _empty_answers(value: object) -> bool:
    """No row leaks out: every totalCount is 0, every nodes list empty."""
    if isinstance(value, dict):
        for key, item in value.items():
            if (key == "totalCount" and item != 0) or (key == "nodes" and item != []):
                return False
            if not _empty_answers(item):
                return False
    if isinstance(value, list):
        return all(_empty_answers(item) for item in value)
    return True


@pytest.mark.parametrize(("label", "operation"), PLACES, ids=[p[0] for p in PLACES])
def test_sql_looking_text_in_every_string_argument(
    api: Api, seeded: tuple[str, dict[str, str]], label: str, operation: str
) -> None:
    token, _ = seeded
    for text in SQL_LOOKING:
        value: object = [text] if operation.startswith(("query($s: [", "mutation($s: [")) else text
        response = api.client.post(operation, {"s": value}, token=token)
        assert response.status_code == 200, response.text
        payload = response.json()
        codes = {e["extensions"]["code"] for e in payload.get("errors", [])}
        assert codes <= REFUSED_CODES, (label, text, payload)
        assert _empty_answers(payload.get("data")), (label, text, payload)


def _post_raw(api: Api, body: bytes, **headers: str) -> httpx.Response:
    sent = {"content-type": "application/json", "accept": GRAPHQL_RESPONSE, **headers}
    return api.client.http.post(api.client.url, content=body, headers=sent)


def _codes(response: httpx.Response) -> set[str]:
    return {e["extensions"]["code"] for e in response.json()["errors"]}


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{" + 'exchange(name: "a") {' * 1_400 + "id" + "}" * 1_401, "GRAPHQL_PARSE_FAILED"),
        (
            '{ market(exchange: "a", symbol: "b") {'
            + " exchange { markets(first: 1) { nodes {" * 13
            + " id"
            + " } } }" * 13
            + " } }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "{ exchanges(filter: {names: " + "[" * 1_400 + "]" * 1_400 + "}) { totalCount } }",
            "GRAPHQL_PARSE_FAILED",
        ),
        (
            "{ exchanges(filter: {names: " + "[" * 900 + "]" * 900 + "}) { totalCount } }",
            "GRAPHQL_PARSE_FAILED",
        ),
        (
            "{ " + " ".join(f"a{i}: supportedExchanges" for i in range(1_400)) + " }",
            "GRAPHQL_PARSE_FAILED",
        ),
        (
            "{ " + " ".join(f"a{i}: supportedExchanges" for i in range(200)) + " }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (
            "{ " + " ".join(f"a{i}: __typename" for i in range(MAX_ALIASES + 1)) + " }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
        ("query A { __typename } query B { __typename }", "GRAPHQL_VALIDATION_FAILED"),
        (
            "{ __typename ...F } fragment F on Query { ...G } fragment G on Query { ...F }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ],
    ids=[
        "deep-selection",
        "depth-40",
        "deep-list-literal",
        "deep-list-900",
        "alias-flood-tokens",
        "alias-flood-200",
        "aliases-over-limit",
        "two-operations",
        "fragment-cycle",
    ],
)
def test_hostile_documents_are_refused_with_a_code(
    api: Api, seeded: tuple[str, dict[str, str]], query: str, code: str
) -> None:
    response = _post_raw(api, json.dumps({"query": query}).encode())
    assert response.status_code == 400, response.text
    assert _codes(response) == {code}, response.text


def test_huge_lists_are_answered(api: Api, seeded: tuple[str, dict[str, str]]) -> None:
    names = [f"exchange-{i}" for i in range(6_000)] + ["binance"]
    query = "query($n: [String!]) { exchanges(filter: {names: $n}) { totalCount nodes { name } } }"
    got = api.client.query(query, {"n": names})
    assert got == {"exchanges": {"totalCount": 1, "nodes": [{"name": "binance"}]}}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b'[{"query": "{ __typename }"}, {"query": "{ __typename }"}]', 400, "BAD_REQUEST"),
        (b"[" + b'{"query": "{ __typename }"},' * 2_000 + b"{}]", 400, "BAD_REQUEST"),
        (
            b'{"query": "{ __typename }", "x": "' + b"a" * MAX_BODY_BYTES + b'"}',
            413,
            "PAYLOAD_TOO_LARGE",
        ),
        (b'{"query": "{ exchange(name: \\"\xc3\x28\\") { id } }"}', 400, "BAD_REQUEST"),
        (b'{"query": "{ __typename }", "variables": {"s": "\xed\xbf\xbf"}}', 400, "BAD_REQUEST"),
        (b"\xff\xfe{\x00}", 400, "BAD_REQUEST"),
    ],
    ids=["batch", "big-batch", "oversized", "invalid-utf8", "utf8-surrogate", "utf16-bom"],
)
def test_hostile_bodies_get_4xx(
    api: Api, seeded: tuple[str, dict[str, str]], body: bytes, status: int, code: str
) -> None:
    token, _ = seeded
    response = _post_raw(api, body, authorization=f"Bearer {token}")
    assert response.status_code == status, response.text
    assert _codes(response) == {code}


def test_the_api_still_answers_after_the_hostile_requests(
    api: Api, seeded: tuple[str, dict[str, str]]
) -> None:
    assert api.client.query('{ exchange(name: "binance") { markets { totalCount } } }') == {
        "exchange": {"markets": {"totalCount": 30}}
    }
