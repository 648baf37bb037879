"""`marketmanager exchanges add|list|remove`: the exchanges to harvest."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from psycopg import errors as pg_errors

from marketmanager import db
from marketmanager.cli.database import connect, no_such_exchange
from marketmanager.errors import CommandError
from marketmanager.exchange_catalogue import describe_exchange
from marketmanager.exchange_input import (
    InvalidExchange,
    check_api_url,
    check_exchange_name,
    check_interval,
)

DEFAULT_INTERVAL = 60


def configure(parser: argparse.ArgumentParser) -> None:
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    add = verbs.add_parser("add", help="add an exchange (NAME is a ccxt id, e.g. binance)")
    add.add_argument("name", metavar="NAME")
    add.add_argument("--api-url", help="send ccxt's requests here (a simulator, a proxy)")
    add.add_argument(
        "--interval",
        default=str(DEFAULT_INTERVAL),
        metavar="SECONDS",
        help="seconds between harvests (default %(default)s)",
    )
    add.add_argument("--disabled", action="store_true", help="add it without harvesting it")
    add.set_defaults(handler=add_exchange)

    listing = verbs.add_parser("list", help="the exchanges, their volume and last harvest")
    listing.set_defaults(handler=list_exchanges)

    remove = verbs.add_parser("remove", help="remove an exchange with its markets and history")
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(handler=remove_exchange)


def add_exchange(args: argparse.Namespace) -> int:
    try:
        interval = check_interval(args.interval, "--interval")
        name = check_exchange_name(args.name)
        api_url = check_api_url(args.api_url) if args.api_url is not None else None
    except InvalidExchange as error:
        raise CommandError(str(error)) from None
    info = describe_exchange(name)
    params = {
        "name": name,
        "enabled": not args.disabled,
        "api_url": api_url,
        "interval_seconds": interval,
        "url": info.url,
        "logo": info.logo,
    }
    with connect() as conn:
        try:
            db.fetch_one(conn, "insert_exchange", params)
        except pg_errors.UniqueViolation:
            raise CommandError(f"exchange {name!r} already exists") from None
    state = "disabled" if args.disabled else f"harvested every {interval} s"
    print(f"added {name} ({state}{', via ' + api_url if api_url else ''})")
    return 0


def remove_exchange(args: argparse.Namespace) -> int:
    with connect() as conn:
        if db.fetch_one(conn, "delete_exchange", {"name": args.name}) is None:
            raise no_such_exchange(args.name)
    print(f"removed {args.name} with its markets, runs and history")
    return 0


def usd(value: Decimal | None) -> str:
    return "-" if value is None else f"${value:,.2f}"


COLUMNS = (
    "NAME",
    "ENABLED",
    "INTERVAL",
    "MARKETS",
    "VOLUME_USD",
    "TOP_PAIR",
    "LAST_RUN",
    "LAST_UPDATE",
    "API_URL",
)


def table_row(row: dict[str, Any]) -> tuple[str, ...]:
    last_update = row["last_update_at"]
    return (
        row["name"],
        "yes" if row["enabled"] else "no",
        f"{row['interval_seconds']}s",
        str(row["markets"]),
        usd(row["volume_usd"]),
        row["top_pair"] or "-",
        row["last_run"] or "-",
        last_update.strftime("%Y-%m-%d %H:%M:%S") if last_update else "-",
        row["api_url"] or "-",
    )


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(cells[i]) for cells in (header, *rows)) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()
        for cells in (header, *rows)
    )


def list_exchanges(args: argparse.Namespace) -> int:
    with connect() as conn:
        rows = db.fetch_all(conn, "exchange_table")
    if not rows:
        print("no exchanges yet: add one with `marketmanager exchanges add NAME`")
        return 0
    print(format_table(COLUMNS, [table_row(row) for row in rows]))
    return 0
