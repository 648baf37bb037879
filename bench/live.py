#!/usr/bin/env python3
"""Live updates at scale: N websocket subscribers on one API process, harvests committing.

A scratch database gets binance and kraken served by the local simulator (200 markets
each). One API process (``python -m graphql_api``) serves N graphql-transport-ws
subscribers opened by a separate client process (this script with ``--client``), each
subscribed to one market of one of the two exchanges. The script then harvests the two
exchanges in turn; each harvest commits and every subscriber should get its market.

It prints the subscribers connected, the push latency from the harvest's commit to the
delivery (p50/p99/max, measured on the client's clock, the same machine's), the API's
memory per subscriber (RSS growth over N), and last ``ratio: X.XX`` = 1 s ÷ p99
(1.00 or more: every push within a second). N defaults to 2,000 (``--subscribers``).

Subscribers that ask the same thing share one execution per event: here 50 markets per
exchange, so about 20 subscribers per (document, variables). ``--distinct`` gives each
subscriber its own document (an alias of its own), the worst case.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchkit import REPO, scratch_database

MARKETS, EXCHANGES = 200, ("binance", "kraken")
WARM_UP_HARVESTS, MEASURED_HARVESTS = 20, 10
SUBSCRIPTION = (
    "subscription ($e: String!, $s: [String!]) "
    "{ marketUpdates(exchange: $e, symbols: $s) { symbol last updatedAt %s } }"
)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


# --- the client process -------------------------------------------------------------


async def subscriber(
    url: str, exchange: str, symbol: str, query: str, got: dict[tuple[str, str], list[float]]
) -> None:
    from websockets.asyncio.client import connect

    async with connect(url, subprotocols=["graphql-transport-ws"], open_timeout=120) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        variables = {"e": exchange, "s": [symbol]}
        subscribed = False
        async for raw in ws:
            arrived = time.time()
            message = json.loads(raw)
            if message["type"] == "connection_ack" and not subscribed:
                subscribed = True
                payload = {"query": query, "variables": variables}
                await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            elif message["type"] == "ping":
                await ws.send(json.dumps({"type": "pong"}))
            elif message["type"] == "next":
                market = message["payload"]["data"]["marketUpdates"]
                got.setdefault((exchange, market["updatedAt"]), []).append(arrived)


async def run_clients(
    url: str, count: int, symbols: dict[str, list[str]], out: Path, distinct: bool
) -> None:
    got: dict[tuple[str, str], list[float]] = {}
    tasks = []
    for index in range(count):
        exchange = EXCHANGES[index % len(EXCHANGES)]
        chosen = symbols[exchange][index % len(symbols[exchange])]
        query = SUBSCRIPTION % (f"s{index}: last" if distinct else "")
        tasks.append(asyncio.create_task(subscriber(url, exchange, chosen, query, got)))
        if index % 100 == 99:
            await asyncio.sleep(0.05)  # do not flood the accept queue
    print(f"opened {count}", flush=True)
    # The parent writes "stop" on stdin when done; a reader thread keeps the loop free.
    await asyncio.to_thread(sys.stdin.readline)
    failed = sum(1 for task in tasks if task.done() and task.exception() is not None)
    for task in tasks:
        task.cancel()
    out.write_text(json.dumps({"failed": failed, "got": [[*k, v] for k, v in got.items()]}))


# --- the parent -------------------------------------------------------------------------


def metric(api_url: str, name: str) -> float:
    import httpx

    for line in httpx.get(f"{api_url}/metrics", timeout=30).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise RuntimeError(f"/metrics has no {name}")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(fraction * len(ordered)), len(ordered) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--distinct", action="store_true", help="no two subscriptions alike")
    parser.add_argument("--client", nargs=3, metavar=("WS_URL", "SYMBOLS_JSON", "OUT"))
    args = parser.parse_args()
    if args.client:
        url, symbols, out = args.client
        clients = run_clients(url, args.subscribers, json.loads(symbols), Path(out), args.distinct)
        asyncio.run(clients)
        return 0
    return bench(args.subscribers, args.distinct)


def bench(count: int, distinct: bool) -> int:
    import httpx

    from harvester.harvest.adapter import ExchangeAdapter
    from marketmanager import db
    from marketmanager.settings import Settings
    from simulator import running_simulator
    from tests.support.api_server import ProcessServer
    from tests.support.harvesting import add_exchange, harvest_once, markets_of

    with (
        scratch_database("mm_bench_live") as url,
        running_simulator(markets=MARKETS, seed=4, exchanges=EXCHANGES) as simulator,
        db.connect(url, autocommit=True) as conn,
    ):
        settings = Settings(database_url=url).resolved()
        rows = {name: add_exchange(conn, name, simulator.exchange_url(name)) for name in EXCHANGES}
        adapters = {name: ExchangeAdapter.from_row(rows[name], settings) for name in EXCHANGES}
        commits: dict[tuple[str, str], float] = {}

        def harvest(name: str) -> None:
            assert harvest_once(conn, adapters[name], rows[name]).succeeded
            done = time.time()
            exchange = db.fetch_one(conn, "exchange_by_name", {"name": name})
            assert exchange is not None
            commits[(name, exchange["last_update_at"].isoformat())] = done

        for name in EXCHANGES:
            harvest(name)
        symbols = {name: sorted(markets_of(conn, rows[name]["id"]))[:50] for name in EXCHANGES}
        api = ProcessServer(url).start()
        out = Path(api.env.get("MM_DATA_DIR", "/tmp")) / f"bench-live-{api.port}.json"
        client = None
        try:
            assert api.process is not None
            httpx.get(f"{api.url}/", timeout=30)  # warm the process up before measuring
            rss_before = rss_kib(api.process.pid)
            ws_url = api.url.replace("http://", "ws://") + "/graphql"
            client = subprocess.Popen(
                [sys.executable, __file__, "--subscribers", str(count), "--client", ws_url,
                 json.dumps(symbols), str(out), *(["--distinct"] if distinct else [])],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO,
            )  # fmt: skip
            assert client.stdout is not None and client.stdin is not None
            client.stdout.readline()  # "opened N"
            deadline = time.monotonic() + 600
            while metric(api.url, "mm_live_subscribers") < count:
                if time.monotonic() > deadline or client.poll() is not None:
                    break
                time.sleep(1)
            connected = metric(api.url, "mm_live_subscribers")
            rss_after = rss_kib(api.process.pid)
            for index in range(WARM_UP_HARVESTS):  # every subscription is in place by now
                harvest(EXCHANGES[index % len(EXCHANGES)])
            commits.clear()
            started = len(commits)
            for index in range(MEASURED_HARVESTS):
                harvest(EXCHANGES[index % len(EXCHANGES)])
                time.sleep(1.0)
            time.sleep(3.0)
            client.stdin.write("stop\n")
            client.stdin.flush()
            client.wait(120)
            dropped = metric(api.url, "mm_live_dropped_subscribers_total")
        finally:
            if client is not None and client.poll() is None:
                client.kill()
            api.stop()
            for adapter in adapters.values():
                adapter.close()
        result = json.loads(out.read_text())
        out.unlink()

    latencies, delivered = [], 0
    for exchange, updated_at, arrivals in result["got"]:
        committed = commits.get((exchange, updated_at))
        if committed is None:
            continue  # a warm-up harvest
        delivered += len(arrivals)
        latencies.extend(max(arrived - committed, 0.0) for arrived in arrivals)
    expected = (len(commits) - started) * count // len(EXCHANGES)
    per_subscriber = (rss_after - rss_before) * 1024 / max(connected, 1)
    kind = "all distinct" if distinct else "about 20 alike per query"
    print(f"subscribers: {count} opened ({kind}), {connected:.0f} connected, "
          f"{result['failed']} failed, {dropped:.0f} dropped")  # fmt: skip
    print(f"pushes: {delivered} delivered of {expected} expected over {MEASURED_HARVESTS} harvests "
          f"of {MARKETS} markets")  # fmt: skip
    if not latencies:
        print("no push measured")
        print("ratio: 0.00")
        return 1
    p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
    worst, mean = max(latencies), statistics.mean(latencies)
    print(f"push latency commit→delivery: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
          f"max {worst * 1000:.0f} ms, mean {mean * 1000:.0f} ms")  # fmt: skip
    print(f"API memory: {rss_before / 1024:.0f} MiB before, {rss_after / 1024:.0f} MiB with "
          f"subscribers = {per_subscriber / 1024:.1f} KiB per subscriber")  # fmt: skip
    load = ", ".join(f"{figure:.1f}" for figure in os.getloadavg())
    print(f"machine load average (1, 5, 15 min): {load} on {os.cpu_count()} CPUs")
    print(f"ratio: {1.0 / max(p99, 1e-3):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
