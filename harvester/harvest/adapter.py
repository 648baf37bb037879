"""The ccxt adapter: one exchange row → a sync ccxt instance that loads markets and tickers.

Pure helpers (no network): `rewrite_api_urls` points every URL of ``urls['api']`` at an
exchange row's ``api_url`` (the local simulator, a proxy), and `classify_error` says
whether a failure is worth a retry. `ExchangeAdapter` (and its asyncio twin in
`harvester.harvest.async_adapter`) is what talks to an exchange. Names and user input
are checked in `marketmanager.exchange_input`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import ccxt

from marketmanager.exchange_input import InvalidExchange
from marketmanager.settings import Settings

Ticker = dict[str, Any]
Market = dict[str, Any]


def rewrite_url(url: str, api_url: str) -> str:
    """`url` with api_url's scheme, host and port, and api_url's path put before its path."""
    target = urlsplit(api_url)
    original = urlsplit(url)
    path = target.path.rstrip("/") + original.path
    return urlunsplit((target.scheme, target.netloc, path, original.query, original.fragment))


def rewrite_api_urls(urls: Any, api_url: str) -> Any:
    """A copy of ccxt's ``urls['api']`` (a string, or dicts/lists of them) rewritten."""
    if isinstance(urls, str):
        return rewrite_url(urls, api_url)
    if isinstance(urls, Mapping):
        return {key: rewrite_api_urls(value, api_url) for key, value in urls.items()}
    if isinstance(urls, list):
        return [rewrite_api_urls(value, api_url) for value in urls]
    return urls


def share_markets_by_id(exchange: Any) -> None:
    """Point ccxt's ``markets_by_id`` at the very markets of ``markets``.

    ccxt keeps each market twice: as parsed (``markets_by_id``, which ticker parsers look
    markets up in) and deep-copied with its defaults (``markets``, by symbol), the raw
    ``info`` of each included: ~10 MB per 5,000 markets. Either is the same market to a
    parser (the copy has the defaults filled in, as ``exchange.market(symbol)`` gives
    it), so the parsed ones can go. A market whose symbol names another (same symbol,
    another id) keeps its own."""
    by_symbol = exchange.markets or {}

    def shared(market: Market) -> Market:
        copy = by_symbol.get(market.get("symbol"))
        return copy if copy is not None and copy.get("id") == market.get("id") else market

    exchange.markets_by_id = {
        market_id: [shared(market) for market in markets]
        for market_id, markets in (exchange.markets_by_id or {}).items()
    }


# ---------------------------------------------------------------- errors


@dataclass(frozen=True, slots=True)
class Failure:
    """A run's failure as stored: ``error`` is one readable line, ``retryable`` a hint."""

    error: str
    retryable: bool


MAX_ERROR_LENGTH = 1000
MAX_CAUSE_LENGTH = 200


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or "(no message)"


def classify_error(error: BaseException) -> Failure:
    """Retryable: ccxt's NetworkError family (timeouts, 429, 5xx, DDoS protection) and
    BadResponse (a malformed or truncated body); every other error is not."""
    retryable = isinstance(error, (ccxt.NetworkError, ccxt.BadResponse))
    line = f"{type(error).__name__}: {_one_line(error)}"
    cause = error.__cause__
    if cause is not None and not isinstance(cause, ccxt.BaseError):
        line += f" ({type(cause).__name__}: {_one_line(cause)[:MAX_CAUSE_LENGTH]})"
    if len(line) > MAX_ERROR_LENGTH:
        line = line[: MAX_ERROR_LENGTH - 1] + "…"
    return Failure(line, retryable)


# ---------------------------------------------------------------- the adapters


