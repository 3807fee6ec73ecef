"""Plain-text cards: the console channel, the CLI and the golden files.

Pure functions of an event: the same event renders to the same text for every subscriber.
"""

from __future__ import annotations

from decimal import Decimal
from typing import assert_never

from core.calendar import NEW_YORK
from core.types import (
    CondorSignal,
    DailyResult,
    DataStamp,
    Event,
    ExitAlert,
    HedgeAction,
    HedgeAlert,
    Leg,
    ManagementPlan,
    NoHedge,
    NoTradeDay,
    Track,
    TriggerReading,
)

DISCLAIMER = "Educational signal, not personal financial advice. Options can lose money fast."

_TRACK_TITLE = {Track.ZERO_DTE: "0DTE", Track.ONE_DTE: "1DTE", Track.DTE_45: "45DTE"}


def render_text(event: Event) -> str:
    """Render any event as a plain-text card."""
    match event:
        case CondorSignal():
            return render_signal_text(event)
        case NoTradeDay():
            return render_no_trade_text(event)
        case HedgeAlert():
            return render_hedge_text(event)
        case NoHedge():
            return render_no_hedge_text(event)
        case ExitAlert():
            return render_exit_text(event)
        case DailyResult():
            return render_result_text(event)
        case _:
            assert_never(event)


def _points(value: Decimal) -> str:
    # Mid prices of nickel-quoted legs end in a half tick (1.925): show it rather than round it,
    # so the break-evens on the card add up.
    places = 2 if value == value.quantize(Decimal("0.01")) else 3
    return f"{value:,.{places}f}"


def _usd(value: Decimal) -> str:
    places = 0 if value == value.to_integral_value() else 2
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.{places}f}"


def _strike(value: Decimal) -> str:
    return f"{value:f}"


def _leg_line(leg: Leg) -> str:
    right = "put " if leg.right == "P" else "call"
    side = "BUY " if leg.side == "BUY" else "SELL"
    return (
        f"  {side} {right} {_strike(leg.strike):>7}   bid {leg.bid:>7.2f}  ask {leg.ask:>7.2f}"
        f"   delta {leg.delta:+.3f}   iv {leg.iv:.1%}"
    )


def _footer(data: DataStamp, rule_version: str, signal_id: str) -> list[str]:
    quoted = data.quote_time.astimezone(NEW_YORK)
    lines = [f"Data: {data.source}, quoted {quoted:%Y-%m-%d %H:%M} ET"]
    lines += [f"Modelled input: {item}" for item in data.modelled]
    lines.append(f"Rules {rule_version} | id {signal_id}")
    lines.append(DISCLAIMER)
    return lines


def _target(plan: ManagementPlan) -> str:
    if plan.profit_target_debit is None:
        return "no profit target"
    return (
        f"take profit at {_points(plan.profit_target_debit)} debit "
        f"({plan.profit_target_pct}% of credit)"
    )


def render_signal_text(signal: CondorSignal) -> str:
    """Render a condor signal card: legs, prices, risk, odds and the management plan."""
    lp, sp, sc, lc = signal.legs
    plan = signal.management
    settles = signal.settles_at.astimezone(NEW_YORK)
    lines = [
        f"SPX IRON CONDOR | {_TRACK_TITLE[signal.track]} | {signal.risk}",
        f"{signal.root} {signal.expiry:%a %Y-%m-%d} ({signal.settlement}-settled "
        f"{settles:%H:%M} ET, {signal.dte_days} days): "
        f"{_strike(lp.strike)}/{_strike(sp.strike)} puts, "
        f"{_strike(sc.strike)}/{_strike(lc.strike)} calls",
        *(_leg_line(leg) for leg in signal.legs),
        f"Credit {_points(signal.credit_mid)} mid, {_points(signal.credit_natural)} natural; "
        f"suggested limit {_points(signal.limit_price)}",
        f"Wings {_strike(signal.put_width_points)} / {_strike(signal.call_width_points)} points; "
        f"credit/width {signal.credit_to_width:.1%}",
        f"Max profit {_usd(signal.max_profit_usd)}, max loss {_usd(signal.max_loss_usd)} "
        "per contract",
        f"Break-evens {_points(signal.break_even_low)} and {_points(signal.break_even_high)}",
        f"Chance of profit {signal.pop:.0%} (risk-neutral, from this chain's smile)",
        f"Expected move +/-{_points(signal.expected_move_points)} (ATM straddle), "
        f"+/-{_points(signal.expected_move_iv_points)} (IV x sqrt t)",
        f"Spot {_points(signal.spot)}, forward {_points(signal.forward)}",
        f"Manage: {_target(plan)}; stop at {_points(plan.stop_debit)} debit "
        f"(loss {plan.stop_loss_multiple:f}x credit); {plan.time_exit}",
        *_footer(signal.data, signal.rule_version, signal.signal_id),
    ]
    return "\n".join(lines)


