"""Binance's ``GET /api/v3/klines``, as the real endpoint answers it.

``symbol`` and ``interval`` are required; ``limit`` defaults to 500 and may not pass
1,000. With ``startTime`` the klines opening at or after it come oldest first; with only
``endTime`` the last ``limit`` ones opening at or before it; with neither, the most recent
``limit``. The newest kline is the one still open at the server time. Minutes without
trades have no kline, nor is there any before the markets' listing, 2020-01-01
(`simulator.history`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from marketmanager.candles.aggregate import Candle
from marketmanager.candles.timeframes import TIMEFRAME_MS, floor_ms
from simulator.history import LISTED_MS, MarketHistory
from simulator.model import ExchangeModel
from simulator.wire.base import Reply

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000


def _error(code: int, message: str) -> Reply:
    return Reply(400, {"code": code, "msg": message})


def _num(value: Decimal) -> str:
    return f"{value:.8f}"


def kline(candle: Candle, step_ms: int) -> list[object]:
    trades = max(1, int(candle.base_volume * 7) % 900 + 3)
    taker = candle.base_volume / 2
    quote = candle.quote_volume or Decimal(0)
    return [
        candle.ts,
        _num(candle.open),
        _num(candle.high),
        _num(candle.low),
        _num(candle.close),
        _num(candle.base_volume),
        candle.ts + step_ms - 1,
        _num(quote),
        trades,
        _num(taker),
        _num(quote / 2),
        "0",
    ]


def _int(query: Mapping[str, str], key: str) -> int | None:
    raw = query.get(key)
    return None if raw is None else int(raw)


def klines(model: ExchangeModel, query: Mapping[str, str], now_ms: int) -> Reply:
    symbol, interval = query.get("symbol"), query.get("interval")
    if not symbol or not interval:
        missing = "symbol" if not symbol else "interval"
        return _error(
            -1102, f"Mandatory parameter '{missing}' was not sent, was empty/null, or malformed."
        )
    market = next((m for m in model.markets if m.base + m.quote == symbol), None)
    if market is None:
        return _error(-1121, "Invalid symbol.")
    step = TIMEFRAME_MS.get(interval)
    if step is None:
        return _error(-1120, "Invalid interval.")
    try:
        limit = _int(query, "limit") or DEFAULT_LIMIT
        start, end = _int(query, "startTime"), _int(query, "endTime")
    except ValueError:
        return _error(-1100, "Illegal characters found in a parameter.")
    if not 1 <= limit <= MAX_LIMIT:
        return _error(-1130, "Data sent for parameter 'limit' is not valid.")
    newest = floor_ms(now_ms, interval)
    last = newest if end is None else min(newest, floor_ms(end, interval))
    history = MarketHistory(model.universe, market)
    if start is None:
        # The last `limit` klines up to `last`: walk back until enough (thin markets skip).
        found: list[Candle] = []
        window_end = last + step
        while len(found) < limit and window_end > 0:
            window_start = max(window_end - limit * step, 0)
            found = history.candles(interval, window_start, window_end, now_ms) + found
            window_end = window_start
            if window_end <= last + step - 4 * limit * step:
                break
        candles = found[-limit:]
    else:
        candles = []
        window_start = max(start, floor_ms(LISTED_MS, interval))
        while len(candles) < limit and window_start <= last:
            window_end = min(window_start + limit * step, last + step)
            candles += history.candles(interval, window_start, window_end, now_ms)
            window_start = window_end
        candles = candles[:limit]
    return Reply(200, [kline(candle, step) for candle in candles])
