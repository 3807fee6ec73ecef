from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from scipy.stats import norm

from core.chain import OptionChain
from core.condor import CondorProfile, prob_settle_above, select_condor
from core.rules import CondorRules, RiskRules
from core.types import (
    SPX_MULTIPLIER,
    CondorSignal,
    NoTradeCode,
    NoTradeDay,
    Right,
    Risk,
    Side,
    Track,
)
from tests.conftest import SPX_SNAPSHOTS, load_snapshot

RULES = CondorRules()
PROFILES = [(track, risk) for track in Track for risk in Risk]
INTRADAY = "spx_cboe_2022-03-23_intraday_1011ET.csv.gz"
CLOSE = "spx_cboe_2024-01-05_close.csv.gz"


def _select(chain: OptionChain, track: Track, risk: Risk, rules: CondorRules = RULES):
    return select_condor(chain, CondorProfile.of(rules, track, risk), chain.quote_time)


def _assert_condor_invariants(chain: OptionChain, signal: CondorSignal) -> None:
    lp, sp, sc, lc = signal.legs
    assert lp.strike < sp.strike < sc.strike < lc.strike
    assert [leg.right for leg in signal.legs] == [Right.PUT, Right.PUT, Right.CALL, Right.CALL]
    assert [leg.side for leg in signal.legs] == [Side.BUY, Side.SELL, Side.SELL, Side.BUY]
    assert 0 < signal.credit_mid < signal.width_points
    assert signal.credit_natural <= signal.limit_price <= signal.credit_mid
    assert signal.credit_mid == sp.mid + sc.mid - lp.mid - lc.mid
    assert signal.break_even_low == sp.strike - signal.credit_mid
    assert signal.break_even_high == sc.strike + signal.credit_mid
    width = max(sp.strike - lp.strike, lc.strike - sc.strike)
    assert signal.width_points == width
    assert signal.max_loss_usd == (width - signal.credit_mid) * SPX_MULTIPLIER
    assert signal.max_profit_usd == signal.credit_mid * SPX_MULTIPLIER
    assert 0.0 < signal.pop < 1.0
    assert signal.expected_move_points > 0
    assert signal.expected_move_iv_points > 0
    # Every leg is a listed strike whose quote is the chain's; shorts have a live bid.
    sl = chain.expiry_slice(signal.root, signal.expiry)
    for leg in signal.legs:
        (hits,) = np.nonzero(np.isclose(sl.strikes, float(leg.strike), rtol=0, atol=1e-9))
        assert len(hits) == 1, f"{leg.strike} is not a listed strike"
        bid = sl.call_bid if leg.right is Right.CALL else sl.put_bid
        ask = sl.call_ask if leg.right is Right.CALL else sl.put_ask
        assert float(leg.ask) == pytest.approx(float(ask[hits[0]]), abs=0.005)
        if leg.side is Side.SELL:
            assert float(leg.bid) == pytest.approx(float(bid[hits[0]]), abs=0.005)
            assert leg.bid > 0
    assert sp.delta < 0 < sc.delta
    plan = signal.management
    assert signal.credit_mid < plan.stop_debit <= width
    if plan.profit_target_debit is not None:
        assert plan.profit_target_debit < signal.credit_mid


@pytest.mark.parametrize("name", SPX_SNAPSHOTS)
def test_every_profile_on_every_snapshot_gives_a_valid_card(name):
    chain = load_snapshot(name)
    for track, risk in PROFILES:
        event = _select(chain, track, risk)
        assert event.track is track
        assert event.risk is risk
        assert event.rule_version == RULES.rule_version
        if isinstance(event, CondorSignal):
            _assert_condor_invariants(chain, event)
            rules = RULES.track(track)
            assert rules.min_dte_days <= event.dte_days <= rules.max_dte_days
            assert event.root in rules.roots
        else:
            assert isinstance(event, NoTradeDay)
            assert event.reasons
            assert all(reason.detail for reason in event.reasons)


@pytest.mark.parametrize(
    "name",
    [n for n in SPX_SNAPSHOTS if n.endswith("_close.csv.gz") and not n.startswith("spx_cboe_2020")],
)
def test_full_close_snapshots_give_45dte_and_1dte_condors(name):
    chain = load_snapshot(name)
    for track in (Track.DTE_45, Track.ONE_DTE):
        event = _select(chain, track, Risk.BALANCED)
        assert isinstance(event, CondorSignal), (name, track, event)


def test_march_2020_markets_were_too_wide_for_a_1dte_condor():
    chain = load_snapshot("spx_cboe_2020-03-20_close.csv.gz")
    event = _select(chain, Track.ONE_DTE, Risk.BALANCED)
    assert isinstance(event, NoTradeDay)
    assert {r.code for r in event.reasons} == {NoTradeCode.MARKET_TOO_WIDE}
    assert "natural credit" in event.reasons[0].detail


