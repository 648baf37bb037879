"""Connections in the GitHub API shape: nodes, edges { cursor node }, pageInfo, totalCount."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry

from graphql_api.listing import PageRequest
from graphql_api.pagination import encode_cursor

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


@strawberry.type(
    description=(
        "A page of a listing in a stable order (keyset pagination): rows inserted or "
        "updated between pages do not shift the others, so every row whose sort key does "
        "not change is seen exactly once."
    )
)
class Connection(Generic[T]):
    items: strawberry.Private[list[T]]
    rows: strawberry.Private[Sequence[Row]]
    request: strawberry.Private[PageRequest]
    has_next: strawberry.Private[bool]
    counter: strawberry.Private[Callable[[], Awaitable[int]]]

    def _cursor(self, row: Row) -> str:
        return encode_cursor(self.request.ordering, self.request.ordering.keys_of(row))

    @strawberry.field
    def edges(self) -> list[Edge[T]]:
        # cursors are only encoded when asked for
        return [
            Edge(cursor=self._cursor(row), node=item)
            for row, item in zip(self.rows, self.items, strict=True)
        ]

    @strawberry.field
    def page_info(self) -> PageInfo:
        return PageInfo(
            has_next_page=self.has_next,
            end_cursor=self._cursor(self.rows[-1]) if self.rows else None,
            start_cursor=self._cursor(self.rows[0]) if self.rows else None,
        )

    @strawberry.field
    def nodes(self) -> list[T]:
        return self.items

    @strawberry.field(description="Rows matching the filters, on every page.")
    async def total_count(self) -> int:
        return await self.counter()


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
        items=[node(row) for row in page],
        rows=page,
        request=request,
        has_next=len(rows) > request.first,
        counter=counter,
    )