class AdapterCore:
    """What the sync and the async adapter share: the ccxt instance of `module` (``ccxt``
    or ``ccxt.async_support``) pointed at the row's ``api_url``, the markets' age, and
    turning bodies ccxt cannot parse into `BadResponse`."""

    def __init__(
        self,
        name: str,
        *,
        module: Any = ccxt,
        api_url: str | None = None,
        request_timeout: float = 30.0,
        markets_refresh_seconds: float = 3600.0,
        enable_rate_limit: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        exchange_class = getattr(module, name, None)
        if name not in ccxt.exchanges or exchange_class is None:
            raise InvalidExchange(f"{name!r} is not a ccxt exchange id")
        self.name = name
        self.exchange: Any = exchange_class(
            {"enableRateLimit": enable_rate_limit, "timeout": int(request_timeout * 1000)}
        )
        if api_url:
            self.exchange.urls["api"] = rewrite_api_urls(self.exchange.urls["api"], api_url)
        self._http_fetch = self.exchange.fetch
        self.exchange.fetch = self._fetch_json  # ccxt's fetch2 calls it after throttling
        has = self.exchange.has
        self.ticker_method = "fetchTickers" if has.get("fetchTickers") else "fetchTicker"
        self.markets_refresh_seconds = markets_refresh_seconds
        self._clock = clock
        self._markets_loaded_at: float | None = None

    @classmethod
    def from_row(
        cls, row: Mapping[str, Any], settings: Settings, *, enable_rate_limit: bool | None = None
    ) -> Self:
        """The adapter of an ``exchanges`` row (a dict or anything with those keys).

        Turn `enable_rate_limit` off only against a local simulator (tests, benchmarks);
        it defaults to the setting (``MM_EXCHANGE_RATE_LIMIT``).
        """
        return cls(
            row["name"],
            api_url=row.get("api_url"),
            request_timeout=settings.request_timeout,
            markets_refresh_seconds=settings.markets_refresh_seconds,
            enable_rate_limit=(
                settings.exchange_rate_limit if enable_rate_limit is None else enable_rate_limit
            ),
        )

    def _fetch_json(
        self, url: str, method: str = "GET", headers: Any = None, body: Any = None
    ) -> Any:
        raise NotImplementedError

    def _markets_are_old(self) -> bool:
        now = self._clock()
        return (
            self._markets_loaded_at is None
            or now - self._markets_loaded_at >= self.markets_refresh_seconds
        )

    def _markets_loaded(self) -> dict[str, Market]:
        share_markets_by_id(self.exchange)
        self._markets_loaded_at = self._clock()
        return self.exchange.markets or {}

    def install_markets(self, markets: Sequence[Market]) -> None:
        """Use these markets (recorded ones, a test's) instead of fetching them."""
        self.exchange.set_markets(list(markets))
        self._markets_loaded()

    def _symbols_to_fetch(
        self, markets: Mapping[str, Market], symbols: Sequence[str] | None
    ) -> list[str]:
        """fetchTicker's symbols: the asked ones, else every market not marked inactive."""
        if symbols is not None:
            return list(symbols)
        return [s for s, m in markets.items() if m.get("active") is not False]

    def _tickers_of(self, result: Any) -> list[Ticker]:
        if not isinstance(result, Mapping):
            raise ccxt.BadResponse(f"{self.name} fetchTickers returned {type(result)}")
        return list(result.values())

    def _checked_body(self, response: Any, url: str, method: str) -> Any:
        """`response`, unless it starts like JSON but does not parse (cut or garbled): that
        is a `BadResponse` instead of a string handed to ccxt's parsers."""
        if isinstance(response, str) and response.lstrip()[:1] in ("{", "["):
            raise ccxt.BadResponse(
                f"{self.name} {method} {url} malformed JSON ({len(response)} bytes):"
                f" {response[:80]}"
            )
        return response

    @contextmanager
    def _unparsable_is_bad_response(self, method: str) -> Iterator[None]:
        """ccxt's parsers fail with plain Python errors on bodies of the wrong shape."""
        try:
            yield
        except ccxt.BaseError:
            raise
        except (TypeError, KeyError, ValueError, AttributeError, IndexError) as error:
            # classify_error() appends the cause: "(AttributeError: …)"
            raise ccxt.BadResponse(f"{self.name} {method}: a response ccxt cannot parse") from error

    @contextmanager
    def _numbers_as_strings(self) -> Iterator[None]:
        """ccxt gives floats; for tickers, keep its exact decimal strings instead."""
        previous = self.exchange.number
        self.exchange.number = str
        try:
            yield
        finally:
            self.exchange.number = previous


class ExchangeAdapter(AdapterCore):
    """A sync ccxt exchange with markets cached for `markets_refresh_seconds`.

    Close it (or use it as a context manager): ccxt keeps a requests session open.
    """

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.exchange.close()

    def load_markets(self) -> dict[str, Market]:
        """The exchange's markets by symbol, fetched once and again when they are old."""
        if self._markets_are_old():
            with self._unparsable_is_bad_response("loadMarkets"):
                self.exchange.load_markets(reload=True)
            return self._markets_loaded()
        return self.exchange.markets or {}

    def fetch_tickers(self, symbols: Sequence[str] | None = None) -> list[Ticker]:
        """Unified tickers of `symbols` (default: every listed market), numbers as strings.

        One ``fetch_tickers`` call where ccxt has it, else ``fetch_ticker`` per market
        (active ones only by default), spaced by ccxt's rate limiter.
        """
        markets = self.load_markets()
        with self._numbers_as_strings(), self._unparsable_is_bad_response(self.ticker_method):
            if self.ticker_method == "fetchTickers":
                return self._tickers_of(
                    self.exchange.fetch_tickers(list(symbols) if symbols else None)
                )
            return [self.exchange.fetch_ticker(s) for s in self._symbols_to_fetch(markets, symbols)]

    def _fetch_json(
        self, url: str, method: str = "GET", headers: Any = None, body: Any = None
    ) -> Any:
        return self._checked_body(self._http_fetch(url, method, headers, body), url, method)
