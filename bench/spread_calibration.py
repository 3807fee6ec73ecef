"""How wide the shipped real SPX chains are quoted against the modelled spreads, by VIX.

`core.surface.modelled_half_spread` is a calm market's half spread as a function of the mid.
For every shipped regular-session snapshot (each Cboe file, each day of the Yahoo dump; the
Global Trading Hours files are left out, their spreads are another market's), this measures the
median of real half spread over that calm spread (`core.compare.spread_ratio`: out-of-the-money
quotes, bid >= 0.50, 0-45 days) against the VIX known at the quote time
(`VolIndices.levels_at`, as a modelled chain is given it).

It then fits the stress factor `core.surface.spread_stress`, ``(VIX / v0) ** p`` above ``v0``
and 1 below, by least squares on the log ratios (each snapshot weighted equally, the calm level
held at 1), and refits without each stressed day in turn (leave one day out), since four days
above VIX 27 carry the fit.

Run: ``python bench/spread_calibration.py``. Prints a table, then one JSON line.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.adapters.market_data import list_quote_dates, load_chain  # noqa: E402
from bot.adapters.market_data.index_history import load_vol_indices  # noqa: E402
from core.calendar import NEW_YORK  # noqa: E402
from core.compare import spread_ratio  # noqa: E402
from core.surface import SPREAD_CALM_VIX, SPREAD_STRESS_POWER  # noqa: E402

CHAINS = ROOT / "data" / "chains"
YAHOO = CHAINS / "spx_0dte_yahoo_nearclose_2025-03_2025-09.csv.gz"
#: Candidate calm ceilings searched (VIX points).
CALM_GRID = np.arange(15.0, 40.0 + 1e-9, 0.25)


@dataclass(frozen=True, slots=True)
class Point:
    name: str
    day: date
    vix: float
    quotes: int
    calm: float
    stressed: float


def points() -> list[Point]:
    """One point per regular-session snapshot with at least 10 measurable quotes."""
    indices = load_vol_indices(ROOT / "data" / "vix")
    chains = [(path.name, load_chain(path)) for path in sorted(CHAINS.glob("spx_cboe_*.csv.gz"))]
    chains += [
        (f"yahoo {day}", load_chain(YAHOO, quote_date=day)) for day in list_quote_dates(YAHOO)
    ]
    out: list[Point] = []
    for name, chain in chains:
        moment = chain.quote_time.astimezone(NEW_YORK)
        if not time(9, 30) <= moment.time() <= time(16, 15):
            continue
        vix = indices.levels_at(chain.quote_time).vix
        ratio = spread_ratio(chain, vix)
        if ratio is not None:
            out.append(Point(name, moment.date(), vix, ratio.quotes, ratio.calm, ratio.stressed))
    return out


def fit(sample: Sequence[Point]) -> tuple[float, float, float]:
    """(calm VIX, power, sum of squared log errors) minimising the squared log error."""
    vix = np.array([p.vix for p in sample])
    log_ratio = np.log([p.calm for p in sample])
    best = (math.nan, math.nan, math.inf)
    for calm in CALM_GRID:
        x = np.maximum(np.log(vix / calm), 0.0)
        if not (x > 0).any():
            continue
        power = float(x @ log_ratio / (x @ x))
        sse = float(((log_ratio - power * x) ** 2).sum())
        if sse < best[2]:
            best = (float(calm), power, sse)
    return best


def main() -> int:
    sample = points()
    print(f"{'snapshot':52} {'VIX':>6} {'quotes':>6} {'real/calm':>9} {'real/model':>10}")
    for p in sorted(sample, key=lambda p: p.vix):
        print(f"{p.name:52} {p.vix:6.2f} {p.quotes:6d} {p.calm:9.2f} {p.stressed:10.2f}")
    calm, power, sse = fit(sample)
    print(
        f"\nfit over {len(sample)} snapshots: calm VIX {calm:.2f}, power {power:.3f} "
        f"(shipped: {SPREAD_CALM_VIX:g}, {SPREAD_STRESS_POWER:g}); sum of squared log errors "
        f"{sse:.3f}"
    )
    stressed_days = sorted({p.day for p in sample if p.vix > SPREAD_CALM_VIX})
    held_out = []
    for day in stressed_days:
        rest = [p for p in sample if p.day != day]
        c, pw, _ = fit(rest)
        for p in (p for p in sample if p.day == day):
            predicted = max((p.vix / c) ** pw, 1.0)
            held_out.append(
                {
                    "day": str(day),
                    "vix": round(p.vix, 2),
                    "real_over_calm": round(p.calm, 3),
                    "predicted_without_the_day": round(predicted, 3),
                    "fit_without_the_day": [round(c, 2), round(pw, 3)],
                }
            )
            print(
                f"without {day}: calm VIX {c:.2f}, power {pw:.3f}; at VIX {p.vix:.2f} it "
                f"predicts {predicted:.2f} x calm, measured {p.calm:.2f}"
            )
    calm_ratios = [p.stressed for p in sample if p.vix <= SPREAD_CALM_VIX]
    stressed_ratios = [p.stressed for p in sample if p.vix > SPREAD_CALM_VIX]
    print(
        f"real/model with the shipped stress: median {np.median(calm_ratios):.2f} at or below "
        f"VIX {SPREAD_CALM_VIX:g} ({len(calm_ratios)} snapshots), {np.median(stressed_ratios):.2f} "
        f"above ({len(stressed_ratios)})"
    )
    print(
        json.dumps(
            {
                "bench": "spread_calibration",
                "snapshots": len(sample),
                "fit": {"calm_vix": calm, "power": round(power, 4), "sse": round(sse, 4)},
                "shipped": {"calm_vix": SPREAD_CALM_VIX, "power": SPREAD_STRESS_POWER},
                "held_out": held_out,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