def render_no_trade_text(day: NoTradeDay) -> str:
    """Render an explicit "no trade today, because ..." card."""
    lines = [
        f"SPX IRON CONDOR | {_TRACK_TITLE[day.track]} | {day.risk}: NO TRADE TODAY",
        "Because:",
        *(f"  - {reason.detail} [{reason.code}]" for reason in day.reasons),
        *_footer(day.data, day.rule_version, day.signal_id),
    ]
    return "\n".join(lines)


def _time(event: HedgeAlert | NoHedge | ExitAlert | DailyResult) -> str:
    return f"{event.asof.astimezone(NEW_YORK):%Y-%m-%d %H:%M} ET"


def _trigger_line(reading: TriggerReading) -> str:
    states = {None: "unavailable", True: "FIRED", False: "not fired"}
    state = states[reading.fired]
    value = "n/a" if reading.value is None else f"{reading.value:.2f}"
    note = f" ({reading.note})" if reading.note else ""
    return f"  - {reading.name}: {value} [{reading.threshold}] {state}{note}"


def _action_line(action: HedgeAction) -> str:
    mark = "RECOMMENDED " if action.recommended else ""
    if not action.feasible:
        mark = "NOT SENSIBLE (premium exceeds the loss it protects) "
    ratio = ""
    if action.hedge_ratio is not None:
        low, mid, high = action.hedge_ratio
        ratio = f"; offsets {low:.0%}/{mid:.0%}/{high:.0%} of delta (low/mid/high)"
    return (
        f"  * {mark}[layer {action.layer}] {action.description}: pay {_usd(action.cost_usd)}, "
        f"expected cost {_usd(action.expected_cost_usd)} "
        f"({action.annualised_cost_pct:,.0f}%/yr on buying power){ratio}"
    )


def _theta(per_day: float, t_years: float) -> str:
    # On expiration day a per-day rate reads absurdly large: show it per hour instead.
    if t_years * 365 < 1:
        return f"${per_day / 24:+,.0f}/hour"
    return f"${per_day:+,.0f}/day"


def render_hedge_text(alert: HedgeAlert) -> str:
    """Render a hedge alert: the test, the triggers, every priced choice, the recommendation."""
    pos = alert.position
    lines = [
        f"HEDGE ALERT | {alert.side_tested} side tested | {_time(alert)}",
        alert.rationale + ".",
        f"Position: worth {pos.value_points:.2f} to close, "
        f"P&L {_usd(Decimal(round(pos.pnl_usd)))}; "
        f"delta ${pos.delta_usd_per_point:+,.0f}/pt, gamma ${pos.gamma_usd_per_point:+,.1f}/pt, "
        f"theta {_theta(pos.theta_usd_per_day, pos.t_years)}; expected move left "
        f"+/-{pos.expected_move_points:.1f}",
        "Triggers:",
        *(_trigger_line(reading) for reading in alert.triggers),
        "Choices, cheapest expected cost recommended:",
        *(_action_line(action) for action in alert.actions),
    ]
    notes = dict.fromkeys(note for action in alert.actions for note in action.notes)
    lines += [f"  note: {note}" for note in notes]
    lines += _footer(alert.data, alert.rule_version, alert.alert_id)
    return "\n".join(lines)


def render_no_hedge_text(event: NoHedge) -> str:
    """Render an explicit "no hedge, because ..." event."""
    lines = [
        f"NO HEDGE DECISION | {_time(event)}",
        "Because:",
        *(f"  - {reason}" for reason in event.reasons),
        *_footer(event.data, event.rule_version, event.alert_id),
    ]
    return "\n".join(lines)


def render_exit_text(event: ExitAlert) -> str:
    """Render a layer-3 exit."""
    lines = [
        f"EXIT | {event.rule} | {_time(event)}",
        f"{event.detail}.",
        f"Close the condor at about {_points(event.debit_to_close)} debit: "
        f"P&L {_usd(event.pnl_usd)}",
        *_footer(event.data, event.rule_version, event.alert_id),
    ]
    return "\n".join(lines)


def render_result_text(event: DailyResult) -> str:
    """Render the day's result with and without the hedges."""
    lines = [
        f"DAY RESULT | {_time(event)}",
        event.detail,
        f"Held to settlement: {_usd(event.pnl_usd_unhedged)}; managed by the rules: "
        f"{_usd(event.pnl_usd_managed)}; hedges: {_usd(event.hedge_pnl_usd)}; "
        f"managed + hedged: {_usd(event.pnl_usd_hedged)}",
        *_footer(event.data, event.rule_version, event.result_id),
    ]
    return "\n".join(lines)
