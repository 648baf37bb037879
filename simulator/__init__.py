"""A local exchange simulator: binance and kraken's real wire formats on loopback.

``with running_simulator(markets=2000, seed=1) as sim:`` serves every exchange under
``sim.url + "/<ccxt id>"``; point ccxt at it by rewriting each URL of ``urls['api']``
to that prefix followed by the URL's own path. ``sim.simulator`` is the model: its
``tickers(exchange)`` are what the last tickers request served, and
``set_faults({...})`` / ``clear_faults()`` change the injected faults at runtime
(also over HTTP: ``POST``/``DELETE /_sim/faults``).

Modules: `universe` (which markets, pure), `model` (moving prices, pure), `wire`
(exchange bodies, pure), `faults` (fault plans and their RNG), `engine` (the
thread-safe state), `server` (aiohttp, background thread), `cli` (`marketmanager simulate`).
"""

from __future__ import annotations

from simulator.engine import Answer, Simulator
from simulator.faults import FAULT_KINDS, FaultInjector, FaultPlan
from simulator.model import ExchangeModel, Ticker
from simulator.server import SimulatorServer, running_simulator
from simulator.universe import Market, Universe, generate_universe
from simulator.wire import EXCHANGES

__all__ = [
    "EXCHANGES",
    "FAULT_KINDS",
    "Answer",
    "ExchangeModel",
    "FaultInjector",
    "FaultPlan",
    "Market",
    "Simulator",
    "SimulatorServer",
    "Ticker",
    "Universe",
    "generate_universe",
    "running_simulator",
]
