"""Wire formats: pure functions from an `ExchangeModel` to an exchange's real HTTP bodies.

Each exchange module builds a `WireFormat`: its endpoints keyed by the path under the
exchange's prefix (``/api/v3/ticker/24hr`` for ``/binance/api/v3/ticker/24hr``), and the
bodies it answers errors with. Renderers take the model, the query string and the
server time; they never do I/O, so tests can call them directly.
"""

from __future__ import annotations

from simulator.wire import binance, kraken
from simulator.wire.base import JSON, Endpoint, Render, Reply, WireFormat

WIRE_FORMATS: dict[str, WireFormat] = {wire.exchange: wire for wire in (binance.WIRE, kraken.WIRE)}
"""Every simulated exchange, by ccxt id."""

EXCHANGES: tuple[str, ...] = tuple(WIRE_FORMATS)

__all__ = ["EXCHANGES", "JSON", "WIRE_FORMATS", "Endpoint", "Render", "Reply", "WireFormat"]
