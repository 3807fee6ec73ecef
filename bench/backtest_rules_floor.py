"""How fast a year of a daily track could run if everything but the live rules were free.

A backtest day calls the code every live card comes from: `core.condor.select_condor` once on
the day's chain, and `core.hedge.step` at each bar the screen does not pass over (about five a
day on 0DTE). This bench runs a year (2025; 0DTE as in `bench_backtest.py`, or ``--track
1dte``) once with both recorded (their names in `core.backtest` point at recorders for that
one run, then back), and replays exactly those calls on their recorded arguments, each kind
timed alone, best of `REPEATS` from cold. Their total is a floor under the year's time that no
speed-up outside the rules can pass; days / floor is the ceiling on days per second. The whole
run is timed in the same process (median of `REPEATS`, from cold) for the ratio. Last line: one
JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from backtest_paths import DATA, run_headline

import core.backtest
from bot.backtest import History
from core.rules import HedgeRules
from core.surface import clear_clock_span_cache
from core.types import Track

START, END = date(2025, 1, 1), date(2025, 12, 31)
#: Each timing is repeated this many times (machine noise is large): best for the replayed
#: calls, median for the whole run, as `bench_backtest.py` counts it.
REPEATS = 5

Call = tuple[tuple[Any, ...], dict[str, Any]]


@contextmanager
def _recorded(name: str, calls: list[Call]) -> Iterator[Callable[..., Any]]:
    # While open, `core.backtest`'s `name` records each call's arguments into `calls`; yields
    # the real function.
    names = vars(core.backtest)
    real: Callable[..., Any] = names[name]

    def record(*args: Any, **kwargs: Any) -> Any:
        calls.append((args, kwargs))
        return real(*args, **kwargs)

    names[name] = record
    try:
        yield real
    finally:
        names[name] = real


def _replayed_seconds(real: Callable[..., Any], calls: list[Call]) -> float:
    # The best of REPEATS passes over every recorded call, each from a cold span cache, as a
    # run starts (the engine's small caches of legs priced at a bar hold under a day's bars).
    best = float("inf")
    for _ in range(REPEATS):
        clear_clock_span_cache()
        began = time.perf_counter()
        for args, kwargs in calls:
            real(*args, **kwargs)
        best = min(best, time.perf_counter() - began)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--track", choices=("0dte", "1dte"), default="0dte", help="a daily track (default 0dte)"
    )
    track = Track(parser.parse_args().track)
    history = History.load(DATA)

    def year() -> int:
        clear_clock_span_cache()  # every run starts cold; run_headline takes a fresh history
        return len(run_headline(track, START, END, HedgeRules(), history=history).outcomes)

    run_times: list[float] = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        days = year()
        run_times.append(time.perf_counter() - began)
    run_seconds = statistics.median(run_times)

    selections: list[Call] = []
    steps: list[Call] = []
    with _recorded("select_condor", selections) as select, _recorded("step", steps) as step:
        year()
    select_seconds = _replayed_seconds(select, selections)
    step_seconds = _replayed_seconds(step, steps)
    floor = select_seconds + step_seconds

    print(
        f"{track} {START}..{END}: {days} days in {run_seconds:.3f} s (median of {REPEATS}) = "
        f"{days / run_seconds:.1f} days/s"
    )
    print(
        f"live rules alone: select_condor x {len(selections)} in {select_seconds:.3f} s, "
        f"step x {len(steps)} in {step_seconds:.3f} s (best of {REPEATS}): "
        f"{floor / run_seconds:.0%} of the run"
    )
    print(f"ceiling with everything else free: {days / floor:.0f} days/s")
    print(
        json.dumps(
            {
                "bench": "backtest_rules_floor",
                "track": str(track),
                "days": days,
                "run_seconds": round(run_seconds, 3),
                "selections": len(selections),
                "select_seconds": round(select_seconds, 3),
                "steps": len(steps),
                "step_seconds": round(step_seconds, 3),
                "rules_share": round(floor / run_seconds, 3),
                "ceiling_days_per_second": round(days / floor, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
