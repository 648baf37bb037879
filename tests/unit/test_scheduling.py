import datetime as dt

from harvester.poller.decisions import (
    FinishedRun,
    jittered,
    partitions_to_drop,
    retries,
    retry_delay,
)
from harvester.scheduler.decisions import (
    FIRST_RUN_SPREAD_SECONDS,
    ExchangeSchedule,
    due,
    first_run_offset,
    seconds_to_next_due,
)

T0 = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


def seconds(n: float) -> dt.timedelta:
    return dt.timedelta(seconds=n)


def schedule(id: int = 1, **changes: object) -> ExchangeSchedule:
    fields: dict[str, object] = {
        "id": id,
        "enabled": True,
        "interval_seconds": 60,
        "active_run": False,
        "last_finished_at": T0,
    }
    fields.update(changes)
    return ExchangeSchedule(**fields)  # type: ignore[arg-type]


def test_due_once_the_interval_has_passed_since_the_last_finish() -> None:
    exchange = schedule(interval_seconds=60)
    assert due([exchange], T0 + seconds(59.9), T0 - seconds(3600)) == []
    assert due([exchange], T0 + seconds(60), T0 - seconds(3600)) == [1]


def test_disabled_or_busy_exchanges_are_never_due() -> None:
    late = T0 + seconds(3600)
    assert due([schedule(enabled=False)], late, T0) == []
    assert due([schedule(active_run=True)], late, T0) == []


def test_first_runs_are_spread_from_the_scheduler_start() -> None:
    never = [schedule(id=i, last_finished_at=None, interval_seconds=300) for i in range(1, 101)]
    offsets = sorted(first_run_offset(e.id, 300) for e in never)
    assert all(0 <= o < FIRST_RUN_SPREAD_SECONDS for o in offsets)
    # evenly scattered: no 3-second slice of the window holds more than a fifth of them
    for start in range(int(FIRST_RUN_SPREAD_SECONDS)):
        assert sum(start <= o < start + 3 for o in offsets) <= 20
    assert due(never, T0, T0) == [e.id for e in never if first_run_offset(e.id, 300) == 0]
    assert sorted(due(never, T0 + seconds(FIRST_RUN_SPREAD_SECONDS), T0)) == list(range(1, 101))


def test_a_short_interval_bounds_the_spread() -> None:
    assert all(first_run_offset(i, 5) < 5 for i in range(1, 50))
    assert due(
        [schedule(id=7, last_finished_at=None, interval_seconds=5)], T0 + seconds(5), T0
    ) == [7]


def test_retry_delay_doubles_up_to_a_cap() -> None:
    assert [retry_delay(n) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert retry_delay(30) == 300.0


def failed(**changes: object) -> FinishedRun:
    fields: dict[str, object] = {
        "id": 10,
        "exchange_id": 1,
        "state": "FAILED",
        "attempt": 1,
        "retryable": True,
        "finished_at": T0,
    }
    fields.update(changes)
    return FinishedRun(**fields)  # type: ignore[arg-type]


def test_retries_follow_attempts_and_backoff() -> None:
    [retry] = retries([failed(attempt=2)], max_attempts=5, draw=lambda: 0.0)
    assert (retry.retry_of, retry.exchange_id, retry.attempt) == (10, 1, 3)
    assert retry.not_before == T0 + seconds(4)


def test_jitter_stretches_a_backoff_by_at_most_half_and_never_shortens_it() -> None:
    assert jittered(4.0, lambda: 0.0) == 4.0
    assert jittered(4.0, lambda: 0.5) == 5.0
    assert jittered(4.0, lambda: 0.999) < 6.0
    # the longest wait of one attempt stays below the shortest of the next
    for attempt in range(1, 8):
        assert jittered(retry_delay(attempt), lambda: 0.999) < retry_delay(attempt + 1)


def test_exchanges_failing_together_retry_at_different_times() -> None:
    outage = [failed(id=n, exchange_id=n, attempt=3) for n in range(1, 21)]
    draws = iter([n / 20 for n in range(20)])  # an injected random source
    planned = retries(outage, max_attempts=5, draw=lambda: next(draws))
    waits = [(retry.not_before - T0).total_seconds() for retry in planned]
    assert len(set(waits)) == 20, "no two exchanges retry in lockstep"
    assert min(waits) == 8.0 and max(waits) < 12.0


def test_no_retry_past_max_attempts_or_for_permanent_errors() -> None:
    assert retries([failed(attempt=5)], max_attempts=5) == []
    assert retries([failed(retryable=False)], max_attempts=5) == []
    assert retries([failed(retryable=None)], max_attempts=5) == []


def test_crashed_runs_are_always_retried() -> None:
    assert len(retries([failed(state="CRASHED", retryable=None)], max_attempts=5)) == 1


def test_partitions_past_retention_are_dropped() -> None:
    names = [
        "market_ticks_p20261120",
        "market_ticks_p20261121",
        "market_ticks_p20261124",
        "market_ticks_p20261125",
        "market_ticks_default",
        "other_p20200101",
    ]
    today = dt.date(2026, 11, 24)
    assert partitions_to_drop(names, today, retention_days=3) == ["market_ticks_p20261120"]
    assert partitions_to_drop(names, today, retention_days=1) == [
        "market_ticks_p20261120",
        "market_ticks_p20261121",
    ]


def test_the_scheduler_sleeps_until_the_next_exchange_is_due() -> None:
    exchanges = [
        schedule(1, last_finished_at=T0 - seconds(50)),  # due in 10 s
        schedule(2, last_finished_at=T0 - seconds(59.7)),  # due in 0.3 s
        schedule(3, active_run=True, last_finished_at=T0 - seconds(59.9)),  # busy: a NOTIFY
        schedule(4, enabled=False, last_finished_at=T0 - seconds(59.9)),
    ]
    assert round(seconds_to_next_due(exchanges, T0, T0, longest=1.0), 6) == 0.3


def test_the_scheduler_sleeps_at_most_a_tick() -> None:
    far = [schedule(1, last_finished_at=T0)]
    assert seconds_to_next_due(far, T0, T0, longest=1.0) == 1.0
    assert seconds_to_next_due([], T0, T0, longest=2.5) == 2.5
