from __future__ import annotations

import dataclasses
import math
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.calendar import NEW_YORK, elapsed_seconds
from core.chain import (
    ChainInput,
    ExpirySlice,
    OptionChain,
    OptionQuotes,
    QualityCode,
    QuoteRecord,
    Severity,
    _pairs,
    build_chain,
    build_chains,
)
from core.pricing import IVReason, black76_price, bsm_greeks
from core.types import Settlement
from tests.conftest import assert_same_chain, load_snapshot

SPOT = 5000.0
RATE = 0.05
DIV = 0.015
# Wednesday 2024-01-10, 12:00 ET.
NOW = datetime(2024, 1, 10, 12, 0, tzinfo=NEW_YORK)
WEEKLY = date(2024, 1, 12)  # SPXW, PM
MONTHLY = date(2024, 2, 16)  # SPX, AM
LONG = date(2024, 3, 28)  # SPXW, PM


def smile(strike: np.ndarray, forward: float) -> np.ndarray:
    x = np.log(strike / forward)
    return 0.14 - 0.25 * x + 1.5 * x * x


def t_years(root: str, expiry: date) -> float:
    settle = datetime.combine(expiry, datetime.min.time(), tzinfo=NEW_YORK)
    settle += timedelta(hours=9, minutes=30) if root == "SPX" else timedelta(hours=16)
    return elapsed_seconds(NOW, settle) / (365 * 86400)


def expiry_records(
    root: str,
    expiry: date,
    strikes: np.ndarray,
    *,
    half_spread: float = 0.05,
    line0: int = 10,
) -> list[QuoteRecord]:
    t = t_years(root, expiry)
    forward = SPOT * math.exp((RATE - DIV) * t)
    vol = smile(strikes, forward)
    records = []
    for i, (k, v) in enumerate(zip(strikes, vol, strict=True)):
        for is_call in (True, False):
            price = float(black76_price(is_call, forward, k, t, RATE, v))
            bid = round(max(price - half_spread, 0.0), 6)
            ask = round(price + half_spread, 6) if bid > 0 else round(2 * half_spread, 6)
            records.append(
                QuoteRecord(
                    root=root,
                    expiry=expiry,
                    strike=float(k),
                    is_call=is_call,
                    bid=bid,
                    ask=ask,
                    volume=1.0,
                    open_interest=2.0,
                    line=line0 + i,
                )
            )
    return records


def standard_records() -> list[QuoteRecord]:
    return (
        expiry_records("SPXW", WEEKLY, np.arange(4800.0, 5205.0, 5.0))
        + expiry_records("SPX", MONTHLY, np.arange(4500.0, 5505.0, 25.0), line0=500)
        + expiry_records("SPXW", LONG, np.arange(4400.0, 5605.0, 25.0), line0=900)
    )


