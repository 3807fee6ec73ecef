"""Track-record statistics: pure, one implementation for `/performance` and the backtest.

`compute_stats` computes every statistic of a series of per-trade P&L: trades, win rate,
average credit, expectancy with a bootstrap 95 % interval, profit factor, total, maximum
drawdown, worst day, 5 % CVaR, Sharpe and Sortino. The backtest's report
(`core.backtest.summarise`) and the live track record (`track_record`, behind the bot's
`/performance`) both call it, so a figure on `/performance` and the same figure in a backtest
report come from the same lines.

One `TradeOutcome` per settled condor (a `DailyResult` joined to its signal's track, entry day
and credit); the P&L counted is the one the subscriber would have had following every card:
managed exits plus the engine's hedges (`DailyResult.pnl_usd_hedged`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

from core.types import Risk

_ZERO = Decimal(0)
_CENTS = Decimal("0.01")
#: Trades a year assumed when fewer than two trades give no span to count over.
DEFAULT_PERIODS_PER_YEAR = 252.0


@dataclass(frozen=True, slots=True, kw_only=True)
class TradeOutcome:
    """One settled condor.

    Attributes:
        track: Track value ("0dte", "1dte", "45dte").
        risk: Risk level value ("conservative", "balanced", "aggressive").
        entry_day: The New York day the condor was opened (the worst day sums by it).
        closed_at: When it settled (orders the drawdown).
        credit_points: Mid credit taken at entry, in index points.
        pnl_usd: P&L per contract, managed exits plus hedges.
        hedge_pnl_usd: The hedges' own P&L (negative: they cost money).
    """

    track: str
    risk: str
    entry_day: date
    closed_at: datetime
    credit_points: Decimal
    pnl_usd: Decimal
    hedge_pnl_usd: Decimal = _ZERO


@dataclass(frozen=True, slots=True, kw_only=True)
class Stats:
    """Statistics of one P&L series (dollars per trade)."""

    trades: int
    win_rate: float
    avg_credit_usd: float
    expectancy_usd: float
    expectancy_ci95_usd: tuple[float, float]
    profit_factor: float
    total_usd: float
    max_drawdown_usd: float
    worst_day_usd: float
    cvar5_usd: float
    sharpe: float
    sortino: float

    def as_dict(self) -> dict[str, object]:
        """Plain values for JSON (infinities as None)."""

        def clean(value: float) -> float | None:
            return round(value, 4) if math.isfinite(value) else None

        return {
            "trades": self.trades,
            "win_rate": clean(self.win_rate),
            "avg_credit_usd": clean(self.avg_credit_usd),
            "expectancy_usd": clean(self.expectancy_usd),
            "expectancy_ci95_usd": [clean(v) for v in self.expectancy_ci95_usd],
            "profit_factor": clean(self.profit_factor),
            "total_usd": clean(self.total_usd),
            "max_drawdown_usd": clean(self.max_drawdown_usd),
            "worst_day_usd": clean(self.worst_day_usd),
            "cvar5_usd": clean(self.cvar5_usd),
            "sharpe": clean(self.sharpe),
            "sortino": clean(self.sortino),
        }


def bootstrap_mean_ci(
    pnl: NDArray[np.float64], *, seed: int = 7, resamples: int = 2000
) -> tuple[float, float]:
    """The 95 % percentile-bootstrap interval of the mean (Efron and Tibshirani, ch. 13)."""
    if pnl.size == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, pnl.size, size=(resamples, pnl.size))
    means = pnl[picks].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return (float(low), float(high))


def _max_drawdown_usd(pnl: NDArray[np.float64]) -> float:
    # `max_drawdown` of float P&L, each value taken exactly as its shortest repr.
    if pnl.size == 0:
        return 0.0
    return float(max_drawdown(Decimal(repr(float(v))) for v in pnl))


def cvar(pnl: NDArray[np.float64], level: float = 0.05) -> float:
    """Mean of the worst `level` share of outcomes (at least one), the expected shortfall."""
    if pnl.size == 0:
        return math.nan
    count = max(1, math.ceil(level * pnl.size))
    return float(np.sort(pnl)[:count].mean())


def compute_stats(
    pnl: Sequence[float],
    credits_usd: Sequence[float],
    days: Sequence[date],
    *,
    periods_per_year: float,
    seed: int = 7,
) -> Stats:
    """Statistics of per-trade P&L in trade order.

    Sharpe and Sortino are per trade, annualised by the square root of `periods_per_year`
    (`trades_per_year` of the trades' days); no risk-free rate is subtracted. The worst day
    sums the trades entered on the same day.
    """
    values = np.asarray(pnl, dtype=np.float64)
    n = int(values.size)
    if n == 0:
        nan = math.nan
        return Stats(
            trades=0,
            win_rate=nan,
            avg_credit_usd=nan,
            expectancy_usd=nan,
            expectancy_ci95_usd=(nan, nan),
            profit_factor=nan,
            total_usd=0.0,
            max_drawdown_usd=0.0,
            worst_day_usd=nan,
            cvar5_usd=nan,
            sharpe=nan,
            sortino=nan,
        )
    gains = float(values[values > 0].sum())
    losses = float(-values[values < 0].sum())
    mean = float(values.mean())
    std = float(values.std(ddof=1)) if n > 1 else math.nan
    downside = np.minimum(values, 0.0)
    down = float(math.sqrt((downside**2).mean()))
    scale = math.sqrt(periods_per_year)
    by_day: dict[date, float] = {}
    for d, v in zip(days, values, strict=True):
        by_day[d] = by_day.get(d, 0.0) + float(v)
    return Stats(
        trades=n,
        win_rate=float((values > 0).mean()),
        avg_credit_usd=float(np.mean(credits_usd)),
        expectancy_usd=mean,
        expectancy_ci95_usd=bootstrap_mean_ci(values, seed=seed),
        profit_factor=gains / losses if losses > 0 else math.inf,
        total_usd=float(values.sum()),
        max_drawdown_usd=_max_drawdown_usd(values),
        worst_day_usd=min(by_day.values()),
        cvar5_usd=cvar(values),
        sharpe=mean / std * scale if std and std > 0 else math.nan,
        sortino=mean / down * scale if down > 0 else math.nan,
    )


def trades_per_year(days: Sequence[date]) -> float:
    """Trades a year: the trades' count over the years from their first to last entry day."""
    if len(days) < 2:
        return DEFAULT_PERIODS_PER_YEAR
    span_days = (max(days) - min(days)).days
    return len(days) / max(span_days / 365.25, 1 / 365.25)


def max_drawdown(pnls: Iterable[Decimal]) -> Decimal:
    """Return the largest peak-to-trough fall of the running sum of `pnls` (peak starts at 0)."""
    total = peak = worst = _ZERO
    for pnl in pnls:
        total += pnl
        peak = max(peak, total)
        worst = max(worst, peak - total)
    return worst


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackRecord:
    """What a run of settled trades adds up to (money per contract, USD, to the cent).

    Every figure but the hedge cost is `compute_stats`' over the trades in settlement order.

    Attributes:
        trades: Settled trades counted.
        wins: Trades with a positive P&L.
        win_rate: `wins / trades` (0.0 with no trades).
        average_credit_points: Mean entry credit, index points.
        expectancy_usd: Mean P&L per trade.
        expectancy_ci95_usd: 95 % bootstrap interval of the expectancy (zeros with no trades).
        profit_factor: Gains over losses (inf with no losing trade, NaN with no trades).
        total_pnl_usd: Sum of P&L.
        max_drawdown_usd: Largest fall of the cumulative P&L from its running peak (the peak
            starts at 0), as a non-negative amount.
        worst_day_usd: The worst entry day's summed P&L.
        cvar5_usd: Mean of the worst 5 % of trades (at least one).
        sharpe: Mean over standard deviation per trade, annualised by trades a year (NaN
            under two trades or with no spread).
        sortino: Mean over downside deviation, annualised the same way (NaN with no loss).
        hedge_cost_usd: What the hedges cost in net (`-sum(hedge_pnl_usd)`; negative when they
            paid off).
    """

    trades: int
    wins: int
    win_rate: float
    average_credit_points: Decimal
    expectancy_usd: Decimal
    expectancy_ci95_usd: tuple[Decimal, Decimal]
    profit_factor: float
    total_pnl_usd: Decimal
    max_drawdown_usd: Decimal
    worst_day_usd: Decimal
    cvar5_usd: Decimal
    sharpe: float
    sortino: float
    hedge_cost_usd: Decimal


def _cents(value: float) -> Decimal:
    # A finite dollar figure to the cent, from its shortest repr.
    return Decimal(repr(value)).quantize(_CENTS)


def track_record(outcomes: Sequence[TradeOutcome]) -> TrackRecord:
    """Sum up `outcomes` (in any order: they are taken in `closed_at` order)."""
    ordered = sorted(outcomes, key=lambda o: o.closed_at)
    trades = len(ordered)
    if trades == 0:
        return TrackRecord(
            trades=0,
            wins=0,
            win_rate=0.0,
            average_credit_points=_ZERO,
            expectancy_usd=_ZERO,
            expectancy_ci95_usd=(_ZERO, _ZERO),
            profit_factor=math.nan,
            total_pnl_usd=_ZERO,
            max_drawdown_usd=_ZERO,
            worst_day_usd=_ZERO,
            cvar5_usd=_ZERO,
            sharpe=math.nan,
            sortino=math.nan,
            hedge_cost_usd=_ZERO,
        )
    days = [o.entry_day for o in ordered]
    stats = compute_stats(
        [float(o.pnl_usd) for o in ordered],
        [float(o.credit_points) * 100 for o in ordered],
        days,
        periods_per_year=trades_per_year(days),
    )
    low, high = stats.expectancy_ci95_usd
    return TrackRecord(
        trades=trades,
        wins=round(stats.win_rate * trades),
        win_rate=stats.win_rate,
        average_credit_points=_cents(stats.avg_credit_usd / 100),
        expectancy_usd=_cents(stats.expectancy_usd),
        expectancy_ci95_usd=(_cents(low), _cents(high)),
        profit_factor=stats.profit_factor,
        total_pnl_usd=_cents(stats.total_usd),
        max_drawdown_usd=_cents(stats.max_drawdown_usd),
        worst_day_usd=_cents(stats.worst_day_usd),
        cvar5_usd=_cents(stats.cvar5_usd),
        sharpe=stats.sharpe,
        sortino=stats.sortino,
        hedge_cost_usd=-sum((o.hedge_pnl_usd for o in ordered), _ZERO),
    )


def by_track_and_risk(outcomes: Sequence[TradeOutcome]) -> dict[tuple[str, str], TrackRecord]:
    """Return one `TrackRecord` per (track, risk level) in `outcomes`.

    A subscriber follows one risk level of a track, and a backtest runs one: each is measured
    alone. Tracks sorted, risk levels in `Risk` order.
    """
    order = {str(risk): i for i, risk in enumerate(Risk)}
    keys = sorted({(o.track, o.risk) for o in outcomes}, key=lambda k: (k[0], order.get(k[1], 99)))
    return {key: track_record([o for o in outcomes if (o.track, o.risk) == key]) for key in keys}
