"""Track-record statistics, checked by hand on a few results."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from core.calendar import NEW_YORK
from core.performance import (
    TradeOutcome,
    bootstrap_mean_ci,
    by_track_and_risk,
    compute_stats,
    cvar,
    max_drawdown,
    track_record,
    trades_per_year,
)

D0 = datetime(2024, 1, 2, 16, 0, tzinfo=NEW_YORK)


def _o(
    day: int, credit: str, pnl: str, hedge: str = "0", track: str = "0dte", risk: str = "balanced"
) -> TradeOutcome:
    return TradeOutcome(
        track=track,
        risk=risk,
        entry_day=(D0 + timedelta(days=day)).date(),
        closed_at=D0 + timedelta(days=day),
        credit_points=Decimal(credit),
        pnl_usd=Decimal(pnl),
        hedge_pnl_usd=Decimal(hedge),
    )


def test_no_trades_is_all_zero():
    record = track_record([])
    assert record.trades == 0
    assert record.win_rate == 0.0
    assert record.expectancy_usd == 0
    assert record.max_drawdown_usd == 0


def test_four_trades_by_hand():
    # Cumulative P&L 100, -200, -150, 50: peak 100, trough -200, so a 300 drawdown.
    outcomes = [
        _o(3, "1.00", "200", "10"),  # given out of order: sorted by closed_at
        _o(0, "1.00", "100"),
        _o(1, "1.20", "-300", "-40"),
        _o(2, "0.80", "50"),
    ]
    record = track_record(outcomes)
    assert record.trades == 4
    assert record.wins == 3
    assert record.win_rate == 0.75
    assert record.average_credit_points == Decimal("1.00")
    assert record.expectancy_usd == Decimal("12.50")
    assert record.total_pnl_usd == Decimal(50)
    assert record.max_drawdown_usd == Decimal(300)
    assert record.hedge_cost_usd == Decimal(30)
    assert record.profit_factor == pytest.approx(350 / 300)
    assert record.worst_day_usd == Decimal(-300)
    assert record.cvar5_usd == Decimal(-300)
    low, high = record.expectancy_ci95_usd
    assert low < record.expectancy_usd < high
    # Four trades over three days: 4 / (3 / 365.25) a year.
    std = float(np.std([100, -300, 50, 200], ddof=1))
    assert record.sharpe == pytest.approx(12.5 / std * math.sqrt(4 / (3 / 365.25)))


def test_worst_day_sums_the_trades_entered_that_day():
    # Three risk levels of one track entered the same day settle as one bad day.
    outcomes = [
        TradeOutcome(
            track="0dte",
            risk="balanced",
            entry_day=date(2024, 1, 2),
            closed_at=D0 + timedelta(minutes=i),
            credit_points=Decimal(1),
            pnl_usd=Decimal(pnl),
        )
        for i, pnl in enumerate(("-100", "-150", "20"))
    ]
    outcomes.append(_o(1, "1", "-200"))
    record = track_record(outcomes)
    assert record.worst_day_usd == Decimal(-230)
    assert record.cvar5_usd == Decimal(-200)  # the worst single trade


def test_one_trade_has_no_spread_to_annualise():
    record = track_record([_o(0, "1", "40")])
    assert math.isnan(record.sharpe)
    assert math.isnan(record.sortino)
    assert math.isinf(record.profit_factor)
    assert record.expectancy_ci95_usd == (Decimal(40), Decimal(40))


def test_trades_per_year_counts_trades_over_their_span():
    assert trades_per_year([date(2024, 1, 2)]) == 252.0
    days = [date(2024, 1, 2), date(2025, 1, 1), date(2024, 7, 1)]  # in any order
    assert trades_per_year(days) == pytest.approx(3 / (365 / 365.25))


def test_drawdown_counts_from_zero_and_zero_is_not_a_win():
    assert max_drawdown([Decimal(-50), Decimal(20), Decimal(-10)]) == Decimal(50)
    assert max_drawdown([Decimal(10), Decimal(20)]) == 0
    assert track_record([_o(0, "1", "0")]).wins == 0


def test_the_record_is_split_by_track_and_risk_level():
    records = by_track_and_risk(
        [
            _o(0, "1", "100", risk="aggressive"),
            _o(1, "5", "-20", track="45dte"),
            _o(2, "1", "-100", risk="aggressive"),
            _o(3, "2", "30", risk="conservative"),
        ]
    )
    assert list(records) == [
        ("0dte", "conservative"),
        ("0dte", "aggressive"),
        ("45dte", "balanced"),
    ]
    assert records["0dte", "aggressive"].trades == 2
    assert records["0dte", "aggressive"].max_drawdown_usd == Decimal(100)
    assert records["0dte", "conservative"].total_pnl_usd == Decimal(30)
    assert records["45dte", "balanced"].average_credit_points == Decimal("5.00")


def test_statistics_by_hand():
    pnl = [100.0, -50.0, 200.0, -300.0]
    days = [date(2023, 1, d) for d in (2, 3, 4, 5)]
    stats = compute_stats(pnl, [150.0] * 4, days, periods_per_year=252)
    assert stats.trades == 4
    assert stats.win_rate == 0.5
    assert stats.avg_credit_usd == 150.0
    assert stats.expectancy_usd == pytest.approx(-12.5)
    assert stats.profit_factor == pytest.approx(300 / 350)
    # Equity 0, 100, 50, 250, -50: peak 250, trough -50.
    assert stats.max_drawdown_usd == pytest.approx(300.0)
    assert stats.worst_day_usd == -300.0
    assert stats.cvar5_usd == -300.0
    std = float(np.std(pnl, ddof=1))
    assert stats.sharpe == pytest.approx(-12.5 / std * math.sqrt(252))
    downside = math.sqrt((50**2 + 300**2) / 4)
    assert stats.sortino == pytest.approx(-12.5 / downside * math.sqrt(252))


def test_bootstrap_interval_is_seeded_and_brackets_the_mean():
    pnl = np.array([100.0, -50.0, 200.0, -300.0, 80.0, 90.0, 60.0])
    first = bootstrap_mean_ci(pnl, seed=3)
    assert first == bootstrap_mean_ci(pnl, seed=3)
    assert first[0] < pnl.mean() < first[1]


def test_drawdown_from_floats_and_cvar():
    stats = compute_stats([-10.0, 5.0], [1.0, 1.0], [date(2023, 1, 2)] * 2, periods_per_year=252)
    assert stats.max_drawdown_usd == 10.0
    assert cvar(np.arange(100, dtype=np.float64)) == pytest.approx(2.0)
