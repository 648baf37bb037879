"""Long-lived database connections that survive a restart of the database.

A PostgreSQL restart closes every connection; the processes that keep one open (the
harvester's children and its parent) must notice and open another, without a hand.
`LongLivedConnection` checks its connection before each use (an empty query, like
psycopg_pool's ``check_connection``) and opens a new one when it is gone. `Outage`
paces the attempts while the database stays away (`reconnect_delay`: short, growing,
capped, with jitter so that many processes do not knock in step) and logs when it went
and when it came back.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
import structlog

from marketmanager import db

log = structlog.get_logger()

T = TypeVar("T")

FIRST_DELAY = 0.2  # seconds before the first attempt to reconnect
MAX_DELAY = 2.0  # the longest pause between attempts: back within seconds of the database


def connection_lost(error: BaseException, conn: Any = None) -> bool:
    """True when `error` means the connection failed (the server went away, or cannot be
    reached), not the statement: worth a new connection and another try. `conn` is the
    connection the error came from, when there was one."""
    if isinstance(error, db.DatabaseUnavailable):
        return True
    if not isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
        return False
    return conn is None or bool(conn.closed)


def reconnect_delay(failures: int, jitter: Callable[[], float] = random.random) -> float:
    """Seconds to wait after `failures` failed attempts in a row: 0.2, 0.4, 0.8, 1.6, then
    2 s, each shortened by up to a fifth (`jitter` gives a number in [0, 1))."""
    base = min(MAX_DELAY, FIRST_DELAY * 2 ** max(0, failures - 1))
    return base * (1 - 0.2 * jitter())


class Outage:
    """How long the database has been away, and how long to wait before the next try."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.failures = 0
        self.since: float | None = None

    def failed(self, error: BaseException) -> float:
        """Record a failed attempt; the seconds to wait before the next one."""
        self.failures += 1
        if self.since is None:
            self.since = self.clock()
            log.warning("database.unavailable", error=" ".join(str(error).split()))
        return reconnect_delay(self.failures)

    def ended(self) -> None:
        """Record a success: log how long the database was away, if it was."""
        if self.since is not None:
            down = self.clock() - self.since
            log.info("database.reconnected", down_seconds=round(down, 3), attempts=self.failures)
        self.failures, self.since = 0, None


class LongLivedConnection:
    """One autocommit connection to `url`, checked before each use and opened again once
    it is gone. For one thread; `db.DatabaseUnavailable` while the server cannot be
    reached."""

    def __init__(self, url: str, conn: psycopg.Connection[Any] | None = None) -> None:
        self.url = url
        self._conn = conn

    def _checked(self) -> psycopg.Connection[Any]:
        if self._conn is not None and not self._conn.closed:
            try:
                self._conn.execute("")
                return self._conn
            except psycopg.Error as error:
                log.info("database.connection_replaced", error=" ".join(str(error).split()))
                self.close()
        self._conn = db.connect(self.url, autocommit=True)
        return self._conn

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A live connection for a block (the same one as long as it works)."""
        conn = self._checked()
        try:
            yield conn
        except psycopg.Error:
            if conn.closed:
                self.close()
            raise

    def run(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """`work(conn)`; once more on a new connection if the connection died under it.
        For work that may safely run twice (reads, idempotent writes)."""
        conn: psycopg.Connection[Any] | None = None
        try:
            with self.connection() as conn:
                return work(conn)
        except psycopg.Error as error:
            if not connection_lost(error, conn):
                raise
        with self.connection() as conn:
            return work(conn)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> LongLivedConnection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
