"""The write path of a successful run: one transaction, one COPY, three set-based statements.

`write_run` copies the run's rows into a temporary table (binary COPY, dropped at
commit), upserts them into ``markets`` while appending one ``market_ticks`` row each,
marks the exchange's markets this run did not see inactive, updates the exchange's
aggregates and finishes the run row. Nothing is written per ticker, and nothing at all
unless every step succeeds.
"""

from __future__ import annotations

import datetime as dt
import typing
from collections.abc import Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from operator import attrgetter
from typing import Any

import psycopg
from psycopg import sql

from harvester.harvest import runs
from harvester.harvest.tickers import MarketRow
from harvester.harvest.volume import VolumeSummary
from marketmanager import db
from sql import compose

PARTITION_DAYS = 2  # the harvest's day and the next

# The columns of ``markets`` a run writes: MarketRow's fields, then the USD volume. The
# staging table, the COPY and the upsert are all derived from this one list.
ROW_FIELDS = tuple(spec.name for spec in fields(MarketRow))
STAGED_COLUMNS = (*ROW_FIELDS, "volume_usd")
_PG_TYPES = {str: "text", bool: "bool", Decimal: "numeric", dt.datetime: "timestamptz"}


def _pg_type(annotation: Any) -> str:
    """The PostgreSQL type of a MarketRow field (``X | None`` is X)."""
    kinds = [
        kind for kind in typing.get_args(annotation) or (annotation,) if kind is not type(None)
    ]
    return _PG_TYPES[kinds[0]]


_HINTS = typing.get_type_hints(MarketRow)
STAGING_TYPES = [*(_pg_type(_HINTS[name]) for name in ROW_FIELDS), "numeric"]
_read_row = attrgetter(*ROW_FIELDS)

COLUMNS = sql.SQL(", ").join(map(sql.Identifier, STAGED_COLUMNS))


def _assignments(source: str) -> sql.Composable:
    """``column = <source>.column`` for each staged column but the key, symbol."""
    return sql.SQL(", ").join(
        sql.SQL("{0} = {1}.{0}").format(sql.Identifier(column), sql.Identifier(source))
        for column in STAGED_COLUMNS
        if column != "symbol"
    )


UPDATES = _assignments("excluded")  # an ON CONFLICT update's proposed row
UPDATES_FROM_STAGING = _assignments("s")  # harvest_staging AS s
CREATE_STAGING = compose("harvest_create_staging", columns=COLUMNS)
COPY_STAGING = compose("harvest_copy_staging", columns=COLUMNS)
UPSERT_MARKETS = compose(
    "harvest_upsert_markets",
    columns=COLUMNS,
    updates=UPDATES,
    updates_from_staging=UPDATES_FROM_STAGING,
)


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
    """One COPY record, in the order of `STAGED_COLUMNS`."""
    return (*_read_row(row), volume_usd)


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
            cur.execute(CREATE_STAGING)
            with cur.copy(COPY_STAGING) as copy:
                copy.set_types(STAGING_TYPES)
                for row in rows:
                    copy.write_row(staging_record(row, summary.by_symbol.get(row.symbol)))
        with conn.cursor() as cur:
            cur.execute(UPSERT_MARKETS, params)
            written = cur.rowcount
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
