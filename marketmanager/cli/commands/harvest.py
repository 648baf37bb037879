"""`marketmanager harvest NAME`: one run in the foreground, with a progress line on stderr.

The run is recorded like any other (trigger MANUAL, on this host) and beats its
heartbeat while it works, so a daemon's poller leaves it alone. Exit 0 with a summary
on stdout; on failure the error on stderr and exit 1.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from typing import TextIO

from harvester.harvest import runs
from harvester.harvest.adapter import ExchangeAdapter, InvalidExchange
from harvester.harvest.pipeline import HarvestResult, failure_of, harvest_exchange
from marketmanager import db
from marketmanager.cli.commands.exchanges import usd
from marketmanager.cli.database import connect, exchange_named
from marketmanager.errors import CommandError
from marketmanager.logging import configure_logging
from marketmanager.settings import Settings

INTERRUPTED = "KeyboardInterrupt: the foreground harvest was interrupted"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="an exchange added with `exchanges add`")
    parser.set_defaults(handler=run)


class ProgressLine:
    """One line on a terminal, rewritten in place; one line per step otherwise."""

    def __init__(self, prefix: str, stream: TextIO = sys.stderr) -> None:
        self.prefix = prefix
        self.stream = stream
        self.tty = stream.isatty()

    def __call__(self, message: str) -> None:
        text = f"{self.prefix}: {message}"
        self.stream.write(f"\r\033[K{text}" if self.tty else f"{text}\n")
        self.stream.flush()

    def clear(self) -> None:
        if self.tty:
            self.stream.write("\r\033[K")
            self.stream.flush()


def summary(result: HarvestResult) -> str:
    text = (
        f"{result.exchange}: {result.markets} markets in {result.seconds:.2f} s,"
        f" volume {usd(result.volume_usd)}"
    )
    if result.unpriced:
        text += f" ({result.unpriced} markets without a USD price)"
    if result.top_pair:
        text += f", top pair {result.top_pair} ({usd(result.top_pair_volume_usd)})"
    if result.deactivated:
        text += f", {result.deactivated} no longer listed"
    return f"{text} [run {result.run_id}]"


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    configure_logging("harvest", settings.log_format)
    url = db.database_url(settings)
    with connect(settings) as conn:
        exchange = exchange_named(conn, args.name)
        try:
            record = runs.create_run(
                conn,
                exchange["id"],
                trigger="MANUAL",
                running=True,
                node=socket.gethostname(),
                worker=f"cli-{os.getpid()}",
            )
        except runs.RunConflict:
            raise CommandError(f"{args.name} already has a queued or running run") from None
        progress = ProgressLine(args.name)
        try:
            beat_every = max(0.2, settings.stale_after / 3)
            with (
                runs.Heartbeat(url, record.id, every=beat_every),
                ExchangeAdapter.from_row(exchange, settings) as adapter,
            ):
                result = harvest_exchange(conn, adapter, exchange, record.id, progress=progress)
        except InvalidExchange as error:  # a name this ccxt does not know (any more)
            runs.finish_failed(conn, record.id, failure_of(error).error, retryable=False)
            raise CommandError(str(error)) from None
        except KeyboardInterrupt:
            runs.finish_failed(conn, record.id, INTERRUPTED, retryable=False)
            raise
        finally:
            progress.clear()
    if not result.succeeded:
        print(f"marketmanager: harvest of {args.name} failed: {result.error}", file=sys.stderr)
        return 1
    print(summary(result))
    return 0
