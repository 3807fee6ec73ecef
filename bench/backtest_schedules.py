"""How much the 45DTE backtest's figures depend on the day its first condor opened.

The 45DTE track holds one condor at a time and opens the next only once the last is closed, so
its trades form one schedule, fixed by the first entry. Its first tradeable day is 2011-01-04
(the first VIX9D close); this runs the headline configuration (balanced, 10 contracts, default
costs) starting on each of the first `OFFSETS` trading days from there, to 2026-07-08, and
reports every series' total, 5 % CVaR and maximum drawdown per schedule, then their spread.
The 0DTE and 1DTE tracks trade every day on its own: they have no schedule to vary.

Run: ``python bench/backtest_schedules.py [--offsets N]`` (about 3 s a schedule). Prints a
table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.adapters.event_calendar import load_event_days  # noqa: E402
from bot.backtest import History, run  # noqa: E402
from core.backtest import Costs  # noqa: E402
from core.calendar import next_trading_day  # noqa: E402
from core.performance import Stats  # noqa: E402
from core.rules import CondorRules, HedgeRules  # noqa: E402
from core.types import Risk, Track  # noqa: E402

DATA = ROOT / "data"
FIRST = date(2011, 1, 4)
END = date(2026, 7, 8)
OFFSETS = 20
SERIES = ("held", "managed", "hedged")
FIGURES = ("total_usd", "cvar5_usd", "max_drawdown_usd")


def starts(count: int) -> list[date]:
    """The first `count` NYSE trading days from `FIRST` (itself one)."""
    days = [FIRST]
    while len(days) < count:
        days.append(next_trading_day(days[-1]))
    return days


def spread(values: Sequence[float]) -> dict[str, int]:
    """Least, median and largest of `values`, rounded to the dollar."""
    return {
        "min": round(min(values)),
        "median": round(statistics.median(values)),
        "max": round(max(values)),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offsets", type=int, default=OFFSETS, help="schedules to run")
    args = parser.parse_args(argv)
    rules = CondorRules().with_event_days(load_event_days(DATA / "events.csv"))
    history = History.load(DATA)
    runs: list[tuple[date, dict[str, Stats]]] = []
    print(
        f"{'first entry':11} {'trades':>6}"
        + "".join(f" {name + ' total':>14}" for name in SERIES)
        + f" {'held CVaR':>10} {'hedged CVaR':>11} {'CVaR cut':>8}"
    )
    for start in starts(args.offsets):
        report = run(
            Track.DTE_45,
            Risk.BALANCED,
            start,
            END,
            data_dir=DATA,
            rules=rules,
            hedge_rules=HedgeRules(),
            costs=Costs(),
            history=history.fresh(),
        )
        stats = {name: report.overall[name] for name in SERIES}
        runs.append((start, stats))
        print(
            f"{start!s:11} {stats['held'].trades:6d}"
            + "".join(f" {stats[name].total_usd:14,.0f}" for name in SERIES)
            + f" {stats['held'].cvar5_usd:10,.0f} {stats['hedged'].cvar5_usd:11,.0f}"
            + f" {cvar_cut(stats):8.0%}"
        )
    summary = {
        f"{name} {figure}": spread([getattr(stats[name], figure) for _, stats in runs])
        for name in SERIES
        for figure in FIGURES
    }
    cuts = [cvar_cut(stats) for _, stats in runs]
    print()
    for key, value in summary.items():
        print(
            f"{key:26} min {value['min']:>10,} median {value['median']:>10,} "
            f"max {value['max']:>10,}"
        )
    print(
        f"CVaR cut, held -> hedged: min {min(cuts):.0%}, median {statistics.median(cuts):.0%}, "
        f"max {max(cuts):.0%}"
    )
    schedules = [
        {
            "first_entry": str(start),
            "trades": stats["held"].trades,
            **{
                f"{name}_{figure}": round(getattr(stats[name], figure), 2)
                for name in SERIES
                for figure in FIGURES
            },
        }
        for start, stats in runs
    ]
    cut_spread = {"min": min(cuts), "median": statistics.median(cuts), "max": max(cuts)}
    print(
        json.dumps(
            {
                "bench": "backtest_schedules",
                "track": "45dte",
                "end": str(END),
                "schedules": schedules,
                "summary": summary,
                "cvar5_cut": {key: round(value, 4) for key, value in cut_spread.items()},
            }
        )
    )
    return 0


def cvar_cut(stats: dict[str, Stats]) -> float:
    """How much of the held series' 5 % CVaR following ALVH in full removed (a fraction)."""
    return 1.0 - stats["hedged"].cvar5_usd / stats["held"].cvar5_usd


if __name__ == "__main__":
    raise SystemExit(main())
