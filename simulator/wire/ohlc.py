"""Kraken's ``GET /0/public/OHLC``, as the real endpoint answers it.

``pair`` is required, ``interval`` is in minutes (default 1), ``since`` in seconds. Kraken
keeps only the last 720 candles of each interval: the answer is the candles of that window
(the newest still open) that open after ``since``, whatever ``since`` asks for, so older
history cannot be fetched. ``last`` is the open time of the newest closed candle, to be
given as ``since`` to poll for what comes next. Rows are ``[time, open, high, low, close,
vwap, volume, count]``; minutes without trades have no row.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from marketmanager.candles.aggregate import Candle
from marketmanager.candles.timeframes import MINUTE_MS, TIMEFRAME_MS, floor_ms
from simulator.history import MarketHistory
from simulator.model import ExchangeModel
from simulator.wire.base import Reply
from simulator.wire.kraken import pair_altname, pair_id

WINDOW = 720
INTERVALS = {ms // MINUTE_MS: timeframe for timeframe, ms in TIMEFRAME_MS.items()}


def _error(message: str) -> Reply:
    return Reply(200, {"error": [message]})


def row(candle: Candle, decimals: int) -> list[object]:
    def price(value: Decimal) -> str:
        return f"{value:.{max(decimals, 5)}f}"

    vwap = (candle.quote_volume or Decimal(0)) / candle.base_volume
    count = max(1, int(candle.base_volume * 3) % 400 + 1)
    return [
        candle.ts // 1000,
        price(candle.open),
        price(candle.high),
        price(candle.low),
        price(candle.close),
        price(vwap.quantize(Decimal(1).scaleb(-max(decimals, 5)))),
        f"{candle.base_volume:.8f}",
        count,
    ]


def ohlc(model: ExchangeModel, query: Mapping[str, str], now_ms: int) -> Reply:
    wanted = query.get("pair")
    if not wanted:
        return _error("EGeneral:Invalid arguments")
    market = next((m for m in model.markets if wanted in (pair_id(m), pair_altname(m))), None)
    if market is None:
        return _error("EQuery:Unknown asset pair")
    try:
        timeframe = INTERVALS.get(int(query.get("interval", "1")))
        since = int(float(query["since"])) * 1000 if "since" in query else None
    except (ValueError, OverflowError):
        return _error("EGeneral:Invalid arguments")
    if timeframe is None:
        return _error("EGeneral:Invalid arguments:interval")
    step = TIMEFRAME_MS[timeframe]
    newest = floor_ms(now_ms, timeframe)
    window_start = newest - (WINDOW - 1) * step
    start = window_start if since is None else max(window_start, since + 1)
    candles = MarketHistory(model.universe, market).candles(timeframe, start, newest + step, now_ms)
    rows = [row(candle, market.price_decimals) for candle in candles]
    return Reply(
        200, {"error": [], "result": {pair_id(market): rows, "last": (newest - step) // 1000}}
    )
