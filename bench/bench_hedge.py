"""Time the ALVH engine per bar over a full replayed day (2023-03-22, every 1-minute bar).

Each `core.hedge.step` call (mark, triggers, layer-1/2 pricing, exits) is timed on its own; data
loading and market-state assembly are not. The engine must keep up with the bars by a wide
margin: target p99 <= 1 % of the 60-second bar interval. Last line: one JSON object.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np

from bot.adapters.event_calendar import load_event_days
from bot.replay import replay_day
from core.rules import CondorRules, HedgeRules
from core.types import HedgeAlert, Risk, Track

DATA = Path(__file__).resolve().parent.parent / "data"
DAY = date(2023, 3, 22)
BAR_SECONDS = 60.0


def main() -> None:
    timings: list[float] = []
    rules = CondorRules().with_event_days(load_event_days(DATA / "events.csv"))
    replay = replay_day(
        DAY,
        Track.ZERO_DTE,
        Risk.BALANCED,
        data_dir=DATA,
        rules=rules,
        # Re-alert every bar so the engine prices every tested bar, not just the first.
        hedge_rules=HedgeRules(realert_minutes=0),
        step_minutes=1,
        on_step=timings.append,
    )
    micros = np.array(timings) * 1e6
    p50, p99 = float(np.percentile(micros, 50)), float(np.percentile(micros, 99))
    alerts = sum(isinstance(e, HedgeAlert) for e in replay.events)
    print(f"day {DAY}: {len(micros)} bars evaluated, {alerts} hedge alerts priced")
    print(f"per bar: p50 {p50:.0f} us, p99 {p99:.0f} us, max {micros.max():.0f} us")
    result = {
        "bench": "hedge",
        "bars": len(micros),
        "p50_us": round(p50, 1),
        "p99_us": round(p99, 1),
        "ratio_to_bar": round(p99 / 1e6 / BAR_SECONDS, 6),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
