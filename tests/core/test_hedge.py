"""The ALVH engine on a condor opened on a modelled 0DTE chain, with market states built by hand."""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.calendar import NEW_YORK
from core.chain import OptionChain, OptionQuotes, QuoteRecord, build_chain
from core.condor import CondorProfile, select_condor
from core.hedge import (
    _IS_CALL,
    CALL_SIDE_ACTIONS,
    HEDGE_INSTRUMENTS,
    BarScreen,
    EngineState,
    MarketState,
    OpenCondor,
    TriggerSeries,
    VolIndexLevels,
    _horizon_days,
    _leg_ivs,
    _leg_strikes,
    _leg_values,
    _open_signs,
    _pair_slip,
    _signs,
    _take_hedge,
    _vix_series,
    check_exits,
    entry_ivs,
    evaluate,
    find_tested_wing,
    mark,
    read_triggers,
    scan_parity,
    screen_bars,
    settle,
    step,
    triggers_agree,
)
from core.pricing import black76_price
from core.rules import CondorRules, Defence, HedgeRules
from core.surface import (
    IndexLevels,
    model_chain,
    modelled_half_spread,
    spread_stress,
    spread_stresses,
)
from core.types import (
    CondorSignal,
    DataStamp,
    ExitAlert,
    ExitRule,
    HedgeAction,
    HedgeAlert,
    Instrument,
    NoHedge,
    Risk,
    Track,
    Wing,
)
from tests.conftest import load_snapshot

DAY = date(2023, 3, 22)
ENTRY = datetime(2023, 3, 22, 10, 0, tzinfo=NEW_YORK)
SPOT = 4000.0
RULES = HedgeRules()
ENTRY_LEVELS = IndexLevels(vix=21.0, vix9d=22.0, vix3m=22.5, skew=125.0)
VIX_INSTRUMENTS = {
    Instrument.VIX_CALL_SPREAD,
    Instrument.VIX_CALL,
    Instrument.VX_FUTURE,
    Instrument.VXM_FUTURE,
    Instrument.MIDTERM_VIX_CALL_SPREAD,
}


def _signal_on(
    track: Track,
    expiry: tuple[str, date],
    *,
    asof: datetime = ENTRY,
    spot: float = SPOT,
    levels: IndexLevels = ENTRY_LEVELS,
) -> CondorSignal:
    # The balanced card on a chain modelled at `asof` listing `expiry` only.
    chain = model_chain(spot, asof, [expiry], levels, rate=0.045, dividend_yield=0.016)
    event = select_condor(chain, CondorProfile.of(CondorRules(), track, Risk.BALANCED), asof)
    assert isinstance(event, CondorSignal)
    return event


@pytest.fixture(scope="module")
def signal() -> CondorSignal:
    return _signal_on(Track.ZERO_DTE, ("SPXW", DAY))


@pytest.fixture
def position(signal) -> OpenCondor:
    return OpenCondor.from_signal(signal, RULES.contracts, entry_vix=21.0)


def _vol(vix: float = 21.0, vix9d: float = 22.0, vix3m: float = 22.5) -> VolIndexLevels:
    return VolIndexLevels(vix=vix, vix9d=vix9d, vix3m=vix3m, vvix=100.0)


def _falling(n: int = 60, end: float = SPOT) -> np.ndarray:
    # An accelerating sell-off: RSI low, MACD below its signal, new lows confirmed.
    x = np.arange(n, dtype=float)
    return end + 0.02 * ((n - 1) ** 2 - x**2)


def _rising(n: int = 60, end: float = SPOT) -> np.ndarray:
    x = np.arange(n, dtype=float)
    return end - 0.02 * ((n - 1) ** 2 - x**2)


def _market(
    spot: float,
    asof: datetime,
    closes: np.ndarray,
    *,
    vol: VolIndexLevels | None = None,
    issues: tuple[str, ...] = (),
    chain: OptionChain | None = None,
    ad_line: np.ndarray | None = None,
) -> MarketState:
    return MarketState(
        asof=asof,
        spot=spot,
        closes_5m=closes,
        ad_line=ad_line,
        ad_note="test: no breadth",
        vol=vol or _vol(),
        chain=chain,
        data_issues=issues,
        data=DataStamp(quote_time=asof, source="test market state", modelled=("test",)),
    )


def test_mark_at_entry_is_worth_the_mid_credit(position, signal):
    m = mark(position, float(signal.spot), ENTRY)
    assert m.value_points == pytest.approx(float(signal.credit_mid), abs=0.15)
    assert m.put_distance_points == pytest.approx(float(signal.spot - signal.short_put.strike))
    assert m.theta_usd_per_day > 0  # short premium earns decay
    assert m.gamma_usd_per_point < 0


