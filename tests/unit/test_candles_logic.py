"""The pure candle logic: timeframes, aggregation, gaps, paging, keeping current."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from graphql_api.candle_loaders import best_source
from harvester.candles.keeping import KeptTimeframe, due_fetches, gives_way
from harvester.candles.paging import plan_span, read_page
from harvester.candles.source import BACKFILL_RATE_SHARE, CandleSource
from harvester.harvest.adapter import ExchangeAdapter
from marketmanager.candles.aggregate import Candle, aggregate
from marketmanager.candles.gaps import Gap, find_gaps, merge_ranges
from marketmanager.candles.progress import fraction_done, progress_bar
from marketmanager.candles.timeframes import (
    TimeframeError,
    ceil_ms,
    finer_divisors,
    floor_ms,
    parse_since,
)

M = 60_000
H = 60 * M
NOW = dt.datetime(2026, 3, 10, 12, 30, 15, tzinfo=dt.UTC)


def candle(ts: int, o: str, h: str, lo: str, c: str, v: str, q: str | None = "1") -> Candle:
    return Candle(ts, Decimal(o), Decimal(h), Decimal(lo), Decimal(c), Decimal(v), q and Decimal(q))


def test_buckets_are_aligned_on_the_epoch() -> None:
    assert floor_ms(4 * H + 59 * M, "4h") == 4 * H
    assert ceil_ms(4 * H + 1, "4h") == 8 * H
    assert ceil_ms(4 * H, "4h") == 4 * H
    assert finer_divisors("1h") == ["15m", "5m", "1m"]
    assert finer_divisors("1m") == []
    with pytest.raises(TimeframeError, match="unknown timeframe '3m'"):
        floor_ms(0, "3m")


def test_since_takes_durations_and_dates() -> None:
    assert parse_since("30d", NOW) == NOW - dt.timedelta(days=30)
    assert parse_since("90m", NOW) == NOW - dt.timedelta(minutes=90)
    assert parse_since("2025-01-01", NOW) == dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    for bad, message in [
        ("0d", "positive"),
        ("soon", "give a duration"),
        ("2030-01-01", "not in the past"),
        ("2009-12-31", "no exchange has candles then"),
    ]:
        with pytest.raises(TimeframeError, match=message):
            parse_since(bad, NOW)


def test_coarse_candles_take_first_open_extremes_last_close_and_summed_volumes() -> None:
    fine = [
        candle(0, "10", "12", "9", "11", "1", "10"),
        candle(M, "11", "15", "10", "14", "2", "28"),
        candle(5 * M, "14", "14", "8", "9", "3", None),  # next 5m bucket
    ]
    assert aggregate(fine, "5m") == [
        candle(0, "10", "15", "9", "14", "3", "38"),
        candle(5 * M, "14", "14", "8", "9", "3", None),
    ]


def test_gaps_inside_coverage_are_no_trades_and_outside_not_fetched() -> None:
    stored = [0, M, 4 * M, 5 * M]
    gaps = find_gaps("1m", 0, 9 * M, stored, [(0, 6 * M)])
    assert gaps == [Gap(2 * M, 4 * M, "NO_TRADES", 2), Gap(6 * M, 9 * M, "NOT_FETCHED", 3)]
    assert merge_ranges([(5, 9), (0, 3), (3, 4), (8, 12), (20, 20)]) == [(0, 4), (5, 12)]


def test_a_span_runs_to_the_last_closed_candle_and_resumes_where_the_last_fetch_ended() -> None:
    now = 10 * H + 30 * M
    span = plan_span("binance", "1h", 2 * H + 1, None, now)
    assert (span.start, span.until, span.unavailable_before) == (3 * H, 10 * H, None)
    assert plan_span("binance", "1h", 2 * H, 7 * H, now).start == 7 * H
    assert plan_span("binance", "1h", 2 * H, 10 * H, now).start == 10 * H  # nothing to do


def test_kraken_spans_are_moved_into_its_720_candle_window() -> None:
    now = 10_000 * M
    span = plan_span("kraken", "1m", 0, None, now)
    assert span.unavailable_before == span.start == now - 718 * M
    assert plan_span("kraken", "1m", now - 10 * M, None, now).unavailable_before is None


def test_a_full_page_goes_on_after_its_last_candle_and_a_short_one_ends() -> None:
    received = [candle(ts * M, "1", "1", "1", "1", "1") for ts in (0, 1, 3)]
    full = read_page("1m", 0, 100 * M, received, limit=3)
    assert (full.covered, full.no_trade_gaps, full.done) == ((0, 4 * M), 1, False)
    short = read_page("1m", 0, 100 * M, received, limit=1000)
    assert (short.covered, short.no_trade_gaps, short.done) == ((0, 100 * M), 2, True)
    # The candle still open (at `until`) is never kept.
    assert read_page("1m", 0, 3 * M, received, limit=1000).candles == received[:2]


def test_kept_timeframes_are_fetched_once_a_candle_closed_after_what_was_fetched() -> None:
    fetched_to = NOW.replace(minute=0, second=0) - dt.timedelta(hours=1)
    kept = [
        KeptTimeframe(1, "1h", ["BTC/USDT"], fetched_to, pending=False),
        KeptTimeframe(2, "1h", ["BTC/USDT"], fetched_to, pending=True),
        KeptTimeframe(3, "1d", ["BTC/USDT"], NOW.replace(hour=0, minute=0, second=0), False),
        KeptTimeframe(4, "5m", [], None, pending=False),
    ]
    due = due_fetches(kept, NOW)
    assert [(d.exchange_id, d.timeframe, d.symbols) for d in due] == [
        (1, "1h", ["BTC/USDT"]),
        (4, "5m", []),
    ]
    assert due[0].since == fetched_to


def test_a_kept_timeframe_whose_fetch_failed_waits_before_the_next() -> None:
    failed = KeptTimeframe(1, "1h", [], None, pending=False, failed_at=NOW)
    assert due_fetches([failed], NOW + dt.timedelta(minutes=4)) == []
    assert len(due_fetches([failed], NOW + dt.timedelta(minutes=5))) == 1
    one_minute = KeptTimeframe(1, "1m", [], None, pending=False, failed_at=NOW)
    assert len(due_fetches([one_minute], NOW + dt.timedelta(minutes=1))) == 1


def test_only_a_manual_job_past_its_slice_gives_way_to_waiting_keep_current_fetches() -> None:
    assert gives_way("MANUAL", kept_waiting=True, ran_seconds=31, slice_seconds=30)
    assert not gives_way("MANUAL", kept_waiting=True, ran_seconds=29, slice_seconds=30)
    assert not gives_way("MANUAL", kept_waiting=False, ran_seconds=999, slice_seconds=30)
    assert not gives_way("SCHEDULE", kept_waiting=True, ran_seconds=999, slice_seconds=30)


def test_coarse_candles_are_derived_from_the_finer_timeframe_that_spans_most() -> None:
    assert best_source({"1m": 600, "15m": 40}, "1h") == "15m"  # 600 min < 40 × 15 min
    assert best_source({"1m": 900, "15m": 40}, "1h") == "1m"  # the 15m ones stop early
    assert best_source({"1m": 60, "5m": 12, "1h": 5}, "1h") == "5m"  # a tie: fewer rows
    assert best_source({"1d": 3}, "4h") is None


def test_the_progress_bar_counts_markets_and_the_current_ones_range() -> None:
    since = NOW - dt.timedelta(days=10)
    job = {
        "id": 7,
        "state": "RUNNING",
        "markets_total": 4,
        "markets_done": 1,
        "since": since,
        "until_ts": NOW,
        "cursor_at": since + dt.timedelta(days=5),
        "candles_stored": 12_000,
        "requests": 13,
    }
    assert fraction_done(job) == pytest.approx((1 + 0.5) / 4)
    assert progress_bar(job, width=8).startswith("[###.....]  38%  1/4 markets  12,000 candles")
    assert "waiting" in progress_bar({**job, "state": "QUEUED"})


@pytest.mark.parametrize("name", ["binance", "kraken"])
def test_a_backfill_paces_itself_at_a_share_of_the_exchanges_request_rate(name: str) -> None:
    """The ticker workers' ccxt instances (other processes) keep the rest of the rate."""
    with CandleSource(ExchangeAdapter(name, enable_rate_limit=False)) as unpaced:
        full = unpaced.adapter.exchange.rateLimit  # ms between requests
    with CandleSource(ExchangeAdapter(name)) as paced:
        assert paced.adapter.exchange.rateLimit == pytest.approx(full / BACKFILL_RATE_SHARE)
    assert 0 < BACKFILL_RATE_SHARE < 1
