"""Rows of the database as the tests arrange and read them, for unit, integration and
acceptance tests alike: through the production queries where there is one (an exchange
through ``insert_exchange``, a finished run through `harvester.harvest.runs`), plain
SQL for states only a harvest would reach (volumes, runs in a given state, nodes)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
from psycopg import sql

from harvester.harvest import runs
from marketmanager import db, tokens

Conn = psycopg.Connection[Any]
Row = dict[str, Any]
HOUR = 3600  # an interval no test outlives: the scheduler queues an exchange's first run only
# what insert_exchange takes; any other column is set by an UPDATE afterwards
_INSERTED = {"enabled": True, "api_url": None, "interval_seconds": 60, "url": None, "logo": None}


def insert(conn: Conn, table: str, values: Row) -> Any:
    """Insert one row of `values` into `table`; its id."""
    statement = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING id").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, values)),
        sql.SQL(", ").join(map(sql.Placeholder, values)),
    )
    row = conn.execute(statement, values).fetchone()
    assert row is not None
    return row["id"]


def add_exchange(
    conn: Conn, name: str, api_url: str | None = None, interval_seconds: int = 60, **columns: Any
) -> int:
    """An exchange, added as the CLI and the API add one; `columns` beyond what they take
    (e.g. volume_usd, last_update_at) are set afterwards. Its id."""
    params = {**_INSERTED, "name": name, "api_url": api_url, "interval_seconds": interval_seconds}
    params.update((key, columns.pop(key)) for key in list(columns) if key in _INSERTED)
    row = db.fetch_one(conn, "insert_exchange", params)
    assert row is not None
    if columns:
        conn.execute(
            sql.SQL("UPDATE exchanges SET ({}) = ROW({}) WHERE id = %(id)s").format(
                sql.SQL(", ").join(map(sql.Identifier, columns)),
                sql.SQL(", ").join(map(sql.Placeholder, columns)),
            ),
            {**columns, "id": row["id"]},
        )
    return int(row["id"])


def exchange_row(conn: Conn, name: str) -> Row:
    row = db.fetch_one(conn, "exchange_by_name", {"name": name})
    assert row is not None, name
    return row


def _exchange_id(conn: Conn, exchange: int | str) -> int:
    return exchange if isinstance(exchange, int) else int(exchange_row(conn, exchange)["id"])


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
    values: Row = {"exchange_id": exchange_id, "state": state, "trigger": "SCHEDULE"}
    if state != "QUEUED":
        values.update(started_at=now, heartbeat_at=now, node="node-1", worker="worker-1")
    if state in ("SUCCEEDED", "FAILED", "CRASHED"):
        values["finished_at"] = now
    values.update(columns)
    return int(insert(conn, "harvest_runs", values))


def mark_harvested(conn: Conn, exchange_id: int) -> None:
    """Record a run that finished just now, so that the scheduler leaves the exchange alone
    for its interval (tests that queue their own runs)."""
    record = runs.create_run(conn, exchange_id, running=True, node="test")
    assert runs.finish_succeeded(conn, record.id, 0)


def node(conn: Conn, node_id: str, **columns: Any) -> None:
    values: Row = {"id": node_id, "host": "host-a", "pid": 4242, "pool_size": 2}
    values.update(columns)
    insert(conn, "harvester_nodes", values)


def token(conn: Conn, name: str, level: str = "write") -> str:
    return tokens.create(conn, name, level)[1]


def clear(conn: Conn) -> None:
    conn.execute("TRUNCATE exchanges, harvester_nodes, api_tokens RESTART IDENTITY CASCADE")


def runs_of(conn: Conn, exchange: int | str | None = None) -> list[Row]:
    """Runs (of one exchange, by id or name, or all) with the exchange's name, oldest first."""
    exchange_id = None if exchange is None else _exchange_id(conn, exchange)
    return conn.execute(
        "SELECT r.*, e.name AS exchange FROM harvest_runs r JOIN exchanges e"
        " ON e.id = r.exchange_id WHERE %(id)s::bigint IS NULL OR e.id = %(id)s"
        " ORDER BY r.id",
        {"id": exchange_id},
    ).fetchall()


def run_by_id(conn: Conn, run_id: int) -> Row:
    row = db.fetch_one(conn, "run_by_id", {"run_id": run_id})
    assert row is not None, run_id
    return row


def markets_of(conn: Conn, exchange: int | str) -> dict[str, Row]:
    """symbol → row of an exchange's markets (by its id or name)."""
    rows = conn.execute(
        "SELECT * FROM markets WHERE exchange_id = %s ORDER BY id",
        (_exchange_id(conn, exchange),),
    ).fetchall()
    return {row["symbol"]: row for row in rows}


def tick_count(conn: Conn, exchange_id: int) -> int:
    row = conn.execute(
        "SELECT count(*) AS n FROM market_ticks AS t JOIN markets AS m ON m.id = t.market_id"
        " WHERE m.exchange_id = %s",
        (exchange_id,),
    ).fetchone()
    assert row is not None
    return int(row["n"])


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
