#!/usr/bin/env python3
"""The GraphQL API against a bare Starlette + psycopg endpoint serving the same JSON.

A scratch database gets 20 exchanges × 2,000 markets (plain SQL). Both servers run under
uvicorn (one worker each) on loopback. The load comes from wrk (1 thread, 32
connections, a Lua script for the POST body): a compiled client that needs far less CPU
than the servers, so that on a 2-core machine the ratio measures the servers. Two
queries:

  (a) markets(first: 100, orderBy: VOLUME_USD_DESC) { nodes { symbol last bid ask volumeUsd } }
  (b) exchanges { nodes { name volumeUsd topPair markets(first: 20) { nodes { symbol last } } } }

  python bench/api.py           cold answers: the response cache off (MM_API_CACHE=0)
  python bench/api.py --warm    the cache on, while a writer commits a harvest every
                                second through the production write path (`write_run`),
                                so every answer is recomputed once per second

Each query is measured in ROUNDS rounds that alternate the two servers; each prints its
requests/s and p50/p99 latency, and the ratio of the medians. Last, ``ratio: X.XX``:
ours over the baseline (geometric mean of the two queries; higher is better).

Nothing is pinned to a CPU: on 2 cores shared with the database (and, in --warm, the
writer), pinning a server to one core would starve PostgreSQL on the same core for one
side only; both servers see the same machine in alternating rounds instead.
Uses DATABASE_URL when set, else the embedded PostgreSQL; needs wrk (`make bench`
installs it).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from marketmanager import db  # noqa: E402
from marketmanager.migrations import migrate  # noqa: E402
from marketmanager.settings import Settings  # noqa: E402

EXCHANGES, MARKETS_PER_EXCHANGE = 20, 2000
CONNECTIONS, ROUNDS, SECONDS, WARMUP_SECONDS = 32, 3, 5, 2
WRITE_EVERY = 1.0  # seconds between the writer's commits (--warm)
QUERY_A = (
    "{ markets(first: 100, orderBy: VOLUME_USD_DESC) { nodes { symbol last bid ask volumeUsd } } }"
)
QUERY_B = (
    "{ exchanges { nodes { name volumeUsd topPair "
    "markets(first: 20) { nodes { symbol last } } } } }"
)

BASELINE_A = """
SELECT symbol, last::float8 AS last, bid::float8 AS bid, ask::float8 AS ask,
       volume_usd::float8 AS "volumeUsd"
FROM markets ORDER BY volume_usd DESC NULLS LAST, id LIMIT 100
"""
BASELINE_B_EXCHANGES = """
SELECT id, name, volume_usd::float8 AS "volumeUsd", top_pair AS "topPair"
FROM exchanges ORDER BY name, id LIMIT 50
"""
BASELINE_B_MARKETS = """
SELECT e.id AS exchange_id, m.symbol, m.last::float8 AS last
FROM unnest(%(ids)s::bigint[]) AS e (id)
CROSS JOIN LATERAL (SELECT symbol, last FROM markets WHERE exchange_id = e.id
                    ORDER BY volume_usd DESC NULLS LAST, id LIMIT 20) AS m
