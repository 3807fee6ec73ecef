"""Tests for core.vix: VIX futures estimates against real settlements, options, sizing."""

from __future__ import annotations

import csv
import itertools
import math
import statistics
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.calendar import vix_monthly_settlement
from core.pricing import black76_implied_vol, black76_price
from core.vix import (
    DEFAULT_SENSITIVITY,
    MODELLED_VIX_OPTION_VOL,
    EstimateMethod,
    SensitivityCase,
    SensitivityRange,
    SpxVixSensitivity,
    VixFutureEstimate,
    VixInstrument,
    VixOptionVolModel,
    estimate_vix_future,
    hedge_contracts,
    size_vix_hedge,
    vix_call_spread,
    vix_option,
)

DATA = Path(__file__).resolve().parent.parent / "data"
DAY = 1.0 / 365.0
# From the 16:15 ET close to the 09:30 ET Special Opening Quotation.
CLOSE_TO_SOQ_DAYS = 6.75 / 24.0
LOW, MID, HIGH = SensitivityCase.LOW, SensitivityCase.MID, SensitivityCase.HIGH

levels = st.floats(min_value=9.0, max_value=90.0)
years = st.floats(min_value=0.0, max_value=0.6)


# --- estimate_vix_future: properties --------------------------------------------------------------


@pytest.mark.parametrize("t_days", [0.0, 5.0, 21.0, 45.0, 63.0, 120.0])
def test_flat_term_structure_reproduces_the_level(t_days):
    estimate = estimate_vix_future(18.0, 18.0, 18.0, t_days * DAY)
    assert estimate.price == pytest.approx(18.0, rel=1e-12)
    assert estimate.estimated
    assert estimate.extrapolated == (t_days + 30 > 93)


@given(vix=levels, vix9d=levels, vix3m=levels)
def test_at_settlement_the_estimate_is_vix(vix, vix9d, vix3m):
    # w(30d) / 30d = VIX^2 whatever the other tenors are, as long as w is increasing.
    if vix**2 * 30 <= vix9d**2 * 9 or vix3m**2 * 93 <= vix**2 * 30:
        return
    assert estimate_vix_future(vix, vix9d, vix3m, 0.0).price == pytest.approx(vix, rel=1e-12)


def _segment_forward_vols(vix: float, vix9d: float, vix3m: float) -> list[float]:
    w9, w30, w93 = vix9d**2 * 9, vix**2 * 30, vix3m**2 * 93
    return [vix9d, math.sqrt((w30 - w9) / 21), math.sqrt((w93 - w30) / 63), vix3m]


@given(vix=levels, vix9d=levels, vix3m=levels, t_years=years)
def test_estimate_lies_within_the_forward_vols_it_averages(vix, vix9d, vix3m, t_years):
    if vix**2 * 30 <= vix9d**2 * 9 or vix3m**2 * 93 <= vix**2 * 30:
        return
    forwards = _segment_forward_vols(vix, vix9d, vix3m)
    price = estimate_vix_future(vix, vix9d, vix3m, t_years).price
    assert min(forwards) * (1 - 1e-12) <= price <= max(forwards) * (1 + 1e-12)


def test_estimate_between_vix9d_and_vix3m_only_near_settlement_in_contango():
    vix9d, vix, vix3m = 14.0, 16.0, 19.0
    near = estimate_vix_future(vix, vix9d, vix3m, 2 * DAY).price
    assert vix9d < near < vix3m
    # One month out the window is days 30-60, whose forward variance exceeds VIX3M^2 in any
    # contango: sqrt((19^2*93 - 16^2*30) / 63) = 20.3. Real second-month futures did the same.
    one_month = estimate_vix_future(vix, vix9d, vix3m, 30 * DAY).price
    assert one_month == pytest.approx(math.sqrt((19.0**2 * 93 - 16.0**2 * 30) / 63), rel=1e-12)
    assert one_month > vix3m


