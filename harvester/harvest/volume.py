"""USD volumes of an exchange's markets, and its aggregates: pure functions.

A market's USD volume is its quote volume times the USD rate of its quote currency:

- USD and the dollar stablecoins (`STABLECOINS`) are worth 1;
- any other quote ``Q`` is priced through the exchange's own ``Q/<stablecoin>`` market
  (USD first, then USDT, USDC, the others), or failing that its inverse ``<stablecoin>/Q``;
  a market's price is its last trade, else the midpoint of bid and ask;
- a market with no quote volume uses base volume × price when both are known.

A market whose quote currency has no such route, or that has no volume at all, cannot
be converted: it is left out of the exchange's total and counted in ``unpriced``.
USD volumes are computed exactly (100 digits) and rounded to 8 decimals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Context, Decimal

from harvester.harvest.tickers import MarketRow

# Order matters: the first stablecoin with a market to a quote currency prices it.
STABLECOIN_ORDER: tuple[str, ...] = (
    "USD",
    "USDT",
    "USDC",
    "FDUSD",
    "BUSD",
    "DAI",
    "TUSD",
    "USDP",
    "PAX",
    "PYUSD",
    "GUSD",
    "USDS",
)
STABLECOINS: frozenset[str] = frozenset(STABLECOIN_ORDER)
ONE = Decimal(1)
USD_QUANTUM = Decimal("1e-8")
_EXACT = Context(prec=100)  # inputs have at most 38 digits: products and sums stay exact


@dataclass(frozen=True)
class VolumeSummary:
    """The exchange-level figures of one run, and each market's USD volume."""

    volume_usd: Decimal | None  # None when no market could be converted
    top_pair: str | None  # the market with the largest USD volume (> 0)
    top_pair_volume_usd: Decimal | None
    unpriced: int  # markets whose volume could not be converted to USD
    by_symbol: Mapping[str, Decimal | None] = field(default_factory=dict)


def price(row: MarketRow) -> Decimal | None:
    """The market's price: last trade, else the bid/ask midpoint."""
    if row.last is not None:
        return row.last
    if row.bid is not None and row.ask is not None:
        return _EXACT.divide(_EXACT.add(row.bid, row.ask), 2)
    return None


def quote_volume(row: MarketRow) -> Decimal | None:
    """Quote volume as reported, else base volume × price."""
    if row.quote_volume is not None:
        return row.quote_volume
    market_price = price(row)
    if row.base_volume is not None and market_price is not None:
        return _EXACT.multiply(row.base_volume, market_price)
    return None


def _prices_by_pair(rows: Iterable[MarketRow]) -> dict[tuple[str, str], Decimal]:
    """(base, quote) → price; a spot market wins over a derivative of the same pair."""
    found: dict[tuple[str, str], tuple[bool, Decimal]] = {}
    for row in rows:
        market_price = price(row)
        if market_price is None:
            continue
        spot = row.type == "spot"
        key = (row.base, row.quote)
        if key not in found or (spot and not found[key][0]):
            found[key] = (spot, market_price)
    return {key: value for key, (_, value) in found.items()}


def usd_rates(rows: Sequence[MarketRow]) -> dict[str, Decimal]:
    """The USD value of one unit of each quote currency that can be priced."""
    pairs = _prices_by_pair(rows)
    rates: dict[str, Decimal] = {}
    for quote in {row.quote for row in rows}:
        rate = _rate(quote, pairs)
        if rate is not None:
            rates[quote] = rate
    return rates


def _rate(currency: str, pairs: Mapping[tuple[str, str], Decimal]) -> Decimal | None:
    if currency in STABLECOINS:
        return ONE
    for stable in STABLECOIN_ORDER:
        direct = pairs.get((currency, stable))
        if direct is not None:
            return direct
    for stable in STABLECOIN_ORDER:
        inverse = pairs.get((stable, currency))
        if inverse is not None:
            return _EXACT.divide(ONE, inverse)
    return None


def market_volume_usd(row: MarketRow, rates: Mapping[str, Decimal]) -> Decimal | None:
    volume = quote_volume(row)
    rate = rates.get(row.quote)
    if volume is None or rate is None:
        return None
    return _EXACT.multiply(volume, rate).quantize(USD_QUANTUM, ROUND_HALF_EVEN, _EXACT)


def summarize(rows: Sequence[MarketRow]) -> VolumeSummary:
    """USD volume of every market, the exchange's total, top pair and unpriced count."""
    rates = usd_rates(rows)
    by_symbol = {row.symbol: market_volume_usd(row, rates) for row in rows}
    priced = {symbol: value for symbol, value in by_symbol.items() if value is not None}
    unpriced = len(by_symbol) - len(priced)
    if not priced:
        return VolumeSummary(None, None, None, unpriced, by_symbol)
    total = Decimal(0)
    for value in priced.values():
        total = _EXACT.add(total, value)
    top_symbol, top_volume = min(priced.items(), key=lambda item: (-item[1], item[0]))
    if top_volume <= 0:
        return VolumeSummary(total, None, None, unpriced, by_symbol)
    return VolumeSummary(total, top_symbol, top_volume, unpriced, by_symbol)
