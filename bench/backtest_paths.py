"""How much the backtest's figures depend on the modelled intraday paths.

Off the 12 days of real 1-minute bars, the backtest walks a Brownian bridge through each day's
open, extremes and close (`bot.backtest.modelled_path`), drawn with a seed. This reruns:

1. the headline configurations (balanced, 10 contracts, default costs: 0DTE and 1DTE
   2014-08-01 to 2026-07-08, 45DTE 2007-01-01 to 2026-07-08), under ALVH and under the
   close-when-tested baseline (`--defence close`), for each of `--seeds` draws of the paths,
   and prints each series' total, 5 % CVaR and maximum drawdown per draw and their spread;
2. the 0DTE and 1DTE tracks on the days with real bars (2023-03-16 ... 2023-03-31), on the real
   bars, on bridges through the same days' OHLC (each draw) and on straight stretches between
   the knots (no bridge, as earlier versions walked), under both defences;
3. the same on the 84 sessions of SPY's real 1-minute bars (2024-02-20 ... 05-17 and
   2025-07-01 ... 30), scaled to SPX by each day's closes (`bot.backtest.scaled_to_spx`),
   against bridges through the same days' SPX OHLC: the trades entered and expiring on those
   days, each defence's total, 5 % CVaR and worst trade. The published runs walk bridges there.

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

import numpy as np  # noqa: E402

from bot.adapters.event_calendar import load_event_days  # noqa: E402
from bot.adapters.market_data.bars_csv import load_bars  # noqa: E402
from bot.backtest import SPY_MINUTE_FILE, History, run, scaled_to_spx  # noqa: E402
from core.backtest import Costs, Report, Trade  # noqa: E402
from core.bars import Bars  # noqa: E402
from core.performance import cvar  # noqa: E402
from core.rules import CondorRules, Defence, HedgeRules  # noqa: E402
from core.types import Risk, Track  # noqa: E402

DATA = ROOT / "data"
HEADLINE = (
    (Track.ZERO_DTE, date(2014, 8, 1), date(2026, 7, 8)),
    (Track.ONE_DTE, date(2014, 8, 1), date(2026, 7, 8)),
    (Track.DTE_45, date(2007, 1, 1), date(2026, 7, 8)),
)
REAL_DAYS = (date(2023, 3, 16), date(2023, 3, 31))
#: The spans of sessions SPY's shipped 1-minute bars cover (`bot.backtest.SPY_MINUTE_FILE`).
SPY_SPANS = ((date(2024, 2, 20), date(2024, 5, 17)), (date(2025, 7, 1), date(2025, 7, 30)))
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


def spy_days(history: History) -> tuple[dict[date, Bars], dict[str, float]]:
    """SPY's shipped sessions scaled to SPX (`bot.backtest.scaled_to_spx`), and how far each
    day's scaled open, high and low sit from SPX's own (median and largest, index points)."""
    bars = scaled_to_spx(history, load_bars(DATA / SPY_MINUTE_FILE, symbol="SPY"))
    spx = history.spx
    gaps: dict[str, list[float]] = {"open": [], "high": [], "low": []}
    for day, session in bars.items():
        row = history.spx_rows[day]
        gaps["open"].append(abs(float(session.open[0]) - float(spx.open[row])))
        gaps["high"].append(abs(float(session.high.max()) - float(spx.high[row])))
        gaps["low"].append(abs(float(session.low.min()) - float(spx.low[row])))
    summary = {
        f"{name}_{how}_points": round(float(f(values)), 2)
        for name, values in gaps.items()
        for how, f in (("median", np.median), ("max", np.max))
    }
    return bars, summary


def _on_real_bars(report: Report, bars: dict[date, Bars]) -> list[Trade]:
    # The trades entered and expiring on days with real bars (a 1DTE condor entered on a
    # span's last day expires on a modelled day).
    return [t for t in report.trades if t.day in bars and t.expiry in bars]


def spy_comparison(history: History, seeds: int) -> dict[str, dict[str, float]]:
    """ALVH against closing the tested wing on the SPY days: the real paths and the bridges."""
    bars, gaps = spy_days(history)
    print(
        f"SPY days: {len(bars)}; scaled open/high/low off SPX's own by a median "
        f"{gaps['open_median_points']:.2f} / {gaps['high_median_points']:.2f} / "
        f"{gaps['low_median_points']:.2f} points (largest {gaps['open_max_points']:.2f} / "
        f"{gaps['high_max_points']:.2f} / {gaps['low_max_points']:.2f})"
    )
    modelled = history.fresh(minute_bars={})
    paths = {"SPY bars": history.fresh(minute_bars=bars)}
    paths |= {f"bridge draw {s}": modelled.fresh(path_seed=s) for s in range(seeds)}
    found: dict[str, dict[str, float]] = {"scaling": gaps}
    for track in (Track.ZERO_DTE, Track.ONE_DTE):
        for name, source in paths.items():
            row: dict[str, float] = {}
            for defence in Defence:
                rules = HedgeRules(defence=defence)
                trades = [
                    t
                    for start, end in SPY_SPANS
                    for t in _on_real_bars(
                        run_headline(track, start, end, rules, history=source), bars
                    )
                ]
                hedged = np.array([t.hedged_usd for t in trades])
                row |= {
                    "trades": len(trades),
                    "held_usd": round(float(sum(t.held_usd for t in trades)), 2),
                    f"{defence}_hedged_usd": round(float(hedged.sum()), 2),
                    f"{defence}_cvar5_usd": round(cvar(hedged), 2),
                    f"{defence}_worst_usd": round(float(hedged.min()), 2),
                }
            found[f"{track} {name}"] = row
            defences = "; ".join(
                f"{label} {row[f'{d}_hedged_usd']:>9,.0f} (CVaR {row[f'{d}_cvar5_usd']:>7,.0f}, "
                f"worst {row[f'{d}_worst_usd']:>7,.0f})"
                for label, d in (("ALVH", "cheapest"), ("close", "close"))
            )
            print(
                f"{track} {name:14} {row['trades']:3.0f} trades: "
                f"held {row['held_usd']:>9,.0f}; {defences}"
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
    print()
    result["spy_days"] = spy_comparison(history, args.seeds)
    if not args.real_days_only:
        print()
        result["headline"] = draws(history, args.seeds)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
