"""Kraken's public REST bodies, as ccxt 4.5 reads them.

ccxt's ``load_markets()`` calls ``/0/public/Assets`` (currencies) then
``/0/public/AssetPairs``; ``fetch_tickers()`` calls ``/0/public/Ticker`` with no pair.
Like the real exchange, legacy assets keep their X/Z-prefixed ids (``XXBT``, ``ZUSD``,
``XXDG``…) and pairs of two legacy assets their concatenated id (``XXBTZUSD``); ccxt
maps them back to BTC, USD, DOGE through ``altname`` and its commonCurrencies.
Every answer is ``{"error": [...], "result": ...}``, errors included.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from simulator.model import ExchangeModel, Ticker
from simulator.universe import Market
from simulator.wire.base import Endpoint, Reply, WireFormat

# unified code → (kraken asset id, altname)
LEGACY_ASSETS: dict[str, tuple[str, str]] = {
    "BTC": ("XXBT", "XBT"),
    "ETH": ("XETH", "ETH"),
    "LTC": ("XLTC", "LTC"),
    "XRP": ("XXRP", "XRP"),
    "XLM": ("XXLM", "XLM"),
    "DOGE": ("XXDG", "XDG"),
    "USD": ("ZUSD", "USD"),
    "EUR": ("ZEUR", "EUR"),
}
FIAT = frozenset({"USD", "EUR"})
TAKER_FEES = [[0, 0.26], [50000, 0.24], [100000, 0.22], [250000, 0.2], [500000, 0.18]]
MAKER_FEES = [[0, 0.16], [50000, 0.14], [100000, 0.12], [250000, 0.1], [500000, 0.08]]


def asset_id(code: str) -> str:
    return LEGACY_ASSETS.get(code, (code, code))[0]


def altname(code: str) -> str:
    return LEGACY_ASSETS.get(code, (code, code))[1]


def pair_id(market: Market) -> str:
    """``XXBTZUSD`` for two legacy assets, else the altname (``XBTUSDT``, ``SOLUSD``)."""
    if market.base in LEGACY_ASSETS and market.quote in LEGACY_ASSETS:
        return asset_id(market.base) + asset_id(market.quote)
    return pair_altname(market)


def pair_altname(market: Market) -> str:
    return altname(market.base) + altname(market.quote)


def _ok(result: object) -> Reply:
    return Reply(200, {"error": [], "result": result})


def _error(message: str, status: int = 200) -> Reply:
    return Reply(status, {"error": [message]})


def _price(value: Decimal, decimals: int) -> str:
    return f"{value:.{max(decimals, 5)}f}"


def _volume(value: Decimal) -> str:
    return f"{value:.8f}"


def _wanted(query: Mapping[str, str], key: str) -> list[str] | None:
    raw = query.get(key)
    return [part for part in raw.split(",") if part] if raw else None


def _asset_info(code: str) -> dict[str, object]:
    fiat = code in FIAT
    return {
        "aclass": "currency",
        "altname": altname(code),
        "decimals": 4 if fiat else 10,
        "display_decimals": 2 if fiat else 5,
        "collateral_value": 1.0 if code in {"USD", "EUR", "USDT", "USDC", "BTC", "ETH"} else 0.5,
        "status": "enabled",
    }


def assets(model: ExchangeModel, query: Mapping[str, str], now_ms: int) -> Reply:
    by_id = {asset_id(code): code for code in model.universe.assets}
    by_id.update({altname(code): code for code in model.universe.assets})
    wanted = _wanted(query, "asset")
    if wanted is not None and any(name not in by_id for name in wanted):
        return _error("EQuery:Unknown asset")
    codes = model.universe.assets if wanted is None else [by_id[name] for name in wanted]
    return _ok({asset_id(code): _asset_info(code) for code in codes})


def _pair_info(market: Market) -> dict[str, object]:
    margin = market.quote in {"USD", "EUR", "USDT"} and market.base in LEGACY_ASSETS
    tick = Decimal(1).scaleb(-market.price_decimals)
    return {
        "altname": pair_altname(market),
        "wsname": f"{altname(market.base)}/{altname(market.quote)}",
        "aclass_base": "currency",
        "base": asset_id(market.base),
        "aclass_quote": "currency",
        "quote": asset_id(market.quote),
        "lot": "unit",
        "cost_decimals": 5,
        "pair_decimals": market.price_decimals,
        "lot_decimals": 8,
        "lot_multiplier": 1,
        "leverage_buy": [2, 3] if margin else [],
        "leverage_sell": [2, 3] if margin else [],
        "fees": TAKER_FEES,
        "fees_maker": MAKER_FEES,
        "fee_volume_currency": "ZUSD",
        "margin_call": 80,
        "margin_stop": 40,
        "ordermin": f"{Decimal(1).scaleb(-market.volume_decimals):f}",
        "costmin": "0.5",
        "tick_size": f"{tick:f}",
        "status": "online",
    }


def _select(model: ExchangeModel, query: Mapping[str, str]) -> list[int] | None:
    """Indexes of the markets named by ``pair=`` (ids or altnames); None if one is unknown."""
    wanted = _wanted(query, "pair")
    if wanted is None:
        return list(range(len(model.markets)))
    index: dict[str, int] = {}
    for position, market in enumerate(model.markets):
        index[pair_id(market)] = position
        index[pair_altname(market)] = position
    if any(name not in index for name in wanted):
        return None
    return [index[name] for name in wanted]


def asset_pairs(model: ExchangeModel, query: Mapping[str, str], now_ms: int) -> Reply:
    selected = _select(model, query)
    if selected is None:
        return _error("EQuery:Unknown asset pair")
    markets = [model.markets[position] for position in selected]
    return _ok({pair_id(market): _pair_info(market) for market in markets})


def ticker_entry(market: Market, ticker: Ticker) -> dict[str, object]:
    decimals = market.price_decimals
    trades = max(1, int(ticker.base_volume) % 50_000 + 11)
    today = ticker.base_volume * Decimal("0.4")
    return {
        "a": [_price(ticker.ask, decimals), "2", "2.000"],
        "b": [_price(ticker.bid, decimals), "3", "3.000"],
        "c": [_price(ticker.last, decimals), _volume(Decimal(1).scaleb(-market.volume_decimals))],
        "v": [_volume(today), _volume(ticker.base_volume)],
        "p": [_price(ticker.vwap, decimals), _price(ticker.vwap, decimals)],
        "t": [trades // 3, trades],
        "l": [_price(ticker.low, decimals), _price(ticker.low, decimals)],
        "h": [_price(ticker.high, decimals), _price(ticker.high, decimals)],
        "o": _price(ticker.open, decimals),
    }


def ticker(model: ExchangeModel, query: Mapping[str, str], now_ms: int) -> Reply:
    selected = _select(model, query)
    if selected is None:
        return _error("EQuery:Unknown asset pair")
    return _ok(
        {
            pair_id(model.markets[i]): ticker_entry(model.markets[i], model.tickers[i])
            for i in selected
        }
    )


def server_time(model: ExchangeModel, query: Mapping[str, str], now_ms: int) -> Reply:
    return _ok({"unixtime": now_ms // 1000})


def system_status(model: ExchangeModel, query: Mapping[str, str], now_ms: int) -> Reply:
    return _ok({"status": "online"})


WIRE = WireFormat(
    exchange="kraken",
    endpoints={
        "/0/public/Assets": Endpoint(assets),
        "/0/public/AssetPairs": Endpoint(asset_pairs),
        "/0/public/Ticker": Endpoint(ticker, moves_prices=True),
        "/0/public/Time": Endpoint(server_time),
        "/0/public/SystemStatus": Endpoint(system_status),
    },
    errors={
        "http429": _error("EAPI:Rate limit exceeded", 429),
        "http500": _error("EGeneral:Internal error", 500),
        "http503": _error("EService:Unavailable", 503),
    },
)
