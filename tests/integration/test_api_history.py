"""Market.history: buckets computed by hand, the 2,000-point limit, and the query plan."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

from sql import queries
from tests.support import rows
from tests.support.api_fixtures import *  # noqa: F403
from tests.support.api_fixtures import Api

DAY = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
HISTORY = """query ($from: DateTime!, $to: DateTime!, $every: Int!) {
  market(exchange: "binance", symbol: "BTC/USDT") {
    history(from: $from, to: $to, everySeconds: $every) {
      time open high low close bid ask baseVolume quoteVolume ticks
    }
  }
}"""


def at(seconds: int) -> dt.datetime:
    return DAY + dt.timedelta(seconds=seconds)


def add_ticks(conn: psycopg.Connection[Any], market_id: int, ticks: list[tuple[Any, ...]]) -> None:
    conn.execute("SELECT ensure_market_ticks_partitions(%s::date - 1, 3)", (DAY.date(),))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO market_ticks (market_id, ts, last, bid, ask, base_volume, quote_volume)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [(market_id, at(second), *values) for second, *values in ticks],
        )


def test_history_buckets_match_those_computed_by_hand(api: Api) -> None:
    exchange = rows.add_exchange(api.conn, "binance")
    market = rows.market(api.conn, exchange, "BTC/USDT")
    other = rows.market(api.conn, exchange, "ETH/USDT")
    #          second  last  bid  ask  base quote
    add_ticks(api.conn, market, [
        (0,   10,   9,   11,  1,   10),   # before `from`: left out
        (10,  12,   11,  13,  2,   20),
        (20,  8,    7,   9,   3,   30),
        (40,  None, 10,  12,  4,   40),   # no last: no open/high/low/close
        (70,  20,   19,  21,  5,   50),
        (120, 30,   29,  31,  6,   60),   # at `to`: left out
    ])  # fmt: skip
    add_ticks(api.conn, other, [(10, 999, 999, 999, 999, 999)])
    variables = {"from": at(5).isoformat(), "to": at(120).isoformat(), "every": 30}
    points = api.client.query(HISTORY, variables)["market"]["history"]
    assert points == [
        {
            "time": at(5).isoformat(),
            "open": 12.0,
            "high": 12.0,
            "low": 8.0,
            "close": 8.0,
            "bid": 9.0,
            "ask": 11.0,
            "baseVolume": 3.0,
            "quoteVolume": 30.0,
            "ticks": 2,
        },
        {
            "time": at(35).isoformat(),
            "open": None,
            "high": None,
            "low": None,
            "close": None,
            "bid": 10.0,
            "ask": 12.0,
            "baseVolume": 4.0,
            "quoteVolume": 40.0,
            "ticks": 1,
        },
        {
            "time": at(65).isoformat(),
            "open": 20.0,
            "high": 20.0,
            "low": 20.0,
            "close": 20.0,
            "bid": 19.0,
            "ask": 21.0,
            "baseVolume": 5.0,
            "quoteVolume": 50.0,
            "ticks": 1,
        },
    ]  # fmt: skip  (the bucket at 95 s has no tick: absent)


def test_more_than_2000_points_is_a_bad_user_input(api: Api) -> None:
    rows.market(api.conn, rows.add_exchange(api.conn, "binance"), "BTC/USDT")
    day = {"from": at(0).isoformat(), "to": at(86_400).isoformat()}
    [(code, field, message)] = api.client.errors(HISTORY, {**day, "every": 10})
    assert (code, field) == ("BAD_USER_INPUT", "everySeconds") and "8640 buckets" in message
    backwards = api.client.errors(HISTORY, {"from": day["to"], "to": day["from"], "every": 60})
    assert [error[:2] for error in backwards] == [("BAD_USER_INPUT", "to")]
    assert len(api.client.query(HISTORY, {**day, "every": 60})["market"]["history"]) == 0


def test_a_day_of_history_reads_the_index_of_that_day_partition_only(
    conn: psycopg.Connection[Any],
) -> None:
    exchange = rows.add_exchange(conn, "binance")
    markets = rows.markets(conn, exchange, 20)
    conn.execute("SELECT ensure_market_ticks_partitions(%s::date - 1, 3)", (DAY.date(),))
    conn.execute(  # 10-second ticks of 20 markets from the day before to the day after
        "INSERT INTO market_ticks (market_id, ts, last, bid, ask)"
        " SELECT m, %s::timestamptz + make_interval(secs => s), 1, 1, 1"
        " FROM unnest(%s::bigint[]) AS m, generate_series(-86400, 2 * 86400 - 10, 10) AS s",
        (DAY, markets),
    )
    conn.execute("ANALYZE market_ticks")
    params = {"market_id": markets[3], "from": DAY, "to": at(86_400), "every": 300}
    plan = "\n".join(
        row["QUERY PLAN"]
        for row in conn.execute("EXPLAIN " + queries["api_market_history"], params).fetchall()
    )
    assert "market_ticks_p20260102_market_id_ts_idx" in plan, plan
    assert "Seq Scan" not in plan, plan
    assert "p20260101" not in plan and "p20260103" not in plan, plan
    print(f"\n{plan}")
