"""A volatility surface for SPX driven by the day's VIX, VIX9D, VIX3M and SKEW.

It rebuilds a chain for a day without a snapshot (`model_chain`), and prices single strikes
(`model_iv`). The parameters are global constants fitted on the shipped Cboe snapshots by
``bench/surface_calibration.py --fit``; every chain built here says it is modelled.

**Variance clock.** Options carry variance in trading time, not calendar time: a Friday-close
quote of a Monday expiry has three calendar days but one trading day to run, and a 0DTE option
at 10:00 has six hours of session left, not six hours of a 24-hour day. Each trading day holds
one unit of variance: a share ``overnight_share`` spread evenly over the gap since the previous
close (weekends and holidays included) and the rest over the session with a U-shaped intraday
profile ``1 + c * ((u - 1/2)**2 - 1/12)`` in the fraction ``u`` of the session elapsed,
``c = INTRADAY_U`` (3.5: fitted to half-hourly realised variance of 84 sessions of SPY 1-minute
bars, 2024-02..05 and 2025-07, in the project's shared data survey). Variance time ``tau`` is units
over 252, so a year of trading days is a year. The chain's ``t_years`` stays ACT/365 on the clock
(`core.chain`); the model's IV is ``sqrt(w / t_years)`` for the total variance ``w``.

**ATM term structure.** VIX9D, VIX and VIX3M are variance-swap rates over 9, 30 and 93 calendar
days from now: total variances ``(index / 100)**2 * days / 365`` at the variance times of those
horizons. Total variance is interpolated linearly in variance time between them (a floor keeps
the forward variance positive), extended beyond 93 days with the last forward variance, and
below 9 days with a rate that moves from VIX9D's towards an extrapolation of the VIX9D/VIX slope
(``short_end_tilt``; clipped so total variance still rises). A variance swap is the average of
implied variance over the strikes (Gatheral, The Volatility Surface, 2006, eq. 11.5:
``sigma_VS**2 = integral of N'(d2) sigma(k)**2 d(d2)``), so it sits above ATM by an amount the
smile decides: the ATM variance is the swap variance divided by that average ``R`` of the
model's own smile, times ``exp(atm_log_ratio + atm_log_ratio_vix * ln(VIX / 20))`` for what the
discrete, truncated VIX calculation leaves out. A steeper smile (higher SKEW) thus lowers ATM
against VIX with no separate coefficient.

**Smile.** Let ``z = ln(K / F) / sqrt(w_atm)`` (log-moneyness in ATM standard deviations) and
``y = lambda * z``. Total variance over ATM total variance is ``V(y)``, an SVI curve pinned at 1
at the money (Gatheral, "A parsimonious arbitrage-free implied volatility parameterization",
2004): ``V(y) = 1 + b * (rho * y + sqrt(y**2 + s**2) - s)``, with ``ln b``, ``atanh rho`` and
``ln s`` linear in ``x = (SKEW - 130) / 10`` (and ``ln b`` in ``ln(VIX / 20)``): one shape per
day. Expiries differ only through ``lambda = min(w_flat / THETA_REF, 1)**smile_term_power``,
``w_flat`` being the ATM variance before the division by ``R``: short expiries get a flatter
smile in ``z``, as real 0DTE smiles are. SKEW is clipped to the calibrated range 115-155 and
VIX to 9-90 before they shape the smile.

No arbitrage. Where the SVI curve would break Gatheral's density condition for the expiry at
hand, or grow too fast for the calendar condition, it gives way to straight wings along its
tangent (`_wing_starts`): no butterfly arbitrage by construction. With one shape per day scaled
by a ``lambda`` that grows more slowly than ``sqrt(w_atm)``, total variance at a fixed strike
rises with maturity wherever ``V - y V' / 2 >= 0``, which the elasticity cap keeps (the same
argument as for SSVI, Gatheral and Jacquier 2014, section 4); the wing starts move a little with
``lambda``, so the tests check both conditions on a grid of index levels and maturities. ``V``
is floored at ``variance_floor`` and the IV at ``iv_floor``.

Limits, stated plainly: the model knows no events (FOMC, CPI): VIX9D prices them only spread over
nine days, so an event day's 0DTE IV comes out too low (2024-02-13, quoted before that day's CPI:
model ATM 0.17 against 0.25). It knows one intraday snapshot of a live 0DTE chain (2022-03-23
09:56 ET, where its ATM IV is 0.341 against 0.320) and Global Trading Hours quotes of three
other days; its 0DTE error is the least tested. A crash day like 2020-03-20 (VIX 66) lies outside
the other calibration days: median error 0.035 in-sample, 0.078 left out. The rate and dividend
yield of a modelled chain are inputs, not market data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Final, NamedTuple, TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from core.calendar import (
    NEW_YORK,
    NYSE_BUSINESS_DAYS,
    NYSE_EARLY_CLOSES,
    NYSE_HOLIDAYS,
    elapsed_seconds,
    is_trading_day,
    next_trading_day,
    posix_stamps,
    previous_trading_day,
    session_close,
    session_open,
    settlement_of,
    trading_days_between,
)
from core.chain import ChainInput, OptionChain, OptionQuotes, build_chains
from core.pricing import black76_price

FloatArray = NDArray[np.float64]

#: Version of the model and its constants; a modelled chain names it.
SURFACE_VERSION: Final = "surface-2"
#: Trading days per year: variance time is trading-day units over this.
TRADING_DAYS_PER_YEAR: Final = 252.0
SECONDS_PER_YEAR: Final = 365.0 * 86_400.0
#: Curvature of the intraday variance profile (see the module docstring).
INTRADAY_U: Final = 3.5
#: Calendar days of the VIX9D, VIX and VIX3M variance swaps.
INDEX_DAYS: Final = (9, 30, 93)
#: Flat-smile ATM total variance at which the smile reaches its full steepness in ``z``
#: (``lambda = 1``): 20 % volatility over 30 days. Above it ``lambda`` stays 1.
THETA_REF: Final = 0.2**2 * 30 / 365
#: Forward variance floor, as a share of the 30-day swap rate.
FORWARD_VARIANCE_FLOOR: Final = 0.1
#: Inputs of the smile's shape are clipped to the calibrated ranges.
SKEW_RANGE: Final = (115.0, 155.0)
VIX_RANGE: Final = (9.0, 90.0)
#: Bound on ``short_end_tilt * ln(rate ratio)``: below 1, total variance rises through 9 days.
MAX_SHORT_END_LOG_TILT: Final = 0.9
MIN_SHORT_END_LOG_TILT: Final = -1.5
#: Least value of Gatheral's density function ``g`` kept by the smile.
DENSITY_MARGIN: Final = 0.05
#: Largest ``a`` in ``lambda = (w / THETA_REF)**a``: keeps total variance rising with time.
MAX_SMILE_TERM_POWER: Final = 0.35
#: Largest elasticity ``y V'/V`` kept by the SVI core (calendar condition, see `expiry_smile`).
MAX_ELASTICITY: Final = 1.8
#: Grid of |y| searched for the end of the SVI core.
_WING_GRID: Final = np.linspace(0.0, 40.0, 801)
#: The grid mirrored and joined, negative side first: `_wing_starts` evaluates both in one pass.
_WING_GRIDS: Final = np.concatenate((-_WING_GRID, _WING_GRID))
_WING_GRIDS_SQUARED: Final = _WING_GRIDS * _WING_GRIDS
#: Grid of z on which the variance-swap average of the smile is integrated.
_Z_GRID: Final = np.linspace(-16.0, 8.0, 1201)
#: SPX option ticks: 0.05 below 3.00, 0.10 from 3.00 (Cboe SPX contract specifications).
TICK_SMALL: Final = 0.05
TICK_LARGE: Final = 0.10
TICK_BREAK: Final = 3.00
#: SPX option markets widen in stress: above this VIX a modelled chain's half spreads are
#: ``(VIX / SPREAD_CALM_VIX) ** SPREAD_STRESS_POWER`` times the calm ones (`spread_stress`).
#: Fitted by `bench/spread_calibration.py` on the shipped regular-session snapshots: the real
#: half spread over the calm formula's was 0.7-1.4 at VIX 12-25, 2.3 at VIX 37.6 and 45.3
#: (April 2025) and 5.6 at VIX 66 (2020-03-20).
SPREAD_CALM_VIX: Final = 27.0
SPREAD_STRESS_POWER: Final = 1.9


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexLevels:
    """The day's Cboe index levels that drive the surface, in index points (VIX 18.5 = 18.5 %).

    Attributes:
        vix: VIX (30-day variance swap on SPX).
        vix9d: VIX9D (9 days).
        vix3m: VIX3M (93 days).
        skew: Cboe SKEW (100 - 10 x the 30-day risk-neutral skewness).
        observed: Which values these are, for people ("VIX/VIX9D/VIX3M opening values of ...").
    """

    vix: float
    vix9d: float
    vix3m: float
    skew: float
    observed: str = ""

    def __post_init__(self) -> None:
        for name in ("vix", "vix9d", "vix3m", "skew"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, was {value}")


@dataclass(frozen=True, slots=True, kw_only=True)
class SurfaceParams:
    """Global constants of the surface (see the module docstring for the formulas).

    Attributes:
        overnight_share: Share of a trading day's variance carried by the gap before its open.
        short_end_tilt: How far the rate below 9 days extrapolates the VIX9D/VIX slope.
        atm_log_ratio: ln of ATM variance x R over swap variance, at VIX 20.
        atm_log_ratio_vix: Its change per unit of ln(VIX / 20).
        wing_log_level, wing_log_skew, wing_log_vix: ``ln b`` and its slopes in ``x`` and
            ``ln(VIX / 20)``.
        tilt_level, tilt_skew: ``atanh rho`` and its slope in ``x``.
        curvature_log_level, curvature_log_skew: ``ln s`` and its slope in ``x``.
        smile_term_power: ``a`` in ``lambda = min(w_flat / THETA_REF, 1)**a``.
        smile_scale: Multiplies ``b``; 0 gives a flat smile at the ATM level (what-if and tests).
        variance_floor: Floor on the total-variance ratio ``v(z)``.
        iv_floor: Floor on the model IV.
    """

    overnight_share: float
    short_end_tilt: float
    atm_log_ratio: float
    atm_log_ratio_vix: float
    wing_log_level: float
    wing_log_skew: float
    wing_log_vix: float
    tilt_level: float
    tilt_skew: float
    curvature_log_level: float
    curvature_log_skew: float
    smile_term_power: float
    smile_scale: float = 1.0
    variance_floor: float = 0.05
    iv_floor: float = 0.02

    def __post_init__(self) -> None:
        if not 0.0 <= self.overnight_share < 1.0:
            raise ValueError(f"overnight_share must be in [0, 1), was {self.overnight_share}")
        if not 0.0 <= self.smile_term_power <= MAX_SMILE_TERM_POWER:
            raise ValueError(
                f"smile_term_power must be in [0, {MAX_SMILE_TERM_POWER}], was "
                f"{self.smile_term_power}"
            )
        if self.smile_scale < 0:
            raise ValueError(f"smile_scale must be >= 0, was {self.smile_scale}")
        if not (self.variance_floor > 0 and self.iv_floor > 0):
            raise ValueError(
                f"floors must be positive, were {self.variance_floor} and {self.iv_floor}"
            )


#: Fitted by ``bench/surface_calibration.py --fit`` on 2026-11-27: least squares on our mid IVs
#: of the 16 shipped Cboe snapshots (OTM, bid >= 0.50, 0-45 days, 37,874 options, each snapshot
#: weighted equally). |model IV - IV| over all those options: vs our mid IVs median 0.0071, p95
#: 0.0384; vs Cboe's printed IVs median 0.0081, p95 0.0497; leave-one-day-out (``--loo``) vs mid
#: IVs median 0.0078, p95 0.0728 (the 2020-03-20 crash day, VIX 66, is the outlier: 0.078 /
#: 0.149 when left out). Per-snapshot figures: run the bench.
CALIBRATED: Final = SurfaceParams(
    overnight_share=0.4178,
    short_end_tilt=1.619,
    atm_log_ratio=-0.09922,
    atm_log_ratio_vix=-0.007973,
    wing_log_level=0.6347,
    wing_log_skew=0.2857,
    wing_log_vix=0.08005,
    tilt_level=-0.1975,
    tilt_skew=0.03095,
    curvature_log_level=2.265,
    curvature_log_skew=0.09489,
    smile_term_power=0.1019,
)


# ---------------------------------------------------------------------------------------------
# Variance clock


@dataclass(frozen=True, slots=True)
class ClockSpan:
    """Trading-day units between two moments, split by where the variance is carried.

    Attributes:
        overnight: Gaps between sessions covered (1.0 = one whole gap, however long).
        session: Sessions covered, weighted by the intraday profile (1.0 = one session).
    """

    overnight: float
    session: float

    def tau_years(self, overnight_share: float) -> float:
        """Return the variance time in years for a given overnight share."""
        units = overnight_share * self.overnight + (1.0 - overnight_share) * self.session
        return units / TRADING_DAYS_PER_YEAR


@dataclass(frozen=True, slots=True)
class ExpiryClock:
    """Everything the surface needs about one expiry's timing, computed once.

    Attributes:
        t_years: Calendar time to settlement (ACT/365), as `core.chain` measures it.
        span: Variance clock to settlement.
        nodes: Variance clock to 9, 30 and 93 calendar days from the quote time.
    """

    t_years: float
    span: ClockSpan
    nodes: tuple[ClockSpan, ClockSpan, ClockSpan]


def clock_span(
    start: datetime,
    end: datetime,
    *,
    holidays: Collection[date] = NYSE_HOLIDAYS,
    early_closes: Collection[date] = NYSE_EARLY_CLOSES,
) -> ClockSpan:
    """Return the trading-day units between two aware moments (zero if ``end <= start``).

    Raises:
        ValueError: If either moment is naive.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError(f"moments must be timezone-aware, were {start!r} and {end!r}")
    if end <= start:
        return ClockSpan(0.0, 0.0)
    if holidays is NYSE_HOLIDAYS and early_closes is NYSE_EARLY_CLOSES:
        return _nyse_clock_span(start, end)
    return _clock_span(start, end, holidays, early_closes)


