"""End-to-end harvest throughput against the simulator, over ccxt alone on the same responses.

The simulator runs in its own process (``python -m simulator``) with 5,000 markets for
binance and kraken; 3 rounds × 2 exchanges = 30,000 markets each side. Markets are
loaded before timing on both sides, and ccxt's rate limiter is off on both (it would
only add sleeps). Each round times ours, then the baseline (interleaved against drift).

By default both sides work as the daemon's worker does, on ccxt's asyncio client with
the round's two exchanges in flight together. Ours: `harvest_exchange_async` for each
(fetch and parse with ccxt, map to rows, USD volumes, the whole write path into
PostgreSQL in a thread), so that one exchange's write overlaps the other's fetch and
parse. Baseline: a plain ``ccxt.async_support`` instance of each exchange fetching and
parsing the same endpoint (``fetch_tickers()``), both gathered the same way.

``--sequential``: the shape of ``marketmanager harvest``: sync ccxt, one exchange after
the other, `harvest_exchange` against a plain sync ``fetch_tickers()``; nothing overlaps.

Prints both rates (markets/s) and ``ratio: ours/baseline``.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import ccxt.async_support as ccxt_async
from benchkit import (
    Stopwatch,
    plain_ccxt,
    print_ratio,
    report,
    scratch_database,
    simulator_process,
)

from harvester.harvest import runs
from harvester.harvest.adapter import ExchangeAdapter, rewrite_api_urls
from harvester.harvest.async_adapter import AsyncExchangeAdapter
from harvester.harvest.pipeline import harvest_exchange, harvest_exchange_async
from marketmanager import db
from marketmanager.settings import Settings

MARKETS = 5000
ROUNDS = 3
EXCHANGES = ("binance", "kraken")
SETTINGS = Settings(request_timeout=60.0, exchange_rate_limit=False)


class Tally:
    def __init__(self) -> None:
        self.ours, self.baseline = Stopwatch(), Stopwatch()
        self.harvested = self.fetched = 0


def sequential(conn: Any, rows: list[dict[str, Any]], sim_url: str, tally: Tally) -> None:
    sides = []
    for row in rows:
        adapter = ExchangeAdapter.from_row(row, SETTINGS)
        adapter.load_markets()
        sides.append((row, adapter, plain_ccxt(row["name"], row["api_url"])))
    for _ in range(ROUNDS):
        for row, adapter, exchange in sides:
            run = runs.create_run(conn, row["id"], running=True, node="bench", worker="w")
            with tally.ours:
                result = harvest_exchange(conn, adapter, row, run.id)
            assert result.succeeded, result.error
            tally.harvested += result.markets
            with tally.baseline:
                tally.fetched += len(exchange.fetch_tickers())
    for _, adapter, exchange in sides:
        adapter.close()
        exchange.close()


async def plain_async_ccxt(name: str, api_url: str) -> Any:
    exchange = getattr(ccxt_async, name)({"enableRateLimit": False, "timeout": 60_000})
    exchange.urls["api"] = rewrite_api_urls(exchange.urls["api"], api_url)
    await exchange.load_markets()
    return exchange


async def concurrent(url: str, conn: Any, rows: list[dict[str, Any]], tally: Tally) -> None:
    pool = db.create_pool(url, min_size=2, max_size=4)  # as a worker's
    adapters = [AsyncExchangeAdapter.from_row(row, SETTINGS) for row in rows]
    plain = [await plain_async_ccxt(row["name"], row["api_url"]) for row in rows]
    try:
        for adapter in adapters:
            await adapter.load_markets()
        for _ in range(ROUNDS):
            run_ids = [
                runs.create_run(conn, row["id"], running=True, node="bench", worker="w").id
                for row in rows
            ]
            with tally.ours:
                results = await asyncio.gather(
                    *(
                        harvest_exchange_async(pool, adapter, row, run_id)
                        for adapter, row, run_id in zip(adapters, rows, run_ids, strict=True)
                    )
                )
            for result in results:
                assert result.succeeded, result.error
                tally.harvested += result.markets
            with tally.baseline:
                fetched = await asyncio.gather(*(exchange.fetch_tickers() for exchange in plain))
            tally.fetched += sum(map(len, fetched))
    finally:
        for closing in (*adapters, *plain):
            await closing.close()
        pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", action="store_true", help="marketmanager harvest's shape")
    args = parser.parse_args()
    tally = Tally()
    with (
        scratch_database("mm_bench_harvest") as url,
        simulator_process(MARKETS) as sim_url,
        db.connect(url, autocommit=True) as conn,
    ):
        rows = []
        for name in EXCHANGES:
            row = conn.execute(
                "INSERT INTO exchanges (name, api_url) VALUES (%s, %s) RETURNING *",
                (name, f"{sim_url}/{name}"),
            ).fetchone()
            assert row is not None
            rows.append(row)
        if args.sequential:
            sequential(conn, rows, sim_url, tally)
        else:
            asyncio.run(concurrent(url, conn, rows, tally))
    shape = "sync, one after the other" if args.sequential else "asyncio, exchanges together"
    print(
        f"{ROUNDS} rounds × {', '.join(EXCHANGES)} × {MARKETS} markets, simulator on"
        f" loopback ({shape})"
    )
    our_rate = report(
        "harvest (ccxt + rows + USD + write path)", tally.harvested, tally.ours.seconds, "markets"
    )
    base_rate = report("ccxt fetch_tickers alone", tally.fetched, tally.baseline.seconds, "markets")
    print_ratio(our_rate, base_rate)


if __name__ == "__main__":
    main()
