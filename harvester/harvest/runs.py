"""Run records (``harvest_runs``): small functions over named queries, and a heartbeat.

Each function commits on its own (an autocommit connection, or a transaction block it
opens); ``start``/``finish`` return False when the run was not in the expected state,
e.g. a poller marked it CRASHED meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, fields
from types import TracebackType
from typing import Any, Literal

import psycopg
from psycopg import errors as pg_errors

from marketmanager import db
from marketmanager.reconnect import LongLivedConnection, connection_lost

Trigger = Literal["SCHEDULE", "MANUAL", "RETRY"]


class RunConflict(RuntimeError):
    """The exchange already has a QUEUED or RUNNING run."""


@dataclass(frozen=True, slots=True)
class Run:
    id: int
    exchange_id: int
    state: str
    trigger: str
    attempt: int
    node: str | None
    worker: str | None
    markets_count: int | None
    error: str | None
    retryable: bool | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Run:
        return cls(**{spec.name: row[spec.name] for spec in fields(cls)})


def create_run(
    conn: psycopg.Connection[Any],
    exchange_id: int,
    *,
    trigger: Trigger = "MANUAL",
    running: bool = False,
    node: str | None = None,
    worker: str | None = None,
    attempt: int = 1,
    retry_of: int | None = None,
) -> Run:
    """A new run, QUEUED (or RUNNING on `node`/`worker` when `running`); `RunConflict`
    when the exchange already has an active run."""
    params = {
        "exchange_id": exchange_id,
        "state": "RUNNING" if running else "QUEUED",
        "trigger": trigger,
        "attempt": attempt,
        "retry_of": retry_of,
        "node": node,
        "worker": worker,
    }
    try:
        with conn.transaction():
            row = db.fetch_one(conn, "insert_run", params)
    except pg_errors.UniqueViolation as error:
        raise RunConflict(f"exchange {exchange_id} already has a queued or running run") from error
    assert row is not None
    return Run.from_row(row)


def get_run(conn: psycopg.Connection[Any], run_id: int) -> Run | None:
    row = db.fetch_one(conn, "run_by_id", {"run_id": run_id})
    return Run.from_row(row) if row else None


def start_run(conn: psycopg.Connection[Any], run_id: int, *, node: str, worker: str) -> bool:
    """QUEUED → RUNNING on `node`/`worker`; False if the run was not QUEUED."""
    with conn.transaction():
        row = db.fetch_one(conn, "start_run", {"run_id": run_id, "node": node, "worker": worker})
    return row is not None


def heartbeat(conn: psycopg.Connection[Any], run_id: int) -> bool:
    """Mark a RUNNING run alive; False if it is not RUNNING any more."""
    with conn.transaction():
        return db.execute(conn, "heartbeat_run", {"run_id": run_id}) == 1


def heartbeat_many(conn: psycopg.Connection[Any], run_ids: Collection[int]) -> dict[int, str]:
    """Mark the RUNNING runs among `run_ids` alive, in one statement; each one's state."""
    with conn.transaction():
        rows = db.fetch_all(conn, "heartbeat_runs", {"run_ids": list(run_ids)})
    return {row["id"]: row["state"] for row in rows}


def taken_away(run_ids: Iterable[int], states: Mapping[int, str]) -> set[int]:
    """The runs a worker holds that are not its own any more: CRASHED by a poller, put
    back in the queue, or deleted with their exchange. Finished ones are not lost."""
    return {run_id for run_id in run_ids if states.get(run_id) not in FINISHED_OR_RUNNING}


FINISHED_OR_RUNNING = frozenset({"RUNNING", "SUCCEEDED", "FAILED"})


def finish_succeeded(conn: psycopg.Connection[Any], run_id: int, markets_count: int) -> bool:
    """RUNNING → SUCCEEDED. The write path calls it inside its own transaction."""
    params = {"run_id": run_id, "markets_count": markets_count}
    with conn.transaction():
        return db.fetch_one(conn, "finish_run_succeeded", params) is not None


def finish_failed(
    conn: psycopg.Connection[Any], run_id: int, error: str, *, retryable: bool
) -> bool:
    """QUEUED/RUNNING → FAILED with a one-line error."""
    params = {"run_id": run_id, "error": error, "retryable": retryable}
    with conn.transaction():
        return db.fetch_one(conn, "finish_run_failed", params) is not None


class Heartbeat:
    """Beats a RUNNING run every `every` seconds from a thread with its own connection.

    ``with Heartbeat(url, run_id, every=5): harvest…`` keeps a long foreground run from
    looking stale to the poller. A lost connection is opened again at the next beat (the
    database may restart under a long run); other errors end the beats: a missed beat
    is not fatal.
    `on_lost` is called (from the thread) when the run stopped being RUNNING under us,
    e.g. the poller crashed it for running past MM_RUN_TIMEOUT.
    """

    def __init__(
        self,
        url: str,
        run_id: int,
        *,
        every: float,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        self._on_lost = on_lost
        self._url = url
        self._run_id = run_id
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{run_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def beat_once(self, conn: psycopg.Connection[Any]) -> bool:
        """One beat; False when the work is no longer ours (a candle job's lane overrides it)."""
        return heartbeat(conn, self._run_id)

    def _beat(self) -> None:
        with LongLivedConnection(self._url) as database:
            while not self._stop.wait(self._every):
                try:
                    alive = database.run(self.beat_once)
                except (psycopg.Error, db.DatabaseUnavailable) as error:
                    if connection_lost(error):
                        continue  # the database is away: beat again when it is back
                    return
                if not alive:
                    if self._on_lost is not None and not self._stop.is_set():
                        self._on_lost()
                    return
