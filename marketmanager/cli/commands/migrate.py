"""`marketmanager migrate`: apply pending migrations, then create history partitions ahead."""

from __future__ import annotations

import argparse
import datetime as dt

from marketmanager import db
from marketmanager.logging import configure_logging
from marketmanager.migrations import migrate
from marketmanager.settings import Settings

PARTITION_DAYS_AHEAD = 3


def configure(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    configure_logging("migrate", settings.log_format)
    url = db.database_url(settings)
    with db.connect(url) as conn:
        applied = migrate(conn)
        db.execute(
            conn,
            "ensure_tick_partitions",
            {"first_day": dt.datetime.now(dt.UTC).date(), "days": PARTITION_DAYS_AHEAD},
        )
    if applied:
        print(f"applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        print("the database is up to date")
    return 0
