"""Every query of the API through HTTP, against rows inserted as the harvester writes them."""

from __future__ import annotations

import datetime as dt
import json

import ccxt

from tests.support import rows
from tests.support.api_fixtures import *  # noqa: F403  (the api fixtures)
from tests.support.api_fixtures import Api

EXCHANGE_FIELDS = """
    id name enabled logo url apiUrl volumeUsd topPair topPairVolumeUsd unpricedMarkets
    intervalSeconds createdAt updatedAt lastUpdateAt
"""
MARKET_FIELDS = """
    id symbol base quote type active last bid ask baseVolume quoteVolume volumeUsd changePct
    exchangeTs updatedAt spreadPct anomalous stale exchange { name }
"""
RUN_FIELDS = """
    id state trigger attempt retryOf queuedAt notBefore startedAt heartbeatAt finishedAt node
    worker marketsCount error retryable exchange { name }
"""
HOUR = dt.timedelta(hours=1)


def test_exchange_exposes_every_column(api: Api) -> None:
    last = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
    rows.add_exchange(
        api.conn,
        "kraken",
        enabled=False,
        logo="https://example.com/logo.png",
        url="https://kraken.com",
        api_url="https://proxy.example.com",
        volume_usd=1234.5,
        top_pair="BTC/USD",
        top_pair_volume_usd=1000,
        unpriced_markets=3,
        interval_seconds=120,
        last_update_at=last,
    )
    got = api.client.query(f'{{ exchange(name: "kraken") {{ {EXCHANGE_FIELDS} }} }}')["exchange"]
    assert got == {
        "id": got["id"],
        "name": "kraken",
        "enabled": False,
        "logo": "https://example.com/logo.png",
        "url": "https://kraken.com",
        "apiUrl": "https://proxy.example.com",
        "volumeUsd": 1234.5,
        "topPair": "BTC/USD",
        "topPairVolumeUsd": 1000.0,
        "unpricedMarkets": 3,
        "intervalSeconds": 120,
        "createdAt": got["createdAt"],
        "updatedAt": got["updatedAt"],
        "lastUpdateAt": "2025-03-01T12:00:00+00:00",
    }
    assert api.client.query('{ exchange(name: "nope") { name } }') == {"exchange": None}


def test_market_exposes_every_column_and_its_flags(api: Api) -> None:
    exchange_id = rows.add_exchange(api.conn, "binance")
    now = dt.datetime.now(dt.UTC)
    rows.market(
        api.conn, exchange_id, "BTC/USDT", type="spot", last=100, bid=99, ask=101,
        base_volume=5, quote_volume=500, volume_usd=500, change_pct=-1.5,
        exchange_ts=now - HOUR, updated_at=now,
    )  # fmt: skip
    rows.market(api.conn, exchange_id, "ETH/USDT", last=150, bid=99, ask=101, updated_at=now)
    rows.market(api.conn, exchange_id, "OLD/USDT", updated_at=now - 25 * HOUR)
    rows.market(api.conn, exchange_id, "OFF/USDT", active=False)
    query = (
        f'query($s: String!) {{ market(exchange: "binance", symbol: $s) {{ {MARKET_FIELDS} }} }}'
    )

    btc = api.client.query(query, {"s": "BTC/USDT"})["market"]
    assert btc | {"id": None, "exchangeTs": None, "updatedAt": None} == {
        "id": None,
        "symbol": "BTC/USDT",
        "base": "BTC",
        "quote": "USDT",
        "type": "spot",
        "active": True,
        "last": 100.0,
        "bid": 99.0,
        "ask": 101.0,
        "baseVolume": 5.0,
        "quoteVolume": 500.0,
        "volumeUsd": 500.0,
        "changePct": -1.5,
        "exchangeTs": None,
        "updatedAt": None,
        "spreadPct": 2.0,
        "anomalous": False,
        "stale": False,
        "exchange": {"name": "binance"},
    }
    assert dt.datetime.fromisoformat(btc["exchangeTs"]) == (now - HOUR).replace(
        microsecond=now.microsecond
    )
    eth = api.client.query(query, {"s": "ETH/USDT"})["market"]
    assert eth["anomalous"] is True and eth["stale"] is False  # last 48 % above ask
    assert api.client.query(query, {"s": "OLD/USDT"})["market"]["stale"] is True
    assert api.client.query(query, {"s": "OFF/USDT"})["market"]["stale"] is True
    assert api.client.query(query, {"s": "NOPE/USDT"}) == {"market": None}
    tight = api.variant(stale_market_hours=0.5, anomaly_pct=1.0)
    flags = tight.query(query, {"s": "BTC/USDT"})["market"]
    assert flags["anomalous"] is True  # spread 2 % > 1 %
    tight.close()


