"""A harvest run in a test: `harvest_once` records a RUNNING run and harvests it."""

from __future__ import annotations

from typing import Any

import psycopg

from harvester.harvest import runs
from harvester.harvest.adapter import ExchangeAdapter
from harvester.harvest.pipeline import HarvestResult, harvest_exchange


def harvest_once(
    conn: psycopg.Connection[Any], adapter: ExchangeAdapter, exchange: dict[str, Any]
) -> HarvestResult:
    run = runs.create_run(conn, exchange["id"], running=True, node="test", worker="test")
    return harvest_exchange(conn, adapter, exchange, run.id)