def test_the_close_baseline_recommends_the_close_and_prices_the_rest_as_alvh(position, signal):
    at = ENTRY + timedelta(hours=5)
    spot = float(signal.short_put.strike) + 8
    market = _market(spot, at, _falling(end=spot))
    alvh = evaluate(position, market, RULES, at)
    baseline = evaluate(position, market, replace(RULES, defence=Defence.CLOSE), at)
    assert isinstance(alvh, HedgeAlert)
    assert isinstance(baseline, HedgeAlert)
    assert alvh.recommended.instrument is not Instrument.CLOSE  # ALVH picks a cheaper answer
    assert baseline.recommended.instrument is Instrument.CLOSE
    unmarked = [replace(a, recommended=False) for a in alvh.actions]
    assert [replace(a, recommended=False) for a in baseline.actions] == unmarked
    assert "Baseline rule 'close', not ALVH" in baseline.rationale
    assert "Baseline" not in alvh.rationale


def test_delta_turns_long_as_spot_presses_the_put_and_short_at_the_call(position, signal):
    at = ENTRY + timedelta(hours=4)
    put_test = mark(position, float(signal.short_put.strike) + 5, at)
    call_test = mark(position, float(signal.short_call.strike) - 5, at)
    assert put_test.delta_usd_per_point > 0
    assert call_test.delta_usd_per_point < 0
    assert find_tested_wing(put_test, RULES) is Wing.PUT
    assert find_tested_wing(call_test, RULES) is Wing.CALL
    assert find_tested_wing(mark(position, float(signal.spot), at), RULES) is None


def test_put_test_with_agreeing_triggers_prices_layer_1_vix_hedges(position, signal):
    at = ENTRY + timedelta(hours=5)
    spot = float(signal.short_put.strike) + 8
    alert = evaluate(position, _market(spot, at, _falling(end=spot)), RULES, at)
    assert isinstance(alert, HedgeAlert)
    assert alert.side_tested is Wing.PUT
    assert triggers_agree(alert.triggers, RULES)
    layer1 = {a.instrument: a for a in alert.actions if a.layer == 1}
    assert set(layer1) == {
        Instrument.VIX_CALL_SPREAD,
        Instrument.VIX_CALL,
        Instrument.VX_FUTURE,
        Instrument.VXM_FUTURE,
    }
    for action in layer1.values():
        assert action.contracts >= 1
        assert action.hedge_ratio is not None
        low, mid, high = action.hedge_ratio
        assert low < mid < high  # more VIX sensitivity, more offset
        assert 0.25 < mid < 0.75  # sized to the middle of 40-60 %, up to whole contracts
    assert layer1[Instrument.VIX_CALL_SPREAD].cost_usd > 0
    assert layer1[Instrument.VX_FUTURE].cost_usd == 0
    # The March VIX monthly settled that very morning: the nearest series is a week out.
    assert "settles Wed 2023-03-29" in alert.rationale
    assert {a.instrument for a in alert.actions} >= {Instrument.CLOSE}
    assert sum(a.recommended for a in alert.actions) == 1
    recommended = alert.recommended
    feasible = [a for a in alert.actions if a.feasible]
    assert recommended.expected_cost_usd == min(a.expected_cost_usd for a in feasible)


def test_put_test_without_agreeing_triggers_holds_and_prices_close_and_roll(position, signal):
    at = ENTRY + timedelta(hours=5)
    spot = float(signal.short_put.strike) + 8
    alert = evaluate(position, _market(spot, at, _rising(end=spot)), RULES, at)
    assert isinstance(alert, HedgeAlert)
    assert not triggers_agree(alert.triggers, RULES)
    instruments = {a.instrument for a in alert.actions}
    assert not instruments & VIX_INSTRUMENTS
    assert Instrument.HOLD in instruments
    assert Instrument.CLOSE in instruments
    assert "do not agree" in alert.rationale


def test_call_side_test_never_buys_vix_calls(position, signal):
    at = ENTRY + timedelta(hours=3)
    spot = float(signal.short_call.strike) - 8
    alert = evaluate(position, _market(spot, at, _rising(end=spot)), RULES, at)
    assert isinstance(alert, HedgeAlert)
    assert alert.side_tested is Wing.CALL
    instruments = {a.instrument for a in alert.actions}
    assert not instruments & VIX_INSTRUMENTS
    assert Instrument.SPX_CALL_DEBIT_SPREAD in instruments
    assert Instrument.CLOSE in instruments
    assert "VIX usually falls as SPX rallies" in alert.rationale
    debit = next(a for a in alert.actions if a.instrument is Instrument.SPX_CALL_DEBIT_SPREAD)
    assert debit.contracts >= 1
    assert f"/{signal.short_call.strike:f}" in debit.description.replace(".0 ", " ")


