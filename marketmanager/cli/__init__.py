"""`marketmanager`, the console script: one sub-command per module of `commands/`.

Only the module of the command given is imported; its ``configure(parser)`` adds its
arguments and sets ``handler`` (a function of the parsed arguments returning the exit
code). Known errors (bad settings, an unreachable or unmigrated database) end in one
line and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from marketmanager.cli.commands import COMMANDS
from marketmanager.errors import UserFacingError


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser, with the arguments of the command named in `argv` (if any)."""
    parser = argparse.ArgumentParser(
        prog="marketmanager",
        description="Harvest crypto-exchange tickers into PostgreSQL and serve them over GraphQL.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    for name, summary in COMMANDS.items():
        command = subparsers.add_parser(name, help=summary, description=summary)
        if name == chosen:
            importlib.import_module(f"marketmanager.cli.commands.{name}").configure(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    try:
        return int(args.handler(args))
    except UserFacingError as error:
        print(f"marketmanager: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