def make_chain(
    records: list[QuoteRecord] | None = None, *, spot: float = SPOT, **kwargs: object
) -> OptionChain:
    quotes = OptionQuotes.from_records(standard_records() if records is None else records)
    return build_chain(quotes, spot, NOW, "synthetic", **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def chain() -> OptionChain:
    return make_chain()


def codes(chain: OptionChain) -> set[QualityCode]:
    return {issue.code for issue in chain.issues}


# --- terms: settlement, time, forward, discounting ---------------------------------------------


def test_terms_recover_forward_and_rate_from_parity(chain):
    for root, expiry in ((("SPX", MONTHLY)), ("SPXW", LONG)):
        terms = chain.terms_for(root, expiry)
        true_forward = SPOT * math.exp((RATE - DIV) * terms.t_years)
        assert terms.forward == pytest.approx(true_forward, abs=0.05)
        assert terms.rate == pytest.approx(RATE, abs=0.002)
        assert terms.discount_factor == pytest.approx(math.exp(-RATE * terms.t_years), abs=2e-4)
        assert not terms.forward_modelled
        assert terms.parity_strikes >= 10


def test_terms_time_runs_to_the_real_settlement_moment(chain):
    am = chain.terms_for("SPX", MONTHLY)
    pm = chain.terms_for("SPXW", WEEKLY)
    assert am.settlement is Settlement.AM
    assert am.settles_at == datetime(2024, 2, 16, 9, 30, tzinfo=NEW_YORK)
    assert pm.settlement is Settlement.PM
    assert pm.settles_at == datetime(2024, 1, 12, 16, 0, tzinfo=NEW_YORK)
    # Wed 12:00 to Fri 16:00 is 2 days 4 hours, in 365-day years.
    assert pm.t_years == pytest.approx((2 + 4 / 24) / 365, rel=1e-12)


def test_terms_use_the_early_close_for_pm_settlement():
    friday_after_thanksgiving = date(2024, 11, 29)
    records = expiry_records("SPXW", friday_after_thanksgiving, np.arange(4900.0, 5105.0, 5.0))
    quotes = OptionQuotes.from_records(records)
    quote_time = datetime(2024, 11, 27, 12, 0, tzinfo=NEW_YORK)
    chain = build_chain(quotes, SPOT, quote_time, "synthetic")
    terms = chain.terms_for("SPXW", friday_after_thanksgiving)
    assert terms.settles_at == datetime(2024, 11, 29, 13, 0, tzinfo=NEW_YORK)
    assert terms.t_years == pytest.approx((2 + 1 / 24) / 365)  # Wed 12:00 to Fri 13:00


def test_parity_fit_ignores_an_off_market_quote():
    records = standard_records()
    i = next(
        j for j, r in enumerate(records) if r.root == "SPX" and r.strike == 5000.0 and not r.is_call
    )
    records[i] = records[i]._replace(bid=records[i].bid + 4.0, ask=records[i].ask + 4.0)
    terms = make_chain(records).terms_for("SPX", MONTHLY)
    assert terms.forward == pytest.approx(SPOT * math.exp((RATE - DIV) * terms.t_years), abs=0.05)
    assert terms.rate == pytest.approx(RATE, abs=0.002)


def test_short_expiry_takes_its_rate_from_neighbours_but_keeps_its_parity_forward(chain):
    weekly = chain.terms_for("SPXW", WEEKLY)
    true_forward = SPOT * math.exp((RATE - DIV) * weekly.t_years)
    assert weekly.forward == pytest.approx(true_forward, abs=0.05)
    assert not weekly.forward_modelled
    if weekly.rate_modelled:
        assert weekly.rate == pytest.approx(RATE, abs=0.002)


def test_expiry_without_two_sided_strikes_gets_a_modelled_forward():
    lonely = [
        QuoteRecord("SPXW", date(2024, 1, 31), 5000.0, True, 40.0, 41.0),
        QuoteRecord("SPXW", date(2024, 1, 31), 5000.0, False, 0.0, 0.0),
    ]
    chain = make_chain(standard_records() + lonely)
    terms = chain.terms_for("SPXW", date(2024, 1, 31))
    assert terms.forward_modelled
    assert terms.parity_strikes == 0
    true_forward = SPOT * math.exp((RATE - DIV) * terms.t_years)
    assert terms.forward == pytest.approx(true_forward, abs=0.5)
    issue = next(i for i in chain.issues if i.code is QualityCode.NO_PARITY)
    assert issue.severity is Severity.WARNING
    assert "modelled" in issue.detail


@settings(max_examples=25, deadline=None)
@given(
    carry=st.floats(-0.03, 0.08),
    rate=st.floats(0.0, 0.08),
    spot=st.floats(1000.0, 8000.0),
)
def test_parity_fit_recovers_any_forward_and_rate(carry, rate, spot):
    t = t_years("SPXW", LONG)
    forward = spot * math.exp(carry * t)
    strikes = np.round(np.linspace(0.9 * spot, 1.1 * spot, 41) / 5) * 5
    strikes = np.unique(strikes)
    records = []
    for k, v in zip(strikes, smile(strikes, forward), strict=True):
        for is_call in (True, False):
            price = float(black76_price(is_call, forward, k, t, rate, v))
            records.append(QuoteRecord("SPXW", LONG, float(k), is_call, price - 0.05, price + 0.05))
    chain = build_chain(OptionQuotes.from_records(records), spot, NOW, "synthetic")
    terms = chain.terms_for("SPXW", LONG)
    assert terms.forward == pytest.approx(forward, rel=2e-6)
    assert terms.rate == pytest.approx(rate, abs=1e-4)


# --- implied volatility and greeks ------------------------------------------------------------


def test_iv_is_recovered_from_mid_prices(chain):
    for terms in chain.terms:
        rows = (chain.root == terms.root) & (chain.expiry == np.datetime64(terms.expiry))
        ok = rows & (chain.iv_reason == IVReason.OK)
        assert ok.sum() > 0.8 * rows.sum()
        true_iv = smile(chain.strike[ok], SPOT * math.exp((RATE - DIV) * terms.t_years))
        assert np.max(np.abs(chain.iv[ok] - true_iv)) < 2e-4


def test_greeks_are_spot_greeks_of_black_scholes_merton(chain):
    for terms in chain.terms:
        rows = (chain.root == terms.root) & (chain.expiry == np.datetime64(terms.expiry))
        ok = rows & np.isfinite(chain.iv)
        ref = bsm_greeks(
            chain.is_call[ok], SPOT, chain.strike[ok], terms.t_years, RATE, DIV, chain.iv[ok]
        )
        np.testing.assert_allclose(chain.delta[ok], ref.delta, atol=2e-4)
        np.testing.assert_allclose(chain.gamma[ok], ref.gamma, rtol=2e-3, atol=1e-7)
        np.testing.assert_allclose(chain.theta_per_day[ok], ref.theta_per_day, rtol=5e-3, atol=2e-3)
        np.testing.assert_allclose(chain.vega_per_vol_point[ok], ref.vega_per_vol_point, rtol=2e-3)


def test_rows_without_a_bid_get_no_iv_and_say_why():
    records = standard_records()
    records[0] = records[0]._replace(bid=0.0, ask=0.05)
    chain = make_chain(records)
    i = np.flatnonzero(chain.bid == 0)[0]
    assert math.isnan(chain.iv[i])
    assert chain.iv_reason[i] == IVReason.NO_BID
    assert math.isnan(chain.delta[i])


# --- query API --------------------------------------------------------------------------------


def test_expiries_are_sorted_by_expiry_and_root(chain):
    assert chain.expiries() == (("SPXW", WEEKLY), ("SPX", MONTHLY), ("SPXW", LONG))
    assert tuple((t.root, t.expiry) for t in chain.terms) == chain.expiries()


def test_same_day_am_and_pm_roots_are_separate_expiries():
    strikes = np.arange(4800.0, 5205.0, 25.0)
    records = expiry_records("SPX", MONTHLY, strikes) + expiry_records("SPXW", MONTHLY, strikes)
    chain = make_chain(records)
    assert chain.expiries() == (("SPX", MONTHLY), ("SPXW", MONTHLY))
    am, pm = chain.terms_for("SPX", MONTHLY), chain.terms_for("SPXW", MONTHLY)
    assert pm.t_years - am.t_years == pytest.approx(6.5 / 24 / 365)


def test_expiry_slice_aligns_calls_and_puts_on_sorted_strikes(chain):
    sl = chain.expiry_slice("SPX", MONTHLY)
    assert isinstance(sl, ExpirySlice)
    assert sl.terms is chain.terms_for("SPX", MONTHLY)
    assert np.all(np.diff(sl.strikes) > 0)
    for name in ("call_bid", "call_ask", "call_iv", "call_delta", "put_bid", "put_ask"):
        assert getattr(sl, name).shape == sl.strikes.shape
    rows = (chain.root == "SPX") & (chain.expiry == np.datetime64(MONTHLY))
    calls = rows & chain.is_call
    np.testing.assert_array_equal(sl.call_bid, chain.bid[calls])
    np.testing.assert_array_equal(sl.put_delta, chain.delta[rows & ~chain.is_call])
    assert np.all(sl.call_delta[np.isfinite(sl.call_delta)] > 0)
    assert np.all(sl.put_delta[np.isfinite(sl.put_delta)] < 0)


def test_expiry_slice_fills_a_missing_side_with_nan():
    records = [r for r in standard_records() if not (r.strike == 5000.0 and not r.is_call)]
    sl = make_chain(records).expiry_slice("SPXW", WEEKLY)
    j = int(np.flatnonzero(sl.strikes == 5000.0)[0])
    assert math.isfinite(sl.call_bid[j])
    assert math.isnan(sl.put_bid[j])
    assert math.isnan(sl.put_iv[j])


def test_unknown_expiry_raises_key_error_listing_what_exists(chain):
    with pytest.raises(KeyError, match="no SPXW 2024-01-19 in the chain"):
        chain.terms_for("SPXW", date(2024, 1, 19))
    with pytest.raises(KeyError):
        chain.expiry_slice("SPX", WEEKLY)


def test_chain_is_immutable(chain):
    with pytest.raises(dataclasses.FrozenInstanceError):
        chain.spot = 1.0
    for name in ("strike", "bid", "iv", "delta", "expiry", "root", "is_call", "iv_reason"):
        array = getattr(chain, name)
        assert not array.flags.writeable, name
        with pytest.raises(ValueError, match="read-only"):
            array[0] = array[1]
    sl = chain.expiry_slice("SPXW", LONG)
    assert not sl.call_iv.flags.writeable
    assert chain.quote_time.tzinfo is not None


def test_build_does_not_alias_the_caller_arrays():
    quotes = OptionQuotes.from_records(standard_records())
    chain = build_chain(quotes, SPOT, NOW, "synthetic")
    before = chain.bid.copy()
    quotes.bid[:] = -1.0
    np.testing.assert_array_equal(chain.bid, before)


# --- input validation -------------------------------------------------------------------------


def test_duplicate_contract_is_rejected():
    records = standard_records()
    with pytest.raises(ValueError, match="appears twice"):
        make_chain([*records, records[3]._replace(line=9999)])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"spot": math.nan}, "spot must be a positive number"),
        ({"spot": 0.0}, "spot must be a positive number"),
    ],
)
def test_bad_spot_is_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_chain(**kwargs)


