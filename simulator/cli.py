"""`marketmanager simulate`: serve the exchange simulator until SIGINT or SIGTERM.

``marketmanager simulate --host 127.0.0.1 --port 8900 --markets 2000 --seed 1
--exchanges binance,kraken --fault http500=0.1 --fault latency=0.2`` logs one
``simulator.listening`` line with the URL, serves, and exits 0 on SIGINT/SIGTERM.
Bad arguments end in one ``error:`` line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

import structlog

from simulator.engine import Simulator
from simulator.faults import FAULT_KINDS, FaultPlan
from simulator.server import DEFAULT_HOLD_SECONDS, serve
from simulator.wire import EXCHANGES

log = structlog.get_logger()

DEFAULT_PORT = 8900
PROG = "marketmanager simulate"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (%(default)s)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="port to bind, 0 for any (%(default)s)"
    )
    parser.add_argument(
        "--markets", type=int, default=2000, help="markets per exchange (%(default)s)"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of everything random")
    parser.add_argument(
        "--exchanges",
        default=",".join(EXCHANGES),
        help="comma-separated ccxt ids to simulate (%(default)s)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND=RATE",
        help=f"inject a fault: {', '.join(FAULT_KINDS)} with a per-request probability, "
        "latency=SECONDS[@RATE], limit=N (most faults injected); repeatable",
    )
    parser.add_argument(
        "--hold-seconds",
        type=float,
        default=DEFAULT_HOLD_SECONDS,
        help="how long a timeout fault holds a connection at most (%(default)s)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        exchanges = [name.strip() for name in args.exchanges.split(",") if name.strip()]
        faults = FaultPlan.from_specs(args.fault)
        if not 0 <= args.port <= 65535:
            raise ValueError(f"port must be between 0 and 65535, got {args.port}")
        simulator = Simulator(
            markets=args.markets, seed=args.seed, exchanges=exchanges, faults=faults
        )
    except ValueError as error:
        return _fail(str(error))
    _configure_logging()
    try:
        asyncio.run(_serve_until_signalled(simulator, args, faults))
    except OSError as error:
        return _fail(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}")
    return 0


async def _serve_until_signalled(
    simulator: Simulator, args: argparse.Namespace, faults: FaultPlan
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)

    def listening(url: str) -> None:
        log.info(
            "simulator.listening",
            url=url,
            exchanges=list(simulator.exchanges),
            markets=simulator.markets_per_exchange,
            seed=simulator.seed,
            faults=faults.to_dict(),
        )

    try:
        await serve(simulator, args.host, args.port, stop, listening, args.hold_seconds)
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def _configure_logging() -> None:
    from marketmanager.logging import configure_logging
    from marketmanager.settings import Settings, SettingsError

    try:
        log_format = Settings.from_env().log_format
    except SettingsError:
        log_format = None  # the simulator needs no settings; don't fail on others'
    configure_logging("simulator", log_format)
