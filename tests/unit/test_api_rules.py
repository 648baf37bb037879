"""Pure rules of the API's edges: content negotiation, status codes, outcomes, error
codes, bearer tokens, scopes, the node budget, and the committed SDL."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import GraphQLError, GraphQLSyntaxError, Source, parse
from structlog.testing import capture_logs

from graphql_api.auth import Principal, bearer_token, require_scope
from graphql_api.context import RequestTrace
from graphql_api.errors import (
    BadUserInput,
    Forbidden,
    Unauthenticated,
    error_code,
    present_errors,
)
from graphql_api.http import GRAPHQL_RESPONSE, JSON, negotiate, status_for
from graphql_api.limits import estimate_nodes
from graphql_api.metrics import OperationLabels, outcome
from graphql_api.schema import schema
from marketmanager import tokens
from marketmanager.errors import CommandError

REPO = Path(__file__).resolve().parents[2]


def test_committed_sdl_matches_the_code() -> None:
    committed = (REPO / "schema.graphql").read_text()
    assert committed == str(schema) + "\n", (
        "schema.graphql is out of date: regenerate it with\n"
        "  .venv/bin/python -c 'from graphql_api.schema import schema; print(schema)' "
        "> schema.graphql"
    )


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        ("application/json", JSON),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, {JSON}", GRAPHQL_RESPONSE),
        (f"{JSON}, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{JSON}, {GRAPHQL_RESPONSE};q=0.9", JSON),
        (f"{GRAPHQL_RESPONSE};q=0.5, */*;q=0.8", JSON),
        (f"{GRAPHQL_RESPONSE}, */*", GRAPHQL_RESPONSE),
        ("text/html,application/xhtml+xml,*/*;q=0.8", JSON),
        ("APPLICATION/JSON; charset=utf-8", JSON),
        ("text/html", None),
        ("application/xml", None),
        (f"{JSON};q=0", None),
        (f"{JSON};q=abc", None),
    ],
)
def test_negotiate(accept: str | None, expected: str | None) -> None:
    assert negotiate(accept) == expected


def _errors(*codes: str) -> dict[str, object]:
    return {"errors": [{"message": "x", "extensions": {"code": c}} for c in codes]}


@pytest.mark.parametrize(
    ("media", "payload", "status"),
    [
        (JSON, _errors("GRAPHQL_VALIDATION_FAILED"), 200),
        (JSON, _errors("UNAUTHENTICATED"), 200),
        (GRAPHQL_RESPONSE, {"data": {"a": 1}}, 200),
        (GRAPHQL_RESPONSE, {"data": None, **_errors("BAD_USER_INPUT")}, 200),
        (GRAPHQL_RESPONSE, _errors("GRAPHQL_PARSE_FAILED"), 400),
        (GRAPHQL_RESPONSE, _errors("GRAPHQL_VALIDATION_FAILED"), 400),
        (GRAPHQL_RESPONSE, _errors("BAD_USER_INPUT"), 400),
        (GRAPHQL_RESPONSE, _errors("UNAUTHENTICATED"), 401),
        (GRAPHQL_RESPONSE, _errors("FORBIDDEN"), 403),
        (GRAPHQL_RESPONSE, _errors("INTERNAL"), 500),
        (GRAPHQL_RESPONSE, _errors("INTERNAL", "BAD_USER_INPUT"), 400),
    ],
)
def test_status_for(media: str, payload: dict[str, object], status: int) -> None:
    assert status_for(media, payload) == status


@pytest.mark.parametrize(
    ("status", "codes", "refused", "expected"),
    [
        (200, [], False, "ok"),
        (200, ["NOT_FOUND"], False, "error"),
        (200, ["GRAPHQL_VALIDATION_FAILED"], True, "rejected"),
        (400, ["BAD_REQUEST"], True, "rejected"),
        (413, [], False, "rejected"),
        (200, ["INTERNAL"], False, "internal"),
        (500, [], False, "internal"),
    ],
)
def test_outcome(status: int, codes: list[str], refused: bool, expected: str) -> None:
    assert outcome(status, RequestTrace(error_codes=codes, refused=refused)) == expected


def test_operation_labels_are_bounded() -> None:
    labels = OperationLabels(limit=2)
    assert labels.label(None) == "anonymous"
    assert labels.label("a b") == "invalid"
    assert labels.label("x" * 65) == "invalid"
    assert [labels.label(n) for n in ("One", "Two", "Three", "One")] == [
        "One",
        "Two",
        "other",
        "One",
    ]


def test_error_codes_of_errors_without_one() -> None:
    assert error_code(GraphQLSyntaxError(Source("{"), 1, "boom")) == "GRAPHQL_PARSE_FAILED"
    assert error_code(GraphQLError("Unknown field")) == "GRAPHQL_VALIDATION_FAILED"
    assert error_code(GraphQLError("x", original_error=KeyError("k"))) == "INTERNAL"
    assert error_code(GraphQLError("x", original_error=BadUserInput("y"))) == "BAD_USER_INPUT"


def test_unexpected_errors_are_masked_and_logged_in_full() -> None:
    error = GraphQLError("x", path=["a"], original_error=KeyError("secret detail"))
    with capture_logs() as logs:
        present_errors([error], suggestions=True)
    assert error.message == "Internal server error"
    assert error.extensions == {"code": "INTERNAL"}
    assert logs[0]["event"] == "api.internal_error"
    assert "secret detail" in logs[0]["error"]
    assert logs[0]["exc_info"][1] is error.original_error


def test_suggestions_are_stripped_when_introspection_is_off() -> None:
    message = "Cannot query field 'nme' on type 'Exchange'. Did you mean 'name'?"
    kept, stripped = GraphQLError(message), GraphQLError(message)
    present_errors([kept], suggestions=True)
    present_errors([stripped], suggestions=False)
    assert "Did you mean" in kept.message
    assert stripped.message == "Cannot query field 'nme' on type 'Exchange'."


@pytest.mark.parametrize(
    ("header", "token"),
    [(None, None), ("Bearer abc", "abc"), ("bearer  abc ", "abc")],
)
def test_bearer_token(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


@pytest.mark.parametrize("header", ["", "Bearer", "Basic abc", "Bearer a b", "abc"])
def test_malformed_authorization_is_unauthenticated(header: str) -> None:
    with pytest.raises(Unauthenticated):
        bearer_token(header)


def test_require_scope() -> None:
    writer = Principal(1, "ci", frozenset({"read", "write"}))
    assert require_scope(writer, "write") is writer
    with pytest.raises(Unauthenticated):
        require_scope(None, "write")
    with pytest.raises(Forbidden) as raised:
        require_scope(writer, "admin")
    assert raised.value.extensions["code"] == "FORBIDDEN"


def test_tokens_are_random_and_stored_as_sha256() -> None:
    first, second = tokens.generate(), tokens.generate()
    assert first != second and first.startswith("mm_") and len(first) > 40
    assert len(tokens.digest(first)) == 32 and tokens.digest(first) != tokens.digest(second)
    assert tokens.scopes_for("read") == ["read"]
    assert tokens.scopes_for("write") == ["read", "write"]
    assert tokens.scopes_for("admin") == ["read", "write", "admin"]
    with pytest.raises(CommandError):
        tokens.scopes_for("root")


def _nodes(query: str, variables: dict[str, object] | None = None) -> int:
    document = parse(query)
    operation = document.definitions[-1]
    fragments = {d.name.value: d for d in document.definitions[:-1]}  # type: ignore[attr-defined]
    return estimate_nodes(schema._schema, operation, fragments, variables or {})  # type: ignore[arg-type]


def test_node_budget_multiplies_nested_pages() -> None:
    assert _nodes("{ supportedExchanges }") == 0
    assert _nodes("{ markets { nodes { symbol } } }") == 50
    assert _nodes("{ markets(first: 7) { totalCount } }") == 7
    assert _nodes("{ exchanges(first: 10) { nodes { markets(first: 20) { nodes { id } } } } }") == (
        10 + 10 * 20
    )
    nested = "query($n: Int) { exchanges(first: $n) { nodes { runs(first: 3) { nodes { id } } } } }"
    assert _nodes(nested, {"n": 100}) == 100 + 300
    assert _nodes("{ markets(first: 9999) { totalCount } }") == 500  # the resolver refuses it


def test_node_budget_follows_fragments() -> None:
    query = """
        fragment M on Exchange { markets(first: 4) { nodes { exchange { ...R } } } }
        fragment R on Exchange { runs(first: 5) { nodes { id } } }
        query {
          exchanges(first: 2) { nodes { ...M ... on Exchange { runs(first: 1) { totalCount } } } }
        }
    """
    assert _nodes(query) == 2 + 2 * 4 + 2 * 4 * 5 + 2 * 1