def test_1dte_needs_a_next_day_expiry_listed():
    # In March 2022 SPXW listed Monday, Wednesday and Friday expiries only: no Thursday 1DTE.
    chain = load_snapshot(INTRADAY)
    event = _select(chain, Track.ONE_DTE, Risk.BALANCED)
    assert isinstance(event, NoTradeDay)
    assert event.reasons[0].code is NoTradeCode.NO_EXPIRY
    assert "2022-03-24" in event.reasons[0].detail


def test_intraday_snapshot_gives_a_0dte_condor_on_the_same_day():
    chain = load_snapshot(INTRADAY)
    event = _select(chain, Track.ZERO_DTE, Risk.BALANCED)
    assert isinstance(event, CondorSignal), event
    assert event.expiry == chain.quote_time.date()
    assert event.dte_days == 0
    assert event.root == "SPXW"


def test_0dte_on_a_closing_snapshot_has_no_expiry_left():
    chain = load_snapshot(CLOSE)
    event = _select(chain, Track.ZERO_DTE, Risk.BALANCED)
    assert isinstance(event, NoTradeDay)
    assert [r.code for r in event.reasons] == [NoTradeCode.NO_EXPIRY]


def test_short_strikes_are_the_listed_strikes_nearest_the_target_delta():
    chain = load_snapshot(CLOSE)
    for risk in Risk:
        signal = _select(chain, Track.DTE_45, risk)
        assert isinstance(signal, CondorSignal)
        target = RULES.risk(Track.DTE_45, risk).short_delta
        sl = chain.expiry_slice(signal.root, signal.expiry)
        for leg, deltas, bids in (
            (signal.short_put, sl.put_delta, sl.put_bid),
            (signal.short_call, sl.call_delta, sl.call_bid),
        ):
            live = np.isfinite(deltas) & (np.nan_to_num(bids) > 0)
            best = np.min(np.abs(np.abs(deltas[live]) - target))
            assert abs(abs(leg.delta) - target) == pytest.approx(best, abs=1e-12)


def test_riskier_profiles_sit_closer_to_the_money_and_collect_more():
    chain = load_snapshot(CLOSE)
    signals = [_select(chain, Track.DTE_45, risk) for risk in Risk]
    assert all(isinstance(s, CondorSignal) for s in signals)
    cons, bal, aggr = signals
    assert isinstance(cons, CondorSignal)
    assert isinstance(bal, CondorSignal)
    assert isinstance(aggr, CondorSignal)
    assert cons.short_put.strike < bal.short_put.strike < aggr.short_put.strike
    assert cons.short_call.strike > bal.short_call.strike > aggr.short_call.strike
    assert cons.credit_mid < bal.credit_mid < aggr.credit_mid
    assert cons.pop > bal.pop > aggr.pop


def test_45dte_picks_the_expiry_nearest_45_days_and_manages_at_21():
    chain = load_snapshot(CLOSE)
    signal = _select(chain, Track.DTE_45, Risk.BALANCED)
    assert isinstance(signal, CondorSignal)
    day = chain.quote_time.date()
    listed = [e for root, e in chain.expiries() if root in ("SPX", "SPXW")]
    in_window = [e for e in listed if 30 <= (e - day).days <= 60]
    best = min(abs((e - day).days - 45) for e in in_window)
    assert abs(signal.dte_days - 45) == best
    assert "21 days to expiry" in signal.management.time_exit


def test_pop_from_the_smile_reduces_to_n_d2_on_a_flat_smile():
    forward, t_years, iv = 4700.0, 30 / 365, 0.18
    smile_k = np.linspace(3000, 6000, 61)
    strikes = np.array([4300.0, 4650.0, 4700.0, 5000.0])
    got = prob_settle_above(strikes, smile_k, np.full_like(smile_k, iv), forward, t_years)
    d2 = (np.log(forward / strikes) - 0.5 * iv * iv * t_years) / (iv * np.sqrt(t_years))
    np.testing.assert_allclose(got, norm.cdf(d2), atol=1e-6)


def test_pop_from_the_smile_matches_quoted_call_spreads():
    chain = load_snapshot(CLOSE)
    signal = _select(chain, Track.DTE_45, Risk.BALANCED)
    assert isinstance(signal, CondorSignal)
    sl = chain.expiry_slice(signal.root, signal.expiry)
    terms = sl.terms
    k = float(signal.short_call.strike)
    i = int(np.searchsorted(sl.strikes, k))
    k1, k2 = sl.strikes[i - 1], sl.strikes[i + 1]
    mid = (sl.call_bid + sl.call_ask) / 2
    spread_prob = (mid[i - 1] - mid[i + 1]) / (k2 - k1) / terms.discount_factor
    smile_ok = np.isfinite(np.where(sl.strikes < terms.forward, sl.put_iv, sl.call_iv))
    smile_iv = np.where(sl.strikes < terms.forward, sl.put_iv, sl.call_iv)[smile_ok]
    got = prob_settle_above(
        np.array([k]), sl.strikes[smile_ok], smile_iv, terms.forward, terms.t_years
    )
    assert got[0] == pytest.approx(spread_prob, abs=0.02)
    # A put skew makes upside less likely than the flat-vol N(d2) at the call's own IV says.
    iv_k = float(np.interp(k, sl.strikes[smile_ok], smile_iv))
    d2 = (np.log(terms.forward / k) - 0.5 * iv_k**2 * terms.t_years) / (
        iv_k * np.sqrt(terms.t_years)
    )
    assert got[0] > norm.cdf(d2)