@lru_cache(maxsize=65536)
def _nyse_clock_span(start: datetime, end: datetime) -> ClockSpan:
    # The NYSE calendar's spans, remembered: the engine asks for the same span to settlement
    # several times a bar (marks, alerts, the screen).
    return _clock_span(start, end, NYSE_HOLIDAYS, NYSE_EARLY_CLOSES, whole_days=_nyse_whole_days)


def _nyse_whole_days(first: date, last: date) -> int:
    # NYSE trading days strictly between two trading days.
    return max(trading_days_between(first, last) - 1, 0)


def clear_clock_span_cache() -> None:
    """Forget the remembered NYSE spans (benchmarks time each run from cold)."""
    _nyse_clock_span.cache_clear()


def _clock_span(
    start: datetime,
    end: datetime,
    holidays: Collection[date],
    early_closes: Collection[date],
    *,
    whole_days: Callable[[date, date], int] | None = None,
) -> ClockSpan:
    # Walks the trading days from `start` to `end`, adding each gap's and session's share.
    # A day after the first whose session ends before `end` is covered whole: its gap adds
    # exactly gap / gap = 1.0 and its session
    # intraday_variance_share(1.0) - intraday_variance_share(0.0).
    # With `whole_days` (trading days strictly between two trading days) those days are
    # counted instead of walked and the same two terms added as often, in the same order,
    # so the sums are the walk's to the last bit.
    start = start.astimezone(NEW_YORK)
    end = end.astimezone(NEW_YORK)
    day = start.date()
    if not is_trading_day(day, holidays) or session_close(day, early_closes) <= start:
        day = next_trading_day(day, holidays)
    prev_close = session_close(previous_trading_day(day, holidays), early_closes)
    overnight = session = 0.0
    first = True
    while True:
        opens, closes = session_open(day), session_close(day, early_closes)
        gap = (opens - prev_close).total_seconds()
        overnight += _overlap_seconds(prev_close, opens, start, end) / gap
        length = (closes - opens).total_seconds()
        lo = min(max((start - opens).total_seconds() / length, 0.0), 1.0)
        hi = min(max((end - opens).total_seconds() / length, 0.0), 1.0)
        session += intraday_variance_share(hi) - intraday_variance_share(lo)
        if closes >= end:
            return ClockSpan(overnight, session)
        if first and whole_days is not None:
            last = end.date()
            if not is_trading_day(last, holidays) or session_close(last, early_closes) < end:
                last = next_trading_day(last, holidays)
            whole = intraday_variance_share(1.0) - intraday_variance_share(0.0)
            for _ in range(whole_days(day, last)):
                overnight += 1.0
                session += whole
            day = last
            prev_close = session_close(previous_trading_day(last, holidays), early_closes)
        else:
            prev_close = closes
            day = next_trading_day(day, holidays)
        first = False


