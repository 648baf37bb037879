"""Helpers of the candle tests: run a backfill job in the test's process, read candles."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

from harvester.candles.backfill import BackfillResult, run_backfill
from harvester.candles.jobs import get_backfill, queue_backfill
from harvester.candles.source import CandleSource
from harvester.harvest.adapter import ExchangeAdapter
from marketmanager import db
from marketmanager.candles.aggregate import Candle
from marketmanager.candles.timeframes import to_ms


def claim(conn: psycopg.Connection[Any], job_id: int) -> dict[str, Any]:
    row = db.fetch_one(
        conn, "claim_backfill_by_id", {"id": job_id, "node": "test", "worker": "test"}
    )
    assert row is not None, f"backfill {job_id} was not QUEUED"
    return row


def backfill(
    conn: psycopg.Connection[Any],
    source: CandleSource,
    exchange: dict[str, Any],
    symbols: list[str],
    timeframe: str,
    since: dt.datetime,
    **options: Any,
) -> tuple[BackfillResult, dict[str, Any]]:
    """Queue, claim and run one job; its result and its row afterwards."""
    job = queue_backfill(conn, exchange["id"], timeframe, since, symbols)
    result = run_backfill(conn, source, claim(conn, job["id"]), **options)
    row = get_backfill(conn, job["id"])
    assert row is not None
    return result, row


def candle_source(api_url: str, name: str) -> CandleSource:
    return CandleSource(ExchangeAdapter(name, api_url=api_url, enable_rate_limit=False))


def stored_candles(
    conn: psycopg.Connection[Any], exchange_id: int, symbol: str, timeframe: str
) -> list[Candle]:
    rows = conn.execute(
        "SELECT c.ts, c.open, c.high, c.low, c.close, c.base_volume, c.quote_volume"
        " FROM market_candles AS c JOIN markets AS m ON m.id = c.market_id"
        " WHERE m.exchange_id = %s AND m.symbol = %s AND c.timeframe = %s ORDER BY c.ts",
        (exchange_id, symbol, timeframe),
    ).fetchall()
    return [Candle(to_ms(row.pop("ts")), *row.values()) for row in rows]
