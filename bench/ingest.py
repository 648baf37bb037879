"""Write-path throughput: 200,000 tickers through `harvester.harvest.write.write_run`.

20 exchanges × 5,000 markets × 2 runs (the first inserts the markets, the second
updates them in place; both append history), each run one transaction with COPY into
a temporary table, the upsert into ``markets``, the insert into ``market_ticks``, the
delisting check, the exchange's aggregates and the run row. Baseline, in the same
database and run: the same rows, 40 transactions as well, by plain binary COPY into an
UNLOGGED table with no index. Prints both rates (rows/s) and ``ratio: ours/baseline``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from benchkit import Stopwatch, print_ratio, report, scratch_database

from harvester.harvest import runs, write
from harvester.harvest.tickers import MarketRow
from harvester.harvest.volume import VolumeSummary, summarize
from marketmanager import db
from simulator import ExchangeModel, generate_universe

EXCHANGES = 20
MARKETS = 5000
RUNS = 2

# the write path's columns and types, plus the exchange id
BASELINE_COLUMNS = ", ".join(
    f"{column} {kind}"
    for column, kind in zip(write.STAGED_COLUMNS, write.STAGING_TYPES, strict=True)
)
BASELINE_TABLE = f"CREATE UNLOGGED TABLE copy_baseline (exchange_id bigint, {BASELINE_COLUMNS})"
BASELINE_COPY = "COPY copy_baseline FROM STDIN (FORMAT BINARY)"
BASELINE_TYPES = ["int8", *write.STAGING_TYPES]


def market_rows(model: ExchangeModel, now: dt.datetime) -> list[MarketRow]:
    rows = []
    for market, ticker in zip(model.markets, model.tickers, strict=True):
        change = ((ticker.last - ticker.open) * 100 / ticker.open).quantize(Decimal("0.001"))
        rows.append(
            MarketRow(
                market.symbol,
                market.base,
                market.quote,
                "spot",
                True,
                ticker.last,
                ticker.bid,
                ticker.ask,
                ticker.base_volume,
                ticker.quote_volume,
                change,
                now,
            )
        )
    return rows


def batches(now: dt.datetime) -> list[tuple[list[MarketRow], VolumeSummary]]:
    """One (rows, summary) per run: the same listing, prices moved between runs."""
    model = ExchangeModel(generate_universe("binance", MARKETS, seed=1))
    result = []
    for _ in range(RUNS):
        rows = market_rows(model, now)
        result.append((rows, summarize(rows)))
        model.advance()
    return result


def write_path(url: str, work: list[tuple[list[MarketRow], VolumeSummary]]) -> float:
    now = dt.datetime.now(dt.UTC)
    clock = Stopwatch()
    with db.connect(url, autocommit=True) as conn:
        ids = [
            conn.execute(
                "INSERT INTO exchanges (name) VALUES (%s) RETURNING id", (f"bench{i:02d}",)
            ).fetchone()["id"]  # type: ignore[index]
            for i in range(EXCHANGES)
        ]
        for rows, summary in work:
            for exchange_id in ids:
                run = runs.create_run(conn, exchange_id, running=True, node="bench", worker="w")
                with clock:
                    write.write_run(
                        conn,
                        exchange_id=exchange_id,
                        run_id=run.id,
                        rows=rows,
                        summary=summary,
                        harvested_at=now,
                    )
                now += dt.timedelta(seconds=1)
    return clock.seconds


def plain_copy(url: str, work: list[tuple[list[MarketRow], VolumeSummary]]) -> float:
    clock = Stopwatch()
    with db.connect(url, autocommit=True) as conn:
        conn.execute(BASELINE_TABLE)
        for rows, summary in work:
            volumes = summary.by_symbol
            for exchange_id in range(1, EXCHANGES + 1):
                with (
                    clock,
                    conn.transaction(),
                    conn.cursor() as cur,
                    cur.copy(BASELINE_COPY) as copy,
                ):
                    copy.set_types(BASELINE_TYPES)
                    for row in rows:
                        record = write.staging_record(row, volumes.get(row.symbol))
                        copy.write_row((exchange_id, *record))
    return clock.seconds


def main() -> None:
    work = batches(dt.datetime.now(dt.UTC))
    total = EXCHANGES * MARKETS * RUNS
    print(f"{EXCHANGES} exchanges × {MARKETS} markets × {RUNS} runs = {total} tickers")
    with scratch_database("mm_bench_ingest") as url:
        ours = report("write path (COPY + upsert + history)", total, write_path(url, work), "rows")
        baseline = report(
            "plain binary COPY, unlogged, no index", total, plain_copy(url, work), "rows"
        )
    print_ratio(ours, baseline)


if __name__ == "__main__":
    main()