def test_pop_is_not_one_minus_the_short_deltas():
    chain = load_snapshot(CLOSE)
    signal = _select(chain, Track.DTE_45, Risk.BALANCED)
    assert isinstance(signal, CondorSignal)
    naive = 1 - abs(signal.short_put.delta) - abs(signal.short_call.delta)
    assert signal.pop != pytest.approx(naive, abs=1e-3)


@pytest.mark.parametrize(
    ("shift", "code"),
    [
        (timedelta(hours=2), NoTradeCode.STALE_DATA),
        (timedelta(days=1), NoTradeCode.STALE_DATA),
        (timedelta(minutes=-5), NoTradeCode.BAD_DATA),
    ],
)
def test_quotes_not_current_at_asof_give_no_trade(shift, code):
    chain = load_snapshot(INTRADAY)
    profile = CondorProfile.of(RULES, Track.ZERO_DTE, Risk.BALANCED)
    event = select_condor(chain, profile, chain.quote_time + shift)
    assert isinstance(event, NoTradeDay)
    assert [r.code for r in event.reasons] == [code]


def test_event_day_stands_the_short_dated_tracks_aside():
    chain = load_snapshot(INTRADAY)
    day = chain.quote_time.date()
    rules = RULES.with_event_days({day: "CPI"})
    event = _select(chain, Track.ZERO_DTE, Risk.BALANCED, rules)
    assert isinstance(event, NoTradeDay)
    assert event.reasons[0].code is NoTradeCode.EVENT_DAY
    assert "CPI" in event.reasons[0].detail
    assert isinstance(_select(chain, Track.DTE_45, Risk.BALANCED, rules), CondorSignal)


def test_credit_below_the_minimum_gives_no_trade_with_the_numbers():
    chain = load_snapshot(CLOSE)
    greedy = RiskRules(
        short_delta=0.16,
        wing_width_points=Decimal(50),
        min_credit_points=Decimal(40),
        min_credit_to_width=Decimal("0.1"),
    )
    risks = dict(RULES.risks)
    risks[(Track.DTE_45, Risk.BALANCED)] = greedy
    rules = replace(RULES, risks=risks)
    event = _select(chain, Track.DTE_45, Risk.BALANCED, rules)
    assert isinstance(event, NoTradeDay)
    assert event.reasons[0].code is NoTradeCode.CREDIT_TOO_LOW
    assert "below the minimum 40" in event.reasons[0].detail
    assert event.expiry is not None


def test_wide_markets_give_no_trade():
    chain = load_snapshot(CLOSE)
    rules = replace(RULES, max_leg_spread_fraction=0.0001)
    event = _select(chain, Track.DTE_45, Risk.BALANCED, rules)
    assert isinstance(event, NoTradeDay)
    assert {r.code for r in event.reasons} == {NoTradeCode.MARKET_TOO_WIDE}


def test_signal_id_is_deterministic_and_distinguishes_profiles():
    chain = load_snapshot(CLOSE)
    first = _select(chain, Track.DTE_45, Risk.BALANCED)
    again = _select(chain, Track.DTE_45, Risk.BALANCED)
    other = _select(chain, Track.DTE_45, Risk.AGGRESSIVE)
    assert first.signal_id == again.signal_id
    assert first.signal_id != other.signal_id
    assert first == again


def test_naive_asof_is_a_programming_error():
    chain = load_snapshot(CLOSE)
    profile = CondorProfile.of(RULES, Track.DTE_45, Risk.BALANCED)
    with pytest.raises(ValueError, match="timezone-aware"):
        select_condor(chain, profile, chain.quote_time.replace(tzinfo=None))


def test_0dte_refuses_overnight_session_quotes():
    # This "close" file was downloaded at 06:40 ET the next morning: overnight (GTH) quotes.
    chain = load_snapshot("spx_cboe_2024-02-12_close_noIV.csv.gz")
    event = _select(chain, Track.ZERO_DTE, Risk.BALANCED)
    assert isinstance(event, NoTradeDay)
    assert event.reasons[0].code is NoTradeCode.STALE_DATA
    assert "outside the regular session" in event.reasons[0].detail
