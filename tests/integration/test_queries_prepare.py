"""Every named statement of sql/queries.sql is valid against the migrated schema, and is
used by the production code: a renamed column fails here, not in production."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import pq, sql

from harvester.harvest import write
from sql import compose, queries

REPO = Path(__file__).resolve().parent.parent.parent
PRODUCTION = ("marketmanager", "harvester", "graphql_api", "simulator")
# What the write path fills in; any other {placeholder} is one identifier.
PARTS: dict[str, sql.Composable] = {"columns": write.COLUMNS, "updates": write.UPDATES}
_PARAMETER = re.compile(r"%\((\w+)\)s")


def _server_side(conn: psycopg.Connection[Any], name: str) -> bytes:
    """The statement as PostgreSQL receives it: identifiers filled, parameters as $n."""
    fields = {field for _, field, _, _ in string.Formatter().parse(queries[name]) if field}
    parts = {field: PARTS.get(field, sql.Identifier("mm_check")) for field in fields}
    text = compose(name, **parts).as_string(conn)
    numbers: dict[str, int] = {}
    text = _PARAMETER.sub(lambda m: f"${numbers.setdefault(m[1], len(numbers) + 1)}", text)
    return text.replace("%%", "%").encode()


@pytest.mark.parametrize("name", sorted(queries))
def test_every_named_query_prepares_against_the_migrated_schema(name: str, db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        # the write path's statements read the run's staging table
        conn.execute(write.CREATE_STAGING)
        result = conn.pgconn.prepare(b"", _server_side(conn, name))
        message = (result.error_message or b"").decode()
        assert result.status == pq.ExecStatus.COMMAND_OK, f"{name}: {message}"
        conn.rollback()


def test_every_named_query_is_used_by_the_production_code() -> None:
    sources = "\n".join(
        path.read_text() for package in PRODUCTION for path in (REPO / package).rglob("*.py")
    )
    unused = [name for name in queries if f'"{name}"' not in sources]
    assert unused == [], f"named in sql/queries.sql but used nowhere: {unused}"
