"""The rules for an exchange given by a user: its name, harvest interval and apiUrl.

``marketmanager exchanges add`` and the API's createExchange/updateExchange both check
their input here, so that they accept the same things; each rule raises
`InvalidExchange` with a message naming the field as the caller calls it.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, urlsplit

from marketmanager import exchange_catalogue

MIN_INTERVAL_SECONDS = 10
MAX_INTERVAL_SECONDS = 86_400
MAX_URL_LENGTH = 2048


class InvalidExchange(ValueError):
    """A name or URL that cannot make a usable exchange; the message says why."""


def check_exchange_name(name: str) -> str:
    """`name` if it is a ccxt id whose tickers can be fetched; else `InvalidExchange`."""
    if name not in exchange_catalogue.catalogue():
        close = exchange_catalogue.suggest_exchange_ids(name)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see `supportedExchanges`"
        raise InvalidExchange(f"{name!r} is not a ccxt exchange id{hint}")
    if not exchange_catalogue.supports_tickers(name):
        raise InvalidExchange(
            f"{name!r} cannot be harvested: ccxt has neither fetchTickers nor fetchTicker for it"
        )
    return name


def check_interval(value: object, field: str = "interval") -> int:
    """Seconds between harvests: a whole number from 10 to 86,400 (text or int)."""
    try:
        seconds = int(value) if isinstance(value, (int, str)) else 0
    except ValueError:
        seconds = 0
    if seconds <= 0:
        raise InvalidExchange(f"{field} must be a whole number of seconds above 0, got {value!r}")
    if not MIN_INTERVAL_SECONDS <= seconds <= MAX_INTERVAL_SECONDS:
        raise InvalidExchange(
            f"{field} must be from {MIN_INTERVAL_SECONDS} to {MAX_INTERVAL_SECONDS} "
            f"(1 day), got {seconds}"
        )
    return seconds


def _is_private_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


def check_http_url(url: str, field: str) -> SplitResult:
    """The parts of `url` if it is an http(s) URL with a host and a valid port (the one
    rule of apiUrl, url and logo); else `InvalidExchange` naming `field`."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidExchange(f"{field} is too long")
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises on a malformed or out-of-range port
    except ValueError:  # also a malformed bracketed host: "http://[::1", "https://[zz]/x"
        raise InvalidExchange(f"{field} {url!r} has an invalid host or port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidExchange(f"{field} must be an http(s) URL with a host, got {url!r}")
    return parts


def check_api_url(url: str, *, allow_private: bool = True, field: str = "api_url") -> str:
    """`url` if it is an http(s) URL with a host (and, unless allowed, not a private one)."""
    parts = check_http_url(url, field)
    if parts.query or parts.fragment:
        raise InvalidExchange(f"{field} must not have a query or fragment, got {url!r}")
    if not allow_private and _is_private_host(parts.hostname or ""):
        raise InvalidExchange(
            f"{field} {url!r} points at a private address (set MM_ALLOW_PRIVATE_API_URLS=1)"
        )
    return url.strip()
