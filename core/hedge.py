"""ALVH, the Adaptive Layered VIX Hedge: what to do when a condor is tested on expiration day.

Pure functions of a position, a market state and the rules; the caller passes `asof`.

- `mark` prices the open condor at one bar (Black-76 on each leg's entry IV: sticky strike).
- `evaluate` decides whether a side is tested, reads the triggers, and prices the answers side by
  side: layer 1 (short-dated VIX call spreads, VIX calls, VX/VXM futures, only for a put-side
  test), layer 2 (mid-term VIX call spreads; conversion/reversal dislocations in a real SPX chain),
  and the alternatives to hedging (close or roll the tested spread). The cheapest expected cost is
  recommended. A call-side test is never answered with VIX calls.
- `check_exits` applies the layer-3 rules (stop, breach, time, profit target).
- `settle` scores the day with and without the hedges.
- `step` strings them together with the memory an alert stream needs (exit once, no repeats).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache, partial
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from core.calendar import (
    NEW_YORK,
    elapsed_seconds,
    next_vix_expiration,
    posix_stamps,
    vix_last_trading_day,
)
from core.chain import OptionChain
from core.indicators import divergence, macd, rsi_wilder
from core.pricing import (
    OneGreeks,
    black76_delta,
    black76_greeks_one,
    black76_implied_vol,
    black76_price,
    black76_price_one,
)
from core.rules import Defence, HedgeRules
from core.surface import (
    CALIBRATED,
    TRADING_DAYS_PER_YEAR,
    clock_span,
    clock_spans_to,
    modelled_half_spread,
    spread_stress,
    spread_stresses,
)
from core.types import (
    SPX_MULTIPLIER,
    CondorSignal,
    DailyResult,
    DataStamp,
    Event,
    ExitAlert,
    ExitRule,
    HedgeAction,
    HedgeAlert,
    Instrument,
    NoHedge,
    PositionMark,
    TriggerReading,
    Wing,
)
from core.vix import (
    MODELLED_VIX_OPTION_VOL,
    SensitivityCase,
    VixOptionVolModel,
    VxCurve,
    estimate_vix_future,
)

_YEAR_SECONDS = 365.0 * 24 * 3600
_CENT = Decimal("0.01")
VX_MULTIPLIER = 1000.0
VXM_MULTIPLIER = 100.0
VIX_OPTION_MULTIPLIER = 100.0
#: Half the bid/ask assumed for a VIX option or future when no live quote exists (modelled).
VIX_HALF_SPREAD = 0.05
#: A spread that cannot be sold for at least this much is not worth rolling into, in points.
MIN_SALE_POINTS = 0.10


def _usd(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(_CENT, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenCondor:
    """A condor as filled: the signal, the fill credit and the number of contracts.

    Attributes:
        carry: Continuous carry of the forward over spot at entry (F = S e^{carry t}).
        entry_vix: VIX when the condor was opened; with `iv_scale`, legs are re-marked at their
            entry IVs times the ratio of the VIX now to the VIX then (None: entry IVs as they
            were, sticky strike).
        iv_scale: The factor currently applied to every leg's entry IV.
        spread_stress: `core.surface.spread_stress` of the VIX at the last re-mark (`at`): every
            spread the engine models (closing a leg, a roll's new strikes, a debit spread's) is
            the calm `modelled_half_spread` of the option's value that many times.
    """

    signal: CondorSignal
    fill_credit: Decimal
    contracts: int
    carry: float
    rate: float
    entry_vix: float | None = None
    iv_scale: float = 1.0
    spread_stress: float = 1.0
    entry_tau: float | None = None
    open_legs: tuple[bool, bool, bool, bool] = (True, True, True, True)
    realised_points: float = 0.0
    leg_ivs: tuple[float, float, float, float] | None = None
    #: The legs' strikes as floats (None: read off the signal when needed).
    leg_strikes: tuple[float, float, float, float] | None = None

    @classmethod
    def from_signal(
        cls,
        signal: CondorSignal,
        contracts: int,
        fill_credit: Decimal | None = None,
        entry_vix: float | None = None,
    ) -> OpenCondor:
        """Open a condor at the signal's suggested limit unless a fill credit is given."""
        if contracts < 1:
            raise ValueError(f"contracts must be at least 1, was {contracts}")
        t = max(signal.t_years, 1e-9)
        carry = math.log(float(signal.forward) / float(signal.spot)) / t
        return cls(
            signal=signal,
            fill_credit=signal.limit_price if fill_credit is None else fill_credit,
            contracts=contracts,
            carry=carry,
            rate=0.0,
            entry_vix=entry_vix,
            entry_tau=clock_span(signal.data.quote_time, signal.settles_at).tau_years(
                CALIBRATED.overnight_share
            ),
            leg_ivs=entry_ivs(signal),
            leg_strikes=_strikes_of(signal),
        )

    def with_closed(self, closed: tuple[Wing, ...], realised_points: float) -> OpenCondor:
        """Return the position with the given wings bought back for `realised_points`."""
        put_open = Wing.PUT not in closed
        call_open = Wing.CALL not in closed
        return replace(
            self,
            open_legs=(put_open, put_open, call_open, call_open),
            realised_points=realised_points,
        )

    def wing_open(self, side: Wing) -> bool:
        """Whether that wing is still held."""
        return self.open_legs[1] if side is Wing.PUT else self.open_legs[2]

    def at_vix(self, vix: float) -> OpenCondor:
        """Return the position re-marked for the VIX now (unchanged without an entry VIX)."""
        scale = self._vix_scale(vix)
        return self if scale == self.iv_scale else replace(self, iv_scale=scale)

    def _vix_scale(self, vix: float) -> float:
        # `at_vix`'s IV scale.
        if self.entry_vix is None or not (math.isfinite(vix) and vix > 0):
            return self.iv_scale
        return vix / self.entry_vix

    def at(self, vix: float, asof: datetime) -> OpenCondor:
        """Return the position re-marked at `asof`: VIX ratio times the trading-time factor.

        Leg IVs are quoted on the calendar (ACT/365), but variance accrues in trading time: a
        night carries far less of it than its hours. Holding each leg's implied variance per
        unit of trading time fixed, its calendar IV at `asof` is the entry IV times
        ``sqrt((tau_now / tau_entry) * (t_entry / t_now))`` (tau on `core.surface`'s clock).
        Without this, a 1DTE condor opened at 15:45 would lose most of its value overnight.
        """
        scale = self._vix_scale(vix)
        factor = self.clock_factor(asof)
        if factor != 1.0:
            scale *= factor
        stress = spread_stress(vix)
        if scale == self.iv_scale and stress == self.spread_stress:
            return self
        return replace(self, iv_scale=scale, spread_stress=stress)

    def clock_factor(self, asof: datetime) -> float:
        """The trading-time factor of `at` (1 at entry, and when either clock is spent)."""
        t_now = self.t_years(asof)
        t_entry = self.signal.t_years
        if self.entry_tau is None or self.entry_tau <= 0 or t_now <= 0 or t_entry <= 0:
            return 1.0
        span = clock_span(asof, self.signal.settles_at)
        tau_now = span.tau_years(CALIBRATED.overnight_share)
        if tau_now <= 0:
            return 1.0
        return math.sqrt((tau_now / self.entry_tau) * (t_entry / t_now))

    def clock_factors(
        self,
        asofs: Sequence[datetime],
        t_now: NDArray[np.float64],
        stamps: NDArray[np.float64] | None = None,
    ) -> NDArray[np.float64]:
        """`clock_factor` at many moments at once (the backtest's screen).

        `t_now`: `t_years` at each moment, and `stamps` the moments as POSIX seconds, which
        the caller has at hand. The clocks come from `clock_spans_to`, so a factor may differ
        from `clock_factor`'s in the last bits.
        """
        factors = np.ones(len(asofs))
        t_entry = self.signal.t_years
        if self.entry_tau is None or self.entry_tau <= 0 or t_entry <= 0 or not len(asofs):
            return factors
        overnight, session = clock_spans_to(asofs, self.signal.settles_at, stamps=stamps)
        share = CALIBRATED.overnight_share
        tau_now = (share * overnight + (1.0 - share) * session) / TRADING_DAYS_PER_YEAR
        live = (t_now > 0) & (tau_now > 0)
        factors[live] = np.sqrt((tau_now[live] / self.entry_tau) * (t_entry / t_now[live]))
        return factors

    @property
    def marking_ivs(self) -> tuple[float, float, float, float]:
        """Each leg's IV at entry, as marked (`leg_ivs`, or `entry_ivs` of the signal)."""
        return self.leg_ivs if self.leg_ivs is not None else entry_ivs(self.signal)

    def closing_half_spreads(
        self, values: tuple[float, float, float, float]
    ) -> tuple[float, float, float, float]:
        """Half spreads to close each leg now, at `spread_stress` of the last re-mark.

        The modelled half spread of each leg's value now: a tested leg that has risen costs more
        to buy back than it cost to sell, a cheapened one less.
        """
        return _closing_halves(values, self.spread_stress)

    @property
    def credit_usd(self) -> float:
        """Credit received for all contracts, in dollars."""
        return float(self.fill_credit) * float(SPX_MULTIPLIER) * self.contracts

    def t_years(self, asof: datetime) -> float:
        """Years from `asof` to settlement, zero once settled."""
        return max(elapsed_seconds(asof, self.signal.settles_at) / _YEAR_SECONDS, 0.0)


_SIGNS = np.array([1.0, -1.0, -1.0, 1.0])  # long put, short put, short call, long call
_IS_CALL = np.array([False, False, True, True])
_LEG_IS_CALL = (False, False, True, True)


def _black_pair(
    is_call: bool,
    forward: float,
    strikes: tuple[float, float],
    t_years: float,
    rate: float,
    ivs: tuple[float, float],
) -> tuple[float, float]:
    # Black-76 prices of a spread's two options, one by one: for two to four options at a
    # time `black76_price_one` is ten times quicker than the vectorised pricer (the screen,
    # pricing whole paths, uses that one).
    return (
        black76_price_one(is_call, forward, strikes[0], t_years, rate, ivs[0]),
        black76_price_one(is_call, forward, strikes[1], t_years, rate, ivs[1]),
    )


def _pair_slip(prices: tuple[float, float], stress: float) -> float:
    # The modelled half spreads of a spread's two legs, each widened by `stress`, summed (NumPy
    # does the power, as in `_closing_halves`; the screen widens and sums in this order).
    first, second = modelled_half_spread(prices).tolist()
    return float(first * stress + second * stress)


def _signs(position: OpenCondor) -> NDArray[np.float64]:
    return _SIGNS * np.array(position.open_legs, dtype=np.float64)


def _open_signs(open_legs: tuple[bool, bool, bool, bool]) -> tuple[float, float, float, float]:
    # `_signs` in floats: a leg bought back counts 0.0 (-0.0 for a short one, as in `_signs`).
    a, b, c, d = (1.0 if held else 0.0 for held in open_legs)
    return a, -b, -c, d


def entry_ivs(signal: CondorSignal) -> tuple[float, float, float, float]:
    """Each leg's IV at entry, the IV the engine marks it from.

    The chain leaves a quote without a bid without an IV (`core.chain`), and a long wing far out
    may have none; that leg takes the IV its entry mid implies on the signal's forward, or, if
    the mid implies none, its own side's short-leg IV. Without this, one such wing made every
    mark NaN and the engine stop (a 0DTE condor on 2014-11-28).
    """
    ivs = [leg.iv for leg in signal.legs]
    for i, iv in enumerate(ivs):
        if math.isfinite(iv) and iv > 0:
            continue
        leg = signal.legs[i]
        solved = float(
            black76_implied_vol(
                float(leg.mid),
                _LEG_IS_CALL[i],
                float(signal.forward),
                float(leg.strike),
                max(signal.t_years, 1e-9),
                0.0,
            ).iv.reshape(-1)[0]
        )
        short = signal.legs[1 if i < 2 else 2].iv
        ivs[i] = solved if math.isfinite(solved) and solved > 0 else short
    return ivs[0], ivs[1], ivs[2], ivs[3]


