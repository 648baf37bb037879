"""The project's SQL as data: named queries and ordered migrations, parsed once.

``queries["claim_run"]`` is the text of the statement under ``-- name: claim_run --`` in
``queries.sql``; ``describe("claim_run")`` is its one-line description;
``compose("drop_tick_partition", partition=sql.Identifier(name))`` fills in the
identifiers a statement names in braces.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from psycopg import sql

SQL_DIR = Path(__file__).resolve().parent
MIGRATIONS_DIR = SQL_DIR / "migrations"

_HEADER = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*--\s*$", re.MULTILINE)
_MIGRATION_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class QueryFileError(ValueError):
    """queries.sql is malformed: a duplicate name or an empty statement."""


@dataclass(frozen=True)
class NamedQuery:
    name: str
    description: str
    sql: str


def parse_queries(text: str) -> dict[str, NamedQuery]:
    """Split `text` at ``-- name: x --`` headers; a ``--`` line right after is the description."""
    parsed: dict[str, NamedQuery] = {}
    headers = list(_HEADER.finditer(text))
    for index, header in enumerate(headers):
        name = header.group(1)
        end = headers[index + 1].start() if index + 1 < len(headers) else len(text)
        lines = text[header.end() : end].strip().splitlines()
        description = ""
        if lines and lines[0].startswith("--"):
            description = lines.pop(0).lstrip("-").strip()
        body = "\n".join(lines).strip().rstrip(";").strip()
        if name in parsed:
            raise QueryFileError(f"query {name!r} is defined twice")
        if not body:
            raise QueryFileError(f"query {name!r} has no statement")
        parsed[name] = NamedQuery(name, description, body)
    return parsed


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def filename(self) -> str:
        return f"{self.version:04d}_{self.name}.sql"


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files of `directory`, in version order; a stray file is an error."""
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION_FILE.match(path.name)
        if not match:
            raise QueryFileError(f"{path.name}: migration files are named NNNN_short_name.sql")
        migrations.append(Migration(int(match.group(1)), match.group(2), path.read_text()))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise QueryFileError(f"two migrations share a version number in {directory}")
    return migrations


_NAMED = parse_queries((SQL_DIR / "queries.sql").read_text())
queries: Mapping[str, str] = {name: q.sql for name, q in _NAMED.items()}


def describe(name: str) -> str:
    return _NAMED[name].description


def compose(name: str, **parts: sql.Composable) -> sql.Composed:
    """The statement `name` with its ``{placeholders}`` filled (identifiers, column lists)."""
    return sql.SQL(queries[name]).format(**parts)
