"""The backtest's day loop, costs, settlement scoring and statistics, checked by hand."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import pytest

from core.backtest import (
    ENGINE_ERROR,
    VIX_REGIMES,
    Costs,
    MarketPath,
    NoTrade,
    SkipDay,
    Skipped,
    Trade,
    build_report,
    regime_of,
    run_backtest,
    run_day,
)
from core.calendar import NEW_YORK
from core.chain import OptionChain
from core.condor import CondorProfile, select_condor
from core.hedge import VolIndexLevels
from core.performance import track_record
from core.rules import CondorRules, HedgeRules
from core.surface import IndexLevels, model_chain
from core.types import CondorSignal, DataStamp, Risk, Track

DAY = date(2023, 3, 22)
ENTRY = datetime(2023, 3, 22, 10, 0, tzinfo=NEW_YORK)
SPOT = 4000.0
PROFILE = CondorProfile.of(CondorRules(), Track.ZERO_DTE, Risk.BALANCED)
VOL = VolIndexLevels(vix=21.0, vix9d=22.0, vix3m=22.5, vvix=100.0)


@pytest.fixture(scope="module")
def chain() -> OptionChain:
    return model_chain(
        SPOT,
        ENTRY,
        [("SPXW", DAY)],
        IndexLevels(vix=21.0, vix9d=22.0, vix3m=22.5, skew=125.0),
        rate=0.045,
        dividend_yield=0.016,
    )


@pytest.fixture(scope="module")
def signal(chain) -> CondorSignal:
    event = select_condor(chain, PROFILE, ENTRY)
    assert isinstance(event, CondorSignal)
    return event


@dataclass
class FakeDay:
    """A day input with no intraday steps, settling at a given print."""

    chain_: OptionChain
    settle_at: float
    day: date = DAY
    entry: datetime = ENTRY
    missing: str | None = None

    def chain(self) -> OptionChain:
        return self.chain_

    def entry_vix(self) -> float:
        return 21.0

    def markets(self, settles_at: datetime) -> Iterable[MarketPath]:
        if self.missing:
            raise SkipDay(self.missing)
        return []

    def settlement(self, signal: CondorSignal) -> tuple[float, VolIndexLevels, DataStamp]:
        return self.settle_at, VOL, DataStamp(quote_time=signal.settles_at, source="test")


def test_fill_credit_is_the_limit_less_slippage_per_leg_by_hand(signal):
    costs = Costs(slippage_short_dated=0.25, far_otm_extra=0.10)
    expected = 0.0
    for leg in signal.legs:
        fraction = 0.25 + (0.10 if abs(leg.delta) < 0.10 else 0.0)
        expected += fraction * float(leg.ask - leg.bid)
    assert costs.slippage_points(signal, 0) == pytest.approx(expected)
    filled = max(float(signal.limit_price) - expected, float(signal.credit_natural))
    assert float(costs.fill_credit(signal, 0)) == pytest.approx(round(filled, 2))
    assert costs.fill_credit(signal, 0) >= signal.credit_natural


def test_zero_costs_fill_at_the_card_limit(signal):
    free = Costs(
        commission_per_contract_usd=0,
        slippage_short_dated=0,
        slippage_long_dated=0,
        far_otm_extra=0,
        hedge_commission_per_contract_usd=0,
    )
    assert free.fill_credit(signal, 0) == signal.limit_price


def test_costs_reject_negative_parameters():
    with pytest.raises(ValueError, match="commission_per_contract_usd must be a non-negative"):
        Costs(commission_per_contract_usd=-1)


def test_settlement_inside_the_shorts_keeps_the_credit_less_commission(chain, signal):
    costs = Costs()
    rules = HedgeRules(contracts=2)
    trade = run_day(FakeDay(chain, SPOT), PROFILE, rules, costs)
    assert isinstance(trade, Trade)
    fill = float(costs.fill_credit(signal, 0))
    # Credit x 100 x 2 contracts, less 4 legs x 2 contracts x $0.65.
    expected = fill * 100 * 2 - 4 * 2 * 0.65
    assert trade.held_usd == pytest.approx(expected)
    assert trade.managed_usd == pytest.approx(expected)
    assert trade.hedged_usd == pytest.approx(expected)
    assert trade.slippage_usd == pytest.approx((float(signal.limit_price) - fill) * 200)


def test_settlement_below_the_put_wing_loses_width_less_credit(chain, signal):
    costs = Costs()
    trade = run_day(FakeDay(chain, 3000.0), PROFILE, HedgeRules(contracts=1), costs)
    assert isinstance(trade, Trade)
    width = float(signal.put_width_points)
    fill = float(costs.fill_credit(signal, 0))
    assert trade.held_usd == pytest.approx((fill - width) * 100 - 4 * 0.65)


def test_settlement_between_put_strikes_scores_the_intrinsic(chain, signal):
    costs = Costs(commission_per_contract_usd=1.0)
    short_put = float(signal.short_put.strike)
    price = short_put - 3.0
    trade = run_day(FakeDay(chain, price), PROFILE, HedgeRules(contracts=1), costs)
    assert isinstance(trade, Trade)
    fill = float(costs.fill_credit(signal, 0))
    assert trade.held_usd == pytest.approx((fill - 3.0) * 100 - 4.0)


def test_missing_history_skips_the_day_with_the_reason(chain):
    outcome = run_day(
        FakeDay(chain, SPOT, missing="no VIX9D value for 2023-03-22"),
        PROFILE,
        HedgeRules(),
        Costs(),
    )
    assert outcome == Skipped(day=DAY, reason="no VIX9D value for 2023-03-22")


def test_event_day_is_a_no_trade_day_with_the_cards_reasons(chain):
    profile = CondorProfile.of(
        CondorRules().with_event_days({DAY: "FOMC"}), Track.ZERO_DTE, Risk.BALANCED
    )
    outcome = run_day(FakeDay(chain, SPOT), profile, HedgeRules(), Costs())
    assert isinstance(outcome, NoTrade)
    assert "event_day" in " ".join(outcome.codes).lower()


def test_one_at_a_time_skips_entries_while_a_condor_is_open(chain):
    later = FakeDay(chain, SPOT, entry=ENTRY + timedelta(hours=1))
    outcomes = run_backtest(
        [FakeDay(chain, SPOT), later], PROFILE, HedgeRules(), Costs(), one_at_a_time=True
    )
    assert isinstance(outcomes[0], Trade)
    assert isinstance(outcomes[1], Skipped)
    assert "open until" in outcomes[1].reason


def test_regimes():
    assert regime_of(14.9) == "VIX < 15"
    assert regime_of(35.0) == "VIX >= 30"


def test_report_splits_by_regime_and_year(chain):
    outcomes = run_backtest(
        [FakeDay(chain, SPOT), FakeDay(chain, 3000.0, day=date(2024, 1, 2))],
        PROFILE,
        HedgeRules(),
        Costs(),
        one_at_a_time=False,
    )
    report = build_report(outcomes)
    assert report.overall["held"].trades == 2
    assert set(report.by_year) == {"2023", "2024"}
    assert set(report.by_regime) == {"VIX 20-30"}


def test_regimes_are_reported_from_the_calmest_up(chain):
    (trade,) = run_backtest(
        [FakeDay(chain, SPOT)], PROFILE, HedgeRules(), Costs(), one_at_a_time=False
    )
    assert isinstance(trade, Trade)
    levels = (35.0, 12.0, 25.0, 17.0, 12.5)  # entered in this order
    report = build_report([replace(trade, entry_vix=vix) for vix in levels])
    assert list(report.by_regime) == [label for label, _, _ in VIX_REGIMES]
    assert [report.by_regime[label]["held"].trades for label in report.by_regime] == [2, 1, 1, 1]


def test_engine_refusing_its_inputs_skips_the_day_loudly(chain):
    class Refusing(FakeDay):
        def markets(self, settles_at: datetime) -> Iterable[MarketPath]:
            raise ValueError("term structure implies a negative forward variance")

    outcome = run_day(Refusing(chain, SPOT), PROFILE, HedgeRules(), Costs())
    assert isinstance(outcome, Skipped)
    assert outcome.reason.startswith(ENGINE_ERROR)
    assert "negative forward variance" in outcome.reason


def test_backtest_and_live_track_record_share_the_statistics(chain):
    outcomes = run_backtest(
        [
            FakeDay(chain, SPOT),
            FakeDay(chain, 3000.0, day=date(2023, 3, 23)),
            FakeDay(chain, SPOT, day=date(2023, 3, 24)),
        ],
        PROFILE,
        HedgeRules(contracts=1),
        Costs(),
        one_at_a_time=False,
    )
    report = build_report(outcomes)
    record = track_record([t.outcome("hedged") for t in report.trades])
    stats = report.overall["hedged"]
    # One contract a trade: the record's per-contract figures are the report's, to the cent
    # the ledger keeps (the ratios from P&L rounded to the cent).
    assert record.trades == stats.trades == 3
    assert record.win_rate == stats.win_rate
    assert float(record.expectancy_usd) == pytest.approx(stats.expectancy_usd, abs=0.01)
    assert float(record.total_pnl_usd) == pytest.approx(stats.total_usd, abs=0.02)
    assert float(record.max_drawdown_usd) == pytest.approx(stats.max_drawdown_usd, abs=0.01)
    assert float(record.worst_day_usd) == pytest.approx(stats.worst_day_usd, abs=0.01)
    assert float(record.cvar5_usd) == pytest.approx(stats.cvar5_usd, abs=0.01)
    for mine, theirs in zip(record.expectancy_ci95_usd, stats.expectancy_ci95_usd, strict=True):
        assert float(mine) == pytest.approx(theirs, abs=0.01)
    assert record.profit_factor == pytest.approx(stats.profit_factor, rel=1e-3)
    assert record.sharpe == pytest.approx(stats.sharpe, rel=1e-3)
    assert record.sortino == pytest.approx(stats.sortino, rel=1e-3)
