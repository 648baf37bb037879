"""The types every wire format shares: endpoints, replies, error bodies."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from simulator.model import ExchangeModel

JSON = "application/json"


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer before encoding: `body` is JSON-serialisable, or `str` for text."""

    status: int
    body: object
    content_type: str = JSON
    headers: Mapping[str, str] = field(default_factory=dict)


Render = Callable[[ExchangeModel, Mapping[str, str], int], Reply]
"""(model, query parameters, server time in ms) → reply."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    render: Render
    moves_prices: bool = False  # a tickers endpoint: the walk takes a step first


@dataclass(frozen=True, slots=True)
class WireFormat:
    exchange: str
    endpoints: Mapping[str, Endpoint]
    errors: Mapping[str, Reply]  # "http429", "http500", "http503" → the exchange's answer


def not_found(path: str) -> Reply:
    """What any unknown path gets."""
    return Reply(404, {"error": "not found", "path": path})
