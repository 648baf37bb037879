"""The candle statements of queries.sql against the migrated schema, and the partitions."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import psycopg

from marketmanager import db
from sql import queries

CANDLE_QUERIES = [
    name
    for name in queries
    if any(word in name for word in ("candle", "backfill", "keep_current", "live_nodes"))
    or name in ("market_ids_by_symbol", "insert_market_stub", "top_markets")
]
COPY = re.compile(r"^\s*(COPY|SET)\b", re.IGNORECASE)


def _numbered(text: str) -> str:
    """A named query with its %(name)s parameters as $1, $2 … (what PREPARE takes)."""
    numbers: dict[str, int] = {}

    def number(match: re.Match[str]) -> str:
        return f"${numbers.setdefault(match.group(1), len(numbers) + 1)}"

    return re.sub(r"%\((\w+)\)s", number, text).replace("%%", "%")


def test_each_candle_statement_prepares_against_the_schema(db_url: str) -> None:
    """COPY statements cannot be prepared: the backfill tests run them."""
    with db.connect(db_url) as conn, conn.transaction():
        conn.execute(queries["candle_create_staging"])  # what candle_upsert reads
        prepared = []
        for name in CANDLE_QUERIES:
            if name == "candle_create_staging" or COPY.match(queries[name]):
                continue
            conn.execute(f"PREPARE probe AS {_numbered(queries[name])}".encode())
            conn.execute("DEALLOCATE probe")
            prepared.append(name)
    assert len(prepared) >= 20


def test_candle_partitions_are_made_by_month_once(conn: psycopg.Connection[Any]) -> None:
    params = {"first_month": dt.date(2024, 12, 15), "last_month": dt.date(2025, 2, 1)}
    first = db.fetch_one(conn, "ensure_candle_partitions", params)
    again = db.fetch_one(conn, "ensure_candle_partitions", params)
    assert first is not None and again is not None
    assert (first["created"], again["created"]) == (3, 0)
    names = {
        row["relname"]
        for row in conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'market_candles'::regclass"
        ).fetchall()
    }
    assert names == {"market_candles_p202412", "market_candles_p202501", "market_candles_p202502"}