def test_backwardation_puts_the_future_below_spot():
    # A stress day: 9-day vol above 30-day above 3-month. The window (days 20-50) takes 10 days
    # of the 9-30-day forward variance and 20 of the 30-93-day one, below VIX3M itself.
    estimate = estimate_vix_future(30.0, 36.0, 26.0, 20 * DAY)
    fv2 = (30.0**2 * 30 - 36.0**2 * 9) / 21
    fv3 = (26.0**2 * 93 - 30.0**2 * 30) / 63
    assert estimate.price == pytest.approx(math.sqrt((10 * fv2 + 20 * fv3) / 30), rel=1e-12)
    assert estimate.price < 26.0 < 30.0


def test_vvix_convexity_adjustment_lowers_the_estimate():
    raw = estimate_vix_future(16.0, 14.0, 19.0, 25 * DAY)
    adjusted = estimate_vix_future(16.0, 14.0, 19.0, 25 * DAY, vvix=90.0)
    assert adjusted.price == pytest.approx(raw.price * math.exp(-(0.9**2) * 25 * DAY / 2))
    assert adjusted.method is EstimateMethod.FORWARD_VARIANCE_CONVEXITY
    assert raw.method is EstimateMethod.FORWARD_VARIANCE
    assert estimate_vix_future(16.0, 14.0, 19.0, 80 * DAY).method is (
        EstimateMethod.FORWARD_VARIANCE_EXTRAPOLATED
    )


@pytest.mark.parametrize("field", ["vix", "vix9d", "vix3m", "vvix"])
@pytest.mark.parametrize("bad", [0.0, -12.0, math.nan, math.inf])
def test_estimate_rejects_bad_index_values_naming_the_field(field, bad):
    inputs = {"vix": 16.0, "vix9d": 14.0, "vix3m": 19.0, "vvix": 90.0}
    inputs[field] = bad
    with pytest.raises(ValueError, match=rf"^{field} must be a positive finite number, was"):
        estimate_vix_future(
            inputs["vix"], inputs["vix9d"], inputs["vix3m"], 0.05, vvix=inputs["vvix"]
        )


@pytest.mark.parametrize("bad", [-0.01, math.nan, math.inf])
def test_estimate_rejects_bad_time(bad):
    with pytest.raises(ValueError, match="t_years must be a non-negative finite number"):
        estimate_vix_future(16.0, 14.0, 19.0, bad)


@pytest.mark.parametrize(
    ("vix", "vix9d", "vix3m"),
    [
        (20.0, 60.0, 21.0),  # 9 days at 60 carry more variance than 30 days at 20
        (50.0, 45.0, 25.0),  # 30 days at 50 carry more than 93 days at 25
    ],
)
def test_estimate_rejects_total_variance_falling_with_tenor(vix, vix9d, vix3m):
    with pytest.raises(ValueError, match="negative forward variance"):
        estimate_vix_future(vix, vix9d, vix3m, 2 * DAY)


def test_estimate_result_validates():
    with pytest.raises(ValueError, match="price must be a positive finite number"):
        VixFutureEstimate(price=math.nan, t_years=0.1, method=EstimateMethod.FORWARD_VARIANCE)


# --- estimate_vix_future against real VX settlements, 2011-2015 -----------------------------------
#
# Every fifth trading day 2011-01-04 ... 2015-04-01 (214 days), front and second month. On this
# sample: front month +3.4 % median error (|error| 3.5 % median, 7.7 % at the 90th percentile),
# second month +3.6 % (3.7 %, 8.4 %); with VVIX: +1.5 % / -1.2 % (2.2 % / 2.6 %); spot VIX as
# the future: 5.2 % / 12.1 %. The bounds below are not tolerances fitted to those numbers: each
# compares the estimate with what the engine would do without it, or with what theory says.


