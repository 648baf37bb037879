"""From connection arguments to a `PageRequest`, and from a request to a `Connection`.

Top-level listings run one statement (and one more for ``totalCount`` if asked); nested
ones go through the per-request DataLoaders so that all parents share a statement. A
page loads the columns of the fields selected on its nodes (`graphql_api.projection`).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar

from graphql_api.context import Info
from graphql_api.identity_cache import IdentityCache
from graphql_api.paging.cursors import DEFAULT_PAGE_SIZE, check_first, decode_cursor
from graphql_api.paging.listings import (
    Filters,
    Listing,
    PageRequest,
    count_sql,
    like_pattern,
    page_sql,
)
from graphql_api.projection import COLUMNS_CACHE_SIZE, Columns, Projection, node_field_names
from graphql_api.types.connection import Connection, build_connection

C = TypeVar("C", bound=Connection[Any])
_columns: IdentityCache[Columns | None] = IdentityCache(COLUMNS_CACHE_SIZE)

Row = dict[str, Any]


def search_pattern(search: str | None) -> str | None:
    return like_pattern(search) if search else None


def selected_columns(info: Info, projection: Projection) -> Columns | None:
    """The columns the nodes of this connection field need. They follow from the
    document's nodes for the field (directives are ignored: `graphql_api.projection`),
    so they are worked out once per field of a parsed document and kept by the identity
    of its nodes: the markets of 50 exchanges, and each request repeating the query,
    share the answer."""
    nodes = info._raw_info.field_nodes
    return _columns.get(
        (projection, *nodes), lambda: projection.columns(node_field_names(info.selected_fields))
    )


def page_request(
    listing: Listing,
    order: Enum | str | None,
    first: int | None,
    after: str | None,
    filters: dict[str, Any],
    columns: Columns | None = None,
) -> PageRequest:
    """Checked arguments (BAD_USER_INPUT on a bad `first` or cursor); None filters dropped."""
    if order is None:  # null means the default: the first ordering
        order = next(iter(listing.orderings))
    ordering = listing.orderings[order.value if isinstance(order, Enum) else order]
    keys = tuple(decode_cursor(after, ordering)) if after is not None else None
    kept: Filters = tuple((name, value) for name, value in filters.items() if value is not None)
    size = DEFAULT_PAGE_SIZE if first is None else check_first(first)
    return PageRequest(ordering, size, keys, kept, columns)


async def top_level(
    info: Info,
    listing: Listing,
    request: PageRequest,
    cls: type[C],
    node: Callable[[Row], Any],
    *,
    prime: Callable[[list[Row]], None] | None = None,
) -> C:
    """`prime` receives the rows (e.g. to fill a DataLoader's cache with them)."""
    db = info.context.db

    async def counter() -> int:
        query, params = count_sql(listing, request.filters)
        return int(await db.fetch_value(query, params))

    query, params = page_sql(listing, request)
    rows = await db.fetch_all(query, params)
    if prime is not None:
        prime(rows)
    return build_connection(cls, rows, request, node, counter)


async def nested(
    info: Info,
    listing: Listing,
    parent_id: int,
    request: PageRequest,
    cls: type[C],
    node: Callable[[Row], Any],
) -> C:
    loaders = info.context.loaders

    async def counter() -> int:
        return await loaders.count(listing).load((parent_id, request.filters))

    rows = await loaders.page(listing).load((parent_id, request))
    return build_connection(cls, rows, request, node, counter)
