"""DataLoaders, built per request: nested fields load in one statement per level.

``exchanges { nodes { markets(first: 20) { nodes { exchange { name } } } } }`` runs
one statement for the exchanges, one for all their market pages, and none for the
markets' exchanges (primed): the count does not grow with the number of rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from strawberry.dataloader import DataLoader

from graphql_api.database import Database, Row
from graphql_api.paging.listings import (
    Filters,
    Listing,
    PageRequest,
    counts_per_parent_sql,
    pages_per_parent_sql,
)

PageKey = tuple[int, PageRequest]  # (parent id, what the field asks for)
CountKey = tuple[int, Filters]


@dataclass(frozen=True, slots=True)
class RunSummary:
    """An exchange's newest run and newest finished run, with the database's clock."""

    newest: Row | None
    finished: Row | None
    db_now: Any


class Loaders:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.exchange_by_id: DataLoader[int, Row | None] = DataLoader(self._exchanges_by_id)
        self.exchange_by_name: DataLoader[str, Row | None] = DataLoader(self._exchanges_by_name)
        self.run_summary: DataLoader[int, RunSummary] = DataLoader(self._run_summaries)
        self.pages: dict[str, DataLoader[PageKey, list[Row]]] = {}
        self.counts: dict[str, DataLoader[CountKey, int]] = {}

    def release(self) -> None:
        """Drop what the loaders hold (every row loaded, by way of their futures and
        batches). Loaders and their DataLoaders refer to each other, so without this a
        request's rows would stay in memory until the cycle collector runs."""
        loaders: list[DataLoader[Any, Any]] = [
            self.exchange_by_id,
            self.exchange_by_name,
            self.run_summary,
            *self.pages.values(),
            *self.counts.values(),
        ]
        for loader in loaders:
            loader.clear_all()
            loader.batch = None

    def prime_exchanges(self, rows: Sequence[Row]) -> None:
        for row in rows:
            self.exchange_by_id.prime(row["id"], row)
            self.exchange_by_name.prime(row["name"], row)

    def page(self, listing: Listing) -> DataLoader[PageKey, list[Row]]:
        """Pages of `listing` per parent: rows (one extra when a next page exists)."""
        key = listing.source
        if key not in self.pages:
            self.pages[key] = DataLoader(self._pages_of(listing))
        return self.pages[key]

    def count(self, listing: Listing) -> DataLoader[CountKey, int]:
        key = listing.source
        if key not in self.counts:
            self.counts[key] = DataLoader(self._counts_of(listing))
        return self.counts[key]

    async def _exchanges_by_id(self, ids: list[int]) -> list[Row | None]:
        rows = await self.db.fetch_all("api_exchanges_by_id", {"ids": ids})
        self.prime_exchanges(rows)
        by_id = {row["id"]: row for row in rows}
        return [by_id.get(i) for i in ids]

    async def _exchanges_by_name(self, names: list[str]) -> list[Row | None]:
        rows = await self.db.fetch_all("api_exchanges_by_name", {"names": names})
        self.prime_exchanges(rows)
        by_name = {row["name"]: row for row in rows}
        return [by_name.get(n) for n in names]

    async def _run_summaries(self, ids: list[int]) -> list[RunSummary]:
        rows = await self.db.fetch_all("api_exchange_run_summaries", {"ids": ids})
        found: dict[int, dict[str, Row]] = defaultdict(dict)
        clock = rows[0]["db_now"] if rows else None
        for row in rows:
            found[row["for_exchange"]][row["role"]] = row
        return [RunSummary(found[i].get("newest"), found[i].get("finished"), clock) for i in ids]

    def _pages_of(self, listing: Listing) -> Callable[[list[PageKey]], Awaitable[list[list[Row]]]]:
        async def load(keys: list[PageKey]) -> list[list[Row]]:
            by_request: dict[PageRequest, list[int]] = defaultdict(list)
            for parent_id, request in keys:
                by_request[request].append(parent_id)
            # rows grouped by request, then by parent id: a request (a dataclass of
            # tuples) is hashed once per statement, not once per row
            pages: dict[PageRequest, dict[int, list[Row]]] = {}
            for request, parent_ids in by_request.items():
                query, params = pages_per_parent_sql(listing, request, parent_ids)
                per_parent: dict[int, list[Row]] = defaultdict(list)
                pages[request] = per_parent
                for row in await self.db.fetch_all(query, params):
                    per_parent[row["parent_id"]].append(row)
            return [pages[request].get(parent_id, []) for parent_id, request in keys]

        return load

    def _counts_of(self, listing: Listing) -> Callable[[list[CountKey]], Awaitable[list[int]]]:
        async def load(keys: list[CountKey]) -> list[int]:
            by_filters: dict[Filters, list[int]] = defaultdict(list)
            for parent_id, filters in keys:
                by_filters[filters].append(parent_id)
            counts: dict[CountKey, int] = {}
            for filters, parent_ids in by_filters.items():
                query, params = counts_per_parent_sql(listing, filters, parent_ids)
                for row in await self.db.fetch_all(query, params):
                    counts[(row["parent_id"], filters)] = row["n"]
            return [counts.get(key, 0) for key in keys]

        return load
