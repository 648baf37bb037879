"""The SQL of the paginated listings (exchanges, markets, runs), composed from specs.

A listing's statement depends on its ordering, its filters and the cursor: its
skeleton is in ``queries.sql`` (``listing_*``), filled in here with `psycopg.sql`
(values as named parameters). `page_sql` lists one page; `pages_per_parent_sql` lists one page for
each of many parents (the markets of many exchanges) in one statement, for DataLoaders.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from psycopg import sql

from graphql_api.paging.cursors import Ordering, SortColumn, after_params, after_predicate
from graphql_api.types.enums import ExchangeOrder, MarketOrder
from sql import compose

Filters = tuple[tuple[str, Any], ...]  # (name, value) pairs, hashable for loader keys


@dataclass(frozen=True, eq=False)  # one of each, compared (and cached) by identity
class Listing:
    source: str  # "markets AS m"
    alias: str  # "m"
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
    columns: tuple[str, ...] | None = None  # of the listing's table; None for all


def _id(alias: str, descending: bool = False) -> SortColumn:
    return SortColumn(f"{alias}.id", "bigint", descending)


def _orderings(
    names: type[Enum], alias: str, columns: Mapping[Any, tuple[SortColumn, ...]]
) -> dict[str, Ordering]:
    """One `Ordering` for each member of the GraphQL enum `names` (whose members are the
    only place the names are written), ties broken by id."""
    if set(columns) != set(names):
        raise TypeError(f"{names.__name__}: the orderings do not match the enum's members")
    return {
        member.name: Ordering(member.name, (*sort, _id(alias))) for member, sort in columns.items()
    }


MARKETS = Listing(
    source="markets AS m",
    alias="m",
    parent="m.exchange_id",
    filters={
        "exchange_id": "m.exchange_id = {}",
        "base": "m.base = {}",
        "quote": "m.quote = {}",
        "search": "m.symbol ILIKE {}",
    },
    orderings=_orderings(
        MarketOrder,
        "m",
        {
            MarketOrder.VOLUME_USD_DESC: (SortColumn("m.volume_usd", "numeric", True, True),),
            MarketOrder.SYMBOL_ASC: (SortColumn("m.symbol", "text"),),
            MarketOrder.UPDATED_AT_DESC: (SortColumn("m.updated_at", "timestamptz", True),),
            MarketOrder.CHANGE_PCT_DESC: (SortColumn("m.change_pct", "numeric", True, True),),
        },
    ),
)

EXCHANGES = Listing(
    source="exchanges AS e",
    alias="e",
    parent="e.id",
    filters={
        "enabled": "e.enabled = {}",
        "names": "e.name = ANY({})",
        "search": "e.name ILIKE {}",
    },
    orderings=_orderings(
        ExchangeOrder,
        "e",
        {
            ExchangeOrder.NAME_ASC: (SortColumn("e.name", "text"),),
            ExchangeOrder.VOLUME_USD_DESC: (SortColumn("e.volume_usd", "numeric", True, True),),
            ExchangeOrder.LAST_UPDATE_AT_DESC: (
                SortColumn("e.last_update_at", "timestamptz", True, True),
            ),
        },
    ),
)

RUNS = Listing(
    source="harvest_runs AS r",
    alias="r",
    parent="r.exchange_id",
    filters={"exchange_id": "r.exchange_id = {}", "state": "r.state = {}"},
    orderings={"NEWEST_FIRST": Ordering("NEWEST_FIRST", (_id("r", descending=True),))},
)


def like_pattern(text: str) -> str:
    """An ILIKE pattern matching `text` anywhere, with its wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


Query = tuple[sql.Composable, dict[str, Any]]
STATEMENT_CACHE_SIZE = 1024


# A statement depends on the shape of the request (which filters, where the cursor
# has nulls, the page size), its parameters on the values. Composing and rendering
# the SQL costs more than planning it, so statements are built once per shape.


def _rendered(query: sql.Composable) -> sql.SQL:
    return sql.SQL(query.as_string(None))