def test_naive_quote_time_and_bad_strike_are_rejected():
    quotes = OptionQuotes.from_records(standard_records())
    with pytest.raises(ValueError, match="timezone-aware"):
        build_chain(quotes, SPOT, NOW.replace(tzinfo=None), "synthetic")
    bad = [*standard_records(), QuoteRecord("SPXW", WEEKLY, -5.0, True, 1.0, 2.0, line=77)]
    with pytest.raises(ValueError, match=r"strikes must be positive.*line 77"):
        make_chain(bad)


# --- quality checks ---------------------------------------------------------------------------


def test_clean_chain_has_no_warnings_or_errors(chain):
    serious = [i for i in chain.issues if i.severity is not Severity.INFO]
    assert serious == []


def test_crossed_quote_is_flagged_and_gets_no_iv():
    records = standard_records()
    i = next(j for j, r in enumerate(records) if r.strike == 5000.0 and r.root == "SPXW")
    records[i] = records[i]._replace(bid=30.0, ask=29.0, line=42)
    chain = make_chain(records)
    issue = next(x for x in chain.issues if x.code is QualityCode.CROSSED)
    assert issue.severity is Severity.ERROR
    assert issue.strike == 5000.0
    assert issue.expiry == WEEKLY
    assert issue.detail.startswith("line 42: SPXW 2024-01-12 5000")
    row = np.flatnonzero((chain.bid == 30.0) & (chain.ask == 29.0))[0]
    assert math.isnan(chain.iv[row])
    assert chain.iv_reason[row] == IVReason.BAD_INPUT


