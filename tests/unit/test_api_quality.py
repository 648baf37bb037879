"""The pure judgements of graphql_api.quality: exchange state and market flags."""

from __future__ import annotations

import datetime as dt

import pytest

from graphql_api.quality import (
    ExchangeState,
    RunSnapshot,
    exchange_state,
    is_anomalous,
    is_stale,
    spread_pct,
)

NOW = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC)


def ago(seconds: float) -> dt.datetime:
    return NOW - dt.timedelta(seconds=seconds)


def state(
    enabled: bool = True,
    newest: RunSnapshot | None = None,
    finished: RunSnapshot | None = None,
) -> ExchangeState:
    return exchange_state(
        enabled=enabled, newest=newest, last_finished=finished, now=NOW, stale_after=30
    )


@pytest.mark.parametrize(
    ("enabled", "newest", "finished", "expected"),
    [
        (True, None, None, ExchangeState.IDLE),
        (False, None, None, ExchangeState.DISABLED),
        (True, RunSnapshot("QUEUED"), None, ExchangeState.QUEUED),
        (True, RunSnapshot("RUNNING", ago(5)), None, ExchangeState.RUNNING),
        (True, RunSnapshot("RUNNING", ago(30)), None, ExchangeState.RUNNING),
        (True, RunSnapshot("RUNNING", ago(31)), None, ExchangeState.STALE),
        (True, RunSnapshot("RUNNING", None), None, ExchangeState.STALE),
        (True, RunSnapshot("FAILED"), RunSnapshot("FAILED"), ExchangeState.FAILING),
        (True, RunSnapshot("CRASHED"), RunSnapshot("CRASHED"), ExchangeState.FAILING),
        (True, RunSnapshot("SUCCEEDED"), RunSnapshot("SUCCEEDED"), ExchangeState.IDLE),
        # a retry queued after a failure: what happens now wins
        (True, RunSnapshot("QUEUED"), RunSnapshot("FAILED"), ExchangeState.QUEUED),
        (True, RunSnapshot("RUNNING", ago(1)), RunSnapshot("CRASHED"), ExchangeState.RUNNING),
        # an active run wins over DISABLED; otherwise DISABLED wins over FAILING
        (False, RunSnapshot("RUNNING", ago(1)), None, ExchangeState.RUNNING),
        (False, RunSnapshot("QUEUED"), None, ExchangeState.QUEUED),
        (False, RunSnapshot("FAILED"), RunSnapshot("FAILED"), ExchangeState.DISABLED),
    ],
)
def test_exchange_state(
    enabled: bool,
    newest: RunSnapshot | None,
    finished: RunSnapshot | None,
    expected: ExchangeState,
) -> None:
    assert state(enabled, newest, finished) is expected


def test_spread_is_relative_to_the_mid_price() -> None:
    assert spread_pct(99.0, 101.0) == pytest.approx(2.0)
    assert spread_pct(101.0, 99.0) == pytest.approx(-2.0)  # crossed book
    for bid, ask in [(None, 1.0), (1.0, None), (0.0, 1.0), (1.0, -1.0)]:
        assert spread_pct(bid, ask) is None


@pytest.mark.parametrize(
    ("last", "bid", "ask", "expected"),
    [
        (100.0, 99.0, 101.0, False),  # inside the book
        (None, 99.0, 101.0, False),  # no last: only the spread counts
        (100.0, None, 101.0, False),  # cannot judge without both sides
        (100.0, 0.0, 101.0, False),
        (100.0, 80.0, 120.0, True),  # spread 40 % of mid
        (100.0, 90.0, 110.0, False),  # spread exactly 20 %: not above
        (100.0, 101.0, 99.0, False),  # slightly crossed
        (100.0, 130.0, 90.0, True),  # |spread| 36 %
        (120.0, 99.0, 101.0, False),  # 18.8 % above ask
        (121.3, 99.0, 101.0, True),  # 20.1 % above ask
        (79.3, 99.0, 101.0, False),  # 19.9 % below bid
        (79.1, 99.0, 101.0, True),  # 20.1 % below bid
    ],
)
def test_anomalous(
    last: float | None, bid: float | None, ask: float | None, expected: bool
) -> None:
    assert is_anomalous(last, bid, ask, threshold_pct=20.0) is expected


def test_anomaly_threshold_is_a_parameter() -> None:
    assert is_anomalous(100.0, 99.0, 101.0, threshold_pct=1.0)  # spread 2 %
    assert not is_anomalous(100.0, 99.0, 101.0, threshold_pct=2.5)


def test_stale_markets() -> None:
    hours = 3600.0
    assert not is_stale(active=True, updated_at=ago(1), now=NOW, stale_hours=24)
    assert not is_stale(active=True, updated_at=ago(24 * hours), now=NOW, stale_hours=24)
    assert is_stale(active=True, updated_at=ago(24 * hours + 1), now=NOW, stale_hours=24)
    assert is_stale(active=False, updated_at=NOW, now=NOW, stale_hours=24)
    assert is_stale(active=True, updated_at=ago(0.6 * hours), now=NOW, stale_hours=0.5)
