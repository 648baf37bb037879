"""Candles over GraphQL: stored and derived candles, gaps, the backfill mutation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from marketmanager.candles.aggregate import Candle
from marketmanager.candles.timeframes import floor_ms, from_ms, to_ms
from simulator.server import SimulatorServer, running_simulator
from simulator.universe import REFERENCE_USD
from tests.support import rows
from tests.support.api_fixtures import *  # noqa: F403  (the api fixtures)
from tests.support.api_fixtures import Api
from tests.support.api_statements import count_statements
from tests.support.candles import backfill, candle_source
from tests.support.rows import exchange_row

CANDLES = """query($exchange: String! = "binance", $symbol: String!, $tf: String!,
                 $from: DateTime!, $to: DateTime!) {
  market(exchange: $exchange, symbol: $symbol) {
    candles(timeframe: $tf, from: $from, to: $to) {
      ts open high low close baseVolume quoteVolume
    }
  }
}"""
GAPS = """query($symbol: String!, $from: DateTime!, $to: DateTime!) {
  market(exchange: "binance", symbol: $symbol) {
    candleGaps(timeframe: "1m", from: $from, to: $to) { start end kind candles }
  }
}"""
BACKFILL = """mutation($input: BackfillInput!) {
  backfill(input: $input) { id exchange symbols timeframe state trigger }
}"""


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with running_simulator(markets=80, seed=9) as server:
        yield server


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat()


def _binance(api: Api, sim: SimulatorServer) -> dict[str, Any]:
    rows.add_exchange(api.conn, "binance", api_url=sim.exchange_url("binance"))
    return exchange_row(api.conn, "binance")


@pytest.mark.parametrize(("name", "hours"), [("binance", 30), ("kraken", 10)])
def test_1h_candles_derived_from_stored_1m_ones_equal_the_exchanges_own(
    api: Api, sim: SimulatorServer, name: str, hours: int
) -> None:
    """Kraken keeps its last 720 minutes: ten whole hours of them, whatever the minute."""
    rows.add_exchange(api.conn, name, api_url=sim.exchange_url(name))
    exchange = exchange_row(api.conn, name)
    end = from_ms(floor_ms(to_ms(dt.datetime.now(dt.UTC)), "1h"))
    start = end - dt.timedelta(hours=hours)
    with candle_source(sim.exchange_url(name), name) as source:
        result, _ = backfill(api.conn, source, exchange, ["BTC/USDT"], "1m", start)
        assert result.state == "SUCCEEDED"
        own = source.fetch_page("BTC/USDT", "1h", to_ms(start))
    # Unaligned bounds: the hours opening in [from, to), each made of all its minutes.
    variables = {
        "exchange": name,
        "symbol": "BTC/USDT",
        "tf": "1h",
        "from": _iso(start - dt.timedelta(minutes=20)),
        "to": _iso(end - dt.timedelta(minutes=55)),
    }
    derived = api.client.query(CANDLES, variables)["market"]["candles"]
    expected = [c for c in own if to_ms(start) <= c.ts < to_ms(end)]
    assert len(expected) == hours
    assert [_from_api(c) for c in derived] == [_as_floats(c) for c in expected]


def _from_api(candle: dict[str, Any]) -> tuple[Any, ...]:
    ts = to_ms(dt.datetime.fromisoformat(candle["ts"]))
    fields = ("open", "high", "low", "close", "baseVolume", "quoteVolume")
    return (ts, *(candle[field] for field in fields))


def _as_floats(candle: Candle) -> tuple[Any, ...]:
    return (candle.ts, *(None if v is None else float(v) for v in candle[1:]))


def test_stored_candles_come_back_as_stored_and_ranges_are_bounded(
    api: Api, sim: SimulatorServer
) -> None:
    exchange = _binance(api, sim)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)
    with candle_source(sim.exchange_url("binance"), "binance") as source:
        backfill(api.conn, source, exchange, ["ETH/USDT"], "1h", start)
    variables = {
        "symbol": "ETH/USDT",
        "tf": "1h",
        "from": _iso(start - dt.timedelta(days=1)),
        "to": _iso(dt.datetime.now(dt.UTC)),
    }
    candles = api.client.query(CANDLES, variables)["market"]["candles"]
    assert 4 <= len(candles) <= 5
    too_wide = {**variables, "tf": "1m", "from": _iso(start - dt.timedelta(days=4))}
    [(code, field, message)] = api.client.errors(CANDLES, too_wide)
    assert (code, field) == ("BAD_USER_INPUT", "to")
    assert "at most 5,000 per call" in message
    [(code, field, _)] = api.client.errors(CANDLES, {**variables, "tf": "3m"})
    assert (code, field) == ("BAD_USER_INPUT", "timeframe")


def test_candle_gaps_tell_no_trades_from_not_fetched(api: Api, sim: SimulatorServer) -> None:
    exchange = _binance(api, sim)
    thin = next(m.symbol for m in sim.simulator.markets("binance") if m.base not in REFERENCE_USD)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=20)
    with candle_source(sim.exchange_url("binance"), "binance") as source:
        _, job = backfill(api.conn, source, exchange, [thin], "1m", since)
    variables = {
        "symbol": thin,
        "from": _iso(job["covered_from"] - dt.timedelta(hours=1)),
        "to": _iso(job["covered_to"]),
    }
    gaps = api.client.query(GAPS, variables)["market"]["candleGaps"]
    kinds = [gap["kind"] for gap in gaps]
    assert kinds[0] == "NOT_FETCHED" and gaps[0]["candles"] == 60
    assert gaps[0]["end"] == job["covered_from"].isoformat()
    no_trades = [gap for gap in gaps if gap["kind"] == "NO_TRADES"]
    assert len(no_trades) == job["no_trade_gaps"] > 0
    assert "NOT_FETCHED" not in kinds[1:]


def test_the_backfill_mutation_queues_a_job_that_status_shows(api: Api) -> None:
    rows.add_exchange(api.conn, "binance")
    token = rows.token(api.conn, "writer", "write")
    since = _iso(dt.datetime.now(dt.UTC) - dt.timedelta(days=90))
    given = {"exchange": "binance", "timeframe": "1h", "since": since, "symbols": ["BTC/USDT"]}
    job = api.client.query(BACKFILL, {"input": given}, token=token)["backfill"]
    assert job["state"] == "QUEUED" and job["trigger"] == "MANUAL"
    assert job["symbols"] == ["BTC/USDT"] and job["exchange"] == "binance"
    again = api.client.query(BACKFILL, {"input": given}, token=token)["backfill"]
    assert again["id"] == job["id"]  # the same job, still queued
    status = api.client.query("{ status { backfills { id state } } }")["status"]
    assert status["backfills"] == [{"id": job["id"], "state": "QUEUED"}]
    listed = api.client.query('{ backfills(exchange: "binance") { id timeframe } }')
    assert listed["backfills"] == [{"id": job["id"], "timeframe": "1h"}]
    [(code, _, _)] = api.client.errors(BACKFILL, {"input": given})
    assert code == "UNAUTHENTICATED"
    bad = {**given, "timeframe": "7m"}
    [(code, field, _)] = api.client.errors(BACKFILL, {"input": bad}, token=token)
    assert (code, field) == ("BAD_USER_INPUT", "timeframe")
    nowhere = {**given, "exchange": "kraken"}
    [(code, field, _)] = api.client.errors(BACKFILL, {"input": nowhere}, token=token)
    assert (code, field) == ("NOT_FOUND", "exchange")
    future = {**given, "since": _iso(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))}
    [(code, field, _)] = api.client.errors(BACKFILL, {"input": future}, token=token)
    assert (code, field) == ("BAD_USER_INPUT", "since")
    ancient = {**given, "since": "0001-01-01T00:00:00+00:00"}
    [(code, field, message)] = api.client.errors(BACKFILL, {"input": ancient}, token=token)
    assert (code, field) == ("BAD_USER_INPUT", "since") and "no exchange has candles" in message


def test_candle_timeframes_are_set_on_the_exchange(api: Api) -> None:
    rows.add_exchange(api.conn, "binance")
    token = rows.token(api.conn, "writer", "write")
    update = """mutation($tfs: [String!]) {
      updateExchange(name: "binance", input: {candleTimeframes: $tfs}) { candleTimeframes }
    }"""
    done = api.client.query(update, {"tfs": ["1h", "1m", "1h"]}, token=token)
    assert done["updateExchange"]["candleTimeframes"] == ["1m", "1h"]
    [(code, field, _)] = api.client.errors(update, {"tfs": ["2m"]}, token=token)
    assert (code, field) == ("BAD_USER_INPUT", "candleTimeframes")


MARKETS_CANDLES = """query($from: DateTime!, $to: DateTime!) {
  markets(exchange: "binance", first: 50, orderBy: SYMBOL_ASC) { nodes { symbol
    minutes: candles(timeframe: "1m", from: $from, to: $to) { ts open close baseVolume }
    hours: candles(timeframe: "1h", from: $from, to: $to) { ts open high low close baseVolume }
    candleGaps(timeframe: "1m", from: $from, to: $to) { start end kind candles }
  } }
}"""
MARKET_CANDLES = """query($symbol: String!, $from: DateTime!, $to: DateTime!) {
  market(exchange: "binance", symbol: $symbol) { symbol
    minutes: candles(timeframe: "1m", from: $from, to: $to) { ts open close baseVolume }
    hours: candles(timeframe: "1h", from: $from, to: $to) { ts open high low close baseVolume }
    candleGaps(timeframe: "1m", from: $from, to: $to) { start end kind candles }
  }
}"""


def test_candles_of_a_page_of_markets_load_in_statements_that_do_not_grow_with_it(
    api: Api, api_db: str, sim: SimulatorServer
) -> None:
    """Stored 1m candles, 1h ones stored for one market and derived for the others, and
    the gaps: the same statements for 2 markets as for 8, the same answers as one by one."""
    exchange = _binance(api, sim)
    symbols = sorted(m.symbol for m in sim.simulator.markets("binance"))[:8]
    now = dt.datetime.now(dt.UTC)
    since = now - dt.timedelta(hours=3)
    variables = {"from": _iso(since - dt.timedelta(hours=1)), "to": _iso(now)}
    with candle_source(sim.exchange_url("binance"), "binance") as source:
        backfill(api.conn, source, exchange, symbols[:2], "1m", since)
        few, small = count_statements(api_db, MARKETS_CANDLES, variables)
        backfill(api.conn, source, exchange, symbols[2:], "1m", since)
        backfill(api.conn, source, exchange, symbols[5:6], "1h", since)
    many, big = count_statements(api_db, MARKETS_CANDLES, variables)
    nodes = big["markets"]["nodes"]
    assert [node["symbol"] for node in nodes] == symbols
    assert len(small["markets"]["nodes"]) == 2
    assert all(len(node["minutes"]) > 100 and len(node["hours"]) >= 2 for node in nodes)
    assert all(node["candleGaps"][0]["kind"] == "NOT_FETCHED" for node in nodes)
    # the exchange, its markets; stored 1m; stored 1h, timeframes stored, 1h derived from
    # 1m; the stored times and the fetched ranges (gaps)
    assert (few, many) == (8, 8), (few, many)
    for node in nodes:
        alone = api.client.query(MARKET_CANDLES, {**variables, "symbol": node["symbol"]})
        assert alone["market"] == node


def test_the_status_page_chart_part_draws_a_markets_candles(api: Api, sim: SimulatorServer) -> None:
    """`/?part=chart`, which the page fetches again on each pushed price."""
    exchange = _binance(api, sim)
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    with candle_source(sim.exchange_url("binance"), "binance") as source:
        backfill(api.conn, source, exchange, ["ETH/USDT"], "1h", since)
    chart = api.client.http.get(
        f"{api.client.base_url}/",
        params={"part": "chart", "exchange": "binance", "symbol": "ETH/USDT"},
    )
    assert chart.status_code == 200 and chart.text.startswith('<section id="chart-section">')
    assert "ETH/USDT on binance · 1h candles" in chart.text and 'data-kind="candles"' in chart.text
    nowhere = {"part": "chart", "exchange": "binance", "symbol": "NOPE/USDT"}
    missing = api.client.http.get(f"{api.client.base_url}/", params=nowhere)
    assert missing.status_code == 200 and "No such market." in missing.text
    assert "<svg" in missing.text and "data-kind" not in missing.text
