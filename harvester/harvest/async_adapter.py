"""The asyncio twin of `ExchangeAdapter`, on ``ccxt.async_support`` (aiohttp).

The daemon's workers use it so that a run waiting on the network holds no process: one
worker keeps several runs in flight, and an exchange that hangs until its request
timeout delays nobody else's run. Cancelling the task of a run abandons its request at
once (the connection is closed), which a thread or a sync call cannot do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import aiohttp
import ccxt
import ccxt.async_support as ccxt_async

from harvester.harvest.adapter import AdapterCore, Market, Ticker


class AsyncExchangeAdapter(AdapterCore):
    """``async with AsyncExchangeAdapter.from_row(row, settings) as adapter: …``"""

    def __init__(self, name: str, **options: Any) -> None:
        super().__init__(name, module=ccxt_async, **options)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.exchange.close()

    async def load_markets(self) -> dict[str, Market]:
        """The exchange's markets by symbol, fetched once and again when they are old."""
        if self._markets_are_old():
            with self._unparsable_is_bad_response("loadMarkets"):
                await self.exchange.load_markets(reload=True)
            return self._markets_loaded()
        return self.exchange.markets or {}

    async def fetch_tickers(self, symbols: Sequence[str] | None = None) -> list[Ticker]:
        """As `ExchangeAdapter.fetch_tickers`."""
        markets = await self.load_markets()
        with self._numbers_as_strings(), self._unparsable_is_bad_response(self.ticker_method):
            if self.ticker_method == "fetchTickers":
                return self._tickers_of(
                    await self.exchange.fetch_tickers(list(symbols) if symbols else None)
                )
            return [
                await self.exchange.fetch_ticker(symbol)
                for symbol in self._symbols_to_fetch(markets, symbols)
            ]

    async def _fetch_json(
        self, url: str, method: str = "GET", headers: Any = None, body: Any = None
    ) -> Any:
        try:
            response = await self._http_fetch(url, method, headers, body)
        except ccxt.ExchangeError as error:
            # The sync client calls a body cut short a NetworkError; ccxt's aiohttp client
            # a plain ExchangeError (not retryable). It is the network's fault: say so.
            if isinstance(error.__cause__, aiohttp.ClientPayloadError):
                raise ccxt.NetworkError(
                    f"{self.name} {method} {url}: the response was cut short"
                ) from error.__cause__
            raise
        return self._checked_body(response, url, method)
