"""The pure parts of live updates: what changed, versions to re-read, the fan-out."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from graphql_api.live.changes import Change, ChangedMarkets, RecentVersions
from graphql_api.live.hub import Hub


@dataclass
class Quote:
    symbol: str


def test_a_notification_payload_becomes_a_change_or_a_clear_error() -> None:
    payload = '{"version": 7, "run": 3, "exchange": 2, "state": "SUCCEEDED"}'
    assert Change.from_payload(payload) == Change(7, 3, 2, "SUCCEEDED")
    assert Change.from_payload('{"edited": "exchanges"}') is None  # data changed, no run
    for bad in ("not json", "[]", '{"version": 1}'):
        with pytest.raises(ValueError, match="not a live change"):
            Change.from_payload(bad)


def test_a_market_counts_as_changed_when_first_seen_or_when_a_watched_value_moves() -> None:
    changed = ChangedMarkets()
    row = {"id": 1, "last": 10, "bid": 9, "ask": 11, "updated_at": "t1"}
    assert changed.changed(5, [row]) == [row]
    assert changed.changed(5, [{**row, "updated_at": "t2"}]) == []
    moved = {**row, "bid": 9.5}
    assert changed.changed(5, [moved]) == [moved]
    changed.forget(5)
    assert changed.remembered() == set()
    assert changed.changed(5, [moved]) == [moved]


def test_a_reread_starts_a_window_back_and_skips_versions_handled() -> None:
    versions = RecentVersions(window=10)
    for version in (1, 2, 4):
        versions.mark(version)
    assert versions.reread_from == 0
    assert [v for v in (1, 2, 3, 4, 5) if versions.is_new(v)] == [3, 5]
    versions.mark(30)
    assert versions.reread_from == 20 and not versions.is_new(19) and versions.is_new(21)


def test_the_hub_offers_each_subscriber_what_it_watches() -> None:
    async def scenario() -> None:
        hub = Hub(queue_size=4)
        everything = hub.watch_markets(1, None, lambda: None)
        some = hub.watch_markets(1, ["B/USD"], lambda: None)
        other = hub.watch_markets(2, None, lambda: None)
        all_runs, runs_of_2 = hub.watch_runs(None, lambda: None), hub.watch_runs(2, lambda: None)
        markets = [Quote("A/USD"), Quote("B/USD")]
        hub.publish_markets(1, markets)
        hub.publish_run(1, "run-of-1")
        assert everything.queue.get_nowait() == markets
        assert some.queue.get_nowait() == [markets[1]]
        assert other.queue.empty() and runs_of_2.queue.empty()
        assert all_runs.queue.get_nowait() == ("run-of-1",)
        assert hub.watched_exchanges() == {1, 2} and hub.subscribers == 5
        hub.leave(other)
        assert hub.watched_exchanges() == {1}

    asyncio.run(scenario())


def test_a_subscriber_whose_queue_is_full_is_dropped_once_and_others_keep_receiving() -> None:
    async def scenario() -> None:
        hub = Hub(queue_size=2)
        drops: list[str] = []
        slow = hub.watch_markets(1, None, lambda: drops.append("slow"))
        fast = hub.watch_markets(1, None, lambda: drops.append("fast"))
        for step in range(4):
            hub.publish_markets(1, [Quote(f"S{step}/USD")])
            fast.queue.get_nowait()
        assert drops == ["slow"] and slow.dropped and hub.dropped == 1
        assert hub.subscribers == 1 and fast.queue.empty()

    asyncio.run(scenario())
