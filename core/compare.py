"""Two condor selections made at one moment, side by side: a real chain against a model.

`compare_selections` measures how far the card selected on a modelled chain is from the card
selected on the real chain of the same moment (strikes, credit, chance of profit, expected move,
short-leg IVs), or records that one or both sides stood aside. `summarize` turns many such
comparisons into the figures that say whether a backtest on modelled chains can be trusted.
Differences are always model minus real.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from core.chain import ExpirySlice, OptionChain
from core.surface import modelled_half_spread, spread_stress
from core.types import CondorSignal, NoTradeDay

_PERCENT = 100.0
#: The quotes `spread_ratio` measures: out of the money, a bid of at least this, 0-45 days out
#: (the population `core.surface.modelled_half_spread` was fitted on).
SPREAD_MIN_BID = 0.50
SPREAD_MAX_DAYS = 45

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


class Agreement(StrEnum):
    """Which of the two sides offered a condor."""

    BOTH = "both"
    MODEL_ONLY = "model_only"
    REAL_ONLY = "real_only"
    NEITHER = "neither"


@dataclass(frozen=True, slots=True, kw_only=True)
class SelectionDiff:
    """How the modelled chain's card differs from the real chain's (model minus real).

    Attributes:
        agreement: Which sides offered a condor; every other field but `same_reasons` is None
            unless both did.
        strike_diff_points: Per leg (long put, short put, short call, long call), index points.
        short_strike_distance_points: The larger |difference| of the two short strikes.
        credit_diff_points: Mid credit difference, index points.
        credit_diff_pct: Mid credit difference in % of the real mid credit.
        pop_diff: Chance-of-profit difference, a fraction (0.01 = one percentage point).
        expected_move_diff_points: Straddle expected-move difference, index points.
        short_iv_real: The real card's short put and short call IVs (fractions).
        short_iv_model: The modelled card's short put and short call IVs (fractions).
        same_reasons: When neither side traded, whether both gave the same reason codes.
    """

    agreement: Agreement
    strike_diff_points: tuple[Decimal, Decimal, Decimal, Decimal] | None = None
    short_strike_distance_points: Decimal | None = None
    credit_diff_points: Decimal | None = None
    credit_diff_pct: float | None = None
    pop_diff: float | None = None
    expected_move_diff_points: Decimal | None = None
    short_iv_real: tuple[float, float] | None = None
    short_iv_model: tuple[float, float] | None = None
    same_reasons: bool | None = None


def agreement_of(real: CondorSignal | NoTradeDay, model: CondorSignal | NoTradeDay) -> Agreement:
    """Return which of the two sides offered a condor."""
    real_trades = isinstance(real, CondorSignal)
    model_trades = isinstance(model, CondorSignal)
    if real_trades and model_trades:
        return Agreement.BOTH
    if model_trades:
        return Agreement.MODEL_ONLY
    if real_trades:
        return Agreement.REAL_ONLY
    return Agreement.NEITHER


def compare_selections(
    real: CondorSignal | NoTradeDay, model: CondorSignal | NoTradeDay
) -> SelectionDiff:
    """Compare the card selected on a modelled chain with the one selected on the real chain.

    Raises:
        ValueError: If the two cards are for different tracks or risk levels.
    """
    if (real.track, real.risk) != (model.track, model.risk):
        raise ValueError(
            f"cards must be for the same track and risk, were {real.track}/{real.risk} and "
            f"{model.track}/{model.risk}"
        )
    agreement = agreement_of(real, model)
    if isinstance(real, NoTradeDay) and isinstance(model, NoTradeDay):
        codes_real = {reason.code for reason in real.reasons}
        codes_model = {reason.code for reason in model.reasons}
        return SelectionDiff(agreement=agreement, same_reasons=codes_real == codes_model)
    if not (isinstance(real, CondorSignal) and isinstance(model, CondorSignal)):
        return SelectionDiff(agreement=agreement)
    diffs = tuple(m.strike - r.strike for m, r in zip(model.legs, real.legs, strict=True))
    strike_diff = (diffs[0], diffs[1], diffs[2], diffs[3])
    credit_diff = model.credit_mid - real.credit_mid
    return SelectionDiff(
        agreement=agreement,
        strike_diff_points=strike_diff,
        short_strike_distance_points=max(abs(strike_diff[1]), abs(strike_diff[2])),
        credit_diff_points=credit_diff,
        credit_diff_pct=float(credit_diff / real.credit_mid) * _PERCENT,
        pop_diff=model.pop - real.pop,
        expected_move_diff_points=model.expected_move_points - real.expected_move_points,
        short_iv_real=(real.short_put.iv, real.short_call.iv),
        short_iv_model=(model.short_put.iv, model.short_call.iv),
    )


def carry_dividend_yield(spot: float, forward: float, t_years: float, rate: float) -> float:
    """Return the dividend yield q with ``spot * exp((rate - q) * t_years) == forward``.

    A modelled chain built with this yield has the real chain's forward, so the two differ only
    in their volatility surface.

    Raises:
        ValueError: If spot or forward is not positive or `t_years` is not positive.
    """
    if not (math.isfinite(spot) and spot > 0 and math.isfinite(forward) and forward > 0):
        raise ValueError(f"spot and forward must be positive, were {spot} and {forward}")
    if not (math.isfinite(t_years) and t_years > 0):
        raise ValueError(f"t_years must be positive, was {t_years}")
    return rate - math.log(forward / spot) / t_years


def _side_covered(
    strikes: FloatArray,
    bid: FloatArray,
    ask: FloatArray,
    delta: FloatArray,
    otm: BoolArray,
    short_delta: float,
    wing: float,
    outward: float,
) -> bool:
    with np.errstate(invalid="ignore"):
        live = np.isfinite(bid) & np.isfinite(ask) & (bid > 0) & (ask >= bid) & otm
        live &= np.isfinite(delta)
        if not (live & (np.abs(delta) <= short_delta)).any():
            return False
        gap = np.where(live, np.abs(np.abs(delta) - short_delta), np.inf)
        short = float(strikes[int(np.argmin(gap))])
        quoted = strikes[np.isfinite(ask) & (ask > 0) & otm]
    # `outward` is -1 for puts (wings below the short strike), +1 for calls (above).
    return bool(np.any((quoted - short) * outward >= wing - 1e-9))


def covers_condor(sl: ExpirySlice, short_delta: float, wing_width_points: float) -> bool:
    """Return whether an expiry's quotes reach far enough out for a whole condor.

    True when, on each side, a live two-sided out-of-the-money option (against the expiry's
    forward) sits at an |delta| of `short_delta` or less, and an option with an ask is quoted
    at least `wing_width_points` beyond the strike whose delta is nearest `short_delta`. A file
    cut to a few strikes around the money fails it: a selection on it cannot reach the rule's
    delta or wing, whatever the market.
    """
    forward = sl.terms.forward
    with np.errstate(invalid="ignore"):
        put_otm = sl.strikes < forward
        call_otm = sl.strikes > forward
    wing = float(wing_width_points)
    return _side_covered(
        sl.strikes, sl.put_bid, sl.put_ask, sl.put_delta, put_otm, short_delta, wing, -1.0
    ) and _side_covered(
        sl.strikes, sl.call_bid, sl.call_ask, sl.call_delta, call_otm, short_delta, wing, 1.0
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class CompareSummary:
    """The figures over many comparisons.

    Attributes:
        comparisons: Comparisons with a comparable expiry (both sides selected on it).
        both, model_only, real_only, neither: How they split; the four add up to `comparisons`.
        neither_same_reasons: Of `neither`, how many gave the same reason codes on both sides.
        credit_abs_pct_median, credit_abs_pct_p90: |model - real| mid credit in % of the real
            credit, where both traded (NaN if none did).
        credit_pct_median: The signed median (positive: the model states more credit).
        model_credit_higher: Where both traded, how often the model's credit was the larger.
        short_strike_distance_median: Median of the larger short-strike distance, points.
        pop_diff_median: Signed median chance-of-profit difference, a fraction.
        expected_move_diff_median: Signed median straddle expected-move difference, points.
        iv_error_median, iv_error_p90: |model IV - real IV| at the selected strikes.
        iv_error_signed_median: The signed median (positive: the model's IV is higher).
        iv_points: How many (strike, right) IV pairs the IV figures rest on.
        model_only_share, real_only_share: `model_only` and `real_only` over `comparisons`.
    """

    comparisons: int
    both: int
    model_only: int
    real_only: int
    neither: int
    neither_same_reasons: int
    credit_abs_pct_median: float
    credit_abs_pct_p90: float
    credit_pct_median: float
    model_credit_higher: int
    short_strike_distance_median: float
    pop_diff_median: float
    expected_move_diff_median: float
    iv_error_median: float
    iv_error_p90: float
    iv_error_signed_median: float
    iv_points: int
    model_only_share: float
    real_only_share: float


def _quantile(values: Sequence[float], q: float) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.quantile(np.array(finite), q)) if finite else math.nan


def summarize(diffs: Sequence[SelectionDiff], iv_errors: Sequence[float]) -> CompareSummary:
    """Summarize comparisons; `iv_errors` are model minus real IVs at the selected strikes."""
    count = {a: sum(1 for d in diffs if d.agreement is a) for a in Agreement}
    both = [d for d in diffs if d.agreement is Agreement.BOTH]
    pct = [d.credit_diff_pct for d in both if d.credit_diff_pct is not None]
    short = [
        float(d.short_strike_distance_points)
        for d in both
        if d.short_strike_distance_points is not None
    ]
    iv = [e for e in iv_errors if math.isfinite(e)]
    n = len(diffs)
    return CompareSummary(
        comparisons=n,
        both=count[Agreement.BOTH],
        model_only=count[Agreement.MODEL_ONLY],
        real_only=count[Agreement.REAL_ONLY],
        neither=count[Agreement.NEITHER],
        neither_same_reasons=sum(1 for d in diffs if d.same_reasons),
        credit_abs_pct_median=_quantile([abs(p) for p in pct], 0.5),
        credit_abs_pct_p90=_quantile([abs(p) for p in pct], 0.9),
        credit_pct_median=_quantile(pct, 0.5),
        model_credit_higher=sum(1 for p in pct if p > 0),
        short_strike_distance_median=_quantile(short, 0.5),
        pop_diff_median=_quantile([d.pop_diff for d in both if d.pop_diff is not None], 0.5),
        expected_move_diff_median=_quantile(
            [
                float(d.expected_move_diff_points)
                for d in both
                if d.expected_move_diff_points is not None
            ],
            0.5,
        ),
        iv_error_median=_quantile([abs(e) for e in iv], 0.5),
        iv_error_p90=_quantile([abs(e) for e in iv], 0.9),
        iv_error_signed_median=_quantile(iv, 0.5),
        iv_points=len(iv),
        model_only_share=count[Agreement.MODEL_ONLY] / n if n else math.nan,
        real_only_share=count[Agreement.REAL_ONLY] / n if n else math.nan,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SpreadRatio:
    """A real chain's half spreads against the modelled ones for the same mids.

    Attributes:
        quotes: How many quotes were measured (see `spread_ratio`).
        calm: Median of real half spread over `modelled_half_spread(mid)`.
        stressed: The same over the calm spread times `spread_stress(vix)`: what a modelled
            chain at that VIX quotes.
    """

    quotes: int
    calm: float
    stressed: float


def spread_ratio(chain: OptionChain, vix: float) -> SpreadRatio | None:
    """How wide `chain` is quoted against a modelled chain's spreads at `vix`.

    Measured on its out-of-the-money quotes (at the chain's spot) with a bid of at least
    `SPREAD_MIN_BID` and an ask above it, expiring 0 to `SPREAD_MAX_DAYS` calendar days after
    the quote date. None when fewer than 10 such quotes.
    """
    quote_day = np.datetime64(chain.quote_time.date(), "D")
    days = (chain.expiry - quote_day).astype(np.int64)
    otm = np.where(chain.is_call, chain.strike > chain.spot, chain.strike < chain.spot)
    with np.errstate(invalid="ignore"):
        keep = (
            otm
            & (chain.bid >= SPREAD_MIN_BID)
            & (chain.ask > chain.bid)
            & (days >= 0)
            & (days <= SPREAD_MAX_DAYS)
        )
    if int(keep.sum()) < 10:
        return None
    real = (chain.ask[keep] - chain.bid[keep]) / 2
    calm = float(np.median(real / modelled_half_spread((chain.bid[keep] + chain.ask[keep]) / 2)))
    return SpreadRatio(quotes=int(keep.sum()), calm=calm, stressed=calm / spread_stress(vix))
