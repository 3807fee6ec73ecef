"""Tests for core.pricing: textbook values, vollib as the oracle, and no-arbitrage properties."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vollib.black import black as vollib_black
from vollib.black.greeks import analytical as vollib_black_greeks
from vollib.black.implied_volatility import implied_volatility as vollib_black_iv
from vollib.black_scholes_merton import black_scholes_merton as vollib_bsm
from vollib.black_scholes_merton.greeks import analytical as vollib_bsm_greeks
from vollib.black_scholes_merton.implied_volatility import implied_volatility as vollib_bsm_iv

from core import pricing
from core.pricing import (
    IV_REASON_TEXT,
    Greeks,
    IVReason,
    black76_delta,
    black76_greeks,
    black76_greeks_one,
    black76_implied_vol,
    black76_price,
    black76_price_one,
    bsm_greeks,
    bsm_implied_vol,
    bsm_price,
)

EPS = float(np.finfo(np.float64).eps)
ORACLE_TOL = 1e-10
GREEK_NAMES = ("delta", "gamma", "theta_per_day", "vega_per_vol_point", "rho")
VOLLIB_BSM_GREEKS = {
    "delta": vollib_bsm_greeks.delta,
    "gamma": vollib_bsm_greeks.gamma,
    "theta_per_day": vollib_bsm_greeks.theta,
    "vega_per_vol_point": vollib_bsm_greeks.vega,
    "rho": vollib_bsm_greeks.rho,
}
VOLLIB_BLACK_GREEKS = {
    "delta": vollib_black_greeks.delta,
    "gamma": vollib_black_greeks.gamma,
    "theta_per_day": vollib_black_greeks.theta,
    "vega_per_vol_point": vollib_black_greeks.vega,
    "rho": vollib_black_greeks.rho,
}

# The domains the brief asks for: index-like levels, strikes within +-50% of the money, a day to
# three years, and volatilities from a quiet market to a crash.
underlyings = st.floats(min_value=10.0, max_value=10_000.0)
moneyness = st.floats(min_value=0.5, max_value=1.5)
years = st.floats(min_value=1.0 / 365.0, max_value=3.0)
vols = st.floats(min_value=0.03, max_value=2.0)
rates = st.floats(min_value=-0.01, max_value=0.1)
yields = st.floats(min_value=0.0, max_value=0.05)
rights = st.booleans()

ORACLE = settings(max_examples=200, deadline=None)


def flag(is_call: bool) -> str:
    return "c" if is_call else "p"


def scalar(array: np.ndarray) -> float:
    return float(np.asarray(array).item())


def greek(greeks: Greeks, name: str) -> float:
    return scalar(getattr(greeks, name))


def iv_is_well_determined(price_scale: float, vega_per_vol_point: float) -> bool:
    # Rounding the inputs (a few ulps of the larger of spot/forward and strike) moves the implied
    # volatility by about eps * scale / vega. Compare IVs only where that is below 1e-12, so a
    # 1e-10 disagreement means a solver is wrong, not that the price carries no information.
    vega = vega_per_vol_point * 100.0
    return vega > 0 and 8.0 * EPS * price_scale / vega <= 1e-12


# --- textbook values ---------------------------------------------------------------------------


def test_bsm_price_matches_hull_example_15_6():
    # Hull, Options, Futures and Other Derivatives, ex. 15.6: S=42, K=40, r=10%, sigma=20%, T=0.5.
    call = scalar(bsm_price(True, 42.0, 40.0, 0.5, 0.1, 0.0, 0.2))
    put = scalar(bsm_price(False, 42.0, 40.0, 0.5, 0.1, 0.0, 0.2))
    assert call == pytest.approx(4.76, abs=0.005)
    assert put == pytest.approx(0.81, abs=0.005)


def test_black76_price_matches_hull_futures_option_examples():
    # Hull, Black's model for futures options (vollib cites the 7th ed., ex. 16.6 and 16.7):
    # F=20, K=20, r=9%, sigma=25%, T=4 months put = 1.12; F=620, K=600, r=5%, sigma=20%, T=0.5
    # call = 44.19.
    put = scalar(black76_price(False, 20.0, 20.0, 4.0 / 12.0, 0.09, 0.25))
    call = scalar(black76_price(True, 620.0, 600.0, 0.5, 0.05, 0.2))
    assert put == pytest.approx(1.12, abs=0.005)
    assert call == pytest.approx(44.19, abs=0.005)


def test_bsm_greeks_match_hull_chapter_19_examples():
    # Hull, ch. 19 (ex. 19.1-19.6 family): S=49, K=50, r=5%, sigma=20%, T=20 weeks, call.
    g = bsm_greeks(True, 49.0, 50.0, 0.3846, 0.05, 0.0, 0.2)
    assert greek(g, "delta") == pytest.approx(0.522, abs=0.001)
    assert greek(g, "gamma") == pytest.approx(0.066, abs=0.001)
    assert greek(g, "theta_per_day") * 365 == pytest.approx(-4.31, abs=0.01)
    assert greek(g, "vega_per_vol_point") == pytest.approx(0.121, abs=0.001)
    assert greek(g, "rho") == pytest.approx(0.0891, abs=0.0001)


def test_bsm_implied_vol_recovers_hull_example_volatility():
    price = bsm_price(True, 42.0, 40.0, 0.5, 0.1, 0.0, 0.2)
    result = bsm_implied_vol(price, True, 42.0, 40.0, 0.5, 0.1, 0.0)
    assert scalar(result.reason) == IVReason.OK
    assert scalar(result.iv) == pytest.approx(0.2, abs=1e-14)


# --- vollib as the oracle ----------------------------------------------------------------------


@ORACLE
@given(rights, underlyings, moneyness, years, rates, yields, vols)
def test_bsm_price_and_greeks_match_vollib(is_call, spot, m, t, r, q, iv):
    strike = spot * m
    f = flag(is_call)
    price = scalar(bsm_price(is_call, spot, strike, t, r, q, iv))
    assert price == pytest.approx(vollib_bsm(f, spot, strike, t, r, iv, q), abs=ORACLE_TOL)
    g = bsm_greeks(is_call, spot, strike, t, r, q, iv)
    for name in GREEK_NAMES:
        expected = VOLLIB_BSM_GREEKS[name](f, spot, strike, t, r, iv, q)
        assert greek(g, name) == pytest.approx(expected, abs=ORACLE_TOL), name


@ORACLE
@given(rights, underlyings, moneyness, years, rates, vols)
def test_black76_price_and_greeks_match_vollib(is_call, forward, m, t, r, iv):
    strike = forward * m
    f = flag(is_call)
    price = scalar(black76_price(is_call, forward, strike, t, r, iv))
    assert price == pytest.approx(vollib_black(f, forward, strike, t, r, iv), abs=ORACLE_TOL)
    g = black76_greeks(is_call, forward, strike, t, r, iv)
    for name in GREEK_NAMES:
        expected = VOLLIB_BLACK_GREEKS[name](f, forward, strike, t, r, iv)
        assert greek(g, name) == pytest.approx(expected, abs=ORACLE_TOL), name


@ORACLE
@given(rights, underlyings, moneyness, years, rates, yields, vols)
def test_bsm_implied_vol_matches_vollib_where_well_determined(is_call, spot, m, t, r, q, iv):
    strike = spot * m
    price = scalar(bsm_price(is_call, spot, strike, t, r, q, iv))
    vega = greek(bsm_greeks(is_call, spot, strike, t, r, q, iv), "vega_per_vol_point")
    if not iv_is_well_determined(max(spot, strike), vega):
        return
    result = bsm_implied_vol(price, is_call, spot, strike, t, r, q)
    assert scalar(result.reason) == IVReason.OK
    expected = vollib_bsm_iv(price, spot, strike, t, r, q, flag(is_call))
    assert scalar(result.iv) == pytest.approx(expected, abs=ORACLE_TOL)
    assert scalar(result.iv) == pytest.approx(iv, abs=ORACLE_TOL)


@ORACLE
@given(rights, underlyings, moneyness, years, rates, vols)
def test_black76_implied_vol_matches_vollib_where_well_determined(is_call, forward, m, t, r, iv):
    strike = forward * m
    price = scalar(black76_price(is_call, forward, strike, t, r, iv))
    vega = greek(black76_greeks(is_call, forward, strike, t, r, iv), "vega_per_vol_point")
    if not iv_is_well_determined(max(forward, strike), vega):
        return
    result = black76_implied_vol(price, is_call, forward, strike, t, r)
    assert scalar(result.reason) == IVReason.OK
    expected = vollib_black_iv(price, forward, strike, r, t, flag(is_call))
    assert scalar(result.iv) == pytest.approx(expected, abs=ORACLE_TOL)
    assert scalar(result.iv) == pytest.approx(iv, abs=ORACLE_TOL)


@ORACLE
@given(
    rights,
    st.floats(min_value=-0.01, max_value=0.01),
    st.floats(min_value=5.0, max_value=390.0),
    st.floats(min_value=0.05, max_value=0.6),
)
def test_bsm_implied_vol_matches_vollib_for_0dte_near_the_money(is_call, log_m, minutes, iv):
    # The 0DTE track: SPX in its last trading minutes, strikes within 1% of spot. Small
    # iv * sqrt(t) is where a naive N(d1) - N(d2) loses digits to cancellation.
    spot, r, q = 4700.0, 0.05, 0.013
    strike = spot * math.exp(log_m)
    t = minutes / (365.0 * 24.0 * 60.0)
    price = scalar(bsm_price(is_call, spot, strike, t, r, q, iv))
    assert price == pytest.approx(
        vollib_bsm(flag(is_call), spot, strike, t, r, iv, q), abs=ORACLE_TOL
    )
    vega = greek(bsm_greeks(is_call, spot, strike, t, r, q, iv), "vega_per_vol_point")
    if not iv_is_well_determined(max(spot, strike), vega):
        return
    result = bsm_implied_vol(price, is_call, spot, strike, t, r, q)
    expected = vollib_bsm_iv(price, spot, strike, t, r, q, flag(is_call))
    assert scalar(result.iv) == pytest.approx(expected, abs=ORACLE_TOL)


@pytest.mark.parametrize("is_call", [True, False])
@pytest.mark.parametrize("iv", [0.001, 0.05, 0.2, 1.0, 4.0])
@pytest.mark.parametrize("t", [1.0 / (365.0 * 24.0 * 60.0), 1.0 / 365.0, 1.0])
def test_black76_implied_vol_exactly_at_the_money_matches_vollib(is_call, iv, t):
    price = scalar(black76_price(is_call, 4700.0, 4700.0, t, 0.05, iv))
    result = black76_implied_vol(price, is_call, 4700.0, 4700.0, t, 0.05)
    assert scalar(result.reason) == IVReason.OK
    expected = vollib_black_iv(price, 4700.0, 4700.0, 0.05, t, flag(is_call))
    assert scalar(result.iv) == pytest.approx(expected, rel=1e-12)
    assert scalar(result.iv) == pytest.approx(iv, rel=1e-9)


@ORACLE
@given(
    rights,
    st.floats(min_value=-3.0, max_value=6.0),  # log10 forward
    st.floats(min_value=-4.0, max_value=4.0),  # ln(K/F)
    st.floats(min_value=-7.0, max_value=1.5),  # log10 t
    st.floats(min_value=-3.0, max_value=1.0),  # log10 iv
    st.floats(min_value=-0.1, max_value=0.2),
)
def test_black76_implied_vol_is_as_accurate_as_the_price_allows(
    is_call, log_f, log_k_over_f, log_t, log_iv, r
):
    # Far outside any market: a minute to 30 years, 0.1% to 1000% vol, strikes e^+-4 from the
    # forward. Either the price carries no volatility information (it rounds to intrinsic or to
    # its maximum) or the solved volatility is within the rounding bound eps * scale / vega.
    forward, t, iv = 10.0**log_f, 10.0**log_t, 10.0**log_iv
    strike = forward * math.exp(log_k_over_f)
    price = scalar(black76_price(is_call, forward, strike, t, r, iv))
    result = black76_implied_vol(price, is_call, forward, strike, t, r)
    reason = IVReason(int(result.reason))
    if reason in (IVReason.NO_TIME_VALUE, IVReason.ABOVE_MAX):
        return
    assert reason == IVReason.OK
    vega = greek(black76_greeks(is_call, forward, strike, t, r, iv), "vega_per_vol_point") * 100
    bound = 8.0 * EPS * math.exp(-r * t) * max(forward, strike) / vega
    assert abs(scalar(result.iv) - iv) <= bound + 1e-14 * iv


# --- no-arbitrage properties -------------------------------------------------------------------


@ORACLE
@given(underlyings, moneyness, years, rates, yields, vols)
def test_bsm_put_call_parity_holds(spot, m, t, r, q, iv):
    strike = spot * m
    call = scalar(bsm_price(True, spot, strike, t, r, q, iv))
    put = scalar(bsm_price(False, spot, strike, t, r, q, iv))
    parity = spot * math.exp(-q * t) - strike * math.exp(-r * t)
    assert call - put == pytest.approx(parity, abs=1e-12 * max(spot, strike))


@ORACLE
@given(underlyings, moneyness, years, rates, vols)
def test_black76_put_call_parity_holds(forward, m, t, r, iv):
    strike = forward * m
    call = scalar(black76_price(True, forward, strike, t, r, iv))
    put = scalar(black76_price(False, forward, strike, t, r, iv))
    parity = math.exp(-r * t) * (forward - strike)
    assert call - put == pytest.approx(parity, abs=1e-12 * max(forward, strike))


@ORACLE
@given(
    rights,
    underlyings,
    st.floats(min_value=0.3, max_value=3.0),
    st.floats(min_value=1.0 / (365.0 * 24.0 * 60.0), max_value=10.0),
    rates,
    yields,
    st.floats(min_value=0.01, max_value=5.0),
)
def test_bsm_price_to_iv_to_price_round_trips(is_call, spot, m, t, r, q, iv):
    # A wider domain than the oracle tests: from one minute to ten years, 1% to 500% vol.
    strike = spot * m
    price = scalar(bsm_price(is_call, spot, strike, t, r, q, iv))
    result = bsm_implied_vol(price, is_call, spot, strike, t, r, q)
    reason = IVReason(int(result.reason))
    spot_df, strike_df = spot * math.exp(-q * t), strike * math.exp(-r * t)
    scale = max(spot_df, strike_df)
    if reason == IVReason.NO_TIME_VALUE:
        # Far from the money over a short time: the price rounds to its intrinsic value.
        intrinsic = max(spot_df - strike_df, 0.0) if is_call else max(strike_df - spot_df, 0.0)
        assert price == pytest.approx(intrinsic, abs=1e-12 * scale)
        return
    if reason == IVReason.ABOVE_MAX:
        # Huge iv * sqrt(t): the price rounds to its maximum (the share, or the strike's PV).
        assert price == pytest.approx(spot_df if is_call else strike_df, rel=1e-14)
        return
    assert reason == IVReason.OK
    repriced = scalar(bsm_price(is_call, spot, strike, t, r, q, result.iv))
    # 1e-12 in price for prices up to 1; above that, relative (a price of 10,000 carries
    # ~2e-12 of rounding on its own).
    assert repriced == pytest.approx(price, abs=1e-12 * max(1.0, price))


@ORACLE
@given(rights, underlyings, st.floats(min_value=0.3, max_value=3.0), years, rates, vols)
def test_black76_price_to_iv_to_price_round_trips(is_call, forward, m, t, r, iv):
    strike = forward * m
    price = scalar(black76_price(is_call, forward, strike, t, r, iv))
    result = black76_implied_vol(price, is_call, forward, strike, t, r)
    if scalar(result.reason) == IVReason.NO_TIME_VALUE:  # rounds to intrinsic: nothing to invert
        return
    assert scalar(result.reason) == IVReason.OK
    repriced = scalar(black76_price(is_call, forward, strike, t, r, result.iv))
    assert repriced == pytest.approx(price, abs=1e-12 * max(1.0, price))


@ORACLE
@given(underlyings, years, rates, yields, vols, st.lists(moneyness, min_size=2, max_size=20))
def test_bsm_call_delta_falls_and_put_delta_rises_with_strike(spot, t, r, q, iv, ms):
    strikes = np.sort(np.array(ms)) * spot
    call_delta = bsm_greeks(True, spot, strikes, t, r, q, iv).delta
    put_delta = bsm_greeks(False, spot, strikes, t, r, q, iv).delta
    assert np.all(np.diff(call_delta) <= 1e-15)
    assert np.all(np.diff(put_delta) <= 1e-15)
    assert np.all((call_delta >= 0) & (call_delta <= 1) & (put_delta <= 0) & (put_delta >= -1))


# --- every IVReason ----------------------------------------------------------------------------


def bsm_reason(
    price: float,
    is_call: bool = True,
    spot: float = 100.0,
    strike: float = 100.0,
    t: float = 0.5,
    r: float = 0.05,
    q: float = 0.01,
    bid: float | None = None,
) -> IVReason:
    result = bsm_implied_vol(price, is_call, spot, strike, t, r, q, bid=bid)
    if scalar(result.reason) != IVReason.OK:
        assert math.isnan(scalar(result.iv))
    return IVReason(int(result.reason))


def test_implied_vol_below_intrinsic_is_nan_with_reason():
    intrinsic = 100.0 * math.exp(-0.01 * 0.5) - 80.0 * math.exp(-0.05 * 0.5)
    assert bsm_reason(intrinsic - 0.01, strike=80.0) == IVReason.BELOW_INTRINSIC


def test_implied_vol_with_zero_bid_is_nan_with_reason():
    assert bsm_reason(0.05, strike=150.0, bid=0.0) == IVReason.NO_BID
    assert bsm_reason(0.05, strike=150.0, bid=0.04) == IVReason.OK


def test_implied_vol_at_or_after_expiry_is_nan_with_reason():
    assert bsm_reason(5.0, t=0.0) == IVReason.EXPIRED
    assert bsm_reason(5.0, t=-1.0 / 365.0) == IVReason.EXPIRED


def test_implied_vol_without_time_value_is_nan_with_reason():
    intrinsic_put = scalar(bsm_price(False, 100.0, 130.0, 0.5, 0.05, 0.01, 0.0))
    assert bsm_reason(intrinsic_put, is_call=False, strike=130.0) == IVReason.NO_TIME_VALUE
    assert bsm_reason(0.0, strike=150.0) == IVReason.NO_TIME_VALUE


def test_implied_vol_at_or_above_maximum_is_nan_with_reason():
    spot_df = 100.0 * math.exp(-0.01 * 0.5)  # DF * F for a call: the price of the share
    assert bsm_reason(spot_df, strike=90.0) == IVReason.ABOVE_MAX
    assert bsm_reason(120.0 * math.exp(-0.05 * 0.5), is_call=False, strike=120.0) == (
        IVReason.ABOVE_MAX
    )


@pytest.mark.parametrize(
    ("price", "spot", "strike", "t", "bid"),
    [
        (math.nan, 100.0, 100.0, 0.5, None),
        (5.0, math.inf, 100.0, 0.5, None),
        (5.0, 100.0, -100.0, 0.5, None),
        (5.0, 0.0, 100.0, 0.5, None),
        (-1.0, 100.0, 100.0, 0.5, None),
        (5.0, 100.0, 100.0, math.nan, None),
        (5.0, 100.0, 100.0, 0.5, math.nan),
    ],
)
def test_implied_vol_with_bad_input_is_nan_with_reason(price, spot, strike, t, bid):
    assert bsm_reason(price, spot=spot, strike=strike, t=t, bid=bid) == IVReason.BAD_INPUT


def test_implied_vol_out_of_iterations_is_nan_with_reason(monkeypatch):
    monkeypatch.setattr(pricing, "_MAX_ITERATIONS", 0)
    assert bsm_reason(5.0) == IVReason.NO_CONVERGENCE


def test_black76_implied_vol_reasons_use_discounted_forward_bounds():
    df = math.exp(-0.05 * 0.5)
    reason = black76_implied_vol(
        np.array([df * 10.0 - 0.01, df * 110.0, df * 10.0, 3.0]),
        np.array([True, True, True, True]),
        110.0,
        100.0,
        0.5,
        0.05,
        bid=np.array([1.0, 1.0, 1.0, 0.0]),
    ).reason
    assert reason.tolist() == [
        IVReason.BELOW_INTRINSIC,
        IVReason.ABOVE_MAX,
        IVReason.NO_TIME_VALUE,
        IVReason.NO_BID,
    ]


def test_every_iv_reason_has_a_sentence():
    assert set(IV_REASON_TEXT) == set(IVReason)
    assert all(reason.describe() for reason in IVReason)


# --- shapes, dtypes and degenerate inputs ------------------------------------------------------


def test_large_chain_is_priced_and_solved_in_one_vectorised_call():
    rng = np.random.default_rng(20240105)
    n = 10_000
    is_call = rng.random(n) < 0.5
    spot = 4700.0
    strike = spot * rng.uniform(0.7, 1.3, n)
    t = rng.uniform(1.0 / 365.0, 1.0, n)
    iv = rng.uniform(0.08, 0.6, n)
    started = time.perf_counter()
    price = bsm_price(is_call, spot, strike, t, 0.05, 0.013, iv)
    result = bsm_implied_vol(price, is_call, spot, strike, t, 0.05, 0.013)
    greeks = bsm_greeks(is_call, spot, strike, t, 0.05, 0.013, result.iv)
    elapsed = time.perf_counter() - started
    solved = result.reason == IVReason.OK
    assert result.iv.shape == greeks.delta.shape == (n,)
    assert solved.mean() > 0.95
    repriced = bsm_price(is_call, spot, strike, t, 0.05, 0.013, result.iv)
    np.testing.assert_allclose(repriced[solved], price[solved], rtol=1e-12, atol=1e-12)
    assert (result.reason[~solved] == IVReason.NO_TIME_VALUE).all()  # far wings over a few days
    assert elapsed < 2.0  # a per-row Python loop takes seconds; vectorised takes milliseconds


def test_outputs_keep_the_broadcast_shape():
    strikes = np.linspace(80.0, 120.0, 5)
    rights_ = np.array([[True], [False]])
    price = bsm_price(rights_, 100.0, strikes, 0.5, 0.05, 0.0, 0.2)
    assert price.shape == (2, 5)
    result = bsm_implied_vol(price, rights_, 100.0, strikes, 0.5, 0.05, 0.0)
    assert result.iv.shape == result.reason.shape == (2, 5)
    np.testing.assert_allclose(result.iv, 0.2, atol=1e-12)
    assert bsm_greeks(rights_, 100.0, strikes, 0.5, 0.05, 0.0, 0.2).rho.shape == (2, 5)


def test_scalar_inputs_give_zero_dimensional_arrays():
    assert bsm_price(True, 100.0, 100.0, 0.5, 0.05, 0.0, 0.2).shape == ()
    assert black76_implied_vol(5.0, False, 100.0, 100.0, 0.5, 0.05).iv.shape == ()


def test_shape_mismatch_names_the_arguments_and_their_shapes():
    with pytest.raises(ValueError, match=r"spot \(3,\).*strike \(4,\)"):
        bsm_price(True, np.ones(3), np.ones(4), 0.5, 0.05, 0.0, 0.2)


def test_non_boolean_is_call_is_rejected():
    with pytest.raises(TypeError, match="is_call must be bool"):
        bsm_price(np.array(["C", "P"]), 100.0, 100.0, 0.5, 0.05, 0.0, 0.2)


def test_price_at_expiry_or_zero_vol_is_discounted_intrinsic():
    assert scalar(bsm_price(True, 105.0, 100.0, 0.0, 0.05, 0.0, 0.2)) == pytest.approx(5.0)
    zero_vol = scalar(black76_price(False, 90.0, 100.0, 1.0, 0.05, 0.0))
    assert zero_vol == pytest.approx(10.0 * math.exp(-0.05))


def test_greeks_at_expiry_are_nan():
    g = bsm_greeks(True, 105.0, 100.0, 0.0, 0.05, 0.0, 0.2)
    assert all(math.isnan(greek(g, name)) for name in GREEK_NAMES)


def test_invalid_pricing_inputs_give_nan_not_warnings():
    price = bsm_price(True, [100.0, -1.0, math.nan], 100.0, [0.5, 0.5, 0.5], 0.05, 0.0, 0.2)
    assert not math.isnan(price[0])
    assert np.isnan(price[1:]).all()
    g = black76_greeks(True, [0.0, 100.0], 100.0, 0.5, 0.05, [0.2, -0.2])
    assert np.isnan(g.delta).all()


def test_delta_alone_is_the_greeks_delta_to_the_bit():
    rng = np.random.default_rng(11)
    n = 4000
    is_call = rng.random(n) < 0.5
    forward = rng.uniform(500.0, 6000.0, n)
    strike = forward * rng.uniform(0.5, 1.5, n)
    t = 10 ** rng.uniform(-7, 0.5, n)
    r = rng.uniform(-0.01, 0.08, n)
    iv = rng.uniform(0.02, 2.0, n)
    # Bad inputs too: NaN where the greeks are NaN.
    forward[::97], t[::89], iv[::83] = math.nan, 0.0, -0.2
    expected = black76_greeks(is_call, forward, strike, t, r, iv).delta
    np.testing.assert_array_equal(black76_delta(is_call, forward, strike, t, r, iv), expected)
    assert np.isnan(expected).sum() > 100


# --- one option at a time (the hedge engine's per-bar path) ------------------------------------

# Minutes to expiry through years: the engine marks 0DTE legs in their last minutes.
any_years = st.floats(min_value=1e-8, max_value=3.0)


@ORACLE
@given(rights, underlyings, moneyness, years, rates, vols)
def test_black76_one_matches_vollib(is_call, forward, m, t, r, iv):
    strike = forward * m
    f = flag(is_call)
    price = black76_price_one(is_call, forward, strike, t, r, iv)
    assert price == pytest.approx(vollib_black(f, forward, strike, t, r, iv), abs=ORACLE_TOL)
    g = black76_greeks_one(is_call, forward, strike, t, r, iv)
    for name in GREEK_NAMES:
        expected = VOLLIB_BLACK_GREEKS[name](f, forward, strike, t, r, iv)
        assert getattr(g, name) == pytest.approx(expected, abs=ORACLE_TOL), name


@settings(max_examples=500, deadline=None)
@given(rights, underlyings, moneyness, any_years, rates, vols)
def test_black76_one_agrees_with_the_vectorised_pricer_to_the_last_minute(
    is_call, forward, m, t, r, iv
):
    # Its wings use the erfcx form where the vectorised pricer uses Jaeckel's small-t series:
    # agreement to 1e-10 relative (1e-11 of the forward absolute) down to a second to expiry.
    strike = forward * m
    one = black76_price_one(is_call, forward, strike, t, r, iv)
    vectorised = scalar(black76_price(is_call, forward, strike, t, r, iv))
    assert one == pytest.approx(vectorised, rel=1e-10, abs=1e-11 * forward)
    g_one = black76_greeks_one(is_call, forward, strike, t, r, iv)
    g_vec = black76_greeks(is_call, forward, strike, t, r, iv)
    for name in GREEK_NAMES:
        expected = greek(g_vec, name)
        assert getattr(g_one, name) == pytest.approx(expected, rel=1e-10, abs=1e-12), name


@pytest.mark.parametrize(
    ("forward", "strike", "t", "r", "iv"),
    [
        (-1.0, 100.0, 0.5, 0.05, 0.2),
        (100.0, 0.0, 0.5, 0.05, 0.2),
        (100.0, 100.0, -0.1, 0.05, 0.2),
        (100.0, 100.0, 0.5, 0.05, -0.2),
        (math.nan, 100.0, 0.5, 0.05, 0.2),
        (100.0, 100.0, 0.5, math.inf, 0.2),
    ],
)
def test_black76_one_is_nan_where_the_vectorised_pricer_is(forward, strike, t, r, iv):
    assert math.isnan(scalar(black76_price(True, forward, strike, t, r, iv)))
    assert math.isnan(black76_price_one(True, forward, strike, t, r, iv))
    assert all(
        math.isnan(getattr(black76_greeks_one(False, forward, strike, t, r, iv), name))
        for name in GREEK_NAMES
    )


def test_black76_one_at_expiry_or_zero_vol_is_discounted_intrinsic_without_greeks():
    assert black76_price_one(True, 105.0, 100.0, 0.0, 0.05, 0.2) == 5.0
    assert black76_price_one(False, 90.0, 100.0, 1.0, 0.05, 0.0) == pytest.approx(
        10.0 * math.exp(-0.05), rel=1e-15
    )
    at_expiry = black76_greeks_one(True, 105.0, 100.0, 0.0, 0.05, 0.2)
    assert all(math.isnan(getattr(at_expiry, name)) for name in GREEK_NAMES)


@settings(max_examples=100, deadline=None)
@given(rights, underlyings, moneyness, any_years, rates, vols)
def test_black76_greeks_one_given_its_price_are_the_same_greeks(is_call, forward, m, t, r, iv):
    strike = forward * m
    price = black76_price_one(is_call, forward, strike, t, r, iv)
    given_price = black76_greeks_one(is_call, forward, strike, t, r, iv, price=price)
    assert given_price == black76_greeks_one(is_call, forward, strike, t, r, iv)
