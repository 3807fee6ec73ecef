"""How the modelled intraday SPX path moves within a day, against real 1-minute bars.

`bot.backtest.modelled_path` (bridge-5) walks a bridge between the day's open, extremes and
close on a U-shaped intraday variance clock, the extremes' times drawn about their shares by
points travelled (`PATH_TIMING_SD`), reaching and leaving the extremes fast (`PATH_SHAPE`).
Its noise (the quadratic variation over the session as a fraction of the squared range) is
drawn per day from `PATH_NOISE_MODEL`: ``ln noise = a + b * x + s * z`` with
``x = |close - open| / range`` and ``z`` standard normal; it wanders as an Ornstein-Uhlenbeck
process of mean-reversion time `PATH_REVERSION_MINUTES`.
This fits them on the 96 sessions of real 1-minute bars shipped: SPX, 2023-03-16 ... 31 (12
sessions) and SPY, 2024-02-20 ... 05-17 and 2025-07-01 ... 30 (84 sessions; every measure is
scale-free, so an ETF that tracks the index serves).

* The timing spread is the one (from `TIMING_SDS`) whose drawn knots' quartiles of the first
  and second extreme's time come nearest the real days' (least squares).
* The shape is the one (from `SHAPES`) whose paths stand as far from the day's close at 10:00,
  10:30, 11:30 and 12:45 as the real days (mean over the range) and move as far from the open
  to 10:00 and from 15:45 to the close (median and 90th percentile): least squares of the
  relative errors, at the shipped noise and reversion.
* Each day's measure is the sum of squared 5-minute moves over the squared range
  (`five_minute_variation`, on the open and each 5-minute close).
* For each mean-reversion time tried (`TAUS`): each day's implied noise is the fixed noise at
  which the modelled paths through its OHLC (20 seeds) have the real day's measure as their
  median (bisection); ``a`` and ``b`` are the least-squares line of the log implied noise on
  ``x``, and ``s`` the spread of the residuals left once the bridge's own seed-to-seed spread
  is taken out.
* The mean-reversion time is the one whose paths' median variance ratios of 30- and 70-minute
  moves (6 and 14 five-minute closes) come nearest the real days' (least squares).

It then checks the shipped model against the real days: the 10th, 50th and 90th percentiles
of the measure (pooled and by thirds of ``x``), the share of real days inside their own
modelled 10-90 % band, and out of sample (fitted on the SPY days, tested on the SPX days;
fitted on 2023-2024, tested on 2025). It also prints, real against modelled (and against the
earlier bridges' choices and the straight stretches alone), how often a 5-minute move turns
back, the lag-1 autocorrelation and variance ratios of the moves, the share of the moves made
in the first 30 minutes, when the extremes are set, where the path stands at 10:00 to 12:45
(from the close and from the nearer extreme, against even stretches), and how often the ALVH
engine's 5-minute triggers read as fired (RSI at or below the put-side level, at or above the
call-side level; a MACD divergence flagged), once each has warmed up on the day's own closes.

Each fit holds the others at their shipped values (one pass: timing, shape, then reversion and
noise); the shipped values are the fitted ones once a pass returns them unchanged.

Run: ``python bench/path_calibration.py`` (about 4 minutes). Prints tables, then one JSON line.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.adapters.market_data.bars_csv import load_bars  # noqa: E402
from bot.backtest import (  # noqa: E402
    PATH_NOISE_MODEL,
    PATH_REVERSION_MINUTES,
    PATH_SHAPE,
    PATH_TIMING_SD,
    History,
    NoiseModel,
    five_minute_variation,
    modelled_path,
    path_noise,
)
from core.bars import Bars  # noqa: E402
from core.calendar import session_close, session_open  # noqa: E402
from core.indicators import divergence, macd, rsi_wilder  # noqa: E402
from core.rules import HedgeRules  # noqa: E402

SEEDS = range(20)
T = TypeVar("T")
#: Draws a day for the shape, timing and entry figures of the modelled paths.
DRAWS = range(5)
SPY_FILE = ROOT / "data" / "intraday" / "SPY_1min_rth_2024-02-20_2025-07-30.txt.gz"


@dataclass(frozen=True)
class RealDay:
    """One session of real bars: its OHLC, 5-minute levels and where they come from."""

    day: date
    symbol: str
    ohlc: tuple[float, float, float, float]
    levels: NDArray[np.float64]
    #: When the day set its extremes, as fractions of the session (first, second).
    extremes_at: tuple[float, float]

    @property
    def variation(self) -> float:
        return five_minute_variation(self.levels, self.ohlc[1], self.ohlc[2])

    @property
    def trend(self) -> float:
        # x: how much of the range the close-to-open move fills.
        o, h, low, c = self.ohlc
        return abs(c - o) / (h - low)


def _sessions(bars: Bars, symbol: str) -> list[RealDay]:
    out = []
    for day in bars.days:
        session = bars.on(day).within(session_open(day), session_close(day))
        levels = np.concatenate([[session.open[0]], session.resample(5).close])
        ohlc = (
            float(session.open[0]),
            float(session.high.max()),
            float(session.low.min()),
            float(session.close[-1]),
        )
        minutes = len(session.close)
        at = sorted((int(np.argmax(session.high)), int(np.argmin(session.low))))
        out.append(RealDay(day, symbol, ohlc, levels, (at[0] / minutes, at[1] / minutes)))
    return out


def real_days() -> list[RealDay]:
    """The shipped sessions of real 1-minute bars: SPX (March 2023) and SPY (2024, 2025)."""
    spx = History.load(ROOT / "data").minute_bars
    days = [d for bars in spx.values() for d in _sessions(bars, "SPX")]
    return days + _sessions(load_bars(SPY_FILE, symbol="SPY"), "SPY")


def _paths(
    day: RealDay, noise: float | None, model: NoiseModel, tau: float
) -> list[NDArray[np.float64]]:
    # The modelled paths through the day's OHLC at 5-minute closes, one a seed.
    return [
        modelled_path(
            day.day, *day.ohlc, seed=s, noise=noise, noise_model=model, reversion_minutes=tau
        )[::5]
        for s in SEEDS
    ]


def _modelled(
    day: RealDay,
    noise: float | None,
    model: NoiseModel = PATH_NOISE_MODEL,
    tau: float = PATH_REVERSION_MINUTES,
) -> NDArray[np.float64]:
    # The measure of the modelled paths through the day's OHLC, one a seed.
    high, low = day.ohlc[1], day.ohlc[2]
    return np.array([five_minute_variation(p, high, low) for p in _paths(day, noise, model, tau)])


def variance_ratio(levels: NDArray[np.float64], q: int) -> float:
    """The variance of q-step moves over q times that of 1-step moves (1: a random walk)."""
    moves = np.diff(levels)
    return float(np.var(levels[q:] - levels[:-q]) / (q * np.var(moves)))


def variance_ratios(paths: list[NDArray[np.float64]]) -> tuple[float, float]:
    """Median variance ratios of 30- and 70-minute moves (6 and 14 five-minute closes)."""
    return (
        float(np.median([variance_ratio(p, 6) for p in paths])),
        float(np.median([variance_ratio(p, 14) for p in paths])),
    )


def implied_noise(day: RealDay, tau: float = PATH_REVERSION_MINUTES) -> float:
    """The fixed noise whose modelled paths have the real day's measure as their median."""
    lo, hi = 0.0, 4.0
    for _ in range(24):
        mid = (lo + hi) / 2
        below = np.median(_modelled(day, mid, tau=tau)) < day.variation
        lo, hi = (mid, hi) if below else (lo, mid)
    return max((lo + hi) / 2, 1e-3)


