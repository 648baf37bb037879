"""`marketmanager token create|list|revoke`: the API's bearer tokens."""

from __future__ import annotations

import argparse

from marketmanager import tokens
from marketmanager.cli.database import connect


def configure(parser: argparse.ArgumentParser) -> None:
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    create = verbs.add_parser("create", help="make a token and print it (shown only once)")
    create.add_argument("name", metavar="NAME")
    create.add_argument(
        "--scope",
        choices=tokens.LEVELS,
        default="write",
        help="read: queries; write: also mutations; admin: also apiUrl (default %(default)s)",
    )
    create.set_defaults(handler=create_token)

    listing = verbs.add_parser("list", help="the tokens (never the tokens themselves)")
    listing.set_defaults(handler=list_tokens)

    revoke = verbs.add_parser("revoke", help="revoke a token by name or id")
    revoke.add_argument("token", metavar="NAME|ID")
    revoke.set_defaults(handler=revoke_token)


def create_token(args: argparse.Namespace) -> int:
    with connect() as conn:
        row, token = tokens.create(conn, args.name, args.scope)
    print(token)
    print(
        f"token {row['name']!r} (id {row['id']}, scopes {','.join(row['scopes'])}): "
        "store it now, it is not shown again. Send it as `Authorization: Bearer <token>`."
    )
    return 0


def _when(value: object) -> str:
    return value.isoformat(timespec="seconds") if hasattr(value, "isoformat") else "-"


def list_tokens(args: argparse.Namespace) -> int:
    with connect() as conn:
        rows = tokens.list_tokens(conn)
    if not rows:
        print("no tokens; make one with `marketmanager token create NAME`")
        return 0
    print(f"{'ID':>5}  {'NAME':<24} {'SCOPES':<18} {'CREATED':<26} {'LAST USED':<26} REVOKED")
    for row in rows:
        print(
            f"{row['id']:>5}  {row['name']:<24} {','.join(row['scopes']):<18} "
            f"{_when(row['created_at']):<26} {_when(row['last_used_at']):<26} "
            f"{_when(row['revoked_at'])}"
        )
    return 0


def revoke_token(args: argparse.Namespace) -> int:
    with connect() as conn:
        revoked = tokens.revoke(conn, args.token)
    for row in revoked:
        print(f"revoked token {row['name']!r} (id {row['id']})")
    return 0
