"""Vectorised Black-Scholes-Merton and Black-76: price, implied volatility and greeks.

Every function takes array-likes that broadcast together (NumPy rules) and returns arrays of the
broadcast shape; one call prices a whole option chain without a Python loop per row. Rates,
dividend yields and volatilities are fractions, continuously compounded; times are in years.

Greeks use vollib's units, so vollib can serve as the test oracle:

* ``delta``: per point of the underlying (spot for BSM, forward for Black-76);
* ``gamma``: delta change per point of the underlying;
* ``theta_per_day``: the calendar-time derivative divided by 365 (price change per day);
* ``vega_per_vol_point``: per 1 volatility point (0.01 of ``iv``);
* ``rho``: per 1 percentage point (0.01) of ``rate``. For Black-76 the forward is held fixed,
  so rho is ``-t * price / 100``.

Implied volatility follows Jäckel's "Let's Be Rational" (2015), vectorised. In normalised
coordinates ``x = ln(F/K)``, ``s = iv * sqrt(t)``, ``beta = time value / sqrt(F*K)``, an
in-the-money option is mapped to the out-of-the-money option at the same strike (put-call
parity gives both the same time value). A rational-cubic initial guess in each of four branches
is refined by third-order Householder steps on Jäckel's transformed objectives, inside a bracket
per element with bisection as the fallback, until a step is below 1e-6 of ``s`` (two steps,
typically). Prices in the wings use Jäckel's cancellation-free forms, so the volatility is as
accurate as the price allows. Nothing raises for out-of-range values: the volatility is NaN and
`ImpliedVol.reason` says why.

References:
    Black, F. and Scholes, M. (1973). The Pricing of Options and Corporate Liabilities.
    Merton, R. C. (1973). Theory of Rational Option Pricing.
    Black, F. (1976). The Pricing of Commodity Contracts. Journal of Financial Economics 3.
    Hull, J. C. Options, Futures, and Other Derivatives, ch. 15 (BSM), 17 (dividend yield),
    18 (Black's model for futures options), 19 (greeks).
    Jäckel, P. (2015). Let's Be Rational. Wilmott 2015(75), 40-53.
    Delbourgo, R. and Gregory, J. A. (1985). Shape Preserving Piecewise Rational Interpolation.
    SIAM J. Sci. Stat. Comput. 6(4).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import erfcx, ndtr, ndtri

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_EPS: Final = float(np.finfo(np.float64).eps)
_INV_SQRT_2PI: Final = 1.0 / math.sqrt(2.0 * math.pi)
_INV_SQRT_2: Final = 1.0 / math.sqrt(2.0)
_SQRT_3: Final = math.sqrt(3.0)
_TWO_PI_OVER_SQRT_27: Final = 2.0 * math.pi / math.sqrt(27.0)
_DBL_MIN: Final = float(np.finfo(np.float64).tiny)
_DBL_MAX: Final = float(np.finfo(np.float64).max)
_SQRT_DBL_MAX: Final = math.sqrt(_DBL_MAX)
# Bounds of the rational cubic control parameter (Jäckel 2015): above _R_MAX it is linear.
_R_MIN: Final = -(1.0 - math.sqrt(_EPS))
_R_MAX: Final = 2.0 / (_EPS * _EPS)
# Above this d1, b is dominated by its first term and N() is accurate (Jäckel 2015, region 3).
_NEAR_MAX_D1: Final = 0.85
# Regions of Jäckel's (2015) normalised Black: the small-t expansion holds for t = s/2 below
# 2 * eps**(1/16); beyond h = x/s < -10 its leading coefficient loses precision.
_SMALL_T: Final = 2.0 * _EPS ** (1.0 / 16.0)
_FAR_WING_H: Final = -10.0
_SQRT_HALF_PI: Final = math.sqrt(0.5 * math.pi)
# Coefficients of the small-t series (Jäckel 2015, _small_t_expansion_of_normalized_black_call):
# column k holds A_k (resp. B_k) in powers 0..6 of h^2, for the terms t^2 .. t^12.
_SERIES_A: Final = np.array(
    [
        [-1, -7, -57, -561, -6555, -89055],
        [0, -1, -18, -285, -4680, -82845],
        [0, 0, -1, -33, -840, -20370],
        [0, 0, 0, -1, -52, -1926],
        [0, 0, 0, 0, -1, -75],
        [0, 0, 0, 0, 0, -1],
        [0, 0, 0, 0, 0, 0],
    ],
    dtype=np.float64,
)
_SERIES_B: Final = np.array(
    [
        [3, 15, 105, 945, 10395, 135135],
        [1, 10, 105, 1260, 17325, 270270],
        [0, 1, 21, 378, 6930, 135135],
        [0, 0, 1, 36, 990, 25740],
        [0, 0, 0, 1, 55, 2145],
        [0, 0, 0, 0, 1, 78],
        [0, 0, 0, 0, 0, 1],
    ],
    dtype=np.float64,
)
_SERIES_DENOMINATORS: Final = np.array([6.0, 120.0, 5040.0, 362880.0, 39916800.0, 6227020800.0])
_DAYS_PER_YEAR: Final = 365.0  # vollib's theta convention (calendar days)
_PER_POINT: Final = 0.01  # vega and rho per 1 point (0.01) of vol / rate, as vollib
# Normalised prices below this cannot be inverted to full precision (the Black price underflows).
_BETA_MIN: Final = 1e-300
# Iteration stops once a step moves s by less than this fraction. Householder(3) converges with
# order four, so the step just taken leaves an error of order (1e-6)^4 = 1e-24 relative: far
# below double precision. (Tests check the result to 1e-12 against vollib and by round trip.)
_STEP_RTOL: Final = 1e-6
_MAX_ITERATIONS: Final = 64


class IVReason(IntEnum):
    """Why an implied volatility is NaN; `OK` when it was solved.

    Use `describe` for a sentence a person can read.
    """

    #: Solved; the volatility reproduces the price to double precision.
    OK = 0
    #: The price is below the (discounted) intrinsic value: no volatility can produce it.
    BELOW_INTRINSIC = 1
    #: A bid was given and it is zero or negative: the quote is not a two-sided market.
    NO_BID = 2
    #: No time is left to expiry (``t_years <= 0``).
    EXPIRED = 3
    #: The price equals the intrinsic value (within rounding): no time value to invert.
    NO_TIME_VALUE = 4
    #: The price is at or above (within rounding of) the no-arbitrage maximum: DF*F for calls,
    #: DF*K for puts.
    ABOVE_MAX = 5
    #: An input is NaN or infinite, or a price, spot, forward or strike is not positive.
    BAD_INPUT = 6
    #: The solver did not reach full precision within its iteration budget.
    NO_CONVERGENCE = 7

    def describe(self) -> str:
        """Return a sentence explaining this reason to a person."""
        return IV_REASON_TEXT[self]


#: A human sentence per `IVReason`.
IV_REASON_TEXT: Final[dict[IVReason, str]] = {
    IVReason.OK: "implied volatility solved",
    IVReason.BELOW_INTRINSIC: "price is below intrinsic value, so no volatility fits",
    IVReason.NO_BID: "bid is zero, so the quote is not a two-sided market",
    IVReason.EXPIRED: "option has no time left to expiry",
    IVReason.NO_TIME_VALUE: "price equals intrinsic value, so no volatility is implied",
    IVReason.ABOVE_MAX: "price is at or above the no-arbitrage maximum (DF*F call, DF*K put)",
    IVReason.BAD_INPUT: "an input is missing, infinite or not positive",
    IVReason.NO_CONVERGENCE: "the volatility solver did not converge",
}


@dataclass(frozen=True, slots=True)
class ImpliedVol:
    """Implied volatilities with, per element, the reason a value is missing.

    Attributes:
        iv: Annualised implied volatility as a fraction; NaN where ``reason != IVReason.OK``.
        reason: `IVReason` values as ``int8``.
    """

    iv: FloatArray
    reason: NDArray[np.int8]


@dataclass(frozen=True, slots=True)
class Greeks:
    """Option sensitivities in vollib's units (see the module docstring).

    Attributes:
        delta: Price change per point of the underlying.
        gamma: Delta change per point of the underlying.
        theta_per_day: Price change per calendar day (annual theta / 365).
        vega_per_vol_point: Price change per volatility point (vega / 100).
        rho: Price change per percentage point of the rate (rho / 100).
    """

    delta: FloatArray
    gamma: FloatArray
    theta_per_day: FloatArray
    vega_per_vol_point: FloatArray
    rho: FloatArray


# ---------------------------------------------------------------------------------------------
# Public API


def bsm_price(
    is_call: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    t_years: ArrayLike,
    rate: ArrayLike,
    div_yield: ArrayLike,
    iv: ArrayLike,
) -> FloatArray:
    """Price European options with Black-Scholes-Merton (continuous dividend yield).

    Computed as the discounted Black price of the forward ``F = S * exp((rate - div_yield) * t)``
    (Hull, ch. 17): in the money as intrinsic value plus the out-of-the-money time value, which
    keeps deep in-the-money prices accurate.

    Args:
        is_call: True for calls, False for puts (bool or bool array).
        spot: Underlying price.
        strike: Strike price.
        t_years: Time to expiry in years; at 0 the price is the intrinsic value.
        rate: Risk-free rate, continuously compounded, as a fraction.
        div_yield: Dividend yield, continuously compounded, as a fraction.
        iv: Volatility as a fraction.

    Returns:
        Prices in the units of ``spot``; NaN where an input is non-finite or out of its domain
        (spot or strike not positive, negative time or volatility).

    Raises:
        TypeError: If ``is_call`` is not boolean.
        ValueError: If the arguments do not broadcast together.
    """
    call, (s0, k, t, r, q, vol) = _broadcast(
        is_call, spot=spot, strike=strike, t_years=t_years, rate=rate, div_yield=div_yield, iv=iv
    )
    with np.errstate(all="ignore"):
        forward = s0 * np.exp((r - q) * t)
        price = _black_price(call, forward, k, t, np.exp(-r * t), vol)
    ok = _finite(s0, k, t, r, q, vol) & (s0 > 0) & (k > 0) & (t >= 0) & (vol >= 0)
    return np.where(ok, price, np.nan)


def black76_price(
    is_call: ArrayLike,
    forward: ArrayLike,
    strike: ArrayLike,
    t_years: ArrayLike,
    rate: ArrayLike,
    iv: ArrayLike,
) -> FloatArray:
    """Price European options on a forward with Black (1976), discounted with ``exp(-rate * t)``.

    Args:
        is_call: True for calls, False for puts (bool or bool array).
        forward: Forward (or futures) price for the option's expiry.
        strike: Strike price.
        t_years: Time to expiry in years; at 0 the price is the intrinsic value.
        rate: Discount rate, continuously compounded, as a fraction.
        iv: Volatility as a fraction.

    Returns:
        Prices; NaN where an input is non-finite or out of its domain.

    Raises:
        TypeError: If ``is_call`` is not boolean.
        ValueError: If the arguments do not broadcast together.
    """
    call, (f, k, t, r, vol) = _broadcast(
        is_call, forward=forward, strike=strike, t_years=t_years, rate=rate, iv=iv
    )
    with np.errstate(all="ignore"):
        price = _black_price(call, f, k, t, np.exp(-r * t), vol)
    ok = _finite(f, k, t, r, vol) & (f > 0) & (k > 0) & (t >= 0) & (vol >= 0)
    return np.where(ok, price, np.nan)


def bsm_greeks(
    is_call: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    t_years: ArrayLike,
    rate: ArrayLike,
    div_yield: ArrayLike,
    iv: ArrayLike,
) -> Greeks:
    """Compute Black-Scholes-Merton greeks analytically (Hull, ch. 19, with dividend yield).

    Formulas and units match ``vollib.black_scholes_merton.greeks.analytical``.

    Args:
        is_call: True for calls, False for puts (bool or bool array).
        spot: Underlying price.
        strike: Strike price.
        t_years: Time to expiry in years.
        rate: Risk-free rate, continuously compounded, as a fraction.
        div_yield: Dividend yield, continuously compounded, as a fraction.
        iv: Volatility as a fraction.

    Returns:
        The greeks; NaN where an input is non-finite or out of its domain, including at expiry
        (``t_years == 0``) and at zero volatility, where they are not differentiable.

    Raises:
        TypeError: If ``is_call`` is not boolean.
        ValueError: If the arguments do not broadcast together.
    """
    call, (s0, k, t, r, q, vol) = _broadcast(
        is_call, spot=spot, strike=strike, t_years=t_years, rate=rate, div_yield=div_yield, iv=iv
    )
    ok = _finite(s0, k, t, r, q, vol) & (s0 > 0) & (k > 0) & (t > 0) & (vol > 0)
    with np.errstate(all="ignore"):
        sign = np.where(call, 1.0, -1.0)
        sqrt_t = np.sqrt(t)
        s = vol * sqrt_t
        d1 = (np.log(s0 / k) + (r - q) * t) / s + 0.5 * s
        d2 = d1 - s
        df_q = np.exp(-q * t)
        df_r = np.exp(-r * t)
        pdf_d1 = _INV_SQRT_2PI * np.exp(-0.5 * d1 * d1)
        cdf_d1 = ndtr(sign * d1)
        cdf_d2 = ndtr(sign * d2)
        delta = sign * df_q * cdf_d1
        gamma = df_q * pdf_d1 / (s0 * s)
        decay = s0 * df_q * pdf_d1 * vol / (2.0 * sqrt_t)
        carry = sign * (q * s0 * df_q * cdf_d1 - r * k * df_r * cdf_d2)
        theta = (carry - decay) / _DAYS_PER_YEAR
        vega = s0 * df_q * pdf_d1 * sqrt_t * _PER_POINT
        rho = sign * t * k * df_r * cdf_d2 * _PER_POINT
    return _masked_greeks(ok, delta, gamma, theta, vega, rho)


def black76_greeks(
    is_call: ArrayLike,
    forward: ArrayLike,
    strike: ArrayLike,
    t_years: ArrayLike,
    rate: ArrayLike,
    iv: ArrayLike,
) -> Greeks:
    """Compute Black-76 greeks analytically, with the forward held fixed (Hull, ch. 18-19).

    Formulas and units match ``vollib.black.greeks.analytical``: delta is with respect to the
    forward (``exp(-rate*t) * N(d1)`` for a call), theta is ``(-F*DF*pdf(d1)*iv/(2*sqrt(t)) +
    rate*price) / 365`` and rho is ``-t * price / 100``.

    Args:
        is_call: True for calls, False for puts (bool or bool array).
        forward: Forward (or futures) price for the option's expiry.
        strike: Strike price.
        t_years: Time to expiry in years.
        rate: Discount rate, continuously compounded, as a fraction.
        iv: Volatility as a fraction.

    Returns:
        The greeks; NaN where an input is non-finite or out of its domain, including at expiry
        and at zero volatility.

    Raises:
        TypeError: If ``is_call`` is not boolean.
        ValueError: If the arguments do not broadcast together.
    """
    call, (f, k, t, r, vol) = _broadcast(
        is_call, forward=forward, strike=strike, t_years=t_years, rate=rate, iv=iv
    )
    ok = _finite(f, k, t, r, vol) & (f > 0) & (k > 0) & (t > 0) & (vol > 0)
    with np.errstate(all="ignore"):
        sign = np.where(call, 1.0, -1.0)
        sqrt_t = np.sqrt(t)
        s = vol * sqrt_t
        d1 = np.log(f / k) / s + 0.5 * s
        df_r = np.exp(-r * t)
        pdf_d1 = _INV_SQRT_2PI * np.exp(-0.5 * d1 * d1)
        price = _black_price(call, f, k, t, df_r, vol)
        delta = sign * df_r * ndtr(sign * d1)
        gamma = df_r * pdf_d1 / (f * s)
        decay = f * df_r * pdf_d1 * vol / (2.0 * sqrt_t)
        theta = (r * price - decay) / _DAYS_PER_YEAR
        vega = f * df_r * pdf_d1 * sqrt_t * _PER_POINT
        rho = -t * price * _PER_POINT
    return _masked_greeks(ok, delta, gamma, theta, vega, rho)


def black76_delta(
    is_call: ArrayLike,
    forward: ArrayLike,
    strike: ArrayLike,
    t_years: ArrayLike,
    rate: ArrayLike,
    iv: ArrayLike,
) -> FloatArray:
    """`black76_greeks(...).delta` alone, without pricing the options (the backtest's screen).

    The same arithmetic, so the same bits; NaN where `black76_greeks` gives NaN.
    """
    call, (f, k, t, r, vol) = _broadcast(
        is_call, forward=forward, strike=strike, t_years=t_years, rate=rate, iv=iv
    )
    ok = _finite(f, k, t, r, vol) & (f > 0) & (k > 0) & (t > 0) & (vol > 0)
    with np.errstate(all="ignore"):
        sign = np.where(call, 1.0, -1.0)
        s = vol * np.sqrt(t)
        d1 = np.log(f / k) / s + 0.5 * s
        delta: FloatArray = np.where(ok, sign * np.exp(-r * t) * ndtr(sign * d1), np.nan)
    return delta


@dataclass(frozen=True, slots=True)
class OneGreeks:
    """`Greeks` of one option, as floats (`black76_greeks_one`); same units."""

    delta: float
    gamma: float
    theta_per_day: float
    vega_per_vol_point: float
    rho: float


_NAN_GREEKS: Final = OneGreeks(math.nan, math.nan, math.nan, math.nan, math.nan)


def black76_price_one(
    is_call: bool, forward: float, strike: float, t_years: float, rate: float, iv: float
) -> float:
    """`black76_price` for one option, in plain floats: the hedge engine's per-bar path.

    The engine prices a handful of options per bar (a condor's four legs, a roll's two new
    strikes); for so few, NumPy's fixed cost per call is ten times the arithmetic. Same method:
    discounted intrinsic value plus the out-of-the-money time value from Jäckel's normalised
    `b`, but the wings use the erfcx form at every `s` (no small-`t` series). It agrees with
    `black76_price` to 1e-10 relative and 1e-11 in absolute terms on index-sized prices
    (tested), and is NaN on the same bad inputs.
    """
    if not (
        math.isfinite(forward)
        and math.isfinite(strike)
        and math.isfinite(t_years)
        and math.isfinite(rate)
        and math.isfinite(iv)
        and forward > 0
        and strike > 0
        and t_years >= 0
        and iv >= 0
    ):
        return math.nan
    intrinsic = max(forward - strike if is_call else strike - forward, 0.0)
    s = iv * math.sqrt(t_years)
    time_value = 0.0
    if s > 0:
        b = _otm_black_one(-abs(math.log(forward / strike)), s)
        time_value = math.sqrt(forward) * math.sqrt(strike) * b
    return math.exp(-rate * t_years) * (intrinsic + time_value)


def black76_greeks_one(
    is_call: bool,
    forward: float,
    strike: float,
    t_years: float,
    rate: float,
    iv: float,
    *,
    price: float | None = None,
) -> OneGreeks:
    """`black76_greeks` for one option, in plain floats (see `black76_price_one`).

    `price`: the option's `black76_price_one` on these very inputs, when the caller has it
    (theta and rho use it; it is not priced again). NaN where `black76_greeks` gives NaN: bad
    inputs, at expiry and at zero volatility.
    """
    if price is None:
        price = black76_price_one(is_call, forward, strike, t_years, rate, iv)
    if not (math.isfinite(price) and t_years > 0 and iv > 0):
        return _NAN_GREEKS
    sqrt_t = math.sqrt(t_years)
    s = iv * sqrt_t
    d1 = math.log(forward / strike) / s + 0.5 * s
    df_r = math.exp(-rate * t_years)
    pdf_d1 = _INV_SQRT_2PI * math.exp(-0.5 * d1 * d1)
    delta = df_r * _ndtr_one(d1) if is_call else -df_r * _ndtr_one(-d1)
    decay = forward * df_r * pdf_d1 * iv / (2.0 * sqrt_t)
    return OneGreeks(
        delta=delta,
        gamma=df_r * pdf_d1 / (forward * s),
        theta_per_day=(rate * price - decay) / _DAYS_PER_YEAR,
        vega_per_vol_point=forward * df_r * pdf_d1 * sqrt_t * _PER_POINT,
        rho=-t_years * price * _PER_POINT,
    )


def _ndtr_one(z: float) -> float:
    return 0.5 * math.erfc(-z * _INV_SQRT_2)


def _otm_black_one(x: float, s: float) -> float:
    # `_otm_black` for one x <= 0, s > 0: near b_max the plain formula, else the erfcx form.
    h = x / s
    t = 0.5 * s
    if h + t > _NEAR_MAX_D1:
        b = math.exp(0.5 * x) * _ndtr_one(h + t) - math.exp(-0.5 * x) * _ndtr_one(h - t)
    else:
        tails = 0.5 * math.exp(-0.5 * (h * h + t * t))
        b = tails * float(erfcx(-(h + t) * _INV_SQRT_2) - erfcx(-(h - t) * _INV_SQRT_2))
    return max(b, 0.0)


def bsm_implied_vol(
    price: ArrayLike,
    is_call: ArrayLike,
    spot: ArrayLike,
    strike: ArrayLike,
    t_years: ArrayLike,
    rate: ArrayLike,
    div_yield: ArrayLike,
    *,
    bid: ArrayLike | None = None,
) -> ImpliedVol:
    """Solve the Black-Scholes-Merton volatility that reproduces each price.

    The price is undiscounted and inverted with Black's formula on the forward
    ``S * exp((rate - div_yield) * t)``, as vollib does.

    Args:
        price: Option price (e.g. a mid), discounted as quoted.
        is_call: True for calls, False for puts (bool or bool array).
        spot: Underlying price.
        strike: Strike price.
        t_years: Time to expiry in years.
        rate: Risk-free rate, continuously compounded, as a fraction.
        div_yield: Dividend yield, continuously compounded, as a fraction.
        bid: Optional bid of the quote behind ``price``; a bid of zero or less gives
            `IVReason.NO_BID`.

    Returns:
        Volatilities with a reason per element; never raises for values out of range.

    Raises:
        TypeError: If ``is_call`` is not boolean.
        ValueError: If the arguments do not broadcast together.
    """
    bid_arg = np.nan if bid is None else bid
    call, (p, s0, k, t, r, q, b) = _broadcast(
        is_call,
        price=price,
        spot=spot,
        strike=strike,
        t_years=t_years,
        rate=rate,
        div_yield=div_yield,
        bid=bid_arg,
    )
    bad = ~_finite(p, s0, k, t, r, q) | (s0 <= 0)
    with np.errstate(all="ignore"):
        forward = s0 * np.exp((r - q) * t)
    return _implied_vol(p, call, forward, k, t, r, bad, b if bid is not None else None)


def black76_implied_vol(
    price: ArrayLike,
    is_call: ArrayLike,
    forward: ArrayLike,
    strike: ArrayLike,
    t_years: ArrayLike,
    rate: ArrayLike,
    *,
    bid: ArrayLike | None = None,
) -> ImpliedVol:
    """Solve the Black-76 volatility that reproduces each discounted price.

    Args:
        price: Option price (e.g. a mid), discounted with ``exp(-rate * t)``.
        is_call: True for calls, False for puts (bool or bool array).
        forward: Forward (or futures) price for the option's expiry.
        strike: Strike price.
        t_years: Time to expiry in years.
        rate: Discount rate, continuously compounded, as a fraction.
        bid: Optional bid of the quote behind ``price``; a bid of zero or less gives
            `IVReason.NO_BID`.

    Returns:
        Volatilities with a reason per element; never raises for values out of range.

    Raises:
        TypeError: If ``is_call`` is not boolean.
        ValueError: If the arguments do not broadcast together.
    """
    bid_arg = np.nan if bid is None else bid
    call, (p, f, k, t, r, b) = _broadcast(
        is_call,
        price=price,
        forward=forward,
        strike=strike,
        t_years=t_years,
        rate=rate,
        bid=bid_arg,
    )
    bad = ~_finite(p, f, k, t, r)
    return _implied_vol(p, call, f, k, t, r, bad, b if bid is not None else None)


# ---------------------------------------------------------------------------------------------
# Input handling


def _broadcast(is_call: ArrayLike, **named: ArrayLike) -> tuple[BoolArray, tuple[FloatArray, ...]]:
    call = np.asarray(is_call)
    if call.dtype != np.bool_:
        raise TypeError(f"is_call must be bool or a bool array, was dtype {call.dtype}")
    arrays = {name: np.asarray(value, dtype=np.float64) for name, value in named.items()}
    try:
        shape = np.broadcast_shapes(call.shape, *(a.shape for a in arrays.values()))
    except ValueError:
        shapes = ", ".join(
            [f"is_call {call.shape}"] + [f"{name} {a.shape}" for name, a in arrays.items()]
        )
        raise ValueError(f"arguments must broadcast together, shapes were: {shapes}") from None
    # Arrays of the shape already are used as they are, a scalar is filled (cheaper than a
    # broadcast view for the small arrays the hedge engine prices), others get a view.
    return _to_shape(call, shape), tuple(_to_shape(a, shape) for a in arrays.values())


def _to_shape(array: NDArray[Any], shape: tuple[int, ...]) -> NDArray[Any]:
    if array.shape == shape:
        return array
    if array.ndim == 0:
        return np.full(shape, array)
    return np.broadcast_to(array, shape)


def _finite(*arrays: FloatArray) -> BoolArray:
    ok = np.isfinite(arrays[0])
    for a in arrays[1:]:
        ok &= np.isfinite(a)
    return ok


def _masked_greeks(ok: BoolArray, *values: FloatArray) -> Greeks:
    delta, gamma, theta, vega, rho = (np.where(ok, v, np.nan) for v in values)
    return Greeks(delta=delta, gamma=gamma, theta_per_day=theta, vega_per_vol_point=vega, rho=rho)


# ---------------------------------------------------------------------------------------------
# Normalised Black maths (Jäckel 2015): x = ln(F/K), s = sigma*sqrt(t), b = price/sqrt(F*K).


def _otm_black(x: FloatArray, s: FloatArray) -> FloatArray:
    # b(x, s) for the out-of-the-money call (x <= 0, s > 0), by region as in Jäckel (2015,
    # section 3): near b_max the plain formula; elsewhere the two Black terms nearly cancel, so
    # they are combined analytically (_b_wings) instead of subtracted.
    shape = np.shape(x)
    x, s = np.ravel(x), np.ravel(s)  # 1-d: boolean masks of 0-d results would be scalars
    h = x / s
    t = 0.5 * s
    b = np.empty_like(h)
    near_max = h + t > _NEAR_MAX_D1
    xn, hn, tn = x[near_max], h[near_max], t[near_max]
    b[near_max] = np.exp(0.5 * xn) * ndtr(hn + tn) - np.exp(-0.5 * xn) * ndtr(hn - tn)
    wings = ~near_max
    b[wings] = _b_wings(h[wings], t[wings])
    result: FloatArray = np.maximum(b, 0.0).reshape(shape)
    return result


def _b_wings(h: FloatArray, t: FloatArray) -> FloatArray:
    # b for h = x/s <= 0, t = s/2 and d1 = h + t below about 0.85 (1-d arrays). Small t:
    # Jäckel's 12th-order expansion in t (double precision for t < 0.21), except in the far wing
    # h < -10 where its leading coefficient cancels. Elsewhere the erfcx form
    # b = exp(-(h^2 + t^2)/2) / 2 * (erfcx(-(h+t)/sqrt 2) - erfcx(-(h-t)/sqrt 2)),
    # which has a single exponential and so keeps the tails' relative accuracy.
    b = np.empty_like(h)
    small_t = (t < _SMALL_T) & ~((h < _FAR_WING_H) & (h + t < _SMALL_T + _FAR_WING_H))
    hs, ts = h[small_t], t[small_t]
    b[small_t] = _INV_SQRT_2PI * np.exp(-0.5 * (hs * hs + ts * ts)) * _small_t_series(hs, ts)
    other = ~small_t
    he, te = h[other], t[other]
    tails = 0.5 * np.exp(-0.5 * (he * he + te * te))
    b[other] = tails * (erfcx(-(he + te) * _INV_SQRT_2) - erfcx(-(he - te) * _INV_SQRT_2))
    return b


def _small_t_series(h: FloatArray, t: FloatArray) -> FloatArray:
    # Jäckel (2015), eq. 3.13 ff.: sqrt(2 pi) exp((h^2 + t^2)/2) b = 2t (a + sum_k c_k t^(2k)),
    # with a = 1 + h Y(h), Y = N/phi, and c_k = (A_k(h^2) + a B_k(h^2)) / (2k+1)!; the
    # coefficient polynomials are evaluated for all k at once as matrix products.
    a = 1.0 + h * _SQRT_HALF_PI * erfcx(-h * _INV_SQRT_2)
    h2 = h * h
    powers = np.empty((_SERIES_A.shape[0], h.size))
    powers[0] = 1.0
    for k in range(1, powers.shape[0]):
        np.multiply(powers[k - 1], h2, out=powers[k])
    c = (_SERIES_A.T @ powers + a * (_SERIES_B.T @ powers)) / _SERIES_DENOMINATORS[:, np.newaxis]
    w = t * t
    total = c[-1]
    for k in range(c.shape[0] - 2, -1, -1):
        total = c[k] + w * total
    series: FloatArray = 2.0 * t * (a + w * total)
    return series


def _normalised_vega(x: FloatArray, s: FloatArray) -> FloatArray:
    # db/ds = exp(-(h^2 + s^2/4)/2) / sqrt(2 pi); h = x/s is taken as 0 at the money, s = 0.
    h = np.where(x == 0, 0.0, x / s)
    vega: FloatArray = _INV_SQRT_2PI * np.exp(-0.5 * (h * h + 0.25 * s * s))
    return vega


def _black_price(
    call: BoolArray,
    forward: FloatArray,
    strike: FloatArray,
    t: FloatArray,
    discount: FloatArray,
    vol: FloatArray,
) -> FloatArray:
    # Intrinsic plus the time value of the out-of-the-money option at the same strike (calls and
    # puts at one strike share their time value by put-call parity), as in Jäckel (2015).
    intrinsic = np.maximum(np.where(call, forward - strike, strike - forward), 0.0)
    x = -np.abs(np.log(forward / strike))
    s = vol * np.sqrt(t)
    b = _otm_black(x, s)
    time_value = np.where(s > 0, np.sqrt(forward) * np.sqrt(strike) * b, 0.0)
    price: FloatArray = discount * (intrinsic + time_value)
    return price


# ---------------------------------------------------------------------------------------------
# Implied volatility


def _implied_vol(
    price: FloatArray,
    call: BoolArray,
    forward: FloatArray,
    strike: FloatArray,
    t: FloatArray,
    rate: FloatArray,
    bad: BoolArray,
    bid: FloatArray | None,
) -> ImpliedVol:
    shape = price.shape
    reason = np.full(shape, IVReason.OK, dtype=np.int8)
    iv = np.full(shape, np.nan)
    with np.errstate(all="ignore"):
        bad = bad | (price < 0) | (forward <= 0) | (strike <= 0) | ~np.isfinite(forward)
        if bid is not None:
            bad |= ~np.isfinite(bid)
        # Same order of operations as vollib / Let's Be Rational, so both solve the same numbers.
        undiscounted = price / np.exp(-rate * t)
        intrinsic = np.maximum(np.where(call, forward - strike, strike - forward), 0.0)
        ceiling = np.where(call, forward, strike)
        time_value = undiscounted - intrinsic
        # Rounding in F - K and price / DF is a few ulps of max(F, K); within that, an
        # in-the-money price is its intrinsic value.
        tolerance = np.where(intrinsic > 0, 8.0 * _EPS * np.maximum(forward, strike), 0.0)
        root_fk = np.sqrt(forward) * np.sqrt(strike)
        beta = time_value / root_fk
        x = -np.abs(np.log(forward / strike))

    _assign(reason, bad, IVReason.BAD_INPUT)
    _assign(reason, t <= 0, IVReason.EXPIRED)
    if bid is not None:
        _assign(reason, bid <= 0, IVReason.NO_BID)
    # Within a few ulps of the maximum every large volatility fits; the normalised test also
    # catches prices that round onto the maximum once divided by sqrt(F*K).
    above_max = (undiscounted >= ceiling * (1.0 - 8.0 * _EPS)) | (beta >= np.exp(0.5 * x))
    _assign(reason, above_max, IVReason.ABOVE_MAX)
    _assign(reason, time_value < -tolerance, IVReason.BELOW_INTRINSIC)
    _assign(reason, (time_value <= tolerance) | (beta < _BETA_MIN), IVReason.NO_TIME_VALUE)

    todo = np.flatnonzero(reason == IVReason.OK)
    if todo.size:
        flat_beta = beta.reshape(-1)[todo]
        flat_x = x.reshape(-1)[todo]
        s, converged = _solve_normalised(flat_beta, flat_x)
        with np.errstate(all="ignore"):
            solved = s / np.sqrt(t.reshape(-1)[todo])
        flat_iv = iv.reshape(-1)
        flat_iv[todo] = np.where(converged, solved, np.nan)
        reason.reshape(-1)[todo[~converged]] = IVReason.NO_CONVERGENCE
    return ImpliedVol(iv=iv, reason=reason)


def _assign(reason: NDArray[np.int8], where: BoolArray, value: IVReason) -> None:
    # First reason wins: checks are made in order of precedence.
    reason[where & (reason == IVReason.OK)] = value


def _solve_normalised(beta: FloatArray, x: FloatArray) -> tuple[FloatArray, BoolArray]:
    # Solve b(x, s) = beta for out-of-the-money calls (x <= 0, 0 < beta < exp(x/2)): Jäckel
    # (2015), vectorised. Four branches around the inflection point s_c = sqrt(2|x|), a
    # rational-cubic initial guess in each, and third-order Householder steps on an objective
    # close to linear in s there (1/ln(b) in the lowest branch, ln(b_max - b) in the highest, b
    # itself in between). Unlike the original, which always stops after two steps, iteration
    # runs until a step is negligible, and each element keeps a bracket and bisects whenever a
    # step would leave it.
    s = np.full(beta.shape, np.nan)
    converged = np.zeros(beta.shape, dtype=bool)
    with np.errstate(all="ignore"):
        s_c = np.sqrt(-2.0 * x)
        b_c = np.where(x < 0, _otm_black(x, s_c), 0.0)
        v_c = _normalised_vega(x, s_c)
        below = beta < b_c
        for side, guess_of in ((below, _guess_below_inflection), (~below, _guess_above_inflection)):
            idx = np.flatnonzero(side)
            guess = guess_of(beta[idx], x[idx], s_c[idx], b_c[idx], v_c[idx])
            for objective, step_of in _STEPS.items():
                member = guess.objective == objective
                i = idx[member]
                if i.size == 0:
                    continue
                target = _objective_target(objective, beta[i], x[i])
                s[i], converged[i] = _iterate(
                    step_of, x[i], target, guess.s[member], guess.lo[member], guess.hi[member]
                )
    return s, converged


class _Objective(IntEnum):
    LOWER = 0  # g = 1/ln(b) - 1/ln(beta)
    PLAIN = 1  # g = b - beta
    UPPER = 2  # g = ln(b_max - beta) - ln(b_max - b)


def _objective_target(objective: _Objective, beta: FloatArray, x: FloatArray) -> FloatArray:
    if objective == _Objective.LOWER:
        return np.log(beta)
    if objective == _Objective.UPPER:
        return np.log(np.exp(0.5 * x) - beta)
    return beta


@dataclass(frozen=True, slots=True)
class _Guess:
    s: FloatArray
    lo: FloatArray
    hi: FloatArray
    objective: NDArray[np.int8]


def _guess_below_inflection(
    beta: FloatArray, x: FloatArray, s_c: FloatArray, b_c: FloatArray, v_c: FloatArray
) -> _Guess:
    # Jäckel (2015), section 4, for beta < b_c: branch point s_l = s_c - b_c / v_c. Below b_l the
    # lower map f(beta) is interpolated by a rational cubic matching f(0) = 0, f'(0) = 1 and
    # f, f', f'' at b_l, then inverted; between b_l and b_c, s(beta) itself is interpolated.
    s_l = s_c - b_c / v_c
    b_l = np.where(s_l > 0, _otm_black(x, s_l), 0.0)
    v_l = _normalised_vega(x, s_l)
    lowest = beta < b_l
    s = np.empty_like(beta)
    i, j = np.flatnonzero(lowest), np.flatnonzero(~lowest)

    xi, bi, b_li, s_li = x[i], beta[i], b_l[i], s_l[i]
    zero, one = np.zeros_like(xi), np.ones_like(xi)
    f_l, fp_l, fpp_l = _lower_map(xi, s_li)
    r_ll = _convex_control_right(zero, b_li, zero, f_l, one, fp_l, fpp_l, prefer_shape=True)
    f = _rational_cubic(bi, zero, b_li, zero, f_l, one, fp_l, r_ll)
    ratio = bi / b_li
    f = np.where(f > 0, f, (f_l * ratio + b_li * (1.0 - ratio)) * ratio)
    s[i] = _inverse_lower_map(xi, f)

    b_lj, b_cj, s_lj, s_cj = b_l[j], b_c[j], s_l[j], s_c[j]
    d_l, d_r = 1.0 / v_l[j], 1.0 / v_c[j]
    r_lm = _convex_control_right(
        b_lj, b_cj, s_lj, s_cj, d_l, d_r, np.zeros_like(d_l), prefer_shape=False
    )
    s[j] = _rational_cubic(beta[j], b_lj, b_cj, s_lj, s_cj, d_l, d_r, r_lm)

    lo = np.where(lowest, 0.0, np.maximum(s_l, 0.0))
    hi = np.where(lowest, s_l, s_c)
    objective = np.where(lowest, _Objective.LOWER, _Objective.PLAIN).astype(np.int8)
    return _bracketed_guess(s, lo, hi, objective)


def _guess_above_inflection(
    beta: FloatArray, x: FloatArray, s_c: FloatArray, b_c: FloatArray, v_c: FloatArray
) -> _Guess:
    # Jäckel (2015), section 4, for beta >= b_c: branch point s_h = s_c + (b_max - b_c) / v_c.
    # Between b_c and b_h, s(beta) is interpolated; above b_h the upper map f = N(-s/2) is,
    # matching f(b_max) = 0 and f'(b_max) = -1/2 and f, f', f'' at b_h, then inverted.
    b_max = np.exp(0.5 * x)
    s_h = np.where(v_c > _DBL_MIN, s_c + (b_max - b_c) / v_c, s_c)
    b_h = _otm_black(x, s_h)
    highest = beta > b_h
    s = np.empty_like(beta)
    i, j = np.flatnonzero(highest), np.flatnonzero(~highest)

    bi, b_hi, b_maxi = beta[i], b_h[i], b_max[i]
    zero, half = np.zeros_like(bi), np.full_like(bi, -0.5)
    f_h, fp_h, fpp_h = _upper_map(x[i], s_h[i])
    r_hh = _convex_control_left(b_hi, b_maxi, f_h, zero, fp_h, half, fpp_h, prefer_shape=True)
    f = _rational_cubic(bi, b_hi, b_maxi, f_h, zero, fp_h, half, r_hh)
    f = np.where(fpp_h > -_SQRT_DBL_MAX, f, -np.inf)
    width = b_maxi - b_hi
    w = (bi - b_hi) / width
    f = np.where(f > 0, f, (f_h * (1.0 - w) + 0.5 * width * w) * (1.0 - w))
    s[i] = -2.0 * ndtri(f)

    b_cj, b_hj, s_cj, s_hj = b_c[j], b_h[j], s_c[j], s_h[j]
    d_l, d_r = 1.0 / v_c[j], 1.0 / _normalised_vega(x[j], s_hj)
    r_hm = _convex_control_left(
        b_cj, b_hj, s_cj, s_hj, d_l, d_r, np.zeros_like(d_l), prefer_shape=False
    )
    s[j] = _rational_cubic(beta[j], b_cj, b_hj, s_cj, s_hj, d_l, d_r, r_hm)

    lo = np.where(highest, s_h, s_c)
    hi = np.where(highest, np.inf, s_h)
    # Near b_max the log objective; below b_max/2 it gains nothing over b itself (Jäckel).
    upper = highest & (beta > 0.5 * b_max)
    objective = np.where(upper, _Objective.UPPER, _Objective.PLAIN).astype(np.int8)
    return _bracketed_guess(s, lo, hi, objective)


def _bracketed_guess(
    s: FloatArray, lo: FloatArray, hi: FloatArray, objective: NDArray[np.int8]
) -> _Guess:
    # A guess outside its bracket (possible only in far, under- or overflowing wings) starts at
    # the bracket's midpoint, or above its lower end when the bracket is open.
    fallback = np.where(np.isfinite(hi), 0.5 * (lo + hi), 2.0 * lo + 1.0)
    s = np.where(np.isfinite(s) & (s > lo) & (s < hi), s, fallback)
    return _Guess(s=s, lo=lo, hi=hi, objective=objective)


def _lower_map(x: FloatArray, s: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    # f(s) = 2 pi |x| / sqrt(27) * N(-|x| / (sqrt(3) s))^3 and its first two derivatives with
    # respect to b (Jäckel 2015, eq. 4.3 ff.).
    ax = np.abs(x)
    z = ax / (_SQRT_3 * s)
    y = z * z
    s2 = s * s
    cdf = ndtr(-z)
    pdf = _INV_SQRT_2PI * np.exp(-0.5 * y)
    fpp = (
        (math.pi / 6.0)
        * y
        / (s2 * s)
        * cdf
        * (8.0 * _SQRT_3 * s * ax + (3.0 * s2 * (s2 - 8.0) - 8.0 * x * x) * cdf / pdf)
        * np.exp(2.0 * y + 0.25 * s2)
    )
    fp = 2.0 * math.pi * y * cdf * cdf * np.exp(y + 0.125 * s2)
    f = _TWO_PI_OVER_SQRT_27 * ax * cdf * cdf * cdf
    return f, fp, fpp


def _inverse_lower_map(x: FloatArray, f: FloatArray) -> FloatArray:
    s: FloatArray = np.abs(x / (_SQRT_3 * ndtri(np.cbrt(f / (_TWO_PI_OVER_SQRT_27 * np.abs(x))))))
    return s


def _upper_map(x: FloatArray, s: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    # f(s) = N(-s/2) and its first two derivatives with respect to b (Jäckel 2015, eq. 4.6 ff.).
    w = (x / s) ** 2
    f = ndtr(-0.5 * s)
    fp = -0.5 * np.exp(0.5 * w)
    fpp = math.sqrt(0.5 * math.pi) * np.exp(w + 0.125 * s * s) * w / s
    return f, fp, fpp


def _rational_cubic(
    x: FloatArray,
    x_l: FloatArray,
    x_r: FloatArray,
    y_l: FloatArray,
    y_r: FloatArray,
    d_l: FloatArray,
    d_r: FloatArray,
    r: FloatArray,
) -> FloatArray:
    # Delbourgo and Gregory (1985) shape-preserving rational cubic, as used by Jäckel (2015).
    h = x_r - x_l
    t = (x - x_l) / h
    omt = 1.0 - t
    cubic = (
        y_r * t * t * t
        + (r * y_r - h * d_r) * t * t * omt
        + (r * y_l + h * d_l) * t * omt * omt
        + y_l * omt * omt * omt
    ) / (1.0 + (r - 3.0) * t * omt)
    linear = y_r * t + y_l * omt
    y = np.where(r >= _R_MAX, linear, cubic)
    result: FloatArray = np.where(h == 0, 0.5 * (y_l + y_r), y)
    return result


def _control_or_limit(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    limit = np.where(numerator > 0, _R_MAX, _R_MIN)
    r = np.where(np.abs(denominator) < _DBL_MIN, limit, numerator / denominator)
    result: FloatArray = np.where(np.abs(numerator) < _DBL_MIN, 0.0, r)
    return result


def _minimum_control(
    d_l: FloatArray, d_r: FloatArray, slope: FloatArray, *, prefer_shape: bool
) -> FloatArray:
    # Smallest control parameter that keeps the interpolant monotone and convex or concave
    # where the data are (Delbourgo and Gregory 1985, eq. 3.8 and 3.18).
    monotonic = (d_l * slope >= 0) & (d_r * slope >= 0)
    convex = (d_l <= slope) & (slope <= d_r)
    concave = (d_l >= slope) & (slope >= d_r)
    shape_fallback = _R_MAX if prefer_shape else -_DBL_MAX
    r1 = np.where(
        monotonic,
        np.where(np.abs(slope) >= _DBL_MIN, (d_r + d_l) / slope, shape_fallback),
        -_DBL_MAX,
    )
    d_r_m_s, s_m_d_l = d_r - slope, slope - d_l
    both_sides = (np.abs(s_m_d_l) >= _DBL_MIN) & (np.abs(d_r_m_s) >= _DBL_MIN)
    spread = np.maximum(np.abs((d_r - d_l) / d_r_m_s), np.abs((d_r - d_l) / s_m_d_l))
    r2 = np.where(
        convex | concave,
        np.where(both_sides, spread, shape_fallback),
        np.where(monotonic & prefer_shape, _R_MAX, -_DBL_MAX),
    )
    r = np.maximum(_R_MIN, np.maximum(r1, r2))
    result: FloatArray = np.where(monotonic | convex | concave, r, _R_MIN)
    return result


def _convex_control_right(
    x_l: FloatArray,
    x_r: FloatArray,
    y_l: FloatArray,
    y_r: FloatArray,
    d_l: FloatArray,
    d_r: FloatArray,
    second_r: FloatArray,
    *,
    prefer_shape: bool,
) -> FloatArray:
    h = x_r - x_l
    slope = (y_r - y_l) / h
    r = _control_or_limit(0.5 * h * second_r + (d_r - d_l), d_r - slope)
    return np.maximum(r, _minimum_control(d_l, d_r, slope, prefer_shape=prefer_shape))


def _convex_control_left(
    x_l: FloatArray,
    x_r: FloatArray,
    y_l: FloatArray,
    y_r: FloatArray,
    d_l: FloatArray,
    d_r: FloatArray,
    second_l: FloatArray,
    *,
    prefer_shape: bool,
) -> FloatArray:
    h = x_r - x_l
    slope = (y_r - y_l) / h
    r = _control_or_limit(0.5 * h * second_l + (d_r - d_l), slope - d_l)
    return np.maximum(r, _minimum_control(d_l, d_r, slope, prefer_shape=prefer_shape))


_Step = Callable[[FloatArray, FloatArray, FloatArray], tuple[FloatArray, BoolArray]]


def _iterate(
    step_of: _Step,
    x: FloatArray,
    target: FloatArray,
    s: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
) -> tuple[FloatArray, BoolArray]:
    out = np.full(x.shape, np.nan)
    converged = np.zeros(x.shape, dtype=bool)
    active = np.arange(x.size)
    for _ in range(_MAX_ITERATIONS):
        if active.size == 0:
            break
        step, above = step_of(x, s, target)
        hi = np.where(above, np.minimum(hi, s), hi)
        lo = np.where(above, lo, np.maximum(lo, s))
        # Never more than halve s in one step (as Jäckel), and stay inside the bracket.
        proposal = s + np.maximum(step, -0.5 * s)
        # Inclusive: a converged step lands on the bracket edge it has just set.
        inside = np.isfinite(proposal) & (proposal >= lo) & (proposal <= hi)
        fallback = np.where(np.isfinite(hi), 0.5 * (lo + hi), 2.0 * s)
        s_next = np.where(inside, proposal, fallback)
        done = (inside & (np.abs(step) <= _STEP_RTOL * s_next)) | (hi - lo <= 4.0 * _EPS * hi)
        out[active[done]] = s_next[done]
        converged[active[done]] = True
        keep = ~done
        active = active[keep]
        x, target, s, lo, hi = x[keep], target[keep], s_next[keep], lo[keep], hi[keep]
    return out, converged


def _householder(newton: FloatArray, halley: FloatArray, hh3: FloatArray) -> FloatArray:
    # Third-order Householder step from newton = -g/g', halley = g''/g', hh3 = g'''/g'.
    step: FloatArray = (
        newton * (1.0 + 0.5 * halley * newton) / (1.0 + newton * (halley + hh3 * newton / 6.0))
    )
    return step


def _b_derivative_ratios(x: FloatArray, s: FloatArray) -> tuple[FloatArray, FloatArray]:
    # b''/b' and b'''/b' of the normalised Black price with respect to s (Jäckel 2015).
    h = x / s
    b_halley = h * h / s - 0.25 * s
    b_hh3 = b_halley * b_halley - 3.0 * (h / s) ** 2 - 0.25
    return b_halley, b_hh3


def _lower_step(x: FloatArray, s: FloatArray, log_beta: FloatArray) -> tuple[FloatArray, BoolArray]:
    # g = 1/ln(b) - 1/ln(beta). Below s_l < s_c, d1 = h + t < 0: b is in its wings.
    b = _b_wings(x / s, 0.5 * s)
    ln_b = np.log(b)
    bpob = _normalised_vega(x, s) / b
    b_halley, b_hh3 = _b_derivative_ratios(x, s)
    newton = (log_beta - ln_b) * ln_b / log_beta / bpob
    q = 1.0 + 2.0 / ln_b
    halley = b_halley - bpob * q
    hh3 = (
        b_hh3
        + 2.0 * bpob * bpob * (1.0 + 3.0 / ln_b * (1.0 + 1.0 / ln_b))
        - 3.0 * b_halley * bpob * q
    )
    return _householder(newton, halley, hh3), ln_b > log_beta


def _plain_step(x: FloatArray, s: FloatArray, beta: FloatArray) -> tuple[FloatArray, BoolArray]:
    # g = b - beta, whose derivative ratios are those of b itself.
    b = _otm_black(x, s)
    b_halley, b_hh3 = _b_derivative_ratios(x, s)
    newton = (beta - b) / _normalised_vega(x, s)
    return _householder(newton, b_halley, b_hh3), b > beta


def _upper_step(
    x: FloatArray, s: FloatArray, log_headroom: FloatArray
) -> tuple[FloatArray, BoolArray]:
    # g = ln(b_max - beta) - ln(b_max - b). b_max - b is a sum of two positive terms here,
    # accurate where b is close to b_max.
    h = x / s
    half_s = 0.5 * s
    headroom = np.exp(0.5 * x) * ndtr(-h - half_s) + np.exp(-0.5 * x) * ndtr(h - half_s)
    ln_headroom = np.log(headroom)
    gp = _normalised_vega(x, s) / headroom
    b_halley, b_hh3 = _b_derivative_ratios(x, s)
    newton = (ln_headroom - log_headroom) / gp
    halley = b_halley + gp
    hh3 = b_hh3 + gp * (2.0 * gp + 3.0 * b_halley)
    return _householder(newton, halley, hh3), ln_headroom < log_headroom


_STEPS: Final[dict[_Objective, _Step]] = {
    _Objective.LOWER: _lower_step,
    _Objective.PLAIN: _plain_step,
    _Objective.UPPER: _upper_step,
}
