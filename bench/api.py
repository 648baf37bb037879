#!/usr/bin/env python3
"""The GraphQL API against a bare Starlette + psycopg endpoint serving the same JSON.

A scratch database gets 20 exchanges × 2,000 markets (plain SQL). Both servers run under
uvicorn (one worker each) on loopback; 32 concurrent clients send a bounded number of
requests for each query:

  (a) markets(first: 100, orderBy: VOLUME_USD_DESC) { nodes { symbol last bid ask volumeUsd } }
  (b) exchanges { nodes { name volumeUsd topPair markets(first: 20) { nodes { symbol last } } } }

It prints requests/s and p50/p99 latency of each, and last ``ratio: X.XX``: our
throughput over the baseline's (geometric mean of the two queries; higher is better).
Uses DATABASE_URL when set, else the embedded PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from marketmanager import db  # noqa: E402
from marketmanager.migrations import migrate  # noqa: E402
from marketmanager.settings import Settings  # noqa: E402

EXCHANGES, MARKETS_PER_EXCHANGE = 20, 2000
CLIENTS, REQUESTS, WARMUP = 32, 1000, 100
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


async def load(url: str, query: str, requests: int) -> tuple[float, list[float], Any]:
    """Requests/s and latencies (s) of `requests` POSTs from CLIENTS concurrent clients."""
    latencies: list[float] = []
    remaining = requests
    body = json.dumps({"query": query})
    headers = {"content-type": "application/json"}
    sample: Any = None
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            nonlocal remaining, sample
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    payload = await response.read()
                latencies.append(time.perf_counter() - started)
                if response.status != 200:
                    raise SystemExit(f"{url}: HTTP {response.status}: {payload[:300]!r}")
                sample = payload

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - started
    return requests / elapsed, latencies, json.loads(sample)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))] * 1000


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
    with db.scratch_database(db.database_url(Settings.from_env()), "mm_bench_api") as url:
        fill(url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MM_")}
        ours_port, base_port = free_port(), free_port()
        ours_env = env | {
            "DATABASE_URL": url,
            "MM_API_PORT": str(ours_port),
            "MM_LOG_FORMAT": "json",
        }
        ratios = []
        with (
            server([sys.executable, "-m", "graphql_api"], ours_env, ours_port) as ours,
            server(
                [sys.executable, __file__, "--baseline", str(base_port), url], env, base_port
            ) as base,
        ):
            for label, query in (("a", QUERY_A), ("b", QUERY_B)):
                results = {}
                for who, target in (("graphql", ours), ("baseline", base)):
                    asyncio.run(load(target, query, WARMUP))
                    rate, latencies, sample = asyncio.run(load(target, query, REQUESTS))
                    results[who] = (rate, sample)
                    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
                    figures = f"{rate:7.1f} req/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms"
                    print(f"({label}) {who:<8} {figures}  ({REQUESTS} requests, {CLIENTS} clients)")
                if results["graphql"][1] != results["baseline"][1]:
                    raise SystemExit(f"({label}): the two servers disagree on the answer")
                ratio = results["graphql"][0] / results["baseline"][0]
                ratios.append(ratio)
                print(f"({label}) ratio {ratio:.2f}")
    print(f"ratio: {math.exp(statistics.fmean(math.log(r) for r in ratios)):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