"""


def baseline_app(url: str) -> Any:
    """The same answers with Starlette and psycopg only: what the API costs on top."""
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    pool = AsyncConnectionPool(
        url, min_size=2, max_size=16, kwargs={"row_factory": dict_row, "autocommit": True},
        open=False,
    )  # fmt: skip

    async def fetch(sql: str, params: Any = None) -> list[dict[str, Any]]:
        async with pool.connection() as conn:
            cursor = await conn.execute(sql, params)
            return await cursor.fetchall()

    async def endpoint(request: Request) -> Response:
        body = await request.json()
        if body["query"] == QUERY_A:
            data: Any = {"markets": {"nodes": await fetch(BASELINE_A)}}
        else:
            exchanges = await fetch(BASELINE_B_EXCHANGES)
            markets = await fetch(BASELINE_B_MARKETS, {"ids": [e["id"] for e in exchanges]})
            by_exchange: dict[int, list[dict[str, Any]]] = {e["id"]: [] for e in exchanges}
            for market in markets:
                by_exchange[market.pop("exchange_id")].append(market)
            nodes = [
                {
                    **{k: v for k, v in e.items() if k != "id"},
                    "markets": {"nodes": by_exchange[e["id"]]},
                }
                for e in exchanges
            ]
            data = {"exchanges": {"nodes": nodes}}
        # the same encoder as the API's (graphql_api.http.dump_json)
        return Response(orjson.dumps({"data": data}), media_type="application/json")

    async def lifespan(app: Any) -> Any:
        await pool.open()
        yield
        await pool.close()

    from contextlib import asynccontextmanager

    return Starlette(
        routes=[Route("/graphql", endpoint, methods=["POST"])],
        lifespan=asynccontextmanager(lifespan),
    )


def fill(url: str) -> None:
    with db.connect(url) as conn:
        migrate(conn)
        conn.execute(
            """
            INSERT INTO exchanges (name, volume_usd, top_pair)
            SELECT 'bench' || lpad(i::text, 2, '0'), i * 1e6, 'BTC/USDT'
            FROM generate_series(1, %(exchanges)s) AS i
            """,
            {"exchanges": EXCHANGES},
        )
        conn.execute(
            """
            INSERT INTO markets (exchange_id, symbol, base, quote, last, bid, ask, base_volume,
                                 quote_volume, volume_usd, change_pct)
            SELECT e.id, 'C' || i || '/USDT', 'C' || i, 'USDT', 100 + i * 0.01, 99.9 + i * 0.01,
                   100.1 + i * 0.01, i, i * 100,
                   CASE WHEN i %% 9 = 0 THEN NULL ELSE (i * 7919 %% 100000) * 1.5 END, i %% 7
            FROM exchanges AS e, generate_series(1, %(markets)s) AS i
            """,
            {"markets": MARKETS_PER_EXCHANGE},
        )
        conn.execute("ANALYZE")
        conn.commit()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(command: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    process = subprocess.Popen(
        command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(
                    f"{command} exited: {process.stderr.read().decode() if process.stderr else ''}"
                )
            try:
                httpx.post(f"{url}/graphql", json={"query": QUERY_A}, timeout=5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{command} did not start") from None
                time.sleep(0.2)
        yield f"{url}/graphql"
    finally:
        process.terminate()
        process.wait(20)


# wrk's script: POST the query; at the end, the figures as one JSON line on stdout.
WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = [==[%s]==]
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %%d, "microseconds": %%d, "failed": %%d, "p50": %%d, "p99": %%d}\\n',
    summary.requests, summary.duration, e.status + e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def load(url: str, script: Path, seconds: float) -> dict[str, float]:
    """requests/s, p50 and p99 (ms) of wrk posting for `seconds`."""
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s"]
    done = subprocess.run(
        [*command, "-s", str(script), url], capture_output=True, text=True, check=True
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    if figures["failed"]:
        raise SystemExit(f"{url}: {figures['failed']} requests failed\n{done.stdout}")
    return {
        "rate": figures["requests"] / (figures["microseconds"] / 1e6),
        "p50": figures["p50"] / 1000,
        "p99": figures["p99"] / 1000,
    }


def answer(url: str, query: str) -> Any:
    response = httpx.post(url, json={"query": query}, timeout=30)
    if response.status_code != 200 or "errors" in response.json():
        raise SystemExit(f"{url}: HTTP {response.status_code}: {response.text[:300]}")
    return response.json()


def writer(url: str) -> None:
    """Commit one harvest every WRITE_EVERY seconds, round the exchanges, through the
    production write path: the markets' prices move, so every answer changes."""
    from harvester.harvest import runs
    from harvester.harvest.tickers import MarketRow
    from harvester.harvest.volume import summarize
    from harvester.harvest.write import write_run

    with db.connect(url, autocommit=True) as conn:
        ids = [row["id"] for row in conn.execute("SELECT id FROM exchanges ORDER BY id")]
        generation = 0
        while True:
            started = time.monotonic()
            generation += 1
            exchange_id = ids[generation % len(ids)]
            now = dt.datetime.now(dt.UTC)
            rows = [
                MarketRow(
                    symbol=f"C{i}/USDT", base=f"C{i}", quote="USDT", type="spot", active=True,
                    last=Decimal(100 + i * 0.01 + generation % 7), bid=Decimal(99 + i * 0.01),
                    ask=Decimal(101 + i * 0.01), base_volume=Decimal(i),
                    quote_volume=Decimal((i * 7919 + generation) % 100000), change_pct=None,
                    exchange_ts=now,
                )
                for i in range(1, MARKETS_PER_EXCHANGE + 1)
            ]  # fmt: skip
            run = runs.create_run(conn, exchange_id, running=True, node="bench", worker="w")
            write_run(
                conn,
                exchange_id=exchange_id,
                run_id=run.id,
                rows=rows,
                summary=summarize(rows),
                harvested_at=now,
            )
            time.sleep(max(0.0, WRITE_EVERY - (time.monotonic() - started)))


