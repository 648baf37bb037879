"""This host's entry in harvester_nodes: register, beat, drain, leave."""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any

import psycopg
import structlog
from psycopg.types.json import Jsonb

from marketmanager import db

log = structlog.get_logger()


def new_node_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def register(conn: psycopg.Connection[Any], node_id: str, pool_size: int) -> None:
    db.execute(
        conn,
        "register_node",
        {"id": node_id, "host": socket.gethostname(), "pid": os.getpid(), "pool_size": pool_size},
    )


def beat(conn: psycopg.Connection[Any], node_id: str, processes: list[dict[str, Any]]) -> bool:
    """Record the node alive with its children; True once it is drained (stop now)."""
    db.execute(conn, "node_heartbeat", {"id": node_id, "processes": Jsonb(processes)})
    state = db.fetch_one(conn, "node_state", {"node": node_id})
    if not state or not state["draining"]:
        return False
    running = db.fetch_one(conn, "node_runs_running", {"node": node_id})
    return bool(running and running["running"] == 0)


def leave(conn: psycopg.Connection[Any], node_id: str) -> None:
    """Give back the runs this node could not finish, and say it stopped."""
    for row in db.fetch_all(conn, "requeue_node_runs", {"node": node_id}):
        log.warning("run.requeued", run_id=row["id"], exchange_id=row["exchange_id"])
    db.execute(conn, "node_stopped", {"id": node_id})


class NodeLink:
    """The parent's own connection for its node row, reopened after the database blinks."""

    def __init__(self, url: str, node_id: str, conn: psycopg.Connection[Any]) -> None:
        self.url = url
        self.node_id = node_id
        self._conn: psycopg.Connection[Any] | None = conn

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = db.connect(self.url, autocommit=True)
        return self._conn

    def beat(self, processes: list[dict[str, Any]]) -> bool:
        """`beat`, never raising: a failed beat is logged and tried again next time."""
        try:
            return beat(self._connection(), self.node_id, processes)
        except (psycopg.Error, db.DatabaseUnavailable) as error:
            log.warning("node.beat_failed", error=str(error))
            if self._conn is not None:
                self._conn.close()
            return False

    def leave(self) -> None:
        try:
            leave(self._connection(), self.node_id)
        except (psycopg.Error, db.DatabaseUnavailable) as error:
            log.error("node.leave_failed", error=str(error))
        finally:
            if self._conn is not None:
                self._conn.close()
