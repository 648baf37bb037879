"""The status page's candle chart: an SVG drawn on the server from candles (pure).

Candles sit at their open times (a missing candle leaves its slot empty), a wick from
low to high and a body from open to close, green when the close is at or above the
open; a dashed line marks the market's last price. The SVG scales to the page's width
(its viewBox) and holds no style of its own: status.css colours it by class, which the
page's Content-Security-Policy allows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from marketmanager.candles.timeframes import timeframe_ms

WIDTH, HEIGHT = 600, 236
LEFT, RIGHT = 50.0, 590.0  # the plot's x range; the price labels sit left of it
TOP, BOTTOM = 20.0, 200.0  # the plot's y range; the time labels sit below it
BODY_SHARE = 0.7  # of a candle's slot


@dataclass(frozen=True, slots=True)
class Bar:
    """One candle as the chart needs it."""

    ts: dt.datetime
    open: float
    high: float
    low: float
    close: float


def price(value: float) -> str:
    return f"{value:.6g}"


def _coordinate(value: float) -> str:
    return f"{value:.1f}"


def candle_svg(timeframe: str, bars: Sequence[Bar], last: float | None) -> str:
    """The chart of `bars` (oldest first, at least one)."""
    step = timeframe_ms(timeframe) / 1000
    start = bars[0].ts
    slots = max((bars[-1].ts - start).total_seconds() / step + 1, 1)
    slot = (RIGHT - LEFT) / slots
    prices = [b.high for b in bars] + [b.low for b in bars] + ([last] if last is not None else [])
    low, high = min(prices), max(prices)

    def x(moment: dt.datetime) -> float:
        return LEFT + ((moment - start).total_seconds() / step + 0.5) * slot

    def y(value: float) -> float:
        return BOTTOM - ((value - low) / (high - low) if high > low else 0.5) * (BOTTOM - TOP)

    parts = [
        f'<line x1="{LEFT:g}" y1="{BOTTOM:g}" x2="{RIGHT:g}" y2="{BOTTOM:g}" class="axis"/>',
        f'<text x="0" y="{TOP + 4:g}" class="label">{price(high)}</text>',
        f'<text x="0" y="{BOTTOM + 4:g}" class="label">{price(low)}</text>',
        f'<text x="{LEFT:g}" y="{HEIGHT - 4}" class="label">{start:%Y-%m-%d %H:%M}</text>',
        f'<text x="{RIGHT:g}" y="{HEIGHT - 4}" class="label end">'
        f"{bars[-1].ts:%Y-%m-%d %H:%M}</text>",
    ]
    body = max(slot * BODY_SHARE, 1.0)
    for bar in bars:
        direction = "up" if bar.close >= bar.open else "down"
        center = x(bar.ts)
        top, bottom = y(max(bar.open, bar.close)), y(min(bar.open, bar.close))
        parts.append(
            f'<g class="candle {direction}">'
            f'<line x1="{_coordinate(center)}" y1="{_coordinate(y(bar.high))}" '
            f'x2="{_coordinate(center)}" y2="{_coordinate(y(bar.low))}"/>'
            f'<rect x="{_coordinate(center - body / 2)}" y="{_coordinate(top)}" '
            f'width="{_coordinate(body)}" height="{_coordinate(max(bottom - top, 1.0))}"/></g>'
        )
    if last is not None:
        level = _coordinate(y(last))
        parts.append(f'<line x1="{LEFT:g}" y1="{level}" x2="{RIGHT:g}" y2="{level}" class="last"/>')
    return (
        f'<svg id="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(timeframe)} candles" data-kind="candles" '
        f'data-candles="{len(bars)}" data-timeframe="{escape(timeframe)}" '
        f'data-last="{"" if last is None else price(last)}">{"".join(parts)}</svg>'
    )


def candle_caption(timeframe: str, bars: Sequence[Bar], last: float | None) -> str:
    text = (
        f"{len(bars)} {timeframe} candles from {bars[0].ts:%Y-%m-%d %H:%M}"
        f" to {bars[-1].ts:%Y-%m-%d %H:%M} UTC (open times)"
    )
    if last is not None:
        text += f" · last {price(last)} (dashed)"
    return escape(text)
