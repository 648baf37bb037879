"""Rows as the harvester writes them, inserted with plain SQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
from psycopg import sql

from marketmanager import tokens

Conn = psycopg.Connection[Any]


def insert(conn: Conn, table: str, values: dict[str, Any]) -> Any:
    """Insert one row of `values` into `table`; its id."""
    names = ", ".join(values)
    marks = ", ".join(f"%({k})s" for k in values)
    row = conn.execute(
        f"INSERT INTO {table} ({names}) VALUES ({marks}) RETURNING id", values
    ).fetchone()
    assert row is not None
    return row["id"]


def exchange(conn: Conn, name: str, **columns: Any) -> int:
    return int(insert(conn, "exchanges", {"name": name, **columns}))


def markets(conn: Conn, exchange_id: int, count: int, *, prefix: str = "C") -> list[int]:
    """`count` markets PREFIX0001/USDT …, volumes decreasing, every 7th without volume."""
    with conn.cursor() as cur:
        cur.execute(
            """
            INSERT INTO markets (exchange_id, symbol, base, quote, last, bid, ask, base_volume,
                                 quote_volume, volume_usd, change_pct, updated_at)
            SELECT %(exchange_id)s, %(prefix)s || lpad(i::text, 5, '0') || '/USDT',
                   %(prefix)s || lpad(i::text, 5, '0'), 'USDT',
                   100 + i, 99.5 + i, 100.5 + i, 10 * i, 1000 * i,
                   CASE WHEN i %% 7 = 0 THEN NULL ELSE (i %% 50) * 1000 END,
                   (i %% 11) - 5, now() - make_interval(secs => i)
            FROM generate_series(1, %(count)s) AS i
            RETURNING id
            """,
            {"exchange_id": exchange_id, "count": count, "prefix": prefix},
        )
        return [row["id"] for row in cur.fetchall()]


def market(conn: Conn, exchange_id: int, symbol: str, **columns: Any) -> int:
    base, _, quote = symbol.partition("/")
    values = {"exchange_id": exchange_id, "symbol": symbol, "base": base, "quote": quote}
    values.update(columns)
    return int(insert(conn, "markets", values))


def run(conn: Conn, exchange_id: int, state: str, **columns: Any) -> int:
    """A run in `state`, with the timestamps its state requires (now, unless given)."""
    now = dt.datetime.now(dt.UTC)
    values: dict[str, Any] = {"exchange_id": exchange_id, "state": state, "trigger": "SCHEDULE"}
    if state != "QUEUED":
        values.update(started_at=now, heartbeat_at=now, node="node-1", worker="worker-1")
    if state in ("SUCCEEDED", "FAILED", "CRASHED"):
        values["finished_at"] = now
    values.update(columns)
    return int(insert(conn, "harvest_runs", values))


def node(conn: Conn, node_id: str, **columns: Any) -> None:
    values: dict[str, Any] = {"id": node_id, "host": "host-a", "pid": 4242, "pool_size": 2}
    values.update(columns)
    insert(conn, "harvester_nodes", values)


def token(conn: Conn, name: str, level: str = "write") -> str:
    return tokens.create(conn, name, level)[1]


def clear(conn: Conn) -> None:
    conn.execute("TRUNCATE exchanges, harvester_nodes, api_tokens RESTART IDENTITY CASCADE")


def table_contents(conn: Conn, *, ignoring: tuple[str, ...] = ()) -> dict[str, str]:
    """Every table of the schema and all its rows as JSON text, in a stable order,
    without the columns named in `ignoring`."""
    tables = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    ).fetchall()
    contents = {}
    for row in tables:
        text = conn.execute(
            sql.SQL(
                "SELECT coalesce(string_agg(j::text, E'\\n' ORDER BY j::text), '') AS rows "
                "FROM (SELECT to_jsonb(t) - %(ignoring)s::text[] AS j FROM {} AS t) AS s"
            ).format(sql.Identifier(row["tablename"])),
            {"ignoring": list(ignoring)},
        ).fetchone()
        assert text is not None
        contents[row["tablename"]] = text["rows"]
    return contents