def test_layer_2_needs_stress_priced_to_persist(position, signal):
    at = ENTRY + timedelta(hours=5)
    spot = float(signal.short_put.strike) + 8
    inverted = evaluate(position, _market(spot, at, _falling(end=spot)), RULES, at)
    calm = evaluate(
        position,
        _market(spot, at, _falling(end=spot), vol=_vol(vix=21.0, vix9d=19.0, vix3m=23.0)),
        RULES,
        at,
    )
    assert isinstance(inverted, HedgeAlert)
    assert isinstance(calm, HedgeAlert)
    assert any(a.instrument is Instrument.MIDTERM_VIX_CALL_SPREAD for a in inverted.actions)
    assert not any(a.instrument is Instrument.MIDTERM_VIX_CALL_SPREAD for a in calm.actions)
    midterm = next(a for a in inverted.actions if a.layer == 2)
    assert "days to settlement" in " ".join(midterm.notes)


def _dislocated(chain: OptionChain, strike: float, expiry: date, bump: float) -> OptionChain:
    records = []
    for i in range(len(chain)):
        e = chain.expiry[i].astype(object)
        bid, ask = float(chain.bid[i]), float(chain.ask[i])
        planted = chain.root[i] == "SPXW" and chain.strike[i] == strike
        if e == expiry and planted and chain.is_call[i]:
            bid, ask = bid + bump, ask + bump
        records.append(
            QuoteRecord(
                root=str(chain.root[i]),
                expiry=e,
                strike=float(chain.strike[i]),
                is_call=bool(chain.is_call[i]),
                bid=bid,
                ask=ask,
            )
        )
    return build_chain(OptionQuotes.from_records(records), chain.spot, chain.quote_time, "test")


def test_parity_scan_finds_a_planted_conversion_and_nothing_on_the_real_chain():
    chain = load_snapshot("spx_cboe_2024-01-05_close.csv.gz")
    expiry = date(2024, 2, 16)
    assert scan_parity(chain, RULES, expiry) == []
    forward = chain.terms_for("SPXW", expiry).forward
    strike = float(round(forward / 25) * 25)
    planted = scan_parity(_dislocated(chain, strike, expiry, 3.0), RULES, expiry)
    conversions = [a for a in planted if a.instrument is Instrument.SPX_CONVERSION]
    assert len(conversions) == 1
    assert f"{strike:g}" in conversions[0].description
    assert conversions[0].expected_cost_usd < 0  # an edge, not a cost


@pytest.mark.parametrize(
    ("offset", "rule"),
    [(-40.0, ExitRule.STOP), (-6.0, ExitRule.BREACH)],
)
def test_layer_3_stop_and_breach(position, signal, offset, rule):
    at = ENTRY + timedelta(hours=5, minutes=50)
    spot = float(signal.short_put.strike) + offset
    if rule is ExitRule.BREACH:  # a loose stop, so the breach rule is the one that speaks
        loose = replace(signal.management, stop_loss_multiple=Decimal(100))
        position = replace(position, signal=replace(signal, management=loose))
    fired = check_exits(position, mark(position, spot, at), RULES, at)
    assert fired is not None
    assert fired[0] is rule


def test_layer_3_time_exit_and_profit_target_follow_the_card(position, signal):
    plan = replace(
        signal.management,
        time_exit_at=ENTRY + timedelta(hours=5),
        profit_target_pct=50,
        profit_target_debit=signal.credit_mid / 2,
    )
    managed = replace(position, signal=replace(signal, management=plan))
    center = float(signal.spot)
    late = ENTRY + timedelta(hours=5, minutes=5)
    early = ENTRY + timedelta(minutes=5)
    assert check_exits(managed, mark(managed, center, early), RULES, early) is None
    later = check_exits(managed, mark(managed, center, late), RULES, late)
    assert later is not None
    assert later[0] in (ExitRule.PROFIT_TARGET, ExitRule.TIME)
    assert check_exits(position, mark(position, center, early), RULES, early) is None


def test_bad_data_gives_no_hedge_with_the_reason(position, signal):
    at = ENTRY + timedelta(hours=5)
    spot = float(signal.short_put.strike) + 8
    gap = "SPX bars: 12 bars missing 14:40-14:52 ET"
    event = evaluate(position, _market(spot, at, _falling(end=spot), issues=(gap,)), RULES, at)
    assert isinstance(event, NoHedge)
    assert event.reasons == (gap,)
    nan_spot = evaluate(position, _market(float("nan"), at, _falling()), RULES, at)
    assert isinstance(nan_spot, NoHedge)
    assert "nan" in nan_spot.reasons[0]


