"""How much the backtest's figures depend on the modelled intraday paths.

Off the 12 days of real 1-minute bars, the backtest walks a Brownian bridge through each day's
open, extremes and close (`bot.backtest.modelled_path`), drawn with a seed. This reruns:

1. the headline configurations (balanced, 10 contracts, default costs: 0DTE and 1DTE
   2014-08-01 to 2026-07-08, 45DTE 2007-01-01 to 2026-07-08), under ALVH and under the
   close-when-tested baseline (`--defence close`), for each of `--seeds` draws of the paths,
   and prints each series' total, 5 % CVaR and maximum drawdown per draw and their spread;
2. the 0DTE and 1DTE tracks on the days with real bars (2023-03-16 ... 2023-03-31), on the real
   bars, on bridges through the same days' OHLC (each draw) and on straight stretches between
   the knots (no bridge, as earlier versions walked), under both defences.

Run: ``python bench/backtest_paths.py [--seeds N] [--real-days-only]`` (about 100 s a draw).
Prints tables, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.adapters.event_calendar import load_event_days  # noqa: E402
from bot.backtest import History, run  # noqa: E402
from core.backtest import Costs, Report  # noqa: E402
from core.rules import CondorRules, Defence, HedgeRules  # noqa: E402
from core.types import Risk, Track  # noqa: E402

DATA = ROOT / "data"
HEADLINE = (
    (Track.ZERO_DTE, date(2014, 8, 1), date(2026, 7, 8)),
    (Track.ONE_DTE, date(2014, 8, 1), date(2026, 7, 8)),
    (Track.DTE_45, date(2007, 1, 1), date(2026, 7, 8)),
)
REAL_DAYS = (date(2023, 3, 16), date(2023, 3, 31))
SERIES = ("held", "managed", "hedged")
FIGURES = ("total_usd", "cvar5_usd", "max_drawdown_usd")


#: The headline rules (event days read once).
RULES = CondorRules().with_event_days(load_event_days(DATA / "events.csv"))


def run_headline(
    track: Track,
    start: date,
    end: date,
    hedge_rules: HedgeRules,
    *,
    history: History | None = None,
    jobs: int = 1,
    risk: Risk = Risk.BALANCED,
) -> Report:
    """One headline configuration (default costs; balanced unless `risk`) under `hedge_rules`."""
    return run(
        track,
        risk,
        start,
        end,
        data_dir=DATA,
        rules=RULES,
        hedge_rules=hedge_rules,
        costs=Costs(),
        history=history.fresh() if history is not None else None,
        jobs=jobs,
    )


def figures_of(report: Report) -> dict[str, float]:
    """Each series' total, 5 % CVaR and maximum drawdown, the trades and the hedges taken."""
    return {
        f"{name}_{figure}": round(getattr(report.overall[name], figure), 2)
        for name in SERIES
        for figure in FIGURES
    } | {
        "trades": len(report.trades),
        "hedges_taken": sum(t.hedges_taken for t in report.trades),
    }


def _spread(values: Sequence[float]) -> str:
    return f"{min(values):>12,.0f} .. {max(values):>12,.0f}"


def draws(history: History, seeds: int) -> dict[str, dict[str, list[dict[str, float]]]]:
    """Each headline configuration's figures under each defence, one entry per draw."""
    found: dict[str, dict[str, list[dict[str, float]]]] = {}
    for track, start, end in HEADLINE:
        for defence in Defence:
            key = f"{track} {defence}"
            found[key] = {"draws": []}
            for seed in range(seeds):
                report = run_headline(
                    track,
                    start,
                    end,
                    HedgeRules(defence=defence),
                    history=history.fresh(path_seed=seed),
                )
                figures = figures_of(report)
                found[key]["draws"].append(figures)
                print(
                    f"{key:16} draw {seed}: "
                    + ", ".join(f"{n} {figures[f'{n}_total_usd']:,.0f}" for n in SERIES)
                    + f"; hedged CVaR {figures['hedged_cvar5_usd']:,.0f}",
                    flush=True,
                )
    print()
    for key, runs in found.items():
        for name in SERIES:
            for figure in FIGURES:
                values = [r[f"{name}_{figure}"] for r in runs["draws"]]
                print(f"{key:16} {name:8} {figure:17} {_spread(values)}")
    return found


def real_days(history: History, seeds: int) -> dict[str, dict[str, float]]:
    """The 0DTE and 1DTE days with real bars, on the real bars and on modelled paths."""
    paths = {"real bars": history}
    modelled = history.fresh(minute_bars={})
    paths |= {f"bridge draw {s}": modelled.fresh(path_seed=s) for s in range(seeds)}
    paths["straight"] = modelled.fresh(path_noise=0.0)
    found: dict[str, dict[str, float]] = {}
    for track in (Track.ZERO_DTE, Track.ONE_DTE):
        for name, source in paths.items():
            row: dict[str, float] = {}
            for defence in Defence:
                report = run_headline(
                    track, *REAL_DAYS, HedgeRules(defence=defence), history=source
                )
                row[f"{defence}_hedged_usd"] = round(report.overall["hedged"].total_usd, 2)
                row["held_usd"] = round(report.overall["held"].total_usd, 2)
                row["trades"] = len(report.trades)
            found[f"{track} {name}"] = row
            print(
                f"{track} {name:14} {row['trades']:3.0f} trades: held {row['held_usd']:>9,.0f}, "
                f"ALVH {row['cheapest_hedged_usd']:>9,.0f}, close {row['close_hedged_usd']:>9,.0f}"
            )
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="draws of the paths")
    parser.add_argument("--real-days-only", action="store_true", help="skip the headline runs")
    args = parser.parse_args(argv)
    history = History.load(DATA)
    result: dict[str, object] = {"bench": "backtest_paths", "seeds": args.seeds}
    result["real_days"] = real_days(history, args.seeds)
    if not args.real_days_only:
        print()
        result["headline"] = draws(history, args.seeds)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