def test_markets_filters_and_orders(api: Api) -> None:
    binance = rows.add_exchange(api.conn, "binance")
    kraken = rows.add_exchange(api.conn, "kraken")
    rows.market(api.conn, binance, "BTC/USDT", volume_usd=300, change_pct=1)
    rows.market(api.conn, binance, "ETH/USDT", volume_usd=200, change_pct=5)
    rows.market(api.conn, binance, "ETH/BTC", volume_usd=None, change_pct=None)
    rows.market(api.conn, kraken, "BTC/USD", volume_usd=400, change_pct=-2)
    rows.market(api.conn, kraken, "X_Y/USD", volume_usd=1)

    def symbols(args: str) -> list[str]:
        arguments = f"({args})" if args else ""
        got = api.client.query(f"{{ markets{arguments} {{ totalCount nodes {{ symbol }} }} }}")
        nodes = [n["symbol"] for n in got["markets"]["nodes"]]
        assert got["markets"]["totalCount"] == len(nodes)
        return nodes

    assert symbols("") == ["BTC/USD", "BTC/USDT", "ETH/USDT", "X_Y/USD", "ETH/BTC"]
    assert symbols("orderBy: SYMBOL_ASC") == [
        "BTC/USD",
        "BTC/USDT",
        "ETH/BTC",
        "ETH/USDT",
        "X_Y/USD",
    ]
    assert symbols("orderBy: CHANGE_PCT_DESC")[:3] == ["ETH/USDT", "BTC/USDT", "BTC/USD"]
    assert symbols('exchange: "kraken"') == ["BTC/USD", "X_Y/USD"]
    assert symbols('base: "ETH"') == ["ETH/USDT", "ETH/BTC"]
    assert symbols('quote: "USD"') == ["BTC/USD", "X_Y/USD"]
    assert symbols('search: "btc"') == ["BTC/USD", "BTC/USDT", "ETH/BTC"]
    assert symbols('search: "_"') == ["X_Y/USD"]  # wildcards are taken literally
    assert symbols('exchange: "binance", base: "ETH", quote: "BTC"') == ["ETH/BTC"]
    assert symbols("orderBy: null, first: null") == symbols("")
    assert api.client.errors('{ markets(exchange: "nope") { totalCount } }') == [
        ("NOT_FOUND", "exchange", "no exchange named 'nope'")
    ]


def test_updated_at_order(api: Api) -> None:
    exchange_id = rows.add_exchange(api.conn, "binance")
    now = dt.datetime.now(dt.UTC)
    for hours, symbol in [(3, "A/B"), (1, "C/D"), (2, "E/F")]:
        rows.market(api.conn, exchange_id, symbol, updated_at=now - hours * HOUR)
    got = api.client.query("{ markets(orderBy: UPDATED_AT_DESC) { nodes { symbol } } }")
    assert [n["symbol"] for n in got["markets"]["nodes"]] == ["C/D", "E/F", "A/B"]


def test_exchanges_filter_order_and_status(api: Api) -> None:
    stale = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    ids = {
        name: rows.add_exchange(api.conn, name, volume_usd=volume, enabled=name != "bitstamp")
        for name, volume in [("binance", 10), ("kraken", 30), ("bitstamp", None), ("okx", 20)]
    }
    rows.run(api.conn, ids["binance"], "SUCCEEDED")
    rows.run(api.conn, ids["binance"], "RUNNING")
    rows.run(api.conn, ids["kraken"], "FAILED", error="ExchangeError: nope")
    rows.run(api.conn, ids["okx"], "RUNNING", heartbeat_at=stale)

    def names(args: str = "") -> list[str]:
        arguments = f"({args})" if args else ""
        got = api.client.query(f"{{ exchanges{arguments} {{ nodes {{ name }} }} }}")
        return [n["name"] for n in got["exchanges"]["nodes"]]

    assert names() == ["binance", "bitstamp", "kraken", "okx"]
    assert names("orderBy: VOLUME_USD_DESC") == ["kraken", "okx", "binance", "bitstamp"]
    assert names("filter: {enabled: false}") == ["bitstamp"]
    assert names('filter: {names: ["okx", "kraken", "x"]}') == ["kraken", "okx"]
    assert names('filter: {search: "b"}') == ["binance", "bitstamp"]
    query = (
        "{ exchanges { nodes { name status { state lastRun lastRunId timeStarted lastError } } } }"
    )
    status = {n["name"]: n["status"] for n in api.client.query(query)["exchanges"]["nodes"]}
    assert {name: s["state"] for name, s in status.items()} == {
        "binance": "RUNNING",
        "bitstamp": "DISABLED",
        "kraken": "FAILING",
        "okx": "STALE",
    }
    assert status["kraken"]["lastError"] == "ExchangeError: nope"
    assert status["kraken"]["lastRun"] is not None
    assert status["binance"]["lastError"] is None and status["binance"]["timeStarted"]
    assert status["bitstamp"] == {
        "state": "DISABLED",
        "lastRun": None,
        "lastRunId": None,
        "timeStarted": None,
        "lastError": None,
    }