def test_step_fires_an_exit_once_and_does_not_repeat_alerts(position, signal):
    state = EngineState()
    spot = float(signal.short_put.strike) + 8
    first = ENTRY + timedelta(hours=5)
    state, events = step(position, state, _market(spot, first, _rising(end=spot)), RULES, first)
    assert [type(e) for e in events] == [HedgeAlert]
    again = first + timedelta(minutes=5)
    state, events = step(position, state, _market(spot, again, _rising(end=spot)), RULES, again)
    assert events == []
    crash = again + timedelta(minutes=5)
    low = float(signal.short_put.strike) - 30
    state, events = step(position, state, _market(low, crash, _falling(end=low)), RULES, crash)
    assert [type(e) for e in events] == [ExitAlert]
    assert state.exit_rule is not None
    after = crash + timedelta(minutes=5)
    state, events = step(position, state, _market(low, after, _falling(end=low)), RULES, after)
    assert events == []


@pytest.mark.parametrize("entry_vix", [21.0, None])
def test_step_alerts_exactly_what_evaluate_says_at_the_bar(signal, entry_vix):
    # step re-marks the position once for the bar (VIX ratio and trading-time factor); its
    # alert must be evaluate's for the position as opened, also without an entry VIX (the
    # factor was once applied twice there).
    position = OpenCondor.from_signal(signal, RULES.contracts, entry_vix=entry_vix)
    spot = float(signal.short_put.strike) + 8
    asof = ENTRY + timedelta(hours=5)
    market = _market(spot, asof, _rising(end=spot), vol=_vol(vix=24.0))
    _, events = step(position, EngineState(), market, RULES, asof)
    expected = evaluate(position, market, RULES, asof)
    assert isinstance(expected, HedgeAlert)
    assert events == [expected]
    # the mark in the alert is the position marked once at the bar
    assert expected.position == mark(position.at(24.0, asof), spot, asof)


def test_day_result_scores_with_and_without_management(position, signal):
    state = EngineState()
    close = datetime(2023, 3, 22, 16, 0, tzinfo=NEW_YORK)
    data = DataStamp(quote_time=close, source="test")
    below = float(signal.short_put.strike) - 50
    held = settle(position, state, below, _vol(), close, data, RULES)
    width = float(signal.width_points)
    credit = float(position.fill_credit)
    assert float(held.pnl_usd_unhedged) == pytest.approx((credit - width) * 100 * RULES.contracts)
    assert held.pnl_usd_managed == held.pnl_usd_unhedged
    inside = settle(position, state, float(signal.spot), _vol(), close, data, RULES)
    assert float(inside.pnl_usd_unhedged) == pytest.approx(credit * 100 * RULES.contracts)


def test_an_inverted_term_structure_falls_back_to_spot_vix_instead_of_failing(position, signal):
    at = ENTRY + timedelta(hours=5)
    spot = float(signal.short_put.strike) + 8
    crash = _vol(vix=40.0, vix9d=80.0, vix3m=30.0)  # VIX9D twice VIX: no consistent forward
    alert = evaluate(position, _market(spot, at, _falling(end=spot), vol=crash), RULES, at)
    assert isinstance(alert, HedgeAlert)
    notes = " ".join(note for a in alert.actions for note in a.notes)
    assert "future taken as spot VIX 40.00" in notes


@functools.cache
def _long_signal() -> CondorSignal:
    return _signal_on(Track.DTE_45, ("SPX", date(2023, 5, 19)))


@pytest.mark.parametrize("kind", ["0dte", "45dte"])
def test_quiet_bars_are_exactly_the_bars_step_passes_over(signal, kind):
    # A grid of spots, moments and VIX levels: every bar the screen calls quiet is one where
    # `step` (from a fresh state) says nothing and changes nothing, and every other bar is one
    # where it acts -- a stop, breach, profit target, time exit or a hedge alert.
    chosen = signal if kind == "0dte" else _long_signal()
    position = OpenCondor.from_signal(chosen, RULES.contracts, entry_vix=21.0)
    span = chosen.settles_at - ENTRY
    moments = [ENTRY + span * f for f in (0.05, 0.3, 0.6, 0.9, 0.99)]
    bars = [
        (moment, at_spot, vix)
        for moment in moments
        for at_spot in np.linspace(SPOT * 0.94, SPOT * 1.06, 25)
        for vix in (14.0, 21.0, 35.0)
    ]
    asofs = [b[0] for b in bars]
    spots = np.array([b[1] for b in bars])
    vix = np.array([b[2] for b in bars])
    clean = np.ones(len(bars), dtype=bool)
    clean[::17] = False  # a bar with a data issue is never quiet
    quiet = screen_bars(position, asofs, spots, vix, clean, RULES).quiet
    closes = _falling()
    for i, (asof, spot, level) in enumerate(bars):
        issues = () if clean[i] else ("SPX bars: a gap",)
        market = _market(float(spot), asof, closes, vol=_vol(vix=float(level)), issues=issues)
        state, events = step(position, EngineState(), market, RULES, asof)
        acted = bool(events) or state != EngineState()
        assert quiet[i] != acted, f"bar {i}: spot {spot:.1f} at {asof} VIX {level}"
    assert quiet.any()
    assert (~quiet).any()


