from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from core.indicators import divergence, ema, macd, rsi_wilder

# --- EMA ------------------------------------------------------------------------------------------


def test_ema_is_seeded_with_the_simple_average_and_nan_before():
    # span 3: alpha = 2 / (3 + 1) = 0.5; seed = (1 + 2 + 3) / 3 = 2 at index 2;
    # then 0.5 * 4 + 0.5 * 2 = 3 and 0.5 * 5 + 0.5 * 3 = 4.
    out = ema([1.0, 2.0, 3.0, 4.0, 5.0], 3)
    assert np.isnan(out[:2]).all()
    assert out[2:] == pytest.approx([2.0, 3.0, 4.0])


def test_ema_hand_computed_on_a_bent_series():
    # span 2: alpha = 2/3; seed = (2 + 4) / 2 = 3 at index 1;
    # 2/3 * 6 + 1/3 * 3 = 5; 2/3 * 8 + 1/3 * 5 = 7; 2/3 * 4 + 1/3 * 7 = 5.
    out = ema([2.0, 4.0, 6.0, 8.0, 4.0], 2)
    assert math.isnan(out[0])
    assert out[1:] == pytest.approx([3.0, 5.0, 7.0, 5.0], abs=1e-12)


def test_ema_of_span_one_is_the_series_itself():
    values = [3.0, 1.0, 4.0, 1.0, 5.0]
    assert ema(values, 1) == pytest.approx(values)


def test_ema_shorter_than_span_is_all_nan():
    assert np.isnan(ema([1.0, 2.0], 3)).all()
    assert ema([], 3).shape == (0,)


def test_ema_of_a_line_lags_it_by_slope_times_span_minus_one_over_two():
    t = np.arange(50.0)
    out = ema(10.0 + 0.5 * t, 9)
    # The SMA seed sits exactly on the steady state: lag 0.5 * (9 - 1) / 2 = 2 from index 8 on.
    assert out[8:] == pytest.approx(10.0 + 0.5 * t[8:] - 2.0, abs=1e-9)


def test_ema_with_nan_input_names_the_index():
    with pytest.raises(ValueError, match=r"index 3"):
        ema([1.0, 2.0, 3.0, float("nan"), 5.0], 2)


def test_ema_rejects_a_span_below_one_and_a_2d_input():
    with pytest.raises(ValueError, match="span must be at least 1, was 0"):
        ema([1.0, 2.0], 0)
    with pytest.raises(ValueError, match="1-D"):
        ema([[1.0, 2.0]], 1)


def test_ema_does_not_modify_the_callers_array():
    values = np.array([1.0, 2.0, 3.0])
    ema(values, 2)
    assert values.flags.writeable
    assert values.tolist() == [1.0, 2.0, 3.0]


# --- MACD -----------------------------------------------------------------------------------------


def test_macd_hand_computed_with_small_spans():
    # values 1, 3, 2, 6, 4; fast 2 (alpha 2/3), slow 3 (alpha 1/2), signal 2 (alpha 2/3).
    # EMA2: seed (1 + 3) / 2 = 2 @1; 2/3*2 + 1/3*2 = 2 @2; 2/3*6 + 1/3*2 = 14/3 @3;
    #       2/3*4 + 1/3*14/3 = 38/9 @4.
    # EMA3: seed (1 + 3 + 2) / 3 = 2 @2; 0.5*6 + 0.5*2 = 4 @3; 0.5*4 + 0.5*4 = 4 @4.
    # line = EMA2 - EMA3: 0 @2, 2/3 @3, 2/9 @4.
    # signal over the line from @2: seed (0 + 2/3) / 2 = 1/3 @3; 2/3*2/9 + 1/3*1/3 = 7/27 @4.
    # histogram: 2/3 - 1/3 = 1/3 @3; 2/9 - 7/27 = -1/27 @4.
    result = macd([1.0, 3.0, 2.0, 6.0, 4.0], fast=2, slow=3, signal=2)
    assert np.isnan(result.line[:2]).all()
    assert result.line[2:] == pytest.approx([0.0, 2 / 3, 2 / 9], abs=1e-12)
    assert np.isnan(result.signal[:3]).all()
    assert result.signal[3:] == pytest.approx([1 / 3, 7 / 27], abs=1e-12)
    assert result.histogram[3:] == pytest.approx([1 / 3, -1 / 27], abs=1e-12)
    assert len(result) == 5