def _real_rows(rank: str) -> list[dict[str, float]]:
    with (DATA / "vix_term_structure_vx_2011_2015.csv").open(newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["rank"] == rank]
    out = []
    for row in rows:
        year, month = (int(x) for x in row["contract"].split("-"))
        days = (vix_monthly_settlement(year, month) - date.fromisoformat(row["date"])).days
        fields = ("vix", "vix9d", "vix3m", "vvix", "vx_settle")
        values = {name: float(row[name]) for name in fields}
        values["t_years"] = (days - CLOSE_TO_SOQ_DAYS) / 365.0
        out.append(values)
    return out


@pytest.fixture(scope="module", params=["1", "2"], ids=["front month", "second month"])
def real_errors(request):
    rows = _real_rows(request.param)
    raw, adjusted, spot, basis_right, contango = [], [], [], [], []
    for row in rows:
        real = row["vx_settle"]
        args = (row["vix"], row["vix9d"], row["vix3m"], row["t_years"])
        estimate = estimate_vix_future(*args).price
        raw.append(estimate / real - 1)
        adjusted.append(estimate_vix_future(*args, vvix=row["vvix"]).price / real - 1)
        spot.append(row["vix"] / real - 1)
        basis_right.append((estimate > row["vix"]) == (real > row["vix"]))
        contango.append(real > row["vix"])
    return {
        "n": len(rows),
        "raw": raw,
        "adjusted": adjusted,
        "spot": spot,
        "basis_right": basis_right,
        "contango": contango,
    }


def _median_abs(values: list[float]) -> float:
    return statistics.median(abs(v) for v in values)


def test_real_sample_size(real_errors):
    assert real_errors["n"] == 214


def test_estimate_beats_spot_vix_as_the_future(real_errors):
    # Without an estimate the only number at hand is spot VIX.
    assert _median_abs(real_errors["raw"]) < _median_abs(real_errors["spot"])


def test_estimate_is_above_the_real_future_as_jensen_requires(real_errors):
    # sqrt(E[VIX^2]) >= E[VIX]: the forward-variance estimate should sit above the future.
    assert statistics.median(real_errors["raw"]) > 0
    assert sum(e > 0 for e in real_errors["raw"]) > real_errors["n"] / 2


def test_vvix_convexity_adjustment_reduces_the_error(real_errors):
    assert _median_abs(real_errors["adjusted"]) < _median_abs(real_errors["raw"])
    assert abs(statistics.median(real_errors["adjusted"])) < statistics.median(real_errors["raw"])


def test_estimate_calls_contango_or_backwardation_better_than_the_base_rate(real_errors):
    # "Always contango" is right as often as the market was in contango.
    right = sum(real_errors["basis_right"])
    base = max(sum(real_errors["contango"]), real_errors["n"] - sum(real_errors["contango"]))
    assert right > base


# --- VIX options: Black-76 on the future ----------------------------------------------------------


@given(
    future=st.floats(min_value=10.0, max_value=80.0),
    strike=st.floats(min_value=8.0, max_value=100.0),
    t_years=st.floats(min_value=1e-3, max_value=0.5),
    iv=st.floats(min_value=0.2, max_value=2.5),
    rate=st.floats(min_value=0.0, max_value=0.06),
)
def test_vix_option_put_call_parity(future, strike, t_years, iv, rate):
    call = vix_option(True, future, strike, t_years, iv, rate)
    put = vix_option(False, future, strike, t_years, iv, rate)
    parity = math.exp(-rate * t_years) * (future - strike)
    assert call.price - put.price == pytest.approx(parity, abs=1e-10 * max(future, strike))
    assert call.delta - put.delta == pytest.approx(math.exp(-rate * t_years), abs=1e-12)


def test_vix_option_delta_is_with_respect_to_the_future():
    bump = 1e-5
    up = vix_option(True, 20.0 + bump, 22.0, 30 * DAY, 0.9).price
    down = vix_option(True, 20.0 - bump, 22.0, 30 * DAY, 0.9).price
    option = vix_option(True, 20.0, 22.0, 30 * DAY, 0.9)
    assert option.delta == pytest.approx((up - down) / (2 * bump), rel=1e-7)
    assert option.price_usd == pytest.approx(option.price * 100)


