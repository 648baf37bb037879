"""`marketmanager simulate`: the local exchange simulator (see `simulator.cli`)."""

from __future__ import annotations

import argparse

from simulator.cli import add_arguments, run


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Serve the wire format of binance and kraken on loopback; point an"
        " exchange's --api-url at http://HOST:PORT/<exchange>."
    )
    add_arguments(parser)
    parser.set_defaults(handler=run)
