"""What the real VX settles change in the 45DTE backtest, against futures estimated throughout.

The backtest values VIX hedges off real CFE VX settles where the shipped history has them
(2007-04-02 ... 2021-12-23) and off futures estimated from the VIX term structure elsewhere
(`core.vix`). This runs the headline 45DTE configuration twice, on the shipped history and on
the same history without its VX settles (every future estimated), and prints how the hedged
series' total and 5 % CVaR move: over the trades entered while real settles exist (2011-2021;
the track trades from 2011-01-04) and over the whole run. Last line: one JSON object.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from backtest_paths import DATA, HEADLINE, run_headline

from bot.backtest import History
from core.backtest import Report
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
    print(json.dumps(result))


if __name__ == "__main__":
    main()
