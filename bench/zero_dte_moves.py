"""Does the 0DTE backtest's 10:00 spot move to the close as real 10:00 prices do?

The 0DTE track strikes its condor at 10:00 on the chain modelled there and settles it at the
day's real close; on a modelled day the 10:00 spot is a point on the modelled path
(`bot.backtest.modelled_path`). How far the close lands from that spot, against what the chain
priced, decides how often the condor is breached. This compares, as a ratio of means:

* the move from the 10:00 spot to the close, over the 10:00 at-the-money straddle of the
  backtest's own modelled 0DTE chain (call plus put mid at the strike nearest the forward:
  the market's expected absolute move), on every 0DTE day of the headline run (2014-08-01 to
  2026-07-08), by VIX at entry and by year;
* the same on the 96 sessions of real 1-minute bars shipped (SPX March 2023, SPY 2024 and
  2025; a ratio, so the ETF serves), once with the real 10:00 price and once with the
  backtest's modelled one (the chain is the backtest's for that date either way).

If the path model put the 10:00 spot where real days have it, the two ratios on the real days
agree, and the backtest's ratio over 2014-2026 sits near them.

Run: ``python bench/zero_dte_moves.py`` (about 10 s). Prints tables, then one JSON line.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from backtest_paths import DATA, RULES
from path_calibration import real_days

from bot.backtest import BacktestDay, History, backtest_days, with_chains_modelled
from core.backtest import SkipDay
from core.rules import HedgeRules
from core.types import Track

START, END = date(2014, 8, 1), date(2026, 7, 8)
#: The 5-minute close at 10:00 (the open is level 0).
AT_TEN = 6
VIX_BANDS = ((0.0, 15.0), (15.0, 20.0), (20.0, 30.0), (30.0, 200.0))


def entries(history: History) -> dict[date, tuple[float, float, float, float]]:
    """Each 0DTE day's (10:00 spot, straddle / spot, |close - spot| / spot, VIX at entry)."""
    out: dict[date, tuple[float, float, float, float]] = {}
    days = backtest_days(
        Track.ZERO_DTE, START, END, history=history, rules=RULES, hedge_rules=HedgeRules()
    )
    for day in with_chains_modelled(days):
        if not isinstance(day, BacktestDay) or day.day not in history.spx:
            continue
        try:
            chain = day.chain()
        except (SkipDay, ValueError):  # a day the backtest skips has no entry
            continue
        forward = chain.terms[0].forward
        strikes = np.unique(chain.strike)
        atm = strikes[np.argmin(np.abs(strikes - forward))]
        mid = (chain.bid + chain.ask) / 2
        at = chain.strike == atm
        straddle = float(mid[at & chain.is_call][0] + mid[at & ~chain.is_call][0])
        close = float(history.spx.close[history.spx_rows[day.day]])
        spot = chain.spot
        out[day.day] = (spot, straddle / spot, abs(close - spot) / spot, day.entry_vix())
    return out


def _ratio(rows: list[tuple[float, float, float, float]]) -> float:
    return float(np.mean([r[2] for r in rows]) / np.mean([r[1] for r in rows]))


def main() -> None:
    history = History.load(DATA)
    found = entries(history)
    rows = list(found.values())
    result: dict[str, object] = {"bench": "zero_dte_moves", "days": len(rows)}
    result["backtest_ratio"] = round(_ratio(rows), 3)
    print(
        f"0DTE {START} .. {END}: {len(rows)} days; mean 10:00 straddle "
        f"{np.mean([r[1] for r in rows]):.3%} of spot, mean move to the close "
        f"{np.mean([r[2] for r in rows]):.3%}: ratio {_ratio(rows):.3f}"
    )
    by_vix = {}
    for lo, hi in VIX_BANDS:
        band = [r for r in rows if lo <= r[3] < hi]
        by_vix[f"{lo:g}-{hi:g}"] = round(_ratio(band), 3)
        print(f"  VIX {lo:g}-{hi:g}: {len(band)} days, ratio {_ratio(band):.3f}")
    by_year = {}
    for year in sorted({d.year for d in found}):
        band = [r for d, r in found.items() if d.year == year]
        by_year[str(year)] = round(_ratio(band), 3)
    print("  by year: " + ", ".join(f"{y} {r:.2f}" for y, r in by_year.items()))
    real_rows, modelled_rows = [], []
    for session in real_days():
        if session.day not in found:
            continue
        spot, straddle, modelled_move, vix = found[session.day]
        ten, close = float(session.levels[AT_TEN]), session.ohlc[3]
        real_rows.append((ten, straddle, abs(close - ten) / ten, vix))
        modelled_rows.append((spot, straddle, modelled_move, vix))
    print(
        f"{len(real_rows)} real-bar days: real 10:00 price to the close {_ratio(real_rows):.3f} "
        f"of the straddle, the backtest's 10:00 spot {_ratio(modelled_rows):.3f}"
    )
    result |= {
        "by_vix": by_vix,
        "by_year": by_year,
        "real_bar_days": len(real_rows),
        "real_bar_days_real_ratio": round(_ratio(real_rows), 3),
        "real_bar_days_modelled_ratio": round(_ratio(modelled_rows), 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
