"""The ccxt adapter's pure parts: URL rewriting, name/URL checks, error classes, caching."""

from __future__ import annotations

from typing import Any

import ccxt
import pytest

from harvester.harvest.adapter import (
    ExchangeAdapter,
    classify_error,
    rewrite_api_urls,
    rewrite_url,
)
from marketmanager import exchange_catalogue as catalog
from marketmanager.exchange_catalogue import suggest_exchange_ids, supports_tickers
from marketmanager.exchange_input import InvalidExchange, check_api_url, check_exchange_name

NESTED = {
    "public": "https://api.binance.com/api/v3",
    "fapi": {"v1": "https://fapi.binance.com/fapi/v1", "v2": "https://fapi.binance.com/fapi/v2"},
    "list": ["https://a.example.com/x?y=1", 42],
    "none": None,
}


def test_rewrite_puts_the_api_url_path_in_front() -> None:
    url = rewrite_url("https://api.binance.com/api/v3/ticker/24hr", "http://127.0.0.1:8900/binance")
    assert url == "http://127.0.0.1:8900/binance/api/v3/ticker/24hr"


def test_rewrite_without_a_path_prefix_keeps_the_path_and_query() -> None:
    assert rewrite_url("https://api.kraken.com/0/public?x=1", "http://localhost:81") == (
        "http://localhost:81/0/public?x=1"
    )
    assert rewrite_url("https://api.kraken.com", "http://h:1/") == "http://h:1"


def test_rewrite_of_nested_urls_with_a_prefix() -> None:
    assert rewrite_api_urls(NESTED, "http://127.0.0.1:8900/sim/") == {
        "public": "http://127.0.0.1:8900/sim/api/v3",
        "fapi": {
            "v1": "http://127.0.0.1:8900/sim/fapi/v1",
            "v2": "http://127.0.0.1:8900/sim/fapi/v2",
        },
        "list": ["http://127.0.0.1:8900/sim/x?y=1", 42],
        "none": None,
    }


def test_rewrite_of_nested_urls_without_a_prefix() -> None:
    rewritten = rewrite_api_urls(NESTED, "https://proxy.example.org:8443")
    assert rewritten["fapi"]["v2"] == "https://proxy.example.org:8443/fapi/v2"
    assert rewritten["public"] == "https://proxy.example.org:8443/api/v3"
    assert NESTED["public"] == "https://api.binance.com/api/v3"  # the input is not modified


def test_the_adapter_rewrites_every_api_url_of_its_instance() -> None:
    with ExchangeAdapter("binance", api_url="http://127.0.0.1:8900/binance") as adapter:
        urls = adapter.exchange.urls["api"]
        assert urls["public"] == "http://127.0.0.1:8900/binance/api/v3"
        assert urls["fapiPublic"] == "http://127.0.0.1:8900/binance/fapi/v1"
        assert adapter.exchange.timeout == 30000 and adapter.exchange.enableRateLimit
        assert adapter.ticker_method == "fetchTickers"


def test_unknown_names_are_refused_with_the_closest_ids() -> None:
    assert "binance" in suggest_exchange_ids("binanse")
    with pytest.raises(InvalidExchange, match=r"did you mean .*binance"):
        check_exchange_name("binanse")
    with pytest.raises(InvalidExchange, match="not a ccxt exchange id"):
        check_exchange_name("zzzzzzzz")
    assert check_exchange_name("kraken") == "kraken"
    assert supports_tickers("binance")


def test_an_exchange_without_ticker_methods_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    real = catalog.describe_exchange

    def without_tickers(exchange_id: str) -> catalog.ExchangeInfo:
        info = real(exchange_id)
        return catalog.ExchangeInfo(info.id, info.name, info.url, info.logo, False, False)

    monkeypatch.setattr(catalog, "describe_exchange", without_tickers)
    with pytest.raises(InvalidExchange, match="neither fetchTickers nor fetchTicker"):
        check_exchange_name("kraken")


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8900/binance", "https://proxy.example.org", "http://h:1/a/b"]
)
def test_good_api_urls(url: str) -> None:
    assert check_api_url(url) == url


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://example.org", "http"),
        ("http://", "host"),
        ("example.org", "http"),
        ("http://h:99999", "port"),
        ("http://h/x?y=1", "query"),
    ],
)
def test_bad_api_urls(url: str, problem: str) -> None:
    with pytest.raises(InvalidExchange, match=problem):
        check_api_url(url)


def test_private_api_urls_can_be_refused() -> None:
    for url in ("http://127.0.0.1:1", "http://localhost", "http://10.1.2.3", "http://[::1]:80"):
        with pytest.raises(InvalidExchange, match="private"):
            check_api_url(url, allow_private=False)
    assert check_api_url("https://api.example.com", allow_private=False)


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (ccxt.NetworkError("x"), True),
        (ccxt.RequestTimeout("x"), True),
        (ccxt.ExchangeNotAvailable("x"), True),
        (ccxt.DDoSProtection("x"), True),
        (ccxt.RateLimitExceeded("x"), True),
        (ccxt.BadResponse("x"), True),
        (ccxt.ExchangeError("x"), False),
        (ccxt.BadSymbol("x"), False),
        (ccxt.AuthenticationError("x"), False),
        (ValueError("x"), False),
    ],
)
def test_error_classes(error: Exception, retryable: bool) -> None:
    failure = classify_error(error)
    assert failure.retryable is retryable
    assert failure.error == f"{type(error).__name__}: x"


