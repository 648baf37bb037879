"""`marketmanager`, the console script: one sub-command per module of `commands/`.

Every command module has ``register(subparsers)``, which adds its parser and sets
``handler`` (a function of the parsed arguments returning the exit code). Known errors
(bad settings, an unreachable or unmigrated database) end in one line and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from marketmanager.commands import COMMANDS
from marketmanager.errors import UserFacingError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="marketmanager",
        description="Harvest crypto-exchange tickers into PostgreSQL and serve them over GraphQL.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except UserFacingError as error:
        print(f"marketmanager: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
