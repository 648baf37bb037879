"""Connections in the GitHub API shape: nodes, edges { cursor node }, pageInfo, totalCount."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry

from graphql_api.paging.cursors import encode_cursor
from graphql_api.paging.listings import PageRequest

T = TypeVar("T")
Row = dict[str, Any]


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None = strawberry.field(
        description="Pass as `after` to get the next page; null on an empty page."
    )
    start_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


def _edges(root: Connection[Any]) -> list[Edge[Any]]:
    return [
        Edge(cursor=root.cursor(row), node=item)
        for row, item in zip(root.rows, root.nodes, strict=True)
    ]


def _page_info(root: Connection[Any]) -> PageInfo:
    rows = root.rows
    return PageInfo(
        has_next_page=root.has_next,
        end_cursor=root.cursor(rows[-1]) if rows else None,
        start_cursor=root.cursor(rows[0]) if rows else None,
    )


async def _total_count(root: Connection[Any]) -> int:
    return await root.counter()


@strawberry.type(
    description=(
        "A page of a listing in a stable order (keyset pagination): rows inserted or "
        "updated between pages do not shift the others, so every row whose sort key does "
        "not change is seen exactly once."
    )
)
class Connection(Generic[T]):
    # Declared in the order of the SDL; `nodes` is a plain attribute, the cheapest
    # kind of field to resolve (edges and pageInfo build cursors only when asked).
    edges: list[Edge[T]] = strawberry.field(resolver=_edges)
    page_info: PageInfo = strawberry.field(resolver=_page_info)
    nodes: list[T]
    total_count: int = strawberry.field(
        resolver=_total_count, description="Rows matching the filters, on every page."
    )
    rows: strawberry.Private[Sequence[Row]]
    request: strawberry.Private[PageRequest]
    has_next: strawberry.Private[bool]
    counter: strawberry.Private[Callable[[], Awaitable[int]]]

    def cursor(self, row: Row) -> str:
        return encode_cursor(self.request.ordering, self.request.ordering.keys_of(row))


C = TypeVar("C", bound=Connection[Any])


def build_connection(
    cls: type[C],
    rows: Sequence[Row],
    request: PageRequest,
    node: Callable[[Row], Any],
    counter: Callable[[], Awaitable[int]],
) -> C:
    """A connection from the rows of a page query (which fetched one row too many)."""
    page = rows[: request.first]
    return cls(
        nodes=[node(row) for row in page],
        rows=page,
        request=request,
        has_next=len(rows) > request.first,
        counter=counter,
    )
