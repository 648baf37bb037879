"""Keyset pagination: orderings, opaque cursors, the SQL of "rows after this cursor".

An `Ordering` is a list of sort columns ending with the row id, so that every row has
a distinct position. A cursor is base64url(JSON [ordering name, [key texts…]]) of the
last row of a page; the next page is the rows strictly after it in that order. Rows
keep their place while others are inserted, updated or deleted, so a listing visits
each row whose sort key does not change exactly once (offsets would shift instead).
NULL sort keys come last in both directions, like the indexes of 0001.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from graphql_api.errors import BadUserInput
from graphql_api.storable import unstorable

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50
_BIGINT = range(-(2**63), 2**63)


@dataclass(frozen=True)
class SortColumn:
    expression: str  # SQL, e.g. "m.volume_usd"
    type: str  # numeric | text | timestamptz | bigint
    descending: bool = False
    nullable: bool = False


@dataclass(frozen=True)
class Ordering:
    name: str
    columns: tuple[SortColumn, ...]

    def __hash__(self) -> int:  # by name: page requests are DataLoader keys, hashed often
        return hash(self.name)

    def order_by(self) -> sql.Composable:
        terms = [
            sql.SQL("{} {} NULLS LAST").format(
                sql.SQL(c.expression), sql.SQL("DESC" if c.descending else "ASC")
            )
            for c in self.columns
        ]
        return sql.SQL(", ").join(terms)

    def key_columns(self) -> sql.Composable:
        """The sort keys as text, selected as k0, k1, … to build cursors from."""
        return sql.SQL(", ").join(
            sql.SQL("({})::text AS {}").format(sql.SQL(c.expression), sql.Identifier(f"k{i}"))
            for i, c in enumerate(self.columns)
        )

    def keys_of(self, row: dict[str, Any]) -> list[str | None]:
        return [row[f"k{i}"] for i in range(len(self.columns))]


def check_first(first: int) -> int:
    if first < 0 or first > MAX_PAGE_SIZE:
        raise BadUserInput(
            f"`first` must be between 0 and {MAX_PAGE_SIZE}, got {first}",
            field="first",
            max=MAX_PAGE_SIZE,
        )
    return first


def encode_cursor(ordering: Ordering, keys: Sequence[str | None]) -> str:
    payload = json.dumps([ordering.name, list(keys)], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, ordering: Ordering) -> list[str | None]:
    """The key texts of `cursor`, checked against `ordering`; else BAD_USER_INPUT."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        name, keys = json.loads(raw)
    except (binascii.Error, ValueError, TypeError, RecursionError):
        raise _bad_cursor("it is not a cursor of this API") from None
    if name != ordering.name:
        raise _bad_cursor(f"it belongs to another ordering ({name!r}, not {ordering.name!r})")
    if not isinstance(keys, list) or len(keys) != len(ordering.columns):
        raise _bad_cursor("its keys do not match the ordering")
    for column, key in zip(ordering.columns, keys, strict=True):
        if not _valid_key(column, key):
            raise _bad_cursor(f"{key!r} is not a valid key")
    return keys


def _bad_cursor(why: str) -> BadUserInput:
    return BadUserInput(f"invalid cursor in `after`: {why}", field="after")


# The keys a cursor may hold: PostgreSQL's own text output of each type (what
# `key_columns` selects), in ASCII digits; Python's parsers accept more ("1_000",
# "1e999999", Arabic-Indic digits, ISO week dates) that PostgreSQL then refuses.
_KEY_FORMS = {
    "bigint": re.compile(r"-?[0-9]{1,19}"),
    "numeric": re.compile(r"-?[0-9]{1,1000}(\.[0-9]{1,1000})?|-?Infinity"),
    "timestamptz": re.compile(
        r"-?infinity|[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
        r"([+-][0-9]{2}(:[0-9]{2}){0,2}|Z)?"
    ),
}
_MAX_OFFSET = dt.timedelta(hours=15, minutes=59, seconds=59)  # PostgreSQL's limit


def _valid_key(column: SortColumn, key: object) -> bool:
    if key is None:
        return column.nullable
    if not isinstance(key, str) or unstorable(key) is not None:
        return False
    form = _KEY_FORMS.get(column.type)
    if form is None:
        return column.type == "text"
    if not form.fullmatch(key):
        return False
    if column.type == "bigint":
        return int(key) in _BIGINT
    if column.type == "timestamptz" and "infinity" not in key:
        try:
            offset = dt.datetime.fromisoformat(key).utcoffset()
        except ValueError:  # e.g. month 13
            return False
        return offset is None or abs(offset) <= _MAX_OFFSET
    return True


def after_predicate(
    ordering: Ordering, keys: Sequence[str | None]
) -> tuple[sql.Composable, dict[str, str]]:
    """SQL true for the rows strictly after the row whose sort keys are `keys`, and its
    parameters (``after_0``, ``after_1``, …).

    Lexicographic over the columns: after on the first, or equal on it and after on
    the rest. With NULLS LAST, a row is after a non-null key when its key is beyond it
    or NULL, and nothing is after a NULL key on that column but other NULLs.
    """
    params = after_params(keys)
    alternatives: list[sql.Composable] = []
    for index, column in enumerate(ordering.columns):
        if keys[index] is None:
            continue
        equal = [_equal(c, i, keys[i]) for i, c in enumerate(ordering.columns[:index])]
        beyond = _beyond(column, index)
        alternatives.append(sql.SQL("({})").format(sql.SQL(" AND ").join([*equal, beyond])))
    if not alternatives:
        return sql.SQL("false"), params
    return sql.SQL("({})").format(sql.SQL(" OR ").join(alternatives)), params


def after_params(keys: Sequence[str | None]) -> dict[str, str]:
    """The parameters of `after_predicate`: the keys that are not null."""
    return {f"after_{i}": key for i, key in enumerate(keys) if key is not None}


def _typed(column: SortColumn, index: int) -> sql.Composable:
    return sql.SQL("{}::{}").format(sql.Placeholder(f"after_{index}"), sql.SQL(column.type))


def _beyond(column: SortColumn, index: int) -> sql.Composable:
    operator = sql.SQL("<" if column.descending else ">")
    expression = sql.SQL(column.expression)
    beyond = sql.SQL("{} {} {}").format(expression, operator, _typed(column, index))
    if column.nullable:
        return sql.SQL("({} OR {} IS NULL)").format(beyond, expression)
    return beyond


def _equal(column: SortColumn, index: int, key: str | None) -> sql.Composable:
    expression = sql.SQL(column.expression)
    if key is None:
        return sql.SQL("{} IS NULL").format(expression)
    return sql.SQL("{} = {}").format(expression, _typed(column, index))