@pytest.mark.parametrize("kind", ["0dte", "45dte"])
@pytest.mark.parametrize("put_closed", [False, True])
def test_the_screen_names_the_call_side_action_step_recommends(signal, kind, put_closed):
    # A grid of bars around the short call. Wherever the screen names the call side's cheapest
    # action, `evaluate` tests the call side and recommends that very action, priced as the
    # screen prices each action; and wherever the screen says what state `step` leaves after
    # an earlier alert (a repeat, or a new alert that changes only its time), it is that.
    chosen = signal if kind == "0dte" else _long_signal()
    base = OpenCondor.from_signal(chosen, RULES.contracts, entry_vix=21.0)
    closed, realised = ((Wing.PUT,), 0.4) if put_closed else ((), 0.0)
    position = base.with_closed(closed, realised)
    span = chosen.settles_at - ENTRY
    short_call = float(chosen.short_call.strike)
    bars = [
        (ENTRY + span * f, at_spot, vix)
        for f in (0.05, 0.3, 0.6, 0.9, 0.99)
        for at_spot in np.linspace(short_call * 0.97, short_call * 1.004, 41)
        for vix in (14.0, 21.0, 35.0)
    ]
    asofs = [b[0] for b in bars]
    spots = np.array([b[1] for b in bars])
    vix = np.array([b[2] for b in bars])
    screen = screen_bars(position, asofs, spots, vix, np.ones(len(bars), dtype=bool), RULES)
    named: set[Instrument] = set()
    followed = {True: 0, False: 0}  # repeats, and new alerts that change only their time
    for i, (_, spot, level) in enumerate(bars):
        if screen.call_best[i] >= 0:
            named.add(CALL_SIDE_ACTIONS[int(screen.call_best[i])])
            for repeat in _check_named_bar(screen, i, base, (closed, realised), spot, level):
                followed[repeat] += 1
    # The close baseline is not ALVH's ranking: its screen names nothing, and steps every bar.
    baseline = screen_bars(
        position,
        asofs,
        spots,
        vix,
        np.ones(len(bars), dtype=bool),
        replace(RULES, defence=Defence.CLOSE),
    )
    assert (baseline.call_best == -1).all()
    np.testing.assert_array_equal(baseline.quiet, screen.quiet)
    # Not vacuous: the screen names several of the call side's actions on this grid (every
    # action's price is checked at each named bar), and it tells both kinds of bar. With the
    # put wing closed on 45DTE the debit spread is the cheapest wherever the screen is sure:
    # buying back the call spread costs the modelled spreads of its risen legs.
    assert len(named) >= (1 if kind == "45dte" and put_closed else 2), named
    assert followed[True], followed
    assert followed[False], followed


def _check_named_bar(
    screen: BarScreen,
    i: int,
    base: OpenCondor,
    wings: tuple[tuple[Wing, ...], float],
    spot: float,
    level: float,
) -> list[bool]:
    # Bar `i`, where the screen names the call side's cheapest action: `evaluate` tests the call
    # side and recommends it, each action priced as the screen prices it (to the cent `_assess`
    # rounds to) or unlisted in both; and every state `follow` gives after an earlier alert is
    # the one `step` leaves. Returns, for each state it gave, whether it was a plain repeat.
    asof = screen.asofs[i]
    instrument = CALL_SIDE_ACTIONS[int(screen.call_best[i])]
    closed, realised = wings
    market = _market(float(spot), asof, _rising(end=float(spot)), vol=_vol(vix=float(level)))
    alert = evaluate(base.with_closed(closed, realised), market, RULES, asof)
    assert isinstance(alert, HedgeAlert), f"bar {i}: spot {spot:.2f} at {asof} VIX {level}"
    assert alert.side_tested is Wing.CALL
    assert alert.recommended.instrument is instrument
    listed = {a.instrument: float(a.expected_cost_usd) for a in alert.actions}
    for action, cost in zip(CALL_SIDE_ACTIONS, screen.call_costs_usd[i], strict=True):
        assert cost == pytest.approx(listed.get(action, math.inf), abs=0.005 + 1e-6)
    # After the alert `step` writes from a fresh state (the hedge it bought, if any, held; the
    # wings as screened), with its time and action moved.
    fresh = EngineState(closed=closed, realised_points=realised)
    first = replace(
        step(base, fresh, market, RULES, asof)[0],
        closed=closed,
        realised_points=realised,
        closes_taken=(),
    )
    other = CALL_SIDE_ACTIONS[(int(screen.call_best[i]) + 1) % len(CALL_SIDE_ACTIONS)]
    followed: list[bool] = []
    for ago, sent, held in itertools.product(
        (1, RULES.realert_minutes), (instrument, other), (first.held, ())
    ):
        state = replace(
            first, held=held, last_alert_at=((Wing.CALL, asof - timedelta(minutes=ago), sent),)
        )
        repeat = ago == 1 and sent is instrument
        for write in (True, False):
            want, events = step(base, state, market, RULES, asof, write=write)
            got = screen.follow(i, state, RULES, write=write)
            if got is not None:
                assert got == want
                assert not events
                followed.append(repeat)
            elif repeat:
                pytest.fail(f"bar {i}: a repeat of the last alert is stepped")
    return followed


