"""One backfill job end to end: resolve its markets, page each one, store, finish.

`run_backfill` is what the harvester's backfill lane and ``marketmanager backfill`` (in
the foreground) call once the job row is RUNNING. Each market resumes where an earlier
fetch of the same range ended (`candle_resume_point`), so running a job again fetches
only what is new. A retryable failure of a page (network, 429, 5xx, a cut body) is tried
again after a pause, a few times; then the job ends FAILED with a readable error, and
everything stored so far stays: the next job resumes after it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
import structlog

from harvester.candles.fetching import CandlePages, FetchStopped, MarketSpan, PageFetcher
from harvester.candles.paging import Span, plan_span
from harvester.candles.store import CandleStore, PageWrite
from harvester.harvest.pipeline import failure_of
from marketmanager import db
from marketmanager.candles.timeframes import ceil_ms, floor_ms, from_ms, to_ms

log = structlog.get_logger()

PAGE_ATTEMPTS = 4


class JobError(Exception):
    """The job cannot be done as asked (unknown symbols, nothing to pick from)."""


@dataclass(frozen=True, slots=True)
class BackfillResult:
    job_id: int
    state: str  # SUCCEEDED, FAILED, or QUEUED (given back: the lane stops)
    candles: int
    requests: int
    error: str | None = None


def resolve_markets(
    conn: psycopg.Connection[Any], source: CandlePages, job: Mapping[str, Any]
) -> list[tuple[int, str]]:
    """(market id, symbol) of the job's symbols, or of the exchange's top pairs by USD
    volume; a listed symbol that no harvest stored yet gets its market row."""
    exchange_id = job["exchange_id"]
    symbols: Sequence[str] = job["symbols"]
    if not symbols:
        rows = db.fetch_all(conn, "top_markets", {"exchange_id": exchange_id, "top": job["top"]})
        symbols = [row["symbol"] for row in rows]
        if not symbols:
            raise JobError(
                "no harvested markets to pick the top pairs from: name the symbols, or harvest"
                " the exchange first"
            )
    known = {
        row["symbol"]: row["id"]
        for row in db.fetch_all(
            conn, "market_ids_by_symbol", {"exchange_id": exchange_id, "symbols": list(symbols)}
        )
    }
    missing = [symbol for symbol in symbols if symbol not in known]
    if missing:
        listed = source.markets()
        unknown = [symbol for symbol in missing if symbol not in listed]
        if unknown:
            raise JobError(f"{source.name} does not list {', '.join(unknown)}")
        for symbol in missing:
            market = listed[symbol]
            params = {
                "exchange_id": exchange_id,
                "symbol": symbol,
                "base": market.get("base") or symbol.split("/")[0],
                "quote": market.get("quote") or symbol.split("/")[-1],
                "type": market.get("type") or "spot",
            }
            row = db.fetch_one(conn, "insert_market_stub", params)
            assert row is not None
            known[symbol] = row["id"]
    return [(known[symbol], symbol) for symbol in symbols]


def _span(
    conn: psycopg.Connection[Any],
    exchange: str,
    job: Mapping[str, Any],
    market_id: int,
    now_ms: int,
) -> Span:
    """What to fetch of one market: resumed where an earlier fetch of the range ended."""
    timeframe = job["timeframe"]
    since = to_ms(job["since"])
    params = {
        "market_id": market_id,
        "timeframe": timeframe,
        "since": from_ms(ceil_ms(since, timeframe)),
    }
    resume = db.fetch_one(conn, "candle_resume_point", params)
    resume_at = resume["resume_at"] if resume else None
    return plan_span(
        exchange, timeframe, since, None if resume_at is None else to_ms(resume_at), now_ms
    )


def run_backfill(
    conn: psycopg.Connection[Any],
    source: CandlePages,
    job: Mapping[str, Any],
    *,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    keep_going: Callable[[], bool] = lambda: True,
    attempts: int = PAGE_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> BackfillResult:
    """Run the RUNNING job `job` (a ``candle_backfills`` row) and finish it."""
    job_id, timeframe = job["id"], job["timeframe"]
    owner = {"id": job_id, "node": job["node"], "worker": job["worker"]}
    store = CandleStore(conn)
    candles = requests = 0
    bound = log.bind(job_id=job_id, exchange=source.name, timeframe=timeframe)
    try:
        markets = resolve_markets(conn, source, job)
        now_ms = to_ms(now())
        spans = [
            MarketSpan(market_id, symbol, _span(conn, source.name, job, market_id, now_ms))
            for market_id, symbol in markets
        ]
        until = from_ms(floor_ms(now_ms, timeframe))
        progress = {"id": job_id, "total": len(markets), "until_ts": until}
        db.execute(conn, "backfill_markets", {**progress, "done": 0})
        fetcher = PageFetcher(
            source, timeframe, spans, attempts=attempts, keep_going=keep_going, sleep=sleep
        )
        with fetcher as pages:
            current = 0
            for fetched in pages:
                if fetched.index != current:
                    current = fetched.index
                    db.execute(conn, "backfill_markets", {**progress, "done": current})
                page = fetched.page
                candles += store.write_page(
                    PageWrite(
                        fetched.market_id,
                        timeframe,
                        page.candles,
                        page.covered,
                        page.no_trade_gaps,
                        fetched.requests,
                        fetched.unavailable_before,
                    ),
                    job_id,
                )
                requests += fetched.requests
        db.execute(conn, "backfill_markets", {**progress, "done": len(markets)})
    except FetchStopped:
        db.execute(conn, "requeue_backfill", owner)
        bound.info("backfill.requeued", candles=candles, requests=requests)
        return BackfillResult(job_id, "QUEUED", candles, requests)
    except Exception as error:
        message = str(error) if isinstance(error, JobError) else failure_of(error).error
        db.execute(conn, "finish_backfill", {**owner, "state": "FAILED", "error": message})
        bound.warning("backfill.finished", state="FAILED", error=message, candles=candles)
        return BackfillResult(job_id, "FAILED", candles, requests, message)
    db.execute(conn, "finish_backfill", {**owner, "state": "SUCCEEDED", "error": None})
    bound.info("backfill.finished", state="SUCCEEDED", candles=candles, requests=requests)
    return BackfillResult(job_id, "SUCCEEDED", candles, requests)