@pytest.mark.parametrize(
    ("slope", "fast", "slow", "signal"),
    [(2.0, 12, 26, 9), (-0.75, 12, 26, 9), (0.1, 5, 35, 5), (3.0, 3, 10, 16)],
)
def test_macd_of_a_linear_series_is_slope_times_half_the_span_gap(slope, fast, slow, signal):
    # EMA(span) of a + b t is a + b t - b (span - 1) / 2, so MACD = b (slow - fast) / 2, the
    # signal of a constant is that constant, and the histogram is zero.
    values = 4000.0 + slope * np.arange(120.0)
    result = macd(values, fast, slow, signal)
    expected = slope * (slow - fast) / 2
    assert result.line[slow - 1 :] == pytest.approx(expected, abs=1e-9)
    assert np.isnan(result.line[: slow - 1]).all()
    assert result.signal[slow + signal - 2 :] == pytest.approx(expected, abs=1e-9)
    assert np.isnan(result.signal[: slow + signal - 2]).all()
    assert result.histogram[slow + signal - 2 :] == pytest.approx(0.0, abs=1e-9)


def test_macd_defaults_are_12_26_9_and_arrays_are_read_only():
    result = macd(np.linspace(1.0, 2.0, 40))
    assert (result.fast, result.slow, result.signal_span) == (12, 26, 9)
    assert not result.line.flags.writeable
    assert not result.histogram.flags.writeable


def test_macd_shorter_than_the_slow_span_is_all_nan():
    result = macd(np.arange(10.0))
    assert np.isnan(result.line).all()
    assert np.isnan(result.signal).all()


def test_macd_rejects_fast_not_below_slow():
    with pytest.raises(ValueError, match="fast span must be below slow span, was 26 >= 12"):
        macd(np.arange(50.0), fast=26, slow=12)
    with pytest.raises(ValueError, match="at least 1"):
        macd(np.arange(50.0), signal=0)


def test_macd_with_nan_input_names_the_index():
    values = np.arange(40.0)
    values[17] = np.nan
    with pytest.raises(ValueError, match="index 17"):
        macd(values)


# --- RSI ------------------------------------------------------------------------------------------


def test_rsi_hand_computed_with_wilder_smoothing():
    # values 44, 45, 44, 46, 47, 45; period 3. Changes +1, -1, +2, +1, -2.
    # Seed over changes 1..3: avg gain (1 + 0 + 2) / 3 = 1, avg loss (0 + 1 + 0) / 3 = 1/3
    #   -> RSI = 100 * 1 / (1 + 1/3) = 75 at index 3.
    # Index 4 (+1): gain (1 * 2 + 1) / 3 = 1, loss (1/3 * 2 + 0) / 3 = 2/9 -> 100 * 9/11.
    # Index 5 (-2): gain (1 * 2 + 0) / 3 = 2/3, loss (2/9 * 2 + 2) / 3 = 22/27
    #   -> 100 * (18/27) / (18/27 + 22/27) = 45.
    out = rsi_wilder([44.0, 45.0, 44.0, 46.0, 47.0, 45.0], 3)
    assert np.isnan(out[:3]).all()
    assert out[3:] == pytest.approx([75.0, 900 / 11, 45.0], abs=1e-12)


def test_rsi_first_value_on_the_stockcharts_example_series():
    # The closes of StockCharts ChartSchool's RSI worked example (14 periods). Of the first 14
    # changes the gains sum to 0.06 + 0.72 + 0.50 + 0.27 + 0.32 + 0.42 + 0.24 + 0.14 + 0.67
    # = 3.34 and the losses to 0.25 + 0.54 + 0.19 + 0.42 = 1.40, so the first RSI is
    # 100 * (3.34 / 14) / (3.34 / 14 + 1.40 / 14) = 70.464...
    # fmt: off
    closes = [44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08, 45.89, 46.03,
              45.61, 46.28, 46.28]
    # fmt: on
    out = rsi_wilder(closes)
    assert np.isnan(out[:14]).all()
    assert out[14] == pytest.approx(100 * 3.34 / (3.34 + 1.40), abs=1e-9)


def test_rsi_of_only_gains_is_100_only_losses_0_and_no_movement_50():
    assert rsi_wilder(np.arange(20.0), 14)[14:] == pytest.approx(100.0)
    assert rsi_wilder(-np.arange(20.0), 14)[14:] == pytest.approx(0.0)
    assert rsi_wilder(np.full(20, 3900.0), 14)[14:] == pytest.approx(50.0)


def test_rsi_needs_more_values_than_the_period():
    assert np.isnan(rsi_wilder(np.arange(14.0), 14)).all()
    with pytest.raises(ValueError, match="period must be at least 1, was 0"):
        rsi_wilder(np.arange(5.0), 0)


@settings(max_examples=200, deadline=None)
@given(
    values=arrays(
        np.float64,
        st.integers(min_value=0, max_value=80),
        elements=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    ),
    period=st.integers(min_value=1, max_value=20),
)
def test_rsi_is_within_0_and_100_after_the_warm_up(values, period):
    out = rsi_wilder(values, period)
    assert out.shape == values.shape
    assert np.isnan(out[: min(period, len(values))]).all()
    defined = out[period:]
    assert not np.isnan(defined).any()
    assert ((defined >= 0.0) & (defined <= 100.0)).all()


