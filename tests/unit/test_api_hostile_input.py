"""The pure checks behind the hostile-input fixes: storable text, JSON nesting, URLs."""

from __future__ import annotations

import pytest

from graphql_api.limits import nested_within
from graphql_api.storable import unstorable, unstorable_variables
from marketmanager.exchange_input import InvalidExchange, check_http_url


@pytest.mark.parametrize("text", ["", "binance", "ÄÖÜ € 😀", "'; DROP TABLE x; --", "\t\n"])
def test_storable_text(text: str) -> None:
    assert unstorable(text) is None


@pytest.mark.parametrize(
    ("text", "why"), [("a\x00b", "NUL"), ("\udfff", "surrogate"), ("x\ud800y", "surrogate")]
)
def test_unstorable_text_says_why(text: str, why: str) -> None:
    reason = unstorable(text)
    assert reason is not None and why in reason


def test_unstorable_variables_look_inside_lists_and_input_objects() -> None:
    variables = {
        "fine": ["a", {"b": "c"}],
        "deep": {"input": {"names": ["ok", "n\x00"]}},
        "number": 5,
        "none": None,
    }
    errors = unstorable_variables(variables)
    assert [e.extensions for e in errors] == [{"code": "BAD_USER_INPUT", "field": "$deep"}]


@pytest.mark.parametrize(
    ("value", "limit", "within"),
    [
        ({}, 1, True),
        ({"a": [1, {"b": []}]}, 4, True),
        ({"a": [1, {"b": []}]}, 3, False),
        ("scalar", 0, True),
    ],
)
def test_nested_within(value: object, limit: int, within: bool) -> None:
    assert nested_within(value, limit) is within


def test_nested_within_needs_no_stack() -> None:
    value: list[object] = []
    for _ in range(100_000):
        value = [value]
    assert not nested_within(value, 64)


@pytest.mark.parametrize(
    "url",
    ["http://x.example", "https://x.example:8443/p?q=1", "http://[::1]:80/", "https://1.2.3.4"],
)
def test_http_urls(url: str) -> None:
    assert check_http_url(url, "url").hostname


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1",
        "https://[zz]/x",
        "http://x.example:99999/",
        "http://x.example:-1/",
        "http://x.example:port/",
        "ftp://x.example",
        "http://",
        "x.example",
    ],
)
def test_malformed_urls_name_what(url: str) -> None:
    with pytest.raises(InvalidExchange, match=r"^logo"):
        check_http_url(url, "logo")
