"""Time `select_condor` for all nine track x risk profiles on the full 2024-01-05 snapshot.

Loading the CSV and computing IV and greeks for every row is timed separately; the target
(under 50 ms for all nine profiles) is for selection after loading. Last line: one JSON object.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from bot.adapters.market_data import load_chain
from core.condor import CondorProfile, select_condor
from core.rules import CondorRules
from core.types import CondorSignal, Risk, Track

CHAINS = Path(__file__).resolve().parent.parent / "data" / "chains"
CHAIN = CHAINS / "spx_cboe_2024-01-05_close.csv.gz"
REPEATS = 20


def main() -> None:
    start = time.perf_counter()
    chain = load_chain(CHAIN)
    load_ms = (time.perf_counter() - start) * 1000
    rules = CondorRules()
    asof = chain.quote_time
    profiles = [CondorProfile.of(rules, track, risk) for track in Track for risk in Risk]
    best_ms = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        events = [select_condor(chain, profile, asof) for profile in profiles]
        best_ms = min(best_ms, (time.perf_counter() - start) * 1000)
    signals = sum(isinstance(event, CondorSignal) for event in events)
    print(f"chain: {CHAIN.name}, {len(chain.strike)} rows")
    print(f"load + IV + greeks: {load_ms:.1f} ms")
    print(
        f"select, 9 profiles: {best_ms:.2f} ms (best of {REPEATS}); {signals} condors, "
        f"{len(events) - signals} no-trade cards"
    )
    result = {
        "bench": "select",
        "profiles": len(profiles),
        "ms": round(best_ms, 3),
        "load_ms": round(load_ms, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
