"""The payoff chart of a condor at expiry, as PNG bytes (matplotlib, Agg, no pyplot state).

The curve is the textbook iron-condor payoff (Hull, Options, Futures and Other Derivatives,
ch. 12: combinations of spreads): the credit kept between the short strikes, falling one for
one beyond them to the maximum loss at the long strikes. Marked on it: the break-evens, the
short strikes, spot when the signal was made, and the expected-move band around spot.
"""

from __future__ import annotations

import io
from decimal import Decimal

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import NDArray

from core.types import CondorSignal

#: Dollars per SPX index point per contract.
MULTIPLIER = 100


def pnl_at_expiry_usd(signal: CondorSignal, price: float) -> float:
    """Return the condor's P&L per contract in USD if SPX settles at `price` (mid credit)."""
    return float(_pnl(signal, np.array([price], dtype=np.float64))[0])


def _pnl(signal: CondorSignal, prices: NDArray[np.float64]) -> NDArray[np.float64]:
    lp, sp, sc, lc = (float(leg.strike) for leg in signal.legs)
    put_spread = np.clip(sp - prices, 0.0, sp - lp)
    call_spread = np.clip(prices - sc, 0.0, lc - sc)
    result: NDArray[np.float64] = (float(signal.credit_mid) - put_spread - call_spread) * MULTIPLIER
    return result


def render_payoff_png(signal: CondorSignal, *, price: float | None = None) -> bytes:
    """Draw the payoff at expiry as a PNG.

    Args:
        signal: The condor.
        price: A settlement price to mark (the `/whatif` price); None marks nothing extra.

    Returns:
        The PNG file's bytes (about 40 KB, 800 x 450 pixels).
    """
    lp, sp, sc, lc = (float(leg.strike) for leg in signal.legs)
    spot = float(signal.spot)
    move = float(signal.expected_move_points)
    low = min(lp, spot - move) - (sp - lp) * 0.6
    high = max(lc, spot + move) + (lc - sc) * 0.6
    if price is not None:
        low, high = min(low, price - 5.0), max(high, price + 5.0)
    prices = np.linspace(low, high, 600)
    pnl = _pnl(signal, prices)

    figure = Figure(figsize=(8, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.axvspan(spot - move, spot + move, color="tab:blue", alpha=0.08, label="expected move")
    axes.plot(prices, pnl, color="black", linewidth=1.8, label="P&L at expiry")
    axes.fill_between(prices, pnl, 0.0, where=pnl >= 0, color="tab:green", alpha=0.25)
    axes.fill_between(prices, pnl, 0.0, where=pnl < 0, color="tab:red", alpha=0.25)
    axes.axhline(0.0, color="grey", linewidth=0.8)
    for strike in (sp, sc):
        axes.axvline(strike, color="tab:orange", linestyle="--", linewidth=1)
    axes.axvline(spot, color="tab:blue", linewidth=1.2, label=f"spot {spot:,.2f}")
    for be in (float(signal.break_even_low), float(signal.break_even_high)):
        axes.plot([be], [0.0], marker="o", color="black")
        axes.annotate(
            f"{be:,.2f}",
            (be, 0.0),
            textcoords="offset points",
            xytext=(0, 8),
            ha="center",
            fontsize=8,
        )
    if price is not None:
        value = pnl_at_expiry_usd(signal, price)
        axes.plot([price], [value], marker="D", color="tab:purple", label=f"at {price:,.2f}")
    axes.set_title(
        f"SPX iron condor {lp:g}/{sp:g}/{sc:g}/{lc:g}, expiry {signal.expiry:%Y-%m-%d}",
        fontsize=10,
    )
    axes.set_xlabel("SPX at expiry")
    axes.set_ylabel("P&L per contract (USD)")
    axes.legend(loc="lower center", fontsize=8)
    axes.grid(alpha=0.3)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def credit_usd(signal: CondorSignal) -> Decimal:
    """Return the mid credit per contract in USD."""
    return signal.credit_mid * MULTIPLIER