def test_vix_option_at_expiry_is_intrinsic():
    call = vix_option(True, 25.0, 20.0, 0.0, 0.9)
    put = vix_option(False, 25.0, 20.0, 0.0, 0.9)
    assert (call.price, call.delta, call.gamma) == (5.0, 1.0, 0.0)
    assert (put.price, put.delta) == (0.0, 0.0)


@pytest.mark.parametrize(
    ("field", "args"),
    [
        ("future", (True, math.nan, 20.0, 0.1, 0.9)),
        ("future", (True, -1.0, 20.0, 0.1, 0.9)),
        ("strike", (True, 20.0, 0.0, 0.1, 0.9)),
        ("t_years", (True, 20.0, 20.0, -0.1, 0.9)),
        ("iv", (True, 20.0, 20.0, 0.1, math.inf)),
    ],
)
def test_vix_option_rejects_bad_inputs_naming_the_field(field, args):
    with pytest.raises(ValueError, match=rf"^{field} must be"):
        vix_option(*args)


@given(
    future=st.floats(min_value=10.0, max_value=60.0),
    low=st.floats(min_value=10.0, max_value=40.0),
    width=st.floats(min_value=0.5, max_value=20.0),
    t_years=st.floats(min_value=1e-3, max_value=0.4),
    iv=st.floats(min_value=0.3, max_value=2.0),
)
def test_call_spread_debit_between_zero_and_width_at_one_vol(future, low, width, t_years, iv):
    spread = vix_call_spread(future, low, low + width, t_years, iv, iv)
    assert 0.0 <= spread.debit <= spread.width
    assert spread.width == pytest.approx(width)
    assert spread.delta == pytest.approx(spread.long_call.delta - spread.short_call.delta)
    assert spread.debit_usd == pytest.approx(100 * spread.debit)
    assert spread.max_value_usd == pytest.approx(100 * width)


@given(
    future=st.floats(min_value=10.0, max_value=80.0),
    low_over_future=st.floats(min_value=0.5, max_value=3.0),
    width=st.sampled_from([0.5, 1.0, 2.5, 5.0, 10.0]),
    days=st.floats(min_value=1.0, max_value=150.0),
    vvix=st.floats(min_value=60.0, max_value=200.0),
)
def test_call_spread_debit_between_zero_and_width_on_the_modelled_skew(
    future, low_over_future, width, days, vvix
):
    # Strikes up to 3.5x the future: the domain where the modelled skew is arbitrage-free.
    low = low_over_future * future
    high = min(low + width, 3.5 * future)

    def iv(strike: float) -> float:
        return MODELLED_VIX_OPTION_VOL.iv(
            vvix=vvix, future=future, strike=strike, t_years=days * DAY
        )

    spread = vix_call_spread(future, low, high, days * DAY, iv(low), iv(high))
    assert 0.0 <= spread.debit <= spread.width


def test_call_spread_rejects_an_arbitrage_skew():
    with pytest.raises(ValueError, match="skew between the strikes is an arbitrage"):
        vix_call_spread(10.0, 10.0, 11.0, 0.25, 1.0, 1.5)
    # Far beyond where hedges are struck, the linear modelled skew breaks (Lee's bound).
    days = 14 * DAY
    ivs = [
        MODELLED_VIX_OPTION_VOL.iv(vvix=60.0, future=10.0, strike=k, t_years=days)
        for k in (38.0, 48.0)
    ]
    with pytest.raises(ValueError, match="arbitrage"):
        vix_call_spread(10.0, 38.0, 48.0, days, ivs[0], ivs[1])


def test_call_spread_deep_in_the_money_is_worth_the_width():
    spread = vix_call_spread(44.0, 10.0, 11.5, 0.015625, 1.0, 1.0)
    assert spread.debit == pytest.approx(1.5, abs=1e-9)
    assert spread.debit <= spread.width