def test_nan_quote_is_flagged_per_row_and_gets_no_iv():
    records = standard_records()
    records[5] = records[5]._replace(ask=math.nan, line=57)
    chain = make_chain(records)
    issue = next(x for x in chain.issues if x.code is QualityCode.NAN_FIELD)
    assert issue.severity is Severity.ERROR
    assert "line 57" in issue.detail
    assert "ask is NaN" in issue.detail
    assert int(np.isnan(chain.iv[np.isnan(chain.ask)]).sum()) == 1


def test_zero_quotes_are_counted_per_expiry():
    records = standard_records()
    far = [i for i, r in enumerate(records) if r.root == "SPXW" and r.expiry == WEEKLY][:6]
    for i in far:
        records[i] = records[i]._replace(bid=0.0, ask=0.0)
    issue = next(x for x in make_chain(records).issues if x.code is QualityCode.ZERO_QUOTE)
    assert issue.severity is Severity.INFO
    assert issue.detail.startswith("6 options quoted 0/0")


def test_gap_in_the_ladder_near_the_money_is_flagged():
    records = [r for r in standard_records() if not (r.expiry == WEEKLY and r.strike == 5010.0)]
    issues = [i for i in make_chain(records).issues if i.code is QualityCode.MISSING_STRIKE]
    assert len(issues) == 1
    assert issues[0].strike == 5010.0
    assert "between 5005 and 5015" in issues[0].detail


