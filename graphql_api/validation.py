"""Checks of mutation input, each failing with BAD_USER_INPUT naming the input field.

Exchange ids and apiUrl are checked by the harvester's own rules (`harvester.catalog`),
so that the API and ``marketmanager exchanges add`` accept the same things.
"""

from __future__ import annotations

import asyncio

from graphql_api.errors import BadUserInput
from harvester.catalog import (
    ExchangeInfo,
    InvalidExchange,
    check_api_url,
    check_exchange_name,
    check_http_url,
    describe_exchange,
    suggest_exchange_ids,
)

MIN_INTERVAL_SECONDS = 10
MAX_INTERVAL_SECONDS = 86_400
MAX_URL_LENGTH = 2048


async def harvestable_exchange(name: str) -> tuple[str, ExchangeInfo]:
    """`name` if ccxt can harvest it, with what ccxt says of it; else BAD_USER_INPUT with
    the closest ids in ``extensions.suggestions``. ccxt builds an instance: in a thread."""

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
    if value is None or not MIN_INTERVAL_SECONDS <= value <= MAX_INTERVAL_SECONDS:
        raise BadUserInput(
            f"intervalSeconds must be from {MIN_INTERVAL_SECONDS} to {MAX_INTERVAL_SECONDS} "
            f"(1 day), got {value}",
            field="intervalSeconds",
        )
    return value


def web_url(value: str | None, field: str) -> str | None:
    """None, or an http(s) URL with a host (a website or a logo), by apiUrl's rule."""
    if value is None:
        return None
    if len(value) > MAX_URL_LENGTH:
        raise BadUserInput(f"{field} is too long", field=field)
    try:
        check_http_url(value, field)
    except InvalidExchange as error:
        raise BadUserInput(str(error), field=field) from None
    return value.strip()


def api_url(value: str | None, *, allow_private: bool) -> str | None:
    if value is None:
        return None
    if len(value) > MAX_URL_LENGTH:
        raise BadUserInput("apiUrl is too long", field="apiUrl")
    try:
        return check_api_url(value, allow_private=allow_private)
    except InvalidExchange as error:
        raise BadUserInput(str(error).replace("api_url", "apiUrl"), field="apiUrl") from None


def enabled(value: bool | None) -> bool:
    if value is None:
        raise BadUserInput("enabled cannot be null", field="enabled")
    return value
