"""One harvest run end to end: fetch with the adapter, map, value in USD, write, finish.

`harvest_exchange` is what ``marketmanager harvest`` calls once the run row is RUNNING,
`harvest_exchange_async` what the daemon's asyncio workers await. Neither raises for an
exchange or write failure: the run ends FAILED with a readable error and the result says
so. They only raise when even the FAILED row cannot be written (the database is gone).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

import ccxt
import psycopg
import structlog
from psycopg_pool import ConnectionPool

from harvester.harvest import runs, write
from harvester.harvest.adapter import Failure, classify_error
from harvester.harvest.tickers import tickers_to_rows
from harvester.harvest.volume import summarize
from marketmanager.reconnect import LongLivedConnection

# a connection, or a source of checked ones: a pool, or one connection reopened as needed
Database = psycopg.Connection[Any] | ConnectionPool | LongLivedConnection
Progress = Callable[[str], None]


class TickerSource(Protocol):
    """What a run needs from an exchange: `harvester.harvest.adapter.ExchangeAdapter`, or a fake."""

    def load_markets(self) -> Mapping[str, Mapping[str, Any]]: ...

    def fetch_tickers(self) -> Sequence[Mapping[str, Any]]: ...


class AsyncTickerSource(Protocol):
    """The same, awaited: `harvester.harvest.async_adapter.AsyncExchangeAdapter`."""

    async def load_markets(self) -> Mapping[str, Mapping[str, Any]]: ...

    async def fetch_tickers(self) -> Sequence[Mapping[str, Any]]: ...


@dataclass(frozen=True, slots=True)
class HarvestResult:
    exchange: str
    run_id: int
    state: str  # SUCCEEDED or FAILED
    seconds: float
    markets: int = 0
    deactivated: int = 0
    skipped: int = 0  # tickers without a usable symbol
    volume_usd: Decimal | None = None
    top_pair: str | None = None
    top_pair_volume_usd: Decimal | None = None
    unpriced: int = 0
    error: str | None = None
    retryable: bool | None = None

    @property
    def succeeded(self) -> bool:
        return self.state == "SUCCEEDED"


@contextmanager
def _connection(database: Database) -> Iterator[psycopg.Connection[Any]]:
    """A connection for one step: the given one, or one taken from the source."""
    if isinstance(database, psycopg.Connection):
        yield database
    else:
        with database.connection() as conn:
            yield conn


def failure_of(error: BaseException) -> Failure:
    """The stored form of a failure; a lost database connection is worth a retry."""
    failure = classify_error(error)
    if isinstance(error, psycopg.OperationalError):
        return Failure(failure.error, True)
    return failure


def harvest_exchange(
    database: Database,
    adapter: TickerSource,
    exchange_row: Mapping[str, Any],
    run_id: int,
    now: dt.datetime | None = None,
    *,
    progress: Progress | None = None,
) -> HarvestResult:
    """Harvest `exchange_row` (a row of ``exchanges``: ``id``, ``name``) for the RUNNING run
    `run_id`, and finish the run SUCCEEDED or FAILED.

    `database` is an autocommit connection, or a pool or a `LongLivedConnection` (a
    connection is taken only to write, so a database that restarted meanwhile is fine).
    `now` is the harvest time stamped on history (default: when the tickers arrived).
    `progress` receives short human-readable steps.
    """
    say = progress or (lambda _message: None)
    started = time.monotonic()
    try:
        say("loading markets…")
        markets = adapter.load_markets()
        say("fetching tickers…")
        tickers = adapter.fetch_tickers()
    except Exception as error:
        return record_failure(database, exchange_row, run_id, error, started)
    return record_harvest(database, exchange_row, run_id, markets, tickers, started, now, say)


async def harvest_exchange_async(
    pool: ConnectionPool,
    adapter: AsyncTickerSource,
    exchange_row: Mapping[str, Any],
    run_id: int,
) -> HarvestResult:
    """`harvest_exchange` for the daemon's asyncio workers: the network part awaits, the
    write (sync psycopg, one transaction) runs in a thread with a connection of `pool`."""
    started = time.monotonic()
    try:
        markets = await adapter.load_markets()
        tickers = await adapter.fetch_tickers()
    except Exception as error:
        return await asyncio.to_thread(record_failure, pool, exchange_row, run_id, error, started)
    return await asyncio.to_thread(
        record_harvest, pool, exchange_row, run_id, markets, tickers, started
    )


def record_harvest(
    database: Database,
    exchange_row: Mapping[str, Any],
    run_id: int,
    markets: Mapping[str, Mapping[str, Any]],
    tickers: Sequence[Mapping[str, Any]],
    started: float,
    now: dt.datetime | None = None,
    say: Progress = lambda _message: None,
) -> HarvestResult:
    """Map, value and write fetched tickers; the run ends SUCCEEDED, or FAILED if they
    are unusable or cannot be written. `started`: the run's `time.monotonic()` start."""
    name = exchange_row["name"]
    try:
        harvested_at = now or dt.datetime.now(dt.UTC)
        rows, skipped = tickers_to_rows(tickers, markets)
        if not rows:
            raise ccxt.BadResponse(f"{name} returned no usable tickers ({len(tickers)} received)")
        summary = summarize(rows)
        say(f"writing {len(rows)} markets…")
        with _connection(database) as conn:
            written = write.write_run(
                conn,
                exchange_id=exchange_row["id"],
                run_id=run_id,
                rows=rows,
                summary=summary,
                harvested_at=harvested_at,
            )
    except Exception as error:
        return record_failure(database, exchange_row, run_id, error, started)
    seconds = time.monotonic() - started
    structlog.get_logger().info(
        "run.finished",
        exchange=name,
        run_id=run_id,
        state="SUCCEEDED",
        markets=written.markets,
        seconds=round(seconds, 3),
        deactivated=written.deactivated,
        unpriced=summary.unpriced,
    )
    return HarvestResult(
        name,
        run_id,
        "SUCCEEDED",
        seconds,
        markets=written.markets,
        deactivated=written.deactivated,
        skipped=skipped,
        volume_usd=summary.volume_usd,
        top_pair=summary.top_pair,
        top_pair_volume_usd=summary.top_pair_volume_usd,
        unpriced=summary.unpriced,
    )


def record_failure(
    database: Database,
    exchange_row: Mapping[str, Any],
    run_id: int,
    error: BaseException,
    started: float,
) -> HarvestResult:
    """Finish the run FAILED with `error`'s readable line; the result says so."""
    failure = failure_of(error)
    with _connection(database) as conn:
        runs.finish_failed(conn, run_id, failure.error, retryable=failure.retryable)
    seconds = time.monotonic() - started
    structlog.get_logger().warning(
        "run.finished",
        exchange=exchange_row["name"],
        run_id=run_id,
        state="FAILED",
        markets=0,
        seconds=round(seconds, 3),
        error=failure.error,
        retryable=failure.retryable,
    )
    return HarvestResult(
        exchange_row["name"],
        run_id,
        "FAILED",
        seconds,
        error=failure.error,
        retryable=failure.retryable,
    )
