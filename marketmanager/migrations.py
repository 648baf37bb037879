"""The migration runner: files applied in order, each in its own transaction, under an
advisory lock, recorded with a checksum in ``schema_migrations``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
import structlog
from psycopg.rows import tuple_row

from marketmanager.errors import MigrationError, NotMigrated
from sql import Migration, load_migrations, queries

log = structlog.get_logger()

# Any constant works; it only has to be the same for every process of this project.
_LOCK_KEY = 0x4D4D_6D69_6772  # "MMmigr"


@dataclass(frozen=True)
class Applied:
    version: int
    name: str
    checksum: str


def plan(migrations: list[Migration], applied: list[Applied]) -> list[Migration]:
    """The migrations still to apply; an edited or unknown applied one is an error."""
    known = {m.version: m for m in migrations}
    for row in applied:
        migration = known.get(row.version)
        if migration is None:
            raise MigrationError(
                f"the database has migration {row.version:04d}_{row.name} that this code "
                "does not know: is the code older than the database?"
            )
        if migration.checksum != row.checksum:
            raise MigrationError(
                f"{migration.filename} was edited after it was applied; add a new "
                "migration instead of changing an applied one"
            )
    done = {row.version for row in applied}
    return [m for m in migrations if m.version not in done]


def _applied(conn: psycopg.Connection[Any]) -> list[Applied]:
    with conn.transaction(), conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(queries["migrations_history_exists"])
        exists = cur.fetchone()
        if not exists or not exists[0]:
            return []
        cur.execute(queries["migrations_history"])
        return [Applied(*row) for row in cur.fetchall()]


def migrate(conn: psycopg.Connection[Any], migrations: list[Migration] | None = None) -> list[str]:
    """Apply what is pending; return the file names applied. Safe to run concurrently."""
    migrations = load_migrations() if migrations is None else migrations
    conn.autocommit = True
    conn.execute(queries["migrations_lock"], {"key": _LOCK_KEY})
    try:
        conn.execute(queries["migrations_create_history"])
        done = []
        for migration in plan(migrations, _applied(conn)):
            with conn.transaction():
                conn.execute(migration.sql.encode())
                conn.execute(
                    queries["migrations_record"],
                    {
                        "version": migration.version,
                        "name": migration.name,
                        "checksum": migration.checksum,
                    },
                )
            log.info("migration.applied", migration=migration.filename)
            done.append(migration.filename)
        return done
    finally:
        conn.execute(queries["migrations_unlock"], {"key": _LOCK_KEY})


def pending(conn: psycopg.Connection[Any], migrations: list[Migration] | None = None) -> list[str]:
    """File names not yet applied (raises MigrationError on a mismatch)."""
    migrations = load_migrations() if migrations is None else migrations
    return [m.filename for m in plan(migrations, _applied(conn))]


def require_migrated(conn: psycopg.Connection[Any]) -> None:
    """Raise `NotMigrated` unless every migration file is applied."""
    missing = pending(conn)
    if missing:
        raise NotMigrated(missing)
