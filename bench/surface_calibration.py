"""How well `core.surface` rebuilds the shipped Cboe snapshots from the day's VIX indices.

For each Cboe SPX snapshot (`data/chains/spx_cboe_*.csv.gz`), take the index levels known at its
quote time (`bot.adapters.market_data.index_history.VolIndices.levels_at`: the day's closes for
a closing snapshot, the previous closes for one taken in Global Trading Hours, the day's opening
values for the 09:56 intraday one) and compare the model IV with

* Cboe's IV as printed in the file ("vs Cboe"), and
* our own Black-76 IV from the bid/ask mid (`core.chain`, "vs mid IV"),

on out-of-the-money options with a bid of at least 0.50 and 0 to 45 calendar days to expiry
(still trading at the quote time). Cboe's IV is the issue's yardstick, but three files carry
Cboe IVs computed a day or more after the quotes froze, one has call and put IVs that disagree
(`bench/chain_accuracy.py`), and one has none: the mid IV is the consistent reference, and the
one the model is fitted to.

``--fit`` re-fits the constants by least squares on the mid IVs (each snapshot weighted equally)
and prints them as a `SurfaceParams` literal for `core/surface.py`. The default run reports the
errors of the shipped constants ("in-sample"); ``--loo`` adds leave-one-day-out errors: refit
without every snapshot of a quote day, then evaluate on that day (15 refits, several minutes).

Run: ``python bench/surface_calibration.py [--fit] [--loo]``. Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import least_squares

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.adapters.market_data import load_chain  # noqa: E402
from bot.adapters.market_data.index_history import load_vol_indices  # noqa: E402
from core.chain import OptionChain  # noqa: E402
from core.surface import (  # noqa: E402
    CALIBRATED,
    ExpiryClock,
    IndexLevels,
    SurfaceParams,
    expiry_clock,
    smile_iv,
)

CHAINS = ROOT / "data" / "chains"
VIX_DIR = ROOT / "data" / "vix"
MIN_BID = 0.50
DTE_RANGE = (0, 45)
#: Fitted constants and their bounds.
BOUNDS: dict[str, tuple[float, float]] = {
    "overnight_share": (0.05, 0.7),
    "short_end_tilt": (-1.0, 2.0),
    "atm_log_ratio": (-1.0, 1.0),
    "atm_log_ratio_vix": (-1.0, 1.0),
    "wing_log_level": (-4.0, 3.0),
    "wing_log_skew": (-2.0, 2.0),
    "wing_log_vix": (-2.0, 2.0),
    "tilt_level": (-4.0, 4.0),
    "tilt_skew": (-2.0, 2.0),
    "curvature_log_level": (-3.0, 4.0),
    "curvature_log_skew": (-2.0, 2.0),
    "smile_term_power": (0.0, 0.35),
}
FITTED = tuple(BOUNDS)
#: Known problems of Cboe's IV column, from bench/chain_accuracy.py and data/SOURCES.md.
CBOE_IV_NOTES = {
    "spx_cboe_2020-03-20_close.csv.gz": "Cboe IV on a clock ~1 day late",
    "spx_cboe_2022-01-07_close_partial.csv.gz": "Cboe IV on a clock ~1 day late",
    "spx_cboe_2022-02-04_close.csv.gz": "Cboe call/put IVs disagree",
    "spx_cboe_2023-09-01_close.csv.gz": "Cboe IV on a clock ~3 days late",
    "spx_cboe_2024-02-12_close_noIV.csv.gz": "no Cboe IV in the file",
}


@dataclass(frozen=True, slots=True)
class ExpirySample:
    clock: ExpiryClock
    log_moneyness: NDArray[np.float64]
    mid_iv: NDArray[np.float64]
    cboe_iv: NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Snapshot:
    name: str
    day: date
    quote_time: str
    levels: IndexLevels
    expiries: tuple[ExpirySample, ...]

    @property
    def points(self) -> int:
        return sum(e.mid_iv.size for e in self.expiries)


@dataclass(frozen=True, slots=True)
class Errors:
    n: int
    median: float
    p95: float


def errors(diff: NDArray[np.float64]) -> Errors:
    d = np.abs(diff[np.isfinite(diff)])
    if d.size == 0:
        return Errors(0, math.nan, math.nan)
    return Errors(int(d.size), float(np.median(d)), float(np.percentile(d, 95)))


def sample(name: str, chain: OptionChain, levels: IndexLevels) -> Snapshot:
    """Select OTM rows with bid >= MIN_BID, 0-45 days out, that have a mid IV."""
    expiries: list[ExpirySample] = []
    for terms in chain.terms:
        dte = (terms.expiry - chain.quote_time.date()).days
        if terms.expired or not DTE_RANGE[0] <= dte <= DTE_RANGE[1]:
            continue
        rows = (chain.root == terms.root) & (chain.expiry == np.datetime64(terms.expiry))
        with np.errstate(invalid="ignore"):
            otm = np.where(
                chain.is_call, chain.strike > terms.forward, chain.strike < terms.forward
            )
            keep = rows & otm & (chain.bid >= MIN_BID) & np.isfinite(chain.iv)
        if not keep.any():
            continue
        cboe = np.where(chain.cboe_iv[keep] > 0, chain.cboe_iv[keep], np.nan)
        expiries.append(
            ExpirySample(
                clock=expiry_clock(chain.quote_time, terms.t_years),
                log_moneyness=np.log(chain.strike[keep] / terms.forward),
                mid_iv=chain.iv[keep].copy(),
                cboe_iv=cboe,
            )
        )
    return Snapshot(
        name,
        chain.quote_time.date(),
        f"{chain.quote_time:%Y-%m-%d %H:%M}",
        levels,
        tuple(expiries),
    )


def load_snapshots() -> list[Snapshot]:
    indices = load_vol_indices(VIX_DIR)
    out = []
    for path in sorted(CHAINS.glob("spx_cboe_*.csv*")):
        chain = load_chain(path)
        snap = sample(path.name, chain, indices.levels_at(chain.quote_time))
        if snap.expiries:
            out.append(snap)
    return out


def model(snap: Snapshot, params: SurfaceParams) -> list[NDArray[np.float64]]:
    return [smile_iv(e.log_moneyness, e.clock, snap.levels, params) for e in snap.expiries]


def with_vector(base: SurfaceParams, x: Sequence[float] | NDArray[np.float64]) -> SurfaceParams:
    return dataclasses.replace(base, **dict(zip(FITTED, (float(v) for v in x), strict=True)))


def fit(snaps: Sequence[Snapshot], start: SurfaceParams) -> SurfaceParams:
    """Least squares on mid IVs, each snapshot weighted equally."""
    weights = [1.0 / math.sqrt(s.points) for s in snaps]

    def residuals(x: NDArray[np.float64]) -> NDArray[np.float64]:
        params = with_vector(start, x)
        parts = []
        for snap, weight in zip(snaps, weights, strict=True):
            for e, iv in zip(snap.expiries, model(snap, params), strict=True):
                parts.append((iv - e.mid_iv) * weight)
        return np.concatenate(parts)

    x0 = np.array([getattr(start, n) for n in FITTED])
    lo = np.array([BOUNDS[n][0] for n in FITTED])
    hi = np.array([BOUNDS[n][1] for n in FITTED])
    result = least_squares(residuals, np.clip(x0, lo, hi), bounds=(lo, hi))
    return with_vector(start, result.x)


def evaluate(snap: Snapshot, params: SurfaceParams) -> tuple[Errors, Errors]:
    ivs = model(snap, params)
    mid = np.concatenate([iv - e.mid_iv for e, iv in zip(snap.expiries, ivs, strict=True)])
    cboe = np.concatenate([iv - e.cboe_iv for e, iv in zip(snap.expiries, ivs, strict=True)])
    return errors(cboe), errors(mid)


def literal(params: SurfaceParams) -> str:
    lines = [f"    {n}={getattr(params, n)!r}," for n in FITTED]
    rounded = [
        line.split("=")[0] + f"={float(line.split('=')[1].rstrip(',')):.4g}," for line in lines
    ]
    return "SurfaceParams(\n" + "\n".join(rounded) + "\n)"


def pair(e: Errors) -> list[float] | None:
    return [round(e.median, 4), round(e.p95, 4)] if e.n else None


def fmt(e: Errors) -> str:
    return f"{e.median:7.4f} {e.p95:7.4f}" if e.n else "    n/a     n/a"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--fit", action="store_true", help="re-fit and print the constants")
    parser.add_argument(
        "--loo", action="store_true", help="also refit leaving out each day (minutes)"
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    snaps = load_snapshots()
    params = CALIBRATED
    if args.fit:
        params = fit(snaps, CALIBRATED)
        print("Fitted constants (paste into core/surface.py CALIBRATED):")
        print(literal(params))
        print()

    loo: dict[str, tuple[tuple[Errors, Errors], list[NDArray[np.float64]]]] = {}
    if args.loo:
        for day in sorted({s.day for s in snaps}):
            train = [s for s in snaps if s.day != day]
            held_params = fit(train, params)
            for s in snaps:
                if s.day == day:
                    diffs = [
                        iv - e.mid_iv
                        for e, iv in zip(s.expiries, model(s, held_params), strict=True)
                    ]
                    loo[s.name] = (evaluate(s, held_params), diffs)

    header = (
        f"{'snapshot':44} {'quotes at':16} {'VIX9D':>6} {'VIX':>6} {'VIX3M':>6} {'SKEW':>6} "
        f"{'n':>5} | {'vs Cboe IV':^15} | {'vs mid IV':^15} | {'LOO vs Cboe':^15} | "
        f"{'LOO vs mid':^15}"
    )
    print("|model IV - reference IV|, OTM, bid >= 0.50, 0-45 days; median and p95 per snapshot")
    print(header)
    print(" " * 96 + "|   med     p95  " * 4)
    rows = []
    all_cboe: list[NDArray[np.float64]] = []
    all_mid: list[NDArray[np.float64]] = []
    for s in snaps:
        cboe, mid = evaluate(s, params)
        ivs = model(s, params)
        all_cboe += [iv - e.cboe_iv for e, iv in zip(s.expiries, ivs, strict=True)]
        all_mid += [iv - e.mid_iv for e, iv in zip(s.expiries, ivs, strict=True)]
        held = loo[s.name][0] if s.name in loo else None
        lv = s.levels
        print(
            f"{s.name:44} {s.quote_time:16} {lv.vix9d:6.2f} {lv.vix:6.2f} {lv.vix3m:6.2f} "
            f"{lv.skew:6.1f} {mid.n:5} | {fmt(cboe)} | {fmt(mid)} | "
            f"{fmt(held[0]) if held else '':15} | {fmt(held[1]) if held else '':15}"
            + (f"  ({CBOE_IV_NOTES[s.name]})" if s.name in CBOE_IV_NOTES else "")
        )
        rows.append(
            {
                "snapshot": s.name,
                "quote_time": s.quote_time,
                "n": mid.n,
                "vs_cboe": pair(cboe),
                "vs_mid": pair(mid),
                "loo_vs_cboe": pair(held[0]) if held else None,
                "loo_vs_mid": pair(held[1]) if held else None,
            }
        )
    total_cboe = errors(np.concatenate(all_cboe))
    total_mid = errors(np.concatenate(all_mid))
    totals = f"{fmt(total_cboe)} | {fmt(total_mid)} |"
    total_loo = errors(np.concatenate([d for _, ds in loo.values() for d in ds])) if loo else None
    if total_loo:
        totals += f" {'':15} | {fmt(total_loo)}"
    print(f"{'all points':44} {'':16} {'':27} {total_mid.n:5} | {totals}")
    summary = {
        "bench": "surface_calibration",
        "params": {n: round(getattr(params, n), 4) for n in FITTED},
        "min_bid": MIN_BID,
        "dte_range": list(DTE_RANGE),
        "all_vs_cboe": pair(total_cboe),
        "all_vs_mid": pair(total_mid),
        "all_loo_vs_mid": pair(total_loo) if total_loo else None,
        "snapshots": rows,
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
