"""The status page's pure parts: ages, amounts, escaping, the market it charts."""

from __future__ import annotations

import datetime as dt

from graphql_api.status_page import chart_target
from graphql_api.status_render import Chart, age, recent_failures, render_live, render_page, usd

NOW = dt.datetime(2026, 1, 2, 12, 0, tzinfo=dt.UTC)


def test_ages_read_in_the_largest_whole_unit() -> None:
    ago = lambda seconds: (NOW - dt.timedelta(seconds=seconds)).isoformat()  # noqa: E731
    assert [age(ago(s), NOW) for s in (0, 59, 60, 3_599, 7_200, 200_000)] == [
        "0 s ago", "59 s ago", "1 min ago", "59 min ago", "2 h ago", "2 d ago",
    ]  # fmt: skip
    assert age(None, NOW) == "never"
    assert (usd(None), usd(1234567.8)) == ("—", "$1,234,568")


def test_the_chart_is_the_market_asked_for_else_the_busiest_exchange_top_pair() -> None:
    exchanges = [{"name": "quiet", "topPair": None}, {"name": "busy", "topPair": "BTC/USDT"}]
    assert chart_target({}, exchanges) == ("busy", "BTC/USDT")
    assert chart_target({"exchange": "x", "symbol": "A/B"}, exchanges) == ("x", "A/B")
    assert chart_target({}, exchanges[:1]) is None


def test_what_the_database_holds_is_escaped_and_failures_come_newest_first() -> None:
    run = {"state": "FAILED", "finishedAt": None, "exchange": {"name": "kraken"}}
    data = {
        "exchanges": {"nodes": [{"name": "kraken", "enabled": True, "volumeUsd": None,
                                 "topPair": None, "lastUpdateAt": None,
                                 "status": {"state": "FAILING", "lastError": "<b>boom</b>"}}]},
        "failed": {"nodes": [{**run, "id": "3", "error": "<i>x</i>"}]},
        "crashed": {"nodes": [{**run, "id": "7", "state": "CRASHED", "error": "gone"}]},
    }  # fmt: skip
    assert [r["id"] for r in recent_failures(data)] == ["7", "3"]
    html = render_live(data, ["database unavailable"], NOW)
    assert "<b>boom</b>" not in html and "&lt;b&gt;boom&lt;/b&gt;" in html
    assert "&lt;i&gt;x&lt;/i&gt;" in html and "database unavailable" in html
    chart = Chart("binance", "</script>", found=True, points=[("t", 1.0)])
    page = render_page(data, [], chart, NOW, assets="/static/status")
    assert '</script>"' not in page and page.count("</script>") == 2