def clock_spans_to(
    starts: Sequence[datetime], end: datetime, *, stamps: FloatArray | None = None
) -> tuple[FloatArray, FloatArray]:
    """`clock_span(start, end)` on the NYSE calendar for many starts, as two arrays.

    For the backtest's screen, which needs every bar's clock at once. A start inside a
    session is that session's remaining share plus the span from its close to `end`; when
    `end` falls in the same session, the share between the two. Both are worked out for all
    such starts as arrays; any other start (before an open, at night) goes through
    `clock_span`. Only the latest close before `end` is walked to it (`_day_clocks`). The
    array arithmetic (NumPy's power, sums grouped by day) agrees with `clock_span`'s walk to
    rounding (a few ulps), not always to the bit.

    Args:
        starts: The moments (aware).
        end: The common end (aware).
        stamps: The starts as POSIX seconds, when the caller has them (``start.timestamp()``
            each, e.g. a backtest path's column); the starts are then taken as aware.

    Returns:
        (overnight, session): `ClockSpan.overnight` and `ClockSpan.session` of each start.

    Raises:
        ValueError: If `end` or a start is naive, or `stamps` is not one per start.
    """
    if end.tzinfo is None:
        raise ValueError(f"end must be timezone-aware, was {end!r}")
    n = len(starts)
    if stamps is None:
        stamps = posix_stamps(starts, "starts")
    elif stamps.shape != (n,):
        raise ValueError(f"stamps must hold one value per start ({n}), had shape {stamps.shape}")
    overnight = np.zeros(n)
    session = np.zeros(n)
    if not n:
        return overnight, session
    # Every calendar day from the earliest start's to the latest's (non-trading ones drop out).
    first = starts[int(np.argmin(stamps))].astimezone(NEW_YORK).date()
    last = starts[int(np.argmax(stamps))].astimezone(NEW_YORK).date()
    days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
    end_stamp = end.timestamp()
    at_close = intraday_variance_share(1.0)
    clocks = list(_day_clocks(days, end).values())  # in date order: the sessions ascend
    served = np.zeros(n, dtype=np.bool_)
    if clocks:
        opens = np.array([c[0] for c in clocks])
        closes = np.array([c[1] for c in clocks])
        # Each start's session: the latest open at or before it, if the start is before that
        # session's close (and before `end`).
        day = np.maximum(np.searchsorted(opens, stamps, side="right") - 1, 0)
        served = (stamps >= opens[day]) & (stamps < np.minimum(closes, end_stamp)[day])
        day = day[served]
        lo = np.clip((stamps[served] - opens[day]) / (closes[day] - opens[day]), 0.0, 1.0)
        rests = [c[2] for c in clocks]
        # The end's own session (no rest): the share up to `end`, as a float's power.
        up_to_end = np.array(
            [
                intraday_variance_share(min(max((end_stamp - o) / (c - o), 0.0), 1.0))
                if rest is None
                else math.nan
                for o, c, rest in clocks
            ]
        )
        walked = np.array([rest is not None for rest in rests])[day]
        rest_overnight = np.array([0.0 if r is None else r.overnight for r in rests])[day]
        rest_session = np.array([0.0 if r is None else r.session for r in rests])[day]
        shares = intraday_variance_share(lo)
        overnight[served] = np.where(walked, rest_overnight, 0.0)
        session[served] = np.where(
            walked, (at_close - shares) + rest_session, up_to_end[day] - shares
        )
    for i in np.flatnonzero(~served).tolist():
        span = clock_span(starts[i], end)
        overnight[i], session[i] = span.overnight, span.session
    return overnight, session