def test_runs_and_nested_runs(api: Api) -> None:
    binance = rows.add_exchange(api.conn, "binance")
    kraken = rows.add_exchange(api.conn, "kraken")
    first = rows.run(api.conn, binance, "FAILED", error="boom", retryable=True)
    rows.run(
        api.conn, binance, "SUCCEEDED", trigger="RETRY", attempt=2, retry_of=first, markets_count=7
    )
    rows.run(api.conn, kraken, "QUEUED", trigger="MANUAL")
    got = api.client.query(f"{{ runs {{ totalCount nodes {{ {RUN_FIELDS} }} }} }}")["runs"]
    assert got["totalCount"] == 3
    assert [(r["exchange"]["name"], r["state"]) for r in got["nodes"]] == [
        ("kraken", "QUEUED"),
        ("binance", "SUCCEEDED"),
        ("binance", "FAILED"),
    ]
    retry = got["nodes"][1]
    assert (retry["trigger"], retry["attempt"], retry["retryOf"]) == ("RETRY", 2, str(first))
    assert retry["marketsCount"] == 7 and retry["node"] == "node-1"
    assert got["nodes"][2]["error"] == "boom" and got["nodes"][2]["retryable"] is True
    filtered = api.client.query('{ runs(exchange: "binance", state: FAILED) { nodes { id } } }')
    assert filtered["runs"]["nodes"] == [{"id": str(first)}]
    nested = api.client.query(
        '{ exchange(name: "binance") { runs(first: 1) { totalCount nodes { state } '
        "pageInfo { hasNextPage } } } }"
    )["exchange"]["runs"]
    assert nested == {
        "totalCount": 2,
        "nodes": [{"state": "SUCCEEDED"}],
        "pageInfo": {"hasNextPage": True},
    }
    assert api.client.errors('{ runs(exchange: "nope") { totalCount } }')[0][0] == "NOT_FOUND"


def test_status(api: Api) -> None:
    exchange_id = rows.add_exchange(api.conn, "binance")
    other = rows.add_exchange(api.conn, "kraken")
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    process = {"name": "main", "pid": 7, "alive": True, "started_at": 1700000000.5, "restarts": 1}
    rows.node(api.conn, "node-a", paused=True, processes=json.dumps([process]))
    rows.node(api.conn, "node-b", heartbeat_at=long_ago)
    rows.node(api.conn, "node-c", stopped_at=long_ago)
    rows.run(api.conn, exchange_id, "RUNNING", heartbeat_at=long_ago)
    rows.run(api.conn, other, "RUNNING")
    rows.add_exchange(api.conn, "okx")
    rows.run(api.conn, rows.add_exchange(api.conn, "bybit"), "QUEUED")
    rows.run(
        api.conn,
        rows.add_exchange(api.conn, "gate"),
        "QUEUED",
        not_before=dt.datetime.now(dt.UTC) + HOUR,
    )
    got = api.client.query(
        "{ status { queueDepth queueDue nodes { id host pid startedAt heartbeatAt stoppedAt paused "
        "draining poolSize alive processes { name pid alive startedAt restarts } } "
        "running { exchange { name } } stale { exchange { name } } } }"
    )["status"]
    assert (got["queueDepth"], got["queueDue"]) == (2, 1)
    nodes = {n["id"]: n for n in got["nodes"]}
    assert {k: n["alive"] for k, n in nodes.items()} == {
        "node-a": True,
        "node-b": False,
        "node-c": False,
    }
    assert nodes["node-a"]["paused"] is True and nodes["node-a"]["poolSize"] == 2
    started = "2023-11-14T22:13:20.500000+00:00"
    expected = {k: v for k, v in process.items() if k != "started_at"} | {"startedAt": started}
    assert nodes["node-a"]["processes"] == [expected]
    assert [r["exchange"]["name"] for r in got["running"]] == ["kraken", "binance"]
    assert got["stale"] == [{"exchange": {"name": "binance"}}]


def test_supported_exchanges(api: Api) -> None:
    got = api.client.query("{ supportedExchanges }")["supportedExchanges"]
    assert got == sorted(ccxt.exchanges) and "binance" in got
