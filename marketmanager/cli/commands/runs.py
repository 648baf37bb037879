"""`marketmanager runs [EXCHANGE]`: the newest harvest runs and candle backfill jobs."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Mapping
from typing import Any

from marketmanager import db
from marketmanager.candles.progress import fraction_done
from marketmanager.cli.commands.exchanges import format_table
from marketmanager.cli.database import connect, exchange_named
from marketmanager.errors import CommandError

RUN_COLUMNS = (
    "RUN",
    "EXCHANGE",
    "STATE",
    "TRIGGER",
    "TRY",
    "QUEUED",
    "FINISHED",
    "MARKETS",
    "ERROR",
)
BACKFILL_COLUMNS = (
    "BACKFILL",
    "EXCHANGE",
    "TF",
    "STATE",
    "TRIGGER",
    "DONE",
    "MARKETS",
    "CANDLES",
    "COVERED (UTC)",
    "ERROR",
)
ERROR_WIDTH = 60


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("exchange", metavar="EXCHANGE", nargs="?", help="only this exchange's")
    parser.add_argument("--limit", type=int, default=20, help="of each (default %(default)s)")
    parser.set_defaults(handler=run)


def _when(value: dt.datetime | None) -> str:
    return "-" if value is None else f"{value.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S}"


def _short(text: str | None) -> str:
    if not text:
        return "-"
    line = " ".join(text.split())
    return line if len(line) <= ERROR_WIDTH else line[: ERROR_WIDTH - 1] + "…"


def run_cells(row: Mapping[str, Any]) -> tuple[str, ...]:
    return (
        str(row["id"]),
        row["exchange"],
        row["state"],
        row["trigger"],
        str(row["attempt"]),
        _when(row["queued_at"]),
        _when(row["finished_at"]),
        "-" if row["markets_count"] is None else str(row["markets_count"]),
        _short(row["error"]),
    )


def backfill_cells(row: Mapping[str, Any]) -> tuple[str, ...]:
    share = 1.0 if row["state"] == "SUCCEEDED" else fraction_done(row)
    covered = "-"
    if row["covered_from"] and row["covered_to"]:
        covered = f"{row['covered_from']:%Y-%m-%d %H:%M} → {row['covered_to']:%Y-%m-%d %H:%M}"
    return (
        str(row["id"]),
        row["exchange"],
        row["timeframe"],
        row["state"],
        row["trigger"],
        f"{share:.0%}",
        f"{row['markets_done']}/{row['markets_total'] or '?'}",
        f"{row['candles_stored']:,}",
        covered,
        _short(row["error"]),
    )


def run(args: argparse.Namespace) -> int:
    if args.limit <= 0:
        raise CommandError(f"--limit must be positive, got {args.limit}")
    params = {"exchange": args.exchange, "limit": args.limit}
    with connect() as conn:
        if args.exchange is not None:
            exchange_named(conn, args.exchange)
        runs = db.fetch_all(conn, "recent_runs", params)
        backfills = db.fetch_all(conn, "list_backfills", params)
    print("Harvest runs, newest first")
    print(format_table(RUN_COLUMNS, [run_cells(r) for r in runs]) if runs else "  none")
    print("\nCandle backfills, newest first")
    print(
        format_table(BACKFILL_COLUMNS, [backfill_cells(b) for b in backfills])
        if backfills
        else "  none (queue one with `marketmanager backfill EXCHANGE`)"
    )
    return 0
