"""``python -m simulator --port 8900 …``: the same as `marketmanager simulate`."""

from __future__ import annotations

import argparse
import sys

from simulator.cli import add_arguments, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Local exchange simulator speaking the wire format of binance and kraken.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