def test_one_sided_strike_near_the_money_is_flagged():
    records = [r for r in standard_records() if not (r.strike == 5000.0 and not r.is_call)]
    issues = [i for i in make_chain(records).issues if i.code is QualityCode.MISSING_STRIKE]
    assert any("5000 is listed without a put" in i.detail for i in issues)


def test_stale_and_future_quotes_are_flagged_against_asof():
    fresh = make_chain(asof=NOW + timedelta(minutes=20))
    assert QualityCode.STALE not in codes(fresh)
    stale = make_chain(asof=NOW + timedelta(hours=3))
    issue = next(x for x in stale.issues if x.code is QualityCode.STALE)
    assert issue.severity is Severity.ERROR
    assert "are 3.0 h old at 2024-01-10 15:00 ET (limit 30 min)" in issue.detail
    assert QualityCode.FUTURE_QUOTE in codes(make_chain(asof=NOW - timedelta(minutes=5)))
    custom = make_chain(asof=NOW + timedelta(hours=3), max_quote_age=timedelta(hours=4))
    assert QualityCode.STALE not in codes(custom)


def test_expired_expiry_has_terms_but_no_greeks():
    records = standard_records() + expiry_records(
        "SPXW", date(2024, 1, 10), np.arange(4950.0, 5055.0, 5.0)
    )
    # Quotes from after that day's 16:00 settlement.
    late = NOW.replace(hour=16, minute=15)
    chain = build_chain(OptionQuotes.from_records(records), SPOT, late, "synthetic")
    terms = chain.terms_for("SPXW", date(2024, 1, 10))
    assert terms.expired
    assert terms.t_years == 0.0
    rows = chain.expiry == np.datetime64(date(2024, 1, 10))
    assert np.all(chain.iv_reason[rows] == IVReason.EXPIRED)
    assert np.all(np.isnan(chain.delta[rows]))
    assert QualityCode.EXPIRED in codes(chain)


def test_spot_far_from_the_parity_forward_is_flagged():
    chain = make_chain(spot=SPOT * 0.99)
    issue = next(x for x in chain.issues if x.code is QualityCode.SPOT_MISMATCH)
    assert issue.severity is Severity.WARNING
    assert issue.expiry is None
    assert QualityCode.SPOT_MISMATCH not in codes(make_chain())


