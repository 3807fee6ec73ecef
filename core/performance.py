"""Track-record statistics over settled trades: pure, so the bot and the backtest share them.

One `TradeOutcome` per settled condor (a `DailyResult` joined to its signal's track and credit);
`track_record` sums them up: trades, win rate, average credit, expectancy per trade, total P&L,
maximum drawdown of the cumulative P&L, and what the hedges cost. The P&L counted is the one the
subscriber would have had following every card: managed exits plus the engine's hedges
(`DailyResult.pnl_usd_hedged`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

_ZERO = Decimal(0)
_CENTS = Decimal("0.01")


@dataclass(frozen=True, slots=True, kw_only=True)
class TradeOutcome:
    """One settled condor.

    Attributes:
        track: Track value ("0dte", "1dte", "45dte").
        closed_at: When it settled (orders the drawdown).
        credit_points: Mid credit taken at entry, in index points.
        pnl_usd: P&L per contract, managed exits plus hedges.
        hedge_pnl_usd: The hedges' own P&L (negative: they cost money).
    """

    track: str
    closed_at: datetime
    credit_points: Decimal
    pnl_usd: Decimal
    hedge_pnl_usd: Decimal = _ZERO


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackRecord:
    """What a run of trades adds up to (all money per contract, in USD).

    Attributes:
        trades: Settled trades counted.
        wins: Trades with a positive P&L.
        win_rate: `wins / trades` (0.0 with no trades).
        average_credit_points: Mean entry credit, index points.
        expectancy_usd: Mean P&L per trade.
        total_pnl_usd: Sum of P&L.
        max_drawdown_usd: Largest fall of the cumulative P&L from its running peak (the peak
            starts at 0), as a non-negative amount.
        hedge_cost_usd: What the hedges cost in net (`-sum(hedge_pnl_usd)`; negative when they
            paid off).
    """

    trades: int
    wins: int
    win_rate: float
    average_credit_points: Decimal
    expectancy_usd: Decimal
    total_pnl_usd: Decimal
    max_drawdown_usd: Decimal
    hedge_cost_usd: Decimal


def max_drawdown(pnls: Iterable[Decimal]) -> Decimal:
    """Return the largest peak-to-trough fall of the running sum of `pnls` (peak starts at 0)."""
    total = peak = worst = _ZERO
    for pnl in pnls:
        total += pnl
        peak = max(peak, total)
        worst = max(worst, peak - total)
    return worst


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
            total_pnl_usd=_ZERO,
            max_drawdown_usd=_ZERO,
            hedge_cost_usd=_ZERO,
        )
    wins = sum(1 for o in ordered if o.pnl_usd > 0)
    total = sum((o.pnl_usd for o in ordered), _ZERO)
    credit = sum((o.credit_points for o in ordered), _ZERO)
    hedges = sum((o.hedge_pnl_usd for o in ordered), _ZERO)
    return TrackRecord(
        trades=trades,
        wins=wins,
        win_rate=wins / trades,
        average_credit_points=(credit / trades).quantize(_CENTS),
        expectancy_usd=(total / trades).quantize(_CENTS),
        total_pnl_usd=total,
        max_drawdown_usd=max_drawdown(o.pnl_usd for o in ordered),
        hedge_cost_usd=-hedges,
    )


def by_track(outcomes: Sequence[TradeOutcome]) -> dict[str, TrackRecord]:
    """Return one `TrackRecord` per track present in `outcomes`, tracks in sorted order."""
    tracks = sorted({o.track for o in outcomes})
    return {t: track_record([o for o in outcomes if o.track == t]) for t in tracks}
