"""Prices that move: a deterministic random walk over a `Universe`, and its tickers.

Pure: `ExchangeModel(universe)` starts at step 0; every `advance()` takes one step of
the walk, seeded by (seed, exchange, step), so two models of the same universe advanced
the same number of times hold the same tickers. Asset USD prices walk (mean-reverting
around their reference), and every market's price is the cross of its two assets, so
cross rates stay consistent (ETH/BTC ≈ ETH/USDT ÷ BTC/USDT).

Ticker values are `Decimal`s quantized to the market's tick, exactly as the wire
formats print them; `quote_volume` is `base_volume × vwap` exactly (it has at most
eight decimals), which is what ccxt computes for kraken and what binance prints.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from simulator.universe import MAX_PRICE_DECIMALS, Market, Universe

PEGGED = frozenset({"USD"})  # never moves: the unit of account
STABLE = frozenset({"USDT", "USDC"})
MEAN_REVERSION = 0.02  # fraction of the log-distance to the reference closed per step


@dataclass(frozen=True, slots=True)
class Ticker:
    """One market's 24h ticker, in unified terms (what ccxt should parse)."""

    symbol: str
    last: Decimal
    bid: Decimal
    ask: Decimal
    open: Decimal
    high: Decimal
    low: Decimal
    vwap: Decimal
    base_volume: Decimal
    quote_volume: Decimal

    def unified(self) -> dict[str, str | float]:
        """The fields ccxt's unified ticker has, as the floats ccxt gives."""
        return {
            "symbol": self.symbol,
            "last": float(self.last),
            "bid": float(self.bid),
            "ask": float(self.ask),
            "base_volume": float(self.base_volume),
            "quote_volume": float(self.quote_volume),
        }


class ExchangeModel:
    """The moving prices of one exchange's universe. Not thread-safe: lock around it."""

    def __init__(self, universe: Universe) -> None:
        self.universe = universe
        self.step = 0
        self._assets = universe.assets
        self._sigma = {code: _volatility(universe.seed, code) for code in self._assets}
        self._ref_log = {code: math.log(universe.asset_usd[code]) for code in self._assets}
        self._log_usd = dict(self._ref_log)
        self._log_volume = [0.0] * len(universe.markets)
        self._opens = tuple(
            max(round(self._mid(market) * 10**market.price_decimals), 1)
            for market in universe.markets
        )
        self.tickers: tuple[Ticker, ...] = self._tickers(random.Random(self._seed_for(0)))

    @property
    def exchange(self) -> str:
        return self.universe.exchange

    @property
    def markets(self) -> tuple[Market, ...]:
        return self.universe.markets

    def advance(self) -> tuple[Ticker, ...]:
        """Take one step of the walk; return (and keep in `tickers`) the new tickers."""
        self.step += 1
        rng = random.Random(self._seed_for(self.step))
        for code in self._assets:
            if code in PEGGED:
                continue
            pull = MEAN_REVERSION * (self._ref_log[code] - self._log_usd[code])
            self._log_usd[code] += pull + self._sigma[code] * rng.gauss(0.0, 1.0)
        for index, value in enumerate(self._log_volume):
            self._log_volume[index] = value * 0.9 + rng.gauss(0.0, 0.05)
        self.tickers = self._tickers(rng)
        return self.tickers

    def tickers_by_symbol(self) -> dict[str, Ticker]:
        return {ticker.symbol: ticker for ticker in self.tickers}

    def _seed_for(self, step: int) -> str:
        return f"{self.universe.seed}:{self.universe.exchange}:walk:{step}"

    def _mid(self, market: Market) -> float:
        cross = math.exp(self._log_usd[market.base] - self._log_usd[market.quote])
        return cross * market.premium

    def _tickers(self, rng: random.Random) -> tuple[Ticker, ...]:
        return tuple(
            self._ticker(market, self._opens[index], self._log_volume[index], rng.random())
            for index, market in enumerate(self.universe.markets)
        )

    def _ticker(self, market: Market, open_: int, log_volume: float, u: float) -> Ticker:
        # Prices in whole ticks (10**-price_decimals), volumes in whole lots.
        scale = 10**market.price_decimals
        mid = self._mid(market) * scale
        half = market.spread_bps / 20_000
        bid = max(math.floor(mid * (1 - half)), 1)
        ask = max(math.ceil(mid * (1 + half)), bid + 1)
        last = min(max(round(bid + (ask - bid) * u), bid), ask)
        high = math.ceil(max(open_, ask) * 1.01)
        low = max(math.floor(min(open_, bid) * 0.99), 1)
        vwap = round((open_ + last) / 2)
        lots = round(market.volume * math.exp(log_volume) * 10**market.volume_decimals)
        price = _decimals(market.price_decimals)
        return Ticker(
            symbol=market.symbol,
            last=price(last),
            bid=price(bid),
            ask=price(ask),
            open=price(open_),
            high=price(high),
            low=price(low),
            vwap=price(vwap),
            base_volume=_decimals(market.volume_decimals)(lots),
            # Exact: lots × ticks has exactly eight decimals.
            quote_volume=_decimals(MAX_PRICE_DECIMALS)(lots * vwap),
        )


def _decimals(decimals: int) -> Callable[[int], Decimal]:
    """Turns a count of 10**-decimals units into a Decimal with that many decimals."""
    suffix = f"E-{decimals}"
    return lambda units: Decimal(f"{units}{suffix}")  # exact, whatever the context precision


def _volatility(seed: int, code: str) -> float:
    """Per-step standard deviation of an asset's log USD price."""
    if code in PEGGED:
        return 0.0
    if code in STABLE:
        return 0.0001
    if code == "EUR":
        return 0.0005
    return random.Random(f"{seed}:{code}:sigma").uniform(0.001, 0.006)
