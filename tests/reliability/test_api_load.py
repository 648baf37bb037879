"""Issue 8, suite 4: the API under load while the harvester writes.

64 concurrent clients send a mix of queries (lists, pages followed by their cursor,
lookups, status; GET and POST; both response media types) for 60 seconds to the API in
its own process, while a real harvester harvests the simulator's exchanges every second
into the same database. No request may get a 5xx, an error, or no answer at all. The
figures (requests, p50/p99 latency, errors) are printed, never asserted.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from simulator.server import SimulatorServer, running_simulator
from simulator.wire import EXCHANGES
from tests.support.api_client import GRAPHQL_RESPONSE
from tests.support.api_server import ProcessServer
from tests.support.daemon import Harvester
from tests.support.processes import wait_for
from tests.support.rows import add_exchange

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(600)]

CLIENTS = 64
SECONDS = 60.0
REQUEST_TIMEOUT = 60.0  # generous: a shared 2-core machine is slow, not broken

MARKETS_PAGE = """query($e: String, $after: String) {
  markets(exchange: $e, first: 50, after: $after) {
    totalCount pageInfo { endCursor hasNextPage } nodes { symbol last bid ask volumeUsd }
  }
}"""
MIX: list[tuple[str, str, dict[str, Any]]] = [  # (method, query, variables)
    ("POST", "{ exchanges { totalCount nodes { name volumeUsd status { state lastRun } } } }", {}),
    ("POST", MARKETS_PAGE, {"e": "binance"}),
    (
        "GET",
        "{ markets(orderBy: SYMBOL_ASC, first: 100) { nodes { symbol exchange { name } } } }",
        {},
    ),
    (
        "POST",
        """query($e: String!) { exchange(name: $e) {
          markets(first: 20, search: "US") { nodes { symbol changePct spreadPct stale } }
          runs(first: 5) { nodes { state marketsCount finishedAt } } } }""",
        {"e": "kraken"},
    ),
    ("POST", "{ runs(first: 20) { nodes { id state trigger exchange { name } } } }", {}),
    ("GET", "{ status { queueDepth queueDue nodes { id alive } running { id } } }", {}),
    (
        "POST",
        'query($s: String!) { market(exchange: "binance", symbol: $s) { last } }',
        {"s": "BTC/USDT"},
    ),
    ("POST", "{ exchanges(orderBy: VOLUME_USD_DESC) { nodes { name topPair } } }", {}),
]


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    problems: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)

    def problem(self, kind: str, detail: str) -> None:
        self.problems[kind] += 1
        if len(self.examples) < 5:
            self.examples.append(f"{kind}: {detail[:300]}")


async def _send(
    http: httpx.AsyncClient, url: str, index: int, cursor: str | None
) -> httpx.Response:
    method, query, variables = MIX[index % len(MIX)]
    if query is MARKETS_PAGE:
        variables = {**variables, "after": cursor}
    accept = GRAPHQL_RESPONSE if index % 3 == 0 else "application/json"
    if method == "GET":
        return await http.get(url, params={"query": query}, headers={"accept": accept})
    body = {"query": query, "variables": variables}
    return await http.post(url, json=body, headers={"accept": accept})


async def _client(
    http: httpx.AsyncClient, url: str, number: int, deadline: float, tally: Tally
) -> None:
    index, cursor = number, None
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            response = await _send(http, url, index, cursor)
        except httpx.HTTPError as error:
            tally.problem("transport", f"{type(error).__name__}: {error}")
            index += 1
            continue
        tally.latencies.append(time.perf_counter() - started)
        tally.statuses[response.status_code] += 1
        if response.status_code >= 500:
            tally.problem("5xx", response.text)
        payload = response.json()
        for error in payload.get("errors", []):
            tally.problem(str(error.get("extensions", {}).get("code")), response.text)
        page = (payload.get("data") or {}).get("markets") or {}
        info = page.get("pageInfo") if isinstance(page, dict) else None
        cursor = info["endCursor"] if info and info["hasNextPage"] else None  # next page next
        index += 1


async def _load(url: str, tally: Tally) -> None:
    # An idle connection is dropped by the client before uvicorn's 5 s keep-alive timeout
    # closes it: at equal timeouts (httpx's default) a request sent on a connection the
    # server is closing fails with "Server disconnected" (the HTTP/1.1 keep-alive race).
    limits = httpx.Limits(
        max_connections=CLIENTS, max_keepalive_connections=CLIENTS, keepalive_expiry=1.0
    )
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT, limits=limits) as http:
        deadline = time.monotonic() + SECONDS
        await asyncio.gather(*(_client(http, url, n, deadline, tally) for n in range(CLIENTS)))


@pytest.fixture
def simulator() -> Iterator[SimulatorServer]:
    with running_simulator(markets=300) as server:
        yield server


def _finished_runs(conn: Any) -> int:
    row = conn.execute(
        "SELECT count(*) AS n FROM harvest_runs WHERE state = 'SUCCEEDED'"
    ).fetchone()
    return int(row["n"])


def test_api_under_load_while_harvesting(
    db_url: str, conn: Any, simulator: SimulatorServer, tmp_path: Path
) -> None:
    for name in EXCHANGES:
        add_exchange(conn, name, simulator.exchange_url(name), interval_seconds=1)
    api = ProcessServer(db_url).start()
    try:
        with Harvester(db_url, tmp_path / "node") as node:
            node.wait_ready()
            wait_for(lambda: _finished_runs(conn) >= len(EXCHANGES), 120, "the first harvests")
            runs_before = _finished_runs(conn)
            tally = Tally()
            asyncio.run(_load(f"{api.url}/graphql", tally))
            harvested = _finished_runs(conn) - runs_before
    finally:
        api.stop()
    latencies = sorted(tally.latencies)
    requests = len(latencies)
    p50 = statistics.median(latencies) * 1000 if latencies else float("nan")
    p99 = latencies[int(0.99 * (requests - 1))] * 1000 if latencies else float("nan")
    print(
        f"\nAPI load: {CLIENTS} clients for {SECONDS:.0f} s: {requests} requests "
        f"({requests / SECONDS:.1f}/s), p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"max {latencies[-1] * 1000 if latencies else float('nan'):.1f} ms; "
        f"statuses {dict(tally.statuses)}; errors {dict(tally.problems) or 0}; "
        f"harvest runs finished meanwhile: {harvested}"
    )
    assert not tally.problems, tally.examples
    assert requests > 0 and set(tally.statuses) == {200}
    assert harvested > 0, "the harvester did not write during the load"
