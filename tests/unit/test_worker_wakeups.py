"""How workers and the scheduler read run notifications, and who claims first (pure)."""

import json

from harvester.worker import (
    IDLE_WAIT,
    STRANGER_AFTER,
    claim_delay,
    home_slot,
    stranger_after,
    worker_slot,
)
from marketmanager.run_events import RunEvent, run_event


def test_a_run_notification_is_read_from_its_payload() -> None:
    payload = json.dumps({"version": 7, "run": 12, "exchange": 3, "state": "QUEUED"})
    event = run_event(payload)
    assert event == RunEvent(run_id=12, exchange_id=3, state="QUEUED")
    assert event.queued and not event.finished
    assert run_event(json.dumps({"run": 1, "exchange": 2, "state": "CRASHED"})).finished  # type: ignore[union-attr]


def test_a_notification_that_is_not_a_run_event_is_ignored() -> None:
    for payload in (
        "",
        "not json",
        "[]",
        json.dumps({"run": "x", "exchange": 1, "state": "QUEUED"}),
    ):
        assert run_event(payload) is None


def test_an_exchanges_home_worker_claims_at_once_and_a_busy_stranger_last() -> None:
    assert claim_delay(3, home=True) == 0.0
    assert 0.0 < claim_delay(0, home=False) < claim_delay(1, home=False)


def test_a_run_waits_for_its_home_worker_longer_for_a_busier_stranger() -> None:
    assert stranger_after(0) == STRANGER_AFTER
    assert stranger_after(0) < stranger_after(1) < stranger_after(2)


def test_no_worker_waits_longer_than_its_next_look() -> None:
    assert claim_delay(100, home=False) == IDLE_WAIT


def test_exchanges_spread_over_the_pool_by_id() -> None:
    homes = [home_slot(exchange_id, 4) for exchange_id in range(1, 9)]
    assert sorted(homes) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert [worker_slot(f"worker-{n}") for n in (1, 2, 4)] == [0, 1, 3]
    assert worker_slot("scheduler") == 0
