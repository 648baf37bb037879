"""Unified ticker → market row: missing values stay None, garbage never gets through."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from harvester.harvest.tickers import MarketRow, ticker_to_row, tickers_to_rows, to_decimal, to_utc

MARKET = {"symbol": "BTC/USDT", "base": "BTC", "quote": "USDT", "type": "spot", "active": True}
TICKER = {
    "symbol": "BTC/USDT",
    "timestamp": 1710328245391,
    "last": "73369.84000000",
    "bid": "73369.83000000",
    "ask": "73369.84000000",
    "baseVolume": "72140.34862800",
    "quoteVolume": "5167027510.68728707",
    "percentage": "-1.647",
}


def test_a_full_ticker() -> None:
    row = ticker_to_row(TICKER, MARKET)
    assert row == MarketRow(
        symbol="BTC/USDT",
        base="BTC",
        quote="USDT",
        type="spot",
        active=True,
        last=Decimal("73369.84"),
        bid=Decimal("73369.83"),
        ask=Decimal("73369.84"),
        base_volume=Decimal("72140.348628"),
        quote_volume=Decimal("5167027510.68728707"),
        change_pct=Decimal("-1.647"),
        exchange_ts=dt.datetime(2024, 3, 13, 11, 10, 45, 391000, tzinfo=dt.UTC),
    )
    assert str(row.quote_volume) == "5167027510.68728707"  # every digit kept


def test_missing_values_are_none_never_zero() -> None:
    row = ticker_to_row({"symbol": "BTC/USDT"}, MARKET)
    assert row is not None
    values = [row.last, row.bid, row.ask, row.base_volume, row.quote_volume, row.change_pct]
    assert values == [None] * 6 and row.exchange_ts is None


@pytest.mark.parametrize(
    "garbage",
    [
        float("nan"),
        float("inf"),
        "-inf",
        "NaN",
        "abc",
        "",
        "1,5",
        True,
        [1],
        {"x": 1},
        "1e999",
        -5,
        "-0.1",
    ],
)
def test_garbage_prices_and_volumes_are_missing(garbage: Any) -> None:
    ticker = dict.fromkeys(("last", "bid", "ask", "baseVolume", "quoteVolume"), garbage)
    row = ticker_to_row({"symbol": "BTC/USDT", **ticker}, MARKET)
    assert row is not None
    assert [row.last, row.bid, row.ask, row.base_volume, row.quote_volume] == [None] * 5


def test_zero_volume_is_kept_but_a_zero_price_is_missing() -> None:
    row = ticker_to_row({"symbol": "BTC/USDT", "last": 0, "baseVolume": "0"}, MARKET)
    assert row is not None and row.last is None and row.base_volume == 0


def test_floats_and_ints_are_accepted() -> None:
    row = ticker_to_row({"symbol": "BTC/USDT", "last": 0.1, "bid": 3, "percentage": -2.5}, MARKET)
    assert row is not None
    assert (row.last, row.bid, row.change_pct) == (Decimal("0.1"), Decimal(3), Decimal("-2.5"))


def test_number_conversion_edges() -> None:
    assert to_decimal(" 12.5 ") == Decimal("12.5")
    assert to_decimal("1e-12") == Decimal("1e-12")
    assert to_decimal("1e-60") is None  # out of any sane range
    assert to_decimal("1." + "1" * 80) == Decimal("1." + "1" * 37)  # 38 significant digits
    assert to_decimal(Decimal("sNaN")) is None


@pytest.mark.parametrize("value", [None, "x", float("nan"), 10**30, True, [1]])
def test_bad_timestamps_are_missing(value: Any) -> None:
    assert to_utc(value) is None


def test_market_fields_come_from_the_market_else_from_the_symbol() -> None:
    inactive = {**MARKET, "active": False, "type": "swap"}
    row = ticker_to_row(TICKER, inactive)
    assert row is not None and (row.active, row.type) == (False, "swap")
    unknown = ticker_to_row({"symbol": "ETH/BTC:BTC", "last": "0.05"}, None)
    assert unknown is not None
    assert (unknown.base, unknown.quote, unknown.type, unknown.active) == (
        "ETH",
        "BTC",
        "swap",
        True,
    )
    unknown_active = ticker_to_row({"symbol": "ETH/BTC"}, {"active": None})
    assert unknown_active is not None and unknown_active.active and unknown_active.type == "spot"


@pytest.mark.parametrize("symbol", [None, "", "BTCUSDT", "/USDT", 42])
def test_tickers_without_a_usable_symbol_are_skipped(symbol: Any) -> None:
    assert ticker_to_row({"symbol": symbol, "last": "1"}, None) is None


def test_duplicate_symbols_are_folded_last_wins() -> None:
    tickers = [
        {**TICKER, "last": "1"},
        {"symbol": "ETH/USDT", "last": "2"},
        {**TICKER, "last": "3"},
        "not a ticker",
        {"symbol": None},
    ]
    rows, skipped = tickers_to_rows(tickers, {"BTC/USDT": MARKET})  # type: ignore[arg-type]
    assert [(row.symbol, row.last) for row in rows] == [
        ("ETH/USDT", Decimal(2)),
        ("BTC/USDT", Decimal(3)),
    ]
    assert skipped == 2
