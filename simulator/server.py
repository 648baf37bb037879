"""The simulator over HTTP (aiohttp): exchange routes under ``/<ccxt id>``, control under ``/_sim``.

Control endpoints (JSON in, JSON out):

- ``GET /_sim/state`` — seed, and per exchange: markets, steps, request and fault counts.
- ``GET /_sim/state/<exchange>`` — the same plus that exchange's tickers as last served.
- ``GET /_sim/faults`` — the fault plans (``"*"`` is the default of every exchange).
- ``POST /_sim/faults[?exchange=NAME]`` — replace a plan with the JSON body, e.g.
  ``{"http500": 1.0}`` or ``{"latency": 0.5, "timeout": 0.1, "limit": 2}``.
- ``DELETE /_sim/faults[?exchange=NAME]`` — clear that exchange's plan, or every plan.

`serve()` runs until an event is set; `SimulatorServer` runs it in a background thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator

from aiohttp import web

from simulator.engine import Answer, FaultsArg, Simulator
from simulator.wire import EXCHANGES

SIMULATOR = web.AppKey("simulator", Simulator)
CLOSING = web.AppKey("closing", asyncio.Event)
HOLD_SECONDS = web.AppKey("hold_seconds", float)
DEFAULT_HOLD_SECONDS = 300.0  # how long a ``timeout`` fault holds a connection at most


def build_app(
    simulator: Simulator, closing: asyncio.Event, hold_seconds: float = DEFAULT_HOLD_SECONDS
) -> web.Application:
    app = web.Application()
    app[SIMULATOR] = simulator
    app[CLOSING] = closing
    app[HOLD_SECONDS] = hold_seconds
    app.router.add_get("/_sim/state", _get_state)
    app.router.add_get("/_sim/state/{exchange}", _get_state)
    app.router.add_get("/_sim/faults", _get_faults)
    app.router.add_post("/_sim/faults", _set_faults)
    app.router.add_delete("/_sim/faults", _clear_faults)
    app.router.add_route("*", "/{tail:.*}", _exchange)
    return app


async def serve(
    simulator: Simulator,
    host: str,
    port: int,
    stop: asyncio.Event,
    on_ready: Callable[[str], None] | None = None,
    hold_seconds: float = DEFAULT_HOLD_SECONDS,
) -> None:
    """Serve on host:port (0: any free port) until `stop` is set; `on_ready(url)` once bound."""
    closing = asyncio.Event()
    app = build_app(simulator, closing, hold_seconds)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=5)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_host, bound_port = runner.addresses[0][:2]
        if on_ready is not None:
            on_ready(f"http://{_url_host(bound_host)}:{bound_port}")
        await stop.wait()
    finally:
        closing.set()  # wakes held connections and pending latencies
        await runner.cleanup()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _json(data: object, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


async def _get_state(request: web.Request) -> web.Response:
    exchange = request.match_info.get("exchange")
    try:
        return _json(request.app[SIMULATOR].state(exchange))
    except ValueError as error:
        return _json({"error": str(error)}, status=404)


async def _get_faults(request: web.Request) -> web.Response:
    return _json(request.app[SIMULATOR].faults())


async def _set_faults(request: web.Request) -> web.Response:
    simulator = request.app[SIMULATOR]
    try:
        body = json.loads(await request.text() or "{}")
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object mapping fault kinds to rates")
        simulator.set_faults(body, exchange=request.query.get("exchange"))
    except ValueError as error:  # JSONDecodeError included
        return _json({"error": str(error)}, status=400)
    return _json(simulator.faults())


async def _clear_faults(request: web.Request) -> web.Response:
    simulator = request.app[SIMULATOR]
    try:
        simulator.clear_faults(exchange=request.query.get("exchange"))
    except ValueError as error:
        return _json({"error": str(error)}, status=400)
    return _json(simulator.faults())


async def _exchange(request: web.Request) -> web.StreamResponse:
    exchange, slash, rest = request.match_info["tail"].partition("/")
    if request.method != "GET":
        return _json({"error": "method not allowed", "path": request.path}, status=405)
    answer = request.app[SIMULATOR].handle(exchange, slash + rest, dict(request.query))
    closing = request.app[CLOSING]
    if answer.delay and await _closed_within(closing, answer.delay):
        return _drop(request)
    if answer.action == "hang":
        await _closed_within(closing, request.app[HOLD_SECONDS])
        return _drop(request)
    if answer.action == "truncate":
        return await _truncated(request, answer)
    return web.Response(
        body=answer.body,
        status=answer.status,
        headers=answer.headers,
        content_type=answer.content_type,
    )


async def _closed_within(closing: asyncio.Event, seconds: float) -> bool:
    """Wait `seconds`; True if the server started closing meanwhile."""
    try:
        await asyncio.wait_for(closing.wait(), seconds)
    except TimeoutError:
        return False
    return True


async def _truncated(request: web.Request, answer: Answer) -> web.StreamResponse:
    """Announce the whole body, send half of it, close the connection."""
    response = web.StreamResponse(status=answer.status, headers=answer.headers)
    response.content_type = answer.content_type
    response.content_length = len(answer.body)
    await response.prepare(request)
    await response.write(answer.body[: len(answer.body) // 2])
    return _drop(request, response)


def _drop(request: web.Request, response: web.StreamResponse | None = None) -> web.StreamResponse:
    """Close the connection without (the rest of) a response.

    aiohttp then fails to finish `response` on the closed transport, which it treats as a
    client that went away: nothing more is sent and nothing is logged.
    """
    if request.transport is not None:
        request.transport.close()
    return response if response is not None else web.Response(status=204)


class SimulatorServer:
    """A `Simulator` served from a background thread (its own event loop), for tests.

    ``with SimulatorServer(Simulator(markets=100)) as server: server.url`` — binds
    127.0.0.1 on a free port by default; leaving the block stops the server, wakes held
    connections and joins the thread.
    """

    def __init__(
        self,
        simulator: Simulator,
        host: str = "127.0.0.1",
        port: int = 0,
        hold_seconds: float = DEFAULT_HOLD_SECONDS,
    ) -> None:
        self.simulator = simulator
        self.host = host
        self.port = port
        self.hold_seconds = hold_seconds
        self.url = ""
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    def exchange_url(self, exchange: str) -> str:
        """Where `exchange`'s API lives: what the harvester's ``api_url`` points at."""
        return f"{self.url}/{exchange}"

    def start(self) -> SimulatorServer:
        if self._thread is not None:
            raise RuntimeError("the simulator server is already started")
        self._thread = threading.Thread(target=self._main, name="simulator", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise self._error
        return self

    def stop(self) -> None:
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None:
            loop.call_soon_threadsafe(stop.set)
        thread.join()
        self._thread = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # reported to start(), or lost after it
            self._error = error
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()

        def ready(url: str) -> None:
            self.url = url
            self.port = int(url.rsplit(":", 1)[1])
            self._ready.set()

        await serve(self.simulator, self.host, self.port, self._stop, ready, self.hold_seconds)


@contextlib.contextmanager
def running_simulator(
    markets: int = 2000,
    seed: int = 1,
    exchanges: Iterable[str] = EXCHANGES,
    faults: FaultsArg = None,
    host: str = "127.0.0.1",
    port: int = 0,
    hold_seconds: float = DEFAULT_HOLD_SECONDS,
) -> Iterator[SimulatorServer]:
    """``with running_simulator(markets=2000, seed=1) as sim: sim.url`` → http://127.0.0.1:PORT"""
    simulator = Simulator(markets=markets, seed=seed, exchanges=exchanges, faults=faults)
    with SimulatorServer(simulator, host, port, hold_seconds) as server:
        yield server
