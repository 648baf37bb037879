"""Helpers of the harvest integration tests: exchange rows, runs, table snapshots."""

from __future__ import annotations

from typing import Any

import psycopg

from harvester.harvest import runs
from harvester.harvest.adapter import ExchangeAdapter
from harvester.harvest.pipeline import HarvestResult, harvest_exchange
from marketmanager import db


def add_exchange(
    conn: psycopg.Connection[Any], name: str, api_url: str | None = None
) -> dict[str, Any]:
    params = {
        "name": name,
        "enabled": True,
        "api_url": api_url,
        "interval_seconds": 60,
        "url": None,
        "logo": None,
    }
    row = db.fetch_one(conn, "insert_exchange", params)
    assert row is not None
    return row


def harvest_once(
    conn: psycopg.Connection[Any], adapter: ExchangeAdapter, exchange: dict[str, Any]
) -> HarvestResult:
    run = runs.create_run(conn, exchange["id"], running=True, node="test", worker="test")
    return harvest_exchange(conn, adapter, exchange, run.id)


def markets_of(conn: psycopg.Connection[Any], exchange_id: int) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        "SELECT * FROM markets WHERE exchange_id = %s ORDER BY id", (exchange_id,)
    ).fetchall()
    return {row["symbol"]: row for row in rows}


def tick_count(conn: psycopg.Connection[Any], exchange_id: int) -> int:
    row = conn.execute(
        "SELECT count(*) AS n FROM market_ticks AS t JOIN markets AS m ON m.id = t.market_id"
        " WHERE m.exchange_id = %s",
        (exchange_id,),
    ).fetchone()
    assert row is not None
    return int(row["n"])


def exchange_row(conn: psycopg.Connection[Any], name: str) -> dict[str, Any]:
    row = db.fetch_one(conn, "exchange_by_name", {"name": name})
    assert row is not None
    return row
