"""Which ccxt instances (and their markets) a worker lets go (pure)."""

from harvester.kept_markets import STRANGER_KEEP, Kept, to_release

REFRESH = 3600.0
NOW = 10_000.0
INTERVALS = {1: 1.0, 2: 60.0}  # the enabled exchanges


def released(kept: dict[str, Kept]) -> dict[str, str]:
    return to_release(kept, INTERVALS, NOW, REFRESH)


def test_a_home_exchange_harvested_every_interval_is_kept() -> None:
    assert released({"binance": Kept(1, home=True, unused_since=NOW - 50)}) == {}
    assert released({"kraken": Kept(2, home=True, unused_since=NOW - 600)}) == {}


def test_a_disabled_or_deleted_exchanges_markets_go_once_no_run_uses_them() -> None:
    assert released({"bitstamp": Kept(3, home=True, unused_since=NOW)}) == {
        "bitstamp": "disabled or deleted"
    }
    assert released({"bitstamp": Kept(3, home=True, unused_since=None)}) == {}


def test_markets_unused_until_they_would_be_reloaded_anyway_go() -> None:
    kept = {"kraken": Kept(2, home=True, unused_since=NOW - REFRESH)}
    assert released(kept) == {"kraken": "unused until its markets are old"}


def test_another_workers_exchange_goes_once_unused_for_two_intervals_and_a_while() -> None:
    idle = max(STRANGER_KEEP, 2 * INTERVALS[2])
    assert released({"kraken": Kept(2, home=False, unused_since=NOW - idle + 1)}) == {}
    assert released({"kraken": Kept(2, home=False, unused_since=NOW - idle)}) == {
        "kraken": "its home worker harvests it"
    }
    # a 1 s interval: kept STRANGER_KEEP seconds, not two seconds
    assert released({"binance": Kept(1, home=False, unused_since=NOW - 2)}) == {}
    assert "binance" in released({"binance": Kept(1, home=False, unused_since=NOW - STRANGER_KEEP)})


def test_an_instance_in_use_is_never_let_go() -> None:
    assert released({"kraken": Kept(2, home=False, unused_since=None)}) == {}
