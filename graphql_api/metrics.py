"""Observability of the API: one canonical ``api.request`` log line per GraphQL request,
and /metrics in the Prometheus text format.

Request metrics live in a registry per app: requests by operation and outcome, and a
latency histogram by operation type. Harvest metrics (runs by state, the age of each
exchange's last successful harvest) are read from the database at scrape time.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from typing import Any

import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from psycopg_pool import AsyncConnectionPool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from graphql_api.context import RequestTrace
from graphql_api.database import Database, Row
from graphql_api.errors import INTERNAL, SERVICE_UNAVAILABLE
from graphql_api.http import TRACE_KEY

log = structlog.get_logger()

RUN_STATES = ("QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CRASHED")
MAX_OPERATION_LABELS = 100
_OPERATION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def outcome(status: int, trace: RequestTrace) -> str:
    """ok (no error), error (errors next to data), rejected (refused before execution),
    unavailable (the database could not be reached), internal (an unexpected failure)."""
    if SERVICE_UNAVAILABLE in trace.error_codes and INTERNAL not in trace.error_codes:
        return "unavailable"
    if status >= 500 or INTERNAL in trace.error_codes:
        return "internal"
    if status >= 400 or trace.refused:
        return "rejected"
    return "error" if trace.error_codes else "ok"


class OperationLabels:
    """Operation names as metric labels, bounded: clients choose them."""

    def __init__(self, limit: int = MAX_OPERATION_LABELS) -> None:
        self.limit = limit
        self.seen: set[str] = set()

    def label(self, name: str | None) -> str:
        if name is None:
            return "anonymous"
        if not _OPERATION_NAME.match(name):
            return "invalid"
        if name not in self.seen and len(self.seen) >= self.limit:
            return "other"
        self.seen.add(name)
        return name


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.requests = Counter(
            "mm_api_requests",
            "GraphQL requests by operation name and outcome.",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mm_api_request_duration_seconds",
            "Time to answer a GraphQL request, by operation type.",
            ["operation_type"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.operations = OperationLabels()

    def observe(self, trace: RequestTrace, status: int, seconds: float) -> str:
        result = outcome(status, trace)
        self.requests.labels(self.operations.label(trace.operation_name), result).inc()
        self.latency.labels(trace.operation_type or "none").observe(seconds)
        return result

    async def render(self, pool: AsyncConnectionPool) -> bytes:
        harvest = CollectorRegistry()
        harvest.register(HarvestCollector(*await _harvest_rows(Database(pool))))
        return generate_latest(self.registry) + generate_latest(harvest)


async def _harvest_rows(db: Database) -> tuple[list[Row], list[Row], bool]:
    try:
        runs = await db.fetch_all("api_runs_by_state")
        ages = await db.fetch_all("api_last_success_ages")
    except Exception as error:  # metrics must answer even when the database does not
        log.warning("metrics.database_failed", error=str(error))
        return [], [], False
    return runs, ages, True


class HarvestCollector(Collector):
    """A snapshot of the database, taken for one scrape."""

    def __init__(self, runs: Iterable[Row], ages: Iterable[Row], up: bool) -> None:
        self.runs, self.ages, self.up = list(runs), list(ages), up

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("mm_api_database_up", "1 when /metrics could read the database.")
        up.add_metric([], 1.0 if self.up else 0.0)
        yield up
        if not self.up:
            return
        counts = {row["state"]: row["runs"] for row in self.runs}
        runs = GaugeMetricFamily("mm_harvest_runs", "Harvest runs by state.", labels=["state"])
        for state in RUN_STATES:
            runs.add_metric([state], float(counts.get(state, 0)))
        yield runs
        ages = GaugeMetricFamily(
            "mm_exchange_last_success_age_seconds",
            "Seconds since the exchange's last successful harvest.",
            labels=["exchange"],
        )
        for row in self.ages:
            ages.add_metric([row["name"]], float(row["age_seconds"]))
        yield ages


async def metrics_endpoint(request: Request) -> Response:
    metrics: ApiMetrics = request.app.state.metrics
    body = await metrics.render(request.app.state.pool)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


class AccessLogger:
    """structlog's logger for the ``api.request`` line, assembled once per configuration.

    A module's ``structlog.get_logger()`` assembles a new logger on every call (the
    configuration does not cache loggers, so that tests can capture them): about half of
    the line's cost, once per request. This one is assembled again only when the
    configuration's processors, wrapper, factory or context class change (as
    `structlog.testing.capture_logs` does), so every line goes where a fresh logger's would.
    """

    _KEYS = ("processors", "wrapper_class", "logger_factory", "context_class")

    def __init__(self) -> None:
        self._config: tuple[Any, ...] = ()
        self._logger: Any = None

    def info(self, event: str, **fields: Any) -> None:
        config = structlog.get_config()
        current = tuple(config[key] for key in self._KEYS)
        if len(current) != len(self._config) or any(
            a is not b for a, b in zip(current, self._config, strict=True)
        ):
            self._logger = structlog.get_logger().bind()
            self._config = current
        self._logger.info(event, **fields)


class RequestLog:
    """Times each request to `path`, then logs ``api.request`` and updates the metrics."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics, path: str = "/graphql") -> None:
        self.app, self.metrics, self.path = app, metrics, path
        self.access_log = AccessLogger()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        trace = scope[TRACE_KEY] = RequestTrace()
        status = 500
        started = time.perf_counter()

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            seconds = time.perf_counter() - started
            result = self.metrics.observe(trace, status, seconds)
            self.access_log.info(
                "api.request",
                method=scope["method"],
                operation=trace.operation_name,
                operation_type=trace.operation_type,
                status=status,
                duration_ms=round(seconds * 1000, 2),
                outcome=result,
                error_codes=sorted(set(trace.error_codes)) or None,
            )