def test_stale_spot_print_does_not_leak_into_the_greeks(chain):
    stale = make_chain(spot=SPOT * 0.995)
    np.testing.assert_allclose(stale.delta, chain.delta, rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(stale.theta_per_day, chain.theta_per_day, rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(stale.gamma, chain.gamma, rtol=1e-9, equal_nan=True)


def test_issues_for_returns_the_expiry_and_chain_wide_issues():
    records = standard_records()
    records[0] = records[0]._replace(bid=9.0, ask=8.0)
    chain = make_chain(records, asof=NOW + timedelta(hours=2))
    mine = chain.issues_for("SPXW", WEEKLY)
    assert {i.code for i in mine} >= {QualityCode.CROSSED, QualityCode.STALE}
    assert QualityCode.CROSSED not in {i.code for i in chain.issues_for("SPX", MONTHLY)}


# --- accuracy against Cboe's own IV and delta on real snapshots -------------------------------

ACCURACY_SNAPSHOTS = [
    "spx_cboe_2022-03-23_intraday_1011ET.csv.gz",  # live session, 0DTE listed
    "spx_cboe_2023-09-14_close.csv.gz",  # close, AM and PM roots on the next day
    "spx_cboe_2024-01-05_close.csv.gz",  # close, weekend download
    "spx_cboe_2025-01-06_close_janexp.csv.gz",  # evening GTH quotes
]


@pytest.mark.parametrize("name", ACCURACY_SNAPSHOTS)
def test_iv_and_delta_match_cboe_on_otm_options(name):
    chain = load_snapshot(name)
    forward = np.full(len(chain), np.nan)
    for terms in chain.terms:
        forward[(chain.root == terms.root) & (chain.expiry == np.datetime64(terms.expiry))] = (
            terms.forward
        )
    dte = (chain.expiry - np.datetime64(chain.quote_time.date())).astype(int)
    with np.errstate(invalid="ignore"):
        otm = np.where(chain.is_call, chain.strike > forward, chain.strike < forward)
        keep = (
            otm
            & (chain.bid >= 0.5)
            & (dte >= 1)
            & (dte <= 90)
            & (chain.cboe_iv > 0)
            & (np.abs(chain.cboe_delta) > 0)
            & (np.abs(chain.cboe_delta) < 1)
        )
    assert keep.sum() > 1000
    assert np.isfinite(chain.iv[keep]).mean() > 0.999
    keep &= np.isfinite(chain.iv)
    iv_err = np.abs(chain.iv[keep] - chain.cboe_iv[keep])
    delta_err = np.abs(chain.delta[keep] - chain.cboe_delta[keep])
    assert np.median(iv_err) <= 0.001
    assert np.percentile(iv_err, 95) <= 0.003
    assert np.median(delta_err) <= 0.005
    assert np.percentile(delta_err, 95) <= 0.015


# --- the strike pairs of sorted rows --------------------------------------------------------------


def test_pairs_of_sorted_rows_match_np_unique():
    rng = np.random.default_rng(7)
    for _ in range(300):
        strikes = np.sort(rng.choice(np.arange(4000.0, 4100.0, 5.0), size=int(rng.integers(1, 30))))
        is_call = rng.random(strikes.size) < 0.5
        # One row per (strike, right), sorted by strike then put before call, as build_chain has.
        keep = np.ones(strikes.size, dtype=np.bool_)
        keep[1:] = (strikes[1:] != strikes[:-1]) | (is_call[1:] != is_call[:-1])
        order = np.lexsort((is_call[keep], strikes[keep]))
        k, c = strikes[keep][order], is_call[keep][order]
        n = k.size
        quotes = OptionQuotes(
            root=np.full(n, "SPXW"),
            expiry=np.full(n, np.datetime64("2024-01-12")),
            strike=k,
            is_call=c,
            bid=np.ones(n),
            ask=np.ones(n),
            volume=np.ones(n),
            open_interest=np.ones(n),
            cboe_iv=np.ones(n),
            cboe_delta=np.ones(n),
            line=np.zeros(n, dtype=np.int64),
        )
        rows = np.arange(n, dtype=np.intp)
        pairs = _pairs(quotes, rows)
        unique, inverse = np.unique(k, return_inverse=True)
        np.testing.assert_array_equal(pairs.strikes, unique)
        expected_calls = np.full(unique.size, -1, dtype=np.intp)
        expected_puts = np.full(unique.size, -1, dtype=np.intp)
        expected_calls[inverse[c]] = rows[c]
        expected_puts[inverse[~c]] = rows[~c]
        np.testing.assert_array_equal(pairs.call_rows, expected_calls)
        np.testing.assert_array_equal(pairs.put_rows, expected_puts)


# --- many chains at once -----------------------------------------------------------------------


def _quotes_of(chain: OptionChain) -> OptionQuotes:
    # A built chain's raw quotes, to build it again.
    return OptionQuotes(
        root=chain.root.copy(),
        expiry=chain.expiry.copy(),
        strike=chain.strike.copy(),
        is_call=chain.is_call.copy(),
        bid=chain.bid.copy(),
        ask=chain.ask.copy(),
        volume=chain.volume.copy(),
        open_interest=chain.open_interest.copy(),
        cboe_iv=chain.cboe_iv.copy(),
        cboe_delta=chain.cboe_delta.copy(),
        line=np.zeros(len(chain), dtype=np.int64),
    )


def test_chains_built_together_are_each_the_chain_built_alone():
    # Mixed sizes, expiries, quality issues (a crossed quote, an unbid wing) and a real
    # snapshot: solving every row in one pass must not change a single bit of any chain.
    records = standard_records()
    crossed = [records[7]._replace(bid=records[7].ask + 0.5), *records[:7], *records[8:]]
    snapshot = load_snapshot("spx_cboe_2022-03-23_intraday_1011ET.csv.gz")
    inputs = [
        ChainInput(
            quotes=OptionQuotes.from_records(records), spot=SPOT, quote_time=NOW, source="synthetic"
        ),
        ChainInput(
            quotes=OptionQuotes.from_records(crossed),
            spot=SPOT + 40.0,
            quote_time=NOW + timedelta(hours=1),
            source="crossed",
            asof=NOW + timedelta(days=1),
        ),
        ChainInput(
            quotes=_quotes_of(snapshot),
            spot=snapshot.spot,
            quote_time=snapshot.quote_time,
            source=snapshot.source,
        ),
        ChainInput(
            quotes=OptionQuotes.from_records(
                expiry_records("SPXW", WEEKLY, np.arange(4950.0, 5055.0, 5.0))
            ),
            spot=SPOT,
            quote_time=NOW,
            source="one expiry",
            modelled=("modelled quotes",),
        ),
    ]
    together = build_chains(inputs)
    assert len(together) == len(inputs)
    assert QualityCode.CROSSED in codes(together[1])
    assert QualityCode.STALE in codes(together[1])
    for item, chain in zip(inputs, together, strict=True):
        alone = build_chain(
            item.quotes,
            item.spot,
            item.quote_time,
            item.source,
            asof=item.asof,
            modelled=item.modelled,
        )
        assert_same_chain(chain, alone)
    assert build_chains([]) == []


def test_chains_built_together_refuse_the_first_bad_input_with_its_reason():
    good = ChainInput(
        quotes=OptionQuotes.from_records(standard_records()),
        spot=SPOT,
        quote_time=NOW,
        source="synthetic",
    )
    with pytest.raises(ValueError, match=r"spot must be a positive number, was -1\.0"):
        build_chains([good, dataclasses.replace(good, spot=-1.0)])
