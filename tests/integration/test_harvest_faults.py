"""Every simulator fault fails the run readably, keeps the last good data, and passes."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import psycopg
import pytest

from harvester.harvest import runs
from harvester.harvest.adapter import ExchangeAdapter
from harvester.harvest.async_adapter import AsyncExchangeAdapter
from harvester.harvest.pipeline import HarvestResult, harvest_exchange_async
from marketmanager import db
from marketmanager.settings import Settings
from simulator import FAULT_KINDS, SimulatorServer, running_simulator
from tests.support.harvesting import harvest_once
from tests.support.rows import add_exchange, exchange_row, markets_of, tick_count

# The ccxt error each fault must end in (binance sends 429 as DDoSProtection).
EXPECTED = {
    "http429": ("DDoSProtection", "RateLimitExceeded"),
    "http500": ("ExchangeNotAvailable",),
    "http503": ("ExchangeNotAvailable",),
    "timeout": ("RequestTimeout",),
    "malformed": ("BadResponse",),
    "truncated": ("NetworkError",),
}


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorServer]:
    with running_simulator(markets=150, seed=5, hold_seconds=10) as server:
        yield server


def test_every_fault_kind_is_covered() -> None:
    assert set(EXPECTED) == set(FAULT_KINDS)


@pytest.mark.parametrize("client", ["sync", "asyncio"])
@pytest.mark.parametrize("fault", sorted(EXPECTED))
@pytest.mark.parametrize("name", ["binance", "kraken"])
def test_a_fault_fails_the_run_and_leaves_the_last_good_run(
    name: str,
    fault: str,
    client: str,
    conn: psycopg.Connection[Any],
    db_url: str,
    settings: Settings,
    simulator: SimulatorServer,
) -> None:
    """With the sync client (``marketmanager harvest``) and the asyncio one (the daemon's
    workers: ccxt's aiohttp client, the write in a thread with a pooled connection)."""
    settings = dataclasses.replace(settings, request_timeout=1.0)
    add_exchange(conn, name, simulator.exchange_url(name))
    exchange = exchange_row(conn, name)
    if client == "sync":
        with ExchangeAdapter.from_row(exchange, settings, enable_rate_limit=False) as adapter:

            async def once() -> HarvestResult:
                return harvest_once(conn, adapter, exchange)

            asyncio.run(_fault_then_recovery(conn, simulator, exchange, fault, once))
        return

    async def scenario() -> None:
        adapter = AsyncExchangeAdapter.from_row(exchange, settings, enable_rate_limit=False)
        async with adapter:

            async def once() -> HarvestResult:
                run = runs.create_run(conn, exchange["id"], running=True, node="t", worker="t")
                return await harvest_exchange_async(pool, adapter, exchange, run.id)

            await _fault_then_recovery(conn, simulator, exchange, fault, once)

    pool = db.create_pool(db_url, max_size=2)
    try:
        asyncio.run(scenario())
    finally:
        pool.close()


async def _fault_then_recovery(
    conn: psycopg.Connection[Any],
    simulator: SimulatorServer,
    exchange: dict[str, Any],
    fault: str,
    once: Callable[[], Awaitable[HarvestResult]],
) -> None:
    """A good run, a run under `fault` (FAILED readably, nothing touched), a good run."""
    name = exchange["name"]
    assert (await once()).succeeded
    before = (markets_of(conn, exchange["id"]), exchange_row(conn, name))
    ticks = tick_count(conn, exchange["id"])

    simulator.simulator.set_faults({fault: 1.0}, exchange=name)
    try:
        failed = await once()
    finally:
        simulator.simulator.clear_faults(exchange=name)
    assert not failed.succeeded
    assert failed.error is not None and failed.error.startswith(
        tuple(f"{kind}: {name}" for kind in EXPECTED[fault])
    ), failed.error
    assert "\n" not in failed.error and failed.retryable
    run = conn.execute("SELECT * FROM harvest_runs WHERE id = %s", (failed.run_id,)).fetchone()
    assert run is not None
    assert (run["state"], run["error"], run["retryable"]) == ("FAILED", failed.error, True)
    assert run["finished_at"] is not None and run["markets_count"] is None
    assert (markets_of(conn, exchange["id"]), exchange_row(conn, name)) == before
    assert tick_count(conn, exchange["id"]) == ticks

    again = await once()
    assert again.succeeded, again.error
    tickers = simulator.simulator.tickers(name)
    stored = markets_of(conn, exchange["id"])
    assert all(stored[s]["last"] == t.last for s, t in tickers.items())
    assert tick_count(conn, exchange["id"]) == ticks + len(tickers)
