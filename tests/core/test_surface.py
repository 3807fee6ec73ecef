from __future__ import annotations

import dataclasses
import math
from datetime import date, datetime, timedelta

import numpy as np
import pytest

from core.calendar import NEW_YORK, NYSE_EARLY_CLOSES, NYSE_HOLIDAYS, elapsed_seconds
from core.pricing import black76_price
from core.surface import (
    CALIBRATED,
    DENSITY_MARGIN,
    MAX_ELASTICITY,
    SECONDS_PER_YEAR,
    SPREAD_CALM_VIX,
    SPREAD_STRESS_POWER,
    SURFACE_VERSION,
    ChainRequest,
    IndexLevels,
    SmileShape,
    _clock_span,
    _wing_starts,
    clear_clock_span_cache,
    clock_span,
    clock_spans_to,
    expiry_clock,
    expiry_smile,
    model_chain,
    model_chains,
    model_iv,
    modelled_half_spread,
    smile_iv,
    smile_shape,
    spread_stress,
)
from tests.conftest import assert_same_chain, load_snapshot


def ny(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)


def years(start: datetime, end: datetime) -> float:
    return elapsed_seconds(start, end) / SECONDS_PER_YEAR


#: 2023-03-22 (FOMC) at the open, as `VolIndices.levels_at` reads the shipped files.
MARCH_22 = IndexLevels(vix=21.80, vix9d=23.12, vix3m=23.44, skew=127.46, observed="test")
#: Index sets across regimes: calm contango, the replay days, a crash, and odd combinations.
REGIMES = [
    IndexLevels(vix=12.0, vix9d=10.0, vix3m=14.5, skew=145.0),
    MARCH_22,
    IndexLevels(vix=26.19, vix9d=30.76, vix3m=28.14, skew=136.62),
    IndexLevels(vix=66.0, vix9d=83.5, vix3m=65.6, skew=118.0),
    IndexLevels(vix=9.5, vix9d=6.0, vix3m=12.0, skew=160.0),
    IndexLevels(vix=40.0, vix9d=30.0, vix3m=48.0, skew=105.0),
]


# --- variance clock -----------------------------------------------------------------------------


def test_clock_span_counts_one_gap_and_one_session_per_trading_day():
    # Friday close to Monday close: the weekend is one gap, Monday one session.
    span = clock_span(ny(2023, 3, 17, 16), ny(2023, 3, 20, 16))
    assert span.overnight == pytest.approx(1.0)
    assert span.session == pytest.approx(1.0)
    week = clock_span(ny(2023, 3, 17, 16), ny(2023, 3, 24, 16))
    assert (week.overnight, week.session) == pytest.approx((5.0, 5.0))


def test_clock_span_skips_holidays_and_stops_at_am_settlement():
    # Thu 2023-04-06 close to Mon 2023-04-10 09:30 (Good Friday closed): one gap, no session.
    span = clock_span(ny(2023, 4, 6, 16), ny(2023, 4, 10, 9, 30))
    assert (span.overnight, span.session) == pytest.approx((1.0, 0.0))


def test_intraday_profile_front_loads_the_session():
    first_half_hour = clock_span(ny(2023, 3, 22, 9, 30), ny(2023, 3, 22, 10))
    midday_half_hour = clock_span(ny(2023, 3, 22, 12, 30), ny(2023, 3, 22, 13))
    assert first_half_hour.session > 1 / 13 > midday_half_hour.session
    rest_of_day = clock_span(ny(2023, 3, 22, 10), ny(2023, 3, 22, 16))
    assert rest_of_day.session == pytest.approx(1 - first_half_hour.session)
    assert rest_of_day.overnight == 0


def test_clock_span_rejects_naive_moments():
    with pytest.raises(ValueError, match="timezone-aware"):
        clock_span(datetime(2023, 3, 22, 10), ny(2023, 3, 22, 16))  # noqa: DTZ001


# --- level and shape ------------------------------------------------------------------------------


def test_flat_indices_without_smile_give_one_flat_volatility():
    flat = IndexLevels(vix=20.0, vix9d=20.0, vix3m=20.0, skew=130.0)
    params = dataclasses.replace(CALIBRATED, smile_scale=0.0)
    # ATM variance is the swap variance times exp(atm_log_ratio) when R = 1 (no smile).
    expected = 0.20 * math.exp(params.atm_log_ratio / 2)
    strikes = np.linspace(3000.0, 5000.0, 41)
    for days in (2, 9, 30, 60):
        iv = model_iv(strikes, 4000.0, days / 365, flat, params)
        np.testing.assert_allclose(iv, expected, rtol=1e-9)