def fit(
    days: list[RealDay], implied: dict[date, float], tau: float = PATH_REVERSION_MINUTES
) -> NoiseModel:
    """(a, b, s) of ``ln noise = a + b * x + s * z`` on these days."""
    x = np.array([d.trend for d in days])
    y = np.log([implied[d.day] for d in days])
    b, a = np.polyfit(x, y, 1)
    residual_sd = float(np.std(y - (a + b * x), ddof=2))
    # The bridge's own seed-to-seed spread of the log measure, at each day's implied noise.
    bridge_sd = float(
        np.median([np.std(np.log(_modelled(d, implied[d.day], tau=tau))) for d in days])
    )
    return float(a), float(b), math.sqrt(max(residual_sd**2 - bridge_sd**2, 0.0))


def check(
    days: list[RealDay], model: NoiseModel, tau: float = PATH_REVERSION_MINUTES
) -> dict[str, float]:
    """Real against modelled percentiles of the measure, and the 10-90 % band coverage."""
    real = np.array([d.variation for d in days])
    draws = [_modelled(d, None, model, tau) for d in days]
    pooled = np.concatenate(draws)
    inside = [
        np.percentile(m, 10) <= r <= np.percentile(m, 90) for r, m in zip(real, draws, strict=True)
    ]
    out: dict[str, float] = {"days": len(days)}
    for q in (10, 50, 90):
        out[f"real_p{q}"] = round(float(np.percentile(real, q)), 3)
        out[f"model_p{q}"] = round(float(np.percentile(pooled, q)), 3)
    out["inside_own_10_90_band"] = round(float(np.mean(inside)), 3)
    return out


