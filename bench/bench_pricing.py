"""Time core.pricing against a per-row vollib loop on the full 2024-01-05 Cboe SPX snapshot.

Both sides of every strike row are priced: implied volatility of the mid, then delta, gamma,
theta, vega and rho at that volatility. Ours is one vectorised call each (best of a few runs);
vollib is a Python loop calling ``implied_volatility`` and the five analytical greeks per row.

Inputs are simplified on purpose, since this measures the pricer and not the market: a flat
rate of 5% and dividend yield of 1.3% (continuous), and time from the 16:00 ET close on
2024-01-05 to 16:00 ET on expiry for SPXW (PM-settled) and 09:30 ET for SPX (AM-settled).

The CSV is read with a tiny local parser so this bench does not depend on the market-data
adapter. Last line printed: one JSON object.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray
from vollib.black_scholes_merton.greeks import analytical as vollib_greeks
from vollib.black_scholes_merton.implied_volatility import implied_volatility as vollib_iv

from core.pricing import IVReason, bsm_greeks, bsm_implied_vol

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = "spx_cboe_2024-01-05_close.csv"
CANDIDATES = (
    ROOT / "data" / "chains" / SNAPSHOT,
    ROOT / "data" / "chains" / f"{SNAPSHOT}.gz",
    ROOT.parent / "shared" / "data" / "chains" / SNAPSHOT,
    ROOT.parent / "shared" / "data" / "chains" / f"{SNAPSHOT}.gz",
)
NEW_YORK = ZoneInfo("America/New_York")
QUOTE_TIME = datetime(2024, 1, 5, 16, 0, tzinfo=NEW_YORK)
RATE = 0.05  # flat, continuously compounded: a bench input, not a market estimate
DIV_YIELD = 0.013  # flat S&P 500 dividend yield, continuously compounded
SECONDS_PER_YEAR = 365.0 * 24.0 * 3600.0
REPEATS = 5
GREEKS = ("delta", "gamma", "theta_per_day", "vega_per_vol_point", "rho")
ROOT_SYMBOL = re.compile(r"^([A-Z]+)\d{6}[CP]")


@dataclass(frozen=True, slots=True)
class Rows:
    spot: float
    is_call: NDArray[np.bool_]
    strike: NDArray[np.float64]
    t_years: NDArray[np.float64]
    bid: NDArray[np.float64]
    mid: NDArray[np.float64]


def find_snapshot() -> Path:
    for path in CANDIDATES:
        if path.exists():
            return path
    raise FileNotFoundError(f"snapshot not found; looked in {[str(p) for p in CANDIDATES]}")


def read_lines(path: Path) -> Iterator[list[str]]:
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    yield from csv.reader(io.StringIO(raw.decode("utf-8")))


def expiry_time(symbol: str, expiry: date) -> datetime:
    match = ROOT_SYMBOL.match(symbol)
    if match is None:
        raise ValueError(f"option symbol must look like SPXW240105C01200000, was {symbol!r}")
    # SPX (third-Friday monthlies) settle on the opening print; SPXW on the close.
    hour, minute = (9, 30) if match.group(1) == "SPX" else (16, 0)
    return datetime(expiry.year, expiry.month, expiry.day, hour, minute, tzinfo=NEW_YORK)


def years_between(start: datetime, end: datetime) -> float:
    # Through UTC: aware datetimes sharing a tzinfo subtract as wall-clock time.
    return (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() / SECONDS_PER_YEAR


def load_rows(path: Path) -> Rows:
    lines = read_lines(path)
    # Preamble: (a blank line,) "S&P 500 INDEX,Last: 4697.2402,...", a download stamp, the header.
    spot = math.nan
    for fields in lines:
        last = [f for f in fields if f.strip().startswith("Last:")]
        if last:
            spot = float(last[0].split(":", 1)[1])
        if fields and fields[0] == "Expiration Date":
            break
    if not math.isfinite(spot):
        raise ValueError(f"no 'Last:' spot field before the header in {path}")
    is_call: list[bool] = []
    strike: list[float] = []
    t_years: list[float] = []
    bid: list[float] = []
    mid: list[float] = []
    for fields in lines:
        if len(fields) < 17:
            continue
        expiry = datetime.strptime(fields[0], "%a %b %d %Y").replace(tzinfo=NEW_YORK).date()
        k = float(fields[11])
        # Calls in columns 1-5, puts in 12-16: (symbol, bid, ask) per side.
        for call, symbol, b, a in ((True, fields[1], 4, 5), (False, fields[12], 15, 16)):
            quote_bid, quote_ask = float(fields[b]), float(fields[a])
            is_call.append(call)
            strike.append(k)
            t_years.append(years_between(QUOTE_TIME, expiry_time(symbol, expiry)))
            bid.append(quote_bid)
            mid.append(0.5 * (quote_bid + quote_ask))
    return Rows(
        spot=spot,
        is_call=np.array(is_call),
        strike=np.array(strike),
        t_years=np.array(t_years),
        bid=np.array(bid),
        mid=np.array(mid),
    )


def run_ours(rows: Rows) -> dict[str, NDArray[np.float64]]:
    solved = bsm_implied_vol(
        rows.mid, rows.is_call, rows.spot, rows.strike, rows.t_years, RATE, DIV_YIELD, bid=rows.bid
    )
    greeks = bsm_greeks(
        rows.is_call, rows.spot, rows.strike, rows.t_years, RATE, DIV_YIELD, solved.iv
    )
    out = {name: getattr(greeks, name) for name in GREEKS}
    out["iv"] = solved.iv
    out["reason"] = solved.reason.astype(np.float64)
    return out


def run_vollib(rows: Rows) -> tuple[dict[str, NDArray[np.float64]], int]:
    n = rows.mid.size
    out = {name: np.full(n, np.nan) for name in ("iv", *GREEKS)}
    functions: dict[str, Callable[..., float]] = {
        "delta": vollib_greeks.delta,
        "gamma": vollib_greeks.gamma,
        "theta_per_day": vollib_greeks.theta,
        "vega_per_vol_point": vollib_greeks.vega,
        "rho": vollib_greeks.rho,
    }
    raised = 0
    spot = rows.spot
    for i in range(n):  # the per-row loop we are measuring against
        flag = "c" if rows.is_call[i] else "p"
        k, t, price = float(rows.strike[i]), float(rows.t_years[i]), float(rows.mid[i])
        try:
            iv = vollib_iv(price, spot, k, t, RATE, DIV_YIELD, flag)
            out["iv"][i] = iv
            for name, function in functions.items():
                out[name][i] = function(flag, spot, k, t, RATE, iv, DIV_YIELD)
        except Exception:  # vollib raises its own exceptions, and ZeroDivisionError at t = 0
            raised += 1
    return out, raised


def best_ms(run: Callable[[], object], repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best * 1000.0


def main() -> None:
    path = find_snapshot()
    rows = load_rows(path)
    n = rows.mid.size
    ours = run_ours(rows)
    ours_ms = best_ms(lambda: run_ours(rows), REPEATS)
    start = time.perf_counter()
    theirs, raised = run_vollib(rows)
    vollib_ms = (time.perf_counter() - start) * 1000.0

    both = np.isfinite(ours["iv"]) & np.isfinite(theirs["iv"])
    diffs = {name: np.abs(ours[name][both] - theirs[name][both]) for name in ("iv", *GREEKS)}
    max_abs_diff = max(float(d.max(initial=0.0)) for d in diffs.values())
    worst = max(diffs, key=lambda name: float(diffs[name].max(initial=0.0)))
    reasons = np.bincount(ours["reason"].astype(np.int64), minlength=len(IVReason))

    print(f"snapshot: {path} (spot {rows.spot}, {n} option rows, both sides)")
    print(f"inputs: rate {RATE}, dividend yield {DIV_YIELD} (flat), mid prices")
    print("ours, by reason: " + ", ".join(f"{r.name} {reasons[r]}" for r in IVReason))
    print(f"vollib raised on {raised} rows; both produced a value on {int(both.sum())} rows")
    for name, d in diffs.items():
        print(f"  max |ours - vollib| {name:>18}: {float(d.max(initial=0.0)):.3e}")
    print(f"ours   {ours_ms:9.2f} ms  (IV + greeks, vectorised, best of {REPEATS})")
    print(f"vollib {vollib_ms:9.2f} ms  (IV + 5 greeks, per-row loop)")
    print(f"ratio  {vollib_ms / ours_ms:9.1f}x; worst field: {worst}")
    print(
        json.dumps(
            {
                "bench": "pricing",
                "rows": n,
                "ours_ms": round(ours_ms, 3),
                "vollib_ms": round(vollib_ms, 3),
                "ratio": round(vollib_ms / ours_ms, 1),
                "max_abs_diff": max_abs_diff,
            }
        )
    )


if __name__ == "__main__":
    main()