@settings(max_examples=150, deadline=None)
@given(
    long_dated=st.booleans(),
    elapsed=st.floats(0.01, 0.995),
    moneyness=st.floats(0.985, 1.006),
    vix=st.floats(9.0, 80.0),
    contracts=st.integers(1, 40),
    put_closed=st.booleans(),
)
def test_the_screen_agrees_with_the_engine_on_random_call_side_bars(
    signal, long_dated, elapsed, moneyness, vix, contracts, put_closed
):
    # Random bars near the short call, condor sizes (the debit spread's count rounds on them)
    # and VIX levels; wherever the screen names an action, the engine agrees as above.
    chosen = _long_signal() if long_dated else signal
    base = OpenCondor.from_signal(chosen, contracts, entry_vix=21.0)
    wings: tuple[tuple[Wing, ...], float] = ((Wing.PUT,), 0.4) if put_closed else ((), 0.0)
    asof = ENTRY + (chosen.settles_at - ENTRY) * elapsed
    spot = float(chosen.short_call.strike) * moneyness
    screen = screen_bars(
        base.with_closed(*wings), [asof], np.array([spot]), np.array([vix]), np.ones(1, bool), RULES
    )
    if screen.call_best[0] >= 0:
        _check_named_bar(screen, 0, base, wings, spot, vix)


@pytest.mark.parametrize("side", [Wing.PUT, Wing.CALL])
def test_step_without_writing_moves_the_state_exactly_as_with_it(position, signal, side):
    # A day drifting into one wing and through it, one bar every five minutes, with a data
    # gap on the way: the states match bar for bar, and only the writing step has events.
    short = float(signal.short_put.strike if side is Wing.PUT else signal.short_call.strike)
    target = short - 30 if side is Wing.PUT else short + 30
    written, silent = EngineState(), EngineState()
    kinds: set[str] = set()
    for k in range(70):
        asof = ENTRY + timedelta(minutes=5 * (k + 1))
        spot = SPOT + (target - SPOT) * min(k / 60, 1.0)
        closes = _falling(end=spot) if side is Wing.PUT else _rising(end=spot)
        issues = ("SPX bars: a gap",) if k == 20 else ()
        market = _market(
            spot,
            asof,
            closes,
            vol=_vol(vix=21.0 + (k / 10 if side is Wing.PUT else 0)),
            issues=issues,
        )
        written, events = step(position, written, market, RULES, asof)
        silent, nothing = step(position, silent, market, RULES, asof, write=False)
        assert silent == written, f"bar {k}"
        assert nothing == []
        kinds |= {type(e).__name__ for e in events}
    # Not vacuous: alerts, a no-hedge notice and an exit were written on the way, a hedge was
    # bought, and the condor or its tested wing was closed.
    assert {"HedgeAlert", "NoHedge", "ExitAlert"} <= kinds, kinds
    assert written.hedges_taken == 1
    assert written.exit_rule is not None or written.closed == (side,)


@pytest.mark.parametrize("instrument", list(Instrument))
def test_the_replay_buys_exactly_the_hedge_instruments(position, instrument):
    # `HEDGE_INSTRUMENTS` (what the screen trusts) is what `_take_hedge` buys.
    asof = ENTRY + timedelta(hours=2)
    action = HedgeAction(
        instrument=instrument,
        layer=1,
        description="test",
        contracts=3,
        cost_usd=Decimal("120.00"),
        expected_cost_usd=Decimal("40.00"),
        annualised_cost_pct=1.0,
    )
    market = _market(SPOT, asof, _falling())
    taken = _take_hedge(action, position, market, RULES, asof)
    assert (taken is not None) == (instrument in HEDGE_INSTRUMENTS)


