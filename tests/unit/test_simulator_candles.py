"""The simulator's klines and OHLC: real wire semantics over deterministic candles."""

from __future__ import annotations

import itertools

from marketmanager.candles.aggregate import aggregate
from marketmanager.candles.timeframes import ceil_ms
from simulator.history import LISTED_MS, MarketHistory
from simulator.model import ExchangeModel
from simulator.universe import REFERENCE_USD, generate_universe
from simulator.wire.klines import klines
from simulator.wire.ohlc import ohlc

M = 60_000
NOW = 1_790_000_000_000 + 25 * M + 17_000  # some minute, 17 s in


def model(exchange: str) -> ExchangeModel:
    return ExchangeModel(generate_universe(exchange, 100, 4))


def test_candles_are_deterministic_continuous_and_near_the_ticker_prices() -> None:
    binance = model("binance")
    market = binance.markets[0]
    history = MarketHistory(binance.universe, market)
    first = history.candles("1m", NOW - 600 * M, NOW)
    assert first == MarketHistory(binance.universe, market).candles("1m", NOW - 600 * M, NOW)
    assert all(a.close == b.open for a, b in itertools.pairwise(first))
    assert all(c.low <= min(c.open, c.close) <= max(c.open, c.close) <= c.high for c in first)
    last = float(binance.tickers[0].last)
    assert all(0.85 * last < float(c.close) < 1.15 * last for c in first)


def test_thin_markets_have_minutes_without_candles_and_hours_are_their_minutes() -> None:
    binance = model("binance")
    thin = next(m for m in binance.markets if m.base not in REFERENCE_USD)
    history = MarketHistory(binance.universe, thin)
    minutes = history.candles("1m", NOW - 24 * 60 * M, NOW)
    assert 0 < 24 * 60 - len(minutes) < 24 * 60 * 0.1
    hours = history.candles("1h", NOW - 24 * 60 * M, NOW, now_ms=NOW)
    assert hours == [h for h in aggregate(minutes, "1h") if h.ts >= NOW - 24 * 60 * M]


def test_binance_klines_page_from_start_time_up_to_the_limit() -> None:
    binance = model("binance")
    query = {"symbol": "BTCUSDT", "interval": "1m", "startTime": str(NOW - 5000 * M)}
    page = klines(binance, {**query, "limit": "1000"}, NOW)
    assert page.status == 200 and isinstance(page.body, list) and len(page.body) == 1000
    assert page.body[0][0] == ceil_ms(NOW - 5000 * M, "1m")  # at or after startTime
    default = klines(binance, query, NOW)
    assert isinstance(default.body, list) and len(default.body) == 500
    newest = klines(binance, {"symbol": "BTCUSDT", "interval": "1h", "limit": "3"}, NOW)
    assert isinstance(newest.body, list)
    assert newest.body[-1][0] == NOW - NOW % (60 * M)  # the hour still open comes last
    assert klines(binance, {**query, "limit": "1001"}, NOW).body["code"] == -1130  # type: ignore[index]
    assert klines(binance, {**query, "interval": "7m"}, NOW).body["code"] == -1120  # type: ignore[index]
    assert klines(binance, {**query, "symbol": "NOPE"}, NOW).body["code"] == -1121  # type: ignore[index]


def test_kraken_ohlc_serves_only_its_last_720_candles_after_since() -> None:
    kraken = model("kraken")
    everything = ohlc(kraken, {"pair": "XBTUSDT", "interval": "1", "since": "0"}, NOW)
    result = everything.body["result"]  # type: ignore[index]
    rows = result["XBTUSDT"]
    assert len(rows) == 720
    newest = (NOW - NOW % M) // 1000
    assert rows[-1][0] == newest and rows[0][0] == newest - 719 * 60
    assert result["last"] == newest - 60
    after = ohlc(kraken, {"pair": "XBTUSDT", "interval": "1", "since": str(newest - 600)}, NOW)
    assert [row[0] for row in after.body["result"]["XBTUSDT"]] == [  # type: ignore[index]
        newest - 540 + 60 * i for i in range(10)
    ]
    bad = ohlc(kraken, {"pair": "XBTUSDT", "interval": "2"}, NOW)
    assert bad.body == {"error": ["EGeneral:Invalid arguments:interval"]}
    for since in ("inf", "nan", "soon"):
        odd = ohlc(kraken, {"pair": "XBTUSDT", "since": since}, NOW)
        assert odd.body == {"error": ["EGeneral:Invalid arguments"]}


def test_nothing_trades_before_the_listing_and_klines_start_there() -> None:
    binance = model("binance")
    history = MarketHistory(binance.universe, binance.markets[0])
    assert history.candles("1h", LISTED_MS - 48 * 60 * M, LISTED_MS) == []
    query = {"symbol": "BTCUSDT", "interval": "1d", "startTime": "0", "limit": "3"}
    page = klines(binance, query, NOW)
    assert isinstance(page.body, list) and page.body[0][0] == LISTED_MS