def extreme_times(paths: list[NDArray[np.float64]]) -> dict[str, float]:
    """When 1-minute paths set their extremes: quartiles of the first and second, as fractions
    of the session, and how often the first falls in the first 30 minutes, the second in the
    last 30."""
    first, second = [], []
    for p in paths:
        at = sorted((int(np.argmax(p)), int(np.argmin(p))))
        first.append(at[0] / (p.size - 1))
        second.append(at[1] / (p.size - 1))
    return _extremes_figures(first, second)


def _extremes_figures(first: list[float], second: list[float]) -> dict[str, float]:
    out = {f"first_p{q}": round(float(np.percentile(first, q)), 3) for q in (25, 50, 75)}
    out |= {f"second_p{q}": round(float(np.percentile(second, q)), 3) for q in (25, 50, 75)}
    out["first_in_first_30m"] = round(float(np.mean(np.array(first) < 30 / 390)), 3)
    out["second_in_last_30m"] = round(float(np.mean(np.array(second) > 360 / 390)), 3)
    return out


def entry_moves(paths: list[NDArray[np.float64]], ranges: list[float]) -> dict[str, float]:
    """How far the tracks' entry points sit from the open and the close, over the day's range.

    On 5-minute levels: the move from 15 minutes before the close to the close (the 1DTE and
    45DTE tracks enter at 15:45) and from the open to 30 minutes after it (0DTE enters at
    10:00); medians and 90th percentiles.
    """
    late = [abs(p[-1] - p[-4]) / r for p, r in zip(paths, ranges, strict=True)]
    early = [abs(p[6] - p[0]) / r for p, r in zip(paths, ranges, strict=True)]
    return {
        "last_15m_p50": round(float(np.median(late)), 3),
        "last_15m_p90": round(float(np.percentile(late, 90)), 3),
        "first_30m_p50": round(float(np.median(early)), 3),
        "first_30m_p90": round(float(np.percentile(early, 90)), 3),
    }


#: 5-minute closes at which `where_it_sits` reads the paths: 10:00, 10:30, 11:30 and 12:45 ET
#: (the 0DTE track enters at 10:00; 12:45 is the last before a 13:00 early close).
SITS_AT = {"10:00": 6, "10:30": 12, "11:30": 24, "12:45": 39}


