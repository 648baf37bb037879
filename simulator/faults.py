"""Injected faults: what can go wrong with a request, how often, decided by a seeded RNG.

A `FaultPlan` gives each kind a per-request probability. For every request the
`FaultInjector` draws two numbers from its own RNG (so a sequence of requests meets the
same faults for the same seed): one decides whether the latency applies, the other
picks at most one fault kind, the kinds taking consecutive slices of [0, 1) in the order
of `FAULT_KINDS` (so their rates must add up to at most 1).

Spec strings (the CLI's ``--fault``): ``KIND=RATE`` with RATE in [0, 1];
``latency=SECONDS`` (every response) or ``latency=SECONDS@RATE``; ``limit=N`` (inject at
most N faults, latency not counted, then behave). Mappings (the control endpoint's JSON)
use the same keys: ``{"http500": 0.5, "latency": 0.2, "latency_rate": 1.0, "limit": 3}``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

FAULT_KINDS: tuple[str, ...] = (
    "http429",
    "http500",
    "http503",
    "timeout",
    "malformed",
    "truncated",
)
_KINDS_TEXT = ", ".join(FAULT_KINDS)


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """Per-request fault probabilities; the empty plan injects nothing."""

    rates: Mapping[str, float] = field(default_factory=dict)
    latency: float = 0.0  # seconds added before answering
    latency_rate: float = 1.0  # probability that the latency applies
    limit: int | None = None  # at most this many faults, then none

    def __post_init__(self) -> None:
        for kind, rate in self.rates.items():
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {kind!r} (known: {_KINDS_TEXT}, latency)")
            _check_rate(rate, f"{kind} rate")
        total = sum(self.rates.values())
        if total > 1.0 + 1e-9:
            raise ValueError(f"fault rates add up to {total:g}, more than 1")
        if not (math.isfinite(self.latency) and self.latency >= 0):
            raise ValueError(f"latency must be a non-negative number of seconds: {self.latency}")
        _check_rate(self.latency_rate, "latency rate")
        if self.limit is not None and self.limit < 0:
            raise ValueError(f"limit must be a non-negative count, got {self.limit}")

    @property
    def active(self) -> bool:
        return bool(self.latency and self.latency_rate) or any(self.rates.values())

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {kind: rate for kind, rate in self.rates.items() if rate}
        if self.latency:
            data["latency"] = self.latency
            data["latency_rate"] = self.latency_rate
        if self.limit is not None:
            data["limit"] = self.limit
        return data

    @classmethod
    def from_specs(cls, specs: Iterable[str]) -> FaultPlan:
        """Parse ``KIND=RATE`` strings; ValueError names the spec that is wrong."""
        data: dict[str, object] = {}
        for spec in specs:
            key, value = _split(spec)
            if key in data:
                raise ValueError(f"bad fault spec {spec!r}: {key} given twice")
            try:
                data[key] = _integer(value, key) if key == "limit" else value
                cls.from_mapping(data)
            except ValueError as error:
                raise ValueError(f"bad fault spec {spec!r}: {error}") from None
        return cls.from_mapping(data)

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> FaultPlan:
        """Build from JSON-like data; ValueError on unknown keys or bad values."""
        rates: dict[str, float] = {}
        latency, latency_rate, limit = 0.0, 1.0, None
        for key, value in data.items():
            if key == "limit":
                limit = None if value is None else _integer(value, key)
            elif key == "latency" and isinstance(value, str):
                seconds, _, rate = value.partition("@")
                latency = _number(seconds, key)
                latency_rate = _number(rate, "latency rate") if rate else latency_rate
            elif key == "latency":
                latency = _number(value, key)
            elif key == "latency_rate":
                latency_rate = _number(value, key)
            elif key in FAULT_KINDS:
                rates[key] = _number(value, key)
            else:
                raise ValueError(
                    f"unknown fault kind {key!r} (known: {_KINDS_TEXT}, latency, latency_rate,"
                    " limit)"
                )
        return cls(rates=rates, latency=latency, latency_rate=latency_rate, limit=limit)


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do to one request: wait `delay` seconds, then fail with `kind` (or not)."""

    kind: str | None = None
    delay: float = 0.0


class FaultInjector:
    """Draws a `Decision` per request from `plan`. Not thread-safe: lock around it."""

    def __init__(self, plan: FaultPlan, seed: str) -> None:
        self.plan = plan
        self.injected = 0
        self._rng = random.Random(seed)

    def decide(self) -> Decision:
        latency_draw, kind_draw = self._rng.random(), self._rng.random()
        plan = self.plan
        delay = plan.latency if latency_draw < plan.latency_rate else 0.0
        if plan.limit is not None and self.injected >= plan.limit:
            return Decision(None, delay)
        threshold = 0.0
        for kind in FAULT_KINDS:
            threshold += plan.rates.get(kind, 0.0)
            if kind_draw < threshold:
                self.injected += 1
                return Decision(kind, delay)
        return Decision(None, delay)


def _split(spec: str) -> tuple[str, str]:
    key, sep, value = spec.strip().partition("=")
    key = key.strip().lower()
    if not sep or not value.strip():
        raise ValueError(f"bad fault spec {spec!r}: expected KIND=RATE (kinds: {_KINDS_TEXT})")
    if key not in (*FAULT_KINDS, "latency", "limit"):
        raise ValueError(
            f"bad fault spec {spec!r}: unknown kind {key!r} (known: {_KINDS_TEXT}, latency, limit)"
        )
    return key, value.strip()


def _integer(value: object, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise ValueError(f"{name} must be a whole number, got {value!r}")


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


def _check_rate(rate: float, name: str) -> None:
    if not (isinstance(rate, (int, float)) and 0.0 <= rate <= 1.0):
        raise ValueError(f"{name} must be between 0 and 1, got {rate!r}")
