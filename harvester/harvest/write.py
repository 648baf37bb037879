"""The write path of a successful run: one transaction, one COPY, three set-based statements.

`write_run` copies the run's rows into a temporary table (binary COPY, dropped at
commit), upserts them into ``markets`` while appending one ``market_ticks`` row each,
marks the exchange's markets this run did not see inactive, updates the exchange's
aggregates and finishes the run row. Nothing is written per ticker, and nothing at all
unless every step succeeds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from harvester.harvest import runs
from harvester.harvest.tickers import MarketRow
from harvester.harvest.volume import VolumeSummary
from marketmanager import db
from sql import queries

PARTITION_DAYS = 2  # the harvest's day and the next

STAGING_TYPES = [
    "text",
    "text",
    "text",
    "text",
    "bool",
    "numeric",
    "numeric",
    "numeric",
    "numeric",
    "numeric",
    "numeric",
    "numeric",
    "timestamptz",
]


class RunNotRunning(RuntimeError):
    """The run is not RUNNING any more (the poller declared it CRASHED): nothing written."""


@dataclass(frozen=True, slots=True)
class WriteResult:
    markets: int  # markets upserted (one history tick each)
    deactivated: int  # markets of the exchange this run no longer saw


def ensure_partitions(conn: psycopg.Connection[Any], harvested_at: dt.datetime) -> None:
    """The history partitions of the harvest's UTC day and the next exist (cheap when they do)."""
    day = harvested_at.astimezone(dt.UTC).date()
    with conn.transaction():
        db.execute(conn, "ensure_tick_partitions", {"first_day": day, "days": PARTITION_DAYS})


def staging_record(row: MarketRow, volume_usd: Any) -> tuple[Any, ...]:
    """One COPY record, in the column order of ``harvest_copy_staging``."""
    return (
        row.symbol,
        row.base,
        row.quote,
        row.type,
        row.active,
        row.last,
        row.bid,
        row.ask,
        row.base_volume,
        row.quote_volume,
        volume_usd,
        row.change_pct,
        row.exchange_ts,
    )


def write_run(
    conn: psycopg.Connection[Any],
    *,
    exchange_id: int,
    run_id: int,
    rows: Sequence[MarketRow],
    summary: VolumeSummary,
    harvested_at: dt.datetime,
) -> WriteResult:
    """Write one successful run (rows: one per symbol) and mark it SUCCEEDED, atomically."""
    ensure_partitions(conn, harvested_at)
    params = {"exchange_id": exchange_id, "harvested_at": harvested_at}
    with conn.transaction():
        # First: locks the run row, so a poller cannot crash it while we write.
        if not runs.finish_succeeded(conn, run_id, len(rows)):
            raise RunNotRunning(f"run {run_id} is no longer RUNNING; its results were dropped")
        with conn.cursor() as cur:
            cur.execute(queries["harvest_create_staging"])
            with cur.copy(queries["harvest_copy_staging"]) as copy:
                copy.set_types(STAGING_TYPES)
                for row in rows:
                    copy.write_row(staging_record(row, summary.by_symbol.get(row.symbol)))
        written = db.execute(conn, "harvest_upsert_markets", params)
        deactivated = db.execute(conn, "harvest_deactivate_missing", params)
        db.execute(
            conn,
            "harvest_update_exchange",
            {
                **params,
                "volume_usd": summary.volume_usd,
                "top_pair": summary.top_pair,
                "top_pair_volume_usd": summary.top_pair_volume_usd,
                "unpriced_markets": summary.unpriced,
            },
        )
    return WriteResult(markets=written, deactivated=deactivated)
