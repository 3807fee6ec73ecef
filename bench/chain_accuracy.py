"""How close our chain IVs and deltas come to Cboe's own, on every shipped Cboe snapshot.

For each Cboe snapshot that carries Cboe's IV and delta, compare our Black-76 IV (parity
forward, mid prices, time to the real settlement moment) and spot delta with Cboe's, on
out-of-the-money options with a bid of at least 0.50 and 1 to 90 calendar days to expiry (Cboe's
0 IV and 0 / +-1 delta placeholders excluded). Targets: median |IV error| <= 0.001 and
p95 <= 0.003; median |delta error| <= 0.005 and p95 <= 0.015.

Cboe recomputes its IVs on its own clock, which is not always when the quotes were made: some
downloads carry IVs computed a day or three after the quotes froze (weekend and holiday
downloads), which inflates Cboe's short-dated IVs. The right half of the table re-runs each
snapshot with time measured from "Cboe's clock": the single shift of the quote time that best
explains Cboe's IVs, fitted per file on total variance (Black-76 prices depend on iv**2 * t, so
a shift turns our iv into iv * sqrt(t / (t - shift))). No clock can fix a file whose Cboe call
and put IVs disagree at the same strike; the "C/P gap" column (median |Cboe call IV - Cboe put
IV| within 1% of the forward) shows that reference noise.

Run: ``python bench/chain_accuracy.py``. Prints the table, then one JSON line.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.adapters.market_data import cboe_csv  # noqa: E402
from core.chain import OptionChain, OptionQuotes, build_chain  # noqa: E402

CHAINS = ROOT / "data" / "chains"
MIN_BID = 0.50
DTE_RANGE = (1, 90)
TARGETS = {"iv_median": 0.001, "iv_p95": 0.003, "delta_median": 0.005, "delta_p95": 0.015}
SHIFT_GRID_HOURS = np.arange(-96.0, 96.01, 0.25)


@dataclass(frozen=True, slots=True)
class Errors:
    n: int
    iv_median: float
    iv_p95: float
    delta_median: float
    delta_p95: float

    def verdict(self) -> str:
        if self.n == 0:
            return "n/a"
        return "yes" if all(getattr(self, k) <= v for k, v in TARGETS.items()) else "NO"


@dataclass(frozen=True, slots=True)
class Sample:
    iv: NDArray[np.float64]
    cboe_iv: NDArray[np.float64]
    delta: NDArray[np.float64]
    cboe_delta: NDArray[np.float64]
    t_years: NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class FileResult:
    file: str
    quote_time: str
    at_quote_time: Errors
    cboe_call_put_iv_gap: float
    cboe_clock_shift_hours: float
    at_cboe_clock: Errors


def per_row(chain: OptionChain, attribute: str) -> NDArray[np.float64]:
    """Spread one `ExpiryTerms` attribute over the chain's rows."""
    out = np.full(len(chain), np.nan)
    for terms in chain.terms:
        rows = (chain.root == terms.root) & (chain.expiry == np.datetime64(terms.expiry))
        out[rows] = getattr(terms, attribute)
    return out


def sample(chain: OptionChain, quote_day: date | None = None) -> Sample:
    """Select out-of-the-money rows with bid >= 0.50, 1-90 days out, and a Cboe reference.

    Days to expiry count from ``quote_day`` (default: the chain's quote date).
    """
    forward = per_row(chain, "forward")
    day = quote_day or chain.quote_time.date()
    dte = (chain.expiry - np.datetime64(day)).astype(int)
    with np.errstate(invalid="ignore"):
        otm = np.where(chain.is_call, chain.strike > forward, chain.strike < forward)
        keep = (
            otm
            & (chain.bid >= MIN_BID)
            & (dte >= DTE_RANGE[0])
            & (dte <= DTE_RANGE[1])
            & (chain.cboe_iv > 0)
            & (np.abs(chain.cboe_delta) > 0)
            & (np.abs(chain.cboe_delta) < 1)
            & np.isfinite(chain.iv)
            & np.isfinite(chain.delta)
        )
    t_years = per_row(chain, "t_years")
    return Sample(
        chain.iv[keep],
        chain.cboe_iv[keep],
        chain.delta[keep],
        chain.cboe_delta[keep],
        t_years[keep],
    )


def errors(s: Sample) -> Errors:
    if s.iv.size == 0:
        return Errors(0, math.nan, math.nan, math.nan, math.nan)
    iv_err = np.abs(s.iv - s.cboe_iv)
    delta_err = np.abs(s.delta - s.cboe_delta)
    return Errors(
        int(s.iv.size),
        float(np.median(iv_err)),
        float(np.percentile(iv_err, 95)),
        float(np.median(delta_err)),
        float(np.percentile(delta_err, 95)),
    )


