"""Issue 8, defect 5: hostile input once reached INTERNAL or HTTP 500; now each is a
BAD_USER_INPUT naming its field, or a 4xx."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from tests.support import rows
from tests.support.api_client import GRAPHQL_RESPONSE
from tests.support.api_fixtures import *  # noqa: F403  (the api fixtures)
from tests.support.api_fixtures import Api

pytestmark = pytest.mark.reliability

NUL = "bad\x00name"
SURROGATE = "bad\udfffname"
CREATE = "mutation($input: CreateExchangeInput!) { createExchange(input: $input) { name } }"
UPDATE = """mutation($name: String!, $input: UpdateExchangeInput!) {
  updateExchange(name: $name, input: $input) { name } }"""
STRING_ARGUMENTS = [  # (query with $s where a string goes, its variable type, field)
    ("query($s: String!) { exchange(name: $s) { id } }", "name"),
    ("query($s: String) { markets(search: $s) { totalCount } }", "search"),
    ("query($s: String) { markets(base: $s) { totalCount } }", "base"),
    ("query($s: String) { runs(exchange: $s) { totalCount } }", "exchange"),
    ('query($s: String!) { market(exchange: $s, symbol: "BTC/USDT") { id } }', "exchange"),
    ("query($s: [String!]) { exchanges(filter: {names: $s}) { totalCount } }", "names"),
    ("mutation($s: String!) { deleteExchange(name: $s) }", "name"),
    ("mutation($s: String!) { runExchange(name: $s) { id } }", "name"),
    ("mutation($s: String!) { createExchange(input: {name: $s}) { id } }", "name"),
    (
        'mutation($s: String) { updateExchange(name: "binance", input: {url: $s}) { id } }',
        "url",
    ),
]


@pytest.fixture
def admin(api: Api) -> str:
    rows.add_exchange(api.conn, "binance")
    return rows.token(api.conn, "admin", "admin")


def _literal(query: str, text: str) -> str:
    """`query` with the string written into the document instead of a variable."""
    body = query.split(")", 1)[1]  # drop the variable definitions
    escaped = json.dumps(text)  # a GraphQL string literal is JSON-escaped text
    value = f"[{escaped}]" if "[String!]" in query else escaped
    return ("mutation" if query.startswith("mutation") else "query") + body.replace("$s", value)


def _variable(query: str, text: str) -> dict[str, object]:
    return {"s": [text] if "[String!]" in query else text}


@pytest.mark.parametrize(("query", "field"), STRING_ARGUMENTS)
def test_nul_in_any_string_argument_is_bad_user_input(
    api: Api, admin: str, query: str, field: str
) -> None:
    by_literal = api.client.errors(_literal(query, NUL), token=admin)
    assert [e[:2] for e in by_literal] == [("BAD_USER_INPUT", field)], by_literal
    by_variable = api.client.errors(query, _variable(query, NUL), token=admin)
    assert [e[:2] for e in by_variable] == [("BAD_USER_INPUT", "$s")], by_variable
    assert "NUL" in by_variable[0][2]


@pytest.mark.parametrize(("query", "field"), STRING_ARGUMENTS)
def test_lone_surrogate_in_a_variable_is_bad_user_input(
    api: Api, admin: str, query: str, field: str
) -> None:
    body = json.dumps({"query": query, "variables": _variable(query, SURROGATE)})  # \\udfff
    headers = {"content-type": "application/json", "authorization": f"Bearer {admin}"}
    response = api.client.http.post(api.client.url, content=body, headers=headers)
    assert response.status_code == 200, response.text
    errors = response.json()["errors"]
    assert [e["extensions"] for e in errors] == [{"code": "BAD_USER_INPUT", "field": "$s"}]


def test_nul_inside_an_input_object_variable_names_the_variable(api: Api, admin: str) -> None:
    variables = {"name": "binance", "input": {"logo": "https://x.example/\x00.png"}}
    assert api.client.errors(UPDATE, variables, token=admin)[0][:2] == ("BAD_USER_INPUT", "$input")
    assert api.conn.execute("SELECT logo FROM exchanges").fetchone()["logo"] is None


def _nested(depth: int) -> str:
    """JSON of `depth` nested arrays (written out: json.dumps itself recurses)."""
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [65, 1_100, 30_000])
def test_deeply_nested_variables_are_refused_with_400(api: Api, depth: int) -> None:
    variables = '{"v": %s}' % _nested(depth)  # noqa: UP031
    query = "query($v: [String!]) { exchanges(filter: {names: $v}) { totalCount } }"
    body = '{"query": "%s", "variables": %s}' % (query, variables)  # noqa: UP031
    headers = {"content-type": "application/json", "accept": GRAPHQL_RESPONSE}
    posted = api.client.http.post(api.client.url, content=body, headers=headers)
    responses = [posted]
    if depth < 2_000:  # GET: within the request line's size limit
        params = {"query": query, "variables": variables}
        responses.append(api.client.http.get(api.client.url, params=params, headers=headers))
    for response in responses:
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_nesting_within_the_limit_is_answered(api: Api) -> None:
    variables = json.loads(_nested(40))
    response = api.client.post(
        "query($v: [String!]) { exchanges(filter: {names: $v}) { totalCount } }",
        {"v": variables},
        accept=GRAPHQL_RESPONSE,
    )
    assert response.status_code == 400  # a list of lists is no [String]: a variable error
    assert response.json()["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "$v"}


def _cursor(ordering: str, keys: list[object]) -> str:
    return base64.urlsafe_b64encode(json.dumps([ordering, keys]).encode()).decode()


@pytest.mark.parametrize(
    ("field", "ordering", "keys"),
    [
        ("markets", "VOLUME_USD_DESC", ["1_000", "1"]),
        ("markets", "VOLUME_USD_DESC", ["1e999999", "1"]),
        ("markets", "VOLUME_USD_DESC", ["١٢٣", "1"]),  # Arabic-Indic digits
        ("markets", "VOLUME_USD_DESC", ["1", "1_0"]),
        ("markets", "VOLUME_USD_DESC", ["1", "٣"]),
        ("markets", "UPDATED_AT_DESC", ["2026-W01-1", "1"]),
        ("markets", "UPDATED_AT_DESC", ["2026-01-01 00:00:00+23:59", "1"]),
        ("markets", "SYMBOL_ASC", ["BTC\x00/USDT", "1"]),
        ("markets", "SYMBOL_ASC", ["BTC\udfff", "1"]),
        ("exchanges", "NAME_ASC", ["bin\x00ance", "1"]),
        ("runs", "NEWEST_FIRST", ["１２"]),  # fullwidth digits
    ],
)
def test_cursor_keys_postgresql_refuses_are_bad_user_input(
    api: Api, field: str, ordering: str, keys: list[object]
) -> None:
    order = f", orderBy: {ordering}" if field != "runs" else ""
    query = f"query($a: String) {{ {field}(first: 2, after: $a{order}) {{ totalCount }} }}"
    after = _cursor(ordering, keys)
    errors = api.client.errors(query, {"a": after})
    assert [e[:2] for e in errors] == [("BAD_USER_INPUT", "after")], errors


@pytest.mark.parametrize("field", ["url", "logo", "apiUrl"])
@pytest.mark.parametrize(
    "url", ["http://[::1", "https://[zz]/x", "http://x.example:99999/", "http://x.example:-1/"]
)
def test_malformed_hosts_and_ports_are_bad_user_input_in_every_url(
    api: Api, admin: str, field: str, url: str
) -> None:
    created = api.client.errors(CREATE, {"input": {"name": "kraken", field: url}}, token=admin)
    assert [e[:2] for e in created] == [("BAD_USER_INPUT", field)], created
    updated = api.client.errors(UPDATE, {"name": "binance", "input": {field: url}}, token=admin)
    assert [e[:2] for e in updated] == [("BAD_USER_INPUT", field)], updated


@pytest.mark.parametrize("content_type", ["APPLICATION/JSON", "Application/Json; Charset=UTF-8"])
def test_media_types_are_case_insensitive(api: Api, content_type: str) -> None:
    response = api.client.http.post(
        api.client.url,
        content=b'{"query": "{ supportedExchanges }"}',
        headers={"content-type": content_type, "accept": GRAPHQL_RESPONSE},
    )
    assert response.status_code == 200, response.text
    assert "binance" in response.json()["data"]["supportedExchanges"]


def test_invalid_utf8_body_is_400(api: Api) -> None:
    response = api.client.http.post(
        api.client.url,
        content=b'{"query": "{ exchange(name: \\"\xff\xfe\\") { id } }"}',
        headers={"content-type": "application/json"},
    )
    assert isinstance(response, httpx.Response) and response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    "body",
    [
        {"query": '{ exchange(name: "\udfff") { id } }'},
        {"query": '{ exchange(name: "\\uDFFF") { id } }'},  # a GraphQL escape of one
        {"query": "query \udfff { __typename }"},
        {"query": "{ __typename }", "operationName": "\udfff"},
        {"query": "query($s: String) { __typename }", "variables": {"\udfff": "x"}},
        {"query": "{ __typename }", "extensions": {"x": "\udfff\x00"}},
    ],
    ids=["literal", "graphql-escape", "name", "operation-name", "variable-name", "extensions"],
)
def test_lone_surrogates_anywhere_get_a_coded_4xx_or_an_answer(
    api: Api, body: dict[str, object]
) -> None:
    response = api.client.http.post(
        api.client.url,
        content=json.dumps(body),  # ASCII: the surrogate travels as \\udfff
        headers={"content-type": "application/json", "accept": GRAPHQL_RESPONSE},
    )
    assert response.status_code < 500, response.text
    codes = {e["extensions"]["code"] for e in response.json().get("errors", [])}
    assert "INTERNAL" not in codes, response.text