def test_a_wing_without_an_iv_is_marked_from_its_mid_and_never_stops_the_engine(signal):
    # The chain gives a quote with no bid no IV; a far long wing can be one (2014-11-28 0DTE).
    long_call = signal.legs[3]
    no_bid = replace(long_call, bid=Decimal("0"), ask=Decimal("0.10"), iv=float("nan"))
    blank = replace(signal, legs=(*signal.legs[:3], no_bid))
    ivs = entry_ivs(blank)
    assert ivs[:3] == tuple(leg.iv for leg in signal.legs[:3])
    # The IV its 0.05 mid implies, checked by pricing it back.
    price = black76_price(
        True, float(signal.forward), float(no_bid.strike), signal.t_years, 0.0, ivs[3]
    )
    assert float(price) == pytest.approx(0.05, abs=1e-9)
    # A mid that implies nothing (zero) takes the short call's IV.
    worthless = replace(no_bid, ask=Decimal("0"))
    fallback = entry_ivs(replace(signal, legs=(*signal.legs[:3], worthless)))
    assert fallback[3] == signal.short_call.iv
    position = OpenCondor.from_signal(blank, RULES.contracts, entry_vix=21.0)
    assert np.isfinite(mark(position, SPOT + 20, ENTRY + timedelta(hours=2)).value_points)
    state, _ = step(
        position,
        EngineState(),
        _market(SPOT + 25, ENTRY + timedelta(hours=2), _rising()),
        RULES,
        ENTRY + timedelta(hours=2),
    )
    assert state.last_alert_at  # the call-side test was priced, not stopped by a NaN


@pytest.mark.parametrize("side", [Wing.PUT, Wing.CALL])
def test_trigger_series_cut_at_a_bar_read_exactly_what_the_closes_up_to_it_give(side):
    # The feed computes RSI, MACD and divergence once over the day and cuts them at each bar;
    # the readings must be those of the indicators computed over the closes up to that bar.
    rng = np.random.default_rng(3)
    day = SPOT + np.cumsum(rng.normal(0.0, 4.0, 160))
    ad_line = np.cumsum(rng.integers(-900, 900, 300)).astype(np.float64)
    whole = TriggerSeries.of(day, ad_line, RULES)
    asof = ENTRY + timedelta(hours=1)
    for n in range(1, day.size + 1):
        closes = day[:n]
        plain = replace(_market(float(closes[-1]), asof, closes), ad_line=ad_line)
        served = replace(plain, triggers=whole.upto(n))
        assert served.triggers is not None
        assert served.triggers.serves(served, RULES)
        assert read_triggers(served, side, RULES) == read_triggers(plain, side, RULES), n
    # Series of other closes are not used: the engine computes them itself.
    other = replace(plain, triggers=whole.upto(day.size - 1))
    assert other.triggers is not None
    assert not other.triggers.serves(other, RULES)


# --- the per-bar float paths agree with the NumPy code they replaced, to the bit ----------------
# `core.hedge` marks a condor and prices its closes and rolls on two to four numbers at a time
# in plain floats. A backtest must not move by one ulp for it, so each float path is checked
# against the NumPy expression it stands for.

_prices = st.floats(min_value=0.0, max_value=500.0, allow_nan=False)
_four_prices = st.tuples(_prices, _prices, _prices, _prices)


def _bits(x: float) -> str:
    return float(x).hex()


@pytest.mark.parametrize("open_legs", list(itertools.product((False, True), repeat=4)))
def test_open_signs_are_the_vectorised_signs_with_their_signed_zeros(signal, open_legs):
    position = OpenCondor.from_signal(signal, 1)
    position = OpenCondor(**{**_fields(position), "open_legs": open_legs})
    assert [_bits(s) for s in _open_signs(open_legs)] == [_bits(s) for s in _signs(position)]


@given(values=_four_prices)
def test_closing_half_spreads_are_numpys_to_the_bit(signal, values):
    # Calm, then at VIX 45: the modelled half spread of each leg's value, times the stress, as
    # the screen computes it over a bar's row of values.
    position = OpenCondor.from_signal(signal, 1)
    asof = signal.data.quote_time + timedelta(minutes=30)
    for vix in (20.0, 45.0):
        marked = position.at(vix, asof)
        stress = spread_stresses(np.array([vix]))
        expected = modelled_half_spread(np.array([values])) * stress[:, None]
        got = marked.closing_half_spreads(values)
        assert [_bits(h) for h in got] == [_bits(h) for h in expected[0]]
    calm = position.at(20.0, asof).closing_half_spreads(values)
    stressed = marked.closing_half_spreads(values)
    assert all(h45 > h20 for h45, h20 in zip(stressed, calm, strict=True))