def _strikes_of(signal: CondorSignal) -> tuple[float, float, float, float]:
    legs = signal.legs
    return (
        float(legs[0].strike),
        float(legs[1].strike),
        float(legs[2].strike),
        float(legs[3].strike),
    )


def _leg_strikes(position: OpenCondor) -> tuple[float, float, float, float]:
    known = position.leg_strikes
    return known if known is not None else _strikes_of(position.signal)


def _leg_ivs(position: OpenCondor) -> tuple[float, float, float, float]:
    scale = position.iv_scale
    a, b, c, d = position.marking_ivs
    return a * scale, b * scale, c * scale, d * scale


def _leg_values(
    position: OpenCondor, spot: float, t_years: float
) -> tuple[float, float, float, float]:
    strikes = _leg_strikes(position)
    if t_years <= 0:
        return (
            max(strikes[0] - spot, 0.0),
            max(strikes[1] - spot, 0.0),
            max(spot - strikes[2], 0.0),
            max(spot - strikes[3], 0.0),
        )
    return _priced_legs(strikes, _leg_ivs(position), spot, t_years, position.carry, position.rate)


@lru_cache(maxsize=512)
def _priced_legs(
    strikes: tuple[float, float, float, float],
    ivs: tuple[float, float, float, float],
    spot: float,
    t_years: float,
    carry: float,
    rate: float,
) -> tuple[float, float, float, float]:
    # One bar prices the same four legs for its mark, its exits, and each close and roll it
    # weighs: priced once.
    forward = spot * math.exp(carry * t_years)
    return (
        black76_price_one(False, forward, strikes[0], t_years, rate, ivs[0]),
        black76_price_one(False, forward, strikes[1], t_years, rate, ivs[1]),
        black76_price_one(True, forward, strikes[2], t_years, rate, ivs[2]),
        black76_price_one(True, forward, strikes[3], t_years, rate, ivs[3]),
    )


@lru_cache(maxsize=512)
def _closing_halves(
    values: tuple[float, float, float, float], stress: float
) -> tuple[float, float, float, float]:
    # `OpenCondor.closing_half_spreads`, kept for the bar's close, roll and exit checks. NumPy
    # does the power: its vectorised `**` differs from `math.pow` in the last bit.
    halves = (modelled_half_spread(values) * stress).tolist()
    return halves[0], halves[1], halves[2], halves[3]


def mark(position: OpenCondor, spot: float, asof: datetime) -> PositionMark:
    """Mark the condor at `spot` and `asof`: value, P&L, dollar greeks, distances to the shorts.

    Legs are priced with Black-76 at their entry IVs (sticky strike) on the forward carried from
    entry; that is a model, and alerts say so.
    """
    if not math.isfinite(spot) or spot <= 0:
        raise ValueError(f"spot must be a positive number, was {spot}")
    t = position.t_years(asof)
    strikes = _leg_strikes(position)
    ivs = _leg_ivs(position)
    values = _leg_values(position, spot, t)
    signs = _open_signs(position.open_legs)
    # In leg order, left to right, as `np.sum` adds four numbers: another order can move the
    # last bit.
    value = -(
        signs[0] * values[0] + signs[1] * values[1] + signs[2] * values[2] + signs[3] * values[3]
    )
    n = position.contracts * float(SPX_MULTIPLIER)
    if t > 0:
        forward = spot * math.exp(position.carry * t)
        d_forward = forward / spot
        delta = gamma = theta = vega = 0.0
        for sign, is_call, k, iv, price in zip(
            signs, _LEG_IS_CALL, strikes, ivs, values, strict=True
        ):
            greeks = black76_greeks_one(is_call, forward, k, t, position.rate, iv, price=price)
            delta += sign * greeks.delta
            gamma += sign * greeks.gamma
            theta += sign * greeks.theta_per_day
            vega += sign * greeks.vega_per_vol_point
        delta *= d_forward
        gamma *= d_forward**2
    else:
        delta = gamma = theta = vega = 0.0
    short_put, short_call = strikes[1], strikes[2]
    atm_iv = float(np.interp(spot, (short_put, short_call), (ivs[1], ivs[2])))
    move = spot * atm_iv * math.sqrt(t)
    put_distance = spot - short_put if position.wing_open(Wing.PUT) else math.inf
    call_distance = short_call - spot if position.wing_open(Wing.CALL) else math.inf
    return PositionMark(
        spot=spot,
        t_years=t,
        value_points=value,
        pnl_usd=(float(position.fill_credit) - position.realised_points - value) * n,
        delta_usd_per_point=delta * n,
        gamma_usd_per_point=gamma * n,
        theta_usd_per_day=theta * n,
        vega_usd_per_vol_point=vega * n,
        put_distance_points=put_distance,
        call_distance_points=call_distance,
        put_distance_em=put_distance / move if move > 0 else math.copysign(math.inf, put_distance),
        call_distance_em=call_distance / move
        if move > 0
        else math.copysign(math.inf, call_distance),
        expected_move_points=move,
    )


def find_tested_wing(position_mark: PositionMark, rules: HedgeRules) -> Wing | None:
    """Return the side whose short strike spot is pressing on, if any."""

    def near(points: float, em: float) -> bool:
        return points <= rules.test_distance_pct / 100 * position_mark.spot or (
            em <= rules.test_distance_em
        )

    put = near(position_mark.put_distance_points, position_mark.put_distance_em)
    call = near(position_mark.call_distance_points, position_mark.call_distance_em)
    if put and call:
        return (
            Wing.PUT
            if position_mark.put_distance_points <= position_mark.call_distance_points
            else Wing.CALL
        )
    if put:
        return Wing.PUT
    return Wing.CALL if call else None