def test_smile_is_skewed_to_puts_and_flatter_for_short_expiries():
    qt = ny(2023, 3, 22, 10)
    iv_0dte = model_iv(
        [3800.0, 4000.0, 4200.0], 4000.0, years(qt, ny(2023, 3, 22, 16)), MARCH_22, quote_time=qt
    )
    t_30 = years(qt, ny(2023, 4, 21, 16))
    iv_30 = model_iv([3800.0, 4000.0, 4200.0], 4000.0, t_30, MARCH_22, quote_time=qt)
    assert iv_30[0] > iv_30[1] > iv_30[2]
    # Skew per ATM standard deviation: steeper a month out than on the day.
    sd_0 = iv_0dte[1] * math.sqrt(years(qt, ny(2023, 3, 22, 16)))
    sd_30 = iv_30[1] * math.sqrt(t_30)
    z_0 = math.log(3900 / 4000) / sd_0
    z_30 = math.log(3900 / 4000) / sd_30
    slope_0 = (
        model_iv([3900.0], 4000.0, years(qt, ny(2023, 3, 22, 16)), MARCH_22, quote_time=qt)[0]
        / iv_0dte[1]
        - 1
    ) / -z_0
    slope_30 = (model_iv([3900.0], 4000.0, t_30, MARCH_22, quote_time=qt)[0] / iv_30[1] - 1) / -z_30
    assert 0 < slope_0 < slope_30


def test_trading_clock_prices_a_weekend_below_the_calendar_clock():
    friday_close = ny(2023, 3, 17, 16, 15)
    t_monday = years(friday_close, ny(2023, 3, 20, 16))
    trading = model_iv([4000.0], 4000.0, t_monday, MARCH_22, quote_time=friday_close)[0]
    calendar = model_iv([4000.0], 4000.0, t_monday, MARCH_22)[0]
    assert trading < 0.9 * calendar


def test_expired_expiry_has_no_iv():
    assert np.isnan(model_iv([4000.0], 4000.0, 0.0, MARCH_22)).all()


def test_bad_inputs_raise_with_the_value():
    with pytest.raises(ValueError, match="vix9d must be a positive number, was -1"):
        IndexLevels(vix=20.0, vix9d=-1.0, vix3m=20.0, skew=130.0)
    with pytest.raises(ValueError, match="overnight_share"):
        dataclasses.replace(CALIBRATED, overnight_share=1.5)
    with pytest.raises(ValueError, match="smile_term_power"):
        dataclasses.replace(CALIBRATED, smile_term_power=0.9)
    with pytest.raises(ValueError, match="forward must be a positive number"):
        model_iv([4000.0], 0.0, 0.1, MARCH_22)


# --- no arbitrage ---------------------------------------------------------------------------------


def expiries_after(qt: datetime, days: int) -> list[tuple[datetime, float]]:
    out = []
    for d in range(days + 1):
        day = qt.date() + timedelta(days=d)
        settle = ny(day.year, day.month, day.day, 16)
        if day.weekday() < 5 and settle > qt:
            out.append((settle, years(qt, settle)))
    return out


@pytest.mark.parametrize("levels", REGIMES)
@pytest.mark.parametrize("qt", [ny(2023, 3, 22, 10), ny(2023, 3, 24, 15, 30)])
def test_call_prices_fall_and_are_convex_in_strike(levels, qt):
    strikes = np.arange(2000.0, 6000.0, 1.0)
    for _, t in expiries_after(qt, 45)[::3]:
        iv = model_iv(strikes, 4000.0, t, levels, quote_time=qt)
        price = black76_price(True, 4000.0, strikes, t, 0.0, iv)
        assert np.all(np.diff(price) <= 1e-12)
        assert np.all(np.diff(price, 2) >= -1e-12)