@given(prices=st.tuples(_prices, _prices), vix=st.floats(9.0, 90.0))
def test_pair_slip_is_the_summed_vectorised_half_spreads_widened_as_the_screen_widens(prices, vix):
    # The screen widens a bar's half spreads by `spread_stresses` of its VIX, then sums pairs.
    stress = spread_stresses(np.array([vix]))
    expected = (modelled_half_spread(np.array([prices])) * stress[:, None]).sum(axis=1)
    assert _bits(_pair_slip(prices, spread_stress(vix))) == _bits(float(expected[0]))
    if vix <= 27.0:
        assert _bits(_pair_slip(prices, 1.0)) == _bits(float(modelled_half_spread(prices).sum()))


def test_a_position_remarked_in_stress_quotes_new_spreads_wider(signal):
    position = OpenCondor.from_signal(signal, 1)
    asof = signal.data.quote_time + timedelta(minutes=30)
    assert position.at(20.0, asof).spread_stress == 1.0
    assert position.at(27.0, asof).spread_stress == 1.0
    stressed = position.at(45.0, asof)
    assert stressed.spread_stress == spread_stress(45.0) > 2.5
    # Calm again: the stress goes with it (the IV scale alone would not have changed).
    assert position.at(45.0, asof).at(20.0, asof).spread_stress == 1.0
    prices = (4.0, 1.5)
    assert _pair_slip(prices, stressed.spread_stress) > 2.5 * _pair_slip(prices, 1.0)


@pytest.mark.parametrize("closed", [(True, True, True, True), (False, False, True, True)])
@pytest.mark.parametrize("minutes", [0, 90, 300, 359, 400])
@pytest.mark.parametrize("move", [-60.0, -12.5, 0.0, 7.25, 45.0])
def test_mark_is_the_vectorised_leg_maths_to_the_bit(signal, closed, minutes, move):
    position = OpenCondor.from_signal(signal, 2, entry_vix=21.0).at(23.5, ENTRY)
    position = OpenCondor(**{**_fields(position), "open_legs": closed})
    spot = float(signal.spot) + move
    asof = ENTRY + timedelta(minutes=minutes)
    m = mark(position, spot, asof)
    t = position.t_years(asof)
    strikes, ivs = np.array(_leg_strikes(position)), np.array(_leg_ivs(position))
    values = np.array(_leg_values(position, spot, t))
    if t <= 0:
        intrinsic = np.where(
            _IS_CALL, np.maximum(spot - strikes, 0.0), np.maximum(strikes - spot, 0.0)
        )
        assert values.tolist() == intrinsic.tolist()
    value = float(-(_signs(position) * values).sum())
    atm_iv = float(np.interp(spot, [strikes[1], strikes[2]], [ivs[1], ivs[2]]))
    assert _bits(m.value_points) == _bits(value)
    assert _bits(m.expected_move_points) == _bits(spot * atm_iv * math.sqrt(t))


def _fields(position: OpenCondor) -> dict[str, object]:
    return {name: getattr(position, name) for name in OpenCondor.__dataclass_fields__}


def test_times_to_settlement_count_the_hours_that_elapse_across_a_clock_change():
    # A 1DTE condor signalled Friday 2025-03-07 15:45 settles Monday 16:00, 71.25 hours on:
    # the clocks go forward on Sunday, so the wall clock says 72.25.
    friday = datetime(2025, 3, 7, 15, 45, tzinfo=NEW_YORK)
    event = _signal_on(
        Track.ONE_DTE,
        ("SPXW", date(2025, 3, 10)),
        asof=friday,
        spot=5700.0,
        levels=IndexLevels(vix=18.0, vix9d=17.0, vix3m=19.5, skew=135.0),
    )
    position = OpenCondor.from_signal(event, RULES.contracts, entry_vix=18.0)
    year = 365 * 86400.0
    later = friday + timedelta(minutes=5)
    assert event.settles_at - friday == timedelta(hours=72, minutes=15)  # the trap
    assert event.t_years == 71.25 * 3600 / year
    assert position.t_years(later) == (71.25 * 3600 - 300) / year
    # The same time from a moment given in UTC.
    assert position.t_years(later.astimezone(UTC)) == position.t_years(later)
    # The engine's horizon runs to the time exit, if the plan has one, else to settlement.
    exit_at = event.management.time_exit_at
    end = (
        exit_at if exit_at is not None and later < exit_at < event.settles_at else event.settles_at
    )
    assert _horizon_days(position, later, RULES) == (end.timestamp() - later.timestamp()) / 86400
    assert end.utcoffset() != later.utcoffset()
    # The front VIX series settles at a 09:30 after the change: its time counts the same way.
    series = _vix_series(later.date(), later, _vol(), 1.0)
    opens = datetime.combine(series.settlement, time(9, 30), tzinfo=NEW_YORK)
    assert opens.utcoffset() != later.utcoffset()
    assert series.t_years == (opens.timestamp() - later.timestamp()) / year