def _day_clocks(
    days: Collection[date], end: datetime
) -> dict[date, tuple[float, float, ClockSpan | None]]:
    # `clock_spans_to`'s view of each trading day among `days`: its open and close in POSIX
    # seconds and the span from its close to `end` (None when `end` is within the session).
    # Only the latest close before `end` is walked to it: from an earlier close the span adds
    # one whole gap and one whole session per trading day up to that one, as the walk does.
    listed = sorted(d for d in days if is_trading_day(d, NYSE_HOLIDAYS))
    closes = {d: session_close(d) for d in listed}
    before_end = [d for d in listed if closes[d] < end]
    rests: dict[date, ClockSpan] = {}
    if before_end:
        anchor = before_end[-1]
        walked = clock_span(closes[anchor], end)
        one = np.timedelta64(1, "D")
        after = np.array(before_end, dtype="datetime64[D]") + one
        counts = np.busday_count(
            after, np.datetime64(anchor, "D") + one, busdaycal=NYSE_BUSINESS_DAYS
        )
        whole = intraday_variance_share(1.0) - intraday_variance_share(0.0)
        for d, k in zip(before_end, counts.tolist(), strict=True):
            rests[d] = ClockSpan(walked.overnight + k, walked.session + k * whole)
    return {d: (session_open(d).timestamp(), closes[d].timestamp(), rests.get(d)) for d in listed}


def _overlap_seconds(a: datetime, b: datetime, start: datetime, end: datetime) -> float:
    return max((min(b, end) - max(a, start)).total_seconds(), 0.0)


_Fraction = TypeVar("_Fraction", float, FloatArray)


def intraday_variance_share(u: _Fraction) -> _Fraction:
    """Share of a session's variance carried before the fraction ``u`` of it has elapsed.

    A float or an array of them (NumPy's power: equal to the float's to rounding).
    """
    c = INTRADAY_U
    return (1.0 - c / 12.0) * u + c * ((u - 0.5) ** 3 + 0.125) / 3.0


def expiry_clock(
    quote_time: datetime,
    t_years: float,
    *,
    holidays: Collection[date] = NYSE_HOLIDAYS,
    early_closes: Collection[date] = NYSE_EARLY_CLOSES,
) -> ExpiryClock:
    """Return the clock of an expiry ``t_years`` (ACT/365) after ``quote_time``.

    Raises:
        ValueError: If ``quote_time`` is naive.
    """
    if quote_time.tzinfo is None:
        raise ValueError(f"quote_time must be timezone-aware, was {quote_time!r}")
    # Elapsed time: added in UTC, as `t_years` counts it (`elapsed_seconds`), not on New York's
    # wall clock, which would land an hour off across a daylight-saving change.
    settles = quote_time.astimezone(UTC) + timedelta(seconds=max(t_years, 0.0) * SECONDS_PER_YEAR)
    nodes = tuple(
        clock_span(
            quote_time,
            quote_time + timedelta(days=days),
            holidays=holidays,
            early_closes=early_closes,
        )
        for days in INDEX_DAYS
    )
    span = clock_span(quote_time, settles, holidays=holidays, early_closes=early_closes)
    return ExpiryClock(t_years, span, (nodes[0], nodes[1], nodes[2]))


def calendar_clock(t_years: float) -> ExpiryClock:
    """Return a clock on which variance time equals calendar time (no sessions, no weekends).

    For callers without a quote time; the overnight share then has no effect.
    """
    units = TRADING_DAYS_PER_YEAR
    span = ClockSpan(t_years * units, t_years * units)
    nodes = tuple(ClockSpan(d / 365 * units, d / 365 * units) for d in INDEX_DAYS)
    return ExpiryClock(t_years, span, (nodes[0], nodes[1], nodes[2]))


# ---------------------------------------------------------------------------------------------
# The surface


@dataclass(frozen=True, slots=True)
class SmileShape:
    """The day's SVI smile in ``y = lambda * z`` (the same for every expiry of the day).

    Attributes:
        b: Wing level.
        rho: Tilt (negative: puts over calls).
        s: Curvature scale.
    """

    b: float
    rho: float
    s: float


def smile_shape(indices: IndexLevels, params: SurfaceParams) -> SmileShape:
    """Return the day's smile shape (the same for every expiry; ``lambda`` scales it)."""
    x = (min(max(indices.skew, SKEW_RANGE[0]), SKEW_RANGE[1]) - 130.0) / 10.0
    lv = math.log(min(max(indices.vix, VIX_RANGE[0]), VIX_RANGE[1]) / 20.0)
    p = params
    b = p.smile_scale * math.exp(p.wing_log_level + p.wing_log_skew * x + p.wing_log_vix * lv)
    rho = math.tanh(p.tilt_level + p.tilt_skew * x)
    s = math.exp(p.curvature_log_level + p.curvature_log_skew * x)
    return SmileShape(b, rho, s)


def _svi(y: FloatArray, b: float, rho: float, s: float) -> tuple[FloatArray, FloatArray]:
    root = np.sqrt(y * y + s * s)
    v: FloatArray = 1.0 + b * (rho * y + root - s)
    slope: FloatArray = b * (rho + y / root)
    return v, slope


def _svi_level(y: FloatArray, b: float, rho: float, s: float) -> FloatArray:
    # `_svi`'s v alone, by the same operations.
    root = np.sqrt(y * y + s * s)
    v: FloatArray = 1.0 + b * (rho * y + root - s)
    return v


