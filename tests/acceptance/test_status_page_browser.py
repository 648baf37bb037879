"""The status page in headless Chromium against the real API (uvicorn in a subprocess):
its contents, prices that move without a reload, a phone-sized layout, nothing fetched
from elsewhere, the candles of a backfill charted; screenshots go to the test's tmp dir."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from psycopg.types.json import Jsonb

from harvester.harvest.adapter import ExchangeAdapter
from marketmanager import db
from marketmanager.settings import Settings
from simulator import running_simulator
from tests.acceptance.test_graphiql_browser import _requested_urls, driver, pytestmark
from tests.support import rows
from tests.support.api_client import Client
from tests.support.api_server import ProcessServer
from tests.support.harvesting import harvest_once
from tests.support.processes import child_env, marketmanager, wait_for
from tests.support.rows import add_exchange, exchange_row, markets_of

__all__ = ["driver", "pytestmark"]

MAX_HARVESTS = 20  # until the page's subscription is in place and a push arrives


def chart_points(browser: Any) -> int:
    count = browser.execute_script(
        "const c = document.getElementById('chart'); return c && c.getAttribute('data-points');"
    )
    return int(count or 0)


def live_summary(browser: Any) -> str:
    """The live section's summary line, read in one script: the section is replaced as a
    whole when it is fetched again, so an element found before may be gone when read."""
    text = browser.execute_script(
        "const s = document.querySelector('#live .summary'); return s && s.innerText;"
    )
    return str(text or "")


def test_the_status_page_shows_the_harvest_and_moves_without_reloading(
    db_url: str, settings: Settings, driver: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    with (
        db.connect(db_url, autocommit=True) as conn,
        running_simulator(markets=8, seed=2, exchanges=("binance",)) as simulator,
    ):
        processes = [{"name": "scheduler", "pid": 4300, "started_at": None, "restarts": 1}]
        rows.node(conn, "node-a", processes=Jsonb(processes))
        broken = rows.add_exchange(conn, "kraken")
        rows.run(conn, broken, "FAILED", error="kraken said: 503 Service Unavailable")
        add_exchange(conn, "binance", simulator.exchange_url("binance"))
        exchange = exchange_row(conn, "binance")
        server = ProcessServer(db_url).start()
        try:
            with ExchangeAdapter.from_row(exchange, settings) as adapter:
                assert harvest_once(conn, adapter, exchange).succeeded
                top_pair = db.fetch_one(conn, "exchange_by_name", {"name": "binance"})
                assert top_pair is not None and top_pair["top_pair"] in markets_of(
                    conn, exchange["id"]
                )
                driver.get(f"{server.url}/")
                wait_for(
                    lambda: driver.find_element(By.ID, "live-state").text == "live",
                    30,
                    "the page's subscriptions",
                )
                page = driver.find_element(By.TAG_NAME, "main").text
                for expected in (
                    "node-a",
                    "scheduler 4300",
                    "binance",
                    "IDLE",
                    top_pair["top_pair"],
                    "FAILING",
                    "kraken said: 503 Service Unavailable",
                    f"Price: {top_pair['top_pair']} on binance",
                ):
                    assert expected in page, (expected, page)
                before = chart_points(driver)
                assert before >= 1
                summary = live_summary(driver)
                driver.save_screenshot(str(tmp_path / "status.png"))

                for _ in range(MAX_HARVESTS):  # pushed through marketUpdates, no reload
                    assert harvest_once(conn, adapter, exchange).succeeded
                    try:
                        wait_for(lambda: chart_points(driver) > before, 5, "a pushed price")
                        break
                    except AssertionError:
                        continue
                else:
                    raise AssertionError(f"the chart did not move in {MAX_HARVESTS} harvests")
                assert (
                    driver.execute_script(
                        "return performance.getEntriesByType('navigation').length"
                    )
                    == 1
                )
                wait_for(  # the live section ("as of HH:MM:SS") is fetched again on a run change
                    lambda: live_summary(driver) != summary,
                    30,
                    "the live section's refresh",
                )

            driver.set_window_size(390, 844)  # a phone
            overflow = driver.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, f"the page is {overflow} px wider than a phone"
            driver.save_screenshot(str(tmp_path / "status-phone.png"))

            origin = urlsplit(server.url).netloc
            requested = _requested_urls(driver)
            network = {u for u in requested if urlsplit(u).scheme in ("http", "https", "ws", "wss")}
            assert any(u.startswith(f"ws://{origin}/graphql") for u in network), network
            foreign = {u for u in network if urlsplit(u).netloc != origin}
            assert not foreign, f"the page fetched from outside the API: {foreign}"
            severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
            assert not severe, severe
        finally:
            server.stop()
    assert (tmp_path / "status.png").stat().st_size > 0
    print(f"\nscreenshots: {tmp_path / 'status.png'}, {tmp_path / 'status-phone.png'}")


CANDLES = """query($from: DateTime!, $to: DateTime!) {
  market(exchange: "binance", symbol: "BTC/USDT") {
    candles(timeframe: "1h", from: $from, to: $to) { ts open high low close baseVolume }
  }
}"""


def chart_attribute(browser: Any, name: str) -> str | None:
    value: str | None = browser.execute_script(
        "const c = document.getElementById('chart'); return c && c.getAttribute(arguments[0]);",
        name,
    )
    return value


def test_a_backfill_from_the_command_line_is_queried_over_graphql_and_charted_as_candles(
    db_url: str, settings: Settings, driver: Any, tmp_path: Path
) -> None:
    """The issue's "done when": a new user adds binance (the simulator), runs `marketmanager
    backfill binance BTC/USDT --timeframe 1h --since 90d` and sees its progress bar, reads
    the candles over GraphQL and sees them charted on the status page, which stays live."""
    from selenium.webdriver.common.by import By

    with (
        db.connect(db_url, autocommit=True) as conn,
        running_simulator(markets=8, seed=2, exchanges=("binance",)) as simulator,
    ):
        env = child_env(DATABASE_URL=db_url)
        added = marketmanager(
            "exchanges", "add", "binance", "--api-url", simulator.exchange_url("binance"), env=env
        )
        assert added.returncode == 0, added.stderr
        done = marketmanager(
            "backfill", "binance", "BTC/USDT", "--timeframe", "1h", "--since", "90d",
            env=env, timeout=180,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "binance 1h: [" in done.stderr and "100%" in done.stderr  # the progress bar
        assert "candles stored for 1 market(s)" in done.stdout
        server = ProcessServer(db_url).start()
        try:
            now = dt.datetime.now(dt.UTC)
            span = {"from": (now - dt.timedelta(days=90)).isoformat(), "to": now.isoformat()}
            client = Client(server.url)
            try:
                candles = client.query(CANDLES, span)["market"]["candles"]
            finally:
                client.close()
            assert 90 * 24 - 2 <= len(candles) <= 90 * 24

            driver.get(f"{server.url}/?exchange=binance&symbol=BTC/USDT")
            wait_for(
                lambda: driver.find_element(By.ID, "live-state").text == "live",
                30,
                "the page's subscriptions",
            )
            heading = driver.find_element(By.CSS_SELECTOR, "#chart-section h2").text
            assert heading == "Price: BTC/USDT on binance · 1h candles"
            assert chart_attribute(driver, "data-kind") == "candles"
            week = int(chart_attribute(driver, "data-candles") or 0)
            assert 7 * 24 - 2 <= week <= 7 * 24
            shown = driver.find_elements(By.CSS_SELECTOR, "#chart .candle rect")
            assert len(shown) == week and all(rect.size["width"] > 0 for rect in shown)
            assert (
                candles[-1]["ts"][:16].replace("T", " ")
                in driver.find_element(By.ID, "chart-caption").text
            )
            driver.save_screenshot(str(tmp_path / "status-candles.png"))

            # A harvest pushes the market's price: the chart is drawn again with it.
            driver.execute_script("document.getElementById('chart').dataset.old = '1'")
            exchange = exchange_row(conn, "binance")
            with ExchangeAdapter.from_row(exchange, settings) as adapter:
                for _ in range(MAX_HARVESTS):
                    assert harvest_once(conn, adapter, exchange).succeeded
                    try:
                        wait_for(
                            lambda: chart_attribute(driver, "data-old") is None,
                            5,
                            "the candle chart drawn again",
                        )
                        break
                    except AssertionError:
                        continue
                else:
                    raise AssertionError(f"the chart was not redrawn in {MAX_HARVESTS} harvests")
            last = markets_of(conn, exchange["id"])["BTC/USDT"]["last"]
            wait_for(lambda: chart_attribute(driver, "data-last"), 10, "the last price drawn")
            assert float(chart_attribute(driver, "data-last") or 0) == pytest.approx(
                float(last), rel=1e-5
            )
            assert chart_attribute(driver, "data-kind") == "candles"
            driver.set_window_size(390, 844)  # a phone
            overflow = driver.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, f"the page is {overflow} px wider than a phone"
            driver.save_screenshot(str(tmp_path / "status-candles-phone.png"))
            severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
            assert not severe, severe
        finally:
            server.stop()
    print(
        f"\nscreenshots: {tmp_path / 'status-candles.png'}, {tmp_path / 'status-candles-phone.png'}"
    )