def test_call_spread_worked_example():
    # A 20/25 spread on a 20 future, one month, 0.85 / 1.05 vol: strictly inside (0, width).
    spread = vix_call_spread(20.0, 20.0, 25.0, 30 * DAY, 0.85, 1.05)
    assert 0.0 < spread.debit < spread.width
    assert 0.0 < spread.delta < 1.0
    flat = vix_call_spread(20.0, 20.0, 25.0, 30 * DAY, 0.85, 0.85)
    # The skew makes the sold call dearer, so the spread cheaper.
    assert spread.debit < flat.debit


def test_call_spread_rejects_inverted_strikes():
    with pytest.raises(ValueError, match="high_strike must be above low_strike"):
        vix_call_spread(20.0, 25.0, 25.0, 0.1, 0.9, 0.9)


# --- Modelled VIX option volatility ---------------------------------------------------------------


def test_modelled_iv_at_the_money_is_the_vvix_ratio():
    model = MODELLED_VIX_OPTION_VOL
    assert model.iv(vvix=90.0, future=20.0, strike=20.0, t_years=30 * DAY) == pytest.approx(
        0.85 * 0.90
    )
    assert model.atm_iv(90.0) == pytest.approx(0.765)


def test_modelled_iv_slopes_upward_in_strike_and_flattens_with_time():
    model = MODELLED_VIX_OPTION_VOL
    strikes = np.linspace(12.0, 60.0, 49)
    ivs = [model.iv(vvix=90.0, future=20.0, strike=k, t_years=30 * DAY) for k in strikes]
    assert all(b >= a for a, b in itertools.pairwise(ivs))
    short = model.iv(vvix=90.0, future=20.0, strike=30.0, t_years=10 * DAY)
    long = model.iv(vvix=90.0, future=20.0, strike=30.0, t_years=90 * DAY)
    assert short > long


def test_modelled_skew_has_no_static_arbitrage():
    # Call prices must fall and be convex in strike, whatever the level, tenor and VVIX.
    model = MODELLED_VIX_OPTION_VOL
    for future in (10.0, 20.0, 50.0, 80.0):
        strikes = np.arange(0.5 * future, 3.5 * future, 0.25)
        for days in (1.0, 3.0, 7.0, 14.0, 30.0, 90.0, 150.0):
            for vvix in (60.0, 100.0, 160.0, 200.0):
                ivs = [
                    model.iv(vvix=vvix, future=future, strike=k, t_years=days * DAY)
                    for k in strikes
                ]
                calls = black76_price(True, future, strikes, days * DAY, 0.0, np.array(ivs))
                assert np.all(np.diff(calls) <= 1e-12), (future, days, vvix)
                assert np.all(np.diff(calls, 2) >= -1e-10), (future, days, vvix)