def _wing_starts(shape: SmileShape, scale: float, w_atm: float) -> tuple[float, float]:
    """Return where the SVI core gives way to straight wings for one expiry: (y < 0, y > 0).

    Gatheral's density condition ``g >= 0`` (Gatheral and Jacquier, "Arbitrage-free SVI
    volatility surfaces", 2014, eq. 2.1) for ``w = w_atm V(lambda z)`` reads
    ``g = (1 - e/2)**2 + lambda**2 (V''/2 - V'**2/(4V) - w_atm V'**2/16)`` with the elasticity
    ``e = y V'/V``. On a straight wing ``V = alpha + beta y`` from ``y_j`` outwards,
    ``4 u**2 (g - m)`` is the quadratic ``(1 - 4m - lambda**2 w_atm beta**2/4) u**2 +
    (2 alpha - lambda**2 beta**2) u + alpha**2`` in ``u = V >= V(y_j)``. Going outwards, the
    core ends where ``g`` or the wing's least value first falls to ``m = DENSITY_MARGIN``, or the
    elasticity reaches `MAX_ELASTICITY` (for the calendar condition, see `expiry_smile`); the
    crossing is interpolated so that the wing start moves smoothly with the inputs.
    """
    terms = _wing_terms(shape.b, shape.rho, shape.s)
    lam2 = scale * scale
    # Each line repeats the textbook expression's operations in their order (shape-only parts
    # come from `_wing_terms`), so the result is the same to the last bit.
    core_room = (
        terms.elasticity_term
        + lam2 * (terms.half_curvature - terms.slope_sq * (terms.inv_4v + w_atm / 16.0))
        - DENSITY_MARGIN
    )
    # The straight wing's quadratic, at its vertex if that lies outwards, else at V(y_j).
    beta2 = lam2 * terms.slope * terms.slope
    qa = 1.0 - 4.0 * DENSITY_MARGIN - w_atm * beta2 / 4.0
    qb = terms.two_alpha - beta2
    vertex = -qb / (2.0 * qa)
    at_start = qa * terms.safe_v_sq + qb * terms.safe_v + terms.alpha_sq
    at_vertex = terms.alpha_sq - qb * qb / (4.0 * qa)
    wing_room = np.where(qa > 0, np.where(vertex > terms.safe_v, at_vertex, at_start), -1.0)
    room = np.minimum.reduce([core_room, wing_room / terms.four_v_sq, terms.elasticity_room])
    room = np.where(terms.v_positive, room, -1.0)
    # Both sides were evaluated in one pass over `_WING_GRIDS`; search each outwards.
    half = _WING_GRID.size
    return (
        _wing_end(room[:half], _WING_GRIDS[:half]),
        _wing_end(room[half:], _WING_GRIDS[half:]),
    )


def _wing_end(room: FloatArray, grid: FloatArray) -> float:
    hits = np.flatnonzero(room < 0)
    if not hits.size:
        return float(grid[-1])
    i = int(hits[0])
    if i == 0:
        return 0.0
    frac = float(room[i - 1] / (room[i - 1] - room[i]))
    return float(grid[i - 1] + frac * (grid[i] - grid[i - 1]))


class _WingTerms(NamedTuple):
    # The parts of `_wing_starts`'s conditions that depend on the day's shape alone (every
    # expiry of a day shares them), over `_WING_GRIDS`. Read-only arrays.
    slope: FloatArray
    safe_v: FloatArray
    elasticity_term: FloatArray  # (1 - e/2)**2
    elasticity_room: FloatArray  # MAX_ELASTICITY - e
    half_curvature: FloatArray
    slope_sq: FloatArray
    inv_4v: FloatArray
    two_alpha: FloatArray
    alpha_sq: FloatArray
    safe_v_sq: FloatArray
    four_v_sq: FloatArray
    v_positive: NDArray[np.bool_]


@lru_cache(maxsize=16)
def _wing_terms(b: float, rho: float, s: float) -> _WingTerms:
    grid = _WING_GRIDS
    root = np.sqrt(_WING_GRIDS_SQUARED + s * s)
    v = 1.0 + b * (rho * grid + root - s)
    slope = b * (rho + grid / root)
    curvature = b * s * s / root**3
    safe_v = np.maximum(v, 1e-12)
    elasticity = grid * slope / safe_v
    alpha = v - slope * grid
    safe_v_sq = safe_v**2
    terms = _WingTerms(
        slope=slope,
        safe_v=safe_v,
        elasticity_term=(1.0 - elasticity / 2.0) ** 2,
        elasticity_room=MAX_ELASTICITY - elasticity,
        half_curvature=curvature / 2.0,
        slope_sq=slope * slope,
        inv_4v=1.0 / (4.0 * safe_v),
        two_alpha=2.0 * alpha,
        alpha_sq=alpha**2,
        safe_v_sq=safe_v_sq,
        four_v_sq=4.0 * safe_v_sq,
        v_positive=v > 0,
    )
    for array in terms:
        array.flags.writeable = False
    return terms


def _variance_ratio(
    y: FloatArray, shape: SmileShape, ends: tuple[float, float], floor: float
) -> FloatArray:
    """Return ``V(y)``, total variance over ATM total variance, straight beyond ``ends``."""
    lo, hi = ends
    v = _svi_level(np.clip(y, lo, hi), shape.b, shape.rho, shape.s)
    finite = [end for end in (lo, hi) if math.isfinite(end)]
    if finite:
        # Both ends in one call: _svi works element by element.
        v_ends, slope_ends = _svi(np.array(finite), shape.b, shape.rho, shape.s)
        for end, v_end, slope_end in zip(finite, v_ends.tolist(), slope_ends.tolist(), strict=True):
            beyond = y < end if end < 0 else y > end
            v = np.where(beyond, v_end + slope_end * (y - end), v)
    return np.maximum(v, floor)


def _swap_ratio(shape: SmileShape, scale: float, ends: tuple[float, float], floor: float) -> float:
    if shape.b == 0.0 or scale == 0.0:
        return 1.0
    # Gatheral (2006) eq. 11.5 in the short-time limit d2 = -z / sqrt(v(z)).
    v = _variance_ratio(scale * _Z_GRID, shape, ends, floor)
    d2 = -_Z_GRID / np.sqrt(v)
    f = v * np.exp(-0.5 * d2 * d2) / math.sqrt(2.0 * math.pi)
    return float(np.sum(0.5 * (f[1:] + f[:-1]) * np.abs(np.diff(d2))))


