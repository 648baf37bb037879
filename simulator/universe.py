"""The simulated listings: which markets an exchange has, at what reference price.

Pure and deterministic: the same (exchange, count, seed) always gives the same markets,
in the same order. No I/O, no wall clock.

The first markets are always the core pairs that USD conversion needs (BTC/USDT,
ETH/USDT, EUR/USD, EUR/USDT, …, in the order of `CORE_PAIRS`), then real majors, then
generated bases (`AAA`, `AAB`, … skipping codes that ccxt would rename) until the count
is reached. Quotes are mixed among `QUOTES`, and some bases are quoted only in BTC, ETH
or EUR, so that a market's USD volume sometimes needs a conversion through another market.
"""

from __future__ import annotations

import itertools
import math
import random
import string
from collections.abc import Iterator
from dataclasses import dataclass

QUOTES: tuple[str, ...] = ("USDT", "USD", "USDC", "BTC", "ETH", "EUR")

# Reference USD prices of the assets that are not generated.
REFERENCE_USD: dict[str, float] = {
    "USD": 1.0,
    "USDT": 1.0,
    "USDC": 1.0,
    "EUR": 1.08,
    "BTC": 65000.0,
    "ETH": 3200.0,
    "SOL": 150.0,
    "XRP": 0.55,
    "ADA": 0.45,
    "DOGE": 0.12,
    "DOT": 6.5,
    "LTC": 80.0,
    "LINK": 14.0,
    "AVAX": 30.0,
    "TRX": 0.12,
    "ATOM": 8.0,
    "UNI": 7.5,
    "XLM": 0.11,
    "BCH": 380.0,
    "NEAR": 5.2,
    "FIL": 5.5,
    "APT": 8.5,
    "ARB": 1.1,
    "OP": 2.2,
    "AAVE": 95.0,
    "MKR": 2500.0,
    "ALGO": 0.18,
    "SHIB": 0.000018,
    "PEPE": 0.0000085,
}

# Always listed first, in this order: what USD conversion and the tests rely on.
CORE_PAIRS: tuple[tuple[str, str], ...] = (
    ("BTC", "USDT"),
    ("ETH", "USDT"),
    ("EUR", "USD"),
    ("EUR", "USDT"),
    ("ETH", "BTC"),
    ("BTC", "USD"),
    ("ETH", "USD"),
    ("BTC", "EUR"),
    ("ETH", "EUR"),
    ("BTC", "USDC"),
    ("ETH", "USDC"),
    ("USDT", "USD"),
    ("USDC", "USDT"),
    ("USDC", "USD"),
)

MAJORS: tuple[str, ...] = tuple(
    code for code in REFERENCE_USD if code not in {"USD", "USDT", "USDC", "EUR", "BTC", "ETH"}
)

# Codes a generated base must not take: real assets, and codes that ccxt's
# commonCurrencies (base, binance, kraken) would rename or that kraken uses as asset ids.
RESERVED_CODES: frozenset[str] = frozenset(
    set(REFERENCE_USD)
    | {"XBT", "BCHSV", "BSV", "BCC", "YOYO", "YOYOW", "LUNA", "LUNA2", "LUNC", "REP", "REPV1"}
    | {"REPV2", "UST", "USTC", "XDG", "FEE", "KFEE", "ETC", "MLN", "XMR", "ZEC", "AUD", "CAD"}
    | {"GBP", "JPY", "XETC", "XETH", "XLTC", "XMLN", "XREP", "XXBT", "XXDG", "XXLM", "XXMR"}
    | {"XXRP", "XZEC", "ZAUD", "ZCAD", "ZEUR", "ZGBP", "ZJPY", "ZUSD"}
)

# Probability that a (non-core) base is listed against each quote.
QUOTE_ODDS: dict[str, float] = {
    "USDT": 0.8,
    "USD": 0.3,
    "USDC": 0.3,
    "BTC": 0.35,
    "ETH": 0.2,
    "EUR": 0.15,
}
# Below this USD price a base is not listed against BTC or ETH (the price would be dust).
MIN_USD_FOR_CRYPTO_QUOTE = 0.5
MAX_PRICE_DECIMALS = 8