def where_it_sits(
    paths: list[NDArray[np.float64]], ohlcs: list[tuple[float, float, float, float]]
) -> dict[str, float]:
    """Where the paths stand at `SITS_AT`: the mean distance from the day's close and from the
    nearer of its extremes, over its range (the 0DTE condor is struck at 10:00 and settles at
    the close)."""
    out: dict[str, float] = {}
    for name, k in SITS_AT.items():
        close, near = [], []
        for p, (_, high, low, c) in zip(paths, ohlcs, strict=True):
            span = high - low
            close.append(abs(c - p[k]) / span)
            near.append(min(p[k] - low, high - p[k]) / span)
        out[f"to_close_{name}"] = round(float(np.mean(close)), 3)
        out[f"to_extreme_{name}"] = round(float(np.mean(near)), 3)
    return out


def _drawn(days: list[RealDay], every: int = 5, **kwargs: Any) -> list[NDArray[np.float64]]:
    # The modelled paths through each day's OHLC, `DRAWS` of them a day (day by day), at every
    # `every`-th minute; `kwargs` go to `modelled_path`.
    return [modelled_path(d.day, *d.ohlc, seed=k, **kwargs)[::every] for d in days for k in DRAWS]


def _each_draw(values: list[T]) -> list[T]:
    # One value a day, repeated for each of its `DRAWS` paths (as `_drawn` lists them).
    return [v for v in values for _ in DRAWS]


def opening_share(paths: list[NDArray[np.float64]]) -> float:
    """Median share of a day's sum of squared 5-minute moves made in its first 30 minutes."""
    return float(np.median([np.sum(np.diff(p)[:6] ** 2) / np.sum(np.diff(p) ** 2) for p in paths]))


def _turns(levels: NDArray[np.float64]) -> float:
    moves = np.sign(np.diff(levels))
    return float(np.mean(moves[1:] != moves[:-1]))


def _autocorrelation(levels: NDArray[np.float64]) -> float:
    moves = np.diff(levels)
    return float(np.corrcoef(moves[:-1], moves[1:])[0, 1])


def _triggers(levels: NDArray[np.float64], rules: HedgeRules) -> dict[str, float]:
    rsi = rsi_wilder(levels, rules.rsi_period)[rules.rsi_period + 1 :]
    m = macd(levels, rules.macd_fast, rules.macd_slow, rules.macd_signal)
    flags = divergence(levels, m.line, rules.divergence_lookback_bars)
    flags = flags[rules.macd_slow + rules.macd_signal :]
    return {
        "rsi_put_fired": float(np.mean(rsi <= rules.rsi_put_fire)),
        "rsi_call_fired": float(np.mean(rsi >= rules.rsi_call_fire)),
        "divergence_flagged": float(np.mean(flags != 0)),
    }


def shape(paths: list[NDArray[np.float64]], rules: HedgeRules) -> dict[str, float]:
    """How the paths move: turns, autocorrelation, variance ratios, trigger rates."""
    fired = [_triggers(p, rules) for p in paths]
    vr30, vr70 = variance_ratios(paths)
    return {
        "turns": round(float(np.mean([_turns(p) for p in paths])), 3),
        "lag1_autocorrelation": round(float(np.nanmean([_autocorrelation(p) for p in paths])), 3),
        "variance_ratio_30m": round(vr30, 3),
        "variance_ratio_70m": round(vr70, 3),
        "opening_30m_share": round(opening_share(paths), 3),
        **{k: round(float(np.mean([f[k] for f in fired])), 3) for k in fired[0]},
    }


#: Spreads of the extremes' drawn times tried (`PATH_TIMING_SD`).
TIMING_SDS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)


def fit_timing(days: list[RealDay]) -> tuple[float, list[dict[str, float]]]:
    """The spread of the extremes' drawn times (from `TIMING_SDS`) whose paths' quartiles of the
    first and second extreme's time come nearest the real days' (least squares), and every row."""
    real = _extremes_figures([d.extremes_at[0] for d in days], [d.extremes_at[1] for d in days])
    keys = [f"{which}_p{q}" for which in ("first", "second") for q in (25, 50, 75)]

    def shown(figures: dict[str, float], which: str) -> str:
        return " / ".join(f"{figures[k]:.2f}" for k in keys if k.startswith(which))

    rows = []
    for sd in TIMING_SDS:
        model = extreme_times(
            [modelled_path(d.day, *d.ohlc, seed=s, timing_sd=sd) for d in days for s in SEEDS]
        )
        rows.append({"timing_sd": sd, "loss": sum((model[k] - real[k]) ** 2 for k in keys)})
        print(
            f"timing sd {sd:4.2f}: first extreme at {shown(model, 'first')}, second at "
            f"{shown(model, 'second')} (real {shown(real, 'first')}; {shown(real, 'second')})",
            flush=True,
        )
    return min(rows, key=lambda r: r["loss"])["timing_sd"], rows