@contextmanager
def writing(url: str, env: dict[str, str]) -> Iterator[None]:
    process = subprocess.Popen([sys.executable, __file__, "--writer", url], env=env, cwd=REPO)
    try:
        yield
    finally:
        process.terminate()
        process.wait(20)
        if process.returncode not in (0, -15):
            raise SystemExit(f"the writer failed ({process.returncode})")


def median_figures(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}


def measure(warm: bool) -> float:
    mode = "warm: cache on, a harvest committed every second" if warm else "cold: cache off"
    print(f"{mode}; wrk 1 thread, {CONNECTIONS} connections, {ROUNDS} rounds of {SECONDS} s")
    with db.scratch_database(db.database_url(Settings.from_env()), "mm_bench_api") as url:
        fill(url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MM_")}
        ours_port, base_port = free_port(), free_port()
        ours_env = env | {
            "DATABASE_URL": url,
            "MM_API_PORT": str(ours_port),
            "MM_LOG_FORMAT": "json",
            "MM_API_CACHE": "1" if warm else "0",
        }
        ratios = []
        with (
            tempfile.TemporaryDirectory() as scripts,
            server([sys.executable, "-m", "graphql_api"], ours_env, ours_port) as ours,
            server(
                [sys.executable, __file__, "--baseline", str(base_port), url], env, base_port
            ) as base,
        ):
            targets = {"graphql": ours, "baseline": base}
            for label, query in (("a", QUERY_A), ("b", QUERY_B)):
                if answer(ours, query) != answer(base, query):
                    raise SystemExit(f"({label}): the two servers disagree on the answer")
            with writing(url, env) if warm else _nothing():
                for label, query in (("a", QUERY_A), ("b", QUERY_B)):
                    script = Path(scripts) / f"{label}.lua"
                    script.write_text(WRK_SCRIPT % orjson.dumps({"query": query}).decode())
                    rounds: dict[str, list[dict[str, float]]] = {who: [] for who in targets}
                    for target in targets.values():
                        load(target, script, WARMUP_SECONDS)
                    for _ in range(ROUNDS):
                        for who, target in targets.items():
                            rounds[who].append(load(target, script, SECONDS))
                    medians = {who: median_figures(rounds[who]) for who in targets}
                    for who, figures in medians.items():
                        rates = " ".join(f"{r['rate']:.0f}" for r in rounds[who])
                        print(
                            f"({label}) {who:<8} {figures['rate']:7.1f} req/s  "
                            f"p50 {figures['p50']:6.1f} ms  p99 {figures['p99']:6.1f} ms  "
                            f"(medians; rounds: {rates})"
                        )
                    ratio = medians["graphql"]["rate"] / medians["baseline"]["rate"]
                    ratios.append(ratio)
                    print(f"({label}) ratio {ratio:.2f}")
            if warm:
                print(cache_figures(ours.removesuffix("/graphql")))
    return math.exp(statistics.fmean(math.log(r) for r in ratios))


def cache_figures(base_url: str) -> str:
    """The response cache's lookups by result, from the API's /metrics."""
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    found = re.findall(r'^mm_api_cache_\w+_total\{\w+="([\w ]+)"\} (\S+)$', text, re.M)
    counts = {result: float(value) for result, value in found}
    return "cache: " + ", ".join(f"{count:.0f} {result}" for result, count in counts.items())


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def main() -> int:
    if sys.argv[1:2] == ["--baseline"]:
        import uvicorn

        from graphql_api.runtime import tune_gc

        app = baseline_app(sys.argv[3])
        tune_gc()  # the API's process settings (graphql_api.__main__), for a fair comparison
        uvicorn.run(
            app,
            host="127.0.0.1",
            port=int(sys.argv[2]),
            log_config=None,
            access_log=False,
            proxy_headers=True,
        )
        return 0
    if sys.argv[1:2] == ["--writer"]:
        writer(sys.argv[2])  # until terminated
        return 0
    if shutil.which("wrk") is None:
        raise SystemExit("bench/api.py needs wrk (Debian package wrk; `make bench` installs it)")
    warm = sys.argv[1:2] == ["--warm"]
    print(f"ratio: {measure(warm):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
