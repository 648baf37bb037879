"""`IdentityCache` keeps values by the identity of objects, never by their content."""

from __future__ import annotations

import pytest
from graphql import parse

from graphql_api.identity_cache import IdentityCache


def test_a_value_is_made_once_per_object_and_again_for_an_equal_other_object() -> None:
    cache: IdentityCache[str] = IdentityCache(8)
    made: list[str] = []
    first, same_text = parse("{ a }"), parse("{ a }")
    assert first == same_text  # graphql-core compares documents by content

    def make(label: str) -> str:
        made.append(label)
        return label

    assert cache.get((first,), lambda: make("first")) == "first"
    assert cache.get((first,), lambda: make("again")) == "first"
    assert cache.get((same_text,), lambda: make("other")) == "other"
    assert made == ["first", "other"]


def test_a_full_cache_starts_over_and_a_failed_make_keeps_nothing() -> None:
    cache: IdentityCache[int] = IdentityCache(2)
    keys = [object() for _ in range(3)]
    for number, key in enumerate(keys):
        cache.get((key,), lambda number=number: number)  # type: ignore[misc]
    assert len(cache) == 1  # the third entry found the cache full

    def fail() -> int:
        raise ValueError("invalid")

    key = object()
    for _ in range(2):
        with pytest.raises(ValueError):
            cache.get((key,), fail)
    assert len(cache) == 1
