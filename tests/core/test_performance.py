"""Track-record statistics, checked by hand on a few results."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from core.calendar import NEW_YORK
from core.performance import TradeOutcome, by_track, max_drawdown, track_record

D0 = datetime(2024, 1, 2, 16, 0, tzinfo=NEW_YORK)


def _o(day: int, credit: str, pnl: str, hedge: str = "0", track: str = "0dte") -> TradeOutcome:
    return TradeOutcome(
        track=track,
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


def test_drawdown_counts_from_zero_and_zero_is_not_a_win():
    assert max_drawdown([Decimal(-50), Decimal(20), Decimal(-10)]) == Decimal(50)
    assert max_drawdown([Decimal(10), Decimal(20)]) == 0
    assert track_record([_o(0, "1", "0")]).wins == 0


def test_by_track_splits_the_record():
    records = by_track([_o(0, "1", "100"), _o(1, "5", "-20", track="45dte"), _o(2, "1", "-100")])
    assert list(records) == ["0dte", "45dte"]
    assert records["0dte"].trades == 2
    assert records["0dte"].max_drawdown_usd == Decimal(100)
    assert records["45dte"].average_credit_points == Decimal("5.00")
