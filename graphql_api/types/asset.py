"""Query.asset: one pair across every enabled exchange (issue 10).

`figures` is the pure part: best bid and best ask (and where), the last price weighted
by base volume, the total USD volume and the spread between the best bid and best ask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import strawberry

from graphql_api import quality
from graphql_api.context import Info
from graphql_api.types.market import Market


@strawberry.type(description="A price and the exchange that quotes it.")
class Quote:
    price: float
    exchange: str


@dataclass(frozen=True, slots=True)
class Figures:
    best_bid: Quote | None
    best_ask: Quote | None
    vwap: float | None
    volume_usd: float | None


def figures(rows: Sequence[dict[str, Any]]) -> Figures:
    """The cross-exchange figures of one pair's markets (rows with ``exchange_name``, in
    the order that breaks ties: by exchange name).

    Prices that are missing or not positive are left out. `vwap` weighs each `last` by
    its base volume; `volume_usd` sums what is known (None when nothing is).
    """
    bids = [(r["bid"], r["exchange_name"]) for r in rows if r["bid"] and r["bid"] > 0]
    asks = [(r["ask"], r["exchange_name"]) for r in rows if r["ask"] and r["ask"] > 0]
    best_bid = max(bids, key=lambda bid: bid[0], default=None)  # the first of equals
    best_ask = min(asks, key=lambda ask: ask[0], default=None)
    weighed = [
        (r["last"], r["base_volume"])
        for r in rows
        if r["last"] is not None and r["base_volume"] and r["base_volume"] > 0
    ]
    weight = sum(volume for _, volume in weighed)
    usd = [r["volume_usd"] for r in rows if r["volume_usd"] is not None]
    return Figures(
        best_bid=Quote(price=best_bid[0], exchange=best_bid[1]) if best_bid else None,
        best_ask=Quote(price=best_ask[0], exchange=best_ask[1]) if best_ask else None,
        vwap=sum(last * volume for last, volume in weighed) / weight if weight else None,
        volume_usd=sum(usd) if usd else None,
    )


@strawberry.type(description="One pair (e.g. BTC/USDT) across every enabled exchange.")
class Asset:
    symbol: str
    markets: list[Market] = strawberry.field(
        description="The active markets of the pair on enabled exchanges, by exchange name."
    )
    best_bid: Quote | None = strawberry.field(description="The highest bid, and where.")
    best_ask: Quote | None = strawberry.field(description="The lowest ask, and where.")
    vwap: float | None = strawberry.field(description="`last` weighted by base volume.")
    volume_usd: float | None = strawberry.field(description="The sum of the markets' USD volume.")
    spread_pct: float | None = strawberry.field(
        description="(best ask − best bid) / mid × 100; negative when the books cross."
    )


async def find_asset(info: Info, symbol: str) -> Asset | None:
    rows = await info.context.db.fetch_all("api_asset_markets", {"symbol": symbol})
    if not rows:
        return None
    found = figures(rows)
    return Asset(
        symbol=symbol,
        markets=[Market.from_row(row) for row in rows],
        best_bid=found.best_bid,
        best_ask=found.best_ask,
        vwap=found.vwap,
        volume_usd=found.volume_usd,
        spread_pct=quality.spread_pct(
            found.best_bid.price if found.best_bid else None,
            found.best_ask.price if found.best_ask else None,
        ),
    )
