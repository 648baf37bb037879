"""The operators' status page at ``/``: server-rendered from the API's own schema.

The page runs two GraphQL operations in the process (the same resolvers, limits and token
rules as /graphql): the harvester's nodes, the exchanges and the recent failures, then
the chosen market's history for the chart. ``/?part=live`` is the same page's live
section alone, which the page's script fetches again when a run changes state (pushed by
`runUpdates`). The chart shows the market's candles when it has any (stored, or derived
from finer stored ones: `CANDLE_VIEWS`), drawn here as SVG; ``/?part=chart`` is that
section alone, fetched again when `marketUpdates` pushes the market's price. Without
candles it shows the tick history, which the page's script draws and grows with each
push. Nothing is loaded from elsewhere: the script and the style sheet are the API's own
static files.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from graphql_api.context import Context
from graphql_api.graphiql import STATIC
from graphql_api.status_chart import Bar
from graphql_api.status_render import Chart, render_chart, render_live, render_page
from marketmanager.settings import Settings

ASSETS_URL = "/static/status"
CHART_HOURS = 6
CHART_EVERY_SECONDS = 60

STATUS_QUERY = """
query StatusPage {
  status {
    queueDepth
    nodes { id host pid alive paused draining heartbeatAt
            processes { name pid alive restarts } }
  }
  exchanges(first: 200, orderBy: VOLUME_USD_DESC) {
    nodes { name enabled volumeUsd topPair lastUpdateAt status { state lastError } }
  }
  failed: runs(state: FAILED, first: 10) { nodes { ...failure } }
  crashed: runs(state: CRASHED, first: 10) { nodes { ...failure } }
}
fragment failure on HarvestRun { id state error finishedAt exchange { name } }
"""

# The candle views the chart tries, finest first: (timeframe, how far back). The first
# with any candle (stored, or derived from finer stored ones) is drawn; else the ticks.
CANDLE_VIEWS = (("5m", dt.timedelta(hours=12)), ("1h", dt.timedelta(days=7)),
                ("1d", dt.timedelta(days=180)))  # fmt: skip


def _chart_query() -> str:
    views = "".join(
        f'    view{i}: candles(timeframe: "{timeframe}", from: $view{i}, to: $to)'
        " { ts open high low close }\n"
        for i, (timeframe, _) in enumerate(CANDLE_VIEWS)
    )
    starts = "".join(f", $view{i}: DateTime!" for i in range(len(CANDLE_VIEWS)))
    return (
        "query StatusChart($exchange: String!, $symbol: String!, $from: DateTime!,"
        f" $to: DateTime!, $every: Int!{starts}) {{\n"
        "  market(exchange: $exchange, symbol: $symbol) {\n"
        "    last\n"
        "    history(from: $from, to: $to, everySeconds: $every) { time close }\n"
        f"{views}  }}\n}}\n"
    )


CHART_QUERY = _chart_query()

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ]
)


def chart_target(query: dict[str, str], exchanges: list[dict[str, Any]]) -> tuple[str, str] | None:
    """The market to chart: the one asked for, else the busiest exchange's top pair."""
    if query.get("exchange") and query.get("symbol"):
        return query["exchange"], query["symbol"]
    for exchange in exchanges:
        if exchange["topPair"]:
            return exchange["name"], exchange["topPair"]
    return None


def chart_of(exchange: str, symbol: str, market: dict[str, Any] | None) -> Chart:
    """The chart of CHART_QUERY's answer: the first candle view with candles, else ticks."""
    if market is None:
        return Chart(exchange, symbol, found=False)
    for i, (timeframe, _) in enumerate(CANDLE_VIEWS):
        if candles := market.get(f"view{i}"):
            bars = [
                Bar(dt.datetime.fromisoformat(c["ts"]), c["open"], c["high"], c["low"], c["close"])
                for c in candles
            ]
            return Chart(
                exchange, symbol, True, timeframe=timeframe, bars=bars, last=market["last"]
            )
    points = [(p["time"], p["close"]) for p in market.get("history", [])]
    return Chart(exchange, symbol, found=True, points=points)


class StatusPage:
    def __init__(self, schema: Any, settings: Settings) -> None:
        self.schema = schema
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        context = Context.create(
            request.app.state.pool,
            self.settings,
            authorization=request.headers.get("authorization"),
            request=request,
        )
        try:
            response = await self._respond(request, context)
        finally:
            context.release()
        await response(scope, receive, send)

    async def _respond(self, request: Request, context: Context) -> HTMLResponse:
        asked = chart_target(dict(request.query_params), [])
        if request.query_params.get("part") == "chart" and asked:
            chart = await self._chart(context, asked, dt.datetime.now(dt.UTC))
            # unavailable: the page keeps the chart it has
            return self._html(render_chart(chart), status=200 if chart else 503)
        result = await self.schema.execute(STATUS_QUERY, context_value=context)
        errors = [error.message for error in result.errors or []]
        data = result.data or {}
        exchanges = (data.get("exchanges") or {}).get("nodes", [])
        now = dt.datetime.now(dt.UTC)
        if request.query_params.get("part") == "live":
            return self._html(render_live(data, errors, now), status=200 if data else 503)
        target = chart_target(dict(request.query_params), exchanges)
        chart = await self._chart(context, target, now) if target else None
        page = render_page(data, errors, chart, now, assets=ASSETS_URL)
        return self._html(page, status=200 if data else 503)

    async def _chart(
        self, context: Context, target: tuple[str, str], now: dt.datetime
    ) -> Chart | None:
        """The market's chart; None when its query failed (the database is down …)."""
        exchange, symbol = target
        variables = {
            "exchange": exchange,
            "symbol": symbol,
            "from": (now - dt.timedelta(hours=CHART_HOURS)).isoformat(),
            "to": (now + dt.timedelta(seconds=CHART_EVERY_SECONDS)).isoformat(),
            "every": CHART_EVERY_SECONDS,
            **{f"view{i}": (now - back).isoformat() for i, (_, back) in enumerate(CANDLE_VIEWS)},
        }
        context.release()
        result = await self.schema.execute(
            CHART_QUERY, variable_values=variables, context_value=context
        )
        if result.errors:
            return None
        return chart_of(exchange, symbol, (result.data or {}).get("market"))

    def _html(self, body: str, status: int) -> HTMLResponse:
        headers = {
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        }
        return HTMLResponse(body, status_code=status, headers=headers)


def assets() -> StaticFiles:
    return StaticFiles(directory=STATIC / "status", check_dir=False)
