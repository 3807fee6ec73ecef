"""VIX instruments for the hedge engine: the future, its options, and sizing against SPX.

Everything here is pure arithmetic on numbers passed in; dates come from `core.calendar`
(`vix_monthly_settlement`, `next_vix_expiration`). Index levels and futures prices are in VIX
points (17.38, not 0.1738); implied volatilities are fractions.

* `estimate_vix_future`: a VIX future priced from the VIX9D / VIX / VIX3M term structure when no
  futures quote is available. Always labelled estimated.
* `vix_option`, `vix_call_spread`: Black-76 on the **same-expiry VIX future**. VIX options settle
  to the same Special Opening Quotation as the VIX future of their expiry, so that future is the
  option's forward; spot VIX is not (it is not tradable and is usually far from the future).
* `VixOptionVolModel`: a modelled implied volatility for VIX options (no VIX option chain ships
  for the replay days): the ATM level from VVIX, with an upward (call) skew.
* `VxCurve`: the real CFE settles of the monthly VX contracts on one trade date, and the future
  of any settlement date read off it (`VxCurve.future_for`: a real settle, or interpolated
  between real settles, labelled which).
* `SpxVixSensitivity`: how far the VIX future moves for an SPX move, at low / mid / high cases.
* `hedge_contracts`, `size_vix_hedge`: how many VX / VXM futures or VIX call spreads offset a
  share of the condor's dollar delta.

Contract multipliers (Cboe contract specifications): VX future $1,000 per VIX point, VXM (mini)
$100, VIX options $100.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from core.calendar import NYSE_HOLIDAYS, vix_settlements_between
from core.pricing import black76_greeks, black76_price

#: Dollars per VIX point per contract.
VX_MULTIPLIER_USD: Final = 1000.0
VXM_MULTIPLIER_USD: Final = 100.0
VIX_OPTION_MULTIPLIER_USD: Final = 100.0

#: Tenors of the Cboe indices, in calendar days (the VIX methodology counts calendar time).
VIX9D_DAYS: Final = 9.0
VIX_DAYS: Final = 30.0
VIX3M_DAYS: Final = 93.0
_DAYS_PER_YEAR: Final = 365.0
_T9: Final = VIX9D_DAYS / _DAYS_PER_YEAR
_T30: Final = VIX_DAYS / _DAYS_PER_YEAR
_T93: Final = VIX3M_DAYS / _DAYS_PER_YEAR

#: Labels for `DataStamp.modelled` and for cards.
ESTIMATED_FUTURE_LABEL: Final = "VIX future estimated from the VIX9D/VIX/VIX3M term structure"
MODELLED_VIX_OPTION_IV_LABEL: Final = "VIX option IV modelled from VVIX (no VIX option chain)"


def _require_positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, was {value!r}")


def _require_non_negative(name: str, value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a non-negative finite number, was {value!r}")


# --- The VIX future, estimated from the index term structure -------------------------------------


class EstimateMethod(StrEnum):
    """How `estimate_vix_future` obtained its number."""

    #: Forward 30-day volatility from total variance interpolated between VIX9D, VIX and VIX3M.
    FORWARD_VARIANCE = "forward variance from VIX9D/VIX/VIX3M"
    #: As above, the window reaching past 93 days (VIX3M's implied volatility held flat).
    FORWARD_VARIANCE_EXTRAPOLATED = "forward variance from VIX9D/VIX/VIX3M, extrapolated past 93d"
    #: Either of the above, lowered by the lognormal convexity adjustment with VVIX.
    FORWARD_VARIANCE_CONVEXITY = "forward variance from VIX9D/VIX/VIX3M, VVIX convexity-adjusted"


# --- the term structure before VIX9D and VIX3M were published (opt-in, labelled) ------------

#: Names the model below on every card that uses it.
TERM_MODEL_VERSION: Final = "term-1"
#: ``ln VIX3M = a + b ln VIX + c ln VIX6M``, least squares on the shipped daily closes where
#: all three exist (4,175 days, 2009-09-18 on; `bench/term_structure_calibration.py`).
VIX3M_MODEL: Final = (-0.1061, 0.3519, 0.6792)
#: ``ln(VIX9D / VIX) = a + beta ln(VIX / VIX3M)``, on the closes where all three exist (2011 on).
VIX9D_MODEL: Final = (0.0400, 0.8590)


def modelled_vix3m(vix: ArrayLike, vix6m: ArrayLike) -> NDArray[np.float64]:
    """VIX3M as the shipped history predicts it from VIX and VIX6M (`VIX3M_MODEL`), elementwise.

    Fitted where all three were published; it fills the days before VIX3M's first print
    (2009-09-18) for a run that asks for it.
    """
    a, b, c = VIX3M_MODEL
    v, v6 = np.asarray(vix, dtype=np.float64), np.asarray(vix6m, dtype=np.float64)
    return np.asarray(np.exp(a + b * np.log(v) + c * np.log(v6)), dtype=np.float64)


def modelled_vix9d(vix: ArrayLike, vix3m: ArrayLike) -> NDArray[np.float64]:
    """VIX9D as the shipped history predicts it from VIX and VIX3M (`VIX9D_MODEL`), elementwise.

    The front of the curve is steeper the more VIX stands above VIX3M; the fit explains
    about half of VIX9D's day-to-day ratio to VIX (the rest is noise the model cannot see).
    """
    a, beta = VIX9D_MODEL
    v, v3 = np.asarray(vix, dtype=np.float64), np.asarray(vix3m, dtype=np.float64)
    return np.asarray(v * np.exp(a + beta * np.log(v / v3)), dtype=np.float64)


@dataclass(frozen=True, slots=True, kw_only=True)
class VixFutureEstimate:
    """A VIX future price that was estimated, not quoted.

    Attributes:
        price: Estimated futures price, VIX points.
        t_years: Time from the term-structure observation to the future's settlement.
        method: How it was estimated.
        extrapolated: Whether the 30-day window ran past VIX3M's 93 days.
        estimated: Always True: cards must say "estimated".
    """

    price: float
    t_years: float
    method: EstimateMethod
    extrapolated: bool = False
    estimated: bool = True

    def __post_init__(self) -> None:
        _require_positive("price", self.price)
        _require_non_negative("t_years", self.t_years)


def _total_variance(t_years: float, vix9d: float, vix: float, vix3m: float) -> float:
    # sigma^2 * T, linear in T between the knots (0, 9d, 30d, 93d): a piecewise-constant forward
    # variance. Below 9 days this is VIX9D's volatility held flat; above 93 days, VIX3M's.
    knots = ((0.0, 0.0), (_T9, vix9d**2 * _T9), (_T30, vix**2 * _T30), (_T93, vix3m**2 * _T93))
    if t_years >= _T93:
        return vix3m**2 * t_years
    (t0, w0), (t1, w1) = next(pair for pair in itertools.pairwise(knots) if t_years <= pair[1][0])
    return w0 + (w1 - w0) * (t_years - t0) / (t1 - t0)


def estimate_vix_future(
    vix: float, vix9d: float, vix3m: float, t_years: float, *, vvix: float | None = None
) -> VixFutureEstimate:
    """Estimate the VIX future settling `t_years` from now out of the VIX index term structure.

    VIX9D, VIX and VIX3M are the 9-, 30- and 93-day implied volatilities of the S&P 500 (variance
    swap rates, in points). Their squares times their tenors are total variances; linear
    interpolation between them gives the total variance w(T) at any horizon (a forward variance
    constant between the tenors), VIX9D's volatility held flat before 9 days and VIX3M's after
    93 days. The VIX at settlement measures the 30 days that follow it, so the estimate is the
    forward 30-day volatility from the settlement::

        F = 100 * sqrt((w(t + 30d) - w(t)) / 30d)

    With a flat term structure this is the common level; at t = 0 it is VIX itself.

    What it ignores (and how much, measured): this is sqrt(E[VIX_T^2]), the square root of a
    forward *variance*, while a VIX future is E[VIX_T]. By Jensen's inequality the future is
    below it by a convexity term that grows with the volatility of VIX and with t; the
    volatility risk premium and the discreteness of the VIX strike strip add their own
    differences. Against real VX settlements 2011-01-04 ... 2015-04-01 (every fifth trading day,
    `tests/data/vix_term_structure_vx_2011_2015.csv`, 214 days; t from the 16:15 ET close to the
    09:30 ET settlement) the estimate is *above* the real front-month future by a median 3.4 %
    (median absolute error 3.5 %, 90th percentile 7.7 %), and above the second month by 3.6 %
    (3.7 %, 8.4 %). Spot VIX used as the future is off by a median 5.2 % (front) and 12.1 %
    (second), and the estimate gets the sign of the basis (future above or below spot) right on
    89 % and 95 % of the days, against 84 % and 89 % for "always contango". On all 1,066 days of
    that period the figures move by less than 0.3 of a percentage point.

    Passing `vvix` applies the lognormal correction E[V] = sqrt(E[V^2]) * exp(-s^2 * t / 2) with
    s = VVIX / 100, the 30-day implied volatility of VIX. It removes most of the bias: median
    error +1.5 % (front) and -1.2 % (second: a future two months out moves less than VIX, so
    VVIX overstates its volatility); median absolute error 2.2 % and 2.6 %.

    The forward volatility is not bounded by VIX9D and VIX3M: in contango (VIX < VIX3M) the
    forward variance between 30 and 93 days always exceeds VIX3M^2, so a future one to two months
    out is estimated above VIX3M, as real second-month futures were on most days (of all 1,066,
    real front-month futures lay between VIX9D and VIX3M on 72 %, second-month ones on 29 %).

    Args:
        vix: VIX index, points.
        vix9d: VIX9D index, points.
        vix3m: VIX3M index, points.
        t_years: Time from the observation to the future's settlement (SOQ at 09:30 ET), years.
        vvix: VVIX index, points, to apply the convexity adjustment; None to leave it out.

    Returns:
        The estimate, marked estimated.

    Raises:
        ValueError: If an index is not positive and finite, `t_years` is negative, or total
            variance falls with tenor (VIX9D above 1.83 x VIX, or VIX above 1.76 x VIX3M).
    """
    for name, value in (("vix", vix), ("vix9d", vix9d), ("vix3m", vix3m)):
        _require_positive(name, value)
    _require_non_negative("t_years", t_years)
    if vvix is not None:
        _require_positive("vvix", vvix)
    s9, s30, s93 = vix9d / 100.0, vix / 100.0, vix3m / 100.0
    # Total variance must grow with tenor (a negative forward variance is a calendar
    # arbitrage): with VIX9D above 1.83 x VIX, or VIX above 1.76 x VIX3M, the quotes are bad.
    if not s9**2 * _T9 < s30**2 * _T30 < s93**2 * _T93:
        raise ValueError(
            "term structure implies a negative forward variance (total variance must grow with "
            f"tenor), was vix9d={vix9d!r}, vix={vix!r}, vix3m={vix3m!r}"
        )
    forward_variance = (
        _total_variance(t_years + _T30, s9, s30, s93) - _total_variance(t_years, s9, s30, s93)
    ) / _T30
    price = 100.0 * math.sqrt(forward_variance)
    extrapolated = t_years + _T30 > _T93
    method = (
        EstimateMethod.FORWARD_VARIANCE_EXTRAPOLATED
        if extrapolated
        else EstimateMethod.FORWARD_VARIANCE
    )
    if vvix is not None:
        price *= math.exp(-((vvix / 100.0) ** 2) * t_years / 2.0)
        method = EstimateMethod.FORWARD_VARIANCE_CONVEXITY
    return VixFutureEstimate(price=price, t_years=t_years, method=method, extrapolated=extrapolated)


# --- VIX options: Black-76 on the same-expiry future ---------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class VixOptionValue:
    """Price and greeks of one VIX option, per VIX point (times $100 per contract).

    Attributes:
        price: Black-76 value, VIX points.
        delta: Per point of the same-expiry VIX future.
        gamma: Delta change per point of the future.
        theta_per_day: Price change per calendar day.
        vega_per_vol_point: Price change per volatility point (0.01 of `iv`).
        future, strike, t_years, iv, is_call: The inputs.
    """

    price: float
    delta: float
    gamma: float
    theta_per_day: float
    vega_per_vol_point: float
    future: float
    strike: float
    t_years: float
    iv: float
    is_call: bool

    @property
    def price_usd(self) -> float:
        """Value of one contract in dollars."""
        return self.price * VIX_OPTION_MULTIPLIER_USD


def vix_option(
    is_call: bool, future: float, strike: float, t_years: float, iv: float, rate: float = 0.0
) -> VixOptionValue:
    """Price a VIX option with Black-76 on the VIX future of the same expiration.

    Args:
        is_call: True for a call.
        future: The VIX future settling on the option's expiration date (quoted or
            `estimate_vix_future`), VIX points. Never spot VIX.
        strike: Strike, VIX points.
        t_years: Time to the expiration's SOQ (09:30 ET), years; 0 gives intrinsic value.
        iv: Implied volatility of the option, fraction (VIX options trade around 0.6-1.5).
        rate: Discount rate, continuously compounded fraction.

    Raises:
        ValueError: If an input is not finite or out of its domain.
    """
    _require_positive("future", future)
    _require_positive("strike", strike)
    _require_non_negative("t_years", t_years)
    _require_non_negative("iv", iv)
    if not math.isfinite(rate):
        raise ValueError(f"rate must be finite, was {rate!r}")
    price = float(black76_price(is_call, future, strike, t_years, rate, iv))
    if t_years > 0 and iv > 0:
        greeks = black76_greeks(is_call, future, strike, t_years, rate, iv)
        delta, gamma = float(greeks.delta), float(greeks.gamma)
        theta, vega = float(greeks.theta_per_day), float(greeks.vega_per_vol_point)
    else:
        # At expiry (or zero volatility) the option is its discounted intrinsic value: a step
        # delta, no time value to lose or vary.
        in_the_money = future > strike if is_call else future < strike
        discount = math.exp(-rate * t_years)
        delta = (discount if is_call else -discount) if in_the_money else 0.0
        gamma = theta = vega = 0.0
    return VixOptionValue(
        price=price,
        delta=delta,
        gamma=gamma,
        theta_per_day=theta,
        vega_per_vol_point=vega,
        future=future,
        strike=strike,
        t_years=t_years,
        iv=iv,
        is_call=is_call,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class VixCallSpread:
    """A long VIX call spread: buy the low strike, sell the high strike, same expiration.

    Attributes:
        debit: Net premium paid, VIX points (0 < debit < width, discounted).
        delta: Per point of the same-expiry VIX future.
        gamma: Per point of the future.
        theta_per_day: Per calendar day.
        vega_per_vol_point: Per volatility point, both legs moved together.
        width: High strike minus low strike, VIX points: the value at expiry when the future
            settles at or above the high strike.
        long_call, short_call: The legs.
    """

    debit: float
    delta: float
    gamma: float
    theta_per_day: float
    vega_per_vol_point: float
    width: float
    long_call: VixOptionValue
    short_call: VixOptionValue

    @property
    def debit_usd(self) -> float:
        """Premium of one spread in dollars."""
        return self.debit * VIX_OPTION_MULTIPLIER_USD

    @property
    def max_value_usd(self) -> float:
        """Value of one spread at expiry if the future settles at or above the high strike."""
        return self.width * VIX_OPTION_MULTIPLIER_USD


def vix_call_spread(
    future: float,
    low_strike: float,
    high_strike: float,
    t_years: float,
    iv_low: float,
    iv_high: float,
    rate: float = 0.0,
) -> VixCallSpread:
    """Price a long VIX call spread (buy `low_strike`, sell `high_strike`) with Black-76.

    Each leg has its own volatility: VIX calls have an upward skew, so `iv_high` is usually
    above `iv_low` (see `VixOptionVolModel`).

    Raises:
        ValueError: If `high_strike <= low_strike`, an input is out of its domain, or the two
            volatilities make the debit negative or above the width (an arbitrage).
    """
    if not high_strike > low_strike:
        raise ValueError(
            f"high_strike must be above low_strike, was {high_strike!r} <= {low_strike!r}"
        )
    long_call = vix_option(True, future, low_strike, t_years, iv_low, rate)
    short_call = vix_option(True, future, high_strike, t_years, iv_high, rate)
    debit = long_call.price - short_call.price
    width = high_strike - low_strike
    max_debit = width * math.exp(-rate * t_years)
    # Outside [0, discounted width] the two volatilities are an arbitrage (a skew too steep or
    # inverted for the strike gap): refuse rather than price a bogus hedge. Rounding of the two
    # prices (1e-12 of the strike) is clipped, not refused.
    rounding = 1e-12 * high_strike
    if not -rounding <= debit <= max_debit + rounding:
        raise ValueError(
            f"volatilities {iv_low!r} / {iv_high!r} give a call-spread debit of {debit:.6g} "
            f"outside [0, width {width!r}]: the skew between the strikes is an arbitrage"
        )
    debit = min(max(debit, 0.0), max_debit)
    return VixCallSpread(
        debit=debit,
        delta=long_call.delta - short_call.delta,
        gamma=long_call.gamma - short_call.gamma,
        theta_per_day=long_call.theta_per_day - short_call.theta_per_day,
        vega_per_vol_point=long_call.vega_per_vol_point - short_call.vega_per_vol_point,
        width=width,
        long_call=long_call,
        short_call=short_call,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class VixOptionVolModel:
    """MODELLED implied volatility of VIX options, from VVIX, with an upward call skew.

    There is no VIX option chain for the replay days, so option premiums use::

        atm = atm_vvix_ratio * VVIX / 100
        iv(K) = atm + skew_per_log_moneyness_30d * sqrt(30 / max(days, min_skew_days)) * ln(K / F)

    floored at `min_iv_fraction_of_atm * atm`; F is the same-expiry VIX future. VVIX is the
    30-day implied volatility of VIX computed like VIX from the whole VIX option strip, so it
    sits above the at-the-money volatility when the skew is upward. The skew is in absolute
    volatility per unit of ln(K/F) and steepens as 1/sqrt(T) down to `min_skew_days`; when VVIX
    rises the level rises and the skew does not, so relative to the level it flattens, as VIX
    skews do in stress (not calibrated: no stress-day VIX chain ships).

    Calibration, one day only: the defaults are a least-squares fit to the traded VIX options
    of 2024-06-03 (Polygon daily closes, `tests/data/vix_options_2024-06-03_traded.csv`;
    expirations 2024-06-18 ... 2024-09-18; out-of-the-money, ln(K/F) in [-0.3, 1.0]; IVs solved
    with Black-76 on the futures price implied by put-call parity), VVIX 78.79, VIX 13.11: fit
    ratio 0.84 and skew 1.12, rounded to 0.85 and 1.1; median absolute IV error 0.036 (VVIX / 100
    flat: 0.27). That day a one-month ATM option traded near 0.69 and a 20-strike call on a
    14.65 future near 0.98.

    No static arbitrage where hedges are struck: on a grid of futures 10-80, 1-150 days, VVIX
    60-200 and strikes 0.5-3.5 times the future, call prices fall and are convex in strike
    (checked in the tests). Further out a skew linear in ln K must break that (Lee 2004, "The
    moment formula for implied volatility at extreme strikes"): e.g. a 38/48 call spread on a
    future of 10 prices at a tiny negative debit, which `vix_call_spread` refuses. With
    `min_skew_days` below about 14 the steepest short-dated skews break it inside the grid.

    Attributes:
        atm_vvix_ratio: ATM implied volatility as a multiple of VVIX / 100.
        skew_per_log_moneyness_30d: IV change (fraction) per unit of ln(K/F) at 30 days.
        min_skew_days: Below this many days the skew stops steepening.
        min_iv_fraction_of_atm: Floor for low strikes, as a share of the ATM volatility.
    """

    atm_vvix_ratio: float = 0.85
    skew_per_log_moneyness_30d: float = 1.1
    min_skew_days: float = 14.0
    min_iv_fraction_of_atm: float = 0.5

    def __post_init__(self) -> None:
        _require_positive("atm_vvix_ratio", self.atm_vvix_ratio)
        _require_non_negative("skew_per_log_moneyness_30d", self.skew_per_log_moneyness_30d)
        _require_positive("min_skew_days", self.min_skew_days)
        if not 0 < self.min_iv_fraction_of_atm <= 1:
            raise ValueError(
                f"min_iv_fraction_of_atm must be in (0, 1], was {self.min_iv_fraction_of_atm!r}"
            )

    def atm_iv(self, vvix: float) -> float:
        """Return the modelled at-the-money implied volatility (fraction) for a VVIX level."""
        _require_positive("vvix", vvix)
        return self.atm_vvix_ratio * vvix / 100.0

    def iv(self, *, vvix: float, future: float, strike: float, t_years: float) -> float:
        """Return the modelled implied volatility (fraction) of a VIX option.

        Args:
            vvix: VVIX index, points.
            future: Same-expiry VIX future, points.
            strike: Option strike, points.
            t_years: Time to expiration, years.
        """
        _require_positive("future", future)
        _require_positive("strike", strike)
        _require_non_negative("t_years", t_years)
        atm = self.atm_iv(vvix)
        days = max(t_years * _DAYS_PER_YEAR, self.min_skew_days)
        skew = self.skew_per_log_moneyness_30d * math.sqrt(VIX_DAYS / days)
        return max(atm + skew * math.log(strike / future), atm * self.min_iv_fraction_of_atm)


#: The default modelled VIX option volatility (flag cards with `MODELLED_VIX_OPTION_IV_LABEL`).
MODELLED_VIX_OPTION_VOL: Final = VixOptionVolModel()


# --- How much the VIX future moves for an SPX move ----------------------------------------------


class SensitivityCase(StrEnum):
    """Which end of a parameter range: low = the VIX future moves least."""

    LOW = "low"
    MID = "mid"
    HIGH = "high"


@dataclass(frozen=True, slots=True, kw_only=True)
class SensitivityRange:
    """A parameter with an explicit low / mid / high, low meaning the smaller VIX response."""

    low: float
    mid: float
    high: float

    def __post_init__(self) -> None:
        values = (self.low, self.mid, self.high)
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"range values must be finite, were {values}")
        if not abs(self.low) <= abs(self.mid) <= abs(self.high):
            raise ValueError(f"range must satisfy |low| <= |mid| <= |high|, was {values}")

    def at(self, case: SensitivityCase) -> float:
        """Return the value for one case."""
        match case:
            case SensitivityCase.LOW:
                return self.low
            case SensitivityCase.MID:
                return self.mid
            case SensitivityCase.HIGH:
                return self.high


@dataclass(frozen=True, slots=True, kw_only=True)
class SpxVixSensitivity:
    """How the VIX future responds to an SPX move, with explicit ranges.

    The move of a VIX future settling `days` from now, for an SPX move of `x` percent::

        dF = F * dampening(days) * beta * x / 100     (beta times down_day_multiplier if x < 0)

    **beta, VIX percent per SPX percent** (`vix_pct_per_spx_pct`, default -4.0 / -4.5 / -5.0).
    Measured from daily closes (VIX_History, SPX_History; regression through the origin):
    all days -4.0 (2008-2015), -5.7 (2011-2026), -4.7 (2020-2026). VIX reacts more to falls than
    to rallies: down days only -4.7, -7.0, -5.9; up days -3.4, -4.4, -3.5; down/all about 1.2.
    The default range is the all-days figure; `down_day_multiplier` (default 1.0) scales it for
    SPX falls. Understating the response on a down day sizes the hedge *larger* (more
    contracts per dollar of delta), the safe side for a hedge.

    **Dampening of the future relative to spot VIX** (`future_dampening_30d`, default 0.4 /
    0.5 / 0.6 at 30 days): ``dampening(days) = d30 ** sqrt(days / 30)``, 1 at settlement. The
    square-root shape is fitted to the VX contracts 2008-2015 (daily % change of each contract
    over the % change of VIX, through the origin, by days to settlement): 1-5 days 0.75,
    6-10 0.66, 16-20 0.58, 26-32 0.48, 41-50 0.44, 61-75 0.34, 91-120 0.28, 121-180 0.23; the
    mid curve gives 0.80, 0.67, 0.57, 0.49, 0.43, 0.35, 0.27, 0.21.

    Attributes:
        vix_pct_per_spx_pct: beta, low / mid / high (negative).
        future_dampening_30d: d30, low / mid / high, each in (0, 1].
        down_day_multiplier: Scales beta when SPX falls (>= 1 makes falls count more).
    """

    vix_pct_per_spx_pct: SensitivityRange = SensitivityRange(low=-4.0, mid=-4.5, high=-5.0)
    future_dampening_30d: SensitivityRange = SensitivityRange(low=0.4, mid=0.5, high=0.6)
    down_day_multiplier: float = 1.0

    def __post_init__(self) -> None:
        betas = self.vix_pct_per_spx_pct
        if not max(betas.low, betas.mid, betas.high) < 0:
            raise ValueError(f"vix_pct_per_spx_pct must be negative, was {betas}")
        damp = self.future_dampening_30d
        if not all(0 < d <= 1 for d in (damp.low, damp.mid, damp.high)):
            raise ValueError(f"future_dampening_30d must be in (0, 1], was {damp}")
        _require_positive("down_day_multiplier", self.down_day_multiplier)

    def dampening(self, days_to_settlement: float, case: SensitivityCase) -> float:
        """Return the future's move as a fraction of spot VIX's move, `days` before settlement."""
        _require_non_negative("days_to_settlement", days_to_settlement)
        d30 = self.future_dampening_30d.at(case)
        return math.exp(math.log(d30) * math.sqrt(days_to_settlement / VIX_DAYS))

    def future_move_points(
        self,
        spx_move_pct: float,
        future: float,
        days_to_settlement: float,
        case: SensitivityCase,
    ) -> float:
        """Return the VIX future's move in points for an SPX move of `spx_move_pct` percent.

        Args:
            spx_move_pct: SPX move in percent (-1.0 is a 1 % fall).
            future: The future's current price, VIX points.
            days_to_settlement: Calendar days to the future's settlement.
            case: Which end of the ranges.
        """
        if not math.isfinite(spx_move_pct):
            raise ValueError(f"spx_move_pct must be finite, was {spx_move_pct!r}")
        _require_positive("future", future)
        beta = self.vix_pct_per_spx_pct.at(case)
        if spx_move_pct < 0:
            beta *= self.down_day_multiplier
        damp = self.dampening(days_to_settlement, case)
        return future * damp * beta * spx_move_pct / 100.0

    def future_points_per_spx_point(
        self, spx: float, future: float, days_to_settlement: float, case: SensitivityCase
    ) -> float:
        """Return dF/dSPX: VIX future points per SPX index point (negative).

        The slope of `future_move_points` on the falling side (so `down_day_multiplier`
        applies): what the hedge engine multiplies by a contract multiplier and delta.
        """
        _require_positive("spx", spx)
        one_point_fall_pct = -100.0 / spx
        return -self.future_move_points(one_point_fall_pct, future, days_to_settlement, case)


#: The default ranges.
DEFAULT_SENSITIVITY: Final = SpxVixSensitivity()


# --- Sizing ---------------------------------------------------------------------------------------


class VixInstrument(StrEnum):
    """A VIX hedge instrument, named as on a card."""

    VX_FUTURE = "VX future"
    VXM_FUTURE = "VXM future"
    VIX_CALL = "VIX call"
    VIX_CALL_SPREAD = "VIX call spread"


#: Dollars per VIX point per contract (a call spread is one long and one short option).
MULTIPLIER_USD: Final[dict[VixInstrument, float]] = {
    VixInstrument.VX_FUTURE: VX_MULTIPLIER_USD,
    VixInstrument.VXM_FUTURE: VXM_MULTIPLIER_USD,
    VixInstrument.VIX_CALL: VIX_OPTION_MULTIPLIER_USD,
    VixInstrument.VIX_CALL_SPREAD: VIX_OPTION_MULTIPLIER_USD,
}


def hedge_contracts(
    condor_dollar_delta: float, hedge_ratio: float, instrument_dollar_delta_per_spx_point: float
) -> float:
    """Return how many contracts offset `hedge_ratio` of a position's dollar delta.

    Solves ``condor_dollar_delta * hedge_ratio + n * instrument_dollar_delta_per_spx_point = 0``.
    Fractional: the caller rounds (and says how).

    Args:
        condor_dollar_delta: Position P&L in dollars per +1 SPX point (positive when the put side
            is tested: the condor loses as SPX falls).
        hedge_ratio: Share of that delta to offset, in (0, 1] (the engine uses 0.4-0.6).
        instrument_dollar_delta_per_spx_point: One contract's P&L in dollars per +1 SPX point
            (negative for VIX longs, which gain as SPX falls).

    Returns:
        Contracts to buy, >= 0.

    Raises:
        ValueError: If an input is not finite, the ratio is outside (0, 1], the instrument has
            no SPX delta, or it would add to the exposure instead of offsetting it (a VIX call
            against a call-side test).
    """
    for name, value in (
        ("condor_dollar_delta", condor_dollar_delta),
        ("instrument_dollar_delta_per_spx_point", instrument_dollar_delta_per_spx_point),
    ):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, was {value!r}")
    if not 0 < hedge_ratio <= 1:
        raise ValueError(f"hedge_ratio must be in (0, 1], was {hedge_ratio!r}")
    if instrument_dollar_delta_per_spx_point == 0:
        raise ValueError("instrument_dollar_delta_per_spx_point is 0: the instrument cannot hedge")
    contracts = -condor_dollar_delta * hedge_ratio / instrument_dollar_delta_per_spx_point
    if contracts < 0:
        raise ValueError(
            "the instrument would add to the exposure, not offset it: condor dollar delta "
            f"{condor_dollar_delta!r} and instrument dollar delta "
            f"{instrument_dollar_delta_per_spx_point!r} per SPX point have the same sign"
        )
    return contracts


@dataclass(frozen=True, slots=True, kw_only=True)
class HedgeSize:
    """Contracts needed at one sensitivity case.

    Attributes:
        case: Which end of the sensitivity ranges.
        future_points_per_spx_point: The future's move per SPX point (negative).
        dollar_delta_per_contract: One contract's dollars per +1 SPX point (negative).
        contracts: Fractional contracts that offset the requested share.
    """

    case: SensitivityCase
    future_points_per_spx_point: float
    dollar_delta_per_contract: float
    contracts: float


def size_vix_hedge(
    *,
    condor_dollar_delta: float,
    hedge_ratio: float,
    instrument: VixInstrument,
    spx: float,
    future: float,
    days_to_settlement: float,
    delta_wrt_future: float = 1.0,
    sensitivity: SpxVixSensitivity = DEFAULT_SENSITIVITY,
) -> tuple[HedgeSize, HedgeSize, HedgeSize]:
    """Size a VIX hedge at the low, mid and high sensitivity cases.

    A contract's dollar delta per SPX point is ``multiplier * delta_wrt_future *
    future_points_per_spx_point``: 1 for a future, the option or spread delta from
    `vix_option` / `vix_call_spread` for options. The low case (the future moves least) needs
    the most contracts.

    Args:
        condor_dollar_delta: Position dollars per +1 SPX point (see `hedge_contracts`).
        hedge_ratio: Share to offset, in (0, 1].
        instrument: What is bought (sets the multiplier).
        spx: SPX level.
        future: The hedge's VIX future (the option's same-expiry future), points.
        days_to_settlement: Calendar days to that future's settlement.
        delta_wrt_future: The instrument's delta per point of the future (1 for futures).
        sensitivity: The ranges.

    Returns:
        Sizes for (low, mid, high).
    """
    if not (math.isfinite(delta_wrt_future) and delta_wrt_future > 0):
        raise ValueError(
            f"delta_wrt_future must be positive (a long VIX exposure), was {delta_wrt_future!r}"
        )
    sizes = []
    for case in (SensitivityCase.LOW, SensitivityCase.MID, SensitivityCase.HIGH):
        per_point = sensitivity.future_points_per_spx_point(spx, future, days_to_settlement, case)
        dollar_delta = MULTIPLIER_USD[instrument] * delta_wrt_future * per_point
        sizes.append(
            HedgeSize(
                case=case,
                future_points_per_spx_point=per_point,
                dollar_delta_per_contract=dollar_delta,
                contracts=hedge_contracts(condor_dollar_delta, hedge_ratio, dollar_delta),
            )
        )
    return sizes[0], sizes[1], sizes[2]


# --- Real VX futures settles: the curve of one trade date ----------------------------------------


class VxSource(StrEnum):
    """Where a `VxQuote`'s price came from."""

    #: The contract's own CFE daily settle.
    REAL_SETTLE = "real CFE settle"
    #: Linear in days between the settles of the monthly contracts either side.
    INTERPOLATED = "interpolated between real CFE settles"
    #: Before the first monthly: linear in days between the spot VIX close (t = 0) and VX1.
    INTERPOLATED_FROM_SPOT = "interpolated between the spot VIX close and the VX1 settle"


