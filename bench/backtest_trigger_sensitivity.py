"""Does the ALVH answer depend on how often the RSI trigger fires on modelled paths?

ALVH's layer-1 put-side trigger fires at RSI(14) on 5-minute SPX closes at or below 40, the
call side at or above 60. The modelled paths through a day's OHLC (`bot.backtest.modelled_path`)
need not fire it as often as the 96 sessions of real 1-minute bars shipped do (`bridge-4`'s
fired the put side on 58 % of the closes where the day stood well below its open, the real
bars on 46 %). This measures the gap on the shipped path model and asks what it does to the
headline figures:

1. On the real sessions and on the modelled paths through them (the calibration bench's 20
   draws a day), the share of closes at which each side reads as fired: on every close, and on
   the closes where SPX stands at least 0.3 of the day's range below its open (put side) or
   above it (call side). For each, the threshold at which the modelled RSI fires as often as
   the real one. The matched thresholds are those of the conditional reading (the real days
   rose more than they fell; the condition takes most of that drift out), rounded to the unit.
2. The three headline configurations (balanced, 10 contracts, default costs, draw 0; 0DTE and
   1DTE 2014-08-01 to 2026-07-08, 45DTE 2007-01-01 to 2026-07-08) run under the shipped rules
   and under the same rules with the matched thresholds, which make the modelled trigger fire
   about as often as real bars would: each series' total, 5 % CVaR and maximum drawdown, and
   the hedges taken. The shipped rules are not changed; this is a check on the evidence.

Run: ``python bench/backtest_trigger_sensitivity.py [--jobs N]`` (about a minute with two
processes). Prints tables, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

# The project, and the benches this reuses.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from backtest_paths import HEADLINE, SERIES, figures_of, run_headline
from path_calibration import SEEDS, RealDay, _paths, real_days

from bot.backtest import PATH_NOISE_MODEL, PATH_REVERSION_MINUTES
from core.indicators import rsi_wilder
from core.rules import HedgeRules

#: How far from the open, as a fraction of the day's range, a close counts as "well below"
#: (put side) or "well above" (call side) it.
AWAY = 0.3


def _readings(
    levels: NDArray[np.float64], day: RealDay, period: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    # RSI at each 5-minute close once warmed up on the day's own closes, and where the close
    # stands from the open as a fraction of the range.
    open_, high, low, _ = day.ohlc
    ok = np.arange(levels.size) > period
    return rsi_wilder(levels, period)[ok], ((levels - open_) / (high - low))[ok]


def trigger_rates(days: Sequence[RealDay], rules: HedgeRules) -> dict[str, dict[str, float]]:
    """Real against modelled firing rates, and the modelled thresholds that match the real."""
    period = rules.rsi_period
    real = [_readings(d.levels, d, period) for d in days]
    modelled = [
        _readings(p, d, period)
        for d in days
        for p in _paths(d, None, PATH_NOISE_MODEL, PATH_REVERSION_MINUTES)
    ]
    r_rsi, r_rel = (np.concatenate(x) for x in zip(*real, strict=True))
    m_rsi, m_rel = (np.concatenate(x) for x in zip(*modelled, strict=True))
    out: dict[str, dict[str, float]] = {}
    for where, r_in, m_in in (
        ("every close", np.ones_like(r_rel, dtype=bool), np.ones_like(m_rel, dtype=bool)),
        (f"{AWAY:g} of range below open", r_rel <= -AWAY, m_rel <= -AWAY),
        (f"{AWAY:g} of range above open", r_rel >= AWAY, m_rel >= AWAY),
    ):
        real_put = float(np.mean(r_rsi[r_in] <= rules.rsi_put_fire))
        real_call = float(np.mean(r_rsi[r_in] >= rules.rsi_call_fire))
        out[where] = {
            "real_closes": int(r_in.sum()),
            "real_put_fired": round(real_put, 3),
            "modelled_put_fired": round(float(np.mean(m_rsi[m_in] <= rules.rsi_put_fire)), 3),
            "matched_put_threshold": round(float(np.quantile(m_rsi[m_in], real_put)), 1),
            "real_call_fired": round(real_call, 3),
            "modelled_call_fired": round(float(np.mean(m_rsi[m_in] >= rules.rsi_call_fire)), 3),
            "matched_call_threshold": round(float(np.quantile(m_rsi[m_in], 1.0 - real_call)), 1),
        }
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="processes for 0DTE and 1DTE")
    args = parser.parse_args(argv)
    shipped = HedgeRules()
    rates = trigger_rates(real_days(), shipped)
    print(
        f"RSI({shipped.rsi_period}) on 5-minute closes, real against modelled ({len(SEEDS)} "
        "draws a day):"
    )
    for where, row in rates.items():
        print(
            f"  {where:28} ({row['real_closes']:>5} real closes): <= {shipped.rsi_put_fire:g} "
            f"{row['real_put_fired']:.1%} real, {row['modelled_put_fired']:.1%} modelled "
            f"(matched at {row['matched_put_threshold']:g}); >= {shipped.rsi_call_fire:g} "
            f"{row['real_call_fired']:.1%} real, {row['modelled_call_fired']:.1%} modelled "
            f"(matched at {row['matched_call_threshold']:g})"
        )
    matched = replace(
        shipped,
        rsi_put_fire=float(round(rates[f"{AWAY:g} of range below open"]["matched_put_threshold"])),
        rsi_call_fire=float(
            round(rates[f"{AWAY:g} of range above open"]["matched_call_threshold"])
        ),
    )
    print(
        f"matched thresholds: put <= {matched.rsi_put_fire:g}, call >= {matched.rsi_call_fire:g}"
        f" (shipped {shipped.rsi_put_fire:g}, {shipped.rsi_call_fire:g})\n"
    )
    runs: dict[str, dict[str, dict[str, float]]] = {}
    for track, start, end in HEADLINE:
        key = str(track)
        runs[key] = {}
        for label, hedge_rules in (("shipped", shipped), ("matched", matched)):
            figures = runs[key][label] = figures_of(
                run_headline(track, start, end, hedge_rules, jobs=args.jobs)
            )
            print(
                f"{key:6} {label:8} "
                + ", ".join(f"{n} {figures[f'{n}_total_usd']:>12,.0f}" for n in SERIES)
                + f"; hedged CVaR {figures['hedged_cvar5_usd']:>8,.0f}, max drawdown "
                f"{figures['hedged_max_drawdown_usd']:>10,.0f}; {figures['hedges_taken']:.0f} "
                "hedges",
                flush=True,
            )
    result = {
        "bench": "backtest_trigger_sensitivity",
        "trigger_rates": rates,
        "matched": {"rsi_put_fire": matched.rsi_put_fire, "rsi_call_fire": matched.rsi_call_fire},
        "headline": runs,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
