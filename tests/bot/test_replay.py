"""Replays of real days: 2023-03-22 (FOMC, put side tested late) and 2023-03-16 (call side)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from functools import cache

import numpy as np
import pytest

from bot.adapters.event_calendar import load_event_days
from bot.adapters.market_data.bars_csv import load_bars
from bot.adapters.market_data.vx_history import VX_HISTORY_FILE, load_vx_history
from bot.cli import main
from bot.replay import RecordedDayFeed, Replay, ReplayError, recent_bar_issues, replay_day
from core.bars import Bars
from core.calendar import NEW_YORK, session_close, session_open
from core.rules import CondorRules, HedgeRules
from core.types import (
    CondorSignal,
    DailyResult,
    HedgeAlert,
    Instrument,
    NoHedge,
    NoTradeDay,
    Risk,
    Track,
    Wing,
)
from tests.conftest import ROOT

DATA = ROOT / "data"
VIX_INSTRUMENTS = {
    Instrument.VIX_CALL_SPREAD,
    Instrument.VIX_CALL,
    Instrument.VX_FUTURE,
    Instrument.VXM_FUTURE,
    Instrument.MIDTERM_VIX_CALL_SPREAD,
}


def _rules() -> CondorRules:
    return CondorRules().with_event_days(load_event_days(DATA / "events.csv"))


@cache
def _replay(day: str, risk: Risk = Risk.BALANCED) -> Replay:
    return replay_day(
        date.fromisoformat(day),
        Track.ZERO_DTE,
        risk,
        data_dir=DATA,
        rules=_rules(),
        hedge_rules=HedgeRules(),
    )


def _bars(day: str) -> Bars:
    return load_bars(next((DATA / "intraday").glob("SPX_1min_*")), day=date.fromisoformat(day))


def test_fomc_day_put_test_gets_layer_1_alerts_and_a_scored_result():
    replay = _replay("2023-03-22")
    kinds = [type(e) for e in replay.events]
    assert kinds[0] is NoTradeDay  # the live rules stand aside on FOMC day, and say so
    assert kinds[1] is CondorSignal
    assert kinds[-1] is DailyResult
    signal = replay.events[1]
    assert isinstance(signal, CondorSignal)
    assert signal.data.modelled  # built on a modelled chain, and the card says it
    assert any("modelled chain" in m for m in signal.data.modelled)
    alerts = [e for e in replay.events if isinstance(e, HedgeAlert)]
    put_alerts = [a for a in alerts if a.side_tested is Wing.PUT]
    assert put_alerts
    first = put_alerts[0]
    assert first.asof.astimezone(NEW_YORK).hour >= 14  # tested in the last hours
    layer1 = [a for a in first.actions if a.layer == 1 and a.instrument in VIX_INSTRUMENTS]
    assert {a.instrument for a in layer1} >= {Instrument.VIX_CALL_SPREAD, Instrument.VX_FUTURE}
    assert all(a.contracts > 0 and a.expected_cost_usd > 0 for a in layer1)
    compared = {a.instrument for a in first.actions}
    assert {Instrument.CLOSE} <= compared  # defend vs close, priced side by side
    assert any(t.fired for t in first.triggers)
    assert any(t.fired is None and "2020-02-10" in t.note for t in first.triggers)
    result = replay.events[-1]
    assert isinstance(result, DailyResult)
    assert float(result.settlement_price) == pytest.approx(3937, abs=1)
    assert result.pnl_usd_unhedged < 0  # the put side finished through the short strike
    assert result.pnl_usd_managed > result.pnl_usd_unhedged  # the engine's advice helped


def test_rally_day_call_test_never_hedges_with_vix():
    replay = _replay("2023-03-16")
    alerts = [e for e in replay.events if isinstance(e, HedgeAlert)]
    assert alerts
    assert all(a.side_tested is Wing.CALL for a in alerts)
    for alert in alerts:
        instruments = {a.instrument for a in alert.actions}
        assert not instruments & VIX_INSTRUMENTS
        assert instruments & {Instrument.SPX_CALL_DEBIT_SPREAD, Instrument.CLOSE}
        assert "VIX usually falls as SPX rallies" in alert.rationale


@pytest.mark.parametrize("day", ["2023-03-17", "2023-03-24", "2023-03-30"])
def test_other_days_replay_to_a_day_result(day):
    replay = _replay(day)
    assert isinstance(replay.events[-1], (DailyResult, NoTradeDay))
    for event in replay.events:
        if isinstance(event, HedgeAlert) and event.side_tested is Wing.CALL:
            assert not {a.instrument for a in event.actions} & VIX_INSTRUMENTS


def test_respect_event_days_stops_at_the_no_trade_card():
    replay = replay_day(
        date(2023, 3, 22),
        Track.ZERO_DTE,
        Risk.BALANCED,
        data_dir=DATA,
        rules=_rules(),
        hedge_rules=HedgeRules(),
        respect_event_days=True,
    )
    assert [type(e) for e in replay.events] == [NoTradeDay]


def _damaged(bars: Bars, keep: np.ndarray | None = None, nan_at: int | None = None) -> Bars:
    close = np.array(bars.close)
    if nan_at is not None:
        close[nan_at] = np.nan
    damaged = replace(bars, close=close)
    return damaged.take(keep) if keep is not None else damaged


def test_a_gap_in_the_bars_gives_no_hedge_never_a_hedge():
    bars = _bars("2023-03-22")
    starts = bars.local_times()
    hhmm = np.array([t.astype(object).hour * 100 + t.astype(object).minute for t in starts])
    keep = ~((hhmm >= 1540) & (hhmm < 1600))  # the last 20 minutes vanish
    replay = replay_day(
        date(2023, 3, 22),
        Track.ZERO_DTE,
        Risk.BALANCED,
        data_dir=DATA,
        rules=_rules(),
        hedge_rules=HedgeRules(),
        bars=_damaged(bars, keep=np.flatnonzero(keep)),
    )
    no_hedge = [e for e in replay.events if isinstance(e, NoHedge)]
    assert no_hedge
    assert any("SPX bars" in reason for e in no_hedge for reason in e.reasons)
    late = [
        e
        for e in replay.events
        if isinstance(e, HedgeAlert)
        and e.asof.astimezone(NEW_YORK).hour == 15
        and e.asof.astimezone(NEW_YORK).minute >= 45
    ]
    assert late == []


def test_a_nan_bar_blocks_the_decision_while_it_is_recent():
    bars = _bars("2023-03-22")
    index = next(
        i
        for i in range(len(bars))
        if bars.start_at(i) == datetime(2023, 3, 22, 15, 50, tzinfo=NEW_YORK)
    )
    replay = replay_day(
        date(2023, 3, 22),
        Track.ZERO_DTE,
        Risk.BALANCED,
        data_dir=DATA,
        rules=_rules(),
        hedge_rules=HedgeRules(),
        bars=_damaged(bars, nan_at=index),
    )
    no_hedge = [e for e in replay.events if isinstance(e, NoHedge)]
    assert no_hedge
    assert any("nan" in reason.lower() for e in no_hedge for reason in e.reasons)
    assert not any(
        isinstance(e, HedgeAlert) and e.asof == datetime(2023, 3, 22, 15, 55, tzinfo=NEW_YORK)
        for e in replay.events
    )


def test_replay_json_rows_have_the_documented_keys(capsys):
    assert main(["replay", "--date", "2023-03-22", "--track", "0dte", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert all({"time", "kind"} <= row.keys() for row in rows)
    assert [r["time"] for r in rows] == sorted(r["time"] for r in rows)
    hedges = [r for r in rows if r["kind"] == "hedge"]
    assert hedges
    keys = {"side_tested", "layer", "instrument", "contracts", "cost_usd", "recommended"}
    assert all(keys <= row.keys() and "triggers" in row for row in hedges)
    assert {r["kind"] for r in rows} >= {"no_trade", "condor", "hedge", "day_result"}
    per_alert: dict[str, int] = {}
    for row in hedges:
        per_alert[row["alert_id"]] = per_alert.get(row["alert_id"], 0) + row["recommended"]
    assert set(per_alert.values()) == {1}


def test_replay_of_a_day_without_bars_names_the_days_that_have_them(capsys):
    assert main(["replay", "--date", "2023-04-03"]) == 2
    err = capsys.readouterr().err
    assert "2023-04-03" in err
    assert "2023-03-16" in err


def test_replay_refuses_no_contracts_naming_the_flag(capsys):
    assert main(["replay", "--date", "2023-03-22", "--contracts", "0"]) == 2
    assert "condorbot: error: --contracts must be at least 1, got 0" in capsys.readouterr().err


def test_replay_refuses_tracks_it_cannot_replay():
    with pytest.raises(ReplayError, match="only 0dte"):
        replay_day(
            date(2023, 3, 22),
            Track.DTE_45,
            Risk.BALANCED,
            data_dir=DATA,
            rules=_rules(),
            hedge_rules=HedgeRules(),
        )


def test_opening_print_is_the_first_session_bar_open():
    feed = RecordedDayFeed.load(date(2023, 3, 22), DATA, HedgeRules())
    price, note = feed.opening_print()
    bars = _bars("2023-03-22")
    first = next(i for i in range(len(bars)) if bars.start_at(i).hour == 9)
    assert price == float(bars.open[first])
    assert "AM settlement" in note
    settlement, _, close_note = feed.settlement()
    assert settlement == bars.last_close
    assert "official close" in close_note


def _moments(day: date) -> list[datetime]:
    # Every 5 minutes of the session, and a few moments off the 5-minute grid.
    opens = session_open(day)
    steps = [opens + timedelta(minutes=5 * k) for k in range(1, 79)]
    return [*steps, opens + timedelta(minutes=61, seconds=30), opens + timedelta(minutes=7)]


@pytest.mark.parametrize("damage", ["none", "nan", "gap"])
def test_market_states_hold_what_the_bars_seen_so_far_give(damage):
    day = date(2023, 3, 22)
    bars = _bars("2023-03-22")
    if damage == "nan":
        bars = _damaged(bars, nan_at=100)
    elif damage == "gap":
        bars = _damaged(bars, keep=np.r_[0:120, 135 : len(bars)])
    feed = RecordedDayFeed.load(day, DATA, HedgeRules(), bars)
    chain, _ = feed.chain_at(session_open(day) + timedelta(minutes=30))
    for moment in _moments(day):
        market = feed.market_at(moment, chain)
        seen = feed.session.until(moment)
        five = seen.resample(5).until(moment) if len(seen) else seen
        slow = np.concatenate([feed.warmup, five.close])
        np.testing.assert_array_equal(market.closes_5m, slow[np.isfinite(slow)])
        assert market.closes_5m.flags.writeable  # the state's own array, as before
        np.testing.assert_equal(market.spot, feed.spot_at(moment))
        assert market.vol == feed.vol_at(moment)
        assert market.data_issues == recent_bar_issues(seen, day, moment)
        if market.triggers is not None:
            assert market.triggers.serves(market, HedgeRules())
            assert not np.shares_memory(market.closes_5m, market.triggers.closes)
    assert feed.five_minute is not None


def test_market_states_of_bars_out_of_order_refuse_once_the_disorder_is_seen():
    day = date(2023, 3, 22)
    bars = _bars("2023-03-22")
    order = np.arange(len(bars))
    order[[200, 201]] = order[[201, 200]]
    feed = RecordedDayFeed.load(day, DATA, HedgeRules(), bars.take(order))
    chain, _ = feed.chain_at(session_open(day) + timedelta(minutes=30))
    before = session_open(day) + timedelta(minutes=150)
    for moment in (before, before + timedelta(minutes=5)):
        market = feed.market_at(moment, chain)
        assert market.triggers is None  # the whole day cannot be resampled
        assert market.spot == feed.spot_at(moment)
    with pytest.raises(ValueError, match="strictly increasing"):
        feed.market_at(session_open(day) + timedelta(minutes=240), chain)


def test_vol_at_follows_the_vx_curve_known_at_each_moment():
    day = date(2011, 8, 8)
    closes = 1200.0 - np.arange(390) * 0.1
    bars = Bars.from_starts(
        [session_open(day) + timedelta(minutes=i) for i in range(390)],
        closes + 0.05,
        closes + 0.5,
        closes - 0.5,
        closes,
        symbol="SPX",
        source="test",
        interval_minutes=1,
    )
    loaded = RecordedDayFeed.load(day, DATA, HedgeRules(), bars)
    feed = replace(loaded, vx=load_vx_history(DATA / VX_HISTORY_FILE))
    settled = session_close(day) + timedelta(minutes=20)
    for moment, trade_date in [
        (datetime(2011, 8, 8, 10, 0, tzinfo=NEW_YORK), date(2011, 8, 5)),
        (settled, date(2011, 8, 8)),  # the day's own settles are out from 16:15
        (datetime(2011, 8, 8, 10, 5, tzinfo=NEW_YORK), date(2011, 8, 5)),
    ]:
        vol = feed.vol_at(moment)
        assert vol.vx_curve is not None
        assert vol.vx_curve.trade_date == trade_date
        assert f"real CFE settles of {trade_date:%Y-%m-%d}" in vol.modelled
        assert vol == replace(feed).vol_at(moment)  # a fresh feed, nothing kept from before