def swap_total_variance(
    clock: ExpiryClock, indices: IndexLevels, params: SurfaceParams
) -> tuple[float, float]:
    """Return (variance-swap total variance to the expiry, its variance time in years).

    Interpolates the VIX9D / VIX / VIX3M total variances linearly in variance time, as the
    module docstring describes.
    """
    share = params.overnight_share
    taus = [n.tau_years(share) for n in clock.nodes]
    levels = (indices.vix9d, indices.vix, indices.vix3m)
    w = [(lv / 100.0) ** 2 * days / 365.0 for lv, days in zip(levels, INDEX_DAYS, strict=True)]
    rate30 = w[1] / taus[1]
    for i in (1, 2):  # keep the forward variance positive
        w[i] = max(w[i], w[i - 1] + FORWARD_VARIANCE_FLOOR * rate30 * (taus[i] - taus[i - 1]))
    tau = clock.span.tau_years(share)
    if tau <= 0.0:
        return 0.0, 0.0
    if tau < taus[0]:
        rate9 = w[0] / taus[0]
        log_tilt = params.short_end_tilt * math.log(rate9 / rate30)
        log_tilt = min(max(log_tilt, MIN_SHORT_END_LOG_TILT), MAX_SHORT_END_LOG_TILT)
        return tau * rate9 * math.exp(log_tilt * (1.0 - tau / taus[0])), tau
    if tau <= taus[2]:
        return float(np.interp(tau, taus, w)), tau
    forward_rate = (w[2] - w[1]) / (taus[2] - taus[1])
    return w[2] + forward_rate * (tau - taus[2]), tau


@dataclass(frozen=True, slots=True)
class ExpirySmile:
    """The model's smile of one expiry.

    Attributes:
        w_atm: ATM total variance.
        scale: ``lambda``, the scale from ``z = ln(K/F) / sqrt(w_atm)`` to the day's ``y``.
        shape: The day's smile shape.
        ends: Where the SVI core gives way to straight wings, in ``y`` (negative, positive).
        swap_ratio: ``R``, variance-swap variance over ATM variance for this smile.
    """

    w_atm: float
    scale: float
    shape: SmileShape
    ends: tuple[float, float]
    swap_ratio: float


def expiry_smile(clock: ExpiryClock, indices: IndexLevels, params: SurfaceParams) -> ExpirySmile:
    """Return the ATM total variance and smile of one expiry."""
    w_swap, _ = swap_total_variance(clock, indices, params)
    shape = smile_shape(indices, params)
    lv = math.log(min(max(indices.vix, VIX_RANGE[0]), VIX_RANGE[1]) / 20.0)
    w_flat = w_swap * math.exp(params.atm_log_ratio + params.atm_log_ratio_vix * lv)
    scale = min(max(w_flat, 0.0) / THETA_REF, 1.0) ** params.smile_term_power
    # The wing starts use w_flat >= w_atm (R >= 1): the density condition only gets stricter.
    ends = _wing_starts(shape, scale, w_flat) if shape.b > 0 else (-math.inf, math.inf)
    ratio = _swap_ratio(shape, scale, ends, params.variance_floor)
    return ExpirySmile(w_flat / ratio, scale, shape, ends, ratio)


def smile_iv(
    log_moneyness: ArrayLike,
    clock: ExpiryClock,
    indices: IndexLevels,
    params: SurfaceParams,
) -> FloatArray:
    """Return model IVs at ``ln(K / F)`` for one expiry whose clock is known.

    IVs are annualised on the calendar clock (ACT/365), like `core.chain`'s; NaN once the expiry
    has no time left.
    """
    k = np.asarray(log_moneyness, dtype=np.float64)
    if clock.t_years <= 0.0:
        return np.full(k.shape, np.nan)
    return _smile_iv(k, clock.t_years, expiry_smile(clock, indices, params), params)


def _smile_iv(
    k: FloatArray, t_years: float, smile: ExpirySmile, params: SurfaceParams
) -> FloatArray:
    if smile.w_atm <= 0.0:
        return np.full(k.shape, np.nan)
    y = smile.scale * k / math.sqrt(smile.w_atm)
    v = _variance_ratio(y, smile.shape, smile.ends, params.variance_floor)
    iv: FloatArray = np.maximum(np.sqrt(smile.w_atm * v / t_years), params.iv_floor)
    return iv


def model_iv(
    strikes: ArrayLike,
    forward: float,
    t_years: float,
    indices: IndexLevels,
    params: SurfaceParams = CALIBRATED,
    *,
    quote_time: datetime | None = None,
    holidays: Collection[date] = NYSE_HOLIDAYS,
    early_closes: Collection[date] = NYSE_EARLY_CLOSES,
) -> FloatArray:
    """Return the model's Black-76 IVs of one expiry.

    Args:
        strikes: Strikes, index points.
        forward: Forward of the expiry, index points.
        t_years: Calendar time to settlement, ACT/365 (as `core.chain.ExpiryTerms.t_years`).
        indices: The day's VIX, VIX9D, VIX3M and SKEW.
        params: Surface constants.
        quote_time: When the IVs apply. With it, variance runs on the trading clock (sessions,
            nights, weekends); without it, on calendar time, which misprices expiries within a
            few days (a Friday quote of a Monday expiry, or a 0DTE).
        holidays: Exchange holidays for the trading clock.
        early_closes: 13:00 closes for the trading clock.

    Returns:
        IVs as fractions, one per strike; NaN when ``t_years <= 0``.

    Raises:
        ValueError: If the forward is not a positive number or ``quote_time`` is naive.
    """
    if not (math.isfinite(forward) and forward > 0):
        raise ValueError(f"forward must be a positive number, was {forward}")
    k = np.log(np.asarray(strikes, dtype=np.float64) / forward)
    clock = (
        calendar_clock(t_years)
        if quote_time is None
        else expiry_clock(quote_time, t_years, holidays=holidays, early_closes=early_closes)
    )
    return smile_iv(k, clock, indices, params)


# ---------------------------------------------------------------------------------------------
# Modelled chains


def modelled_half_spread(mid: ArrayLike) -> FloatArray:
    """Return a typical SPX half spread for an option priced ``mid``, in index points.

    ``0.06 * mid**0.46``, at least 0.025 (a one-tick market): the median half spread of the OTM
    SPX/SPXW quotes 0-45 days out in the shipped Cboe snapshots is 0.05 at a 0.50-1.00 mid,
    0.10 at 2-5, 0.20 at 10-20, 0.30 at 20-50 and about 0.45 at 50-100.
    """
    m = np.maximum(np.asarray(mid, dtype=np.float64), 0.0)
    half: FloatArray = np.maximum(0.06 * m**0.46, 0.025)
    return half


