"""Wire formats: pure functions from an `ExchangeModel` to an exchange's real HTTP bodies.

Each exchange module builds a `WireFormat`: its endpoints keyed by the path under the
exchange's prefix (``/api/v3/ticker/24hr`` for ``/binance/api/v3/ticker/24hr``), and the
bodies it answers errors with. Renderers take the model, the query string and the
server time; they never do I/O, so tests can call them directly.
"""

from __future__ import annotations

from dataclasses import replace

from simulator.wire import binance, klines, kraken, ohlc
from simulator.wire.base import JSON, Endpoint, Render, Reply, WireFormat

CANDLE_ENDPOINTS: dict[str, dict[str, Endpoint]] = {
    "binance": {"/api/v3/klines": Endpoint(klines.klines)},
    "kraken": {"/0/public/OHLC": Endpoint(ohlc.ohlc)},
}

WIRE_FORMATS: dict[str, WireFormat] = {
    wire.exchange: replace(wire, endpoints={**wire.endpoints, **CANDLE_ENDPOINTS[wire.exchange]})
    for wire in (binance.WIRE, kraken.WIRE)
}
"""Every simulated exchange, by ccxt id."""

EXCHANGES: tuple[str, ...] = tuple(WIRE_FORMATS)

__all__ = ["EXCHANGES", "JSON", "WIRE_FORMATS", "Endpoint", "Render", "Reply", "WireFormat"]
