"""Real events for the Telegram tests: two replayed days (FOMC put test, rally call test)."""

from __future__ import annotations

from datetime import date
from functools import cache

from bot.adapters.event_calendar import load_event_days
from bot.replay import replay_day
from core.rules import CondorRules, HedgeRules
from core.types import CondorSignal, Event, NoHedge, Risk, Track
from tests.conftest import ROOT


@cache
def replayed_events() -> tuple[Event, ...]:
    rules = CondorRules().with_event_days(load_event_days(ROOT / "data" / "events.csv"))
    events: list[Event] = []
    for day in ("2023-03-22", "2023-03-16"):
        replay = replay_day(
            date.fromisoformat(day),
            Track.ZERO_DTE,
            Risk.BALANCED,
            data_dir=ROOT / "data",
            rules=rules,
            hedge_rules=HedgeRules(),
        )
        events += replay.events
    first = events[1]
    events.append(
        NoHedge(
            alert_id="nh-1",
            signal_id="sig",
            asof=first.asof,
            reasons=("bars missing <10:31> & no VIX", "stale > 5 min"),
            data=first.data,
            rule_version=first.rule_version,
        )
    )
    return tuple(events)


def a_signal() -> CondorSignal:
    return next(e for e in replayed_events() if isinstance(e, CondorSignal))
