"""What the control commands do to this node and the queue (synchronous, one connection).

`NodeControl` answers on the connection it is given; `ReconnectingControl` (what the
control child serves) gives it a checked one for each command, opened again after the
database went away, so a restart of the database costs the control socket nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import psycopg

from harvester.context import ChildContext
from harvester.control.protocol import BadRequest, Request
from harvester.harvest import runs
from harvester.tree_state import ChildSlots, process_alive
from marketmanager import db
from marketmanager.reconnect import LongLivedConnection


class Commands(Protocol):
    def handle(self, request: Request) -> dict[str, Any]: ...


class NodeControl:
    def __init__(
        self, conn: psycopg.Connection[Any], node_id: str, children: ChildSlots | None = None
    ) -> None:
        self.conn = conn
        self.node_id = node_id
        self.children = children  # the parent's live view; None: the last heartbeat's

    @classmethod
    @contextmanager
    def connect(cls, ctx: ChildContext) -> Iterator[Commands]:
        with LongLivedConnection(ctx.database_url) as database:
            yield ReconnectingControl(database, ctx.node_id, ctx.children)

    def handle(self, request: Request) -> dict[str, Any]:
        if request.cmd == "status":
            return self.status()
        if request.cmd in ("pause", "resume"):
            db.execute(
                self.conn,
                "set_node_paused",
                {"node": self.node_id, "paused": request.cmd == "pause"},
            )
            return self.status()
        if request.cmd == "drain":
            db.execute(self.conn, "set_node_draining", {"node": self.node_id})
            return self.status()
        assert request.cmd == "run" and request.exchange is not None
        return self.queue_run(request.exchange)

    def status(self) -> dict[str, Any]:
        node = db.fetch_one(self.conn, "node_state", {"node": self.node_id})
        if node is None:
            raise BadRequest(f"node {self.node_id} is not registered")
        processes = self.processes(node["processes"])
        queue = db.fetch_one(self.conn, "queue_depth") or {"queued": 0, "due": 0}
        running = db.fetch_all(self.conn, "running_runs")
        return {
            "node": self.node_id,
            "host": node["host"],
            "pid": node["pid"],
            "started_at": node["started_at"],
            "heartbeat_at": node["heartbeat_at"],
            "paused": node["paused"],
            "draining": node["draining"],
            "pool_size": node["pool_size"],
            "processes": processes,
            "queue_depth": queue["queued"],
            "queue_due": queue["due"],
            "running": [run for run in running if run["node"] == self.node_id],
            "running_elsewhere": sum(1 for run in running if run["node"] != self.node_id),
        }

    def processes(self, beaten: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The children as the parent knows them now (`beaten`: the heartbeat's list)."""
        if self.children is not None:
            return self.children.read()
        return [{**child, "alive": process_alive(child.get("pid"))} for child in beaten]

    def queue_run(self, name: str) -> dict[str, Any]:
        """Queue a MANUAL run, or return the exchange's QUEUED/RUNNING one."""
        exchange = db.fetch_one(self.conn, "exchange_by_name", {"name": name})
        if exchange is None:
            raise BadRequest(
                f"unknown exchange {name!r} (add it with `marketmanager exchanges add`)"
            )
        try:
            run = runs.create_run(self.conn, exchange["id"], trigger="MANUAL")
            created = True
        except runs.RunConflict:
            row = db.fetch_one(self.conn, "active_run_of_exchange", {"exchange_id": exchange["id"]})
            if row is None:  # it finished in between: try once more
                return self.queue_run(name)
            run, created = runs.Run.from_row(row), False
        return {
            "run": {"id": run.id, "exchange": name, "state": run.state, "trigger": run.trigger},
            "created": created,
        }


class ReconnectingControl:
    """`NodeControl` on a checked connection for each command; a command whose
    connection died under it runs once more on a new one (each command may: status
    reads, pause/resume/drain set a flag, run returns the run already queued)."""

    def __init__(
        self, database: LongLivedConnection, node_id: str, children: ChildSlots | None = None
    ) -> None:
        self.database = database
        self.node_id = node_id
        self.children = children

    def handle(self, request: Request) -> dict[str, Any]:
        return self.database.run(
            lambda conn: NodeControl(conn, self.node_id, self.children).handle(request)
        )
