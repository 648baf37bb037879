"""The simulator's pure parts: which markets, how prices move, what the wire bodies say."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from simulator.model import ExchangeModel
from simulator.universe import (
    CORE_PAIRS,
    QUOTES,
    REFERENCE_USD,
    RESERVED_CODES,
    generate_universe,
    price_decimals,
)
from simulator.wire import WIRE_FORMATS, Reply, binance, kraken


def body(reply: Reply) -> Any:
    return reply.body


def _advanced(exchange: str, steps: int = 5) -> ExchangeModel:
    model = ExchangeModel(generate_universe(exchange, 2000, seed=3))
    for _ in range(steps):
        model.advance()
    return model


@pytest.fixture(scope="module", params=["binance", "kraken"])
def model(request: pytest.FixtureRequest) -> ExchangeModel:
    return _advanced(request.param)


@pytest.fixture(scope="module")
def binance_model() -> ExchangeModel:
    return _advanced("binance")


@pytest.fixture(scope="module")
def kraken_model() -> ExchangeModel:
    return _advanced("kraken")


def test_universe_has_n_unique_markets_with_the_core_pairs_first() -> None:
    universe = generate_universe("binance", 2000, seed=1)
    symbols = [market.symbol for market in universe.markets]
    assert len(symbols) == len(set(symbols)) == 2000
    assert symbols[: len(CORE_PAIRS)] == [f"{base}/{quote}" for base, quote in CORE_PAIRS]
    assert {"BTC/USDT", "ETH/USDT", "EUR/USD", "EUR/USDT"} <= set(symbols)
    assert [m.symbol for m in generate_universe("binance", 3, seed=1).markets] == [
        "BTC/USDT",
        "ETH/USDT",
        "EUR/USD",
    ]


def test_universe_mixes_quotes_and_needs_conversion() -> None:
    universe = generate_universe("kraken", 2000, seed=1)
    quotes = Counter(market.quote for market in universe.markets)
    assert set(quotes) == set(QUOTES)
    assert all(count >= 50 for count in quotes.values()), quotes
    usd_like = {"USDT", "USD", "USDC"}
    quoted_in: dict[str, set[str]] = {}
    for market in universe.markets:
        quoted_in.setdefault(market.base, set()).add(market.quote)
    # some bases are only quoted in BTC, ETH or EUR: their USD volume needs a conversion
    assert any(not (quotes_ & usd_like) for quotes_ in quoted_in.values())
    generated = [base for base in quoted_in if base not in RESERVED_CODES]
    assert generated[:2] == ["AAA", "AAB"]


def test_generated_codes_are_not_renamed_by_ccxt() -> None:
    universe = generate_universe("binance", 5000, seed=1)
    generated = {market.base for market in universe.markets} - set(REFERENCE_USD)
    kraken_renames = ccxt.kraken().commonCurrencies
    renamed = set(ccxt.binance().commonCurrencies) | set(kraken_renames)
    renamed |= set(kraken_renames.values())
    assert len(generated) > 1000
    assert not generated & renamed


def test_universe_is_deterministic_per_seed_and_exchange() -> None:
    first = generate_universe("binance", 500, seed=9)
    assert first == generate_universe("binance", 500, seed=9)
    assert first != generate_universe("binance", 500, seed=10)
    assert first.markets != generate_universe("kraken", 500, seed=9).markets


def test_bad_counts_and_prices_are_refused() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        generate_universe("binance", 0, seed=1)
    with pytest.raises(ValueError, match="positive and finite"):
        price_decimals(0.0)
    assert price_decimals(65000.0) == 2
    assert price_decimals(0.0000085) == 8


def test_model_is_deterministic_and_moves_every_step() -> None:
    one = ExchangeModel(generate_universe("kraken", 300, seed=5))
    two = ExchangeModel(generate_universe("kraken", 300, seed=5))
    start = one.tickers
    for _ in range(3):
        assert one.advance() == two.advance()
    assert one.step == 3
    moved = sum(a.last != b.last for a, b in zip(start, one.tickers, strict=True))
    assert moved > 250
    previous = one.tickers
    one.advance()
    assert sum(a.last != b.last for a, b in zip(previous, one.tickers, strict=True)) > 250


def test_tickers_are_consistent(model: ExchangeModel) -> None:
    for ticker in model.tickers:
        assert Decimal(0) < ticker.bid < ticker.ask
        assert ticker.bid <= ticker.last <= ticker.ask
        assert ticker.low <= ticker.bid and ticker.ask <= ticker.high
        assert ticker.quote_volume == ticker.base_volume * ticker.vwap
        assert ticker.quote_volume == ticker.quote_volume.quantize(Decimal("1e-8"))
    by_symbol = model.tickers_by_symbol()
    btc, eth, eth_btc = by_symbol["BTC/USDT"], by_symbol["ETH/USDT"], by_symbol["ETH/BTC"]
    assert 40_000 < btc.last < 100_000
    assert float(eth_btc.last) == pytest.approx(float(eth.last / btc.last), rel=0.01)


def test_binance_bodies(binance_model: ExchangeModel) -> None:
    model = binance_model
    info = binance.exchange_info(model, {}, 1_700_000_000_000).body
    assert isinstance(info, dict)
    symbols = info["symbols"]
    assert len(symbols) == 2000
    assert symbols[0]["symbol"] == "BTCUSDT" and symbols[0]["baseAsset"] == "BTC"
    assert len({entry["symbol"] for entry in symbols}) == 2000
    assert body(binance.futures_exchange_info(model, {}, 0))["symbols"] == []
    every = binance.ticker_24hr(model, {}, 1_700_000_000_000).body
    assert isinstance(every, list) and len(every) == 2000
    btc = model.tickers_by_symbol()["BTC/USDT"]
    assert every[0]["lastPrice"] == f"{btc.last:.8f}"
    assert every[0]["closeTime"] == 1_700_000_000_000
    one = binance.ticker_24hr(model, {"symbol": "ETHUSDT"}, 0).body
    assert isinstance(one, dict) and one["symbol"] == "ETHUSDT"
    some = binance.ticker_24hr(model, {"symbols": json.dumps(["ETHUSDT", "BTCUSDT"])}, 0)
    assert [entry["symbol"] for entry in body(some)] == ["ETHUSDT", "BTCUSDT"]
    unknown = binance.ticker_24hr(model, {"symbol": "NOPE"}, 0)
    assert unknown.status == 400 and unknown.body == {"code": -1121, "msg": "Invalid symbol."}


def test_kraken_bodies(kraken_model: ExchangeModel) -> None:
    model = kraken_model
    pairs = kraken.asset_pairs(model, {}, 0).body
    assert isinstance(pairs, dict) and pairs["error"] == []
    result = pairs["result"]
    assert len(result) == 2000
    assert result["XXBTZUSD"]["altname"] == "XBTUSD" and result["XXBTZUSD"]["base"] == "XXBT"
    assert result["XETHXXBT"]["wsname"] == "ETH/XBT"
    assert result["XBTUSDT"]["quote"] == "USDT"
    assets = body(kraken.assets(model, {}, 0))["result"]
    assert assets["ZUSD"]["altname"] == "USD" and assets["XXBT"]["altname"] == "XBT"
    tickers = body(kraken.ticker(model, {"pair": "XXBTZUSD,ETHUSDT"}, 0))["result"]
    assert list(tickers) == ["XXBTZUSD", "ETHUSDT"]
    btc_usd = model.tickers_by_symbol()["BTC/USD"]
    assert Decimal(tickers["XXBTZUSD"]["c"][0]) == btc_usd.last
    assert Decimal(tickers["XXBTZUSD"]["v"][1]) == btc_usd.base_volume
    unknown = kraken.ticker(model, {"pair": "NOPE"}, 0).body
    assert unknown == {"error": ["EQuery:Unknown asset pair"]}


def test_every_wire_format_answers_the_three_http_faults() -> None:
    for wire in WIRE_FORMATS.values():
        assert {kind: reply.status for kind, reply in wire.errors.items()} == {
            "http429": 429,
            "http500": 500,
            "http503": 503,
        }
