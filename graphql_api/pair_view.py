"""A market against the same pair elsewhere: the second half of `Market.anomalous`.

A market is off its pair when its `last` is more than MM_ANOMALY_PCT percent from the
median `last` of the same symbol on the other enabled exchanges (active markets with a
positive price). The lasts of a page's symbols load in one statement per request.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable

from strawberry.dataloader import DataLoader

from graphql_api.context import Info

Lasts = list[tuple[int, float]]  # (exchange id, last) of the pair's markets
_MEMO_KEY = "pair_lasts"


def off_the_pair(
    last: float | None, exchange_id: int, others: Iterable[tuple[int, float]], threshold_pct: float
) -> bool:
    """True when `last` is more than `threshold_pct` % from the median of the others."""
    elsewhere = [price for exchange, price in others if exchange != exchange_id]
    if last is None or last <= 0 or not elsewhere:
        return False
    median = statistics.median(elsewhere)
    return abs(last - median) / median * 100 > threshold_pct


def pair_lasts(info: Info) -> DataLoader[str, Lasts]:
    """The request's loader of each symbol's lasts across enabled exchanges."""
    memo = info.context.memo
    if _MEMO_KEY not in memo:
        db = info.context.db

        async def load(symbols: list[str]) -> list[Lasts]:
            found: dict[str, Lasts] = defaultdict(list)
            for row in await db.fetch_all("api_pair_lasts", {"symbols": symbols}):
                found[row["symbol"]].append((row["exchange_id"], row["last"]))
            return [found[symbol] for symbol in symbols]

        memo[_MEMO_KEY] = DataLoader(load)
    loader: DataLoader[str, Lasts] = memo[_MEMO_KEY]
    return loader
