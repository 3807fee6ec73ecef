"""How much the modelled intraday SPX path moves within a day, against the real 1-minute bars.

`bot.backtest.modelled_path` walks a Brownian bridge between the day's open, extremes and close.
Its one constant, `PATH_NOISE` (the bridge's quadratic variation over the session as a fraction
of the squared range), is fitted here on the shipped days of real 1-minute bars: the median over
those days (and 20 seeds each) of the modelled path's sum of squared 5-minute moves over the
squared range (`five_minute_variation`) is brought to the real days' median by bisection. It
also prints, real against modelled against the straight stretches alone, how often a 5-minute
move turns back, the lag-1 autocorrelation of the 5-minute moves, and how often the ALVH
engine's 5-minute SPX triggers read as fired (RSI at or below the put-side level, at or above
the call-side level; a MACD divergence flagged), per 5-minute close once each has warmed up
on the day's own closes.

Run: ``python bench/path_calibration.py``. Prints a table, then one JSON line.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.backtest import PATH_NOISE, History, five_minute_variation, modelled_path  # noqa: E402
from core.calendar import session_close, session_open  # noqa: E402
from core.indicators import divergence, macd, rsi_wilder  # noqa: E402
from core.rules import HedgeRules  # noqa: E402

SEEDS = range(20)

Ohlc = tuple[float, float, float, float]


def _turns(levels: NDArray[np.float64]) -> float:
    # The share of 5-minute moves whose sign differs from the move before.
    moves = np.sign(np.diff(levels))
    return float(np.mean(moves[1:] != moves[:-1]))


def _autocorrelation(levels: NDArray[np.float64]) -> float:
    moves = np.diff(levels)
    return float(np.corrcoef(moves[:-1], moves[1:])[0, 1])


def _triggers(levels: NDArray[np.float64], rules: HedgeRules) -> dict[str, float]:
    # The share of 5-minute closes (after each indicator's warm-up) where the trigger reads fired.
    rsi = rsi_wilder(levels, rules.rsi_period)[rules.rsi_period + 1 :]
    m = macd(levels, rules.macd_fast, rules.macd_slow, rules.macd_signal)
    flags = divergence(levels, m.line, rules.divergence_lookback_bars)
    flags = flags[rules.macd_slow + rules.macd_signal :]
    return {
        "rsi_put_fired": float(np.mean(rsi <= rules.rsi_put_fire)),
        "rsi_call_fired": float(np.mean(rsi >= rules.rsi_call_fire)),
        "divergence_flagged": float(np.mean(flags != 0)),
    }


def _modelled(days: dict[date, Ohlc], noise: float) -> list[float]:
    return [
        five_minute_variation(modelled_path(d, *o, seed=s, noise=noise)[::5], o[1], o[2])
        for d, o in days.items()
        for s in SEEDS
    ]


def main() -> None:
    history = History.load(ROOT / "data")
    real: dict[date, NDArray[np.float64]] = {}
    days: dict[date, Ohlc] = {}
    for day, bars in sorted(history.minute_bars.items()):
        session = bars.within(session_open(day), session_close(day))
        real[day] = np.concatenate([[session.open[0]], session.resample(5).close])
        days[day] = (
            float(session.open[0]),
            float(session.high.max()),
            float(session.low.min()),
            float(session.close[-1]),
        )
    target = float(np.median([five_minute_variation(real[d], o[1], o[2]) for d, o in days.items()]))
    lo, hi = 0.0, 2.0
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.median(_modelled(days, mid)) < target else (lo, mid)
    fitted = (lo + hi) / 2

    print(f"{'day':10s} {'range':>7s} {'real':>6s} {'model':>6s} {'straight':>8s}")
    rows: dict[str, list[NDArray[np.float64]]] = {"real": [], "model": [], "straight": []}
    for day, (o, h, low, c) in days.items():
        model = modelled_path(day, o, h, low, c)[::5]
        straight = modelled_path(day, o, h, low, c, noise=0)[::5]
        rows["real"].append(real[day])
        rows["model"].append(model)
        rows["straight"].append(straight)
        print(
            f"{day:%Y-%m-%d} {h - low:7.1f} {five_minute_variation(real[day], h, low):6.3f} "
            f"{five_minute_variation(model, h, low):6.3f} "
            f"{five_minute_variation(straight, h, low):8.3f}"
        )
    rules = HedgeRules()
    shape: dict[str, dict[str, float]] = {}
    for name, paths in rows.items():
        fired = [_triggers(p, rules) for p in paths]
        shape[name] = {
            "turns": round(float(np.mean([_turns(p) for p in paths])), 3),
            "lag1_autocorrelation": round(
                float(np.nanmean([_autocorrelation(p) for p in paths])), 3
            ),
            **{k: round(float(np.mean([f[k] for f in fired])), 3) for k in fired[0]},
        }
    for name, figures in shape.items():
        print(
            f"{name:9s} 5-minute moves turning back {figures['turns']:.0%}, "
            f"lag-1 autocorrelation {figures['lag1_autocorrelation']:+.2f}; RSI at or below "
            f"{rules.rsi_put_fire:g} {figures['rsi_put_fired']:.0%}, at or above "
            f"{rules.rsi_call_fire:g} {figures['rsi_call_fired']:.0%}, divergence flagged "
            f"{figures['divergence_flagged']:.0%}"
        )
    print(
        f"real median {target:.3f}; fitted noise {fitted:.3f} (shipped {PATH_NOISE}); "
        f"modelled median at the shipped noise {np.median(_modelled(days, PATH_NOISE)):.3f}"
    )
    print(
        json.dumps(
            {
                "bench": "path_calibration",
                "days": len(days),
                "real_median": round(target, 4),
                "fitted_noise": round(fitted, 3),
                "shipped_noise": PATH_NOISE,
                "shape": shape,
            }
        )
    )


if __name__ == "__main__":
    main()
