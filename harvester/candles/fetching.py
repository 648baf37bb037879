"""The fetching side of a backfill: pages of every market in order, one page ahead.

`PageFetcher` fetches from a thread of its own while the job's thread writes the page
before, so the exchange's answer (and ccxt's parsing) and PostgreSQL's work overlap. It
is still one request at a time, in order, through the one ccxt instance and its rate
limiter. A retryable failure of a page is tried again after a pause, a few times; the
last failure, or a stop asked through `keep_going`, reaches the consumer in order.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from harvester.candles.paging import Page, Span, read_page
from harvester.harvest.pipeline import failure_of
from marketmanager.candles.aggregate import Candle

log = structlog.get_logger()

AHEAD = 2  # pages fetched and not yet written, at most
RETRY_PAUSE = 0.5  # seconds, doubled at each attempt


class CandlePages(Protocol):
    """What a backfill needs from an exchange: `harvester.candles.source.CandleSource`."""

    name: str
    limit: int

    def markets(self) -> Mapping[str, Mapping[str, Any]]: ...

    def fetch_page(self, symbol: str, timeframe: str, since: int) -> list[Candle]: ...


class FetchStopped(Exception):
    """`keep_going` said stop before a page."""


@dataclass(frozen=True, slots=True)
class MarketSpan:
    market_id: int
    symbol: str
    span: Span


@dataclass(frozen=True, slots=True)
class FetchedPage:
    index: int  # of the market in the job's list
    market_id: int
    page: Page
    requests: int  # 1, or more after retries
    unavailable_before: int | None  # on the market's first page only


class PageFetcher:
    def __init__(
        self,
        source: CandlePages,
        timeframe: str,
        markets: Sequence[MarketSpan],
        *,
        attempts: int,
        keep_going: Callable[[], bool],
        sleep: Callable[[float], bool | None],
    ) -> None:
        self.source = source
        self.timeframe = timeframe
        self.markets = markets
        self.attempts = attempts
        self.keep_going = keep_going
        self.sleep = sleep
        self._pages: queue.Queue[FetchedPage | BaseException | None] = queue.Queue(AHEAD)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._main, name="candle-pages", daemon=True)

    def __enter__(self) -> Iterator[FetchedPage]:
        self._thread.start()
        return self._consume()

    def __exit__(self, *exc_info: object) -> None:
        self._closed.set()
        while self._thread.is_alive():  # unblock a put, then let the thread see _closed
            with contextlib.suppress(queue.Empty):
                self._pages.get(timeout=0.1)
        self._thread.join()

    def _consume(self) -> Iterator[FetchedPage]:
        while True:
            item = self._pages.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def _put(self, item: FetchedPage | BaseException | None) -> bool:
        while not self._closed.is_set():
            try:
                self._pages.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _main(self) -> None:
        try:
            for index, market in enumerate(self.markets):
                cursor, unavailable = market.span.start, market.span.unavailable_before
                while cursor < market.span.until:
                    if self._closed.is_set():
                        return
                    if not self.keep_going():
                        raise FetchStopped
                    received, tries = self._fetch(market.symbol, cursor)
                    page = read_page(
                        self.timeframe, cursor, market.span.until, received, self.source.limit
                    )
                    fetched = FetchedPage(index, market.market_id, page, tries, unavailable)
                    if not self._put(fetched):
                        return
                    cursor, unavailable = page.covered[1], None
            self._put(None)
        except BaseException as error:  # handed to the consumer, raised in its thread
            self._put(error)

    def _fetch(self, symbol: str, cursor: int) -> tuple[list[Candle], int]:
        """A page, and how many requests it took."""
        for attempt in range(1, self.attempts + 1):
            try:
                return self.source.fetch_page(symbol, self.timeframe, cursor), attempt
            except Exception as error:
                failure = failure_of(error)
                if not failure.retryable or attempt == self.attempts:
                    raise
                log.info("backfill.page_retry", symbol=symbol, attempt=attempt, error=failure.error)
                self.sleep(RETRY_PAUSE * 2 ** (attempt - 1))
        raise AssertionError("unreachable")
