"""Events for the Discord tests: a real replayed day (2023-03-22) plus a NoHedge."""

from __future__ import annotations

from datetime import date
from functools import cache

from bot.adapters.event_calendar import load_event_days
from bot.replay import replay_day
from core.rules import CondorRules, HedgeRules
from core.types import DataStamp, Event, NoHedge, Risk, Track
from tests.conftest import ROOT

DATA = ROOT / "data"


@cache
def replayed_events() -> tuple[Event, ...]:
    """Every kind of event, from the FOMC day's replay and one stand-aside of the engine."""
    replay = replay_day(
        date(2023, 3, 22),
        Track.ZERO_DTE,
        Risk.BALANCED,
        data_dir=DATA,
        rules=CondorRules().with_event_days(load_event_days(DATA / "events.csv")),
        hedge_rules=HedgeRules(),
    )
    last = replay.events[-1]
    no_hedge = NoHedge(
        alert_id="nh-20230322-1000",
        signal_id="ic-20230322",
        asof=last.asof,
        reasons=("no SPX bar in the last 15 minutes: the feed is stale",),
        data=DataStamp(quote_time=last.asof, source="FirstRate Data bars", modelled=()),
        rule_version=HedgeRules().rule_version,
    )
    return (*replay.events, no_hedge)
