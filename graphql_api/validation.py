"""Checks of mutation input, each failing with BAD_USER_INPUT naming the input field.

Exchange ids, intervals and apiUrl are checked by `marketmanager.exchange_input`, so
that the API and ``marketmanager exchanges add`` accept the same things.
"""

from __future__ import annotations

import asyncio

from graphql_api.errors import BadUserInput
from marketmanager.exchange_catalogue import (
    ExchangeInfo,
    describe_exchange,
    suggest_exchange_ids,
)
from marketmanager.exchange_input import (
    InvalidExchange,
    check_api_url,
    check_exchange_name,
    check_http_url,
    check_interval,
)


async def harvestable_exchange(name: str) -> tuple[str, ExchangeInfo]:
    """`name` if ccxt can harvest it, with what ccxt says of it; else BAD_USER_INPUT with
    the closest ids in ``extensions.suggestions``. The first call reads the catalogue from
    a child process: in a thread."""

    def check() -> tuple[str, ExchangeInfo]:
        checked = check_exchange_name(name)
        return checked, describe_exchange(checked)

    try:
        return await asyncio.to_thread(check)
    except InvalidExchange as error:
        raise BadUserInput(
            str(error), field="name", suggestions=suggest_exchange_ids(name)
        ) from None


def interval_seconds(value: int | None) -> int:
    try:
        return check_interval(value, "intervalSeconds")
    except InvalidExchange as error:
        raise BadUserInput(str(error), field="intervalSeconds") from None


def web_url(value: str | None, field: str) -> str | None:
    """None, or an http(s) URL with a host (a website or a logo), by apiUrl's rule."""
    if value is None:
        return None
    try:
        check_http_url(value, field)
    except InvalidExchange as error:
        raise BadUserInput(str(error), field=field) from None
    return value.strip()


def api_url(value: str | None, *, allow_private: bool) -> str | None:
    if value is None:
        return None
    try:
        return check_api_url(value, allow_private=allow_private, field="apiUrl")
    except InvalidExchange as error:
        raise BadUserInput(str(error), field="apiUrl") from None


def enabled(value: bool | None) -> bool:
    if value is None:
        raise BadUserInput("enabled cannot be null", field="enabled")
    return value
