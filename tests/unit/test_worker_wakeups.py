"""How workers and the scheduler read run notifications, and who claims first (pure)."""

import json

from harvester.worker import IDLE_WAIT, claim_delay
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


def test_an_idle_worker_holding_the_markets_claims_first_and_a_busy_one_last() -> None:
    idle_familiar = claim_delay(0, familiar=True)
    idle_stranger = claim_delay(0, familiar=False)
    busy_familiar = claim_delay(1, familiar=True)
    assert idle_familiar == 0.0
    assert idle_familiar < idle_stranger < busy_familiar


def test_no_worker_waits_longer_than_its_next_look() -> None:
    assert claim_delay(100, familiar=False) == IDLE_WAIT