def _filter_params(filters: Filters) -> dict[str, Any]:
    return {
        f"f{index}": list(value) if isinstance(value, tuple) else value
        for index, (_, value) in enumerate(filters)
    }


def _conditions(listing: Listing, names: tuple[str, ...]) -> list[sql.Composable]:
    return [
        sql.SQL(listing.filters[name]).format(sql.Placeholder(f"f{index}"))
        for index, name in enumerate(names)
    ]


def _where(conditions: list[sql.Composable]) -> sql.Composable:
    return sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("true")


def _columns(listing: Listing, columns: tuple[str, ...] | None) -> sql.Composable:
    alias = sql.SQL(listing.alias)
    if columns is None:
        return sql.SQL("{}.*").format(alias)
    return sql.SQL(", ").join(sql.SQL("{}.{}").format(alias, sql.Identifier(c)) for c in columns)


def _names(filters: Filters) -> tuple[str, ...]:
    return tuple(name for name, _ in filters)


def _nulls(request: PageRequest) -> tuple[bool, ...] | None:
    return None if request.after is None else tuple(key is None for key in request.after)


@functools.lru_cache(maxsize=STATEMENT_CACHE_SIZE)
def _page_statement(
    listing: Listing,
    ordering: Ordering,
    names: tuple[str, ...],
    after_nulls: tuple[bool, ...] | None,
    first: int,
    columns: tuple[str, ...] | None,
    per_parent: bool,
) -> sql.SQL:
    conditions = _conditions(listing, names)
    if per_parent:
        conditions.insert(0, sql.SQL("{} = parent.id").format(sql.SQL(listing.parent)))
    if after_nulls is not None:
        # the predicate's SQL depends on which keys are null, not on their values
        shape = [None if null else "" for null in after_nulls]
        conditions.append(after_predicate(ordering, shape)[0])
    query: sql.Composable = compose(
        "listing_page",
        columns=_columns(listing, columns),
        keys=ordering.key_columns(),
        source=sql.SQL(listing.source),
        where=_where(conditions),
        order=ordering.order_by(),
        limit=sql.Literal(first + 1),  # one more tells whether a next page exists
    )
    if per_parent:
        query = compose("listing_page_per_parent", page=query)
    return _rendered(query)


def _page_params(request: PageRequest) -> dict[str, Any]:
    params = _filter_params(request.filters)
    if request.after is not None:
        params.update(after_params(request.after))
    return params


def _shape(request: PageRequest) -> tuple[Any, ...]:
    names, nulls = _names(request.filters), _nulls(request)
    return request.ordering, names, nulls, request.first, request.columns


def page_sql(listing: Listing, request: PageRequest) -> Query:
    return _page_statement(listing, *_shape(request), per_parent=False), _page_params(request)


def pages_per_parent_sql(listing: Listing, request: PageRequest, parent_ids: list[int]) -> Query:
    """One page per parent id (one statement); rows carry ``parent_id``."""
    query = _page_statement(listing, *_shape(request), per_parent=True)
    return query, {**_page_params(request), "parent_ids": parent_ids}


@functools.lru_cache(maxsize=STATEMENT_CACHE_SIZE)
def _count_statement(listing: Listing, names: tuple[str, ...], per_parent: bool) -> sql.SQL:
    conditions = _conditions(listing, names)
    source = sql.SQL(listing.source)
    if not per_parent:
        return _rendered(compose("listing_count", source=source, where=_where(conditions)))
    parent = sql.SQL(listing.parent)
    return _rendered(
        compose("listing_count_per_parent", parent=parent, source=source, where=_where(conditions))
    )


def count_sql(listing: Listing, filters: Filters) -> Query:
    return _count_statement(listing, _names(filters), False), _filter_params(filters)


def counts_per_parent_sql(listing: Listing, filters: Filters, parent_ids: list[int]) -> Query:
    """Row counts per parent id (parents without rows are absent)."""
    query = _count_statement(listing, _names(filters), True)
    return query, {**_filter_params(filters), "parent_ids": parent_ids}