def test_modelled_iv_has_a_floor():
    model = VixOptionVolModel(min_iv_fraction_of_atm=0.5)
    atm = model.atm_iv(100.0)
    assert model.iv(vvix=100.0, future=30.0, strike=10.0, t_years=2 * DAY) == pytest.approx(
        0.5 * atm
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"atm_vvix_ratio": 0.0},
        {"skew_per_log_moneyness_30d": -1.0},
        {"min_iv_fraction_of_atm": 1.5},
    ],
)
def test_vol_model_rejects_bad_parameters(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        VixOptionVolModel(**kwargs)


def test_modelled_iv_fits_traded_vix_options_better_than_flat_vvix():
    # 2024-06-03 traded closes (VVIX 78.79): IVs solved with Black-76 on the future implied by
    # put-call parity, out-of-the-money, ln(K/F) in [-0.3, 1.0].
    with (DATA / "vix_options_2024-06-03_traded.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    vvix, asof = 78.79, date(2024, 6, 3)
    model_errors, flat_errors = [], []
    for expiry in sorted({row["expiration_date"] for row in rows}):
        quotes = {
            (float(r["strike"]), r["contract_type"]): float(r["close"])
            for r in rows
            if r["expiration_date"] == expiry
        }
        future = float(
            np.median(
                [
                    k + c - quotes[(k, "put")]
                    for (k, kind), c in quotes.items()
                    if kind == "call" and (k, "put") in quotes
                ]
            )
        )
        t_years = ((date.fromisoformat(expiry) - asof).days - CLOSE_TO_SOQ_DAYS) / 365
        for (strike, kind), price in quotes.items():
            is_call = kind == "call"
            x = math.log(strike / future)
            if is_call != (strike >= future) or not -0.3 <= x <= 1.0:
                continue
            iv = float(black76_implied_vol(price, is_call, future, strike, t_years, 0.0).iv)
            if not math.isfinite(iv):
                continue
            modelled = MODELLED_VIX_OPTION_VOL.iv(
                vvix=vvix, future=future, strike=strike, t_years=t_years
            )
            model_errors.append(abs(modelled - iv))
            flat_errors.append(abs(vvix / 100 - iv))
    assert len(model_errors) > 100
    assert statistics.median(model_errors) < statistics.median(flat_errors)


# --- SPX -> VIX future sensitivity ----------------------------------------------------------------


def test_dampening_is_one_at_settlement_and_the_range_at_30_days():
    s = DEFAULT_SENSITIVITY
    for case in SensitivityCase:
        assert s.dampening(0.0, case) == 1.0
    assert [s.dampening(30.0, c) for c in (LOW, MID, HIGH)] == pytest.approx([0.4, 0.5, 0.6])


def test_dampening_decreases_with_time_to_settlement():
    days = np.arange(0.0, 200.0, 1.0)
    values = [DEFAULT_SENSITIVITY.dampening(d, MID) for d in days]
    assert all(b < a for a, b in itertools.pairwise(values))
    assert 0 < values[-1] < 1


def test_future_move_points_worked_example():
    # SPX -1 %, future 20, 30 days, mid: 20 * 0.5 * (-4.5) * (-1) / 100 = +0.45 points.
    s = DEFAULT_SENSITIVITY
    assert s.future_move_points(-1.0, 20.0, 30.0, MID) == pytest.approx(0.45)
    assert s.future_move_points(-1.0, 20.0, 30.0, LOW) == pytest.approx(20 * 0.4 * 4.0 / 100)
    assert s.future_move_points(-1.0, 20.0, 30.0, HIGH) == pytest.approx(20 * 0.6 * 5.0 / 100)
    assert s.future_move_points(1.0, 20.0, 30.0, MID) == pytest.approx(-0.45)
    # A week-old series moves nearly with spot.
    assert s.future_move_points(-1.0, 20.0, 7.0, MID) > 0.45 * 1.3


def test_down_day_multiplier_applies_to_falls_only():
    s = SpxVixSensitivity(down_day_multiplier=1.2)
    assert s.future_move_points(-1.0, 20.0, 30.0, MID) == pytest.approx(0.45 * 1.2)
    assert s.future_move_points(1.0, 20.0, 30.0, MID) == pytest.approx(-0.45)


def test_future_points_per_spx_point_is_the_slope():
    s = DEFAULT_SENSITIVITY
    spx, future, days = 3937.0, 22.0, 7.0
    slope = s.future_points_per_spx_point(spx, future, days, MID)
    ten_point_fall = s.future_move_points(-1000.0 / spx, future, days, MID)
    assert slope < 0
    assert slope * -10 == pytest.approx(ten_point_fall)


def test_sensitivity_rejects_bad_ranges():
    with pytest.raises(ValueError, match="vix_pct_per_spx_pct must be negative"):
        SpxVixSensitivity(vix_pct_per_spx_pct=SensitivityRange(low=4.0, mid=4.5, high=5.0))
    with pytest.raises(ValueError, match="future_dampening_30d must be in"):
        SpxVixSensitivity(future_dampening_30d=SensitivityRange(low=0.4, mid=0.5, high=1.5))
    with pytest.raises(ValueError, match=r"\|low\| <= \|mid\| <= \|high\|"):
        SensitivityRange(low=-5.0, mid=-4.5, high=-4.0)
    with pytest.raises(ValueError, match="days_to_settlement"):
        DEFAULT_SENSITIVITY.dampening(-1.0, MID)
    with pytest.raises(ValueError, match="spx_move_pct must be finite"):
        DEFAULT_SENSITIVITY.future_move_points(math.nan, 20.0, 30.0, MID)


# --- Sizing ---------------------------------------------------------------------------------------


def test_hedge_contracts_arithmetic():
    # +$2,000 per SPX point, offset half, with -$50 per point per contract: 20 contracts.
    assert hedge_contracts(2000.0, 0.5, -50.0) == pytest.approx(20.0)


def test_hedge_contracts_refuses_an_instrument_that_adds_to_the_exposure():
    # A call-side test (condor delta negative) is not hedged by a long VIX position.
    with pytest.raises(ValueError, match="would add to the exposure"):
        hedge_contracts(-2000.0, 0.5, -50.0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((2000.0, 0.0, -50.0), "hedge_ratio must be in"),
        ((2000.0, 1.5, -50.0), "hedge_ratio must be in"),
        ((2000.0, 0.5, 0.0), "cannot hedge"),
        ((math.nan, 0.5, -50.0), "condor_dollar_delta must be finite"),
        ((2000.0, 0.5, math.inf), "instrument_dollar_delta_per_spx_point must be finite"),
    ],
)
def test_hedge_contracts_rejects_bad_inputs(args, message):
    with pytest.raises(ValueError, match=message):
        hedge_contracts(*args)


def test_size_vix_hedge_low_case_needs_most_contracts():
    low, mid, high = size_vix_hedge(
        condor_dollar_delta=1500.0,
        hedge_ratio=0.5,
        instrument=VixInstrument.VX_FUTURE,
        spx=3937.0,
        future=22.0,
        days_to_settlement=7.0,
    )
    assert (low.case, mid.case, high.case) == (LOW, MID, HIGH)
    assert low.contracts > mid.contracts > high.contracts > 0
    for size in (low, mid, high):
        assert size.dollar_delta_per_contract == pytest.approx(
            1000.0 * size.future_points_per_spx_point
        )
        assert size.contracts * -size.dollar_delta_per_contract == pytest.approx(750.0)


def _mid_size(instrument: VixInstrument, delta_wrt_future: float = 1.0) -> float:
    sizes = size_vix_hedge(
        condor_dollar_delta=1500.0,
        hedge_ratio=0.5,
        instrument=instrument,
        spx=3937.0,
        future=22.0,
        days_to_settlement=28.0,
        delta_wrt_future=delta_wrt_future,
    )
    return sizes[1].contracts


def test_size_vix_hedge_vxm_is_a_tenth_of_vx_and_spreads_scale_with_delta():
    vx = _mid_size(VixInstrument.VX_FUTURE)
    spread = vix_call_spread(22.0, 22.0, 27.0, 28 * DAY, 0.85, 1.0)
    assert _mid_size(VixInstrument.VXM_FUTURE) == pytest.approx(10 * vx)
    assert _mid_size(VixInstrument.VIX_CALL_SPREAD, spread.delta) == pytest.approx(
        10 * vx / spread.delta
    )


def test_size_vix_hedge_rejects_non_positive_option_delta():
    with pytest.raises(ValueError, match="delta_wrt_future must be positive"):
        size_vix_hedge(
            condor_dollar_delta=1500.0,
            hedge_ratio=0.5,
            instrument=VixInstrument.VIX_CALL,
            spx=3937.0,
            future=22.0,
            days_to_settlement=7.0,
            delta_wrt_future=0.0,
        )