def spread_stress(vix: float) -> float:
    """How many times its calm half spread an SPX option is quoted at this VIX (at least 1).

    ``(vix / SPREAD_CALM_VIX) ** SPREAD_STRESS_POWER`` above `SPREAD_CALM_VIX`, else exactly 1;
    1 for a VIX that is not a finite number (no evidence of stress). The same bits as
    `spread_stresses` gives for it.
    """
    if not (math.isfinite(vix) and vix > SPREAD_CALM_VIX):
        return 1.0  # calm (or no evidence): exactly what `spread_stresses` gives, no array made
    return float(spread_stresses(np.array([vix], dtype=np.float64))[0])


def spread_stresses(vix: ArrayLike) -> FloatArray:
    """`spread_stress` element by element (NumPy does the power, for any length the same)."""
    levels = np.asarray(vix, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        stressed = np.isfinite(levels) & (levels > SPREAD_CALM_VIX)
    out = np.ones(levels.shape)
    out[stressed] = (levels[stressed] / SPREAD_CALM_VIX) ** SPREAD_STRESS_POWER
    return out


def _round_to_tick(price: FloatArray) -> FloatArray:
    tick = np.where(price >= TICK_BREAK, TICK_LARGE, TICK_SMALL)
    rounded: FloatArray = np.round(np.round(price / tick) * tick, 2)
    return rounded


def model_chain(
    spot: float,
    quote_time: datetime,
    expiries: Sequence[tuple[str, date]],
    indices: IndexLevels,
    params: SurfaceParams = CALIBRATED,
    *,
    rate: float,
    dividend_yield: float,
    strikes_step: float = 5.0,
    z_range: tuple[float, float] = (-10.0, 6.0),
    half_spread: Callable[[FloatArray], FloatArray] = modelled_half_spread,
    underlying: str = "SPX",
    holidays: Collection[date] = NYSE_HOLIDAYS,
    early_closes: Collection[date] = NYSE_EARLY_CLOSES,
) -> OptionChain:
    """Build a modelled `OptionChain` for a moment without a real snapshot.

    Each expiry gets strikes on a ``strikes_step`` grid from ``z_range[0]`` to ``z_range[1]``
    ATM standard deviations around its forward ``spot * exp((rate - dividend_yield) * t)``, a
    call and a put at each. The mid is the Black-76 price at the model IV; bid and ask are the
    mid less and plus ``half_spread(mid)`` times `spread_stress` of the VIX in ``indices``, each
    rounded to the SPX tick (0.05 below 3.00, 0.10 from it), at least one tick apart, the bid
    floored at 0. `core.chain.build_chain` then fits forwards and solves IVs and greeks from
    these quotes, as for a real chain. The chain's
    ``modelled`` says what was modelled and ``source`` says "modelled chain".

    Args:
        spot: SPX level at ``quote_time`` (e.g. from the 1-minute bars).
        quote_time: The moment modelled (aware).
        expiries: (root, expiry) pairs; root "SPX" settles AM, others (SPXW) PM.
        indices: The index levels known at ``quote_time``.
        params: Surface constants.
        rate: Continuously compounded discount rate, a fraction (an input, not market data).
        dividend_yield: Continuous dividend yield, a fraction (an input, not market data).
        strikes_step: Strike spacing, index points.
        z_range: Strike range in ATM standard deviations (low, high).
        half_spread: Calm half spread in points as a function of the mid.
        underlying: Index symbol.
        holidays: Exchange holidays.
        early_closes: 13:00 closes.

    Raises:
        ValueError: If the spot, step or range are not positive and ordered, the quote time is
            naive, no expiry is given, or an expiry has settled by ``quote_time``.
    """
    request = ChainRequest(
        spot=spot,
        quote_time=quote_time,
        expiries=tuple(expiries),
        indices=indices,
        rate=rate,
        dividend_yield=dividend_yield,
    )
    return model_chains(
        [request],
        params,
        strikes_step=strikes_step,
        z_range=z_range,
        half_spread=half_spread,
        underlying=underlying,
        holidays=holidays,
        early_closes=early_closes,
    )[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainRequest:
    """One modelled chain for `model_chains`: the arguments of `model_chain` that vary by moment.

    Attributes:
        spot: SPX level at ``quote_time``.
        quote_time: The moment modelled (aware).
        expiries: (root, expiry) pairs to list.
        indices: The index levels known at ``quote_time``.
        rate: Continuously compounded discount rate, a fraction (an input, not market data).
        dividend_yield: Continuous dividend yield, a fraction (an input, not market data).
        spot_modelled: Where the spot comes from when it is not a print (e.g. a point on a
            modelled intraday path); the chain then says so in its ``modelled`` lines.
    """

    spot: float
    quote_time: datetime
    expiries: tuple[tuple[str, date], ...]
    indices: IndexLevels
    rate: float
    dividend_yield: float
    spot_modelled: str | None = None


def model_chains(
    requests: Sequence[ChainRequest],
    params: SurfaceParams = CALIBRATED,
    *,
    strikes_step: float = 5.0,
    z_range: tuple[float, float] = (-10.0, 6.0),
    half_spread: Callable[[FloatArray], FloatArray] = modelled_half_spread,
    underlying: str = "SPX",
    holidays: Collection[date] = NYSE_HOLIDAYS,
    early_closes: Collection[date] = NYSE_EARLY_CLOSES,
) -> list[OptionChain]:
    """`model_chain` for many moments at once; each chain is exactly `model_chain`'s.

    The quotes of every request are priced, and then solved for IVs and greeks
    (`core.chain.build_chains`), in one vectorised pass each: a backtest models a chain a day,
    and a pass over one small chain is mostly fixed cost. ``half_spread`` must work element by
    element. The other arguments are `model_chain`'s, shared by every request.

    Raises:
        ValueError: For the first request `model_chain` would refuse, with its reason.
    """
    if not (math.isfinite(strikes_step) and strikes_step > 0):
        raise ValueError(f"strikes_step must be a positive number, was {strikes_step}")
    if not z_range[0] < 0 < z_range[1]:
        raise ValueError(f"z_range must straddle 0 as (low, high), was {z_range}")
    grids = [
        _strike_grid(request, params, strikes_step, z_range, holidays, early_closes)
        for request in requests
    ]
    segments = [segment for grid in grids for segment in grid]
    if not segments:
        return []
    # Every segment's puts, then its calls, in request and expiry order.
    sizes = np.array([2 * seg.strikes.size for seg in segments])
    strikes = np.concatenate([np.tile(seg.strikes, 2) for seg in segments])
    is_call = np.concatenate([np.repeat((False, True), seg.strikes.size) for seg in segments])
    iv = np.concatenate([np.tile(seg.iv, 2) for seg in segments])
    forward, t_years, rate = (
        np.repeat([getattr(seg, name) for seg in segments], sizes)
        for name in ("forward", "t_years", "rate")
    )
    mid = black76_price(is_call, forward, strikes, t_years, rate, iv)
    half = half_spread(mid)
    stress = spread_stresses(
        [request.indices.vix for request, grid in zip(requests, grids, strict=True) for _ in grid]
    )
    if (stress != 1.0).any():  # a calm market's quotes stay as they were, to the bit
        half = half * np.repeat(stress, sizes)
    bid = np.maximum(_round_to_tick(mid - half), 0.0)
    tick = np.where(bid >= TICK_BREAK, TICK_LARGE, TICK_SMALL)
    ask = np.round(np.maximum(_round_to_tick(mid + half), bid + tick), 2)
    inputs: list[ChainInput] = []
    start = 0
    for request, grid in zip(requests, grids, strict=True):
        n = sum(2 * seg.strikes.size for seg in grid)
        rows = slice(start, start + n)
        start = rows.stop
        quotes = _quotes(grid, strikes[rows], is_call[rows], bid[rows], ask[rows])
        inputs.append(_chain_input(request, quotes, underlying, early_closes))
    return build_chains(inputs)


class _Segment(NamedTuple):
    # One expiry of a request: its strike grid, the model IVs there, and its terms.
    root: str
    expiry: date
    strikes: FloatArray
    iv: FloatArray
    forward: float
    t_years: float
    rate: float


def _strike_grid(
    request: ChainRequest,
    params: SurfaceParams,
    strikes_step: float,
    z_range: tuple[float, float],
    holidays: Collection[date],
    early_closes: Collection[date],
) -> list[_Segment]:
    spot, quote_time = request.spot, request.quote_time
    if not (math.isfinite(spot) and spot > 0):
        raise ValueError(f"spot must be a positive number, was {spot}")
    if quote_time.tzinfo is None:
        raise ValueError(f"quote_time must be timezone-aware, was {quote_time!r}")
    if not request.expiries:
        raise ValueError("expiries must name at least one (root, expiry), was empty")
    segments: list[_Segment] = []
    for root, expiry in request.expiries:
        _, settles_at = settlement_of(root, expiry, early_closes)
        t = elapsed_seconds(quote_time, settles_at) / SECONDS_PER_YEAR
        if t <= 0:
            raise ValueError(
                f"{root} {expiry:%Y-%m-%d} settles at {settles_at:%Y-%m-%d %H:%M} ET, not after "
                f"the quote time {quote_time.astimezone(NEW_YORK):%Y-%m-%d %H:%M} ET"
            )
        forward = spot * math.exp((request.rate - request.dividend_yield) * t)
        clock = expiry_clock(quote_time, t, holidays=holidays, early_closes=early_closes)
        smile = expiry_smile(clock, request.indices, params)
        sd = math.sqrt(max(smile.w_atm, 1e-12))
        lo = math.floor(forward * math.exp(z_range[0] * sd) / strikes_step) * strikes_step
        hi = math.ceil(forward * math.exp(z_range[1] * sd) / strikes_step) * strikes_step
        strikes = np.arange(max(lo, strikes_step), hi + strikes_step / 2, strikes_step)
        # `smile_iv` of the same clock, without building the smile a second time.
        iv = _smile_iv(np.log(strikes / forward), t, smile, params)
        segments.append(_Segment(root, expiry, strikes, iv, forward, t, request.rate))
    return segments


def _quotes(
    grid: Sequence[_Segment],
    strikes: FloatArray,
    is_call: NDArray[np.bool_],
    bid: FloatArray,
    ask: FloatArray,
) -> OptionQuotes:
    # A request's rows of the priced columns, as `core.chain` takes quotes.
    n = strikes.size
    nan = np.full(n, np.nan)
    sizes = [2 * seg.strikes.size for seg in grid]
    return OptionQuotes(
        root=np.repeat(np.array([seg.root for seg in grid], dtype=np.str_), sizes),
        expiry=np.repeat(np.array([seg.expiry for seg in grid], dtype="datetime64[D]"), sizes),
        strike=strikes,
        is_call=is_call,
        bid=bid,
        ask=ask,
        volume=nan,
        open_interest=nan.copy(),
        cboe_iv=nan.copy(),
        cboe_delta=nan.copy(),
        line=np.zeros(n, dtype=np.int64),
    )


def _stress_note(vix: float) -> str:
    stress = spread_stress(vix)
    if stress == 1.0:
        return ""
    return (
        f", widened {stress:.2f} times for stress (VIX {vix:g} above {SPREAD_CALM_VIX:g}: "
        f"(VIX / {SPREAD_CALM_VIX:g}) ** {SPREAD_STRESS_POWER:g})"
    )


def _chain_input(
    request: ChainRequest,
    quotes: OptionQuotes,
    underlying: str,
    early_closes: Collection[date],
) -> ChainInput:
    indices, rate, dividend_yield = request.indices, request.rate, request.dividend_yield
    observed = indices.observed or (
        f"VIX {indices.vix:g}, VIX9D {indices.vix9d:g}, VIX3M {indices.vix3m:g}, "
        f"SKEW {indices.skew:g}"
    )
    modelled: tuple[str, ...] = (
        f"modelled chain: IVs from {observed} via core.surface {SURFACE_VERSION}",
        "modelled quotes: mid = Black-76 price at the model IV, bid/ask = mid -/+ a typical "
        "SPX half spread, rounded to the tick" + _stress_note(indices.vix),
        f"modelled forward: spot x exp((rate {rate:.4f} - dividend yield {dividend_yield:.4f}) "
        "x t); rate and dividend yield are inputs, not market data",
    )
    if request.spot_modelled:
        modelled += (f"modelled spot: SPX {request.spot:.2f} {request.spot_modelled}",)
    return ChainInput(
        quotes=quotes,
        spot=request.spot,
        quote_time=request.quote_time,
        source=(
            f"modelled chain (core.surface {SURFACE_VERSION}; {observed}; spot {request.spot:.2f})"
        ),
        underlying=underlying,
        early_closes=early_closes,
        modelled=modelled,
    )
