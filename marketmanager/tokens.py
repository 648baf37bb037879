"""API tokens: made at random, shown once, stored as SHA-256 with their scopes.

`create`, `list_tokens` and `revoke` back ``marketmanager token``; the API checks a
presented token by its digest (`graphql_api.auth`).
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from marketmanager import db
from marketmanager.errors import CommandError

PREFIX = "mm_"
LEVELS = ("read", "write", "admin")


def generate() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def scopes_for(level: str) -> list[str]:
    """A level grants itself and those below it: admin ⊃ write ⊃ read."""
    if level not in LEVELS:
        raise CommandError(f"scope must be one of {', '.join(LEVELS)}, got {level!r}")
    return list(LEVELS[: LEVELS.index(level) + 1])


def create(conn: psycopg.Connection[Any], name: str, level: str) -> tuple[db.Row, str]:
    """A new token named `name`: its row and the token itself (not stored anywhere)."""
    if not 1 <= len(name) <= 100:
        raise CommandError("a token name has 1 to 100 characters")
    token = generate()
    params = {"name": name, "sha256": digest(token), "scopes": scopes_for(level)}
    try:
        row = db.fetch_one(conn, "token_insert", params)
    except pg_errors.UniqueViolation:
        raise CommandError(f"a live token named {name!r} exists; revoke it first") from None
    assert row is not None
    return row, token


def list_tokens(conn: psycopg.Connection[Any]) -> list[db.Row]:
    return db.fetch_all(conn, "token_list")


def revoke(conn: psycopg.Connection[Any], name_or_id: str) -> list[db.Row]:
    """Revoke the live token with this id (digits) or name; CommandError if none."""
    token_id = int(name_or_id) if name_or_id.isdigit() else None
    rows = db.fetch_all(conn, "token_revoke", {"id": token_id, "name": name_or_id})
    if not rows:
        raise CommandError(f"no live token with id or name {name_or_id!r}")
    return rows
