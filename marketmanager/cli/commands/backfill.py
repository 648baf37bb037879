"""`marketmanager backfill EXCHANGE [SYMBOL …]`: queue a candle backfill, show its progress.

The job is queued for the harvester's backfill lane. When no harvester node is alive (or
with ``--foreground``) this process runs the job itself, exactly as the lane would. Either
way a progress bar follows the job's row until it ends; exit 0 when it SUCCEEDED, 1 when
it FAILED. ``--no-wait`` only queues it and prints its id.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import sys
import threading
import time
from typing import Any

from harvester.candles.backfill import run_backfill
from harvester.candles.jobs import DEFAULT_TOP, get_backfill, queue_backfill
from harvester.candles.lane import JobHeartbeat
from harvester.candles.source import CandleSource
from harvester.harvest.adapter import ExchangeAdapter
from marketmanager import db
from marketmanager.candles.progress import describe_result, progress_bar
from marketmanager.candles.timeframes import TIMEFRAMES, TimeframeError, parse_since
from marketmanager.cli.commands.harvest import ProgressLine
from marketmanager.cli.database import connect, exchange_named
from marketmanager.errors import CommandError
from marketmanager.logging import configure_logging
from marketmanager.settings import Settings

POLL_SECONDS = 0.3


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "exchange", metavar="EXCHANGE", help="an exchange added with `exchanges add`"
    )
    parser.add_argument(
        "symbols", metavar="SYMBOL", nargs="*", help="e.g. BTC/USDT (default: the top pairs)"
    )
    parser.add_argument("--timeframe", "-t", choices=TIMEFRAMES, default="1h")
    parser.add_argument(
        "--since", "-s", default="30d", help="30d, 12h, 2w … or a date: 2025-01-01 (UTC)"
    )
    parser.add_argument(
        "--top", type=int, default=DEFAULT_TOP, help="how many top pairs without SYMBOL"
    )
    parser.add_argument(
        "--keep-current",
        action="store_true",
        help="then keep this timeframe current (the harvester fetches each new candle)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--foreground", action="store_true", help="run it here, not in the daemon")
    mode.add_argument("--no-wait", action="store_true", help="queue it and exit")
    parser.set_defaults(handler=run)


def _run_here(
    url: str, settings: Settings, exchange: dict[str, Any], job_id: int, stop: threading.Event
) -> threading.Thread | None:
    """Claim the job and run it in a thread; None when someone else claimed it first."""
    with db.connect(url, autocommit=True) as conn:
        claim = {"id": job_id, "node": socket.gethostname(), "worker": f"cli-{os.getpid()}"}
        job = db.fetch_one(conn, "claim_backfill_by_id", claim)
    if job is None:
        return None

    def work() -> None:
        with (
            db.connect(url, autocommit=True) as conn,
            JobHeartbeat(url, job, max(0.2, settings.stale_after / 3)),
            CandleSource(ExchangeAdapter.from_row(exchange, settings)) as source,
        ):
            run_backfill(conn, source, job, keep_going=lambda: not stop.is_set())

    thread = threading.Thread(target=work, name=f"backfill-{job_id}", daemon=True)
    thread.start()
    return thread


def _follow(
    conn: Any, job_id: int, line: ProgressLine, worker: threading.Thread | None
) -> dict[str, Any]:
    """Draw the job's progress until it ends; its row then."""
    while True:
        row = get_backfill(conn, job_id)
        assert row is not None, "the job went away (its exchange was deleted?)"
        line(progress_bar(row))
        if row["state"] not in ("QUEUED", "RUNNING"):
            return row
        if worker is not None and not worker.is_alive():
            row = get_backfill(conn, job_id)
            if row is not None and row["state"] in ("QUEUED", "RUNNING"):
                raise CommandError(f"backfill {job_id} stopped unfinished (see the log above)")
            continue
        time.sleep(POLL_SECONDS)


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    configure_logging("backfill", settings.log_format)
    try:
        since = parse_since(args.since, dt.datetime.now(dt.UTC))
    except TimeframeError as error:
        raise CommandError(str(error)) from None
    if args.top <= 0:
        raise CommandError(f"--top must be positive, got {args.top}")
    url = db.database_url(settings)
    with connect(settings) as conn:
        exchange = exchange_named(conn, args.exchange)
        job = queue_backfill(
            conn, exchange["id"], args.timeframe, since, args.symbols, top=args.top
        )
        if args.keep_current:
            db.execute(
                conn,
                "keep_candles_current",
                {"exchange_id": exchange["id"], "timeframe": args.timeframe},
            )
        if args.no_wait:
            print(f"backfill {job['id']} queued")
            return 0
        alive = db.fetch_one(conn, "live_nodes", {"stale_after": settings.stale_after})
        stop = threading.Event()
        worker = None
        if args.foreground or not (alive and alive["alive"]):
            worker = _run_here(url, settings, exchange, job["id"], stop)
        line = ProgressLine(f"{args.exchange} {args.timeframe}")
        try:
            row = _follow(conn, job["id"], line, worker)
        except KeyboardInterrupt:
            stop.set()  # the job goes back to the queue after the page in flight
            if worker is not None:
                worker.join()
            raise
        finally:
            line.clear()
    if row["state"] != "SUCCEEDED":
        print(
            f"marketmanager: backfill {row['id']} {row['state']}: {row['error']}", file=sys.stderr
        )
        return 1
    print(describe_result(row))
    return 0