@dataclass(frozen=True, slots=True, kw_only=True)
class VxQuote:
    """The VIX future of one settlement date read off a `VxCurve`.

    Attributes:
        price: Futures price, VIX points.
        settlement: The series' final settlement date.
        trade_date: The curve's trade date (the settles are of that day's close).
        source: Real settle or interpolated.
        label: What it is, in words, for cards and reports.
    """

    price: float
    settlement: date
    trade_date: date
    source: VxSource
    label: str

    @property
    def real(self) -> bool:
        """Whether the price is the contract's own settle (not interpolated)."""
        return self.source is VxSource.REAL_SETTLE


@dataclass(frozen=True, slots=True, kw_only=True)
class VxCurve:
    """The CFE daily settles of the monthly VX contracts on one trade date.

    Attributes:
        trade_date: The trade date whose settles these are (CFE settles around 15:15 Chicago).
        vix_close: Spot VIX close of `trade_date`, points (the curve's t = 0 end).
        points: (final settlement date, settle) of VX1, VX2, ... in order: VXn is the n-th
            monthly contract settling strictly after `trade_date` (on a settlement date the
            expiring contract is gone and VX1 is already the next month).
        source: Where the settles came from, for people.
    """

    trade_date: date
    vix_close: float
    points: tuple[tuple[date, float], ...]
    source: str

    def __post_init__(self) -> None:
        _require_positive("vix_close", self.vix_close)
        if not self.points:
            raise ValueError(f"a VX curve needs a contract, had none on {self.trade_date}")
        previous = self.trade_date
        for n, (settlement, price) in enumerate(self.points, start=1):
            if settlement <= previous:
                raise ValueError(
                    f"VX{n} must settle after {previous} (the trade date or VX{n - 1}), "
                    f"was {settlement}"
                )
            _require_positive(f"VX{n} settle", price)
            previous = settlement

    @classmethod
    def from_nearest(
        cls,
        trade_date: date,
        vix_close: float,
        settles: Sequence[float],
        *,
        source: str,
        holidays: Collection[date] = NYSE_HOLIDAYS,
    ) -> VxCurve:
        """Build the curve from the settles of the 1st, 2nd, ... nearest monthly contracts.

        VXn is mapped to the n-th `vix_monthly_settlement` strictly after `trade_date`.
        """
        horizon = trade_date + timedelta(days=31 * (len(settles) + 2))
        found = vix_settlements_between(trade_date + timedelta(days=1), horizon, holidays)
        return cls(
            trade_date=trade_date,
            vix_close=vix_close,
            points=tuple(
                (when, float(price))
                for when, price in zip(found[: len(settles)], settles, strict=True)
            ),
            source=source,
        )

    def future_for(self, settlement: date) -> VxQuote | None:
        """The VIX future of the series settling on `settlement`, as of this curve's close.

        Exact for a monthly contract on the curve. For any other date (a weekly), linear in
        calendar days between the contracts either side, or between spot VIX (at the trade
        date) and VX1 before the first monthly. None on or before the trade date (settled) and
        after the last contract on the curve (no real settle brackets it).
        """
        if settlement <= self.trade_date or settlement > self.points[-1][0]:
            return None
        day = f"{self.trade_date:%Y-%m-%d}"
        left_date, left_price, left_name = self.trade_date, self.vix_close, "spot VIX close"
        for n, (right_date, right_price) in enumerate(self.points, start=1):
            if settlement == right_date:
                return VxQuote(
                    price=right_price,
                    settlement=settlement,
                    trade_date=self.trade_date,
                    source=VxSource.REAL_SETTLE,
                    label=f"VX {settlement:%Y-%m-%d}: real CFE settle of {day} (VX{n})",
                )
            if settlement < right_date:
                weight = (settlement - left_date).days / (right_date - left_date).days
                source = VxSource.INTERPOLATED if n > 1 else VxSource.INTERPOLATED_FROM_SPOT
                return VxQuote(
                    price=left_price + weight * (right_price - left_price),
                    settlement=settlement,
                    trade_date=self.trade_date,
                    source=source,
                    label=(
                        f"VX {settlement:%Y-%m-%d}: interpolated in days between the {day} "
                        f"{left_name} and the real CFE settle of VX{n} ({right_date:%Y-%m-%d})"
                    ),
                )
            left_date, left_price = right_date, right_price
            left_name = f"real CFE settle of VX{n} ({right_date:%Y-%m-%d})"
        return None  # unreachable: settlement is within the last point