@pytest.mark.parametrize("levels", REGIMES)
@pytest.mark.parametrize("qt", [ny(2023, 3, 22, 10), ny(2023, 3, 24, 15, 30)])
def test_total_variance_rises_with_maturity_at_every_strike(levels, qt):
    prev = None
    for _, t in expiries_after(qt, 45):
        clock = expiry_clock(qt, t)
        # The strikes a modelled chain lists for this expiry (z from -10 to 6).
        k = np.linspace(-10.0, 6.0, 161) * math.sqrt(expiry_smile(clock, levels, CALIBRATED).w_atm)
        if prev is not None:
            w_now = smile_iv(k, clock, levels, CALIBRATED) ** 2 * t
            w_before = smile_iv(k, prev[0], levels, CALIBRATED) ** 2 * prev[1]
            assert np.all(w_now >= w_before * (1 - 1e-12))
        prev = (clock, t)


def test_modelled_chain_mids_fall_with_strike():
    qt = ny(2023, 3, 22, 10)
    chain = model_chain(
        4002.0, qt, [("SPXW", date(2023, 3, 22))], MARCH_22, rate=0.045, dividend_yield=0.016
    )
    s = chain.expiry_slice("SPXW", date(2023, 3, 22))
    assert np.all(np.diff((s.call_bid + s.call_ask) / 2) <= 0)
    assert np.all(np.diff((s.put_bid + s.put_ask) / 2) >= 0)


# --- modelled chains ------------------------------------------------------------------------------


def test_model_chain_is_labelled_modelled():
    qt = ny(2023, 3, 22, 10)
    expiries = [
        ("SPXW", date(2023, 3, 22)),
        ("SPXW", date(2023, 3, 24)),
        ("SPX", date(2023, 4, 21)),
    ]
    chain = model_chain(4002.0, qt, expiries, MARCH_22, rate=0.045, dividend_yield=0.016)
    assert chain.modelled
    assert chain.modelled[0] == f"modelled chain: IVs from test via core.surface {SURFACE_VERSION}"
    assert any("rate 0.0450" in m and "dividend yield 0.0160" in m for m in chain.modelled)
    assert "modelled chain" in chain.source
    assert chain.expiries() == (
        ("SPXW", date(2023, 3, 22)),
        ("SPXW", date(2023, 3, 24)),
        ("SPX", date(2023, 4, 21)),
    )
    assert np.isnan(chain.cboe_iv).all()
    assert np.all(chain.bid >= 0)
    assert np.all(chain.ask > chain.bid)


def test_model_chain_quotes_reprice_the_model_iv_near_the_money():
    qt = ny(2023, 3, 22, 10)
    expiry = date(2023, 3, 22)
    chain = model_chain(4002.0, qt, [("SPXW", expiry)], MARCH_22, rate=0.045, dividend_yield=0.016)
    terms = chain.terms_for("SPXW", expiry)
    s = chain.expiry_slice("SPXW", expiry)
    near = np.abs(s.strikes - terms.forward) <= 40
    model = model_iv(s.strikes[near], terms.forward, terms.t_years, MARCH_22, quote_time=qt)
    # Quotes are rounded to the tick: a nickel on a 0DTE vega of ~0.25 per point is 0.002.
    np.testing.assert_allclose(s.call_iv[near], model, atol=0.005)
    assert abs(terms.forward - 4002.0 * math.exp(0.029 * terms.t_years)) < 0.5


def test_model_chain_spans_the_strikes_on_the_step():
    qt = ny(2023, 3, 22, 10)
    chain = model_chain(
        4002.0,
        qt,
        [("SPXW", date(2023, 3, 24))],
        MARCH_22,
        rate=0.045,
        dividend_yield=0.016,
        strikes_step=10.0,
    )
    strikes = chain.expiry_slice("SPXW", date(2023, 3, 24)).strikes
    assert np.all(np.diff(strikes) == 10.0)
    assert strikes[0] < 3800
    assert strikes[-1] > 4100


def test_model_chain_rejects_a_settled_expiry_and_naive_time():
    with pytest.raises(ValueError, match="not after the quote time"):
        model_chain(
            4002.0,
            ny(2023, 3, 22, 16, 5),
            [("SPXW", date(2023, 3, 22))],
            MARCH_22,
            rate=0.045,
            dividend_yield=0.016,
        )
    with pytest.raises(ValueError, match="timezone-aware"):
        model_chain(
            4002.0,
            datetime(2023, 3, 22, 10),  # noqa: DTZ001
            [("SPXW", date(2023, 3, 22))],
            MARCH_22,
            rate=0.045,
            dividend_yield=0.016,
        )
    with pytest.raises(ValueError, match="at least one"):
        model_chain(4002.0, ny(2023, 3, 22, 10), [], MARCH_22, rate=0.045, dividend_yield=0.016)


