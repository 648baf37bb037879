"""The API process: its encoder of responses, its interpreter settings, its memory."""

from __future__ import annotations

import asyncio
import gc
import json
from typing import Any

from graphql_api.http import dump_json
from graphql_api.loaders import Loaders
from graphql_api.paging.listings import MARKETS
from graphql_api.runtime import GC_THRESHOLDS, tune_gc


def test_responses_are_compact_json() -> None:
    data = {"data": {"markets": {"nodes": [{"symbol": "BTC/€", "last": 1.5, "bid": None}]}}}
    encoded = dump_json(data)
    assert json.loads(encoded) == data
    assert b" " not in encoded and "€".encode() in encoded


def test_what_orjson_refuses_goes_through_json() -> None:
    huge = {"data": {"n": 2**70}}  # a custom scalar could carry such an int
    assert json.loads(dump_json(huge)) == huge


def test_tune_gc_freezes_start_up_and_raises_the_threshold() -> None:
    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def test_loaders_let_go_of_their_rows() -> None:
    async def check() -> None:
        loaders = Loaders(db=None)  # type: ignore[arg-type]  (nothing is loaded here)
        loaders.prime_exchanges([{"id": 1, "name": "kraken"}])
        pages = loaders.page(MARKETS)
        pages.prime((1, "request"), [{"id": 7}])  # type: ignore[arg-type]
        everything: list[Any] = [loaders.exchange_by_id, loaders.exchange_by_name, pages]
        assert all(loader.cache_map.cache_map for loader in everything)
        loaders.release()
        assert not any(loader.cache_map.cache_map for loader in everything)
        assert all(loader.batch is None for loader in everything)

    asyncio.run(check())
