"""GraphiQL in headless Chromium: it opens on this API's example, and a subscription run
from it shows the prices each harvest pushes."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from harvester.harvest.adapter import ExchangeAdapter
from marketmanager import db
from marketmanager.settings import Settings
from simulator import running_simulator
from tests.acceptance.test_graphiql_browser import _result_text, driver, pytestmark
from tests.support.api_server import ProcessServer
from tests.support.harvesting import harvest_once
from tests.support.processes import wait_for
from tests.support.rows import add_exchange, exchange_row

__all__ = ["driver", "pytestmark"]

SUBSCRIPTION = 'subscription { marketUpdates(exchange: "binance") { symbol last } }'
MAX_HARVESTS = 20


def editor_text(browser: Any) -> str:
    from selenium.webdriver.common.by import By

    editors = browser.find_elements(By.CSS_SELECTOR, ".graphiql-query-editor .CodeMirror")
    return str(browser.execute_script("return arguments[0].CodeMirror.getValue();", editors[0]))


def pushed(browser: Any) -> dict[str, Any] | None:
    text = _result_text(browser)
    try:
        return json.loads(text)["data"]["marketUpdates"]  # type: ignore[no-any-return]
    except (ValueError, KeyError, TypeError):
        return None


def test_graphiql_opens_on_the_example_and_shows_pushed_prices(
    db_url: str, settings: Settings, driver: Any
) -> None:
    from selenium.webdriver.common.by import By

    with (
        db.connect(db_url, autocommit=True) as conn,
        running_simulator(markets=8, seed=3, exchanges=("binance",)) as simulator,
    ):
        add_exchange(conn, "binance", simulator.exchange_url("binance"))
        exchange = exchange_row(conn, "binance")
        server = ProcessServer(db_url).start()
        try:
            driver.get(f"{server.url}/graphql")
            wait_for(lambda: "subscription LivePrices" in editor_text(driver), 30, "the example")
            assert "query TopExchanges" in editor_text(driver)

            driver.get(f"{server.url}/graphql?q={quote(SUBSCRIPTION)}")
            wait_for(lambda: editor_text(driver) == SUBSCRIPTION, 30, "the subscription")
            driver.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()
            seen = []
            with ExchangeAdapter.from_row(exchange, settings) as adapter:
                for _ in range(MAX_HARVESTS):  # until two different pushes were shown
                    assert harvest_once(conn, adapter, exchange).succeeded
                    try:
                        market = wait_for(lambda: pushed(driver), 5, "a push")
                    except AssertionError:
                        continue
                    if market not in seen:
                        seen.append(market)
                    if len(seen) >= 2:
                        break
            assert len(seen) >= 2, f"GraphiQL showed {seen} in {MAX_HARVESTS} harvests"
            assert all(set(market) == {"symbol", "last"} for market in seen)
        finally:
            server.stop()
