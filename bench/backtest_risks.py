"""The headline backtest at every risk level: is there an edge anywhere the rules allow?

The README's headline runs are the balanced profile of each track. This runs the same
configurations (0DTE and 1DTE 2014-08-01 to 2026-07-08, 45DTE 2007-01-01 to 2026-07-08;
default costs, 10 contracts, draw 0 of the modelled paths, ALVH as the engine recommends) at
the conservative, balanced and aggressive profiles (`core.rules.CondorRules`), and prints for
each the trades, average credit, and for the held and hedged series the total, the expectancy
per trade with its bootstrap 95 % interval, and the 5 % CVaR.

Run: ``python bench/backtest_risks.py [--jobs N]`` (about 3 minutes with two processes).
Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from backtest_paths import HEADLINE, run_headline

from core.backtest import Report
from core.rules import HedgeRules
from core.types import Risk


def row(report: Report) -> dict[str, float]:
    """The figures shown for one run."""
    held, hedged = report.overall["held"], report.overall["hedged"]
    out: dict[str, float] = {
        "trades": held.trades,
        "avg_credit_usd": round(held.avg_credit_usd, 2),
    }
    for name, stats in (("held", held), ("hedged", hedged)):
        low, high = stats.expectancy_ci95_usd
        out |= {
            f"{name}_total_usd": round(stats.total_usd, 2),
            f"{name}_expectancy_usd": round(stats.expectancy_usd, 2),
            f"{name}_expectancy_ci95_low_usd": round(low, 2),
            f"{name}_expectancy_ci95_high_usd": round(high, 2),
            f"{name}_cvar5_usd": round(stats.cvar5_usd, 2),
        }
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="processes for 0DTE and 1DTE")
    args = parser.parse_args(argv)
    found: dict[str, dict[str, float]] = {}
    print(
        "| track | risk | trades | avg credit $ | held total $ | held expectancy $ [95% CI] "
        "| held CVaR 5% $ | ALVH total $ | ALVH expectancy $ [95% CI] | ALVH CVaR 5% $ |"
    )
    print("|---|---|---:|---:|---:|---|---:|---:|---|---:|")
    for track, start, end in HEADLINE:
        for risk in Risk:
            r = row(run_headline(track, start, end, HedgeRules(), jobs=args.jobs, risk=risk))
            found[f"{track} {risk}"] = r
            cells = [f"{track}", f"{risk}", f"{r['trades']:.0f}", f"{r['avg_credit_usd']:,.0f}"]
            for name in ("held", "hedged"):
                low, high = (
                    r[f"{name}_expectancy_ci95_low_usd"],
                    r[f"{name}_expectancy_ci95_high_usd"],
                )
                cells += [
                    f"{r[f'{name}_total_usd']:,.0f}",
                    f"{r[f'{name}_expectancy_usd']:,.0f} [{low:,.0f}, {high:,.0f}]",
                    f"{r[f'{name}_cvar5_usd']:,.0f}",
                ]
            print("| " + " | ".join(cells) + " |", flush=True)
    print(json.dumps({"bench": "backtest_risks", "runs": found}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