# --- divergence -----------------------------------------------------------------------------------


def test_bullish_divergence_lower_low_not_confirmed():
    # Window of the last bar (t = 6) is bars 0..5; its lowest low is 8 at bar 2 (oscillator -2).
    # Bar 6 makes a lower low (7.5 < 8) with the oscillator higher (-1.5 > -2): +1.
    price = [10.0, 9.0, 8.0, 9.0, 10.0, 9.0, 7.5]
    osc = [0.0, -1.0, -2.0, -1.0, 0.0, -1.0, -1.5]
    assert divergence(price, osc, 6).tolist() == [0, 0, 0, 0, 0, 0, 1]


def test_lower_low_confirmed_by_the_oscillator_is_no_divergence():
    price = [10.0, 9.0, 8.0, 9.0, 10.0, 9.0, 7.5]
    osc = [0.0, -1.0, -2.0, -1.0, 0.0, -1.0, -2.5]
    assert divergence(price, osc, 6).tolist() == [0] * 7


def test_bearish_divergence_higher_high_not_confirmed():
    # Mirror image: highest high 12 at bar 2 (oscillator 2); bar 6 at 12.5 with oscillator 1.5.
    price = [10.0, 11.0, 12.0, 11.0, 10.0, 11.0, 12.5]
    osc = [0.0, 1.0, 2.0, 1.0, 0.0, 1.0, 1.5]
    assert divergence(price, osc, 6).tolist() == [0, 0, 0, 0, 0, 0, -1]


def test_divergence_compares_with_the_most_recent_of_tied_extremes():
    # Lows of 8 at bars 1 and 3, oscillator -3 then -1; bar 4 at 7 with oscillator -2 is above
    # the first but below the most recent (-1): the rule uses bar 3, so no divergence.
    price = [10.0, 8.0, 9.0, 8.0, 7.0]
    osc = [0.0, -3.0, -2.0, -1.0, -2.0]
    assert divergence(price, osc, 4)[4] == 0
    osc_confirming_older = [0.0, -1.0, -2.0, -3.0, -2.0]
    assert divergence(price, osc_confirming_older, 4)[4] == 1


def test_divergence_uses_bar_lows_and_highs_when_given():
    close = [10.0, 9.0, 9.5, 9.2]
    low = [9.8, 8.5, 9.0, 8.4]  # bar 3's low undercuts bar 1's although its close does not
    osc = [0.0, -2.0, -1.0, -1.0]
    assert divergence(close, osc, 3)[3] == 0
    assert divergence(close, osc, 3, low=low)[3] == 1


def test_divergence_is_zero_while_the_oscillator_warms_up():
    price = [10.0, 9.0, 8.0, 9.0, 10.0, 9.0, 7.5]
    osc = [np.nan, np.nan, np.nan, -1.0, 0.0, -1.0, -1.5]
    assert divergence(price, osc, 6).tolist() == [0] * 7


@pytest.mark.parametrize(
    "values",
    [
        4000.0 + 0.5 * np.arange(200.0),  # rising line: MACD constant, never strictly lower
        4000.0 - 0.5 * np.arange(200.0),  # falling line
        4000.0 + 0.01 * np.arange(200.0) ** 2,  # accelerating: MACD rising with price
        4000.0 - 0.01 * np.arange(200.0) ** 2,
    ],
)
def test_no_divergence_on_a_monotone_series_against_its_own_macd(values):
    line = macd(values).line
    assert not divergence(values, line, 20).any()
    assert not divergence(values, rsi_wilder(values), 20).any()


def test_divergence_on_a_constructed_rally_that_loses_momentum():
    # Price rises fast then slowly to new highs: every new high comes with a smaller MACD.
    t = np.arange(120.0)
    price = 4000.0 + np.where(t < 60, 2.0 * t, 120.0 + 0.2 * (t - 60))
    flags = divergence(price, macd(price).line, 30)
    assert (flags[70:] == -1).all()
    assert not (flags == 1).any()


def test_divergence_validates_its_inputs():
    with pytest.raises(ValueError, match="lookback must be at least 2 bars, was 1"):
        divergence([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], 1)
    with pytest.raises(ValueError, match=r"oscillator must have as many values as price \(3\)"):
        divergence([1.0, 2.0, 3.0], [1.0, 2.0], 2)
    with pytest.raises(ValueError, match=r"price must be finite, was nan at index 1"):
        divergence([1.0, np.nan, 3.0], [1.0, 2.0, 3.0], 2)


def test_divergence_returns_int8_as_long_as_the_input():
    out = divergence([1.0, 2.0], [1.0, 2.0], 5)
    assert out.dtype == np.int8
    assert out.tolist() == [0, 0]
