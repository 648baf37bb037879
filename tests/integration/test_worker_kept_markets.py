"""A worker lets go of the ccxt instances (and markets) it no longer needs."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from typing import Any

from harvester.context import ChildContext
from harvester.worker import Worker
from marketmanager import db
from marketmanager.settings import Settings
from tests.support.rows import Conn, add_exchange


class Instance:
    """Stands for an exchange's ccxt instance: only its closing matters here."""

    closed = False

    async def close(self) -> None:
        self.closed = True


def keeping(worker: Worker, exchange_id: int, name: str, unused_for: float) -> Any:
    instance = Instance()
    worker.adapters[name] = instance  # type: ignore[assignment]
    worker.api_urls[name] = None
    worker.exchange_ids[name] = exchange_id
    worker.last_used[name] = time.monotonic() - unused_for
    return instance


def test_a_worker_lets_go_of_disabled_and_others_exchanges_and_keeps_its_own(
    conn: Conn, db_url: str
) -> None:
    own, other, disabled = (add_exchange(conn, name) for name in ("binance", "kraken", "gemini"))
    conn.execute("UPDATE exchanges SET enabled = false WHERE id = %s", (disabled,))
    settings = Settings(database_url=db_url, pool_size=3).resolved()
    stop = multiprocessing.get_context("spawn").Event()
    pool = db.create_pool(db_url, min_size=1, max_size=1)
    try:
        worker = Worker(ChildContext(f"worker-{own % 3 + 1}", "n1", db_url, settings, stop), pool)
        assert worker.is_home(own) and not worker.is_home(other)
        a_while = 10 * 60.0  # ten of their intervals, far from the markets' refresh (1 h)
        instances = {
            "binance": keeping(worker, own, "binance", a_while),
            "kraken": keeping(worker, other, "kraken", a_while),
            "gemini": keeping(worker, disabled, "gemini", 0),
        }
        asyncio.run(worker.release_unneeded())
    finally:
        pool.close()
    assert list(worker.adapters) == ["binance"]
    assert {name: one.closed for name, one in instances.items()} == {
        "binance": False,
        "kraken": True,
        "gemini": True,
    }
