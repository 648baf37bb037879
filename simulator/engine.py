"""The simulator's state and request logic, without any networking.

`Simulator` owns one `ExchangeModel` per exchange and the fault plans, and turns a
request (exchange, path, query) into an `Answer` that the HTTP server only has to carry
out. It is thread-safe: tests read it from their thread while the server runs in another.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

import structlog

from simulator.faults import FaultInjector, FaultPlan
from simulator.model import ExchangeModel, Ticker
from simulator.universe import Market, generate_universe
from simulator.wire import EXCHANGES, WIRE_FORMATS, Reply
from simulator.wire.base import not_found

log = structlog.get_logger()

FaultsArg = FaultPlan | Mapping[str, object] | Iterable[str] | None


@dataclass(frozen=True, slots=True)
class Answer:
    """What the server does with one request.

    ``respond``: send `body` whole. ``truncate``: announce ``len(body)`` in
    Content-Length, send the first half, close. ``hang``: send nothing and hold the
    connection until the client or the server gives up. Always after `delay` seconds.
    """

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=dict)
    action: Literal["respond", "truncate", "hang"] = "respond"
    delay: float = 0.0
    fault: str | None = None


def as_plan(faults: FaultsArg) -> FaultPlan:
    """A `FaultPlan` from a plan, a JSON-like mapping or ``KIND=RATE`` specs."""
    if faults is None:
        return FaultPlan()
    if isinstance(faults, FaultPlan):
        return faults
    if isinstance(faults, Mapping):
        return FaultPlan.from_mapping(faults)
    if isinstance(faults, str):
        return FaultPlan.from_specs([faults])
    return FaultPlan.from_specs(faults)


def encode(reply: Reply) -> bytes:
    if isinstance(reply.body, str):
        return reply.body.encode()
    return json.dumps(reply.body, separators=(",", ":")).encode()


class Simulator:
    """N markets per exchange, moving prices, injectable faults."""

    def __init__(
        self,
        markets: int = 2000,
        seed: int = 1,
        exchanges: Iterable[str] = EXCHANGES,
        faults: FaultsArg = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        names = tuple(dict.fromkeys(exchanges))
        unknown = [name for name in names if name not in WIRE_FORMATS]
        if unknown or not names:
            what = f"unknown exchange(s) {', '.join(unknown)}" if unknown else "no exchange given"
            raise ValueError(f"{what}; the simulator knows {', '.join(EXCHANGES)}")
        if markets <= 0:
            raise ValueError(f"the number of markets must be positive, got {markets}")
        plan = as_plan(faults)
        self.seed = seed
        self.markets_per_exchange = markets
        self._clock = clock
        self._lock = threading.Lock()
        self._models = {
            name: ExchangeModel(generate_universe(name, markets, seed)) for name in names
        }
        self._generation = 0
        self._injectors: dict[str | None, FaultInjector] = {}
        self._install(plan, None)
        self._requests: dict[str, Counter[str]] = {name: Counter() for name in names}
        self._faults_injected: dict[str, Counter[str]] = {name: Counter() for name in names}

    @property
    def exchanges(self) -> tuple[str, ...]:
        return tuple(self._models)

    # -- the model, for tests --------------------------------------------------------

    def markets(self, exchange: str) -> tuple[Market, ...]:
        return self._model(exchange).markets

    def tickers(self, exchange: str) -> dict[str, Ticker]:
        """The tickers last served by `exchange` (its initial ones before any request)."""
        with self._lock:
            return self._model(exchange).tickers_by_symbol()

    def step(self, exchange: str) -> int:
        """How many tickers requests `exchange` has served."""
        with self._lock:
            return self._model(exchange).step

    def state(self, exchange: str | None = None) -> dict[str, object]:
        """A JSON-able summary; with `exchange`, only that one, with its tickers as served."""
        with self._lock:
            names = self.exchanges if exchange is None else (self._model(exchange).exchange,)
            summary = {name: self._summary(name, tickers=exchange is not None) for name in names}
            return {"seed": self.seed, "exchanges": summary, "faults": self._faults_dict()}

    def _summary(self, name: str, tickers: bool) -> dict[str, object]:
        model = self._models[name]
        summary: dict[str, object] = {
            "markets": len(model.markets),
            "step": model.step,
            "requests": dict(self._requests[name]),
            "faults_injected": dict(self._faults_injected[name]),
        }
        if tickers:
            summary["tickers"] = {ticker.symbol: ticker.unified() for ticker in model.tickers}
        return summary

    # -- faults ----------------------------------------------------------------------

    def set_faults(self, faults: FaultsArg, exchange: str | None = None) -> None:
        """Replace the fault plan of `exchange` (None: the default plan of all of them).

        The injector's RNG restarts, so the same plan meets the same faults again.
        """
        plan = as_plan(faults)
        with self._lock:
            if exchange is not None:
                self._model(exchange)
            self._install(plan, exchange)
        log.info("sim.faults_set", exchange=exchange, faults=plan.to_dict())

    def clear_faults(self, exchange: str | None = None) -> None:
        """Drop `exchange`'s own plan (it falls back to the default), or (None) every plan."""
        with self._lock:
            if exchange is None:
                self._injectors.clear()
                self._install(FaultPlan(), None)
            else:
                self._model(exchange)
                self._injectors.pop(exchange, None)
        log.info("sim.faults_cleared", exchange=exchange)

    def _install(self, plan: FaultPlan, exchange: str | None) -> None:
        self._generation += 1
        seed = f"{self.seed}:faults:{exchange or '*'}:{self._generation}"
        self._injectors[exchange] = FaultInjector(plan, seed)

    def faults(self) -> dict[str, object]:
        with self._lock:
            return self._faults_dict()

    def _faults_dict(self) -> dict[str, object]:
        return {name or "*": injector.plan.to_dict() for name, injector in self._injectors.items()}

    # -- requests --------------------------------------------------------------------

    def handle(self, exchange: str, path: str, query: Mapping[str, str]) -> Answer:
        """Answer ``GET /<exchange><path>?<query>``."""
        wire = WIRE_FORMATS.get(exchange)
        endpoint = wire.endpoints.get(path) if wire is not None else None
        if wire is None or endpoint is None or exchange not in self._models:
            return _answer(not_found(f"/{exchange}{path}"))
        now_ms = int(self._clock() * 1000)
        reply: Reply | None = None
        with self._lock:
            model = self._models[exchange]
            injector = self._injectors.get(exchange) or self._injectors[None]
            decision = injector.decide()
            kind = decision.kind
            self._requests[exchange][path] += 1
            if kind is not None:
                self._faults_injected[exchange][kind] += 1
            error = wire.errors.get(kind) if kind is not None else None
            if error is not None:
                reply = error
            elif kind != "timeout":
                if endpoint.moves_prices and kind is None:
                    model.advance()
                reply = endpoint.render(model, query, now_ms)
        if kind is not None:
            log.info("sim.fault", exchange=exchange, path=path, fault=kind)
        if reply is None:
            return Answer(200, b"", action="hang", delay=decision.delay, fault=kind)
        answer = _answer(reply, decision.delay, kind)
        if kind == "truncated":
            return replace(answer, action="truncate")
        if kind == "malformed":
            return replace(answer, body=answer.body[: len(answer.body) // 2])
        return answer

    def _model(self, exchange: str) -> ExchangeModel:
        try:
            return self._models[exchange]
        except KeyError:
            raise ValueError(
                f"unknown exchange {exchange!r}; this simulator serves {', '.join(self._models)}"
            ) from None


def _answer(reply: Reply, delay: float = 0.0, fault: str | None = None) -> Answer:
    return Answer(
        status=reply.status,
        body=encode(reply),
        content_type=reply.content_type,
        headers=dict(reply.headers),
        delay=delay,
        fault=fault,
    )
