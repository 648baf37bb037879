"""The inputs of the mutations."""

from __future__ import annotations

import datetime as dt

import strawberry

DEFAULT_INTERVAL_SECONDS = 60


@strawberry.input
class CreateExchangeInput:
    name: str = strawberry.field(description="A ccxt exchange id, e.g. binance.")
    enabled: bool = True
    interval_seconds: int = strawberry.field(
        default=DEFAULT_INTERVAL_SECONDS, description="Seconds between harvests, 10 … 86400."
    )
    api_url: str | None = strawberry.field(
        default=None, description="Send ccxt's requests here (admin scope)."
    )
    url: str | None = strawberry.field(default=None, description="Default: ccxt's www URL.")
    logo: str | None = strawberry.field(default=None, description="Default: ccxt's logo URL.")


@strawberry.input(description="Only the fields given change; apiUrl: null clears it.")
class UpdateExchangeInput:
    enabled: bool | None = strawberry.UNSET
    interval_seconds: int | None = strawberry.UNSET
    api_url: str | None = strawberry.field(default=strawberry.UNSET, description="Admin scope.")
    url: str | None = strawberry.UNSET
    logo: str | None = strawberry.UNSET
    candle_timeframes: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Keep these candle timeframes current; [] stops."
    )


@strawberry.input(description="What to backfill: candles of one timeframe since a time.")
class BackfillInput:
    exchange: str
    timeframe: str = strawberry.field(description="1m, 5m, 15m, 1h, 4h or 1d.")
    since: dt.datetime
    symbols: list[str] = strawberry.field(
        default_factory=list, description="Default: the exchange's top pairs by USD volume."
    )
    top: int = strawberry.field(default=10, description="How many top pairs, without symbols.")
