"""Candles from an exchange through ccxt: one `fetch_ohlcv` page at a time.

`CandleSource` wraps an `ExchangeAdapter` (so ccxt's rate limiter, the api_url rewrite and
the error classification are the harvest's own). Pages are asked at the exchange's own
per-call maximum (ccxt's ``features``: binance 1,000, kraken 720). Prices come back as
exact decimals; binance's quote volume, which ccxt's unified candle drops, is read from
the raw answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import ccxt

from harvester.candles.paging import DEFAULT_PAGE_LIMIT
from harvester.harvest.adapter import ExchangeAdapter
from marketmanager.candles.aggregate import Candle


def _binance_quote_volumes(raw: Any) -> dict[int, Decimal]:
    if not isinstance(raw, list):
        return {}
    return {int(row[0]): Decimal(str(row[7])) for row in raw if isinstance(row, list)}


QUOTE_VOLUMES: dict[str, Callable[[Any], dict[int, Decimal]]] = {
    "binance": _binance_quote_volumes,
}
"""Exchanges whose candles carry the quote volume: raw answer → {open time: volume}."""


BACKFILL_RATE_SHARE = 0.8
"""The share of an exchange's request rate (ccxt's ``rateLimit``) that a backfill takes.
ccxt's rate limiter is per ccxt instance: the backfill's (in the lane, or the command)
and the ticker workers' (other processes) do not see each other. Paced at 80 % of the
exchange's rate, a backfill leaves a fifth of it to the ticker harvests, whose few
requests per interval fit in it, so that the two together stay within the limit."""


def page_limit(exchange: ccxt.Exchange) -> int:
    """The most candles one `fetch_ohlcv` call returns on this exchange."""
    features = exchange.features if isinstance(exchange.features, Mapping) else {}
    spot = features.get("spot") or {}
    limit = (spot.get("fetchOHLCV") or {}).get("limit") if isinstance(spot, Mapping) else None
    return int(limit) if limit else DEFAULT_PAGE_LIMIT


def _decimal(value: Any) -> Decimal:
    # ccxt parsed the exchange's decimal strings into floats; the shortest repr of such
    # a float is that decimal again.
    return Decimal(str(value))


class CandleSource:
    """The candles of one exchange. Not thread-safe (one ccxt instance)."""

    def __init__(self, adapter: ExchangeAdapter) -> None:
        self.adapter = adapter
        self.name = adapter.name
        if adapter.exchange.enableRateLimit:
            adapter.exchange.rateLimit = adapter.exchange.rateLimit / BACKFILL_RATE_SHARE
        self.limit = page_limit(adapter.exchange)
        self.requests = 0
        self._last_raw: Any = None
        fetch = adapter.exchange.fetch

        def remember(*args: Any, **kwargs: Any) -> Any:
            self._last_raw = fetch(*args, **kwargs)
            return self._last_raw

        adapter.exchange.fetch = remember

    def __enter__(self) -> CandleSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.adapter.close()

    def markets(self) -> Mapping[str, Mapping[str, Any]]:
        return self.adapter.load_markets()

    def fetch_page(self, symbol: str, timeframe: str, since: int) -> list[Candle]:
        """The candles of `symbol` opening at or after `since` (at most `limit`)."""
        self.adapter.load_markets()
        self.requests += 1
        self._last_raw = None
        try:
            rows = self.adapter.exchange.fetch_ohlcv(symbol, timeframe, since, self.limit)
        except ccxt.BaseError:
            raise
        except (TypeError, KeyError, ValueError, AttributeError, IndexError) as error:
            raise ccxt.BadResponse(
                f"{self.name} fetchOHLCV: a response ccxt cannot parse"
            ) from error
        extract = QUOTE_VOLUMES.get(self.name)
        quotes = extract(self._last_raw) if extract is not None else {}
        return [
            Candle(
                int(row[0]),
                _decimal(row[1]),
                _decimal(row[2]),
                _decimal(row[3]),
                _decimal(row[4]),
                _decimal(row[5] or 0),
                quotes.get(int(row[0])),
            )
            for row in rows
        ]
