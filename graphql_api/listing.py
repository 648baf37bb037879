"""The SQL of the paginated listings (exchanges, markets, runs), composed from specs.

A listing's statement depends on its ordering, its filters and the cursor, so it is
composed here (with `psycopg.sql`, values as named parameters) rather than kept in
``queries.sql``. `page_sql` lists one page; `pages_per_parent_sql` lists one page for
each of many parents (the markets of many exchanges) in one statement, for DataLoaders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from psycopg import sql

from graphql_api.pagination import Ordering, SortColumn, after_predicate

Filters = tuple[tuple[str, Any], ...]  # (name, value) pairs, hashable for loader keys


@dataclass(frozen=True)
class Listing:
    source: str  # "markets AS m"
    columns: str  # "m.*"
    parent: str  # column holding the parent id, "m.exchange_id"
    filters: Mapping[str, str]  # name -> SQL with one {} for the value
    orderings: Mapping[str, Ordering] = field(default_factory=dict)


@dataclass(frozen=True)
class PageRequest:
    """What one connection field asks for; hashable (a DataLoader key)."""

    ordering: Ordering
    first: int
    after: tuple[str | None, ...] | None = None
    filters: Filters = ()


def _id(alias: str, descending: bool = False) -> SortColumn:
    return SortColumn(f"{alias}.id", "bigint", descending)


def _ordering(name: str, *columns: SortColumn, alias: str) -> Ordering:
    return Ordering(name, (*columns, _id(alias)))


MARKETS = Listing(
    source="markets AS m",
    columns="m.*",
    parent="m.exchange_id",
    filters={
        "exchange_id": "m.exchange_id = {}",
        "base": "m.base = {}",
        "quote": "m.quote = {}",
        "search": "m.symbol ILIKE {}",
    },
    orderings={
        o.name: o
        for o in (
            _ordering(
                "VOLUME_USD_DESC", SortColumn("m.volume_usd", "numeric", True, True), alias="m"
            ),
            _ordering("SYMBOL_ASC", SortColumn("m.symbol", "text"), alias="m"),
            _ordering(
                "UPDATED_AT_DESC", SortColumn("m.updated_at", "timestamptz", True), alias="m"
            ),
            _ordering(
                "CHANGE_PCT_DESC", SortColumn("m.change_pct", "numeric", True, True), alias="m"
            ),
        )
    },
)

EXCHANGES = Listing(
    source="exchanges AS e",
    columns="e.*",
    parent="e.id",
    filters={
        "enabled": "e.enabled = {}",
        "names": "e.name = ANY({})",
        "search": "e.name ILIKE {}",
    },
    orderings={
        o.name: o
        for o in (
            _ordering("NAME_ASC", SortColumn("e.name", "text"), alias="e"),
            _ordering(
                "VOLUME_USD_DESC", SortColumn("e.volume_usd", "numeric", True, True), alias="e"
            ),
            _ordering(
                "LAST_UPDATE_AT_DESC",
                SortColumn("e.last_update_at", "timestamptz", True, True),
                alias="e",
            ),
        )
    },
)

RUNS = Listing(
    source="harvest_runs AS r",
    columns="r.*",
    parent="r.exchange_id",
    filters={"exchange_id": "r.exchange_id = {}", "state": "r.state = {}"},
    orderings={"NEWEST_FIRST": Ordering("NEWEST_FIRST", (_id("r", descending=True),))},
)


def like_pattern(text: str) -> str:
    """An ILIKE pattern matching `text` anywhere, with its wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


Query = tuple[sql.Composed, dict[str, Any]]


def _conditions(listing: Listing, filters: Filters) -> tuple[list[sql.Composable], dict[str, Any]]:
    conditions: list[sql.Composable] = []
    params: dict[str, Any] = {}
    for index, (name, value) in enumerate(filters):
        conditions.append(sql.SQL(listing.filters[name]).format(sql.Placeholder(f"f{index}")))
        params[f"f{index}"] = list(value) if isinstance(value, tuple) else value
    return conditions, params


def _where(conditions: list[sql.Composable]) -> sql.Composable:
    return sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("true")


def _page_body(listing: Listing, request: PageRequest, extra: list[sql.Composable]) -> Query:
    conditions, params = _conditions(listing, request.filters)
    conditions = extra + conditions
    if request.after is not None:
        after, after_params = after_predicate(request.ordering, request.after)
        conditions.append(after)
        params.update(after_params)
    query = sql.SQL(
        "SELECT {columns}, {keys} FROM {source} WHERE {where} ORDER BY {order} LIMIT {n}"
    ).format(
        columns=sql.SQL(listing.columns),
        keys=request.ordering.key_columns(),
        source=sql.SQL(listing.source),
        where=_where(conditions),
        order=request.ordering.order_by(),
        n=sql.Literal(request.first + 1),  # one more tells whether a next page exists
    )
    return query, params


def page_sql(listing: Listing, request: PageRequest) -> Query:
    return _page_body(listing, request, [])


def pages_per_parent_sql(listing: Listing, request: PageRequest, parent_ids: list[int]) -> Query:
    """One page per parent id (one statement); rows carry ``parent_id``."""
    parent_match = sql.SQL("{} = parent.id").format(sql.SQL(listing.parent))
    body, params = _page_body(listing, request, [parent_match])
    query = sql.SQL(
        "SELECT parent.id AS parent_id, p.* FROM unnest(%(parent_ids)s::bigint[]) AS parent (id)"
        " CROSS JOIN LATERAL ({body}) AS p"
    ).format(body=body)
    return query, {**params, "parent_ids": parent_ids}


def count_sql(listing: Listing, filters: Filters) -> Query:
    conditions, params = _conditions(listing, filters)
    query = sql.SQL("SELECT count(*) AS n FROM {source} WHERE {where}").format(
        source=sql.SQL(listing.source), where=_where(conditions)
    )
    return query, params


def counts_per_parent_sql(listing: Listing, filters: Filters, parent_ids: list[int]) -> Query:
    """Row counts per parent id (parents without rows are absent)."""
    conditions, params = _conditions(listing, filters)
    parent_in = sql.SQL("{} = ANY(%(parent_ids)s::bigint[])").format(sql.SQL(listing.parent))
    query = sql.SQL(
        "SELECT {parent} AS parent_id, count(*) AS n FROM {source} WHERE {where} GROUP BY 1"
    ).format(
        parent=sql.SQL(listing.parent),
        source=sql.SQL(listing.source),
        where=_where([parent_in, *conditions]),
    )
    return query, {**params, "parent_ids": parent_ids}