#: Exponents of `PATH_SHAPE` tried: (k1, k2).
SHAPES = tuple(
    (k1, k2) for k1 in (1.0, 1.5, 2.0, 2.5, 3.0) for k2 in (1.0, 2.0, 3.0, 4.0, 5.0, 6.0)
)


def fit_shape(days: list[RealDay]) -> tuple[tuple[float, float], list[dict[str, float]]]:
    """The exponents (from `SHAPES`) whose paths sit as far from the close at `SITS_AT` as the
    real days' and move as far from the open to 10:00 and from 15:45 to the close (median and
    90th percentile), by least squares of the relative errors; and every row tried."""
    ohlcs = [d.ohlc for d in days]
    ranges = [d.ohlc[1] - d.ohlc[2] for d in days]
    real = where_it_sits([d.levels for d in days], ohlcs) | entry_moves(
        [d.levels for d in days], ranges
    )
    keys = [f"to_close_{name}" for name in SITS_AT] + [
        "first_30m_p50",
        "first_30m_p90",
        "last_15m_p50",
        "last_15m_p90",
    ]
    rows = []
    for k1, k2 in SHAPES:
        paths = _drawn(days, shape=(k1, k2))
        model = where_it_sits(paths, _each_draw(ohlcs)) | entry_moves(paths, _each_draw(ranges))
        loss = sum((model[k] / real[k] - 1.0) ** 2 for k in keys)
        rows.append({"k1": k1, "k2": k2, "loss": loss} | {k: model[k] for k in keys})
        print(
            f"shape {k1:g}, {k2:g}: to the close at "
            + " / ".join(f"{model[f'to_close_{n}']:.3f}" for n in SITS_AT)
            + " (real "
            + " / ".join(f"{real[f'to_close_{n}']:.3f}" for n in SITS_AT)
            + f"); open to 10:00 {model['first_30m_p50']:.3f} / {model['first_30m_p90']:.3f}, "
            f"15:45 to close {model['last_15m_p50']:.3f} / {model['last_15m_p90']:.3f}; "
            f"loss {loss:.4f}",
            flush=True,
        )
    best = min(rows, key=lambda r: r["loss"])
    return (best["k1"], best["k2"]), rows


#: Mean-reversion times tried (minutes; inf: a random walk, as bridge-2 wandered).
TAUS = (5.0, 7.5, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 60.0, math.inf)
#: bridge-2's noise model (a random-walk wander), for comparison.
BRIDGE_2 = (-0.33, -1.08, 0.60)


def fit_reversion(days: list[RealDay]) -> tuple[float, NoiseModel, list[dict[str, float]]]:
    """The mean-reversion time (from `TAUS`) and noise model whose paths' variance ratios of
    30- and 70-minute moves come nearest the real days' (least squares), and every row tried."""
    real = variance_ratios([d.levels for d in days])
    rows = []
    for tau in TAUS:
        implied = {d.day: implied_noise(d, tau) for d in days}
        model = fit(days, implied, tau)
        paths = [p for d in days for p in _paths(d, None, model, tau)]
        vr30, vr70 = variance_ratios(paths)
        rows.append(
            {
                "tau": tau,
                "a": model[0],
                "b": model[1],
                "s": model[2],
                "vr30": vr30,
                "vr70": vr70,
                "loss": (vr30 - real[0]) ** 2 + (vr70 - real[1]) ** 2,
            }
        )
        print(
            f"reversion {tau:5.0f} min: ln noise = {model[0]:+.3f} {model[1]:+.3f} x, sd "
            f"{model[2]:.3f}; variance ratios 30/70 min {vr30:.3f} / {vr70:.3f} "
            f"(real {real[0]:.3f} / {real[1]:.3f})",
            flush=True,
        )
    best = min(rows, key=lambda r: r["loss"])
    return best["tau"], (best["a"], best["b"], best["s"]), rows