@dataclass(frozen=True, slots=True)
class Market:
    """One spot market as the simulator lists it, in unified terms."""

    base: str
    quote: str
    price_decimals: int
    premium: float  # this market's price relative to the cross of the asset prices
    spread_bps: float  # full bid/ask spread at the mid, in basis points
    volume: float  # reference 24h base volume

    @property
    def symbol(self) -> str:
        return f"{self.base}/{self.quote}"

    @property
    def volume_decimals(self) -> int:
        """Decimals of amounts: base volume × price then fits in eight decimals."""
        return MAX_PRICE_DECIMALS - self.price_decimals


@dataclass(frozen=True, slots=True)
class Universe:
    """What one exchange lists: its markets and the reference USD price of every asset."""

    exchange: str
    seed: int
    markets: tuple[Market, ...]
    asset_usd: dict[str, float]  # every base and quote that appears in `markets`

    @property
    def assets(self) -> tuple[str, ...]:
        return tuple(sorted(self.asset_usd))


def price_decimals(price: float) -> int:
    """Decimals of the tick size: about six significant digits, at most eight decimals."""
    if price <= 0 or not math.isfinite(price):
        raise ValueError(f"price must be positive and finite, got {price!r}")
    return max(0, min(MAX_PRICE_DECIMALS, 6 - math.floor(math.log10(price))))


def generated_codes() -> Iterator[str]:
    """`AAA`, `AAB`, … `ZZZ`, then `AAAA`, …, skipping `RESERVED_CODES`."""
    for width in itertools.count(3):
        for letters in itertools.product(string.ascii_uppercase, repeat=width):
            code = "".join(letters)
            if code not in RESERVED_CODES:
                yield code


def generate_universe(exchange: str, count: int, seed: int) -> Universe:
    """The `count` markets of `exchange` for `seed`, core pairs first."""
    if count <= 0:
        raise ValueError(f"the number of markets must be positive, got {count}")
    rng = random.Random(f"{seed}:{exchange}:universe")
    asset_usd = dict(REFERENCE_USD)
    pairs: list[tuple[str, str]] = list(CORE_PAIRS[:count])
    listed = set(pairs)
    bases = itertools.chain(MAJORS, generated_codes())
    while len(pairs) < count:
        base = next(bases)
        if base not in asset_usd:
            # Log-uniform between a tenth of a cent and a few thousand dollars.
            asset_usd[base] = 10 ** rng.uniform(-3.0, 3.5)
        for quote in _pick_quotes(rng, asset_usd[base]):
            if len(pairs) < count and (base, quote) not in listed:
                pairs.append((base, quote))
                listed.add((base, quote))
    markets = tuple(_market(rng, base, quote, asset_usd) for base, quote in pairs)
    used = {code for market in markets for code in (market.base, market.quote)}
    return Universe(
        exchange=exchange,
        seed=seed,
        markets=markets,
        asset_usd={code: asset_usd[code] for code in sorted(used)},
    )


def _pick_quotes(rng: random.Random, base_usd: float) -> list[str]:
    quotes = [quote for quote in QUOTES if rng.random() < QUOTE_ODDS[quote]]
    if base_usd < MIN_USD_FOR_CRYPTO_QUOTE:
        quotes = [quote for quote in quotes if quote not in {"BTC", "ETH"}] or ["USDT"]
    return quotes or [rng.choice(("USDT", "BTC", "EUR"))]


def _market(rng: random.Random, base: str, quote: str, asset_usd: dict[str, float]) -> Market:
    price = asset_usd[base] / asset_usd[quote]
    core = (base, quote) in CORE_PAIRS
    return Market(
        base=base,
        quote=quote,
        price_decimals=price_decimals(price),
        premium=1.0 if core else 1.0 + rng.uniform(-0.002, 0.002),
        spread_bps=rng.uniform(0.5, 4.0) if core else rng.uniform(2.0, 60.0),
        # Base volume worth roughly $10k to $500M a day, more for the core pairs.
        volume=10 ** rng.uniform(6.5 if core else 4.0, 8.7) / asset_usd[base],
    )
