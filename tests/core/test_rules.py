from __future__ import annotations

import pickle
import re
from datetime import date
from decimal import Decimal
from types import MappingProxyType

import pytest

from core.rules import CONDOR_RULE_VERSION, CondorRules, Defence, HedgeRules, RiskRules
from core.types import Risk, Track
from tests.conftest import ROOT

ROW = re.compile(
    r"^\| (0dte|1dte|45dte) \| (\w+) \| ([\d.]+)[^|]* \| (\d+) \| ([\d.]+) \| (\d+)% \|$", re.M
)


def test_readme_rules_table_is_the_rules_in_code():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"rule version `{CONDOR_RULE_VERSION}`" in readme
    rows = ROW.findall(readme)
    assert len(rows) == 9
    rules = CondorRules()
    for track, risk, delta, wing, credit, ratio in rows:
        got = rules.risk(Track(track), Risk(risk))
        assert got.short_delta == float(delta)
        assert got.wing_width_points == Decimal(wing)
        assert got.min_credit_points == Decimal(credit)
        assert got.min_credit_to_width * 100 == Decimal(ratio)


def test_every_track_and_risk_has_rules_and_riskier_means_closer():
    rules = CondorRules()
    for track in Track:
        deltas = [rules.risk(track, risk).short_delta for risk in Risk]
        assert deltas == sorted(deltas)
        assert len(set(deltas)) == 3


def test_incomplete_risk_table_is_refused():
    risks = dict(CondorRules().risks)
    del risks[(Track.ZERO_DTE, Risk.AGGRESSIVE)]
    with pytest.raises(ValueError, match="missing"):
        CondorRules(risks=risks)


def test_short_delta_outside_zero_to_half_is_refused():
    with pytest.raises(ValueError, match=r"short_delta must be in \(0, 0.5\), was 0.6"):
        RiskRules(
            short_delta=0.6,
            wing_width_points=Decimal(10),
            min_credit_points=Decimal(1),
            min_credit_to_width=Decimal("0.1"),
        )


def test_rules_pickle_with_their_tables_read_only():
    # A backtest spread over processes sends the rules to each (`bot.backtest.run`, jobs > 1).
    rules = CondorRules().with_event_days({date(2024, 9, 18): "FOMC"})
    back = pickle.loads(pickle.dumps(rules))  # noqa: S301 - our own bytes, as the pool sends
    assert back == rules
    assert back.event_days[date(2024, 9, 18)] == "FOMC"
    with pytest.raises(TypeError):
        back.event_days[date(2024, 9, 19)] = "CPI"
    assert isinstance(back.tracks, MappingProxyType)
    assert isinstance(back.risks, MappingProxyType)


def test_hedge_rules_take_a_defence_by_name_and_refuse_an_unknown_one():
    assert HedgeRules().defence is Defence.CHEAPEST
    assert HedgeRules(defence="close").defence is Defence.CLOSE  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="defence must be one of cheapest, close, was 'hold'"):
        HedgeRules(defence="hold")  # type: ignore[arg-type]
