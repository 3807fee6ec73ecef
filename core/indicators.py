"""Technical indicators over numpy series: EMA, MACD, Wilder RSI and MACD divergence.

Every function takes a 1-D array-like of floats (numpy array, list, pandas Series) in time order,
oldest first, and returns arrays of the same length, NaN where the indicator is still warming up.
A NaN or infinite input value is a data error, not a warm-up: it raises `ValueError` naming the
first bad index, so a gap in the data never turns silently into a bogus signal.

Conventions (the common charting ones; Murphy, Technical Analysis of the Financial Markets,
ch. 9-10; Wilder, New Concepts in Technical Trading Systems, 1978):

* **EMA** with ``alpha = 2 / (span + 1)``, seeded with the simple average of the first ``span``
  values at index ``span - 1``; NaN before. With this seed the EMA of a linear series
  ``a + b * t`` is exactly ``a + b * t - b * (span - 1) / 2`` from the seed on (the average of
  a straight line is its middle point, which is where the recursion's steady state sits).
* **MACD** line ``EMA(fast) - EMA(slow)``, signal ``EMA(line, signal)`` over the line's valid
  part (so the signal starts at index ``slow + signal - 2``), histogram ``line - signal``.
* **RSI** uses Wilder's smoothing (an EMA with ``alpha = 1 / period``) of gains and losses,
  seeded with their simple averages over the first ``period`` changes; the first value is at
  index ``period``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray
from scipy.signal import lfilter

FloatArray = NDArray[np.float64]
SignalArray = NDArray[np.int8]

__all__ = ["Macd", "divergence", "ema", "macd", "rsi_wilder"]


def _series(values: ArrayLike, name: str, *, allow_nan: bool = False) -> FloatArray:
    array = np.array(values, dtype=np.float64)  # a copy: callers' arrays are never touched
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D series, had shape {array.shape}")
    bad = np.isinf(array) if allow_nan else ~np.isfinite(array)
    if bad.any():
        index = int(np.argmax(bad))
        raise ValueError(f"{name} must be finite, was {array[index]} at index {index}")
    return array


def _recursive_mean(values: FloatArray, alpha: float, seed_count: int) -> FloatArray:
    """``y[n] = alpha * x[n] + (1 - alpha) * y[n-1]``, seeded with the mean of the first values."""
    out = np.full(values.shape, np.nan)
    if values.shape[0] < seed_count:
        return out
    seed = float(values[:seed_count].mean())
    out[seed_count - 1] = seed
    rest = values[seed_count:]
    if rest.size:
        decay = 1.0 - alpha
        filtered, _ = lfilter([alpha], [1.0, -decay], rest, zi=[decay * seed])
        out[seed_count:] = filtered
    return out


def ema(values: ArrayLike, span: int) -> FloatArray:
    """Return the exponential moving average with ``alpha = 2 / (span + 1)``.

    Seeded with the simple average of the first ``span`` values, placed at index ``span - 1``;
    the values before it are NaN (and all values are NaN when the series is shorter than
    ``span``). This is the convention of most charting packages; it differs from pandas'
    ``ewm(adjust=False)``, which seeds with the first value.

    Args:
        values: The series, oldest first.
        span: Number of periods, at least 1 (``span = 1`` returns the series itself).

    Raises:
        ValueError: If ``span < 1``, the series is not 1-D, or a value is NaN or infinite
            (naming the index).
    """
    if span < 1:
        raise ValueError(f"span must be at least 1, was {span}")
    series = _series(values, "values")
    return _recursive_mean(series, 2.0 / (span + 1.0), span)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Macd:
    """MACD line, signal line and histogram, each as long as the input (NaN while warming up).

    Attributes:
        line: ``EMA(fast) - EMA(slow)``, valid from index ``slow - 1``.
        signal: EMA of the line over ``signal`` periods, valid from ``slow + signal - 2``.
        histogram: ``line - signal``.
        fast: Fast EMA span.
        slow: Slow EMA span.
        signal_span: Signal EMA span.
    """

    line: FloatArray
    signal: FloatArray
    histogram: FloatArray
    fast: int
    slow: int
    signal_span: int

    def __len__(self) -> int:
        return int(self.line.shape[0])


def macd(values: ArrayLike, fast: int = 12, slow: int = 26, signal: int = 9) -> Macd:
    """Return Appel's MACD: the fast EMA less the slow EMA, its signal EMA and the histogram.

    Args:
        values: The series, oldest first (closes of 1- or 5-minute bars, a daily A/D line, ...).
        fast: Fast EMA span (12 by default).
        slow: Slow EMA span (26 by default); must exceed ``fast``.
        signal: Span of the signal EMA of the MACD line (9 by default).

    Raises:
        ValueError: If a span is below 1, ``fast >= slow``, or a value is NaN or infinite.
    """
    if min(fast, slow, signal) < 1:
        raise ValueError(f"spans must be at least 1, were fast={fast} slow={slow} signal={signal}")
    if fast >= slow:
        raise ValueError(f"fast span must be below slow span, was {fast} >= {slow}")
    series = _series(values, "values")
    line = _recursive_mean(series, 2.0 / (fast + 1.0), fast) - _recursive_mean(
        series, 2.0 / (slow + 1.0), slow
    )
    signal_line = np.full(series.shape, np.nan)
    start = slow - 1
    if series.shape[0] > start:
        signal_line[start:] = _recursive_mean(line[start:], 2.0 / (signal + 1.0), signal)
    for array in (line, signal_line):
        array.flags.writeable = False
    histogram = line - signal_line
    histogram.flags.writeable = False
    return Macd(
        line=line, signal=signal_line, histogram=histogram, fast=fast, slow=slow, signal_span=signal
    )


def rsi_wilder(values: ArrayLike, period: int = 14) -> FloatArray:
    """Return Wilder's relative strength index, in [0, 100].

    ``RSI = 100 * avg_gain / (avg_gain + avg_loss)`` (the same as ``100 - 100 / (1 + RS)``),
    where the averages start as the simple means of the first ``period`` gains and losses
    (changes ``1 .. period``) and then follow Wilder's smoothing,
    ``avg = (avg_prev * (period - 1) + current) / period``. The first value sits at index
    ``period``; earlier values are NaN. Only gains gives 100, only losses 0, and a series that
    does not move at all gives 50 (neither side dominates).

    Args:
        values: The series, oldest first.
        period: Wilder's period (14 by default), at least 1.

    Raises:
        ValueError: If ``period < 1``, the series is not 1-D, or a value is NaN or infinite.
    """
    if period < 1:
        raise ValueError(f"period must be at least 1, was {period}")
    series = _series(values, "values")
    out = np.full(series.shape, np.nan)
    if series.shape[0] <= period:
        return out
    change = np.diff(series)
    alpha = 1.0 / period
    avg_gain = _recursive_mean(np.maximum(change, 0.0), alpha, period)[period - 1 :]
    avg_loss = _recursive_mean(np.maximum(-change, 0.0), alpha, period)[period - 1 :]
    total = avg_gain + avg_loss
    with np.errstate(invalid="ignore", divide="ignore"):
        rsi = np.where(total > 0.0, 100.0 * (avg_gain / total), 50.0)
    out[period:] = rsi
    return out


def divergence(
    price: ArrayLike,
    oscillator: ArrayLike,
    lookback: int,
    *,
    low: ArrayLike | None = None,
    high: ArrayLike | None = None,
) -> SignalArray:
    """Flag bars where price makes a new extreme over the look-back that the oscillator denies.

    The rule is pivot-free and uses only bars up to the current one, so it can run bar by bar.
    For bar ``t`` (with ``t >= lookback``) the window is the ``lookback`` bars before it,
    ``t - lookback .. t - 1``:

    * **+1 (bullish)**: the bar's low is strictly below every low in the window (a lower low),
      and the oscillator at ``t`` is strictly above its value at the window's lowest low (the
      most recent one when several bars tie): price falls further, momentum does not confirm.
    * **-1 (bearish)**: the bar's high is strictly above every high in the window (a higher
      high), and the oscillator at ``t`` is strictly below its value at the window's highest
      high (the most recent on ties).
    * **0** otherwise: no new extreme, the oscillator confirms it, the oscillator is NaN at
      either bar (still warming up), or ``t < lookback``. If a bar is both a lower low and a
      higher high (an outside bar), the bullish test is made first.

    Args:
        price: The price series (closes, say), used for both tests unless ``low``/``high`` given.
        oscillator: The oscillator on the same bars (MACD line or histogram, RSI, ...); NaN marks
            bars where it is not yet defined.
        lookback: Bars in the window, at least 2.
        low: Bar lows for the bullish test (defaults to ``price``).
        high: Bar highs for the bearish test (defaults to ``price``).

    Returns:
        An int8 array of +1, -1 and 0, as long as ``price``.

    Raises:
        ValueError: If ``lookback < 2``, lengths differ, a price is NaN or infinite, or an
            oscillator value is infinite.
    """
    if lookback < 2:
        raise ValueError(f"lookback must be at least 2 bars, was {lookback}")
    closes = _series(price, "price")
    osc = _series(oscillator, "oscillator", allow_nan=True)
    lows = closes if low is None else _series(low, "low")
    highs = closes if high is None else _series(high, "high")
    n = closes.shape[0]
    for name, array in (("oscillator", osc), ("low", lows), ("high", highs)):
        if array.shape[0] != n:
            raise ValueError(
                f"{name} must have as many values as price ({n}), had {array.shape[0]}"
            )
    out = np.zeros(n, dtype=np.int8)
    if n <= lookback:
        return out
    t = np.arange(lookback, n)
    bullish = _unconfirmed(lows, osc, t, lookback, sign=-1.0)
    bearish = _unconfirmed(highs, osc, t, lookback, sign=1.0)
    out[t[bearish]] = -1
    out[t[bullish]] = 1
    return out


def _unconfirmed(
    extremes: FloatArray, osc: FloatArray, t: NDArray[np.intp], lookback: int, *, sign: float
) -> NDArray[np.bool_]:
    # sign=+1 looks for higher highs with a lower oscillator; sign=-1 mirrors it for lows.
    signed = sign * extremes
    windows: NDArray[Any] = sliding_window_view(signed[:-1], lookback)  # window k ends at k+L-1
    # The most recent extreme on ties: argmax over the reversed window.
    offset = lookback - 1 - np.argmax(windows[:, ::-1], axis=1)
    previous = t - lookback + offset
    new_extreme = signed[t] > windows.max(axis=1)
    with np.errstate(invalid="ignore"):
        denied = sign * osc[t] < sign * osc[previous]
    result: NDArray[np.bool_] = new_extreme & denied
    return result
