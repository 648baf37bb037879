"""Keyset pagination over 2,000 markets: every row exactly once, even while rows change;
and the DataLoaders: a nested query's statement count does not grow with the rows."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import rows
from tests.support.api_fixtures import *  # noqa: F403  (the api fixtures)
from tests.support.api_fixtures import Api
from tests.support.api_statements import count_statements

PAGE = """
query($order: MarketOrder, $after: String, $exchange: String) {
  markets(orderBy: $order, first: 150, after: $after, exchange: $exchange) {
    totalCount
    edges { cursor node { id } }
    pageInfo { hasNextPage endCursor startCursor }
  }
}
"""


def walk(api: Api, order: str, between_pages: Any = None, **variables: Any) -> list[str]:
    seen: list[str] = []
    after = None
    while True:
        got = api.client.query(PAGE, {"order": order, "after": after, **variables})["markets"]
        ids = [edge["node"]["id"] for edge in got["edges"]]
        seen += ids
        info = got["pageInfo"]
        if ids:
            assert info["endCursor"] == got["edges"][-1]["cursor"]
            assert info["startCursor"] == got["edges"][0]["cursor"]
        if not info["hasNextPage"]:
            return seen
        after = info["endCursor"]
        if between_pages:
            between_pages()


@pytest.mark.parametrize(
    "order", ["VOLUME_USD_DESC", "SYMBOL_ASC", "UPDATED_AT_DESC", "CHANGE_PCT_DESC"]
)
def test_every_market_exactly_once(api: Api, order: str) -> None:
    ids = {str(i) for i in rows.markets(api.conn, rows.add_exchange(api.conn, "binance"), 2000)}
    seen = walk(api, order)
    assert len(seen) == len(ids) and set(seen) == ids


def test_every_market_exactly_once_while_the_harvester_writes(api: Api) -> None:
    """Between pages, every market's prices change and new markets appear ahead of the
    cursor (as a harvest would do): offsets would repeat rows, keysets do not."""
    binance = rows.add_exchange(api.conn, "binance")
    ids = {str(i) for i in rows.markets(api.conn, binance, 2000)}
    kraken = rows.add_exchange(api.conn, "kraken")
    added: list[int] = []

    def harvest() -> None:
        api.conn.execute(
            "UPDATE markets SET last = last * 1.01, bid = bid * 1.01, ask = ask * 1.01, "
            "updated_at = now() WHERE exchange_id = %s",
            [binance],
        )
        added.extend(rows.markets(api.conn, kraken, 5, prefix=f"A{len(added):03d}"))
        api.conn.execute("UPDATE markets SET volume_usd = 10e9 WHERE exchange_id = %s", [kraken])

    for order in ("SYMBOL_ASC", "VOLUME_USD_DESC"):
        seen = walk(api, order, harvest, exchange=None)
        original = [i for i in seen if i in ids]
        assert len(original) == 2000 and set(original) == ids, order
        assert len(seen) == len(set(seen)), f"{order}: a row came twice"


def test_bad_page_arguments(api: Api) -> None:
    rows.markets(api.conn, rows.add_exchange(api.conn, "binance"), 3)
    symbol_cursor = api.client.query(
        "{ markets(orderBy: SYMBOL_ASC, first: 1) { pageInfo { endCursor } } }"
    )
    cursor = symbol_cursor["markets"]["pageInfo"]["endCursor"]
    cases = {
        "{ markets(first: -1) { totalCount } }": ("BAD_USER_INPUT", "first"),
        "{ markets(first: 501) { totalCount } }": ("BAD_USER_INPUT", "first"),
        '{ markets(after: "garbage") { totalCount } }': ("BAD_USER_INPUT", "after"),
        f'{{ markets(after: "{cursor}") {{ totalCount }} }}': ("BAD_USER_INPUT", "after"),
        '{ exchanges(after: "e30") { totalCount } }': ("BAD_USER_INPUT", "after"),
        "{ runs(first: 1000) { totalCount } }": ("BAD_USER_INPUT", "first"),
        '{ exchange(name: "binance") { markets(first: 501) { totalCount } } }': (
            "BAD_USER_INPUT",
            "first",
        ),
    }
    for query, expected in cases.items():
        code, field, _ = api.client.errors(query)[0]
        assert (code, field) == expected, query
    assert api.client.query(
        "{ markets(first: 0) { nodes { id } pageInfo { hasNextPage endCursor } } }"
    ) == {"markets": {"nodes": [], "pageInfo": {"hasNextPage": True, "endCursor": None}}}
    assert api.client.query(
        f'{{ markets(orderBy: SYMBOL_ASC, after: "{cursor}") {{ totalCount nodes {{ symbol }} }} }}'
    )["markets"] == {
        "totalCount": 3,
        "nodes": [{"symbol": "C00002/USDT"}, {"symbol": "C00003/USDT"}],
    }


NESTED = """
{ exchanges(first: 100) { nodes { name status { state }
    markets(first: 5) { totalCount nodes { symbol exchange { name status { state } } } }
    runs(first: 2) { totalCount nodes { state exchange { name } } } } } }
"""


def test_nested_queries_are_batched(api: Api, api_db: str) -> None:
    def add(count: int, start: int) -> None:
        for i in range(start, start + count):
            exchange_id = rows.add_exchange(api.conn, f"ex{i:03d}")
            rows.markets(api.conn, exchange_id, 7)
            rows.run(api.conn, exchange_id, "SUCCEEDED")
            rows.run(api.conn, exchange_id, "QUEUED")

    add(2, 0)
    few, small = count_statements(api_db, NESTED)
    add(38, 2)
    many, big = count_statements(api_db, NESTED)
    assert len(small["exchanges"]["nodes"]) == 2 and len(big["exchanges"]["nodes"]) == 40
    node = big["exchanges"]["nodes"][7]
    assert len(node["markets"]["nodes"]) == 5 and node["markets"]["totalCount"] == 7
    assert {m["exchange"]["name"] for m in node["markets"]["nodes"]} == {node["name"]}
    assert node["status"]["state"] == "QUEUED" and node["runs"]["totalCount"] == 2
    # exchanges, run summaries, market pages, market counts, run pages, run counts
    assert few == many == 6
