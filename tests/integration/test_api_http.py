"""/graphql per the GraphQL-over-HTTP spec, the limits, auth modes, metrics and logs."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from structlog.testing import capture_logs

from graphql_api import query as query_module
from graphql_api.limits import MAX_ALIASES, MAX_BODY_BYTES, MAX_DEPTH, MAX_TOKENS
from tests.support import rows
from tests.support.api_client import GRAPHQL_RESPONSE
from tests.support.api_fixtures import *  # noqa: F403  (the api fixtures)
from tests.support.api_fixtures import Api

JSON = "application/json"
BOTH = [(JSON, 200), (GRAPHQL_RESPONSE, 400)]


def codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json()["errors"]]


def media(response: httpx.Response) -> str:
    return response.headers["content-type"].split(";")[0]


def test_get_and_post_in_both_media_types(api: Api) -> None:
    query = "query($n: Int) { markets(first: $n) { totalCount } }"
    for accept, expected in [
        (None, JSON),
        ("*/*", JSON),
        (JSON, JSON),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, {JSON};q=0.9", GRAPHQL_RESPONSE),
    ]:
        posted = api.client.post(query, {"n": 1}, accept=accept)
        params = {"query": query, "variables": '{"n": 1}'}
        got = api.client.http.get(api.client.url, params=params, headers={"accept": accept or ""})
        for response in (posted, got):
            assert response.status_code == 200, response.text
            assert media(response) == expected
            assert "charset=utf-8" in response.headers["content-type"]
            assert response.json() == {"data": {"markets": {"totalCount": 0}}}


@pytest.mark.parametrize(("accept", "status"), BOTH)
@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("{ markets { totalCount ", None, "GRAPHQL_PARSE_FAILED"),
        ("{ nope }", None, "GRAPHQL_VALIDATION_FAILED"),
        ("{ markets(orderBy: LOUDEST) { totalCount } }", None, "GRAPHQL_VALIDATION_FAILED"),
        ('{ markets(first: "ten") { totalCount } }', None, "GRAPHQL_VALIDATION_FAILED"),
        ("query($n: Int) { markets(first: $n) { totalCount } }", {"n": "ten"}, "BAD_USER_INPUT"),
        (
            "query($o: MarketOrder) { markets(orderBy: $o) { totalCount } }",
            {"o": "X"},
            "BAD_USER_INPUT",
        ),
        ("query($e: String!) { exchange(name: $e) { name } }", {}, "BAD_USER_INPUT"),
        ("query($e: String!) { exchange(name: $e) { name } }", {"e": 5}, "BAD_USER_INPUT"),
        (
            "query A { supportedExchanges } query B { supportedExchanges }",
            None,
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ],
)
def test_request_errors(
    api: Api, query: str, variables: dict[str, object] | None, code: str, accept: str, status: int
) -> None:
    response = api.client.post(query, variables, accept=accept)
    assert (response.status_code, media(response)) == (status, accept)
    payload = response.json()
    assert "data" not in payload  # nothing was executed
    assert codes(response) == [code] * len(payload["errors"])


def test_bad_variables_name_the_variable(api: Api) -> None:
    query = (
        "query($n: Int, $e: String!) { runs(first: $n) { totalCount } exchange(name: $e) { id } }"
    )
    response = api.client.post(query, {"n": [1]})
    fields = sorted(e["extensions"]["field"] for e in response.json()["errors"])
    assert fields == ["$e", "$n"]


def test_operation_name_picks_one_of_several(api: Api) -> None:
    document = 'query A { supportedExchanges } query B { exchange(name: "x") { id } }'
    got = api.client.query(document, operation_name="B")
    assert got == {"exchange": None}
    assert api.client.errors(document, operation_name="C")[0][0] == "BAD_REQUEST"


def test_field_errors_keep_data_and_200(api: Api) -> None:
    for accept in (JSON, GRAPHQL_RESPONSE):
        response = api.client.post(
            '{ supportedExchanges markets(exchange: "nope") { totalCount } }', accept=accept
        )
        assert response.status_code == 200
        assert response.json()["data"] is None  # markets is non-null: the error nulls data
        assert codes(response) == ["NOT_FOUND"]


def test_mutations_are_refused_over_get(api: Api) -> None:
    rows.add_exchange(api.conn, "binance")
    token = rows.token(api.conn, "w")
    for accept in (JSON, GRAPHQL_RESPONSE):
        response = api.client.http.get(
            api.client.url,
            params={"query": 'mutation { runExchange(name: "binance") { id } }'},
            headers={"accept": accept, "authorization": f"Bearer {token}"},
        )
        assert response.status_code == 405 and response.headers["allow"] == "POST"
        assert codes(response) == ["METHOD_NOT_ALLOWED"]
    assert api.conn.execute("SELECT count(*) AS n FROM harvest_runs").fetchone() == {"n": 0}


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"{not json", JSON, 400, "BAD_REQUEST"),
        (b'{"query": "{ a }"', JSON, 400, "BAD_REQUEST"),
        (b"\xff\xfe{}", JSON, 400, "BAD_REQUEST"),
        (b'"{ supportedExchanges }"', JSON, 400, "BAD_REQUEST"),
        (b"[1, 2]", JSON, 400, "BAD_REQUEST"),
        (b'[{"query": "{ supportedExchanges }"}]', JSON, 400, "BAD_REQUEST"),
        (b"{}", JSON, 400, "BAD_REQUEST"),
        (b'{"query": 5}', JSON, 400, "BAD_REQUEST"),
        (b'{"query": "{ supportedExchanges }", "variables": [1]}', JSON, 400, "BAD_REQUEST"),
        (b'{"query": "{ supportedExchanges }"}', "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE"),
        (b'{"query": "{ supportedExchanges }"}', None, 415, "UNSUPPORTED_MEDIA_TYPE"),
        (b"query=%7B%7D", "application/x-www-form-urlencoded", 415, "UNSUPPORTED_MEDIA_TYPE"),
    ],
)
def test_malformed_requests(
    api: Api, body: bytes, content_type: str | None, status: int, code: str
) -> None:
    headers = {"accept": GRAPHQL_RESPONSE}
    if content_type:
        headers["content-type"] = content_type
    response = api.client.http.post(api.client.url, content=body, headers=headers)
    assert (response.status_code, codes(response)) == (status, [code])


def test_unacceptable_accept_header(api: Api) -> None:
    response = api.client.post("{ supportedExchanges }", accept="application/xml")
    assert response.status_code == 406 and codes(response) == ["NOT_ACCEPTABLE"]


def test_oversized_bodies_get_413(api: Api) -> None:
    padding = " " * MAX_BODY_BYTES
    big = json.dumps({"query": "{ supportedExchanges }" + padding}).encode()
    declared = api.client.http.post(api.client.url, content=big, headers={"content-type": JSON})
    assert declared.status_code == 413 and codes(declared) == ["PAYLOAD_TOO_LARGE"]

    def chunks():  # no Content-Length: counted as it streams
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    streamed = api.client.http.post(
        api.client.url, content=chunks(), headers={"content-type": JSON}
    )
    assert streamed.status_code == 413 and codes(streamed) == ["PAYLOAD_TOO_LARGE"]
    small = json.dumps({"query": "{ supportedExchanges }" + " " * 1000}).encode()
    fine = api.client.http.post(api.client.url, content=small, headers={"content-type": JSON})
    assert fine.status_code == 200


def _deep(depth: int) -> str:
    """A query `depth` deep: that many nested object fields, then a scalar."""
    cycle = [("exchange", "id"), ("markets(first: 1)", "totalCount"), ("nodes", "id")]
    fields, leaf = ['market(exchange: "a", symbol: "b")'], "id"
    while len(fields) < depth:
        field, leaf = cycle[(len(fields) - 1) % 3]
        fields.append(field)
    query = leaf
    for field in reversed(fields):
        query = f"{field} {{ {query} }}"
    return f"{{ {query} }}"


@pytest.mark.parametrize(
    ("query", "code", "fragment"),
    [
        (_deep(MAX_DEPTH + 1), "GRAPHQL_VALIDATION_FAILED", "exceeds maximum operation depth"),
        (
            "{ " + " ".join(f"a{i}: supportedExchanges" for i in range(MAX_ALIASES + 1)) + " }",
            "GRAPHQL_VALIDATION_FAILED",
            "aliases",
        ),
        ("{ " + "supportedExchanges " * MAX_TOKENS + "}", "GRAPHQL_PARSE_FAILED", "tokens"),
        (
            "{ exchanges(first: 500) { nodes { markets(first: 500) { nodes { id } } } } }",
            "GRAPHQL_VALIDATION_FAILED",
            "the limit is 20000",
        ),
    ],
)
def test_limits(api: Api, query: str, code: str, fragment: str) -> None:
    for accept, status in BOTH:
        response = api.client.post(query, accept=accept)
        assert response.status_code == status, response.text
        assert set(codes(response)) == {code}
        assert fragment in response.json()["errors"][0]["message"]


def test_node_budget_reads_variables(api: Api) -> None:
    query = (
        "query($n: Int) { exchanges(first: $n) { nodes { markets(first: 100) { totalCount } } } }"
    )
    assert codes(api.client.post(query, {"n": 300})) == ["GRAPHQL_VALIDATION_FAILED"]
    assert api.client.query(query, {"n": 10}) == {"exchanges": {"nodes": []}}
    depth_ok = _deep(MAX_DEPTH)
    assert api.client.query(depth_ok) == {"market": None}


def test_introspection_and_suggestions(api: Api) -> None:
    introspection = "{ __schema { queryType { name } } }"
    assert api.client.query(introspection)["__schema"]["queryType"]["name"] == "Query"
    typo = '{ exchange(name: "x") { nmae } }'
    assert "Did you mean" in api.client.errors(typo)[0][2]
    closed = api.variant(api_introspection=False)
    assert closed.errors(introspection)[0][0] == "GRAPHQL_VALIDATION_FAILED"
    for query in (
        typo,
        "{ markets(orderBy: VOLUME) { totalCount } }",
        "{ exchanges(fliter: {}) { totalCount } }",
    ):
        message = closed.errors(query)[0][2]
        assert "Did you mean" not in message and "VOLUME_USD_DESC" not in message, message
    assert closed.query("{ __typename }") == {"__typename": "Query"}
    page = closed.http.get(closed.url, headers={"accept": "text/html"})
    assert page.status_code == 404  # no GraphiQL without introspection
    closed.close()


def test_require_token(api: Api) -> None:
    reader = rows.token(api.conn, "reader", "read")
    closed = api.variant(api_require_token=True)
    query = "{ supportedExchanges }"
    refused = closed.post(query, accept=GRAPHQL_RESPONSE)
    assert refused.status_code == 401 and codes(refused) == ["UNAUTHENTICATED"]
    assert closed.post(query).status_code == 200 and codes(closed.post(query)) == [
        "UNAUTHENTICATED"
    ]
    assert codes(closed.post("{ __schema { types { name } } }")) == ["UNAUTHENTICATED"]
    assert closed.query(query, token=reader)["supportedExchanges"]
    # the GraphiQL page itself stays reachable: the token goes in its headers tab
    assert closed.http.get(closed.url, headers={"accept": "text/html"}).status_code == 200
    closed.close()


def test_unexpected_errors_are_masked(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # sorted(None): TypeError in the resolver
    monkeypatch.setattr(query_module, "supported_exchanges", lambda: None)
    with capture_logs() as logs:
        response = api.client.post("{ supportedExchanges }", accept=GRAPHQL_RESPONSE)
    assert response.status_code == 200  # data is present (null): a field error
    error = response.json()["errors"][0]
    assert error["message"] == "Internal server error" and error["extensions"] == {
        "code": "INTERNAL"
    }
    internal = [log for log in logs if log["event"] == "api.internal_error"]
    assert "TypeError" in internal[0]["error"] and internal[0]["exc_info"]


def test_one_log_line_per_request_and_metrics(api: Api) -> None:
    rows.add_exchange(api.conn, "binance", last_update_at="2020-01-01T00:00:00Z")
    rows.run(api.conn, rows.add_exchange(api.conn, "kraken"), "QUEUED")
    with capture_logs() as logs:
        api.client.query("query Listing { markets { totalCount } }")
        api.client.post("{ nope }")
        api.client.post("{ nope", accept=GRAPHQL_RESPONSE)
        api.client.post('{ markets(exchange: "x") { totalCount } }')
    lines = [log for log in logs if log["event"] == "api.request"]
    assert [(x["operation"], x["status"], x["outcome"]) for x in lines] == [
        ("Listing", 200, "ok"),
        (None, 200, "rejected"),
        (None, 400, "rejected"),
        (None, 200, "error"),
    ]
    assert lines[0]["operation_type"] == "query" and lines[0]["duration_ms"] > 0
    assert lines[3]["error_codes"] == ["NOT_FOUND"]
    metrics = api.client.http.get(f"{api.client.base_url}/metrics")
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert re.search(r'mm_api_requests_total\{operation="Listing",outcome="ok"\} [1-9]', text)
    assert 'mm_api_request_duration_seconds_bucket{le="0.1",operation_type="query"}' in text
    assert 'mm_harvest_runs{state="QUEUED"} 1.0' in text
    age = re.search(r'mm_exchange_last_success_age_seconds\{exchange="binance"\} (\S+)', text)
    assert age and float(age.group(1)) > 5 * 365 * 86400
    assert "mm_api_database_up 1.0" in text


def test_graphiql_is_served_with_its_assets(api: Api) -> None:
    page = api.client.http.get(api.client.url, headers={"accept": "text/html"})
    assert page.status_code == 200 and media(page) == "text/html"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assets = [u for u in urls if not u.startswith("data:")]
    assert len(assets) == 7 and all(u.startswith("/static/graphiql/") for u in assets), assets
    assert "unpkg" not in page.text and "https://" not in page.text
    for url in assets:
        asset = api.client.http.get(f"{api.client.base_url}{url}")
        assert asset.status_code == 200, url
        assert media(asset) in ("text/javascript", "application/javascript", "text/css"), url
