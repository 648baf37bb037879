"""GraphiQL in headless Chromium against the real API (uvicorn in a subprocess): a query
typed into the editor runs, and the page fetches nothing outside the API's origin."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from marketmanager import db
from tests.support import rows
from tests.support.api_server import ProcessServer
from tests.support.processes import wait_for

pytestmark = pytest.mark.browser

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,900",
]


def _browser_binaries() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    why = (
        "Debian's chromium and chromium-driver are not installed "
        "(apt-get install -y chromium chromium-driver)"
    )
    if os.environ.get("CI"):
        pytest.fail(f"{why}: CI must run the browser test")
    pytest.skip(why)


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Any]:
    chromium, chromedriver = _browser_binaries()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(chromedriver))
    try:
        yield browser
    finally:
        browser.quit()


def _requested_urls(browser: Any) -> set[str]:
    urls = set()
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] in ("Network.requestWillBeSent", "Network.webSocketCreated"):
            params = message["params"]
            urls.add(params.get("request", {}).get("url") or params.get("url"))
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    return {u for u in urls | set(resources) if u}


def test_graphiql_runs_a_query_offline(db_url: str, driver: Any) -> None:
    from selenium.webdriver.common.by import By

    with db.connect(db_url, autocommit=True) as conn:
        rows.add_exchange(conn, "kraken", volume_usd=42)
    server = ProcessServer(db_url).start()
    try:
        driver.get(f"{server.url}/graphql")
        editor = wait_for(
            lambda: driver.find_elements(By.CSS_SELECTOR, ".graphiql-query-editor .CodeMirror"),
            30,
            "the GraphiQL editor",
        )[0]
        driver.execute_script(
            "arguments[0].CodeMirror.setValue('');", editor
        )  # start from an empty editor, then type like a user
        editor.click()
        driver.switch_to.active_element.send_keys("{ exchanges { nodes { name volumeUsd ")
        driver.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()

        def result_text() -> str | None:
            text = _result_text(driver)
            return text if "kraken" in text else None

        result = wait_for(result_text, 30, "the query's result")
        assert '"volumeUsd": 42' in result
        requested = _requested_urls(driver)
        origin = urlsplit(server.url).netloc
        assert any(u.startswith(f"{server.url}/static/graphiql/") for u in requested), requested
        # chrome:// pages (the new-tab page before navigation) are the browser's own
        network = {u for u in requested if urlsplit(u).scheme in ("http", "https", "ws", "wss")}
        foreign = {u for u in network if urlsplit(u).netloc != origin}
        assert not foreign, f"GraphiQL fetched from outside the API: {foreign}"
        severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not severe, severe
    finally:
        output = server.stop()
    assert '"event": "api.request"' in output


def _result_text(driver: Any) -> str:
    from selenium.webdriver.common.by import By

    panes = driver.find_elements(By.CSS_SELECTOR, ".result-window .CodeMirror")
    if not panes:
        return ""
    return str(driver.execute_script("return arguments[0].CodeMirror.getValue();", panes[0]))
