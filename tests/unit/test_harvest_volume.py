"""USD volumes, hand-computed."""

from __future__ import annotations

from decimal import Decimal

from harvester.harvest.tickers import MarketRow
from harvester.harvest.volume import VolumeSummary, price, summarize, usd_rates

D = Decimal


def row(
    symbol: str,
    quote_volume: str | None = None,
    *,
    last: str | None = None,
    bid: str | None = None,
    ask: str | None = None,
    base_volume: str | None = None,
    kind: str = "spot",
) -> MarketRow:
    base, quote = symbol.split(":")[0].split("/")
    return MarketRow(
        symbol=symbol,
        base=base,
        quote=quote,
        type=kind,
        active=True,
        last=D(last) if last else None,
        bid=D(bid) if bid else None,
        ask=D(ask) if ask else None,
        base_volume=D(base_volume) if base_volume is not None else None,
        quote_volume=D(quote_volume) if quote_volume is not None else None,
        change_pct=None,
        exchange_ts=None,
    )


def test_stablecoin_quotes_are_worth_one() -> None:
    rows = [
        row("BTC/USDT", "1000", last="60000"),
        row("ETH/USDC", "200.5"),
        row("SOL/FDUSD", "10"),
        row("XRP/DAI", "0.25"),
        row("ADA/PYUSD", "3"),
        row("BTC/USD", "7"),
    ]
    summary = summarize(rows)
    assert summary.volume_usd == D("1220.75")
    assert summary.top_pair == "BTC/USDT" and summary.top_pair_volume_usd == D("1000")
    assert summary.unpriced == 0
    assert summary.by_symbol["ETH/USDC"] == D("200.5")


def test_btc_quoted_pairs_go_through_btc_usd_before_btc_usdt() -> None:
    rows = [
        row("ETH/BTC", "2.5", last="0.05"),  # 2.5 BTC
        row("BTC/USDT", "100", last="60000"),
        row("BTC/USD", "50", last="60010"),
    ]
    summary = summarize(rows)
    assert summary.by_symbol["ETH/BTC"] == D("150025")  # 2.5 × 60010
    assert summary.volume_usd == D("150175")
    assert summary.top_pair == "ETH/BTC"


def test_the_midpoint_prices_a_quote_without_last_and_usdt_is_used_without_usd() -> None:
    rows = [row("LINK/ETH", "4"), row("ETH/USDT", "0", bid="3000", ask="3001")]
    summary = summarize(rows)
    assert summary.by_symbol["LINK/ETH"] == D("12002")  # 4 × 3000.5
    assert summary.by_symbol["ETH/USDT"] == D(0)
    assert summary.volume_usd == D("12002") and summary.unpriced == 0


def test_the_inverse_market_prices_a_fiat_quote() -> None:
    rows = [row("BTC/TRY", "1000000"), row("USDT/TRY", "5", last="32")]
    summary = summarize(rows)
    assert summary.by_symbol["BTC/TRY"] == D("31250")  # 1,000,000 / 32
    assert summary.by_symbol["USDT/TRY"] == D("0.15625")


def test_a_quote_with_no_usd_route_is_left_out_and_counted() -> None:
    rows = [row("AAA/XYZ", "500", last="2"), row("BTC/USDT", "10", last="60000")]
    summary = summarize(rows)
    assert summary.by_symbol["AAA/XYZ"] is None
    assert (summary.volume_usd, summary.unpriced, summary.top_pair) == (D(10), 1, "BTC/USDT")


def test_null_quote_volume_uses_base_volume_times_price_else_is_unpriced() -> None:
    rows = [
        row("BTC/USDT", None, last="60000", base_volume="0.5"),  # 30000
        row("ETH/USDT", None, base_volume="2"),  # no price: unpriced
        row("SOL/USDT", None, last="150"),  # no volume at all: unpriced
        row("DOT/USDT", "0", last="6"),  # zero is a volume
    ]
    summary = summarize(rows)
    assert summary.by_symbol == {
        "BTC/USDT": D("30000"),
        "ETH/USDT": None,
        "SOL/USDT": None,
        "DOT/USDT": D(0),
    }
    assert (summary.volume_usd, summary.unpriced) == (D("30000"), 2)


def test_all_zero_volumes_have_no_top_pair_and_nothing_priced_has_no_total() -> None:
    zero = summarize([row("BTC/USDT", "0", last="1"), row("ETH/USDT", "0")])
    assert (zero.volume_usd, zero.top_pair, zero.top_pair_volume_usd) == (D(0), None, None)
    assert summarize([row("AAA/XYZ", "1")]) == VolumeSummary(None, None, None, 1, {"AAA/XYZ": None})
    assert summarize([]) == VolumeSummary(None, None, None, 0, {})


def test_rates_prefer_spot_over_derivatives_and_usd_volumes_round_to_8_decimals() -> None:
    rows = [
        row("BTC/USDT:USDT", "1", last="59000", kind="swap"),
        row("BTC/USDT", "1", last="60000"),
        row("ETH/BTC", "0.000000001", last="0.05"),
    ]
    assert usd_rates(rows)["BTC"] == D("60000")
    assert summarize(rows).by_symbol["ETH/BTC"] == D("0.00006")


def test_ties_go_to_the_first_symbol_and_price_prefers_last() -> None:
    summary = summarize([row("B/USD", "5"), row("A/USD", "5")])
    assert summary.top_pair == "A/USD"
    assert price(row("A/USD", last="2", bid="1", ask="1")) == D(2)
    assert price(row("A/USD", bid="1")) is None
