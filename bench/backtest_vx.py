"""What the real VX settles change in the 45DTE backtest, against futures estimated throughout.

The backtest values VIX hedges off real CFE VX settles where the shipped history has them
(2007-04-02 ... 2021-12-23) and off futures estimated from the VIX term structure elsewhere
(`core.vix`). This runs the headline 45DTE configuration twice, on the shipped history and on
the same history without its VX settles (every future estimated), and prints how the hedged
series' total and 5 % CVaR move: over the trades entered while real settles exist (2011-2021;
the track trades from 2011-01-04) and over the whole run.

It also measures how far the estimate sits from the real curve where both exist: every VIX
future the three headline runs (0DTE, 1DTE, 45DTE, `backtest_paths.HEADLINE`) price off the
real curve is compared, once per curve and settlement date, with the term-structure estimate
from the same close's VIX9D / VIX / VIX3M at the same horizon, the two prices the engine's move
formula starts from (`core.hedge.estimate_future`). Last line: one JSON object.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from backtest_paths import DATA, HEADLINE, run_headline

import core.hedge
from bot.adapters.market_data.vx_history import VX_RECENT_FILE, estimate_gaps, load_vx_recent
from bot.backtest import History
from core.backtest import Report
from core.hedge import VolIndexLevels
from core.performance import cvar
from core.rules import HedgeRules
from core.types import Track

TRACK, START, END = next(run for run in HEADLINE if run[0] is Track.DTE_45)
#: The last trade entered while the shipped VX settles exist.
REAL_VX_END = date(2021, 12, 23)


def hedged(report: Report, until: date = END) -> tuple[float, float]:
    """The hedged series' total and 5 % CVaR over the trades entered by `until`."""
    pnl = np.array([t.hedged_usd for t in report.trades if t.day <= until])
    return float(pnl.sum()), cvar(pnl)


def estimate_against_curve(history: History) -> dict[str, float]:
    """The estimate's distance from the real curve, over what the headline runs priced off it.

    Returns the count of (curve, settlement) pairs, and the median and 90th percentile of
    |estimate - curve| in VIX points and as a fraction of the curve's price; the same for the
    monthly contracts' own settles alone (no interpolation).
    """
    names = vars(core.hedge)
    real_future = names["_future"]
    seen: dict[tuple[date, date], tuple[float, float, bool]] = {}

    def recording(vol: VolIndexLevels, t_years: float, settlement: date | None) -> object:
        curve, close = vol.vx_curve, vol.vx_curve_close
        if curve is not None and close is not None and settlement is not None:
            quote = curve.future_for(settlement)
            if quote is not None and (curve.trade_date, settlement) not in seen:
                then = replace(vol, vix=close[0], vix9d=close[1], vix3m=close[2], vx_curve=None)
                estimate, note = names["_term_structure_future"](then, t_years)
                if not note:  # a consistent forward exists: the estimate is the model's own
                    seen[curve.trade_date, settlement] = (quote.price, estimate, quote.real)
        return real_future(vol, t_years, settlement)

    names["_future"] = recording
    try:
        for track, start, end in HEADLINE:
            run_headline(track, start, end, HedgeRules(), history=history)
    finally:
        names["_future"] = real_future
    out: dict[str, float] = {}
    for label, keep in (("all", lambda real: True), ("settles", lambda real: real)):
        pairs = np.array([(c, e) for c, e, real in seen.values() if keep(real)])
        points = np.abs(pairs[:, 1] - pairs[:, 0])
        share = points / pairs[:, 0]
        out |= {
            f"{label}_pairs": len(pairs),
            f"{label}_median_points": round(float(np.median(points)), 3),
            f"{label}_median_share": round(float(np.median(share)), 4),
            f"{label}_p90_points": round(float(np.percentile(points, 90)), 3),
        }
    return out


def front_months(history: History) -> dict[str, dict[str, float]]:
    """The estimate against VX1 and VX2 at each curve's close: 2011-2021 settles, 2026 closes.

    Every trade date of the shipped settles that has VIX9D (from 2011-01-04), and the 2026
    closes (`VX_RECENT_FILE`, never read by the backtest), through `estimate_gaps`: the median and
    90th percentile of |estimate - price| in points, the median as a share of the price, and
    the median signed gap (estimate - price).
    """
    if history.vx is None:
        raise SystemExit("no VX history shipped: nothing to compare")
    recent = load_vx_recent(DATA / VX_RECENT_FILE, history.indices.vix)
    out: dict[str, dict[str, float]] = {}
    for label, vx in (("settles_2011_2021", history.vx), ("closes_2026", recent)):
        found = estimate_gaps(vx, history.indices)
        gaps = np.array([(price, estimate) for _, _, price, estimate in found])
        signed = gaps[:, 1] - gaps[:, 0]
        out[label] = {
            "contract_days": len(gaps),
            "median_points": round(float(np.median(np.abs(signed))), 3),
            "p90_points": round(float(np.percentile(np.abs(signed), 90)), 3),
            "median_share": round(float(np.median(np.abs(signed) / gaps[:, 0])), 4),
            "median_signed_points": round(float(np.median(signed)), 3),
        }
        row = out[label]
        print(
            f"estimate against VX1 and VX2, {label}: {row['contract_days']} contract-days, "
            f"|gap| median {row['median_points']:.2f} points ({row['median_share']:.1%}), 90th "
            f"percentile {row['p90_points']:.2f}; estimate - price median "
            f"{row['median_signed_points']:+.2f}"
        )
    return out


def main() -> None:
    history = History.load(DATA)
    if history.vx is None:
        raise SystemExit("no VX history shipped: nothing to compare")
    reports = {
        "real": run_headline(TRACK, START, END, HedgeRules(), history=history),
        "estimated": run_headline(TRACK, START, END, HedgeRules(), history=history.fresh(vx=None)),
    }
    real_vx = sum(t.vix_hedges_on_real_vx for t in reports["real"].trades)
    result: dict[str, object] = {"bench": "backtest_vx", "vix_hedges_on_real_vx": real_vx}
    for label, until in (("to_2021", REAL_VX_END), ("whole_run", END)):
        (total_real, cvar_real), (total_est, cvar_est) = (
            hedged(reports[name], until) for name in ("real", "estimated")
        )
        print(
            f"{label}: hedged total {total_real:,.0f} on real VX against {total_est:,.0f} "
            f"estimated ({total_real - total_est:+,.0f}); 5 % CVaR {cvar_real:,.0f} against "
            f"{cvar_est:,.0f} ({cvar_real - cvar_est:+,.0f})"
        )
        result[label] = {
            "total_change_usd": round(total_real - total_est, 2),
            "cvar5_change_usd": round(cvar_real - cvar_est, 2),
        }
    gap = estimate_against_curve(history)
    for label, what in (("all", "every future"), ("settles", "the monthly settles alone")):
        print(
            f"estimate against the real curve, {what}: {gap[f'{label}_pairs']} (curve, "
            f"settlement) pairs, median {gap[f'{label}_median_points']:.2f} VIX points "
            f"({gap[f'{label}_median_share']:.1%}), 90th percentile "
            f"{gap[f'{label}_p90_points']:.2f}"
        )
    result["estimate_against_curve"] = gap
    result["front_months"] = front_months(history)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
