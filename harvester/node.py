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
from marketmanager.reconnect import LongLivedConnection, Outage, connection_lost

log = structlog.get_logger()


def new_node_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def register(conn: psycopg.Connection[Any], node_id: str, pool_size: int) -> None:
    db.execute(
        conn,
        "register_node",
        {"id": node_id, "host": socket.gethostname(), "pid": os.getpid(), "pool_size": pool_size},
    )


def beat(
    conn: psycopg.Connection[Any], node_id: str, processes: list[dict[str, Any]], pool_size: int
) -> bool:
    """Record the node alive with its children; True once it is drained (stop now).
    A node whose row is gone (e.g. a database restored from a backup) registers again."""
    params = {"id": node_id, "processes": Jsonb(processes)}
    if db.execute(conn, "node_heartbeat", params) == 0:
        log.warning("node.registered_again")
        register(conn, node_id, pool_size)
        db.execute(conn, "node_heartbeat", params)
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
    """The parent's own connection for its node row, checked before each beat and
    reopened after the database went away."""

    def __init__(self, database: LongLivedConnection, node_id: str, pool_size: int) -> None:
        self.database = database
        self.node_id = node_id
        self.pool_size = pool_size
        self.outage = Outage()

    def beat(self, processes: list[dict[str, Any]]) -> bool:
        """`beat`, never raising: a failed beat is tried again next time (an outage of the
        database is logged when it starts and when it ends, not at every beat)."""
        try:
            drained = self.database.run(
                lambda conn: beat(conn, self.node_id, processes, self.pool_size)
            )
        except (psycopg.Error, db.DatabaseUnavailable) as error:
            if not connection_lost(error):
                log.warning("node.beat_failed", error=str(error))
            self.outage.failed(error)
            return False
        self.outage.ended()
        return drained

    def leave(self) -> None:
        try:
            self.database.run(lambda conn: leave(conn, self.node_id))
        except (psycopg.Error, db.DatabaseUnavailable) as error:
            log.error("node.leave_failed", error=str(error))
        finally:
            self.database.close()
