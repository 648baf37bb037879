"""The status page in headless Chromium against the real API (uvicorn in a subprocess):
its contents, prices that move without a reload, a phone-sized layout, nothing fetched
from elsewhere; screenshots go to the test's tmp dir."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from psycopg.types.json import Jsonb

from harvester.harvest.adapter import ExchangeAdapter
from marketmanager import db
from marketmanager.settings import Settings
from simulator import running_simulator
from tests.acceptance.test_graphiql_browser import _requested_urls, driver, pytestmark
from tests.support import rows
from tests.support.api_server import ProcessServer
from tests.support.harvesting import harvest_once
from tests.support.processes import wait_for
from tests.support.rows import add_exchange, exchange_row, markets_of

__all__ = ["driver", "pytestmark"]

MAX_HARVESTS = 20  # until the page's subscription is in place and a push arrives


def chart_points(browser: Any) -> int:
    count = browser.execute_script(
        "const c = document.getElementById('chart'); return c && c.getAttribute('data-points');"
    )
    return int(count or 0)


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
                summary = driver.find_element(By.CSS_SELECTOR, "#live .summary").text
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
                    lambda: driver.find_element(By.CSS_SELECTOR, "#live .summary").text != summary,
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
