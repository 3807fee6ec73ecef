"""Events as JSON-ready dicts: the `--json` output of the CLI and the shape a ledger stores.

Decimals become numbers (strikes and prices are at the tick, so the float is exact enough to
print); dates are ISO strings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import assert_never

from core.types import CondorSignal, Event, Leg, NoTradeDay


def _num(value: Decimal) -> float | int:
    return int(value) if value == value.to_integral_value() else float(value)


def _leg(leg: Leg) -> dict[str, object]:
    return {
        "right": str(leg.right),
        "side": str(leg.side),
        "strike": _num(leg.strike),
        "bid": _num(leg.bid),
        "ask": _num(leg.ask),
        "delta": round(leg.delta, 6),
        "iv": round(leg.iv, 6),
    }


def event_to_json(event: Event) -> dict[str, object]:
    """Return the card's fields as one JSON-ready object (`kind` tells which card it is)."""
    match event:
        case CondorSignal():
            return _signal(event)
        case NoTradeDay():
            return {
                "kind": "no_trade",
                "track": str(event.track),
                "risk": str(event.risk),
                "expiry": event.expiry.isoformat() if event.expiry else None,
                "reasons": [reason.detail for reason in event.reasons],
                "reason_codes": [str(reason.code) for reason in event.reasons],
                "rule_version": event.rule_version,
                "signal_id": event.signal_id,
                "data_time": event.data.quote_time.isoformat(),
                "data_source": event.data.source,
            }
        case _:
            assert_never(event)


def _signal(signal: CondorSignal) -> dict[str, object]:
    plan = signal.management
    return {
        "kind": "condor",
        "track": str(signal.track),
        "risk": str(signal.risk),
        "root": signal.root,
        "expiry": signal.expiry.isoformat(),
        "settlement": str(signal.settlement),
        "dte_days": signal.dte_days,
        "legs": [_leg(leg) for leg in signal.legs],
        "credit_mid": _num(signal.credit_mid),
        "credit_natural": _num(signal.credit_natural),
        "limit_price": _num(signal.limit_price),
        "width_points": _num(signal.width_points),
        "put_width_points": _num(signal.put_width_points),
        "call_width_points": _num(signal.call_width_points),
        "max_profit_usd": _num(signal.max_profit_usd),
        "max_loss_usd": _num(signal.max_loss_usd),
        "break_even_low": _num(signal.break_even_low),
        "break_even_high": _num(signal.break_even_high),
        "pop": round(signal.pop, 6),
        "expected_move_points": _num(signal.expected_move_points),
        "expected_move_iv_points": _num(signal.expected_move_iv_points),
        "spot": _num(signal.spot),
        "forward": _num(signal.forward),
        "management": {
            "profit_target_pct": plan.profit_target_pct,
            "profit_target_debit": _num(plan.profit_target_debit),
            "stop_loss_multiple": _num(plan.stop_loss_multiple),
            "stop_debit": _num(plan.stop_debit),
            "time_exit": plan.time_exit,
        },
        "rule_version": signal.rule_version,
        "signal_id": signal.signal_id,
        "data_time": signal.data.quote_time.isoformat(),
        "data_source": signal.data.source,
        "modelled": list(signal.data.modelled),
    }
