"""Real ccxt (4.5) against the simulator on loopback: markets, prices, and faults.

The exception classes asserted here are what ccxt really raises, verified, and what the
harvester's retry logic has to classify. Some are surprising (see the fault tests).
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import ccxt
import ccxt.async_support as ccxt_async
import pytest

from simulator import SimulatorServer, running_simulator

EXCHANGES = ("binance", "kraken")


def point_at(exchange: Any, base_url: str) -> Any:
    """Rewrite every URL of ``urls['api']``: simulator scheme/host/port, prefix + path."""
    base = urlsplit(base_url)

    def rewrite(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: rewrite(item) for key, item in value.items()}
        if isinstance(value, str) and value.startswith("http"):
            return f"{base.scheme}://{base.netloc}{base.path}{urlsplit(value).path}"
        return value

    exchange.urls["api"] = rewrite(exchange.urls["api"])
    return exchange


def sync_client(server: SimulatorServer, name: str, timeout_ms: int = 10_000) -> Any:
    client = getattr(ccxt, name)({"enableRateLimit": False, "timeout": timeout_ms})
    return point_at(client, server.exchange_url(name))


@pytest.fixture(scope="module")
def big() -> Iterator[SimulatorServer]:
    with running_simulator(markets=2000, seed=11) as server:
        yield server


@pytest.fixture(scope="module")
def small_server() -> Iterator[SimulatorServer]:
    with running_simulator(markets=40, seed=2) as server:
        yield server


@pytest.fixture
def small(small_server: SimulatorServer) -> Iterator[SimulatorServer]:
    yield small_server
    small_server.simulator.clear_faults()


def _assert_matches_model(server: SimulatorServer, name: str, tickers: dict[str, Any]) -> None:
    expected = server.simulator.tickers(name)
    assert set(tickers) == set(expected)
    for symbol, ticker in expected.items():
        unified = ticker.unified()
        got = tickers[symbol]
        assert (got["last"], got["bid"], got["ask"]) == (
            unified["last"],
            unified["bid"],
            unified["ask"],
        ), symbol
        assert got["baseVolume"] == unified["base_volume"], symbol
        assert got["quoteVolume"] == unified["quote_volume"], symbol


@pytest.mark.parametrize("name", EXCHANGES)
def test_ccxt_loads_every_market_and_the_model_prices(big: SimulatorServer, name: str) -> None:
    client = sync_client(big, name)
    try:
        markets = client.load_markets()
        assert len(markets) == 2000
        assert {market["type"] for market in markets.values()} == {"spot"}
        assert {"BTC/USDT", "ETH/USDT", "EUR/USD", "EUR/USDT"} <= set(markets)
        first = client.fetch_tickers()
        assert len(first) == 2000
        _assert_matches_model(big, name, first)
        second = client.fetch_tickers()
        _assert_matches_model(big, name, second)
        moved = sum(first[symbol]["last"] != second[symbol]["last"] for symbol in first)
        assert moved > 1500
    finally:
        client.close()


def test_kraken_legacy_ids_map_to_unified_codes(big: SimulatorServer) -> None:
    client = sync_client(big, "kraken")
    try:
        markets = client.load_markets()
        assert markets["BTC/USD"]["id"] == "XXBTZUSD"
        assert markets["ETH/BTC"]["id"] == "XETHXXBT"
        assert markets["BTC/USDT"]["id"] == "XBTUSDT"
        assert client.fetch_ticker("BTC/USD")["last"] == float(
            big.simulator.tickers("kraken")["BTC/USD"].last
        )
    finally:
        client.close()


def test_binance_single_ticker_and_subset(big: SimulatorServer) -> None:
    client = sync_client(big, "binance")
    try:
        client.load_markets()
        subset = client.fetch_tickers(["ETH/USDT", "BTC/USDT"])
        assert set(subset) == {"ETH/USDT", "BTC/USDT"}
        expected = big.simulator.tickers("binance")
        for symbol, ticker in subset.items():
            assert (ticker["bid"], ticker["ask"]) == (
                float(expected[symbol].bid),
                float(expected[symbol].ask),
            )
        assert client.fetch_ticker("EUR/USD")["last"] == float(
            big.simulator.tickers("binance")["EUR/USD"].last
        )
    finally:
        client.close()


# What ccxt 4.5 raises for each fault during load_markets(), sync (requests) and
# async (aiohttp). 429 is DDoSProtection, not RateLimitExceeded (a sibling class).
# A truncated body is a NetworkError in sync but a plain ExchangeError in async.
SYNC_ERRORS = {
    "http429": ccxt.DDoSProtection,
    "http500": ccxt.ExchangeNotAvailable,
    "http503": ccxt.ExchangeNotAvailable,
    "timeout": ccxt.RequestTimeout,
    "truncated": ccxt.NetworkError,
}
ASYNC_ERRORS = {**SYNC_ERRORS, "truncated": ccxt.ExchangeError}


@pytest.mark.parametrize("name", EXCHANGES)
@pytest.mark.parametrize("kind", sorted(SYNC_ERRORS))
def test_fault_raises_in_sync_ccxt(small: SimulatorServer, name: str, kind: str) -> None:
    small.simulator.set_faults({kind: 1.0})
    client = sync_client(small, name, timeout_ms=300)
    try:
        with pytest.raises(ccxt.BaseError) as error:
            client.load_markets()
        assert type(error.value) is SYNC_ERRORS[kind]
    finally:
        client.close()


@pytest.mark.parametrize("name", EXCHANGES)
@pytest.mark.parametrize("kind", sorted(ASYNC_ERRORS))
def test_fault_raises_in_async_ccxt(small: SimulatorServer, name: str, kind: str) -> None:
    small.simulator.set_faults({kind: 1.0})

    async def load() -> None:
        client = getattr(ccxt_async, name)({"enableRateLimit": False, "timeout": 300})
        point_at(client, small.exchange_url(name))
        try:
            await client.load_markets()
        finally:
            await client.close()

    with pytest.raises(ccxt.BaseError) as error:
        asyncio.run(load())
    assert type(error.value) is ASYNC_ERRORS[kind]


@pytest.mark.parametrize("name", EXCHANGES)
def test_malformed_json_is_not_an_error_for_ccxt(small: SimulatorServer, name: str) -> None:
    """ccxt swallows an invalid JSON body with a 200: it loads *no* markets, silently."""
    small.simulator.set_faults({"malformed": 1.0})
    client = sync_client(small, name)
    try:
        assert client.load_markets() == {}
        small.simulator.clear_faults()
        client.load_markets(reload=True)
        small.simulator.set_faults({"malformed": 1.0})
        if name == "kraken":
            assert client.fetch_tickers() == {}  # no tickers, no error
        else:
            with pytest.raises(AttributeError):  # not even a ccxt error
                client.fetch_tickers()
    finally:
        client.close()


def test_faults_change_at_runtime_over_http() -> None:
    with running_simulator(markets=40, seed=2) as server:
        _one_run_fails_the_next_succeeds(server)


def _one_run_fails_the_next_succeeds(small: SimulatorServer) -> None:
    client = sync_client(small, "kraken")
    try:
        _control(small, "POST", "/_sim/faults", {"http500": 1.0})
        with pytest.raises(ccxt.ExchangeNotAvailable):
            client.load_markets()
        assert _control(small, "DELETE", "/_sim/faults") == {"*": {}}
        assert len(client.load_markets()) == 40
        _control(small, "POST", "/_sim/faults?exchange=kraken", {"http503": 1.0, "limit": 1})
        with pytest.raises(ccxt.ExchangeNotAvailable):
            client.fetch_tickers()
        assert len(client.fetch_tickers()) == 40  # the limit is spent: the retry succeeds
        state = _control(small, "GET", "/_sim/state/kraken")["exchanges"]["kraken"]
        assert state["faults_injected"] == {"http500": 1, "http503": 1}
        assert state["step"] == small.simulator.step("kraken")
        assert (
            state["tickers"]["BTC/USDT"] == small.simulator.tickers("kraken")["BTC/USDT"].unified()
        )
    finally:
        client.close()


def test_control_endpoint_errors_are_json(small: SimulatorServer) -> None:
    for method, path, body, status in [
        ("POST", "/_sim/faults", {"http500": 2}, 400),
        ("POST", "/_sim/faults", ["http500"], 400),
        ("POST", "/_sim/faults?exchange=ftx", {"http500": 1}, 400),
        ("GET", "/_sim/state/ftx", None, 404),
        ("GET", "/binance/api/v3/nope", None, 404),
        ("GET", "/nowhere", None, 404),
    ]:
        with pytest.raises(urllib.error.HTTPError) as error:
            _control(small, method, path, body)
        assert error.value.code == status
        assert "error" in json.loads(error.value.read())
        error.value.close()


def test_latency_delays_answers_by_at_least_the_injected_seconds(small: SimulatorServer) -> None:
    latency = 0.3
    small.simulator.set_faults([f"latency={latency}"])
    started = time.perf_counter()
    _control(small, "GET", "/binance/api/v3/time")
    # A lower bound no machine can break, however slow: the server waited before answering.
    assert time.perf_counter() - started >= latency


# A held connection is kept this long at most; shutting down must not wait for it. The
# deadline on shutdown is generous for a busy machine and still far below the hold.
HOLD_SECONDS = 600.0
SHUTDOWN_DEADLINE = 60.0


def test_a_held_connection_blocks_neither_others_nor_shutdown() -> None:
    with running_simulator(
        markets=10, seed=1, faults={"timeout": 1.0}, hold_seconds=HOLD_SECONDS
    ) as server:
        held = socket.create_connection(("127.0.0.1", server.port))
        held.sendall(b"GET /kraken/0/public/Ticker HTTP/1.1\r\nHost: sim\r\n\r\n")
        deadline = time.monotonic() + SHUTDOWN_DEADLINE
        state: Any = server.simulator.state
        while state()["exchanges"]["kraken"]["requests"] == {}:
            assert time.monotonic() < deadline, "the held request never reached the server"
            time.sleep(0.01)
        server.simulator.clear_faults()
        assert _control(server, "GET", "/kraken/0/public/Time")["error"] == []
        started = time.perf_counter()
    assert time.perf_counter() - started < SHUTDOWN_DEADLINE, "shutdown waited for the hold"
    with held:
        held.settimeout(SHUTDOWN_DEADLINE)
        assert held.recv(100) == b""  # closed without an answer


def _control(server: SimulatorServer, method: str, path: str, body: object = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(server.url + path, data=data, method=method)
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())