def test_error_text_is_one_bounded_line_with_its_cause() -> None:
    try:
        try:
            raise ConnectionError("socket\nclosed")
        except ConnectionError as cause:
            raise ccxt.NetworkError("binance GET http://h/x") from cause
    except ccxt.NetworkError as error:
        failure = classify_error(error)
    assert failure.error == "NetworkError: binance GET http://h/x (ConnectionError: socket closed)"
    long = classify_error(ccxt.ExchangeError("x" * 5000)).error
    assert len(long) <= 1000 and "\n" not in long


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_markets_are_loaded_once_and_refreshed_when_old(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    calls: list[bool] = []
    with ExchangeAdapter("kraken", markets_refresh_seconds=60, clock=clock) as adapter:
        monkeypatch.setattr(adapter.exchange, "load_markets", lambda reload: calls.append(reload))
        adapter.load_markets()
        clock.now = 59
        adapter.load_markets()
        assert calls == [True]
        clock.now = 60
        adapter.load_markets()
        assert calls == [True, True]


def market(base: str, active: bool | None) -> dict[str, Any]:
    return {
        "id": base + "B",
        "symbol": f"{base}/B",
        "base": base,
        "quote": "B",
        "baseId": base,
        "quoteId": "B",
        "type": "spot",
        "spot": True,
        "active": active,
    }


MARKETS = [market("A", True), market("C", False), market("D", None)]


def test_without_fetch_tickers_each_listed_market_is_fetched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with ExchangeAdapter("kraken") as adapter:
        adapter.install_markets(MARKETS)
        adapter.ticker_method = "fetchTicker"
        seen: list[Any] = []

        def fetch_ticker(symbol: str) -> dict[str, Any]:
            seen.append(adapter.exchange.number)
            return {"symbol": symbol}

        monkeypatch.setattr(adapter.exchange, "fetch_ticker", fetch_ticker)
        tickers = adapter.fetch_tickers()
    assert [t["symbol"] for t in tickers] == ["A/B", "D/B"]  # the inactive one is skipped
    assert seen == [str, str]  # numbers parsed as ccxt's strings
    assert adapter.exchange.number is float  # and restored


def test_a_body_that_is_not_json_is_a_bad_response(monkeypatch: pytest.MonkeyPatch) -> None:
    with ExchangeAdapter("kraken", api_url="http://127.0.0.1:9") as adapter:
        adapter.install_markets(MARKETS)
        monkeypatch.setattr(adapter, "_http_fetch", lambda *args: '{"error":[],"result":{"AB')
        with pytest.raises(ccxt.BadResponse, match="malformed JSON"):
            adapter.fetch_tickers()
    with ExchangeAdapter("binance", api_url="http://127.0.0.1:9") as adapter:
        adapter.install_markets(MARKETS)
        monkeypatch.setattr(adapter, "_http_fetch", lambda *args: "<html>edge error</html>")
        with pytest.raises(ccxt.BadResponse, match="cannot parse"):
            adapter.fetch_tickers()


def _market(market_id: str, symbol: str, kind: str) -> dict[str, Any]:
    base, quote = symbol.split(":")[0].split("/")
    return {
        "id": market_id,
        "symbol": symbol,
        "base": base,
        "quote": quote,
        "type": kind,
        "spot": kind == "spot",
        "swap": kind == "swap",
        "linear": kind == "swap" or None,
        "info": {"symbol": market_id, "filters": [{"minQty": "0.001"}]},
    }


def test_markets_by_id_hold_the_markets_themselves_not_a_second_copy() -> None:
    spot = _market("BTCUSDT", "BTC/USDT", "spot")
    swap = _market("BTCUSDT", "BTC/USDT:USDT", "swap")  # the same id: ccxt lists both
    with ExchangeAdapter("binance") as adapter:
        adapter.install_markets([spot, swap, _market("ETHBTC", "ETH/BTC", "spot")])
        exchange = adapter.exchange
        for market_id, markets in exchange.markets_by_id.items():
            for market in markets:
                assert market is exchange.markets[market["symbol"]], market_id
        # what ticker parsers look up: the market with its defaults filled in
        assert exchange.safe_market("BTCUSDT", None, None, "spot") is exchange.markets["BTC/USDT"]
        assert exchange.safe_market("BTCUSDT", None, None, "swap")["symbol"] == "BTC/USDT:USDT"
        assert exchange.safe_market("ETHBTC")["taker"] == exchange.fees["trading"]["taker"]
