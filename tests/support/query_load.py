"""Steady GraphQL query load from a few client threads, bounded in count and in time.

Each request is recorded (when it started, how long it took, the HTTP status, the
error codes, or the transport error), so that a test can say afterwards what every
client saw: nothing hung, nothing was INTERNAL, what failed and when.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx

from tests.support.api_client import GRAPHQL_RESPONSE

QUERIES = (
    "{ exchanges(first: 20) { totalCount nodes { name volumeUsd status { state } } } }",
    '{ markets(exchange: "binance", first: 20) { totalCount nodes { symbol last bid } } }',
    "{ runs(first: 10) { nodes { state trigger } } }",
    "{ status { queueDepth } }",
)
ACCEPTS = (GRAPHQL_RESPONSE, "application/json")


@dataclass(frozen=True)
class Outcome:
    started: float  # time.monotonic()
    seconds: float
    status: int | None  # None: no answer (a timeout, a refused connection)
    codes: frozenset[str] = frozenset()
    accept: str = ""
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and not self.codes


@dataclass
class QueryLoad:
    """``with QueryLoad(url) as load: …`` runs `clients` threads until the block ends (or
    `max_seconds`, or `max_requests` each); `load.outcomes` has every request."""

    base_url: str
    clients: int = 2
    max_requests: int = 5000
    max_seconds: float = 180.0
    timeout: float = 30.0  # generous: a request that takes longer has hung
    pause: float = 0.02
    outcomes: list[Outcome] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._client, args=(n,), name=f"load-{n}", daemon=True)
            for n in range(self.clients)
        ]

    def __enter__(self) -> QueryLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.timeout + 10)

    def _client(self, number: int) -> None:
        deadline = time.monotonic() + self.max_seconds
        with httpx.Client(timeout=self.timeout) as http:
            for index in range(self.max_requests):
                if self._stop.is_set() or time.monotonic() > deadline:
                    return
                query = QUERIES[index % len(QUERIES)]
                accept = ACCEPTS[(index + number) % len(ACCEPTS)]
                outcome = self._one(http, query, accept)
                with self._lock:
                    self.outcomes.append(outcome)
                self._stop.wait(self.pause)

    def _one(self, http: httpx.Client, query: str, accept: str) -> Outcome:
        started = time.monotonic()
        try:
            response = http.post(
                f"{self.base_url}/graphql", json={"query": query}, headers={"accept": accept}
            )
            payload = response.json()
        except (httpx.HTTPError, ValueError) as error:
            seconds = time.monotonic() - started
            return Outcome(started, seconds, None, accept=accept, failure=repr(error))
        codes = frozenset(
            str((e.get("extensions") or {}).get("code")) for e in payload.get("errors") or []
        )
        return Outcome(started, time.monotonic() - started, response.status_code, codes, accept)

    def snapshot(self) -> list[Outcome]:
        with self._lock:
            return list(self.outcomes)
