"""Bearer tokens: who is calling, and may they do this?

Tokens are made by ``marketmanager token create`` (`marketmanager.tokens`); only their
SHA-256 is stored. A request without an Authorization header is anonymous: it may run
queries unless MM_API_REQUIRE_TOKEN=1; mutations need a token with the write scope, and
setting an exchange's apiUrl needs admin. A header that is present must be a valid,
unrevoked token, whatever the operation.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql_api.database import Database
from graphql_api.errors import Forbidden, Unauthenticated
from marketmanager.tokens import digest

READ, WRITE, ADMIN = "read", "write", "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    token_id: int
    name: str
    scopes: frozenset[str]


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header; None when absent."""
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise Unauthenticated("the Authorization header must be `Bearer <token>`")
    return token


async def authenticate(db: Database, header: str | None) -> Principal | None:
    token = bearer_token(header)
    if token is None:
        return None
    row = await db.fetch_one("api_token_lookup", {"sha256": digest(token)})
    if row is None:
        raise Unauthenticated("the token is unknown or revoked")
    return Principal(row["id"], row["name"], frozenset(row["scopes"]))


def require_scope(principal: Principal | None, scope: str) -> Principal:
    """`principal` if it holds `scope`; UNAUTHENTICATED without one, FORBIDDEN without it."""
    if principal is None:
        raise Unauthenticated(
            f"this needs a token with the {scope} scope (Authorization: Bearer …)"
        )
    if scope not in principal.scopes:
        raise Forbidden(f"token {principal.name!r} lacks the {scope} scope", required_scope=scope)
    return principal
