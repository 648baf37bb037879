"""Which exchanges can be harvested: ccxt ids, what ccxt says about them, users' input.

Pure and offline (ccxt instances are built and closed, never connected):
`check_exchange_name` refuses unknown ids (with the closest ones) and exchanges with
neither fetchTickers nor fetchTicker; `check_api_url` accepts http(s) URLs with a host.
The API's createExchange and ``marketmanager exchanges add`` both use them.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

import ccxt


class InvalidExchange(ValueError):
    """A name or URL that cannot make a usable exchange; the message says why."""


def supported_exchanges() -> list[str]:
    """Every ccxt id this installation knows."""
    return list(ccxt.exchanges)


def suggest_exchange_ids(name: str, limit: int = 3) -> list[str]:
    """The ccxt ids closest to `name` (for "did you mean …")."""
    return difflib.get_close_matches(name.strip().lower(), ccxt.exchanges, n=limit, cutoff=0.6)


@dataclass(frozen=True, slots=True)
class ExchangeInfo:
    """What ccxt says about an exchange, without any network."""

    id: str
    name: str
    url: str | None  # the exchange's website
    logo: str | None
    fetch_tickers: bool
    fetch_ticker: bool

    @property
    def supports_tickers(self) -> bool:
        return self.fetch_tickers or self.fetch_ticker


def _first_text(value: Any) -> str | None:
    """A URL from ccxt's ``urls`` entries, which are strings, lists or dicts of them."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return next((item for item in value if isinstance(item, str)), None)
    return None


def describe_exchange(exchange_id: str) -> ExchangeInfo:
    instance = getattr(ccxt, exchange_id)()
    try:
        has, urls = instance.has, instance.urls
        return ExchangeInfo(
            id=exchange_id,
            name=str(instance.name or exchange_id),
            url=_first_text(urls.get("www")),
            logo=_first_text(urls.get("logo")),
            fetch_tickers=bool(has.get("fetchTickers")),
            fetch_ticker=bool(has.get("fetchTicker")),
        )
    finally:
        instance.close()


def supports_tickers(exchange_id: str) -> bool:
    return describe_exchange(exchange_id).supports_tickers


def check_exchange_name(name: str) -> str:
    """`name` if it is a ccxt id whose tickers can be fetched; else `InvalidExchange`."""
    if name not in ccxt.exchanges:
        close = suggest_exchange_ids(name)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see `supportedExchanges`"
        raise InvalidExchange(f"{name!r} is not a ccxt exchange id{hint}")
    if not supports_tickers(name):
        raise InvalidExchange(
            f"{name!r} cannot be harvested: ccxt has neither fetchTickers nor fetchTicker for it"
        )
    return name


def _is_private_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


def check_http_url(url: str, what: str) -> SplitResult:
    """The parts of `url` if it is an http(s) URL with a host and a valid port (the one
    rule of apiUrl, url and logo); else `InvalidExchange` naming `what`."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises on a malformed or out-of-range port
    except ValueError:  # also a malformed bracketed host: "http://[::1", "https://[zz]/x"
        raise InvalidExchange(f"{what} {url!r} has an invalid host or port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidExchange(f"{what} must be an http(s) URL with a host, got {url!r}")
    return parts


def check_api_url(url: str, *, allow_private: bool = True) -> str:
    """`url` if it is an http(s) URL with a host (and, unless allowed, not a private one)."""
    parts = check_http_url(url, "api_url")
    if parts.query or parts.fragment:
        raise InvalidExchange(f"api_url must not have a query or fragment, got {url!r}")
    if not allow_private and _is_private_host(parts.hostname or ""):
        raise InvalidExchange(
            f"api_url {url!r} points at a private address (set MM_ALLOW_PRIVATE_API_URLS=1)"
        )
    return url.strip()
