"""``python -m marketmanager.ccxt_probe``: what ccxt says of every exchange, as JSON.

Run by `marketmanager.exchange_catalogue` in a child process; the only core module that
imports ccxt. One object per exchange: id, name, url, logo, fetch_tickers, fetch_ticker.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

import ccxt


def _first_text(value: Any) -> str | None:
    """A URL from ccxt's ``urls`` entries, which are strings, lists or dicts of them."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return next((item for item in value if isinstance(item, str)), None)
    return None


def describe(exchange_id: str) -> dict[str, Any]:
    instance = getattr(ccxt, exchange_id)()
    try:
        has, urls = instance.has, instance.urls
        return {
            "id": exchange_id,
            "name": str(instance.name or exchange_id),
            "url": _first_text(urls.get("www")),
            "logo": _first_text(urls.get("logo")),
            "fetch_tickers": bool(has.get("fetchTickers")),
            "fetch_ticker": bool(has.get("fetchTicker")),
        }
    finally:
        instance.close()


def main() -> int:
    json.dump([describe(exchange_id) for exchange_id in ccxt.exchanges], sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
