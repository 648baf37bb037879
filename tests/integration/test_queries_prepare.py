"""Every named statement of sql/queries.sql is valid against the migrated schema, and is
used by the production code: a renamed column fails here, not in production."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import pq, sql

from graphql_api.paging.listings import (
    EXCHANGES,
    MARKETS,
    RUNS,
    Listing,
    PageRequest,
    count_sql,
    counts_per_parent_sql,
    page_sql,
    pages_per_parent_sql,
)
from harvester.harvest import write
from sql import compose, queries

REPO = Path(__file__).resolve().parent.parent.parent
PRODUCTION = ("marketmanager", "harvester", "graphql_api", "simulator")
# What the write path fills in; any other {placeholder} is one identifier.
PARTS: dict[str, sql.Composable] = {
    "columns": write.COLUMNS,
    "updates": write.UPDATES,
    "updates_from_staging": write.UPDATES_FROM_STAGING,
}
# The listings' statements are composed from their filters, orderings and cursors.
LISTING_SKELETONS = {name for name in queries if name.startswith("listing_")}
FILTER_VALUES = {
    "exchange_id": 1,
    "base": "BTC",
    "quote": "USDT",
    "search": "%btc%",
    "enabled": True,
    "names": ("binance", "kraken"),
    "state": "QUEUED",
}
_PARAMETER = re.compile(r"%\((\w+)\)s")


def _server_side(conn: psycopg.Connection[Any], statement: sql.Composable) -> bytes:
    """The statement as PostgreSQL receives it: parameters as $n."""
    numbers: dict[str, int] = {}
    text = _PARAMETER.sub(
        lambda m: f"${numbers.setdefault(m[1], len(numbers) + 1)}", statement.as_string(conn)
    )
    return text.replace("%%", "%").encode()


def _prepare(db_url: str, statements: list[sql.Composable]) -> None:
    with psycopg.connect(db_url) as conn:
        # the write paths' statements read their staging tables
        conn.execute(write.CREATE_STAGING)
        conn.execute(queries["candle_create_staging"])
        for statement in statements:
            result = conn.pgconn.prepare(b"", _server_side(conn, statement))
            message = (result.error_message or b"").decode()
            assert result.status == pq.ExecStatus.COMMAND_OK, f"{message}{statement!r}"
        conn.rollback()


@pytest.mark.parametrize("name", sorted(set(queries) - LISTING_SKELETONS))
def test_every_named_query_prepares_against_the_migrated_schema(name: str, db_url: str) -> None:
    fields = {field for _, field, _, _ in string.Formatter().parse(queries[name]) if field}
    if not fields:  # nothing to fill in (and braces may be literals: '{}' is an empty array)
        _prepare(db_url, [sql.SQL(queries[name])])
        return
    parts = {field: PARTS.get(field, sql.Identifier("mm_check")) for field in fields}
    _prepare(db_url, [compose(name, **parts)])


@pytest.mark.parametrize("listing", [MARKETS, EXCHANGES, RUNS], ids=lambda x: x.alias)
def test_every_listing_statement_prepares_against_the_migrated_schema(
    listing: Listing, db_url: str
) -> None:
    """Each ordering, with every filter, with and without a cursor, alone and per
    parent, and the counts: the shapes of the ``listing_*`` skeletons."""
    filters = tuple((name, FILTER_VALUES[name]) for name in listing.filters)
    statements: list[sql.Composable] = [
        count_sql(listing, filters)[0],
        counts_per_parent_sql(listing, filters, [1])[0],
    ]
    for ordering in listing.orderings.values():
        after = tuple("1" for _ in ordering.columns)
        for request in (
            PageRequest(ordering, 10, None, filters),
            PageRequest(ordering, 10, after, filters, ("id",)),
        ):
            statements.append(page_sql(listing, request)[0])
            statements.append(pages_per_parent_sql(listing, request, [1])[0])
    _prepare(db_url, statements)


def test_every_named_query_is_used_by_the_production_code() -> None:
    sources = "\n".join(
        path.read_text() for package in PRODUCTION for path in (REPO / package).rglob("*.py")
    )
    unused = [name for name in queries if f'"{name}"' not in sources]
    assert unused == [], f"named in sql/queries.sql but used nowhere: {unused}"