def main() -> None:
    days = real_days()
    timing_sd, timing_tried = fit_timing(days)
    fitted_shape, shape_tried = fit_shape(days)
    tau, model, tried = fit_reversion(days)
    shipped = PATH_NOISE_MODEL
    print(
        f"{len(days)} sessions; fitted: timing sd {timing_sd:g}, shape {fitted_shape}, "
        f"reversion {tau:g} min, ln noise = {model[0]:+.3f} {model[1]:+.3f} x, day-to-day sd "
        f"{model[2]:.3f} (shipped {PATH_TIMING_SD:g}, {PATH_SHAPE}, {PATH_REVERSION_MINUTES:g} "
        f"min, {shipped[0]:+.2f} {shipped[1]:+.2f} x, sd {shipped[2]:.2f})"
    )
    implied = {d.day: implied_noise(d) for d in days}
    checks: dict[str, dict[str, float]] = {"all": check(days, shipped)}
    thirds = np.percentile([d.trend for d in days], [100 / 3, 200 / 3])
    subsets: list[tuple[str, Callable[[RealDay], bool]]] = [
        (f"x < {thirds[0]:.2f}", lambda d: d.trend < thirds[0]),
        (f"{thirds[0]:.2f} <= x < {thirds[1]:.2f}", lambda d: thirds[0] <= d.trend < thirds[1]),
        (f"x >= {thirds[1]:.2f}", lambda d: d.trend >= thirds[1]),
        ("SPX days", lambda d: d.symbol == "SPX"),
        ("SPY days", lambda d: d.symbol == "SPY"),
    ]
    for name, keep in subsets:
        checks[name] = check([d for d in days if keep(d)], shipped)
    held_out: list[tuple[str, Callable[[RealDay], bool], Callable[[RealDay], bool]]] = [
        ("fit SPY, test SPX", lambda d: d.symbol == "SPY", lambda d: d.symbol == "SPX"),
        ("fit 2023-24, test 2025", lambda d: d.day.year < 2025, lambda d: d.day.year == 2025),
    ]
    for name, train, test in held_out:
        held = fit([d for d in days if train(d)], implied)
        checks[f"{name} ({held[0]:+.2f} {held[1]:+.2f} x, sd {held[2]:.2f})"] = check(
            [d for d in days if test(d)], held
        )
    # The earlier bridges' choices on today's knots, for comparison: one noise for every day
    # (bridge-1's 0.54), a random-walk wander (bridge-2's noise model).
    checks["one noise, 0.54 (bridge-1)"] = check(days, (math.log(0.54), 0.0, 0.0), math.inf)
    checks["random walk (bridge-2)"] = check(days, BRIDGE_2, math.inf)
    print(f"{'days':40s} {'n':>3s}  real p10/p50/p90     model p10/p50/p90    in band")
    for name, c in checks.items():
        print(
            f"{name:40s} {c['days']:3.0f}  {c['real_p10']:.2f} {c['real_p50']:.2f} "
            f"{c['real_p90']:.2f}       {c['model_p10']:.2f} {c['model_p50']:.2f} "
            f"{c['model_p90']:.2f}       {c['inside_own_10_90_band']:.0%}"
        )
    rules = HedgeRules()
    shapes = {
        "real": shape([d.levels for d in days], rules),
        "model": shape(_drawn(days), rules),
        "random walk": shape(
            [p for d in days for p in _paths(d, None, BRIDGE_2, math.inf)[: len(DRAWS)]], rules
        ),
        "one noise": shape(
            [p for d in days for p in _paths(d, 0.54, BRIDGE_2, math.inf)[: len(DRAWS)]], rules
        ),
        "straight": shape([modelled_path(d.day, *d.ohlc, noise=0)[::5] for d in days], rules),
    }
    for name, figures in shapes.items():
        print(
            f"{name:11s} 5-minute moves turning back {figures['turns']:.0%}, "
            f"lag-1 autocorrelation {figures['lag1_autocorrelation']:+.2f}, variance ratios 30/70 "
            f"min {figures['variance_ratio_30m']:.2f} / {figures['variance_ratio_70m']:.2f}, "
            f"first 30 min {figures['opening_30m_share']:.0%} of the moves; "
            f"RSI at or below "
            f"{rules.rsi_put_fire:g} {figures['rsi_put_fired']:.0%}, at or above "
            f"{rules.rsi_call_fire:g} {figures['rsi_call_fired']:.0%}, divergence flagged "
            f"{figures['divergence_flagged']:.0%}"
        )
    timing = {
        "real": _extremes_figures(
            [d.extremes_at[0] for d in days], [d.extremes_at[1] for d in days]
        ),
        "model": extreme_times(_drawn(days, every=1)),
    }
    ranges = [d.ohlc[1] - d.ohlc[2] for d in days]
    entries = {
        "real": entry_moves([d.levels for d in days], ranges),
        "model": entry_moves(_drawn(days), _each_draw(ranges)),
        "timing by points": entry_moves(_drawn(days, timing_sd=0.0), _each_draw(ranges)),
    }
    ohlcs = [d.ohlc for d in days]
    sits = {
        "real": where_it_sits([d.levels for d in days], ohlcs),
        "model": where_it_sits(_drawn(days), _each_draw(ohlcs)),
        "even stretches": where_it_sits(_drawn(days, shape=(1.0, 1.0)), _each_draw(ohlcs)),
    }
    for name, w in sits.items():
        print(
            f"{name:16s} distance / range at "
            + ", ".join(
                f"{n}: {w[f'to_close_{n}']:.3f} to the close, {w[f'to_extreme_{n}']:.3f} to the "
                "nearer extreme"
                for n in SITS_AT
            )
        )
    for name, e in entries.items():
        print(
            f"{name:16s} last 15 min move / range: median {e['last_15m_p50']:.3f}, 90th "
            f"{e['last_15m_p90']:.3f}; first 30 min: median {e['first_30m_p50']:.3f}, 90th "
            f"{e['first_30m_p90']:.3f}"
        )
    for name, t in timing.items():
        print(
            f"{name:9s} first extreme at {t['first_p25']:.2f} / {t['first_p50']:.2f} / "
            f"{t['first_p75']:.2f} of the session (quartiles), in the first 30 min on "
            f"{t['first_in_first_30m']:.0%}; second at {t['second_p25']:.2f} / "
            f"{t['second_p50']:.2f} / {t['second_p75']:.2f}, in the last 30 min on "
            f"{t['second_in_last_30m']:.0%}"
        )
    median_noise = [path_noise(*d.ohlc, 0.0) for d in days]
    print(
        f"median modelled noise by day {np.median(median_noise):.3f} "
        f"({min(median_noise):.3f}-{max(median_noise):.3f})"
    )
    print(
        json.dumps(
            {
                "bench": "path_calibration",
                "days": len(days),
                "fitted": {
                    "timing_sd": timing_sd,
                    "shape": fitted_shape,
                    "reversion_minutes": tau,
                    "noise_model": [round(v, 3) for v in model],
                },
                "shipped": {
                    "timing_sd": PATH_TIMING_SD,
                    "shape": PATH_SHAPE,
                    "reversion_minutes": PATH_REVERSION_MINUTES,
                    "noise_model": shipped,
                },
                "timing_tried": timing_tried,
                "shape_tried": shape_tried,
                "reversion_tried": tried,
                "checks": checks,
                "shape": shapes,
                "extremes": timing,
                "entry_moves": entries,
                "where_it_sits": sits,
            }
        )
    )


if __name__ == "__main__":
    main()
