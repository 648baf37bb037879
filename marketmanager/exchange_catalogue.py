"""What ccxt knows about exchanges: their ids, names, websites, logos, ticker methods.

The catalogue is read once per process from a child process (`marketmanager.ccxt_probe`),
so that the process asking (the API) never loads ccxt's exchange classes. Offline: ccxt
instances are built and closed there, never connected.
"""

from __future__ import annotations

import difflib
import functools
import json
import subprocess
import sys
from dataclasses import dataclass

PROBE_TIMEOUT = 120.0  # seconds; the probe takes about one on an idle machine


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


@functools.cache
def catalogue() -> dict[str, ExchangeInfo]:
    """Every exchange this ccxt installation knows, by id (in ccxt's order)."""
    probe = subprocess.run(
        [sys.executable, "-m", "marketmanager.ccxt_probe"],
        capture_output=True,
        check=True,
        timeout=PROBE_TIMEOUT,
    )
    return {entry["id"]: ExchangeInfo(**entry) for entry in json.loads(probe.stdout)}


def supported_exchanges() -> list[str]:
    """Every ccxt id this installation knows."""
    return list(catalogue())


def suggest_exchange_ids(name: str, limit: int = 3) -> list[str]:
    """The ccxt ids closest to `name` (for "did you mean …")."""
    return difflib.get_close_matches(name.strip().lower(), list(catalogue()), n=limit, cutoff=0.6)


def describe_exchange(exchange_id: str) -> ExchangeInfo:
    """What ccxt says of `exchange_id`; KeyError when it is not a ccxt id."""
    return catalogue()[exchange_id]


def supports_tickers(exchange_id: str) -> bool:
    return describe_exchange(exchange_id).supports_tickers