def cboe_clock_shift(s: Sample) -> float:
    """Return the shift of the quote time (hours, + = later) that best explains Cboe's IVs."""
    best, best_err = 0.0, math.inf
    for hours in SHIFT_GRID_HOURS:
        t_shifted = s.t_years - hours / (365 * 24)
        ok = t_shifted > 0
        if ok.sum() < 0.9 * s.iv.size:
            continue
        shifted_iv = s.iv[ok] * np.sqrt(s.t_years[ok] / t_shifted[ok])
        err = float(np.median(np.abs(shifted_iv - s.cboe_iv[ok])))
        if err < best_err - 1e-7:
            best, best_err = float(hours), err
    return best


def call_put_gap(chain: OptionChain) -> float:
    """Median |Cboe call IV - Cboe put IV| at strikes within 1% of the forward, 1-90 days."""
    gaps: list[float] = []
    quote_day = chain.quote_time.date()
    for terms in chain.terms:
        if not DTE_RANGE[0] <= (terms.expiry - quote_day).days <= DTE_RANGE[1]:
            continue
        sl = chain.expiry_slice(terms.root, terms.expiry)
        rows = (chain.root == terms.root) & (chain.expiry == np.datetime64(terms.expiry))
        near = rows & (np.abs(chain.strike / terms.forward - 1) < 0.01) & (chain.cboe_iv > 0)
        call_iv = dict(
            zip(
                chain.strike[near & chain.is_call], chain.cboe_iv[near & chain.is_call], strict=True
            )
        )
        put_iv = dict(
            zip(
                chain.strike[near & ~chain.is_call],
                chain.cboe_iv[near & ~chain.is_call],
                strict=True,
            )
        )
        gaps += [abs(call_iv[k] - put_iv[k]) for k in sl.strikes if k in call_iv and k in put_iv]
    return float(np.median(gaps)) if gaps else math.nan


def measure(path: Path) -> FileResult | None:
    """Compare one snapshot with Cboe; None when its layout has no Cboe IV and delta."""
    snapshots = cboe_csv.read_snapshots(path)
    if not snapshots[0].has_greeks:
        return None
    chain = cboe_csv.load(path)
    s = sample(chain)
    ours = errors(s)
    shift = cboe_clock_shift(s) if s.iv.size else 0.0
    at_clock = ours
    if shift:
        records = [r for snap in snapshots for r in snap.quotes]
        shifted = build_chain(
            OptionQuotes.from_records(records),
            chain.spot,
            chain.quote_time + timedelta(hours=shift),
            chain.source,
        )
        at_clock = errors(sample(shifted, chain.quote_time.date()))
    return FileResult(
        path.name,
        chain.quote_time.isoformat(),
        ours,
        call_put_gap(chain),
        shift,
        at_clock,
    )


def _cells(e: Errors) -> str:
    return (
        f"{e.n:5d} {e.iv_median:7.4f} {e.iv_p95:7.4f} {e.delta_median:7.4f} "
        f"{e.delta_p95:7.4f} {e.verdict():>3s}"
    )


def _clean(value: object) -> object:
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


def main() -> int:
    head = (
        f"{'file':42s} {'n':>5s} {'iv med':>7s} {'iv p95':>7s} {'d med':>7s} {'d p95':>7s} "
        f"{'ok':>3s} | {'C/P gap':>7s} {'shift h':>7s} {'n':>5s} {'iv med':>7s} {'iv p95':>7s} "
        f"{'d med':>7s} {'d p95':>7s} {'ok':>3s}"
    )
    print(f"{'t from the quote time (production)':^90s}| {'t from Cboe clock (fitted shift)':^60s}")
    print(head)
    print("-" * len(head))
    results: list[FileResult] = []
    for path in sorted(CHAINS.glob("spx_cboe_*")):
        result = measure(path)
        if result is None:
            print(f"{path.name[:42]:42s} skipped: this layout has no Cboe IV or delta")
            continue
        results.append(result)
        print(
            f"{result.file[:42]:42s} {_cells(result.at_quote_time)} | "
            f"{result.cboe_call_put_iv_gap:7.4f} {result.cboe_clock_shift_hours:+7.2f} "
            f"{_cells(result.at_cboe_clock)}"
        )
    measured = [r for r in results if r.at_quote_time.n > 0]
    summary = {
        "targets": TARGETS,
        "filter": {"min_bid": MIN_BID, "dte_days": list(DTE_RANGE), "otm": True},
        "measured_files": len(measured),
        "passing_at_quote_time": sum(r.at_quote_time.verdict() == "yes" for r in measured),
        "passing_at_cboe_clock": sum(r.at_cboe_clock.verdict() == "yes" for r in measured),
        "files": [_clean(asdict(r)) for r in results],
    }
    print(json.dumps(summary, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
