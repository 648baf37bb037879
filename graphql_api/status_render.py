"""The status page's HTML, from the data of its GraphQL operations (pure)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from graphql_api.status_chart import Bar, candle_caption, candle_svg

Row = dict[str, Any]


@dataclass(frozen=True)
class Chart:
    """The charted market: its candles of one timeframe when it has any, else its ticks
    (`points`, drawn and grown by the page's script)."""

    exchange: str
    symbol: str
    found: bool
    points: list[tuple[str, float | None]] = field(default_factory=list)
    timeframe: str | None = None
    bars: list[Bar] = field(default_factory=list)
    last: float | None = None


def age(value: str | None, now: dt.datetime) -> str:
    """ "12 s ago", "5 min ago", "3 h ago", "2 d ago"; "never" for None."""
    if value is None:
        return "never"
    seconds = max((now - dt.datetime.fromisoformat(value)).total_seconds(), 0)
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"


def usd(value: float | None) -> str:
    return "—" if value is None else f"${value:,.0f}"


def text(value: Any) -> str:
    return "—" if value is None or value == "" else escape(str(value))


def table(caption: str, headers: Sequence[str], rows: Iterable[Sequence[str]], empty: str) -> str:
    """A table of already escaped cells, in a box that scrolls sideways on a phone."""
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    if not body:
        return f'<section><h2>{escape(caption)}</h2><p class="empty">{escape(empty)}</p></section>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return (
        f'<section><h2>{escape(caption)}</h2><div class="scroll"><table>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div></section>"
    )


def badge(value: str) -> str:
    return f'<span class="badge badge-{escape(value.lower())}">{escape(value)}</span>'


def _node_row(node: Row, now: dt.datetime) -> list[str]:
    processes = ", ".join(
        f"{escape(p['name'])} {text(p['pid'])}"
        + ("" if p["alive"] in (None, True) else " (dead)")
        + (f" ↻{p['restarts']}" if p["restarts"] else "")
        for p in node["processes"]
    )
    flags = [flag for flag in ("paused", "draining") if node[flag]]
    state = "ALIVE" if node["alive"] else "GONE"
    return [
        escape(node["id"]),
        f"{escape(node['host'])} ({node['pid']})",
        badge(state) + "".join(" " + badge(flag.upper()) for flag in flags),
        age(node["heartbeatAt"], now),
        processes or "—",
    ]


def _exchange_row(exchange: Row, now: dt.datetime) -> list[str]:
    status = exchange["status"]
    return [
        f'<a href="/?exchange={escape(exchange["name"])}'
        f'&amp;symbol={escape(exchange["topPair"] or "")}">{escape(exchange["name"])}</a>',
        badge(status["state"]),
        age(exchange["lastUpdateAt"], now),
        usd(exchange["volumeUsd"]),
        text(exchange["topPair"]),
        f'<span class="error">{text(status["lastError"])}</span>',
    ]


def recent_failures(data: Row, limit: int = 10) -> list[Row]:
    runs = [
        *(data.get("failed") or {}).get("nodes", []),
        *(data.get("crashed") or {}).get("nodes", []),
    ]
    return sorted(runs, key=lambda run: int(run["id"]), reverse=True)[:limit]


def render_live(data: Row, errors: Sequence[str], now: dt.datetime) -> str:
    """The part of the page that a run's change of state refreshes."""
    parts = [f'<p class="banner">{escape(message)}</p>' for message in errors]
    status = data.get("status") or {}
    exchanges = (data.get("exchanges") or {}).get("nodes", [])
    parts.append(
        f'<p class="summary">{len(exchanges)} exchanges · queue {text(status.get("queueDepth"))}'
        f" · as of {now:%H:%M:%S} UTC</p>"
    )
    parts.append(
        table(
            "Harvester nodes",
            ("Node", "Host (pid)", "State", "Heartbeat", "Processes"),
            (_node_row(node, now) for node in status.get("nodes", [])),
            "No harvester node has registered.",
        )
    )
    parts.append(
        table(
            "Exchanges",
            ("Exchange", "State", "Last update", "Volume (USD)", "Top pair", "Last error"),
            (_exchange_row(exchange, now) for exchange in exchanges),
            "No exchange yet: marketmanager exchanges add NAME.",
        )
    )
    parts.append(
        table(
            "Recent failed runs",
            ("Run", "Exchange", "State", "Finished", "Error"),
            (
                [
                    text(run["id"]),
                    escape(run["exchange"]["name"]),
                    badge(run["state"]),
                    age(run["finishedAt"], now),
                    f'<span class="error">{text(run["error"])}</span>',
                ]
                for run in recent_failures(data)
            ),
            "No failed run.",
        )
    )
    return "".join(parts)


def render_chart(chart: Chart | None) -> str:
    """The chart's section: candles drawn here, or ticks for the script to draw."""
    if chart is None:
        return '<section id="chart-section"><p class="empty">Nothing to chart yet.</p></section>'
    title = f"{escape(chart.symbol)} on {escape(chart.exchange)}"
    if chart.timeframe and chart.bars:
        kind, points = "candles", []
        title += f" · {escape(chart.timeframe)} candles"
        drawing = candle_svg(chart.timeframe, chart.bars, chart.last)
        caption = candle_caption(chart.timeframe, chart.bars, chart.last)
    else:
        kind, points = "ticks", chart.points
        drawing = '<svg id="chart" viewBox="0 0 600 220" role="img" aria-label="price chart"></svg>'
        caption = ""
    payload = {"exchange": chart.exchange, "symbol": chart.symbol, "kind": kind, "points": points}
    data = json.dumps(payload).replace("</", "<\\/")
    missing = "" if chart.found else '<p class="banner">No such market.</p>'
    return (
        f'<section id="chart-section"><h2>Price: {title}</h2>{missing}'
        '<form method="get" class="chooser">'
        f'<input name="exchange" value="{escape(chart.exchange)}" aria-label="exchange">'
        f'<input name="symbol" value="{escape(chart.symbol)}" aria-label="symbol">'
        f'<button>Chart</button></form>{drawing}<p id="chart-caption">{caption}</p>'
        f'<script type="application/json" id="chart-data">{data}</script></section>'
    )


def render_page(
    data: Row, errors: Sequence[str], chart: Chart | None, now: dt.datetime, *, assets: str
) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<title>MarketManager status</title><link rel="icon" href="data:,">'
        f'<link rel="stylesheet" href="{assets}/status.css"></head><body>'
        '<header><h1>MarketManager</h1><span id="live-state" class="badge">connecting…</span>'
        '<a href="/graphql">GraphiQL</a></header><main>'
        f'{render_chart(chart)}<div id="live">{render_live(data, errors, now)}</div>'
        f'</main><script src="{assets}/status.js"></script></body></html>'
    )
