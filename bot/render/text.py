"""Plain-text cards: the console channel, the CLI and the golden files.

Pure functions of an event: the same event renders to the same text for every subscriber.
"""

from __future__ import annotations

from decimal import Decimal
from typing import assert_never

from core.calendar import NEW_YORK
from core.types import CondorSignal, DataStamp, Event, Leg, NoTradeDay, Track

DISCLAIMER = "Educational signal, not personal financial advice. Options can lose money fast."

_TRACK_TITLE = {Track.ZERO_DTE: "0DTE", Track.ONE_DTE: "1DTE", Track.DTE_45: "45DTE"}


def render_text(event: Event) -> str:
    """Render any event as a plain-text card."""
    match event:
        case CondorSignal():
            return render_signal_text(event)
        case NoTradeDay():
            return render_no_trade_text(event)
        case _:
            assert_never(event)


def _points(value: Decimal) -> str:
    # Mid prices of nickel-quoted legs end in a half tick (1.925): show it rather than round it,
    # so the break-evens on the card add up.
    places = 2 if value == value.quantize(Decimal("0.01")) else 3
    return f"{value:,.{places}f}"


def _usd(value: Decimal) -> str:
    places = 0 if value == value.to_integral_value() else 2
    return f"${value:,.{places}f}"


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
        f"Manage: take profit at {_points(plan.profit_target_debit)} debit "
        f"({plan.profit_target_pct}% of credit); stop at {_points(plan.stop_debit)} debit "
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
