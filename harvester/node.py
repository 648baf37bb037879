"""This host's entry in harvester_nodes: register, beat, leave."""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from marketmanager import db


def new_node_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def register(conn: psycopg.Connection[Any], node_id: str, pool_size: int) -> None:
    db.execute(
        conn,
        "register_node",
        {"id": node_id, "host": socket.gethostname(), "pid": os.getpid(), "pool_size": pool_size},
    )


def beat(conn: psycopg.Connection[Any], node_id: str, processes: list[dict[str, Any]]) -> None:
    db.execute(conn, "node_heartbeat", {"id": node_id, "processes": Jsonb(processes)})


def leave(conn: psycopg.Connection[Any], node_id: str) -> None:
    db.execute(conn, "node_stopped", {"id": node_id})
