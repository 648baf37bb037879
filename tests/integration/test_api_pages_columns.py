"""Pages of markets load only the columns of the fields asked for: whatever the fields,
however they are selected, a page gives what the whole row gives."""

from __future__ import annotations

import datetime as dt

from tests.support import rows
from tests.support.api_fixtures import *  # noqa: F403  (the api fixtures)
from tests.support.api_fixtures import Api

EVERY_FIELD = """
    id symbol base quote type active last bid ask baseVolume quoteVolume volumeUsd changePct
    exchangeTs updatedAt spreadPct anomalous stale exchange { name } __typename
"""


def test_pages_give_what_whole_rows_give(api: Api) -> None:
    now = dt.datetime.now(dt.UTC)
    binance = rows.add_exchange(api.conn, "binance")
    rows.market(
        api.conn, binance, "BTC/USDT", last=100, bid=99, ask=101, base_volume=3,
        quote_volume=300, volume_usd=300, change_pct=1.5, exchange_ts=now, updated_at=now,
    )  # fmt: skip
    rows.market(api.conn, binance, "ETH/USDT", last=150, bid=99, ask=101, updated_at=now)
    rows.market(api.conn, binance, "OFF/USDT", active=False, type="swap")
    whole = {
        symbol: api.client.query(
            f'{{ market(exchange: "binance", symbol: "{symbol}") {{ {EVERY_FIELD} }} }}'
        )["market"]
        for symbol in ("BTC/USDT", "ETH/USDT", "OFF/USDT")
    }

    def by_symbol(nodes: list[dict[str, object]]) -> dict[object, dict[str, object]]:
        return {node["symbol"]: node for node in nodes}

    page = api.client.query(f"{{ markets {{ nodes {{ {EVERY_FIELD} }} }} }}")["markets"]
    assert by_symbol(page["nodes"]) == whole
    nested = api.client.query(
        f"{{ exchanges {{ nodes {{ markets(first: 2) {{ nodes {{ {EVERY_FIELD} }} }} }} }} }}"
    )["exchanges"]["nodes"][0]["markets"]["nodes"]
    assert by_symbol(nested) == {node["symbol"]: whole[node["symbol"]] for node in nested}

    # each field alone (with the symbol, to match rows): its columns, and no others
    for field in EVERY_FIELD.replace("{ name }", "").split():
        selection = "exchange { name }" if field == "exchange" else field
        alone = api.client.query(f"{{ markets {{ nodes {{ symbol {selection} }} }} }}")
        for node in alone["markets"]["nodes"]:
            assert node[field] == whole[node["symbol"]][field], field

    # the same fields in pieces: edges, fragments, aliases, and on the nested pages
    pieces = """
        edges { cursor node { symbol ...Prices ... on Market { stale } } }
        nodes { s: symbol spreadPct exchange { name } }
    """
    fragment = "fragment Prices on Market { last bid ask anomalous }"
    for query in (
        f"{{ markets {{ {pieces} }} }} {fragment}",
        f"{{ exchanges {{ nodes {{ markets {{ {pieces} }} }} }} }} {fragment}",
    ):
        got = api.client.query(query)
        listing = got["markets"] if "markets" in got else got["exchanges"]["nodes"][0]["markets"]
        for edge, node in zip(listing["edges"], listing["nodes"], strict=True):
            expected = whole[edge["node"]["symbol"]]
            fields = ("symbol", "last", "bid", "ask", "anomalous", "stale")
            assert edge["node"] == {field: expected[field] for field in fields}
            assert node == {
                "s": expected["symbol"],
                "spreadPct": expected["spreadPct"],
                "exchange": {"name": "binance"},
            }


def test_aliased_listings_load_their_own_columns(api: Api) -> None:
    binance = rows.add_exchange(api.conn, "binance")
    rows.market(api.conn, binance, "BTC/USDT", last=100, bid=99, ask=101, volume_usd=2)
    rows.market(api.conn, binance, "ETH/USDT", last=150, bid=149, ask=151, volume_usd=1)
    got = api.client.query(
        """{ exchanges { nodes {
            a: markets(first: 2) { nodes { symbol } }
            b: markets(first: 2) { nodes { spreadPct last } }
        } } }"""
    )["exchanges"]["nodes"][0]
    assert got["a"]["nodes"] == [{"symbol": "BTC/USDT"}, {"symbol": "ETH/USDT"}]
    assert [node["last"] for node in got["b"]["nodes"]] == [100.0, 150.0]
    assert all(node["spreadPct"] > 0 for node in got["b"]["nodes"])