def test_half_spread_follows_the_snapshot_medians():
    half = modelled_half_spread(np.array([0.0, 0.75, 3.5, 15.0, 35.0, 75.0]))
    np.testing.assert_allclose(half, [0.025, 0.05, 0.10, 0.20, 0.30, 0.45], atol=0.02)


def test_spread_stress_is_one_in_a_calm_market_and_a_power_of_the_vix_above_it():
    # What the tests below assume:
    assert SPREAD_CALM_VIX == 27.0
    assert SPREAD_STRESS_POWER == 1.9
    for vix in (0.0, -5.0, math.nan, math.inf, 9.0, 20.0, 26.99, 27.0):
        assert spread_stress(vix) == 1.0, vix
    assert spread_stress(54.0) == pytest.approx(2.0**1.9, rel=1e-15)
    assert spread_stress(66.0) == pytest.approx((66.0 / 27.0) ** 1.9, rel=1e-15)
    assert spread_stress(27.0 + 1e-9) == pytest.approx(1.0, abs=1e-9)  # continuous at the knee
    levels = np.linspace(27.0, 90.0, 200)
    assert np.all(np.diff([spread_stress(float(v)) for v in levels]) > 0)


def test_a_stressed_model_chain_says_its_quotes_were_widened():
    # (How much wider: `test_model_chain_quotes_are_the_tick_rounded_model_prices_to_the_bit`.)
    qt = ny(2023, 3, 22, 10)
    expiries = [("SPXW", date(2023, 3, 24))]
    calm_levels = dataclasses.replace(REGIMES[5], vix=26.0)
    calm = model_chain(4002.0, qt, expiries, calm_levels, rate=0.045, dividend_yield=0.016)
    stressed = model_chain(4002.0, qt, expiries, REGIMES[5], rate=0.045, dividend_yield=0.016)
    assert not any("stress" in line for line in calm.modelled)
    note = next(line for line in stressed.modelled if "modelled quotes" in line)
    assert (
        f"widened {(40 / 27) ** 1.9:.2f} times for stress (VIX 40 above 27: (VIX / 27) ** 1.9)"
        in note
    )


def test_a_chain_whose_spot_is_modelled_says_so_and_is_otherwise_the_same_chain():
    qt = ny(2023, 3, 22, 10)
    request = ChainRequest(
        spot=4002.0,
        quote_time=qt,
        expiries=(("SPXW", date(2023, 3, 24)),),
        indices=REGIMES[5],
        rate=0.045,
        dividend_yield=0.016,
    )
    printed, modelled = model_chains(
        [request, dataclasses.replace(request, spot_modelled="at 10:00 ET is a modelled point")]
    )
    assert not any(line.startswith("modelled spot") for line in printed.modelled)
    assert modelled.modelled == (
        *printed.modelled,
        "modelled spot: SPX 4002.00 at 10:00 ET is a modelled point",
    )
    np.testing.assert_array_equal(modelled.bid, printed.bid)
    np.testing.assert_array_equal(modelled.iv, printed.iv)
    assert modelled.source == printed.source


# --- against a real snapshot ----------------------------------------------------------------------


@pytest.mark.parametrize(("low", "high"), [(0.5, 2.0), (2.0, 5.0), (5.0, 10.0), (10.0, 20.0)])
def test_modelled_half_spreads_match_the_real_0dte_chain_where_a_tested_leg_trades(low, high):
    # The one regular-session 0DTE chain (2022-03-23 10:11, VIX 23): what closing a leg worth
    # `low`-`high` points costs, real against modelled, within a quarter either way. A leg sold
    # at 1.00 that has risen to 10 costs about 0.15 a side to buy back, not its entry 0.05.
    chain = load_snapshot("spx_cboe_2022-03-23_intraday_1011ET.csv.gz")
    mid = (chain.bid + chain.ask) / 2
    rows = (
        (chain.expiry == np.datetime64("2022-03-23"))
        & (chain.bid > 0)
        & (chain.ask > chain.bid)
        & (mid >= low)
        & (mid < high)
    )
    assert rows.sum() >= 5
    real = float(np.median((chain.ask - chain.bid)[rows] / 2))
    modelled = float(np.median(modelled_half_spread(mid[rows])))
    assert 0.8 < real / modelled < 1.25, (real, modelled)


