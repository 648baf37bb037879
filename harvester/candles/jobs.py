"""Backfill job records (``candle_backfills``): queue one, read one, list them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

import psycopg

from marketmanager import db
from marketmanager.candles.timeframes import timeframe_ms

DEFAULT_TOP = 10


def queue_backfill(
    conn: psycopg.Connection[Any],
    exchange_id: int,
    timeframe: str,
    since: dt.datetime,
    symbols: Sequence[str] = (),
    *,
    top: int = DEFAULT_TOP,
    trigger: Literal["MANUAL", "SCHEDULE"] = "MANUAL",
) -> dict[str, Any]:
    """A QUEUED job (or the same one queued already) for the backfill lane."""
    timeframe_ms(timeframe)  # a clear error for an unknown timeframe
    params = {
        "exchange_id": exchange_id,
        "timeframe": timeframe,
        "since": since,
        "symbols": list(dict.fromkeys(symbols)),
        "top": top,
        "trigger": trigger,
    }
    with conn.transaction():
        row = db.fetch_one(conn, "queue_backfill", params)
    assert row is not None
    return row


def get_backfill(conn: psycopg.Connection[Any], job_id: int) -> dict[str, Any] | None:
    return db.fetch_one(conn, "backfill_by_id", {"id": job_id})
