"""Events as JSON-ready dicts: the `--json` output of the CLI and the shape a ledger stores.

Decimals become numbers (strikes and prices are at the tick, so the float is exact enough to
print); dates are ISO strings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import assert_never

from core.types import (
    CondorSignal,
    DailyResult,
    Event,
    ExitAlert,
    HedgeAction,
    HedgeAlert,
    Leg,
    NoHedge,
    NoTradeDay,
    TriggerReading,
)


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
        case HedgeAlert():
            return _hedge(event)
        case NoHedge():
            return {
                "kind": "no_hedge",
                "time": event.asof.isoformat(),
                "signal_id": event.signal_id,
                "alert_id": event.alert_id,
                "reasons": list(event.reasons),
                "rule_version": event.rule_version,
            }
        case ExitAlert():
            return {
                "kind": "exit",
                "time": event.asof.isoformat(),
                "signal_id": event.signal_id,
                "alert_id": event.alert_id,
                "rule": str(event.rule),
                "detail": event.detail,
                "debit_to_close": _num(event.debit_to_close),
                "pnl_usd": _num(event.pnl_usd),
                "rule_version": event.rule_version,
            }
        case DailyResult():
            return {
                "kind": "day_result",
                "time": event.asof.isoformat(),
                "signal_id": event.signal_id,
                "settlement_price": _num(event.settlement_price),
                "exit_rule": str(event.exit_rule) if event.exit_rule else None,
                "pnl_usd_unhedged": _num(event.pnl_usd_unhedged),
                "pnl_usd_managed": _num(event.pnl_usd_managed),
                "hedge_pnl_usd": _num(event.hedge_pnl_usd),
                "pnl_usd_hedged": _num(event.pnl_usd_hedged),
                "detail": event.detail,
                "rule_version": event.rule_version,
            }
        case _:
            assert_never(event)


def _trigger(reading: TriggerReading) -> dict[str, object]:
    return {
        "name": reading.name,
        "value": None if reading.value is None else round(reading.value, 6),
        "threshold": reading.threshold,
        "fired": reading.fired,
        "note": reading.note,
    }


def _action(action: HedgeAction) -> dict[str, object]:
    return {
        "layer": action.layer,
        "instrument": str(action.instrument),
        "description": action.description,
        "contracts": action.contracts,
        "cost_usd": _num(action.cost_usd),
        "expected_cost_usd": _num(action.expected_cost_usd),
        "annualised_cost_pct": round(action.annualised_cost_pct, 2),
        "hedge_ratio": list(action.hedge_ratio) if action.hedge_ratio else None,
        "recommended": action.recommended,
        "notes": list(action.notes),
    }


def _hedge(alert: HedgeAlert) -> dict[str, object]:
    pos = alert.position
    return {
        "kind": "hedge",
        "time": alert.asof.isoformat(),
        "signal_id": alert.signal_id,
        "alert_id": alert.alert_id,
        "side_tested": str(alert.side_tested),
        "spot": round(pos.spot, 2),
        "position": {
            "value_points": round(pos.value_points, 4),
            "pnl_usd": round(pos.pnl_usd, 2),
            "delta_usd_per_point": round(pos.delta_usd_per_point, 2),
            "gamma_usd_per_point": round(pos.gamma_usd_per_point, 4),
            "theta_usd_per_day": round(pos.theta_usd_per_day, 2),
            "vega_usd_per_vol_point": round(pos.vega_usd_per_vol_point, 2),
            "put_distance_points": round(pos.put_distance_points, 2),
            "call_distance_points": round(pos.call_distance_points, 2),
            "expected_move_points": round(pos.expected_move_points, 2),
        },
        "triggers": [_trigger(r) for r in alert.triggers],
        "actions": [_action(a) for a in alert.actions],
        "rationale": alert.rationale,
        "rule_version": alert.rule_version,
    }


def event_to_json_rows(event: Event, time: str | None = None) -> list[dict[str, object]]:
    """Return the replay rows of one event: a hedge alert becomes one row per priced action.

    Every row has `time` and `kind`; a "hedge" row carries `side_tested`, `layer`,
    `instrument`, `contracts`, `cost_usd`, `recommended` and the trigger values.
    """
    body = event_to_json(event)
    stamp = time or str(body.get("time") or body.get("data_time"))
    if not isinstance(event, HedgeAlert):
        return [{"time": stamp, **{k: v for k, v in body.items() if k != "time"}}]
    shared = {k: v for k, v in body.items() if k not in ("actions", "time")}
    return [{"time": stamp, **shared, **_action(action)} for action in event.actions]


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
            "profit_target_debit": None
            if plan.profit_target_debit is None
            else _num(plan.profit_target_debit),
            "stop_loss_multiple": _num(plan.stop_loss_multiple),
            "stop_debit": _num(plan.stop_debit),
            "time_exit": plan.time_exit,
            "time_exit_at": plan.time_exit_at.isoformat() if plan.time_exit_at else None,
        },
        "rule_version": signal.rule_version,
        "signal_id": signal.signal_id,
        "data_time": signal.data.quote_time.isoformat(),
        "data_source": signal.data.source,
        "modelled": list(signal.data.modelled),
    }
