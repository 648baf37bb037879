"""Candle backfill throughput against the simulator, over ccxt alone paging the same candles.

The simulator runs in its own process. Ours: one backfill job (`harvester.candles.backfill`)
of 30 days of 1-minute candles for 20 binance markets: ccxt's `fetch_ohlcv` at binance's
1,000 per call, exact decimals, and the whole write path into PostgreSQL (COPY, upsert,
coverage, job progress). Baseline: a plain ccxt instance paging `fetch_ohlcv` over the
same markets and range, storing nothing. ccxt's rate limiter is off on both sides (it
would only add sleeps). Prints both rates (candles/s) and ``ratio: ours/baseline``.
"""

from __future__ import annotations

import datetime as dt

from benchkit import Stopwatch, print_ratio, report, scratch_database
from harvest import plain_ccxt, simulator_process

from harvester.candles.backfill import run_backfill
from harvester.candles.jobs import queue_backfill
from harvester.candles.source import CandleSource
from harvester.harvest.adapter import ExchangeAdapter
from marketmanager import db
from marketmanager.candles.timeframes import floor_ms, to_ms
from marketmanager.settings import Settings

MARKETS = 20
DAYS = 30
TIMEFRAME = "1m"
STEP_MS = 60_000


def ccxt_alone(exchange: object, symbols: list[str], since: int, until: int) -> int:
    """Page every symbol from `since` to `until` the way a script would; candles fetched."""
    fetched = 0
    for symbol in symbols:
        cursor = since
        while cursor < until:
            page = exchange.fetch_ohlcv(symbol, TIMEFRAME, cursor, 1000)  # type: ignore[attr-defined]
            kept = [row for row in page if row[0] < until]
            fetched += len(kept)
            if len(page) < 1000 or not kept:
                break
            cursor = kept[-1][0] + STEP_MS
    return fetched


def main() -> None:
    settings = Settings(request_timeout=60.0)
    ours, baseline = Stopwatch(), Stopwatch()
    with (
        scratch_database("mm_bench_backfill") as url,
        simulator_process(MARKETS) as sim_url,
        db.connect(url, autocommit=True) as conn,
    ):
        api_url = f"{sim_url}/binance"
        row = conn.execute(
            "INSERT INTO exchanges (name, api_url) VALUES ('binance', %s) RETURNING *", (api_url,)
        ).fetchone()
        assert row is not None
        adapter = ExchangeAdapter.from_row(row, settings, enable_rate_limit=False)
        symbols = sorted(adapter.load_markets())[:MARKETS]
        plain = plain_ccxt("binance", api_url)
        now = dt.datetime.now(dt.UTC)
        since = now - dt.timedelta(days=DAYS)
        with CandleSource(adapter) as source:
            job = queue_backfill(conn, row["id"], TIMEFRAME, since, symbols)
            claim = {"id": job["id"], "node": "bench", "worker": "bench"}
            claimed = db.fetch_one(conn, "claim_backfill_by_id", claim)
            assert claimed is not None
            with ours:
                result = run_backfill(conn, source, claimed, now=lambda: now)
            assert result.state == "SUCCEEDED", result.error
        start = -(-to_ms(since) // STEP_MS) * STEP_MS
        with baseline:
            fetched = ccxt_alone(plain, symbols, start, floor_ms(to_ms(now), TIMEFRAME))
        plain.close()
    print(
        f"{DAYS} days of {TIMEFRAME} candles × {MARKETS} binance markets, simulator on loopback,"
        f" {result.requests} requests"
    )
    our_rate = report(
        "backfill (ccxt + decimals + COPY/upsert)", result.candles, ours.seconds, "candles"
    )
    base_rate = report("ccxt fetch_ohlcv paging alone", fetched, baseline.seconds, "candles")
    print_ratio(our_rate, base_rate)


if __name__ == "__main__":
    main()
