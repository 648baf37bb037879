"""The process's subscribers and the fan-out to them.

The listener hands each change to the hub once; the hub offers it to every matching
subscriber's bounded queue without waiting. A subscriber whose queue is full (it stopped
reading, or reads slower than updates come) is dropped: its `on_drop` closes its
connection, so memory never grows with a slow client.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

log = structlog.get_logger()


class Symbolic(Protocol):
    symbol: str


@dataclass(eq=False)
class Subscriber:
    exchange_id: int | None  # None: every exchange (runUpdates only)
    symbols: frozenset[str] | None  # None: every market of the exchange
    on_drop: Callable[[], None]
    queue: asyncio.Queue[Sequence[Any]]
    dropped: bool = False

    async def updates(self) -> AsyncIterator[Any]:
        """Each item offered, in order, until the subscriber is dropped or cancelled."""
        while not self.dropped:
            for item in await self.queue.get():
                yield item


class Hub:
    """`queue_size`: how many updates (one harvest's markets count as one) may wait for a
    subscriber before it is dropped (MM_LIVE_QUEUE_SIZE)."""

    def __init__(self, queue_size: int) -> None:
        self.queue_size = queue_size
        self.markets: dict[int, set[Subscriber]] = {}
        self.runs: set[Subscriber] = set()
        self.dropped = 0

    @property
    def subscribers(self) -> int:
        return len(self.runs) + sum(len(s) for s in self.markets.values())

    def watched_exchanges(self) -> set[int]:
        """The exchanges whose markets somebody here watches."""
        return set(self.markets)

    def watch_markets(
        self, exchange_id: int, symbols: Sequence[str] | None, on_drop: Callable[[], None]
    ) -> Subscriber:
        wanted = None if symbols is None else frozenset(symbols)
        subscriber = Subscriber(exchange_id, wanted, on_drop, asyncio.Queue(self.queue_size))
        self.markets.setdefault(exchange_id, set()).add(subscriber)
        return subscriber

    def watch_runs(self, exchange_id: int | None, on_drop: Callable[[], None]) -> Subscriber:
        subscriber = Subscriber(exchange_id, None, on_drop, asyncio.Queue(self.queue_size))
        self.runs.add(subscriber)
        return subscriber

    def leave(self, subscriber: Subscriber) -> None:
        self.runs.discard(subscriber)
        if subscriber.exchange_id in self.markets:
            watchers = self.markets[subscriber.exchange_id]
            watchers.discard(subscriber)
            if not watchers:
                del self.markets[subscriber.exchange_id]

    def publish_markets(self, exchange_id: int, markets: Sequence[Symbolic]) -> None:
        """Offer one harvest's changed markets of an exchange to those who watch them."""
        if not markets:
            return
        by_symbol: dict[str, Symbolic] | None = None
        for subscriber in list(self.markets.get(exchange_id, ())):
            if subscriber.symbols is None:
                self._offer(subscriber, markets)
                continue
            if by_symbol is None:
                by_symbol = {market.symbol: market for market in markets}
            wanted = [by_symbol[s] for s in subscriber.symbols if s in by_symbol]
            if wanted:
                self._offer(subscriber, wanted)

    def publish_run(self, exchange_id: int, run: Any) -> None:
        for subscriber in list(self.runs):
            if subscriber.exchange_id in (None, exchange_id):
                self._offer(subscriber, (run,))

    def _offer(self, subscriber: Subscriber, items: Sequence[Any]) -> None:
        try:
            subscriber.queue.put_nowait(items)
        except asyncio.QueueFull:
            self.drop(subscriber)

    def drop(self, subscriber: Subscriber) -> None:
        self.leave(subscriber)
        if subscriber.dropped:
            return
        subscriber.dropped = True
        self.dropped += 1
        log.warning("live.subscriber_dropped", exchange_id=subscriber.exchange_id)
        subscriber.on_drop()
