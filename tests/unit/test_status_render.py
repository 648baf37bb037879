"""The status page's pure parts: ages, amounts, escaping, the market it charts and how."""

from __future__ import annotations

import datetime as dt

from graphql_api.status_page import chart_of, chart_target
from graphql_api.status_render import (
    Chart,
    age,
    recent_failures,
    render_chart,
    render_live,
    render_page,
    usd,
)

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


def _candle(hour: int, open_: float, close: float) -> dict[str, object]:
    ts = dt.datetime(2026, 1, 2, hour, tzinfo=dt.UTC).isoformat()
    return {"ts": ts, "open": open_, "high": max(open_, close) + 1, "low": min(open_, close) - 1,
            "close": close}  # fmt: skip


def test_the_chart_draws_the_first_candle_view_with_candles_else_the_ticks() -> None:
    hours = [_candle(9, 100, 104), _candle(10, 104, 101), _candle(12, 101, 110)]  # 11: none
    market = {"last": 120.0, "history": [{"time": "t", "close": 1.0}],
              "view0": [], "view1": hours, "view2": [_candle(0, 90, 110)]}  # fmt: skip
    chart = chart_of("binance", "BTC/USDT", market)
    assert (chart.timeframe, len(chart.bars), chart.last, chart.points) == ("1h", 3, 120.0, [])
    html = render_chart(chart)
    assert "Price: BTC/USDT on binance · 1h candles" in html
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert 'data-kind="candles" data-candles="3"' in svg and 'data-last="120"' in svg
    assert svg.count('class="candle up"') == 2 and svg.count('class="candle down"') == 1
    # four hourly slots over the plot's 540 px: the candles sit in slots 0, 1 and 3
    centers = [float(part.split('"')[0]) for part in svg.split('<line x1="')[2:5]]
    assert centers == [117.5, 252.5, 522.5]
    assert 'class="last"' in svg and ">120<" in svg and ">99<" in svg  # the scale holds both
    assert "3 1h candles from 2026-01-02 09:00 to 2026-01-02 12:00 UTC" in html
    assert '"kind": "candles", "points": []' in html

    ticks = chart_of("binance", "BTC/USDT", {**market, "view1": [], "view2": []})
    assert (ticks.timeframe, ticks.bars, ticks.points) == (None, [], [("t", 1.0)])
    assert '"kind": "ticks"' in render_chart(ticks) and "data-candles" not in render_chart(ticks)
    assert chart_of("binance", "NOPE/USDT", None).found is False
