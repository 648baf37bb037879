"""Past prices: deterministic 1-minute candles of every simulated market, and coarser ones.

Pure. The price of a market at minute m is its reference price (the level the ticker walk
of `model` reverts to, so candles and tickers trade in the same range) times a smooth
wave of a few cycles plus a little per-minute noise, all a function of (seed, exchange,
symbol, m): any range can be computed on its own, and the same range always gives the
same candles. A candle opens at the price of its minute and closes at the next one's.
Thin markets (generated bases) have minutes without trades: no candle at all, as
exchanges serve none; nor is there any candle before the markets were listed
(`LISTED_MS`). Coarser timeframes are made of the 1-minute candles
(`marketmanager.candles.aggregate`), so a 1h candle is exactly its sixty minutes.
"""

from __future__ import annotations

import math
import zlib
from decimal import Decimal

from marketmanager.candles.aggregate import Candle, aggregate
from marketmanager.candles.timeframes import MINUTE_MS, ceil_ms
from simulator.universe import MAX_PRICE_DECIMALS, REFERENCE_USD, Market, Universe

# (period in minutes, amplitude of the log price): a day, a week and a bit, a few hours.
WAVES = ((1440.0, 0.012), (10_513.0, 0.03), (197.0, 0.004), (41.0, 0.0015))
NOISE = 0.0006  # per-minute log-price noise
WICK = 0.0008  # how far highs and lows reach beyond open and close, at most
THIN_EMPTY_RATE = 0.04  # share of minutes without trades in a thin market
LISTED_MS = 1_577_836_800_000  # 2020-01-01 UTC: every market trades from then on

_MASK = (1 << 64) - 1


def _mix(value: int) -> int:
    """splitmix64: a well-spread 64-bit hash of an integer."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK
    return value ^ (value >> 31)


def _unit(key: int, minute: int, salt: int) -> float:
    """A number in [0, 1) fixed by (key, minute, salt)."""
    return _mix(key ^ _mix(minute * 8 + salt)) / 2.0**64


class MarketHistory:
    """The candles of one market of `universe`."""

    def __init__(self, universe: Universe, market: Market) -> None:
        self.market = market
        self._key = zlib.crc32(f"{universe.seed}:{universe.exchange}:{market.symbol}".encode())
        usd = universe.asset_usd
        self._scale = 10**market.price_decimals
        self._reference = usd[market.base] / usd[market.quote] * market.premium * self._scale
        self._phases = [_unit(self._key, 0, 7 + i) * 2 * math.pi for i in range(len(WAVES))]
        self._thin = market.base not in REFERENCE_USD
        self._lots_per_minute = market.volume / 1440 * 10**market.volume_decimals
        self._price = Decimal(1).scaleb(-market.price_decimals)
        self._lot = Decimal(1).scaleb(-market.volume_decimals)
        self._quote = Decimal(1).scaleb(-MAX_PRICE_DECIMALS)

    def _ticks(self, minute: int) -> int:
        wave = sum(
            amplitude * math.sin(2 * math.pi * minute / period + phase)
            for (period, amplitude), phase in zip(WAVES, self._phases, strict=True)
        )
        noise = NOISE * (2 * _unit(self._key, minute, 1) - 1)
        return max(round(self._reference * math.exp(wave + noise)), 1)

    def traded(self, minute: int) -> bool:
        return not (self._thin and _unit(self._key, minute, 2) < THIN_EMPTY_RATE)

    def minute_candle(self, minute: int) -> Candle | None:
        """The candle opening at minute `minute` since the epoch; None: no trades."""
        if minute * MINUTE_MS < LISTED_MS or not self.traded(minute):
            return None
        open_, close = self._ticks(minute), self._ticks(minute + 1)
        high = math.ceil(max(open_, close) * (1 + WICK * _unit(self._key, minute, 3)))
        low = max(math.floor(min(open_, close) * (1 - WICK * _unit(self._key, minute, 4))), 1)
        lots = max(round(self._lots_per_minute * (0.5 + _unit(self._key, minute, 5))), 1)
        vwap = round((open_ + high + low + close) / 4)
        return Candle(
            minute * MINUTE_MS,
            open_ * self._price,
            high * self._price,
            low * self._price,
            close * self._price,
            lots * self._lot,
            (lots * vwap) * self._quote,  # lots × ticks: exactly eight decimals
        )

    def candles(
        self, timeframe: str, start_ms: int, end_ms: int, now_ms: int | None = None
    ) -> list[Candle]:
        """The candles of `timeframe` opening in [start_ms, end_ms), oldest first. With
        `now_ms`, the candle still open then is made of the minutes up to now only."""
        first = ceil_ms(max(start_ms, LISTED_MS), timeframe) // MINUTE_MS
        last = ceil_ms(end_ms, timeframe) // MINUTE_MS
        if now_ms is not None:
            last = min(last, now_ms // MINUTE_MS + 1)
        minutes = (self.minute_candle(m) for m in range(first, last))
        fine = [candle for candle in minutes if candle is not None]
        if timeframe != "1m":
            fine = aggregate(fine, timeframe)
        return [c for c in fine if start_ms <= c.ts < end_ms]
