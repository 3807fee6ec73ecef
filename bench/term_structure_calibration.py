"""How well VIX3M and VIX9D are predicted from VIX and VIX6M, where all of them are shipped.

VIX9D starts 2011-01-04 and VIX3M 2009-09-18; VIX and VIX6M (from 2008-01-02) reach further
back. `core.vix.modelled_vix3m` and `core.vix.modelled_vix9d` fill the gap for the opt-in
``condorbot backtest --model-term-structure`` (labelled as modelled on every card):

* ``ln VIX3M = a + b ln VIX + c ln VIX6M``;
* ``ln(VIX9D / VIX) = a + beta ln(VIX / VIX3M)``.

This fits both by least squares on the shipped daily closes, once on every overlapping day
(the constants shipped) and once on the days up to 2018 only, tested on 2019 on (out of
sample), and prints the errors (log points, about a fraction) and the openings' errors when the
model is given the day's VIX open and the previous VIX6M close, as the backtest does.

Run: ``python bench/term_structure_calibration.py``. Prints a table, then one JSON line.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.adapters.market_data.index_history import (  # noqa: E402
    IndexHistory,
    load_index_history,
    load_vol_indices,
)
from core.vix import VIX3M_MODEL, VIX9D_MODEL, modelled_vix3m, modelled_vix9d  # noqa: E402

VIX_DIR = ROOT / "data" / "vix"
SPLIT = date(2018, 12, 31)


def _closes(series: IndexHistory, days: list[date]) -> NDArray[np.float64]:
    return np.array([series.close_on(d) for d in days])


def _fit(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    design = np.column_stack([np.ones(len(y)), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return np.asarray(coef, dtype=np.float64)


def _errors(error: NDArray[np.float64]) -> dict[str, float]:
    return {
        "bias": round(float(np.mean(error)), 4),
        "sd": round(float(np.std(error)), 4),
        "p95_abs": round(float(np.percentile(np.abs(error), 95)), 4),
    }


def main() -> None:
    indices = load_vol_indices(VIX_DIR)
    vix6m = load_index_history(VIX_DIR / "VIX6M_History.csv.gz", name="VIX6M")
    vix, vix9d, vix3m = indices.vix, indices.vix9d, indices.vix3m

    days3 = [d for d in vix3m.dates if d in vix and d in vix6m]
    v, v6, v3 = _closes(vix, days3), _closes(vix6m, days3), _closes(vix3m, days3)
    x3 = np.column_stack([np.log(v), np.log(v6)])
    early3 = np.array([d <= SPLIT for d in days3])
    fit3 = _fit(x3, np.log(v3))
    fit3_early = _fit(x3[early3], np.log(v3[early3]))
    out3 = np.log(v3[~early3]) - (fit3_early[0] + x3[~early3] @ fit3_early[1:])
    shipped3 = np.log(v3) - np.log(modelled_vix3m(v, v6))

    days9 = [d for d in vix9d.dates if d in vix and d in vix3m]
    w, w9, w3 = _closes(vix, days9), _closes(vix9d, days9), _closes(vix3m, days9)
    x9 = np.log(w / w3)[:, None]
    y9 = np.log(w9 / w)
    early9 = np.array([d <= SPLIT for d in days9])
    fit9 = _fit(x9, y9)
    fit9_early = _fit(x9[early9], y9[early9])
    out9 = y9[~early9] - (fit9_early[0] + x9[~early9] @ fit9_early[1:])
    shipped9 = np.log(w9) - np.log(modelled_vix9d(w, w3))
    r2 = 1.0 - float(np.var(shipped9)) / float(np.var(y9))

    # The openings as the backtest models them: the day's VIX open, the previous VIX6M close.
    opened = [
        (d, p)
        for d, p in zip(days3[1:], days3[:-1], strict=True)
        if vix3m.open_on(d) != vix3m.close_on(d)  # a printed open, not a copied close
    ]
    open_error = np.array(
        [
            np.log(vix3m.open_on(d)) - np.log(modelled_vix3m(vix.open_on(d), vix6m.close_on(p)))
            for d, p in opened
        ]
    )

    result: dict[str, Any] = {
        "bench": "term_structure_calibration",
        "vix3m": {
            "days": len(days3),
            "fit_all": [round(float(c), 4) for c in fit3],
            "shipped": list(VIX3M_MODEL),
            "in_sample": _errors(shipped3),
            "fit_to_2018": [round(float(c), 4) for c in fit3_early],
            "out_of_sample_2019_on": _errors(out3),
            "openings": {"days": len(opened), **_errors(open_error)},
        },
        "vix9d": {
            "days": len(days9),
            "fit_all": [round(float(c), 4) for c in fit9],
            "shipped": list(VIX9D_MODEL),
            "in_sample": _errors(shipped9),
            "r2": round(r2, 3),
            "fit_to_2018": [round(float(c), 4) for c in fit9_early],
            "out_of_sample_2019_on": _errors(out9),
        },
    }
    for name in ("vix3m", "vix9d"):
        block = result[name]
        print(
            f"{name}: {block['days']} days; fit {block['fit_all']} (shipped {block['shipped']}); "
            f"in sample {block['in_sample']}; fitted to 2018, tested 2019 on: "
            f"{block['out_of_sample_2019_on']}"
        )
    print(f"vix3m openings (VIX open, previous VIX6M close): {result['vix3m']['openings']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
