"""End-to-end harvest throughput against the simulator, over ccxt alone on the same responses.

The simulator runs in its own process (``python -m simulator``) with 5,000
markets for binance and kraken. Ours: `harvester.harvest.pipeline.harvest_exchange` (fetch and
parse with ccxt, map to rows, USD volumes, the whole write path into PostgreSQL),
3 rounds × 2 exchanges = 30,000 markets. Baseline, interleaved in the same run: a plain
ccxt instance of the same exchange fetching and parsing the same endpoint
(``fetch_tickers()``). Markets are loaded before timing on both sides, and ccxt's rate
limiter is off on both (it would only add sleeps). Prints both rates (markets/s) and
``ratio: ours/baseline``.
"""

from __future__ import annotations

from benchkit import (
    Stopwatch,
    plain_ccxt,
    print_ratio,
    report,
    scratch_database,
    simulator_process,
)

from harvester.harvest import runs
from harvester.harvest.adapter import ExchangeAdapter
from harvester.harvest.pipeline import harvest_exchange
from marketmanager import db
from marketmanager.settings import Settings

MARKETS = 5000
ROUNDS = 3
EXCHANGES = ("binance", "kraken")


def main() -> None:
    settings = Settings(request_timeout=60.0)
    ours, baseline = Stopwatch(), Stopwatch()
    harvested = fetched = 0
    with (
        scratch_database("mm_bench_harvest") as url,
        simulator_process(MARKETS) as sim_url,
        db.connect(url, autocommit=True) as conn,
    ):
        sides = []
        for name in EXCHANGES:
            api_url = f"{sim_url}/{name}"
            row = conn.execute(
                "INSERT INTO exchanges (name, api_url) VALUES (%s, %s) RETURNING *",
                (name, api_url),
            ).fetchone()
            assert row is not None
            adapter = ExchangeAdapter.from_row(row, settings, enable_rate_limit=False)
            adapter.load_markets()
            sides.append((row, adapter, plain_ccxt(name, api_url)))
        for _ in range(ROUNDS):
            for row, adapter, exchange in sides:
                run = runs.create_run(conn, row["id"], running=True, node="bench", worker="w")
                with ours:
                    result = harvest_exchange(conn, adapter, row, run.id)
                assert result.succeeded, result.error
                harvested += result.markets
                with baseline:
                    fetched += len(exchange.fetch_tickers())
        for _, adapter, exchange in sides:
            adapter.close()
            exchange.close()
    print(f"{ROUNDS} rounds × {', '.join(EXCHANGES)} × {MARKETS} markets, simulator on loopback")
    our_rate = report(
        "harvest (ccxt + rows + USD + write path)", harvested, ours.seconds, "markets"
    )
    base_rate = report("ccxt fetch_tickers alone", fetched, baseline.seconds, "markets")
    print_ratio(our_rate, base_rate)


if __name__ == "__main__":
    main()
