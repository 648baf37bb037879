"""What the commands share to reach the database: a connection, an exchange by name."""

from __future__ import annotations

from typing import Any

import psycopg

from marketmanager import db
from marketmanager.errors import CommandError
from marketmanager.migrations import require_migrated
from marketmanager.settings import Settings


def connect(settings: Settings | None = None) -> psycopg.Connection[Any]:
    """An autocommit connection to the configured database (the embedded one by default),
    which must be migrated (else `NotMigrated`: one line, not a traceback)."""
    conn = db.connect(db.database_url(settings or Settings.from_env()), autocommit=True)
    try:
        require_migrated(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def no_such_exchange(name: str) -> CommandError:
    return CommandError(f"no exchange named {name!r}: add it with `marketmanager exchanges add`")


def exchange_named(conn: psycopg.Connection[Any], name: str) -> dict[str, Any]:
    """The exchange's row; a CommandError saying how to add it when there is none."""
    exchange = db.fetch_one(conn, "exchange_by_name", {"name": name})
    if exchange is None:
        raise no_such_exchange(name)
    return exchange
