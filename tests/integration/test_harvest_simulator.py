"""binance and kraken through the simulator (2,000 markets each) into PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, localcontext
from typing import Any

import psycopg
import pytest

from harvester.harvest.adapter import ExchangeAdapter
from marketmanager.settings import Settings
from simulator import SimulatorServer, Ticker, running_simulator
from tests.support.harvesting import harvest_once
from tests.support.rows import add_exchange, exchange_row, markets_of, tick_count

MARKETS = 2000
PRICE_COLUMNS = ("last", "bid", "ask", "base_volume", "quote_volume")


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorServer]:
    with running_simulator(markets=MARKETS, seed=11) as server:
        yield server


def expected_usd(tickers: dict[str, Ticker]) -> dict[str, Decimal]:
    """Each market's USD volume from the model: stablecoins at 1, BTC/ETH/EUR via X/USD."""
    rates = {"USD": Decimal(1), "USDT": Decimal(1), "USDC": Decimal(1)}
    for code in ("BTC", "ETH", "EUR"):
        rates[code] = tickers[f"{code}/USD"].last
    with localcontext() as ctx:
        ctx.prec = 80
        return {
            symbol: (ticker.quote_volume * rates[symbol.split("/")[1]]).quantize(Decimal("1e-8"))
            for symbol, ticker in tickers.items()
        }


def check_against_model(
    conn: psycopg.Connection[Any], name: str, tickers: dict[str, Ticker]
) -> dict[str, int]:
    exchange = exchange_row(conn, name)
    stored = markets_of(conn, exchange["id"])
    assert set(stored) == set(tickers) and len(stored) == MARKETS
    usd = expected_usd(tickers)
    for symbol, ticker in tickers.items():
        row = stored[symbol]
        assert row["active"] and row["type"] == "spot"
        assert (row["base"], row["quote"]) == tuple(symbol.split("/"))
        for column in PRICE_COLUMNS:
            assert row[column] == getattr(ticker, column), (symbol, column)
        assert row["volume_usd"] == usd[symbol], symbol
    top = max(usd, key=lambda symbol: usd[symbol])
    assert exchange["volume_usd"] == sum(usd.values())
    assert (exchange["top_pair"], exchange["top_pair_volume_usd"]) == (top, usd[top])
    assert exchange["unpriced_markets"] == 0 and exchange["last_update_at"] is not None
    return {symbol: row["id"] for symbol, row in stored.items()}


@pytest.mark.parametrize("name", ["binance", "kraken"])
def test_a_simulated_exchange_is_harvested_then_updated_in_place(
    name: str, conn: psycopg.Connection[Any], settings: Settings, simulator: SimulatorServer
) -> None:
    add_exchange(conn, name, simulator.exchange_url(name))
    exchange = exchange_row(conn, name)
    with ExchangeAdapter.from_row(exchange, settings) as adapter:
        first = harvest_once(conn, adapter, exchange)
        assert first.succeeded, first.error
        assert first.markets == MARKETS
        ids = check_against_model(conn, name, simulator.simulator.tickers(name))
        assert tick_count(conn, exchange["id"]) == MARKETS

        second = harvest_once(conn, adapter, exchange)
        assert second.succeeded, second.error
        assert check_against_model(conn, name, simulator.simulator.tickers(name)) == ids
    assert tick_count(conn, exchange["id"]) == 2 * MARKETS
    runs = conn.execute(
        "SELECT state, markets_count, finished_at FROM harvest_runs WHERE exchange_id = %s",
        (exchange["id"],),
    ).fetchall()
    assert [(r["state"], r["markets_count"]) for r in runs] == [("SUCCEEDED", MARKETS)] * 2
    assert all(r["finished_at"] is not None for r in runs)