#: In-sample p95 of |model IV - mid IV| on spx_cboe_2024-01-05_close (OTM, bid >= 0.50, 0-45 days)
#: in bench/surface_calibration.py, rounded up: every expiry's ATM IV should be within it.
ATM_TOLERANCE_2024_01_05 = 0.025


def test_model_reproduces_the_atm_ivs_of_a_real_snapshot():
    chain = load_snapshot("spx_cboe_2024-01-05_close.csv.gz")
    # The shipped index closes of 2024-01-05.
    levels = IndexLevels(vix=13.35, vix9d=11.71, vix3m=15.51, skew=132.68)
    checked = 0
    for terms in chain.terms:
        if terms.expired or (terms.expiry - date(2024, 1, 5)).days > 45:
            continue
        s = chain.expiry_slice(terms.root, terms.expiry)
        otm_iv = np.where(s.strikes > terms.forward, s.call_iv, s.put_iv)
        ok = np.isfinite(otm_iv)
        atm = float(np.interp(terms.forward, s.strikes[ok], otm_iv[ok]))
        model = model_iv(
            [terms.forward], terms.forward, terms.t_years, levels, quote_time=chain.quote_time
        )[0]
        assert abs(model - atm) <= ATM_TOLERANCE_2024_01_05, (terms.expiry, model, atm)
        checked += 1
    assert checked >= 25


def test_clock_span_counting_whole_days_matches_the_day_by_day_walk_to_the_bit():
    # The NYSE clock counts the whole days between the first and the last instead of walking
    # them; a walk over every day must give the very same floats (random spans, 2007-2027,
    # across holidays, 13:00 closes, weekends and nights).
    rng = np.random.default_rng(20261127)
    base = datetime(2007, 1, 2, tzinfo=NEW_YORK)
    for _ in range(3000):
        start = base + timedelta(minutes=int(rng.integers(0, 20 * 365 * 24 * 60)))
        end = start + timedelta(minutes=int(rng.integers(1, 120 * 24 * 60)))
        clear_clock_span_cache()
        fast = clock_span(start, end)
        walked = _clock_span(start, end, NYSE_HOLIDAYS, NYSE_EARLY_CLOSES)
        assert (fast.overnight, fast.session) == (walked.overnight, walked.session), (start, end)


def test_clock_spans_to_one_end_match_each_span_to_rounding():
    # The screen's clocks for many starts at once: bars inside sessions, at the open and the
    # close, before the open, at night and on weekends, to ends the same day or weeks later
    # (random, 2007-2027); each agrees with `clock_span` to rounding.
    rng = np.random.default_rng(20261128)
    base = datetime(2007, 1, 2, tzinfo=NEW_YORK)
    for _ in range(300):
        end = base + timedelta(minutes=int(rng.integers(0, 20 * 365 * 24 * 60)))
        back = rng.integers(0, [8 * 60, 60 * 24 * 60][int(rng.integers(0, 2))], size=40)
        starts = [end - timedelta(minutes=int(m)) for m in back]
        overnight, session = clock_spans_to(starts, end)
        # A caller's own stamps give the same clocks.
        given = clock_spans_to(starts, end, stamps=np.array([s.timestamp() for s in starts]))
        assert given[0].tolist() == overnight.tolist()
        assert given[1].tolist() == session.tolist()
        for i, start in enumerate(starts):
            span = clock_span(start, end)
            assert overnight[i] == pytest.approx(span.overnight, rel=1e-13, abs=1e-13)
            assert session[i] == pytest.approx(span.session, rel=1e-13, abs=1e-13)


def test_clock_spans_to_rejects_naive_moments():
    with pytest.raises(ValueError, match="timezone-aware"):
        clock_spans_to([datetime(2024, 1, 5, 10, 0)], ny(2024, 1, 5, 16))  # noqa: DTZ001
    with pytest.raises(ValueError, match="timezone-aware"):
        clock_spans_to([ny(2024, 1, 5, 10)], datetime(2024, 1, 5, 16, 0))  # noqa: DTZ001
    with pytest.raises(ValueError, match=r"one value per start \(1\), had shape \(2,\)"):
        clock_spans_to([ny(2024, 1, 5, 10)], ny(2024, 1, 5, 16), stamps=np.zeros(2))


