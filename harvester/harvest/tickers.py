"""Unified ccxt tickers → market rows: pure, and defensive about what exchanges send.

A missing value is None (NULL in the database), never 0. Exchange input that is not a
finite number, or a negative (or zero) price, is treated as missing, so that one bad
ticker can neither crash a run nor poison the table. Numbers become `Decimal`s from
ccxt's number strings (the adapter parses tickers with ``exchange.number = str``);
floats are accepted too, through their shortest round-tripping repr.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from typing import Any

# 38 significant digits (what ccxt's Precise math gives and far more than prices carry),
# and a sane magnitude: a value outside 1e-40 … 1e40 is garbage, not a price or volume.
_CONTEXT = Context(prec=38)
_MAX_EXPONENT = 40


@dataclass(frozen=True, slots=True)
class MarketRow:
    """One market as this run saw it: the columns of ``markets`` that a ticker fills."""

    symbol: str
    base: str
    quote: str
    type: str
    active: bool
    last: Decimal | None
    bid: Decimal | None
    ask: Decimal | None
    base_volume: Decimal | None
    quote_volume: Decimal | None
    change_pct: Decimal | None
    exchange_ts: dt.datetime | None


_create_decimal = _CONTEXT.create_decimal  # Decimal(value), rounded to 38 digits: one call
_EXACT_KINDS = frozenset({str, Decimal, int})


def to_decimal(value: object) -> Decimal | None:
    """`value` as a finite Decimal of sane magnitude, or None (never raises)."""
    kind = type(value)
    if kind not in _EXACT_KINDS:  # the rare cases: floats, subclasses, anything else
        if isinstance(value, bool) or not isinstance(value, (str, Decimal, int, float)):
            return None
        if isinstance(value, float):
            if not math.isfinite(value):
                return None
            value = repr(float(value))
    try:
        number = _create_decimal(value)  # type: ignore[arg-type]
    except (InvalidOperation, ValueError):
        try:  # what create_decimal refuses and Decimal takes: surrounding whitespace
            number = _CONTEXT.plus(Decimal(value))  # type: ignore[arg-type]
        except (InvalidOperation, ValueError):
            return None
    if not number:
        return _CONTEXT.plus(number)  # a zero without its sign, as PostgreSQL stores it
    if not number.is_finite() or abs(number.adjusted()) > _MAX_EXPONENT:
        return None
    return number


def to_price(value: object) -> Decimal | None:
    """A price: a finite number greater than zero, else None."""
    number = to_decimal(value)
    return number if number is not None and number > 0 else None


def to_amount(value: object) -> Decimal | None:
    """A volume: a finite number, zero allowed, never negative."""
    number = to_decimal(value)
    return number if number is not None and number >= 0 else None


def to_utc(milliseconds: object) -> dt.datetime | None:
    """A ccxt timestamp (ms since the epoch) as an aware UTC datetime, else None."""
    if isinstance(milliseconds, bool) or not isinstance(milliseconds, (int, float, str)):
        return None
    try:
        seconds = float(milliseconds) / 1000
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _split_symbol(symbol: str) -> tuple[str, str, str] | None:
    """(base, quote, type) from a unified symbol, for a ticker of an unknown market."""
    pair, _, settle = symbol.partition(":")
    base, slash, quote = pair.partition("/")
    if not (slash and base and quote):
        return None
    return base, quote, "swap" if settle else "spot"


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def ticker_to_row(ticker: Mapping[str, Any], market: Mapping[str, Any] | None) -> MarketRow | None:
    """The market row of one unified ticker; None when it names no usable symbol.

    Base, quote, type and active come from the exchange's `market` when known, else
    from the symbol itself (``BASE/QUOTE`` spot, ``BASE/QUOTE:SETTLE`` swap).
    """
    symbol = _text(ticker.get("symbol"))
    if symbol is None:
        return None
    parsed = _split_symbol(symbol)
    market = market or {}
    base = _text(market.get("base")) or (parsed[0] if parsed else None)
    quote = _text(market.get("quote")) or (parsed[1] if parsed else None)
    if base is None or quote is None:
        return None
    kind = _text(market.get("type")) or (parsed[2] if parsed else "spot")
    return MarketRow(
        symbol=symbol,
        base=base,
        quote=quote,
        type=kind,
        active=market.get("active") is not False,
        last=to_price(ticker.get("last")),
        bid=to_price(ticker.get("bid")),
        ask=to_price(ticker.get("ask")),
        base_volume=to_amount(ticker.get("baseVolume")),
        quote_volume=to_amount(ticker.get("quoteVolume")),
        change_pct=to_decimal(ticker.get("percentage")),
        exchange_ts=to_utc(ticker.get("timestamp")),
    )


def tickers_to_rows(
    tickers: Iterable[Mapping[str, Any]], markets: Mapping[str, Mapping[str, Any]]
) -> tuple[list[MarketRow], int]:
    """Rows of `tickers`, one per symbol (a later duplicate wins), and how many were unusable."""
    rows: dict[str, MarketRow] = {}
    skipped = 0
    for ticker in tickers:
        if not isinstance(ticker, Mapping):
            skipped += 1
            continue
        symbol = ticker.get("symbol")
        row = ticker_to_row(ticker, markets.get(symbol) if isinstance(symbol, str) else None)
        if row is None:
            skipped += 1
            continue
        rows.pop(row.symbol, None)  # last wins, and takes the last position
        rows[row.symbol] = row
    return list(rows.values()), skipped
