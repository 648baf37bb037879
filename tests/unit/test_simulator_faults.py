"""Fault plans: spec parsing, validation, and the deterministic injector."""

from __future__ import annotations

from collections import Counter

import pytest

from simulator.engine import Simulator
from simulator.faults import FAULT_KINDS, FaultInjector, FaultPlan


def test_specs_parse() -> None:
    plan = FaultPlan.from_specs(["http500=0.25", "timeout=0.1", "latency=0.5", "limit=3"])
    assert plan == FaultPlan({"http500": 0.25, "timeout": 0.1}, latency=0.5, limit=3)
    assert FaultPlan.from_specs(["latency=0.2@0.5"]).latency_rate == 0.5
    assert FaultPlan.from_specs([" HTTP429 = 1 "]).rates == {"http429": 1.0}
    assert not FaultPlan.from_specs([]).active
    assert FaultPlan.from_specs(["malformed=0.01"]).active


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("http500", "expected KIND=RATE"),
        ("http500=", "expected KIND=RATE"),
        ("boom=0.5", "unknown kind 'boom'"),
        ("http500=lots", "must be a number"),
        ("http500=1.5", "between 0 and 1"),
        ("http500=-0.1", "between 0 and 1"),
        ("timeout=nan", "must be finite"),
        ("latency=-1", "non-negative"),
        ("latency=1@2", "between 0 and 1"),
        ("limit=-1", "whole number"),
    ],
)
def test_bad_specs_raise_value_error_naming_the_spec(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as error:
        FaultPlan.from_specs([spec])
    assert repr(spec) in str(error.value)


def test_rates_may_not_add_up_past_one() -> None:
    with pytest.raises(ValueError, match=r"'http503=0.6'.*add up to 1.1"):
        FaultPlan.from_specs(["http500=0.5", "http503=0.6"])
    with pytest.raises(ValueError, match="given twice"):
        FaultPlan.from_specs(["http500=0.1", "http500=0.2"])


def test_mappings_parse_like_the_control_endpoint_sends_them() -> None:
    plan = FaultPlan.from_mapping({"http429": 0.5, "latency": "0.1@0.5", "limit": 2})
    assert plan == FaultPlan({"http429": 0.5}, latency=0.1, latency_rate=0.5, limit=2)
    assert FaultPlan.from_mapping(plan.to_dict()) == plan
    for bad in ({"nope": 1}, {"http500": True}, {"http500": [1]}, {"limit": 1.5}):
        with pytest.raises(ValueError):
            FaultPlan.from_mapping(bad)


def test_injector_is_deterministic_and_follows_the_rates() -> None:
    plan = FaultPlan({"http500": 0.2, "timeout": 0.1}, latency=0.3, latency_rate=0.5)
    one, two = FaultInjector(plan, "seed"), FaultInjector(plan, "seed")
    decisions = [one.decide() for _ in range(5000)]
    assert decisions == [two.decide() for _ in range(5000)]
    kinds = Counter(decision.kind for decision in decisions)
    assert kinds["http500"] == pytest.approx(1000, rel=0.15)
    assert kinds["timeout"] == pytest.approx(500, rel=0.2)
    assert set(kinds) == {None, "http500", "timeout"}
    delayed = sum(decision.delay == 0.3 for decision in decisions)
    assert delayed == pytest.approx(2500, rel=0.1)


def test_rate_one_always_and_limit_stops_injecting() -> None:
    for kind in FAULT_KINDS:
        injector = FaultInjector(FaultPlan({kind: 1.0}), "s")
        assert {injector.decide().kind for _ in range(50)} == {kind}
    limited = FaultInjector(FaultPlan({"http503": 1.0}, limit=2), "s")
    assert [limited.decide().kind for _ in range(4)] == ["http503", "http503", None, None]


def test_simulator_meets_the_same_faults_for_the_same_seed() -> None:
    def run() -> list[str | None]:
        simulator = Simulator(markets=20, seed=4, faults={"http500": 0.3, "malformed": 0.2})
        return [simulator.handle("kraken", "/0/public/Time", {}).fault for _ in range(40)]

    sequence = run()
    assert sequence == run()
    assert {"http500", "malformed", None} == set(sequence)


def test_simulator_faults_can_change_per_exchange() -> None:
    simulator = Simulator(markets=20, seed=4)
    simulator.set_faults(["http503=1"], exchange="kraken")
    assert simulator.handle("kraken", "/0/public/Time", {}).status == 503
    assert simulator.handle("binance", "/api/v3/time", {}).status == 200
    simulator.set_faults({"http429": 1.0})
    assert simulator.handle("binance", "/api/v3/time", {}).status == 429
    assert simulator.faults() == {"*": {"http429": 1.0}, "kraken": {"http503": 1.0}}
    simulator.clear_faults("kraken")
    assert simulator.handle("kraken", "/0/public/Time", {}).status == 429
    simulator.clear_faults()
    assert simulator.faults() == {"*": {}}
    assert simulator.handle("kraken", "/0/public/Time", {}).status == 200
    with pytest.raises(ValueError, match="unknown exchange 'ftx'"):
        simulator.set_faults({}, exchange="ftx")


def test_faulted_requests_do_not_move_prices() -> None:
    simulator = Simulator(markets=20, seed=4, faults={"http500": 1.0})
    assert simulator.handle("binance", "/api/v3/ticker/24hr", {}).status == 500
    assert simulator.step("binance") == 0
    simulator.clear_faults()
    assert simulator.handle("binance", "/api/v3/ticker/24hr", {}).status == 200
    assert simulator.step("binance") == 1


def test_simulator_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown exchange"):
        Simulator(markets=10, exchanges=["binance", "ftx"])
    with pytest.raises(ValueError, match="must be positive"):
        Simulator(markets=0)
    with pytest.raises(ValueError, match="bad fault spec 'http500=2'"):
        Simulator(markets=10, faults=["http500=2"])
