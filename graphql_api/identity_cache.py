"""A bounded cache keyed on the identity of objects, for what is worked out once per
parsed document and reused by every request that sends the same text.

graphql-core's AST nodes hash and compare by content: hashing a small document costs
tens of microseconds, once per request in a `functools.lru_cache`. The parsed document
of a repeated query is the same object (`graphql_api.documents.parse_document`), so its
identity is key enough. The objects of a key are kept alive with the value, so their ids
cannot be taken by others while the entry lives.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class IdentityCache(Generic[V]):
    """Values by the identity of `objects` (and by `extra`, compared by value); when
    `size` entries are held, the cache starts over."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: dict[tuple[Hashable, ...], tuple[tuple[object, ...], V]] = {}

    def get(self, objects: tuple[object, ...], make: Callable[[], V], extra: Hashable = None) -> V:
        key = (*map(id, objects), extra)
        found = self._entries.get(key)
        if found is not None:
            return found[1]
        value = make()
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[key] = (objects, value)
        return value

    def __len__(self) -> int:
        return len(self._entries)
