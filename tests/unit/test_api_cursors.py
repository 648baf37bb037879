"""Cursors and keyset predicates (graphql_api.paging.cursors), without a database."""

from __future__ import annotations

import base64
import json

import pytest
from psycopg import sql

from graphql_api.errors import BadUserInput
from graphql_api.paging.cursors import (
    after_predicate,
    check_first,
    decode_cursor,
    encode_cursor,
)
from graphql_api.paging.listings import EXCHANGES, MARKETS, RUNS, like_pattern

VOLUME = MARKETS.orderings["VOLUME_USD_DESC"]
SYMBOL = MARKETS.orderings["SYMBOL_ASC"]
UPDATED = MARKETS.orderings["UPDATED_AT_DESC"]


def text(composable: sql.Composable) -> str:
    return composable.as_string(None)


@pytest.mark.parametrize(
    ("ordering", "keys"),
    [
        (VOLUME, ["12.50", "7"]),
        (VOLUME, [None, "8"]),
        (SYMBOL, ["BTC/USDT", "1"]),
        (UPDATED, ["2025-01-01 12:00:00.123456+00", "3"]),
        (EXCHANGES.orderings["LAST_UPDATE_AT_DESC"], [None, "3"]),
        (RUNS.orderings["NEWEST_FIRST"], ["99"]),
    ],
)
def test_cursors_round_trip_and_are_opaque(ordering: object, keys: list[str | None]) -> None:
    cursor = encode_cursor(ordering, keys)  # type: ignore[arg-type]
    assert cursor.isascii() and "=" not in cursor
    assert decode_cursor(cursor, ordering) == keys  # type: ignore[arg-type]


def _cursor(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not base64!",
        "bm90IGpzb24",  # "not json"
        _cursor({"a": 1}),
        _cursor(["VOLUME_USD_DESC"]),
        _cursor(["SYMBOL_ASC", ["BTC/USDT", "1"]]),  # another ordering's cursor
        _cursor(["VOLUME_USD_DESC", ["1"]]),  # too few keys
        _cursor(["VOLUME_USD_DESC", ["abc", "1"]]),  # not a number
        _cursor(["VOLUME_USD_DESC", ["NaN", "1"]]),
        _cursor(["VOLUME_USD_DESC", ["1", None]]),  # the id is never null
        _cursor(["VOLUME_USD_DESC", ["1", "1.5"]]),
        _cursor(["VOLUME_USD_DESC", ["1", str(2**63)]]),
        _cursor(["VOLUME_USD_DESC", [1, "1"]]),  # keys are texts
    ],
)
def test_bad_cursors_are_bad_user_input(cursor: str) -> None:
    with pytest.raises(BadUserInput) as raised:
        decode_cursor(cursor, VOLUME)
    assert raised.value.extensions == {"code": "BAD_USER_INPUT", "field": "after"}


def test_bad_timestamp_cursor() -> None:
    with pytest.raises(BadUserInput):
        decode_cursor(_cursor(["UPDATED_AT_DESC", ["yesterday", "1"]]), UPDATED)


@pytest.mark.parametrize("first", [0, 1, 500])
def test_first_within_bounds(first: int) -> None:
    assert check_first(first) == first


@pytest.mark.parametrize("first", [-1, 501, 10**9])
def test_first_out_of_bounds(first: int) -> None:
    with pytest.raises(BadUserInput) as raised:
        check_first(first)
    assert raised.value.extensions["field"] == "first"


def test_after_a_non_null_descending_key_includes_the_nulls() -> None:
    predicate, params = after_predicate(VOLUME, ["12.5", "7"])
    assert params == {"after_0": "12.5", "after_1": "7"}
    assert text(predicate) == (
        "(((m.volume_usd < %(after_0)s::numeric OR m.volume_usd IS NULL)) OR "
        "(m.volume_usd = %(after_0)s::numeric AND m.id > %(after_1)s::bigint))"
    )


def test_after_a_null_key_only_later_nulls_follow() -> None:
    predicate, params = after_predicate(VOLUME, [None, "7"])
    assert params == {"after_1": "7"}
    assert text(predicate) == "((m.volume_usd IS NULL AND m.id > %(after_1)s::bigint))"


def test_runs_newest_first() -> None:
    predicate, _ = after_predicate(RUNS.orderings["NEWEST_FIRST"], ["5"])
    assert text(predicate) == "((r.id < %(after_0)s::bigint))"


def test_like_pattern_takes_wildcards_literally() -> None:
    assert like_pattern("a_b%c\\") == "%a\\_b\\%c\\\\%"


def test_orderings_are_the_enum_members_no_more_no_less() -> None:
    from graphql_api.paging.listings import EXCHANGES, MARKETS, SortColumn, _orderings
    from graphql_api.types.enums import ExchangeOrder, MarketOrder

    assert list(MARKETS.orderings) == [member.name for member in MarketOrder]
    assert list(EXCHANGES.orderings) == [member.name for member in ExchangeOrder]
    with pytest.raises(TypeError, match="MarketOrder"):
        _orderings(MarketOrder, "m", {MarketOrder.SYMBOL_ASC: (SortColumn("m.symbol", "text"),)})


CHANGE = MARKETS.orderings["CHANGE_PCT_DESC"]


@pytest.mark.parametrize(
    ("ordering", "keys"),
    [  # PostgreSQL's own text output of each type
        (CHANGE, ["-3.25", "1"]),
        (VOLUME, ["0.000012345678901234567890", "-9223372036854775808"]),
        (VOLUME, ["Infinity", "2"]),
        (UPDATED, ["2025-01-01 12:00:00+05:30", "3"]),
        (UPDATED, ["1901-12-13 20:45:52+00:53:28", "3"]),
        (UPDATED, ["2025-06-30 23:59:59.5-03", "3"]),
        (UPDATED, ["infinity", "3"]),
        (SYMBOL, ["ÄÖÜ/€ 😀", "4"]),
    ],
)
def test_cursors_take_what_postgresql_writes(ordering: object, keys: list[str | None]) -> None:
    cursor = encode_cursor(ordering, keys)  # type: ignore[arg-type]
    assert decode_cursor(cursor, ordering) == keys  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ordering", "keys"),
    [  # what Python's parsers take and PostgreSQL refuses
        (VOLUME, ["1_000", "1"]),
        (VOLUME, ["1e999999", "1"]),
        (VOLUME, ["١٢٣", "1"]),
        (VOLUME, [" 12", "1"]),
        (VOLUME, ["1", "٣"]),
        (VOLUME, ["1", "+7"]),
        (UPDATED, ["2026-W01-1", "1"]),
        (UPDATED, ["2026-01-01 00:00:00+23:59", "1"]),
        (UPDATED, ["2026-13-01 00:00:00+00", "1"]),
        (UPDATED, ["20260101T000000", "1"]),
        (SYMBOL, ["BTC\x00", "1"]),
        (SYMBOL, ["BTC\udfff", "1"]),
    ],
)
def test_cursors_refuse_keys_postgresql_would_refuse(
    ordering: object, keys: list[str | None]
) -> None:
    with pytest.raises(BadUserInput):
        decode_cursor(_cursor([ordering.name, keys]), ordering)  # type: ignore[attr-defined]


def test_a_cursor_nested_past_the_stack_is_bad_user_input() -> None:
    deep = base64.urlsafe_b64encode(b"[" * 100_000 + b"]" * 100_000).decode()
    with pytest.raises(BadUserInput):
        decode_cursor(deep, VOLUME)
