"""A chain's rows as JSON-ready dicts: the `condorbot chain-greeks --json` output.

One dict per option, in the chain's row order (expiry, root, strike, put before call), with keys
``root, expiry, strike, right, bid, ask, iv, delta, gamma, theta_per_day, vega_per_vol_point``.
Values that are NaN (not quoted, not computable) become None, so the output is strict JSON.
Strikes print as listed (4500, not 4500.0); IVs and greeks are rounded to 6 decimals (gamma to
8), far below what a quote can resolve.
"""

from __future__ import annotations

import math

import numpy as np

from core.chain import OptionChain

_GREEK_DECIMALS = 6


def _number(value: float, decimals: int | None = None) -> float | None:
    if not math.isfinite(value):
        return None
    return value if decimals is None else round(value, decimals)


def _strike(value: float) -> float | int:
    return int(value) if value == int(value) else value


def chain_greeks_rows(chain: OptionChain) -> list[dict[str, object]]:
    """Return one JSON-ready dict per option row of ``chain``.

    Keys: ``root``, ``expiry`` (YYYY-MM-DD), ``strike``, ``right`` ("C" or "P"), ``bid``,
    ``ask``, ``iv`` (a fraction), ``delta`` (per point of spot), ``gamma``, ``theta_per_day``,
    ``vega_per_vol_point``; None where a value is NaN.
    """
    expiries = np.datetime_as_string(chain.expiry, unit="D")
    rows: list[dict[str, object]] = []
    for i in range(len(chain)):
        rows.append(
            {
                "root": str(chain.root[i]),
                "expiry": str(expiries[i]),
                "strike": _strike(float(chain.strike[i])),
                "right": "C" if chain.is_call[i] else "P",
                "bid": _number(float(chain.bid[i])),
                "ask": _number(float(chain.ask[i])),
                "iv": _number(float(chain.iv[i]), _GREEK_DECIMALS),
                "delta": _number(float(chain.delta[i]), _GREEK_DECIMALS),
                "gamma": _number(float(chain.gamma[i]), _GREEK_DECIMALS + 2),
                "theta_per_day": _number(float(chain.theta_per_day[i]), _GREEK_DECIMALS),
                "vega_per_vol_point": _number(float(chain.vega_per_vol_point[i]), _GREEK_DECIMALS),
            }
        )
    return rows