@dataclass(frozen=True, slots=True, kw_only=True)
class VolIndexLevels:
    """VIX-family index levels at one moment.

    Attributes:
        vix: 30-day VIX.
        vix9d: 9-day VIX.
        vix3m: 93-day VIX.
        vvix: VIX of VIX, used as the VIX options' vol when no VIX chain exists (None: rules).
        modelled: Why these are not observed prints (e.g. "intraday VIX moved from the open by
            the SPX-to-VIX sensitivity"); empty when observed.
        vx_curve: The real VX settles known at this moment (the latest CFE close), or None:
            VIX futures are then estimated from the term structure (`estimate_future`).
        vx_curve_close: (VIX, VIX9D, VIX3M) closes of `vx_curve`'s trade date, the levels the
            curve's settles belong to; required with `vx_curve`.
    """

    vix: float
    vix9d: float
    vix3m: float
    vvix: float | None = None
    modelled: str = ""
    vx_curve: VxCurve | None = None
    vx_curve_close: tuple[float, float, float] | None = None

    def __post_init__(self) -> None:
        for name in ("vix", "vix9d", "vix3m"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, was {value}")
        if self.vx_curve is not None:
            close = self.vx_curve_close
            if close is None or not all(math.isfinite(v) and v > 0 for v in close):
                raise ValueError(
                    "vx_curve_close must be the positive (VIX, VIX9D, VIX3M) closes of "
                    f"{self.vx_curve.trade_date}, was {close!r}"
                )


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketState:
    """What the engine sees at one bar.

    Attributes:
        asof: The bar's close time (aware).
        spot: SPX at `asof`.
        closes_5m: Completed 5-minute SPX closes of the session up to `asof`.
        ad_line: Daily NYSE advance/decline line up to the previous session, or None.
        ad_note: Where the A/D line comes from or why it is missing (shown on alerts).
        vol: VIX-family levels.
        chain: A real SPX chain of the day for the parity scan (None, or modelled: no scan).
        data_issues: Problems in the data up to `asof` (gaps, NaN); any blocks a hedge.
        data: Source and time of the data.
    """

    asof: datetime
    spot: float
    closes_5m: NDArray[np.float64]
    ad_line: NDArray[np.float64] | None
    ad_note: str
    vol: VolIndexLevels
    chain: OptionChain | None
    data_issues: tuple[str, ...]
    data: DataStamp
    triggers: TriggerSeries | None = None


# --- triggers ----------------------------------------------------------------------------------


def _trigger_params(rules: HedgeRules) -> tuple[int, int, int, int, int]:
    return (
        rules.rsi_period,
        rules.macd_fast,
        rules.macd_slow,
        rules.macd_signal,
        rules.divergence_lookback_bars,
    )


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class TriggerSeries:
    """The layer-1 indicator series over a session's 5-minute closes, computed once a day.

    RSI, MACD and the divergence rule only look back, so their value at a bar is the same
    whether computed over the closes up to it or over more; a feed computes them once over the
    day and hands each market state the series cut at its bar (`upto`), and `read_triggers`
    reads the last value instead of recomputing the indicators over every prefix. The daily A/D
    line's MACD is the same all day and computed once too.

    Attributes:
        closes: The 5-minute closes the series were computed on (warm-up first).
        rsi: Wilder RSI at each close.
        histogram: MACD histogram at each close.
        divergence: The divergence flag at each close (+1, -1, 0).
        ad_line: The A/D line the A/D MACD was computed on (None: no breadth).
        ad_histogram: Its MACD histogram's last value (None: no breadth or too short).
        params: (RSI period, MACD fast, slow, signal, divergence look-back) used.
    """

    closes: NDArray[np.float64]
    rsi: NDArray[np.float64]
    histogram: NDArray[np.float64]
    divergence: NDArray[np.int8]
    ad_line: NDArray[np.float64] | None
    ad_histogram: float | None
    params: tuple[int, int, int, int, int]

    @classmethod
    def of(
        cls,
        closes: NDArray[np.float64],
        ad_line: NDArray[np.float64] | None,
        rules: HedgeRules,
    ) -> TriggerSeries:
        """Compute the series over `closes` and `ad_line` with the rules' parameters."""
        m = macd(closes, rules.macd_fast, rules.macd_slow, rules.macd_signal)
        warmup = rules.macd_slow + rules.macd_signal
        ad_histogram = None
        if ad_line is not None and len(ad_line) >= warmup:
            ad_macd = macd(ad_line, rules.macd_fast, rules.macd_slow, rules.macd_signal)
            ad_histogram = float(ad_macd.histogram[-1])
        return cls(
            closes=closes,
            rsi=rsi_wilder(closes, rules.rsi_period),
            histogram=m.histogram,
            divergence=divergence(closes, m.line, rules.divergence_lookback_bars),
            ad_line=ad_line,
            ad_histogram=ad_histogram,
            params=_trigger_params(rules),
        )

    def upto(self, n: int) -> TriggerSeries:
        """The series over the first `n` closes only (what is known at that bar)."""
        return replace(
            self,
            closes=self.closes[:n],
            rsi=self.rsi[:n],
            histogram=self.histogram[:n],
            divergence=self.divergence[:n],
        )

    def serves(self, market: MarketState, rules: HedgeRules) -> bool:
        """Whether these are the series of `market`'s own closes and A/D line, under `rules`."""
        return (
            self.params == _trigger_params(rules)
            and self.ad_line is market.ad_line
            and np.array_equal(self.closes, market.closes_5m)
        )


def read_triggers(market: MarketState, side: Wing, rules: HedgeRules) -> tuple[TriggerReading, ...]:
    """Read the three layer-1 triggers for a tested side, each with its value and rule."""
    closes = market.closes_5m
    put = side is Wing.PUT
    readings: list[TriggerReading] = []
    series = market.triggers if market.triggers and market.triggers.serves(market, rules) else None

    rsi_name = f"RSI({rules.rsi_period}) 5-min SPX"
    rsi_rule = f"<= {rules.rsi_put_fire:g}" if put else f">= {rules.rsi_call_fire:g}"
    if len(closes) > rules.rsi_period:
        rsi = float((series.rsi if series else rsi_wilder(closes, rules.rsi_period))[-1])
        fired = rsi <= rules.rsi_put_fire if put else rsi >= rules.rsi_call_fire
        readings.append(TriggerReading(name=rsi_name, value=rsi, threshold=rsi_rule, fired=fired))
    else:
        readings.append(
            TriggerReading(
                name=rsi_name,
                value=None,
                threshold=rsi_rule,
                fired=None,
                note=f"needs {rules.rsi_period + 1} 5-min bars, had {len(closes)}",
            )
        )

    div_name = "MACD divergence 5-min SPX"
    div_rule = (
        "MACD below signal, no bullish divergence" if put else "MACD above signal, no bearish"
    )
    warmup = rules.macd_slow + rules.macd_signal
    if len(closes) >= warmup:
        if series is not None:
            hist, flag = float(series.histogram[-1]), int(series.divergence[-1])
        else:
            m = macd(closes, rules.macd_fast, rules.macd_slow, rules.macd_signal)
            hist = float(m.histogram[-1])
            flag = int(divergence(closes, m.line, rules.divergence_lookback_bars)[-1])
        against = flag == (1 if put else -1)
        trending = hist < 0 if put else hist > 0
        note = "divergence: the move is not confirmed by MACD" if against else ""
        readings.append(
            TriggerReading(
                name=div_name,
                value=hist,
                threshold=div_rule,
                fired=trending and not against,
                note=note,
            )
        )
    else:
        readings.append(
            TriggerReading(
                name=div_name,
                value=None,
                threshold=div_rule,
                fired=None,
                note=f"needs {warmup} 5-min bars, had {len(closes)}",
            )
        )

    ad_name = "MACD of NYSE A/D line"
    ad_rule = "histogram < 0 (breadth weakening)" if put else "histogram > 0"
    line = market.ad_line
    if line is not None and len(line) >= warmup:
        if series is not None and series.ad_histogram is not None:
            hist = series.ad_histogram
        else:
            m = macd(line, rules.macd_fast, rules.macd_slow, rules.macd_signal)
            hist = float(m.histogram[-1])
        readings.append(
            TriggerReading(
                name=ad_name,
                value=hist,
                threshold=ad_rule,
                fired=hist < 0 if put else hist > 0,
                note=market.ad_note,
            )
        )
    else:
        readings.append(
            TriggerReading(
                name=ad_name, value=None, threshold=ad_rule, fired=None, note=market.ad_note
            )
        )
    return tuple(readings)


def triggers_agree(readings: tuple[TriggerReading, ...], rules: HedgeRules) -> bool:
    """Whether enough available triggers fire, and none of the available ones argues against."""
    available = [r for r in readings if r.fired is not None]
    fired = sum(1 for r in available if r.fired)
    return fired >= min(rules.min_triggers, len(available)) and fired * 2 > len(available)


# --- VIX side ----------------------------------------------------------------------------------


def estimate_future(
    vol: VolIndexLevels, t_years: float, settlement: date | None = None
) -> tuple[float, str]:
    """The VIX future settling in `t_years` (on `settlement`), and how it was obtained.

    With a real VX curve in `vol` (`vol.vx_curve`) and a `settlement` it brackets, the future is
    the curve's value for that settlement (a real CFE settle, or interpolated between real
    settles: `VxCurve.future_for`) moved by the model's change since the curve's close::

        future = curve(settlement) + estimate(vol, t) - estimate(levels at the curve's close, t)

    At the curve's own close the move is zero and the real settle is used as it is. The note
    then says which settle it came from. Otherwise (no curve, or a settlement beyond it) the
    future is estimated from the VIX9D/VIX/VIX3M term structure alone and the note is empty
    unless something is worth saying (a settlement beyond the curve; a fallback, below).

    On crash days the VIX term structure can invert so far that no consistent forward variance
    exists (VIX9D above about 1.8 x VIX); the estimate then falls back to spot VIX rather than
    stopping the engine, and the alert says so (with a curve, the settle is then moved by the
    change in spot VIX instead).
    """
    future = _future(vol, t_years, settlement)
    return future.price, future.note


#: The honest label of a VIX future that no real settle backs.
VX_ESTIMATED_LABEL = "VX estimated from the VIX term structure (modelled)"


class _Future(NamedTuple):
    # `estimate_future`'s answer, and whether it came off the real VX curve (a settle, or
    # interpolated between settles, possibly moved by the modelled change since its close).
    price: float
    note: str
    on_curve: bool


def _future(vol: VolIndexLevels, t_years: float, settlement: date | None) -> _Future:
    # `estimate_future`, saying whether the real curve priced it.
    curve, close = vol.vx_curve, vol.vx_curve_close
    if curve is None or close is None or settlement is None:
        return _Future(*_term_structure_future(vol, t_years), on_curve=False)
    quote = curve.future_for(settlement)
    if quote is None:
        price, note = _term_structure_future(vol, t_years)
        return _Future(
            price,
            f"VX {settlement:%Y-%m-%d} not on the real CFE curve of {curve.trade_date:%Y-%m-%d}: "
            f"{VX_ESTIMATED_LABEL}" + (f"; {note}" if note else ""),
            on_curve=False,
        )
    if (vol.vix, vol.vix9d, vol.vix3m) == close:
        return _Future(quote.price, quote.label, on_curve=True)
    then = replace(vol, vix=close[0], vix9d=close[1], vix3m=close[2], vx_curve=None)
    now_price, now_note = _term_structure_future(vol, t_years)
    then_price, then_note = _term_structure_future(then, t_years)
    if now_note or then_note:
        move, how = vol.vix - close[0], "the change in spot VIX (no consistent forward)"
    else:
        move, how = now_price - then_price, "the modelled change since that close"
    return _Future(
        max(quote.price + move, _MIN_FUTURE),
        f"{quote.label}, moved by {how} ({move:+.2f})",
        on_curve=True,
    )


#: A VIX future moved below this by the modelled change is held here (Black-76 needs F > 0).
_MIN_FUTURE = 0.01


def _term_structure_future(vol: VolIndexLevels, t_years: float) -> tuple[float, str]:
    # The estimate from the VIX9D/VIX/VIX3M term structure alone (see `estimate_future`).
    try:
        return estimate_vix_future(vol.vix, vol.vix9d, vol.vix3m, t_years, vvix=vol.vvix).price, ""
    except ValueError as error:
        return vol.vix, (
            f"term structure admits no consistent forward ({error}): future taken as spot VIX "
            f"{vol.vix:.2f} (modelled)"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class _VixSeries:
    settlement: date
    last_trade: date
    t_years: float
    future: float
    days: float
    note: str = ""
    on_curve: bool = False  # the future came off the real VX curve (`_Future.on_curve`)


def _vix_series(day: date, asof: datetime, vol: VolIndexLevels, min_days: float) -> _VixSeries:
    # The front hedge uses the nearest series, weeklies included; a mid-term one the monthlies.
    weekly = min_days <= 7
    settlement, last_trade, settles_at = _next_vix_series(day, weekly)
    while True:
        t = elapsed_seconds(asof, settles_at) / _YEAR_SECONDS
        days = t * 365
        if last_trade >= day and days >= min_days:
            break
        settlement, last_trade, settles_at = _next_vix_series(settlement, weekly)
    future = _future(vol, t, settlement)
    return _VixSeries(
        settlement=settlement,
        last_trade=last_trade,
        t_years=t,
        future=future.price,
        days=days,
        note=future.note,
        on_curve=future.on_curve,
    )


@lru_cache(maxsize=4096)
def _next_vix_series(day: date, weekly: bool) -> tuple[date, date, datetime]:
    # The first VIX expiration after `day`, its last trading day (VIX derivatives stop trading
    # the day before settlement) and its settlement moment, the 09:30 open: a pure function of
    # the NYSE calendar, asked at every tested bar, so kept.
    settlement = next_vix_expiration(day, weekly=weekly)
    opens = datetime.combine(settlement, datetime.min.time(), NEW_YORK).replace(hour=9, minute=30)
    return settlement, vix_last_trading_day(settlement), opens


_CASES = (SensitivityCase.LOW, SensitivityCase.MID, SensitivityCase.HIGH)
_VX_FUTURES = (Instrument.VX_FUTURE, Instrument.VXM_FUTURE)  # margined, no premium


def _vix_ivs(
    rules: HedgeRules, vvix: float, future: float, strikes: NDArray[np.float64], t: float
) -> NDArray[np.float64]:
    return np.array(
        [
            rules.vix_option_vol.iv(vvix=vvix, future=future, strike=float(k), t_years=t)
            for k in strikes
        ]
    )


@dataclass(frozen=True, slots=True)
class _VixCallSpread:
    """The VIX call spread a hedge buys, and its lower call on its own."""

    low: float
    high: float
    low_iv: float
    low_call: float  # the lower call's price, VIX points
    low_greeks: OneGreeks
    debit: float
    delta: float
    theta_per_day: float


def _vix_call_spread(series: _VixSeries, rules: HedgeRules, vvix: float) -> _VixCallSpread:
    low = float(math.ceil(series.future))
    high = low + rules.vix_spread_width_points
    f, t = series.future, series.t_years
    low_iv, high_iv = _vix_ivs(rules, vvix, f, np.array([low, high]), t).tolist()
    low_price = black76_price_one(True, f, low, t, 0.0, low_iv)
    high_price = black76_price_one(True, f, high, t, 0.0, high_iv)
    lower = black76_greeks_one(True, f, low, t, 0.0, low_iv, price=low_price)
    upper = black76_greeks_one(True, f, high, t, 0.0, high_iv, price=high_price)
    return _VixCallSpread(
        low=low,
        high=high,
        low_iv=low_iv,
        low_call=low_price,
        low_greeks=lower,
        debit=low_price - high_price,
        delta=lower.delta - upper.delta,
        theta_per_day=lower.theta_per_day - upper.theta_per_day,
    )


def _hedge_actions(
    position: OpenCondor,
    position_mark: PositionMark,
    market: MarketState,
    rules: HedgeRules,
    horizon_days: float,
    layer: int,
    series: _VixSeries,
) -> list[_Priced]:
    """Size VIX instruments to offset the middle hedge ratio of the condor's dollar delta.

    Each is priced now; its card text is written only if an alert shows it (`_Priced`).
    """
    exposure = position_mark.delta_usd_per_point  # > 0: the condor loses as SPX falls
    if exposure <= 0:
        return []
    vvix = market.vol.vvix or rules.default_vvix
    per_point = [
        rules.sensitivity.future_points_per_spx_point(
            market.spot, series.future, max(series.days, 0.0), case
        )
        for case in _CASES
    ]
    target = rules.hedge_ratio[1] * exposure
    spread = _vix_call_spread(series, rules, vvix)
    specs: list[tuple[Instrument, float, float, float, float]] = [
        # instrument, units of future delta per contract, premium/contract, theta/contract,
        # contract multiplier
        (
            Instrument.MIDTERM_VIX_CALL_SPREAD if layer == 2 else Instrument.VIX_CALL_SPREAD,
            spread.delta,
            spread.debit + 2 * VIX_HALF_SPREAD,
            spread.theta_per_day,
            VIX_OPTION_MULTIPLIER,
        ),
    ]
    if layer == 1:
        specs += [
            (
                Instrument.VIX_CALL,
                spread.low_greeks.delta,
                spread.low_call + VIX_HALF_SPREAD,
                spread.low_greeks.theta_per_day,
                VIX_OPTION_MULTIPLIER,
            ),
            (Instrument.VX_FUTURE, 1.0, 0.0, 0.0, VX_MULTIPLIER),
            (Instrument.VXM_FUTURE, 1.0, 0.0, 0.0, VXM_MULTIPLIER),
        ]
    actions: list[_Priced] = []
    for instrument, unit_delta, premium, theta, multiplier in specs:
        per_contract = [unit_delta * multiplier * -p for p in per_point]  # $ per SPX point down
        if per_contract[1] <= 0:
            continue
        contracts = max(round(target / per_contract[1]), 1)
        is_future = instrument in _VX_FUTURES
        cost = premium * multiplier * contracts
        spread_cost = VIX_HALF_SPREAD * multiplier * contracts * (1 if is_future else 2)
        decay = -theta * multiplier * contracts * horizon_days
        margin = (
            float(rules.vx_margin_usd) * contracts * multiplier / VX_MULTIPLIER if is_future else 0
        )
        expected = spread_cost + max(decay, 0.0)
        protects = _max_loss_left(position, position_mark)
        sized = _VixHedge(
            instrument=instrument,
            layer=layer,
            contracts=contracts,
            ratios=(
                contracts * per_contract[0] / exposure,
                contracts * per_contract[1] / exposure,
                contracts * per_contract[2] / exposure,
            ),
            cost=cost,
            expected=expected,
            margin=margin,
            protects=protects,
        )
        render = partial(
            _vix_hedge_action, sized, position, market, rules, horizon_days, series, spread
        )
        actions.append(_Priced(instrument, _usd(expected), cost <= protects, render))
    return actions


@dataclass(frozen=True, slots=True, kw_only=True)
class _VixHedge:
    """A VIX hedge as `_hedge_actions` sized and priced it (dollars, all contracts)."""

    instrument: Instrument
    layer: int
    contracts: int
    ratios: tuple[float, float, float]  # delta offset at low / mid / high VIX sensitivity
    cost: float
    expected: float
    margin: float  # modelled CFE initial margin (futures)
    protects: float  # the condor's loss still to protect

    @property
    def is_future(self) -> bool:
        """A VX or VXM future (no premium, margined)."""
        return self.instrument in _VX_FUTURES


def _vix_hedge_action(
    sized: _VixHedge,
    position: OpenCondor,
    market: MarketState,
    rules: HedgeRules,
    horizon_days: float,
    series: _VixSeries,
    spread: _VixCallSpread,
) -> HedgeAction:
    # The card text of a VIX hedge `_hedge_actions` priced, written when an alert shows it.
    vvix = market.vol.vvix or rules.default_vvix
    name = f"VIX {series.settlement:%b-%d-%Y}"
    if sized.instrument is Instrument.VIX_CALL:
        order = f"{name} {spread.low:g} calls at {spread.low_call + VIX_HALF_SPREAD:.2f}"
    elif sized.is_future:
        order = f"{name} {'VX' if sized.instrument is Instrument.VX_FUTURE else 'VXM'} futures"
    else:
        debit = spread.debit + 2 * VIX_HALF_SPREAD
        order = f"{name} {spread.low:g}/{spread.high:g} call spreads at {debit:.2f}"
    notes = [
        f"{name} future {series.future:.2f} "
        + ("from real CFE settles" if series.on_curve else "estimated from the VIX term structure")
        + f" ({series.days:.1f} days to settlement; last trade {series.last_trade:%a %Y-%m-%d})"
        + (f"; {series.note}" if series.note else "")
    ]
    feasible = sized.cost <= sized.protects
    if not feasible:
        notes.append(
            f"uneconomic: ${sized.cost:,.0f} of premium to protect at most "
            f"${sized.protects:,.0f} of remaining loss"
        )
    if sized.is_future:
        notes.append(f"margin about ${sized.margin:,.0f} (modelled CFE initial margin)")
    else:
        notes.append(
            f"VIX options priced with Black-76 on that future, {spread.low:g}-strike IV "
            f"{spread.low_iv:.0%} (modelled from VVIX {vvix:.0f}"
            f"{'' if market.vol.vvix else ', a rule default'}: no VIX chain)"
        )
    betas = rules.sensitivity.vix_pct_per_spx_pct
    damp = rules.sensitivity.future_dampening_30d
    low, mid, high = sized.ratios
    notes.append(
        f"basis risk: offsets {low:.0%}/{mid:.0%}/{high:.0%} of the condor's delta at VIX "
        f"sensitivity {betas.low:g}/{betas.mid:g}/{betas.high:g}% per 1% SPX and future "
        f"dampening {damp.low:g}/{damp.mid:g}/{damp.high:g} at 30 days"
    )
    label = "mid-term " if sized.layer == 2 else ""
    return HedgeAction(
        instrument=sized.instrument,
        layer=sized.layer,
        description=f"buy {sized.contracts} {order}",
        contracts=sized.contracts,
        cost_usd=_usd(sized.cost),
        expected_cost_usd=_usd(sized.expected),
        annualised_cost_pct=_annualise(
            sized.expected, _buying_power(position) + sized.margin, horizon_days
        ),
        hedge_ratio=sized.ratios,
        feasible=feasible,
        notes=(*notes, f"{label}hedge held {horizon_days * 24:.1f} h to the exit"),
    )


# --- SPX side: close, roll, call debit spreads, parity --------------------------------------------


@dataclass(frozen=True, slots=True)
class _Priced:
    """An action as the recommendation weighs it; its card text is written only when shown.

    Most tested bars repeat the alert already sent (`step`), so the words and the rounding of
    every figure are put off until an alert is actually issued.
    """

    instrument: Instrument
    expected_cost_usd: Decimal
    feasible: bool
    render: Callable[[], HedgeAction]

    @classmethod
    def of(cls, action: HedgeAction) -> _Priced:
        """An action already written out."""
        return cls(action.instrument, action.expected_cost_usd, action.feasible, lambda: action)


def _max_loss_left(position: OpenCondor, position_mark: PositionMark) -> float:
    width = float(position.signal.width_points)
    return max(width - position_mark.value_points, 0.0) * float(SPX_MULTIPLIER) * position.contracts


def _buying_power(position: OpenCondor) -> float:
    width = float(position.signal.width_points)
    return (width - float(position.fill_credit)) * float(SPX_MULTIPLIER) * position.contracts


def _annualise(cost_usd: float, buying_power_usd: float, horizon_days: float) -> float:
    if buying_power_usd <= 0 or horizon_days <= 0:
        return 0.0
    return 100.0 * cost_usd / buying_power_usd * 365.0 / horizon_days


def _spread_quote(
    position: OpenCondor, spot: float, t: float, indices: tuple[int, int]
) -> tuple[float, float]:
    """Mid and natural debit to buy back one wing (short leg, long leg) per share."""
    values = _leg_values(position, spot, t)
    short, long = indices
    mid = values[short] - values[long]
    slip = 0.0
    if t > 0:
        halves = position.closing_half_spreads(values)
        slip = halves[short] + halves[long]
    return mid, mid + slip


def _close_and_roll(
    position: OpenCondor,
    position_mark: PositionMark,
    side: Wing,
    horizon_days: float,
) -> list[_Priced]:
    signal = position.signal
    n = position.contracts * float(SPX_MULTIPLIER)
    t = position_mark.t_years
    spot = position_mark.spot
    wing = (1, 0) if side is Wing.PUT else (2, 3)
    mid, natural = _spread_quote(position, spot, t, wing)
    close_cost = (natural - mid) * n
    close_expected = _usd(close_cost)
    short_leg = signal.legs[wing[0]]
    width = float(signal.put_width_points if side is Wing.PUT else signal.call_width_points)

    def close() -> HedgeAction:
        return HedgeAction(
            instrument=Instrument.CLOSE,
            layer=3,
            description=(
                f"buy back the {short_leg.strike}/{signal.legs[wing[1]].strike} "
                f"{side} spread at about {natural:.2f} (mid {mid:.2f})"
            ),
            contracts=position.contracts,
            cost_usd=_usd(natural * n),
            expected_cost_usd=close_expected,
            annualised_cost_pct=_annualise(close_cost, _buying_power(position), horizon_days),
            notes=(
                f"locks in the {side} side; frees ${width * n:,.0f} of buying power",
                "closing prices modelled from entry IVs and entry bid/ask widths",
            ),
        )

    actions = [_Priced(Instrument.CLOSE, close_expected, True, close)]
    # Roll: buy back the tested spread, sell the same width again as far from spot as the
    # original short was at entry, same expiry.
    entry_gap = abs(float(signal.spot) - float(short_leg.strike))
    step = 5.0
    if side is Wing.PUT:
        new_short = math.floor((spot - entry_gap) / step) * step
        new_long = new_short - width
        is_call = False
    else:
        new_short = math.ceil((spot + entry_gap) / step) * step
        new_long = new_short + width
        is_call = True
    iv = short_leg.iv * position.iv_scale
    prices = (0.0, 0.0)
    if t > 0:
        forward = spot * math.exp(position.carry * t)
        prices = _black_pair(is_call, forward, (new_short, new_long), t, position.rate, (iv, iv))
    new_mid = prices[0] - prices[1]
    new_natural = new_mid - _pair_slip(prices, position.spread_stress)
    if new_natural < MIN_SALE_POINTS:
        return actions  # nothing left to sell that far out: a roll is just a close
    net = natural - new_natural  # > 0: net debit
    roll_cost = (natural - mid + new_mid - new_natural) * n
    roll_expected = _usd(roll_cost)
    credit_after = float(position.fill_credit) - net
    max_loss_after = (width - credit_after) * n

    def roll() -> HedgeAction:
        return HedgeAction(
            instrument=Instrument.ROLL,
            layer=3,
            description=(
                f"roll the {side} spread to {new_short:g}/{new_long:g}: buy back at {natural:.2f}, "
                f"sell at {new_natural:.2f}, net {'debit' if net > 0 else 'credit'} {abs(net):.2f}"
            ),
            contracts=position.contracts,
            cost_usd=_usd(net * n),
            expected_cost_usd=roll_expected,
            annualised_cost_pct=_annualise(roll_cost, _buying_power(position), horizon_days),
            notes=(
                f"max loss becomes ${max_loss_after:,.0f} "
                f"(was ${(width - float(position.fill_credit)) * n:,.0f}); same buying power",
                "new strikes priced at the tested short's IV (modelled)",
            ),
        )

    actions.append(_Priced(Instrument.ROLL, roll_expected, True, roll))
    return actions


def _call_side_actions(
    position: OpenCondor,
    position_mark: PositionMark,
    rules: HedgeRules,
    horizon_days: float,
) -> list[_Priced]:
    """SPX call debit spread below the short call, and rolling the untested put side up."""
    signal = position.signal
    n_contracts = position.contracts
    n = n_contracts * float(SPX_MULTIPLIER)
    t = position_mark.t_years
    spot = position_mark.spot
    short_call = float(signal.short_call.strike)
    width = float(signal.call_width_points)
    exposure = -position_mark.delta_usd_per_point  # > 0: the condor loses as SPX rises
    actions: list[_Priced] = []
    if t > 0 and exposure > 0:
        strikes = (short_call - width, short_call)
        forward = spot * math.exp(position.carry * t)
        iv = signal.short_call.iv * position.iv_scale
        prices = _black_pair(True, forward, strikes, t, position.rate, (iv, iv))
        lower = black76_greeks_one(True, forward, strikes[0], t, position.rate, iv, price=prices[0])
        upper = black76_greeks_one(True, forward, strikes[1], t, position.rate, iv, price=prices[1])
        debit = prices[0] - prices[1]
        slip = _pair_slip(prices, position.spread_stress)
        delta_per = (lower.delta - upper.delta) * forward / spot * 100.0
        if delta_per > 0:
            count = max(round(rules.hedge_ratio[1] * exposure / delta_per), 1)
            ratio = count * delta_per / exposure
            expected = slip * 100.0 * count
            spread_expected = _usd(expected)

            def spread() -> HedgeAction:
                return HedgeAction(
                    instrument=Instrument.SPX_CALL_DEBIT_SPREAD,
                    layer=1,
                    description=(
                        f"buy {count} SPXW {short_call - width:g}/{short_call:g} call debit "
                        f"spreads at about {debit + slip:.2f}"
                    ),
                    contracts=count,
                    cost_usd=_usd((debit + slip) * 100.0 * count),
                    expected_cost_usd=spread_expected,
                    annualised_cost_pct=_annualise(expected, _buying_power(position), horizon_days),
                    hedge_ratio=(ratio, ratio, ratio),
                    notes=(
                        "gains as SPX rises into the short call; same expiry, no basis risk",
                        "priced at the short call's IV (modelled)",
                    ),
                )

            actions.append(_Priced(Instrument.SPX_CALL_DEBIT_SPREAD, spread_expected, True, spread))
    # Roll the untested put side up: buy back the put spread, sell one closer to spot.
    entry_gap = float(signal.spot) - float(signal.short_put.strike)
    new_short = math.floor((spot - entry_gap) / 5.0) * 5.0
    untested_open = position.wing_open(Wing.PUT)
    if t > 0 and untested_open and new_short > float(signal.short_put.strike):
        put_mid, put_natural = _spread_quote(position, spot, t, (1, 0))
        put_width = float(signal.put_width_points)
        forward = spot * math.exp(position.carry * t)
        iv = signal.short_put.iv * position.iv_scale
        prices = _black_pair(
            False, forward, (new_short, new_short - put_width), t, position.rate, (iv, iv)
        )
        new_mid = prices[0] - prices[1]
        new_natural = new_mid - _pair_slip(prices, position.spread_stress)
        extra = new_natural - put_natural
        if extra >= MIN_SALE_POINTS:
            cost = (put_natural - put_mid + new_mid - new_natural) * n
            roll_expected = _usd(cost)

            def roll_up() -> HedgeAction:
                return HedgeAction(
                    instrument=Instrument.ROLL_UNTESTED,
                    layer=3,
                    description=(
                        f"roll the put spread up to {new_short:g}/{new_short - put_width:g}: "
                        f"net credit {extra:.2f}"
                    ),
                    contracts=n_contracts,
                    cost_usd=_usd(-extra * n),
                    expected_cost_usd=roll_expected,
                    annualised_cost_pct=_annualise(cost, _buying_power(position), horizon_days),
                    notes=(
                        f"adds {extra:.2f} of credit: break-even high moves up by as much",
                        "the put side moves closer to spot: a reversal now hurts both sides",
                    ),
                )

            actions.append(_Priced(Instrument.ROLL_UNTESTED, roll_expected, True, roll_up))
    return actions


def scan_parity(chain: OptionChain, rules: HedgeRules, expiry: date) -> list[HedgeAction]:
    """Find conversion/reversal dislocations: synthetic forwards off the parity forward.

    At each strike with both sides quoted, selling the synthetic (sell call at bid, buy put at
    ask) locks in `K + (C_bid - P_ask) / DF`; buying it costs `K + (C_ask - P_bid) / DF`. Either
    beating the expiry's parity forward by more than `parity_cost_points` after crossing the
    spread is a dislocation worth trading against the forward (a conversion or a reversal).
    """
    actions: list[HedgeAction] = []
    for root, listed in chain.expiries():
        if listed != expiry:
            continue
        sl = chain.expiry_slice(root, listed)
        terms = sl.terms
        if terms.forward_modelled or terms.t_years <= 0:
            continue
        ok = (
            np.isfinite(sl.call_bid)
            & np.isfinite(sl.put_ask)
            & np.isfinite(sl.call_ask)
            & np.isfinite(sl.put_bid)
            & (sl.call_bid > 0)
            & (sl.put_bid > 0)
        )
        df = terms.discount_factor
        sell_synth = sl.strikes + (sl.call_bid - sl.put_ask) / df
        buy_synth = sl.strikes + (sl.call_ask - sl.put_bid) / df
        rich = np.where(ok, sell_synth - terms.forward, -np.inf)
        cheap = np.where(ok, terms.forward - buy_synth, -np.inf)
        for edge, kind, verb in (
            (rich, Instrument.SPX_CONVERSION, "sell call / buy put"),
            (cheap, Instrument.SPX_REVERSAL, "buy call / sell put"),
        ):
            best = int(np.argmax(edge))
            if edge[best] > rules.parity_cost_points:
                strike = float(sl.strikes[best])
                actions.append(
                    HedgeAction(
                        instrument=kind,
                        layer=2,
                        description=(
                            f"{root} {listed:%Y-%m-%d} {strike:g}: {verb}, "
                            f"{edge[best]:.2f} points off the parity forward {terms.forward:.2f}"
                        ),
                        contracts=1,
                        cost_usd=Decimal(0),
                        expected_cost_usd=_usd(-edge[best] * float(SPX_MULTIPLIER)),
                        annualised_cost_pct=0.0,
                        notes=("edge after crossing the quoted spread; size by the quoted size",),
                    )
                )
    return actions


# --- evaluate ----------------------------------------------------------------------------------


def _horizon_days(position: OpenCondor, asof: datetime, rules: HedgeRules) -> float:
    signal = position.signal
    end = signal.settles_at
    exit_at = signal.management.time_exit_at
    if exit_at is not None and asof < exit_at < end:
        end = exit_at
    return max(elapsed_seconds(asof, end) / 86400.0, 1.0 / 1440)


def _alert_id(prefix: str, signal_id: str, asof: datetime, what: str) -> str:
    text = f"{signal_id}|{asof.isoformat()}|{what}"
    return f"{prefix}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def _best(actions: Sequence[_Priced], defence: Defence) -> int:
    # The cheapest feasible action (the first on a tie), or the cheapest if none is feasible;
    # under the `Defence.CLOSE` baseline, the close wherever it is priced.
    if defence is Defence.CLOSE:
        for i, action in enumerate(actions):
            if action.instrument is Instrument.CLOSE:
                return i
    candidates = [i for i, a in enumerate(actions) if a.feasible] or list(range(len(actions)))
    return min(candidates, key=lambda i: (actions[i].expected_cost_usd, i))


@dataclass(frozen=True, slots=True)
class _Assessment:
    """A tested side with its actions priced and one recommended; `alert` writes the alert."""

    side: Wing
    actions: tuple[_Priced, ...]
    best: int
    alert: Callable[[], HedgeAlert]

    @property
    def recommended(self) -> Instrument:
        """The instrument the alert recommends."""
        return self.actions[self.best].instrument

    def recommended_action(self) -> HedgeAction:
        """The recommended action as the alert writes it, without writing the rest."""
        return replace(self.actions[self.best].render(), recommended=True)


def evaluate(
    position: OpenCondor,
    market: MarketState,
    rules: HedgeRules,
    asof: datetime,
    *,
    position_mark: PositionMark | None = None,
) -> HedgeAlert | NoHedge | None:
    """Decide whether and how to answer a tested condor at `asof`.

    Returns None when neither side is tested, a `NoHedge` when the data cannot support a
    decision (gaps, NaN, stale bars), else a `HedgeAlert` with every priced action and one
    recommended. `position_mark`: the mark of this position at `market` and `asof` if the
    caller already has it, saving a second pricing.
    """
    assessed = _assess(position.at(market.vol.vix, asof), market, rules, asof, position_mark)
    return assessed.alert() if isinstance(assessed, _Assessment) else assessed


def _assess(
    position: OpenCondor,
    market: MarketState,
    rules: HedgeRules,
    asof: datetime,
    position_mark: PositionMark | None,
) -> _Assessment | NoHedge | None:
    # `evaluate` for a position already re-marked at `asof` (`OpenCondor.at`).
    signal = position.signal
    if market.data_issues or not math.isfinite(market.spot) or market.spot <= 0:
        reasons = market.data_issues or (f"SPX price is {market.spot}",)
        return NoHedge(
            alert_id=_alert_id("nh", signal.signal_id, asof, ";".join(reasons)),
            signal_id=signal.signal_id,
            asof=asof,
            reasons=tuple(reasons),
            data=market.data,
            rule_version=rules.rule_version,
        )
    if position_mark is None:
        position_mark = mark(position, market.spot, asof)
    side = find_tested_wing(position_mark, rules)
    if side is None or position_mark.t_years <= 0:
        return None
    # The triggers decide only a put-side test (a VIX hedge or not); on the call side they are
    # read for the alert, and only when one is written.
    readings = read_triggers(market, side, rules) if side is Wing.PUT else None
    agree = readings is not None and triggers_agree(readings, rules)
    horizon = _horizon_days(position, asof, rules)
    actions = _close_and_roll(position, position_mark, side, horizon)
    front: _VixSeries | None = None
    persist = agree and market.vol.vix9d > market.vol.vix
    if side is Wing.PUT:
        front = _vix_series(asof.astimezone(NEW_YORK).date(), asof, market.vol, 1.0)
        if agree:
            actions += _vix_hedges(position, position_mark, market, rules, asof, horizon, front)
    else:
        actions += _call_side_actions(position, position_mark, rules, horizon)
    if market.chain is not None and not market.chain.modelled:
        actions += [_Priced.of(a) for a in scan_parity(market.chain, rules, signal.expiry)]
    if side is Wing.PUT and not agree:
        actions.append(_Priced.of(_HOLD))
    best = _best(actions, rules.defence)

    def alert() -> HedgeAlert:
        rationale = _rationale(
            position, market.spot, position_mark, front, agree=agree, persist=persist
        )
        if rules.defence is not Defence.CHEAPEST:
            rationale += (
                f". Baseline rule '{rules.defence}', not ALVH: the tested wing is closed "
                "whenever a close is priced"
            )
        written = [a.render() for a in actions]
        written[best] = replace(written[best], recommended=True)
        return HedgeAlert(
            alert_id=_alert_id("hg", signal.signal_id, asof, side),
            signal_id=signal.signal_id,
            asof=asof,
            side_tested=side,
            position=position_mark,
            triggers=readings if readings is not None else read_triggers(market, side, rules),
            actions=tuple(written),
            rationale=rationale,
            data=market.data,
            rule_version=rules.rule_version,
        )

    return _Assessment(side=side, actions=tuple(actions), best=best, alert=alert)


def _vix_hedges(
    position: OpenCondor,
    position_mark: PositionMark,
    market: MarketState,
    rules: HedgeRules,
    asof: datetime,
    horizon_days: float,
    front: _VixSeries,
) -> list[_Priced]:
    # Layer 1 on the front VIX series; layer 2 on a mid-term one when VIX9D is above VIX.
    actions = _hedge_actions(position, position_mark, market, rules, horizon_days, 1, front)
    if market.vol.vix9d > market.vol.vix:
        day = asof.astimezone(NEW_YORK).date()
        mid_series = _vix_series(day, asof, market.vol, rules.midterm_days[0])
        if mid_series.days <= rules.midterm_days[1]:
            actions += _hedge_actions(
                position, position_mark, market, rules, horizon_days, 2, mid_series
            )
    return actions


def _rationale(
    position: OpenCondor,
    spot: float,
    position_mark: PositionMark,
    front: _VixSeries | None,
    *,
    agree: bool,
    persist: bool,
) -> str:
    # Why the alert prices what it prices, in words (`front`: the put side's VIX series).
    signal = position.signal
    if front is None:
        return (
            f"call side tested: SPX {spot:.2f} is "
            f"{position_mark.call_distance_points:.1f} points below the "
            f"{signal.short_call.strike} short call. No VIX hedge: VIX usually falls as SPX "
            "rallies, so VIX calls would add to the loss; SPX call debit spread, roll or "
            "close instead"
        )
    lead = (
        f"put side tested: SPX {spot:.2f} is "
        f"{position_mark.put_distance_points:.1f} points "
        f"({position_mark.put_distance_em:.2f} expected moves) above the "
        f"{signal.short_put.strike} short put. Nearest VIX series settles "
        f"{front.settlement:%a %Y-%m-%d}, {front.days:.1f} days away"
    )
    if not agree:
        return f"{lead}. Triggers do not agree: no VIX hedge; close or roll priced"
    rationale = f"{lead}. Triggers agree: layer-1 VIX hedges priced"
    if persist:
        rationale += "; VIX9D above VIX (stress priced to persist): layer 2 priced"
    return rationale


_HOLD = HedgeAction(
    instrument=Instrument.HOLD,
    layer=3,
    description="hold and monitor: the layer-3 rules still apply",
    contracts=0,
    cost_usd=Decimal(0),
    expected_cost_usd=Decimal(0),
    annualised_cost_pct=0.0,
    notes=("the triggers do not confirm the move; re-evaluated every bar",),
)


# --- layer 3: exits --------------------------------------------------------------------------


def _natural_debit(position: OpenCondor, position_mark: PositionMark) -> float:
    if position_mark.t_years <= 0:
        return position_mark.value_points
    values = _leg_values(position, position_mark.spot, position_mark.t_years)
    h = position.closing_half_spreads(values)
    m = [1.0 if held else 0.0 for held in position.open_legs]
    slip = h[0] * m[0] + h[1] * m[1] + h[2] * m[2] + h[3] * m[3]
    return min(position_mark.value_points + slip, float(position.signal.width_points))


def check_exits(
    position: OpenCondor, position_mark: PositionMark, rules: HedgeRules, asof: datetime
) -> tuple[ExitRule, str] | None:
    """Return the first layer-3 rule that fires at this mark, with the reason in words.

    The rules are the card's own management plan, so subscribers and the engine agree: stop
    (mid value at or above credit x (1 + stop multiple)), breach (spot through a short strike
    by the rules' `breach_points`), profit target (natural debit at or below the target) and
    the time exit.
    Order: stop, breach, profit target, time. The caller fires each position's exit once.
    """
    signal = position.signal
    plan = signal.management
    credit = float(position.fill_credit)
    stop_value = credit * (1 + float(plan.stop_loss_multiple))
    spent = position_mark.value_points + position.realised_points
    if spent >= stop_value:
        return ExitRule.STOP, (
            f"condor worth {position_mark.value_points:.2f} to close"
            + (f" after {position.realised_points:.2f} paid" if position.realised_points else "")
            + f", at or above the stop {stop_value:.2f} (loss of {plan.stop_loss_multiple}x the "
            f"{credit:.2f} credit)"
        )
    breach = rules.breach_points
    put_breach = float(signal.short_put.strike) - breach
    call_breach = float(signal.short_call.strike) + breach
    put_hit = position.wing_open(Wing.PUT) and position_mark.spot <= put_breach
    call_hit = position.wing_open(Wing.CALL) and position_mark.spot >= call_breach
    if put_hit or call_hit:
        which = "put" if put_hit else "call"
        strike = signal.short_put.strike if which == "put" else signal.short_call.strike
        return ExitRule.BREACH, (
            f"SPX {position_mark.spot:.2f} is through the {strike} short {which} by more than "
            f"{breach:g} points"
        )
    if plan.profit_target_pct is not None:
        target = credit * (1 - plan.profit_target_pct / 100)
        natural = _natural_debit(position, position_mark) + position.realised_points
        if natural <= target:
            return ExitRule.PROFIT_TARGET, (
                f"condor costs {natural:.2f} to close at the natural price: "
                f"{plan.profit_target_pct}% of the {credit:.2f} credit captured"
            )
    if plan.time_exit_at is not None and asof >= plan.time_exit_at:
        return ExitRule.TIME, f"time exit: {plan.time_exit}"
    return None


# --- hedges held, the day's score, and the alert stream ---------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class HeldHedge:
    """A hedge the replay assumes was bought when the engine recommended it.

    `on_curve`: its VIX future at entry came off the real CFE settles (possibly moved by the
    modelled change since their close), not the VIX term structure. `value_usd` prices VIX
    instruments the same way at `asof`.
    """

    instrument: Instrument
    contracts: int
    multiplier: float
    entered_at: datetime
    cost_usd: float
    strikes: tuple[float, float] | None
    settlement: date | None
    entry_future: float
    vvix: float
    vol_model: VixOptionVolModel = MODELLED_VIX_OPTION_VOL
    spx_iv: float = 0.0
    on_curve: bool = False

    @property
    def on_vix(self) -> bool:
        """Whether this is a VIX instrument (an option or future on VIX)."""
        return self.instrument is not Instrument.SPX_CALL_DEBIT_SPREAD

    @property
    def on_real_vx(self) -> bool:
        """Whether its VIX future at entry came off the real CFE settles."""
        return self.on_vix and self.on_curve

    def value_usd(
        self, position: OpenCondor, spot: float, vol: VolIndexLevels, asof: datetime
    ) -> float:
        """What the hedge fetches if sold at `asof` (futures: P&L since entry), in dollars."""
        n = self.contracts * self.multiplier
        if self.instrument is Instrument.SPX_CALL_DEBIT_SPREAD and self.strikes is not None:
            t = position.t_years(asof)
            low, high = self.strikes
            if t <= 0:  # cash-settled at its intrinsic value: no spread to cross
                return (max(spot - low, 0.0) - max(spot - high, 0.0)) * n
            forward = spot * math.exp(position.carry * t)
            iv = self.spx_iv
            prices = _black_pair(True, forward, self.strikes, t, position.rate, (iv, iv))
            # Sold at the natural price: the modelled half spreads at the position's last VIX.
            return max(prices[0] - prices[1] - _pair_slip(prices, position.spread_stress), 0.0) * n
        if self.settlement is None:
            raise ValueError(f"a {self.instrument} hedge needs a VIX settlement date, had none")
        settles_at = datetime.combine(self.settlement, datetime.min.time(), NEW_YORK).replace(
            hour=9, minute=30
        )
        t = max(elapsed_seconds(asof, settles_at) / _YEAR_SECONDS, 1e-9)
        future, _ = estimate_future(vol, t, self.settlement)
        if self.strikes is None:
            return (future - self.entry_future - 2 * VIX_HALF_SPREAD) * n
        strikes = np.array(self.strikes)
        ivs = np.array(
            [self.vol_model.iv(vvix=self.vvix, future=future, strike=k, t_years=t) for k in strikes]
        )
        low_iv, high_iv = ivs.tolist()
        prices = _black_pair(True, future, self.strikes, t, 0.0, (low_iv, high_iv))
        worth = prices[0] - prices[1] if self.strikes[1] > self.strikes[0] else prices[0]
        return (
            max(worth - VIX_HALF_SPREAD * (2 if self.strikes[1] > self.strikes[0] else 1), 0.0) * n
        )

    def pnl_usd(
        self, position: OpenCondor, spot: float, vol: VolIndexLevels, asof: datetime
    ) -> float:
        """Profit or loss of the hedge if closed at `asof`, in dollars."""
        value = self.value_usd(position, spot, vol, asof)
        is_future = self.strikes is None
        return value if is_future else value - self.cost_usd


def _take_hedge(
    action: HedgeAction,
    position: OpenCondor,
    market: MarketState,
    rules: HedgeRules,
    asof: datetime,
) -> HeldHedge | None:
    day = asof.astimezone(NEW_YORK).date()
    if action.instrument is Instrument.SPX_CALL_DEBIT_SPREAD:
        short_call = float(position.signal.short_call.strike)
        width = float(position.signal.call_width_points)
        return HeldHedge(
            instrument=action.instrument,
            contracts=action.contracts,
            multiplier=float(SPX_MULTIPLIER),
            entered_at=asof,
            cost_usd=float(action.cost_usd),
            strikes=(short_call - width, short_call),
            settlement=None,
            entry_future=0.0,
            vvix=0.0,
            spx_iv=position.signal.short_call.iv,
        )
    vix_instruments = {
        Instrument.VIX_CALL_SPREAD: 1.0,
        Instrument.VIX_CALL: 1.0,
        Instrument.MIDTERM_VIX_CALL_SPREAD: float(rules.midterm_days[0]),
        Instrument.VX_FUTURE: 1.0,
        Instrument.VXM_FUTURE: 1.0,
    }
    if action.instrument not in vix_instruments:
        return None
    series = _vix_series(day, asof, market.vol, vix_instruments[action.instrument])
    vvix = market.vol.vvix or rules.default_vvix
    low = float(math.ceil(series.future))
    strikes: tuple[float, float] | None
    if action.instrument in _VX_FUTURES:
        strikes = None
        multiplier = VX_MULTIPLIER if action.instrument is Instrument.VX_FUTURE else VXM_MULTIPLIER
    else:
        spread = action.instrument is not Instrument.VIX_CALL
        strikes = (low, low + rules.vix_spread_width_points if spread else low)
        multiplier = VIX_OPTION_MULTIPLIER
    return HeldHedge(
        instrument=action.instrument,
        contracts=action.contracts,
        multiplier=multiplier,
        entered_at=asof,
        cost_usd=float(action.cost_usd),
        strikes=strikes,
        settlement=series.settlement,
        entry_future=series.future,
        vvix=vvix,
        vol_model=rules.vix_option_vol,
        on_curve=series.on_curve,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineState:
    """What the alert stream remembers between bars for one position."""

    exit_rule: ExitRule | None = None
    exit_pnl_usd: float | None = None
    exit_at: datetime | None = None
    last_alert_at: tuple[tuple[Wing, datetime, Instrument], ...] = ()
    last_no_hedge: tuple[str, ...] = ()
    held: tuple[HeldHedge, ...] = ()
    hedge_pnl_realised_usd: float = 0.0
    hedges_taken: int = 0
    closed: tuple[Wing, ...] = ()
    realised_points: float = 0.0
    closes_taken: tuple[tuple[Wing, datetime, float], ...] = ()


def _last_for(state: EngineState, side: Wing) -> tuple[datetime, Instrument] | None:
    for s, at, instrument in state.last_alert_at:
        if s is side:
            return at, instrument
    return None


def _repeats(
    state: EngineState, side: Wing, instrument: Instrument, asof: datetime, rules: HedgeRules
) -> bool:
    # Whether an alert on `side` recommending `instrument` at `asof` only repeats the last one
    # sent for that side: same recommendation, within `realert_minutes`.
    last = _last_for(state, side)
    return (
        last is not None
        and last[1] is instrument
        and asof - last[0] < timedelta(minutes=rules.realert_minutes)
    )


def step(
    position: OpenCondor,
    state: EngineState,
    market: MarketState,
    rules: HedgeRules,
    asof: datetime,
    *,
    write: bool = True,
) -> tuple[EngineState, list[Event]]:
    """Advance one bar: fire a layer-3 exit once, else a hedge alert when it says something new.

    An alert is repeated for the same side only after `realert_minutes`, or when the recommended
    action changes. When the recommendation is a hedge, the replay assumes it was bought (once
    per side) and carries it to the exit or the close. Without `write` the events are not
    written (the list stays empty) and the state moves exactly as with it: a backtest that
    keeps only the figures saves the words.
    """
    if state.exit_rule is not None or len(state.closed) == 2:
        return state, []
    position = position.with_closed(state.closed, state.realised_points).at(market.vol.vix, asof)
    events: list[Event] = []
    if position.t_years(asof) <= 0:
        return state, events  # settled: the day's result scores it
    position_mark: PositionMark | None = None
    if not market.data_issues and math.isfinite(market.spot) and market.spot > 0:
        position_mark = mark(position, market.spot, asof)
        fired = check_exits(position, position_mark, rules, asof)
        if fired is not None:
            return _exit(position, position_mark, state, market, rules, asof, fired, write)
    # The position is already re-marked at `asof`, and `position_mark` is its mark.
    assessed = _assess(position, market, rules, asof, position_mark)
    if isinstance(assessed, NoHedge):
        if write and assessed.reasons != state.last_no_hedge:
            events.append(assessed)
        return replace(state, last_no_hedge=assessed.reasons), events
    if assessed is None:
        return replace(state, last_no_hedge=()), events
    side = assessed.side
    if _repeats(state, side, assessed.recommended, asof, rules):
        return state, events  # the alert already sent stands: nothing is written
    return _follow(position, state, market, rules, asof, assessed, write)


def _follow(
    position: OpenCondor,
    state: EngineState,
    market: MarketState,
    rules: HedgeRules,
    asof: datetime,
    assessed: _Assessment,
    write: bool,
) -> tuple[EngineState, list[Event]]:
    # `step` on a new alert: the replay follows its recommendation (closes the wing, or buys
    # the hedge once per side).
    side = assessed.side
    events: list[Event] = []
    recommended = assessed.recommended_action()
    if write:
        events.append(assessed.alert())
    sent = _alert_sent(state, side, asof, recommended.instrument)
    if recommended.instrument is Instrument.CLOSE:
        # The replay follows the advice: the tested wing is bought back at the natural price.
        wing = (1, 0) if side is Wing.PUT else (2, 3)
        _, natural = _spread_quote(position, market.spot, position.t_years(asof), wing)
        closed = (*state.closed, side)
        if write:
            events.append(_wing_closed(position, side, natural, len(closed), market, rules, asof))
        return (
            replace(
                sent,
                closed=closed,
                realised_points=state.realised_points + natural,
                closes_taken=(*state.closes_taken, (side, asof, natural)),
            ),
            events,
        )
    if _buys_hedge(state, side, recommended.instrument):
        taken = _take_hedge(recommended, position, market, rules, asof)
        if taken is not None:
            return (
                replace(sent, held=(*state.held, taken), hedges_taken=state.hedges_taken + 1),
                events,
            )
    return sent, events


def _alert_sent(
    state: EngineState, side: Wing, asof: datetime, instrument: Instrument
) -> EngineState:
    # The state once an alert on `side` recommending `instrument` went out at `asof`.
    others = tuple(x for x in state.last_alert_at if x[0] is not side)
    return replace(state, last_alert_at=(*others, (side, asof, instrument)), last_no_hedge=())


#: The recommendations the replay buys as hedges (`_take_hedge`), once per side.
HEDGE_INSTRUMENTS = frozenset(
    {
        Instrument.SPX_CALL_DEBIT_SPREAD,
        Instrument.VIX_CALL_SPREAD,
        Instrument.VIX_CALL,
        Instrument.MIDTERM_VIX_CALL_SPREAD,
        Instrument.VX_FUTURE,
        Instrument.VXM_FUTURE,
    }
)


def _buys_hedge(state: EngineState, side: Wing, instrument: Instrument) -> bool:
    # Whether following an alert recommending `instrument` buys a hedge: none held on the side.
    return instrument in HEDGE_INSTRUMENTS and not any(_side_of(h) is side for h in state.held)


def _exit(
    position: OpenCondor,
    position_mark: PositionMark,
    state: EngineState,
    market: MarketState,
    rules: HedgeRules,
    asof: datetime,
    fired: tuple[ExitRule, str],
    write: bool,
) -> tuple[EngineState, list[Event]]:
    # `step` when a layer-3 exit fires: the whole condor is bought back, the hedges sold.
    rule, detail = fired
    debit = _natural_debit(position, position_mark) + position.realised_points
    pnl = (float(position.fill_credit) - debit) * float(SPX_MULTIPLIER) * position.contracts
    hedge_pnl = sum(h.pnl_usd(position, market.spot, market.vol, asof) for h in state.held)
    events: list[Event] = []
    if write:
        events.append(
            ExitAlert(
                alert_id=_alert_id("ex", position.signal.signal_id, asof, rule),
                signal_id=position.signal.signal_id,
                asof=asof,
                rule=rule,
                detail=detail,
                debit_to_close=_usd(debit),
                pnl_usd=_usd(pnl),
                data=market.data,
                rule_version=rules.rule_version,
            )
        )
    after = replace(
        state,
        exit_rule=rule,
        exit_pnl_usd=pnl,
        exit_at=asof,
        held=(),
        hedge_pnl_realised_usd=state.hedge_pnl_realised_usd + hedge_pnl,
    )
    return after, events


def _wing_closed(
    position: OpenCondor,
    side: Wing,
    natural: float,
    n_closed: int,
    market: MarketState,
    rules: HedgeRules,
    asof: datetime,
) -> ExitAlert:
    # The exit `step` writes when it follows a recommendation to buy back the tested wing.
    wing = (1, 0) if side is Wing.PUT else (2, 3)
    short, long = (position.signal.legs[i].strike for i in wing)
    other = "nothing stays open" if n_closed == 2 else "the other wing stays open"
    wing_credit = _wing_credit(position, wing)
    return ExitAlert(
        alert_id=_alert_id("ex", position.signal.signal_id, asof, f"wing-{side}"),
        signal_id=position.signal.signal_id,
        asof=asof,
        rule=ExitRule.WING_CLOSED,
        detail=(
            f"buy back the {short}/{long} {side} spread now, as the hedge engine recommends; "
            f"{other}"
        ),
        debit_to_close=_usd(natural),
        pnl_usd=_usd((wing_credit - natural) * float(SPX_MULTIPLIER) * position.contracts),
        data=market.data,
        rule_version=rules.rule_version,
    )


def _wing_credit(position: OpenCondor, wing: tuple[int, int]) -> float:
    # The fill credit split between the wings in proportion to their mid credits at entry.
    legs = position.signal.legs
    mids = [float(legs[i].mid) for i in range(4)]
    put_credit = mids[1] - mids[0]
    call_credit = mids[2] - mids[3]
    total = put_credit + call_credit
    share = (put_credit if wing == (1, 0) else call_credit) / total if total > 0 else 0.5
    return float(position.fill_credit) * share


def _side_of(hedge: HeldHedge) -> Wing:
    return Wing.CALL if hedge.instrument is Instrument.SPX_CALL_DEBIT_SPREAD else Wing.PUT


def settle(
    position: OpenCondor,
    state: EngineState,
    settlement_price: float,
    vol_close: VolIndexLevels,
    asof: datetime,
    data: DataStamp,
    rules: HedgeRules,
) -> DailyResult:
    """Score the condor against the settlement: held to the end, managed, and managed + hedged.

    Unhedged is the condor held to settlement. Managed applies the layer-3 exit if one fired and
    the wings the engine recommended buying back.
    Hedged adds the P&L of the hedges the engine recommended, sold at the exit or at the close.
    VIX instruments are valued off the real CFE settle of their contract when `vol_close`
    carries the day's VX curve (interpolated between real settles for a weekly), else off the
    future estimated from the day's closing VIX, VIX9D and VIX3M (modelled, not a traded price).
    """
    strikes = np.array(_leg_strikes(position))
    intrinsic = np.where(
        _IS_CALL,
        np.maximum(settlement_price - strikes, 0.0),
        np.maximum(strikes - settlement_price, 0.0),
    )
    n = float(SPX_MULTIPLIER) * position.contracts
    credit = float(position.fill_credit)
    unhedged = (credit + float((_SIGNS * intrinsic).sum())) * n
    managed_position = position.with_closed(state.closed, state.realised_points)
    managed_value = float(-(_signs(managed_position) * intrinsic).sum())
    managed = (
        state.exit_pnl_usd
        if state.exit_pnl_usd is not None
        else (credit - managed_value - state.realised_points) * n
    )
    open_hedges = sum(h.pnl_usd(position, settlement_price, vol_close, asof) for h in state.held)
    hedge_pnl = state.hedge_pnl_realised_usd + open_hedges
    exit_text = (
        f"layer-3 {state.exit_rule} exit at {state.exit_at.astimezone(NEW_YORK):%H:%M} ET"
        if state.exit_rule is not None and state.exit_at is not None
        else "no layer-3 exit"
    )
    for side, at, debit in state.closes_taken:
        exit_text += (
            f"; {side} wing bought back at {debit:.2f} at {at.astimezone(NEW_YORK):%H:%M} ET "
            "as recommended"
        )
    detail = (
        f"settlement {settlement_price:.2f}; {exit_text}; "
        f"{position.contracts} contracts at {position.fill_credit} credit; hedges followed: "
        f"{state.hedges_taken}"
    )
    return DailyResult(
        result_id=_alert_id("dr", position.signal.signal_id, asof, "result"),
        signal_id=position.signal.signal_id,
        asof=asof,
        settlement_price=_usd(settlement_price),
        exit_rule=state.exit_rule,
        pnl_usd_unhedged=_usd(unhedged),
        hedge_pnl_usd=_usd(hedge_pnl),
        pnl_usd_hedged=_usd(managed + hedge_pnl),
        pnl_usd_managed=_usd(managed),
        detail=detail,
        data=data,
        rule_version=rules.rule_version,
    )


# --- the backtest's screen: which bars `step` would pass over --------------------------------

#: How far inside a threshold a screened bar must lie to count as quiet (index points, expected
#: moves). It absorbs last-digit differences between the screen's vectorised arithmetic and
#: `step`'s scalar arithmetic, so the screen never passes over a bar `step` would act on.
QUIET_MARGIN = 1e-6

#: How far apart (dollars) the screen needs the cheapest call-side action's expected cost and
#: every other's before it names the cheapest. `_best` ranks costs rounded to the cent, so more
#: than a cent apart (plus `QUIET_MARGIN` for the vectorised arithmetic) keeps the order.
RANK_MARGIN_USD = 0.01 + QUIET_MARGIN

#: The call side's actions in the order `_assess` lists them (`BarScreen.call_best` indexes it).
CALL_SIDE_ACTIONS = (
    Instrument.CLOSE,
    Instrument.ROLL,
    Instrument.SPX_CALL_DEBIT_SPREAD,
    Instrument.ROLL_UNTESTED,
)


@dataclass(frozen=True, slots=True, eq=False)
class BarScreen:
    """What `screen_bars` found, bar by bar.

    Attributes:
        asofs: The screened moments.
        quiet: Bars where `step` does nothing: no event, no change of state.
        call_best: At a bar where only the call side is tested, no exit can fire and the data
            is clean, the index into `CALL_SIDE_ACTIONS` of the action `step` recommends there,
            when the screen is sure of it; -1 everywhere else.
        call_costs_usd: At those bars, the expected cost of each of `CALL_SIDE_ACTIONS` as
            `_assess` prices it (inf: not listed there); NaN at every other bar.
    """

    asofs: Sequence[datetime]
    quiet: NDArray[np.bool_]
    call_best: NDArray[np.int8]
    call_costs_usd: NDArray[np.float64]

    def follow(
        self, index: int, state: EngineState, rules: HedgeRules, *, write: bool
    ) -> EngineState | None:
        """The state `step` leaves at bar `index`, when the screen can tell without stepping.

        At a bar where the screen is sure of the call side's recommendation: the same state if
        it only repeats the alert last sent for the call side (`step` writes nothing). Without
        `write`, also the state with the alert's time moved on when a new alert would change
        nothing else (not a close, no hedge bought). None: the caller steps the bar. Valid for
        the states `screen_bars` is valid for.
        """
        best = int(self.call_best[index])
        if best < 0:
            return None
        instrument, asof = CALL_SIDE_ACTIONS[best], self.asofs[index]
        if _repeats(state, Wing.CALL, instrument, asof, rules):
            return state
        if write or instrument is Instrument.CLOSE or _buys_hedge(state, Wing.CALL, instrument):
            return None
        return _alert_sent(state, Wing.CALL, asof, instrument)


def screen_bars(
    position: OpenCondor,
    asofs: Sequence[datetime],
    spots: NDArray[np.float64],
    vix: NDArray[np.float64],
    clean: NDArray[np.bool_],
    rules: HedgeRules,
    *,
    stamps: NDArray[np.float64] | None = None,
) -> BarScreen:
    """Screen a stretch of bars for `step` in one vectorised pass.

    A bar is quiet when the position is already settled at it, or when its data is clean
    (`clean`: the market state there carries no data issue), no layer-3 exit fires (stop,
    breach, profit target, time) and neither wing is tested. The conditions are exactly
    `check_exits` and `find_tested_wing` on `mark`, evaluated for every bar at once; within
    `QUIET_MARGIN` of a threshold a bar counts as not quiet, so the caller runs the real
    `step` there and the decisions are the engine's own.

    Where only the call side is tested, the screen also prices the call side's actions as
    `_assess` does (close, roll, call debit spread, rolling the put side up) and names the
    cheapest (`BarScreen.call_best`), but only where every branch and the ranking are clear of
    their thresholds by the margins; a caller uses it to pass over bars that only repeat the
    alert already sent, or re-send it changing nothing else (`BarScreen.follow`). It does not
    see a real chain's parity scan, which adds actions: a caller whose states carry one must
    not use `call_best`.

    Args:
        position: The condor with its closed wings and realised points applied
            (`OpenCondor.with_closed`), at entry IV scale.
        asofs: Ascending bar moments (aware).
        spots: SPX at each moment.
        vix: VIX at each moment.
        clean: Whether the market state at each moment has no data issue.
        rules: The hedge rules `step` runs under.
        stamps: The moments as POSIX seconds (`core.calendar.posix_stamps`), when the caller
            has them. Times to settlement are worked out from them, equal to `t_years` for
            moments on whole seconds (a path's bars are), else to rounding.

    Only valid for an engine state with no exit, fewer than two wings closed and no pending
    no-hedge notice: for any other state every bar is reported not quiet.
    """
    n = len(asofs)
    quiet = np.zeros(n, dtype=np.bool_)
    call_best = np.full(n, -1, dtype=np.int8)
    call_costs = np.full((n, len(CALL_SIDE_ACTIONS)), np.nan)
    if n == 0 or position.entry_vix is None or position.entry_vix <= 0:
        return BarScreen(asofs, quiet, call_best, call_costs)
    signal = position.signal
    if stamps is None:
        stamps = posix_stamps(asofs, "asofs")
    t = np.maximum((signal.settles_at.timestamp() - stamps) / _YEAR_SECONDS, 0.0)
    settled = t <= 0
    spots = np.asarray(spots, dtype=np.float64)
    vix = np.asarray(vix, dtype=np.float64)
    usable = (
        np.asarray(clean, dtype=np.bool_)
        & np.isfinite(spots)
        & (spots > 0)
        & np.isfinite(vix)
        & (vix > 0)
        & ~settled
    )
    rows = np.flatnonzero(usable)
    if rows.size:
        s, tt = spots[rows], t[rows]
        # The factors `step` applies, to rounding (`OpenCondor.clock_factors`), on `tt`.
        factors = position.clock_factors(asofs, t, stamps)[rows]
        scale = (vix[rows] / position.entry_vix) * factors
        strikes = np.array(_leg_strikes(position))
        ivs = np.array(position.marking_ivs)[None, :] * scale[:, None]
        forward = s * np.exp(position.carry * tt)
        values = black76_price(
            _IS_CALL[None, :], forward[:, None], strikes[None, :], tt[:, None], position.rate, ivs
        )
        value = -(_signs(position)[None, :] * values).sum(axis=1)
        stress = spread_stresses(vix[rows])
        halves = modelled_half_spread(values) * stress[:, None]
        plan = signal.management
        credit = float(position.fill_credit)
        realised = position.realised_points
        exits = value + realised >= credit * (1 + float(plan.stop_loss_multiple)) - QUIET_MARGIN
        put_open, call_open = position.wing_open(Wing.PUT), position.wing_open(Wing.CALL)
        breach = rules.breach_points
        if put_open:
            exits |= s <= float(signal.short_put.strike) - breach + QUIET_MARGIN
        if call_open:
            exits |= s >= float(signal.short_call.strike) + breach - QUIET_MARGIN
        if plan.profit_target_pct is not None:
            open_legs = np.array(position.open_legs, dtype=np.float64)
            natural = np.minimum(
                value + (halves * open_legs[None, :]).sum(axis=1), float(signal.width_points)
            )
            target = credit * (1 - plan.profit_target_pct / 100)
            exits |= natural + realised <= target + QUIET_MARGIN
        if plan.time_exit_at is not None:
            exits |= stamps[rows] >= plan.time_exit_at.timestamp()
        short_put, short_call = strikes[1], strikes[2]
        atm_iv = np.where(
            s <= short_put,
            ivs[:, 1],
            np.where(
                s >= short_call,
                ivs[:, 2],
                ivs[:, 1]
                + (s - short_put) * (ivs[:, 2] - ivs[:, 1]) / max(short_call - short_put, 1e-12),
            ),
        )
        move = s * atm_iv * np.sqrt(tt)
        pct_points = rules.test_distance_pct / 100 * s

        def tested(
            is_open: bool, distance: NDArray[np.float64], margin: float
        ) -> NDArray[np.bool_]:
            # `find_tested_wing`'s test of one side, `margin` looser (> 0) or stricter (< 0).
            if not is_open:
                return np.zeros(rows.size, dtype=np.bool_)
            with np.errstate(divide="ignore", invalid="ignore"):
                em = np.where(move > 0, distance / move, np.copysign(np.inf, distance))
            near: NDArray[np.bool_] = (distance <= pct_points + margin) | (
                em <= rules.test_distance_em + margin
            )
            return near

        put_near = tested(put_open, s - short_put, QUIET_MARGIN)
        call_near = tested(call_open, short_call - s, QUIET_MARGIN)
        quiet[rows] = ~(exits | put_near | call_near)
        only_call = ~exits & ~put_near & tested(call_open, short_call - s, -QUIET_MARGIN)
        # Under a baseline defence the screen names no action: it prices ALVH's ranking.
        if only_call.any() and rules.defence is Defence.CHEAPEST:
            at = np.flatnonzero(only_call)
            call_best[rows[at]], call_costs[rows[at]] = _call_side_best(
                position,
                rules,
                s[at],
                tt[at],
                forward[at],
                scale[at],
                values[at],
                halves[at],
                ivs[at],
                stress[at],
            )
    quiet[settled] = True
    return BarScreen(asofs, quiet, call_best, call_costs)


def _call_side_best(
    position: OpenCondor,
    rules: HedgeRules,
    spot: NDArray[np.float64],
    t: NDArray[np.float64],
    forward: NDArray[np.float64],
    scale: NDArray[np.float64],
    values: NDArray[np.float64],
    halves: NDArray[np.float64],
    ivs: NDArray[np.float64],
    stress: NDArray[np.float64],
) -> tuple[NDArray[np.int8], NDArray[np.float64]]:
    # `_close_and_roll` (call side) and `_call_side_actions` over arrays of bars: the cheapest
    # where every branch and the ranking are clear by the margins (else -1: the caller steps
    # the bar), and each action's expected cost (inf where `_assess` would not list it). A
    # change to either of those must be made here too: the screen's grid test prices every
    # action both ways and fails when they drift apart.
    signal = position.signal
    n = position.contracts * float(SPX_MULTIPLIER)
    short_call, short_put = float(signal.short_call.strike), float(signal.short_put.strike)
    width, put_width = float(signal.call_width_points), float(signal.put_width_points)
    # The new strikes: the call spread rolled out as far above spot as its short was at entry,
    # and the put spread rolled up as far below; on the 5-point grid, unsure on its edges.
    roll_at = (spot + abs(float(signal.spot) - short_call)) / 5.0
    up_at = (spot - (float(signal.spot) - short_put)) / 5.0
    unsure = ~np.isfinite(values).all(axis=1)
    for raw in (roll_at, up_at):
        unsure |= np.abs(raw - np.round(raw)) <= QUIET_MARGIN
    roll_short, up_short = np.ceil(roll_at) * 5.0, np.floor(up_at) * 5.0
    # Six options in one pass: the roll's two calls, the debit spread's two, the roll-up's two
    # puts; each spread at its tested (or untested) short's IV, as `_assess` prices it.
    is_call = np.array([True, True, True, True, False, False])
    strikes = np.stack(
        [
            roll_short,
            roll_short + width,
            np.full(spot.size, short_call - width),
            np.full(spot.size, short_call),
            up_short,
            up_short - put_width,
        ],
        axis=1,
    )
    call_iv, put_iv = signal.short_call.iv * scale, signal.short_put.iv * scale
    spread_ivs = np.stack([call_iv, call_iv, call_iv, call_iv, put_iv, put_iv], axis=1)
    prices = black76_price(
        is_call, forward[:, None], strikes, t[:, None], position.rate, spread_ivs
    )
    slips = modelled_half_spread(prices) * stress[:, None]
    mids = prices[:, 0::2] - prices[:, 1::2]  # roll, debit spread, roll-up
    pair_slips = slips[:, 0::2] + slips[:, 1::2]
    naturals = mids - pair_slips
    deltas = black76_delta(
        np.append(_IS_CALL, [True, True]),
        forward[:, None],
        np.concatenate(
            [np.tile(np.array(_leg_strikes(position)), (spot.size, 1)), strikes[:, 2:4]], 1
        ),
        t[:, None],
        position.rate,
        np.concatenate([ivs, spread_ivs[:, 2:4]], axis=1),
    )
    costs = np.full((spot.size, len(CALL_SIDE_ACTIONS)), np.inf)
    # Close the call wing.
    mid = values[:, 2] - values[:, 3]
    natural = mid + (halves[:, 2] + halves[:, 3])
    costs[:, 0] = (natural - mid) * n
    # Roll it out, if there is enough left to sell that far out.
    new_natural = naturals[:, 0]
    unsure |= np.abs(new_natural - MIN_SALE_POINTS) <= QUIET_MARGIN
    roll = new_natural >= MIN_SALE_POINTS
    costs[roll, 1] = ((natural - mid + mids[:, 0] - new_natural) * n)[roll]
    # The call debit spread below the short call, sized on the condor's negative delta.
    exposure = -((_signs(position)[None, :] * deltas[:, :4]).sum(axis=1) * (forward / spot)) * n
    delta_per = (deltas[:, 4] - deltas[:, 5]) * forward / spot * 100.0
    unsure |= (np.abs(exposure) <= QUIET_MARGIN) | (np.abs(delta_per) <= QUIET_MARGIN)
    spread = (exposure > 0) & (delta_per > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = rules.hedge_ratio[1] * exposure / delta_per
    unsure |= spread & (np.abs(ratio - np.floor(ratio) - 0.5) <= QUIET_MARGIN)
    count = np.maximum(np.round(ratio), 1.0)
    costs[spread, 2] = (pair_slips[:, 1] * 100.0 * count)[spread]
    # Roll the untested put side up, if that adds enough credit.
    if position.wing_open(Wing.PUT):
        higher = up_short > short_put
        put_mid = values[:, 1] - values[:, 0]
        put_natural = put_mid + (halves[:, 1] + halves[:, 0])
        extra = naturals[:, 2] - put_natural
        unsure |= higher & ((np.abs(extra - MIN_SALE_POINTS) <= QUIET_MARGIN) | ~np.isfinite(extra))
        up = higher & (extra >= MIN_SALE_POINTS)
        costs[up, 3] = ((put_natural - put_mid + mids[:, 2] - naturals[:, 2]) * n)[up]
    unsure |= ~np.isfinite(new_natural) | ~np.isfinite(exposure) | ~np.isfinite(delta_per)
    ranked = np.sort(costs, axis=1)
    best = np.argmin(costs, axis=1).astype(np.int8)
    unsure |= ~np.isfinite(ranked[:, 0]) | (ranked[:, 1] - ranked[:, 0] <= RANK_MARGIN_USD)
    return np.where(unsure, np.int8(-1), best).astype(np.int8), costs
