"""A market against the median of its pair on the other exchanges (pure)."""

from __future__ import annotations

from graphql_api.pair_view import off_the_pair


def test_a_last_beyond_the_threshold_from_the_median_elsewhere_is_off_the_pair() -> None:
    others = [(1, 100.0), (2, 101.0), (3, 102.0), (9, 500.0)]  # 9 is the market's own
    assert off_the_pair(130.0, 9, others, threshold_pct=20) is True  # 28.7 % from 101
    assert off_the_pair(120.0, 9, others, threshold_pct=20) is False  # 18.8 %
    assert off_the_pair(80.0, 9, others, threshold_pct=20) is True  # 20.8 % below


def test_without_a_price_or_another_exchange_nothing_is_judged() -> None:
    assert off_the_pair(100.0, 1, [(1, 100.0)], threshold_pct=1) is False
    assert off_the_pair(None, 1, [(2, 100.0)], threshold_pct=1) is False
    assert off_the_pair(0.0, 1, [(2, 100.0)], threshold_pct=1) is False
