"""Binance's public REST bodies, as ccxt 4.5 reads them.

ccxt's default ``load_markets()`` calls spot ``/api/v3/exchangeInfo`` and the futures
``/fapi/v1/exchangeInfo`` and ``/dapi/v1/exchangeInfo`` (no currencies without API keys);
``fetch_tickers()`` calls spot ``/api/v3/ticker/24hr``. The futures venues are served
with no symbols, so the markets ccxt loads are exactly the simulated spot markets.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal

from simulator.model import ExchangeModel, Ticker
from simulator.universe import Market
from simulator.wire.base import Endpoint, Reply, WireFormat

RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
]
ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"]
MIN_NOTIONAL = {"BTC": "0.00010000", "ETH": "0.00100000"}
DAY_MS = 86_400_000


def _num(value: Decimal) -> str:
    """Binance prints every price and quantity with eight decimals."""
    return f"{value:.8f}"


def _symbol_id(market: Market) -> str:
    return market.base + market.quote


def _symbol_info(market: Market) -> dict[str, object]:
    tick = _num(Decimal(1).scaleb(-market.price_decimals))
    step = _num(Decimal(1).scaleb(-market.volume_decimals))
    return {
        "symbol": _symbol_id(market),
        "status": "TRADING",
        "baseAsset": market.base,
        "baseAssetPrecision": 8,
        "quoteAsset": market.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ORDER_TYPES,
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": market.quote == "USDT",
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": tick,
                "maxPrice": "1000000.00000000",
                "tickSize": tick,
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": step,
                "maxQty": "9000000.00000000",
                "stepSize": step,
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": MIN_NOTIONAL.get(market.quote, "5.00000000"),
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
        ],
        "permissions": [],
        "permissionSets": [["SPOT", "MARGIN"] if market.quote == "USDT" else ["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def exchange_info(model: ExchangeModel, query: Mapping[str, str], now_ms: int) -> Reply:
    return Reply(
        200,
        {
            "timezone": "UTC",
            "serverTime": now_ms,
            "rateLimits": RATE_LIMITS,
            "exchangeFilters": [],
            "symbols": [_symbol_info(market) for market in model.markets],
        },
    )


def futures_exchange_info(model: ExchangeModel, query: Mapping[str, str], now_ms: int) -> Reply:
    """USDⓈ-M and COIN-M futures: a valid venue that lists nothing."""
    body = {
        "timezone": "UTC",
        "serverTime": now_ms,
        "rateLimits": RATE_LIMITS,
        "exchangeFilters": [],
        "assets": [],
        "symbols": [],
    }
    return Reply(200, body)


def ticker_entry(market: Market, ticker: Ticker, now_ms: int, sequence: int) -> dict[str, object]:
    change = ticker.last - ticker.open
    percent = (change * 100 / ticker.open).quantize(Decimal("0.001"))
    trades = max(1, int(ticker.base_volume) % 100_000 + 17)
    first_id = sequence * 1_000_000
    return {
        "symbol": _symbol_id(market),
        "priceChange": _num(change),
        "priceChangePercent": str(percent),
        "weightedAvgPrice": _num(ticker.vwap),
        "prevClosePrice": _num(ticker.open),
        "lastPrice": _num(ticker.last),
        "lastQty": _num(Decimal(1).scaleb(-market.volume_decimals)),
        "bidPrice": _num(ticker.bid),
        "bidQty": _num(Decimal(3).scaleb(-market.volume_decimals)),
        "askPrice": _num(ticker.ask),
        "askQty": _num(Decimal(2).scaleb(-market.volume_decimals)),
        "openPrice": _num(ticker.open),
        "highPrice": _num(ticker.high),
        "lowPrice": _num(ticker.low),
        "volume": _num(ticker.base_volume),
        "quoteVolume": _num(ticker.quote_volume),
        "openTime": now_ms - DAY_MS,
        "closeTime": now_ms,
        "firstId": first_id,
        "lastId": first_id + trades - 1,
        "count": trades,
    }


def ticker_24hr(model: ExchangeModel, query: Mapping[str, str], now_ms: int) -> Reply:
    """All tickers, or those of ``symbol=X`` (one object) or ``symbols=["X","Y"]`` (a list)."""
    entries = {
        _symbol_id(market): (market, ticker)
        for market, ticker in zip(model.markets, model.tickers, strict=True)
    }
    if "symbol" in query:
        found = entries.get(query["symbol"])
        if found is None:
            return _invalid_symbol()
        return Reply(200, ticker_entry(*found, now_ms, model.step))
    wanted: list[str] | None = None
    if "symbols" in query:
        try:
            wanted = [str(symbol) for symbol in json.loads(query["symbols"])]
        except (ValueError, TypeError):
            return Reply(400, {"code": -1100, "msg": "Illegal characters found in parameter."})
        if any(symbol not in entries for symbol in wanted):
            return _invalid_symbol()
    ids = wanted if wanted is not None else list(entries)
    return Reply(200, [ticker_entry(*entries[id_], now_ms, model.step) for id_ in ids])


def futures_ticker_24hr(model: ExchangeModel, query: Mapping[str, str], now_ms: int) -> Reply:
    return Reply(200, [])


def ping(model: ExchangeModel, query: Mapping[str, str], now_ms: int) -> Reply:
    return Reply(200, {})


def server_time(model: ExchangeModel, query: Mapping[str, str], now_ms: int) -> Reply:
    return Reply(200, {"serverTime": now_ms})


def _invalid_symbol() -> Reply:
    return Reply(400, {"code": -1121, "msg": "Invalid symbol."})


_EDGE_500 = "<html><head><title>500 Internal Server Error</title></head><body></body></html>"
_EDGE_503 = "<html><head><title>503 Service Unavailable</title></head><body></body></html>"

WIRE = WireFormat(
    exchange="binance",
    endpoints={
        "/api/v3/exchangeInfo": Endpoint(exchange_info),
        "/api/v3/ticker/24hr": Endpoint(ticker_24hr, moves_prices=True),
        "/api/v3/ping": Endpoint(ping),
        "/api/v3/time": Endpoint(server_time),
        "/fapi/v1/exchangeInfo": Endpoint(futures_exchange_info),
        "/fapi/v1/ticker/24hr": Endpoint(futures_ticker_24hr),
        "/dapi/v1/exchangeInfo": Endpoint(futures_exchange_info),
        "/dapi/v1/ticker/24hr": Endpoint(futures_ticker_24hr),
    },
    errors={
        "http429": Reply(
            429,
            {
                "code": -1003,
                "msg": "Too many requests; current limit of IP(127.0.0.1) is 6000 requests per"
                " minute. Please use the websocket for live updates to avoid polling the API.",
            },
            headers={"Retry-After": "1"},
        ),
        # 5xx come from binance's edge as HTML (a JSON {"code":-1001} body would make
        # ccxt raise a plain, non-retryable ExchangeError instead of ExchangeNotAvailable).
        "http500": Reply(500, _EDGE_500, content_type="text/html"),
        "http503": Reply(503, _EDGE_503, content_type="text/html"),
    },
)