def _wing_starts_side_by_side(shape: SmileShape, scale: float, w_atm: float) -> tuple[float, float]:
    # `_wing_starts` as first written: each side on its own grid, every term from scratch.
    b, rho, s = shape.b, shape.rho, shape.s
    lam2 = scale * scale
    ends = []
    for grid in (-np.linspace(0.0, 40.0, 801), np.linspace(0.0, 40.0, 801)):
        root = np.sqrt(grid * grid + s * s)
        v = 1.0 + b * (rho * grid + root - s)
        slope = b * (rho + grid / root)
        curvature = b * s * s / root**3
        safe_v = np.maximum(v, 1e-12)
        elasticity = grid * slope / safe_v
        core_room = (
            (1.0 - elasticity / 2.0) ** 2
            + lam2 * (curvature / 2.0 - slope * slope * (1.0 / (4.0 * safe_v) + w_atm / 16.0))
            - DENSITY_MARGIN
        )
        alpha = v - slope * grid
        beta2 = lam2 * slope * slope
        qa = 1.0 - 4.0 * DENSITY_MARGIN - w_atm * beta2 / 4.0
        qb = 2.0 * alpha - beta2
        vertex = -qb / (2.0 * qa)
        at_start = qa * safe_v**2 + qb * safe_v + alpha**2
        at_vertex = alpha**2 - qb * qb / (4.0 * qa)
        wing_room = np.where(qa > 0, np.where(vertex > safe_v, at_vertex, at_start), -1.0)
        room = np.minimum.reduce(
            [core_room, wing_room / (4.0 * safe_v**2), MAX_ELASTICITY - elasticity]
        )
        room = np.where(v > 0, room, -1.0)
        hits = np.flatnonzero(room < 0)
        if not hits.size:
            ends.append(float(grid[-1]))
            continue
        i = int(hits[0])
        if i == 0:
            ends.append(0.0)
            continue
        frac = float(room[i - 1] / (room[i - 1] - room[i]))
        ends.append(float(grid[i - 1] + frac * (grid[i] - grid[i - 1])))
    return ends[0], ends[1]


def test_wing_starts_sharing_the_day_shape_match_the_side_by_side_formula_to_the_bit():
    # The wing search evaluates both sides in one pass and keeps the shape-only terms for the
    # day's other expiries; the ends must be the plain formula's floats, whatever the shape.
    rng = np.random.default_rng(20261127)
    shapes = [smile_shape(levels, CALIBRATED) for levels in REGIMES]
    shapes += [
        SmileShape(
            float(np.exp(rng.uniform(-3.0, 2.0))),
            float(np.tanh(rng.uniform(-2.0, 2.0))),
            float(np.exp(rng.uniform(-3.0, 3.0))),
        )
        for _ in range(300)
    ]
    for shape in shapes:
        for _ in range(3):  # several expiries of one day: the shared terms are reused
            scale = float(rng.uniform(0.0, 1.0))
            w_atm = float(np.exp(rng.uniform(-12.0, 0.0)))
            fast = _wing_starts(shape, scale, w_atm)
            plain = _wing_starts_side_by_side(shape, scale, w_atm)
            assert fast == plain, (shape, scale, w_atm)
            assert [math.copysign(1.0, e) for e in fast] == [math.copysign(1.0, e) for e in plain]


@pytest.mark.parametrize("indices", [MARCH_22, REGIMES[3], REGIMES[5]], ids=["calm", "66", "40"])
def test_model_chain_quotes_are_the_tick_rounded_model_prices_to_the_bit(
    indices: IndexLevels,
) -> None:
    # Each expiry's smile is built once; the quotes must still be exactly what `smile_iv` and
    # `black76_price` give for the expiry's clock, forward and strikes, with the calm half
    # spread widened by the VIX's stress factor (exactly 1 in a calm market).
    qt = ny(2023, 3, 22, 10)
    expiries = [
        ("SPXW", date(2023, 3, 22)),
        ("SPXW", date(2023, 3, 24)),
        ("SPX", date(2023, 4, 21)),
    ]
    rate, dividend_yield = 0.045, 0.016
    chain = model_chain(4002.0, qt, expiries, indices, rate=rate, dividend_yield=dividend_yield)
    for root, expiry in expiries:
        terms = chain.terms_for(root, expiry)
        s = chain.expiry_slice(root, expiry)
        t = terms.t_years
        forward = 4002.0 * math.exp((rate - dividend_yield) * t)
        iv = smile_iv(np.log(s.strikes / forward), expiry_clock(qt, t), indices, CALIBRATED)
        for is_call, bid, ask in ((False, s.put_bid, s.put_ask), (True, s.call_bid, s.call_ask)):
            mid = black76_price(is_call, forward, s.strikes, t, rate, iv)
            half = modelled_half_spread(mid) * spread_stress(indices.vix)

            def tick_rounded(price: np.ndarray) -> np.ndarray:
                tick = np.where(price >= 3.0, 0.10, 0.05)
                return np.round(np.round(price / tick) * tick, 2)

            expected_bid = np.maximum(tick_rounded(mid - half), 0.0)
            tick = np.where(expected_bid >= 3.0, 0.10, 0.05)
            expected_ask = np.round(np.maximum(tick_rounded(mid + half), expected_bid + tick), 2)
            np.testing.assert_array_equal(bid, expected_bid)
            np.testing.assert_array_equal(ask, expected_ask)


