"""Time the backtest: the 45-DTE track over 2007-2026 and a year of 0DTE, end to end.

Everything a run does is timed (history loading excluded, timed separately): modelling each
day's chain, selecting the condor, building the market state at every engine step, the engine,
settlement and statistics. "days" counts trading days walked, including days skipped for missing
history or because a 45-DTE condor was still open (those cost little). Each run is repeated
from cold (no cached day or clock span) and the median time counts. Last line: one JSON object.
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import date
from pathlib import Path

from bot.adapters.event_calendar import load_event_days
from bot.backtest import History, run
from core.backtest import Costs
from core.rules import CondorRules, HedgeRules
from core.surface import clear_clock_span_cache
from core.types import Risk, Track

DATA = Path(__file__).resolve().parent.parent / "data"
#: Each run is timed this many times from cold; the median counts (machine noise is large).
REPEATS = 3
RUNS = (
    (Track.DTE_45, date(2007, 1, 1), date(2026, 7, 8)),
    (Track.ZERO_DTE, date(2025, 1, 1), date(2025, 12, 31)),
)


def main() -> None:
    rules = CondorRules().with_event_days(load_event_days(DATA / "events.csv"))
    started = time.perf_counter()
    history = History.load(DATA)
    load_seconds = time.perf_counter() - started
    total_days = 0
    total_seconds = 0.0
    by_track: dict[str, dict[str, float]] = {}
    for track, start, end in RUNS:
        times: list[float] = []
        for _ in range(REPEATS):
            clear_clock_span_cache()  # every run starts cold
            began = time.perf_counter()
            report = run(
                track,
                Risk.BALANCED,
                start,
                end,
                data_dir=DATA,
                rules=rules,
                hedge_rules=HedgeRules(),
                costs=Costs(),
                history=history.fresh(),  # nothing remembered from a run before
            )
            times.append(time.perf_counter() - began)
        seconds = statistics.median(times)
        days = len(report.outcomes)
        total_days += days
        total_seconds += seconds
        by_track[str(track)] = {
            "days": days,
            "trades": len(report.trades),
            "seconds": round(seconds, 3),
            "days_per_second": round(days / seconds, 1),
        }
        shown = ", ".join(f"{t:.2f}" for t in times)
        print(
            f"{track}: {days} days ({len(report.trades)} trades, {len(report.skipped)} skipped) "
            f"in {shown} s; median {seconds:.2f} s = {days / seconds:.1f} days/s"
        )
    print(f"history loaded in {load_seconds:.2f} s (not counted)")
    print(
        json.dumps(
            {
                "bench": "backtest",
                "days": total_days,
                "seconds": round(total_seconds, 3),
                "days_per_second": round(total_days / total_seconds, 1),
                "by_track": by_track,
            }
        )
    )


if __name__ == "__main__":
    main()