def test_chains_modelled_together_are_each_the_chain_modelled_alone():
    # Days, regimes and expiry lists of different sizes in one pass: every chain must be
    # exactly `model_chain`'s, bit for bit, and in the order asked.
    asks = [
        (4002.0, ny(2023, 3, 22, 10), [("SPXW", date(2023, 3, 22))], MARCH_22),
        (
            3990.5,
            ny(2023, 3, 23, 15, 45),
            [("SPXW", date(2023, 3, 24)), ("SPXW", date(2023, 3, 27)), ("SPX", date(2023, 4, 21))],
            REGIMES[0],
        ),
        (2450.0, ny(2020, 3, 16, 10), [("SPXW", date(2020, 3, 16))], REGIMES[3]),
        (5800.0, ny(2024, 11, 29, 10), [("SPXW", date(2024, 11, 29))], REGIMES[4]),
    ]
    requests = [
        ChainRequest(
            spot=spot,
            quote_time=qt,
            expiries=tuple(expiries),
            indices=levels,
            rate=0.045,
            dividend_yield=0.016,
        )
        for spot, qt, expiries, levels in asks
    ]
    together = model_chains(requests)
    assert [c.spot for c in together] == [spot for spot, *_ in asks]
    for (spot, qt, expiries, levels), chain in zip(asks, together, strict=True):
        alone = model_chain(spot, qt, expiries, levels, rate=0.045, dividend_yield=0.016)
        assert_same_chain(chain, alone)
    assert model_chains([]) == []


def test_chains_modelled_together_refuse_the_first_bad_request_with_its_reason():
    good = ChainRequest(
        spot=4002.0,
        quote_time=ny(2023, 3, 22, 10),
        expiries=(("SPXW", date(2023, 3, 22)),),
        indices=MARCH_22,
        rate=0.045,
        dividend_yield=0.016,
    )
    settled = dataclasses.replace(good, quote_time=ny(2023, 3, 22, 16, 30))
    with pytest.raises(ValueError, match="SPXW 2023-03-22 settles at 2023-03-22 16:00 ET"):
        model_chains([good, settled])


def test_a_friday_chain_before_a_clock_change_counts_the_hours_that_elapse():
    # 15:45 Friday to 16:00 Monday: 71.25 hours in March, 73.25 in November; Python's
    # subtraction of two New York moments says 72.25 for both.
    levels = IndexLevels(vix=18.0, vix9d=17.0, vix3m=19.5, skew=135.0)
    for friday, monday, hours in (
        (date(2025, 3, 7), date(2025, 3, 10), 71.25),
        (date(2025, 10, 31), date(2025, 11, 3), 73.25),
    ):
        qt = ny(friday.year, friday.month, friday.day, 15, 45)
        chain = model_chain(
            5700.0, qt, [("SPXW", monday)], levels, rate=0.045, dividend_yield=0.016
        )
        t = chain.terms_for("SPXW", monday).t_years
        assert t == hours * 3600 / SECONDS_PER_YEAR
        # The model's clock for that many years runs to Monday's close, not an hour either side.
        settles = ny(monday.year, monday.month, monday.day, 16)
        assert expiry_clock(qt, t).span == clock_span(qt, settles)
        assert expiry_clock(qt, t).span != clock_span(qt, settles - timedelta(hours=1))
