"""The payoff chart of a condor at expiry, as PNG bytes (matplotlib, Agg, no pyplot state).

The curve is the textbook iron-condor payoff (Hull, Options, Futures and Other Derivatives,
ch. 12: combinations of spreads): the credit kept between the short strikes, falling one for
one beyond them to the maximum loss at the long strikes. Marked on it: the break-evens, the
short strikes, spot when the signal was made, and the expected-move band around spot.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import NDArray

from core.types import CondorSignal

#: Dollars per SPX index point per contract.
MULTIPLIER = 100


#: How a delivery's `attachment` names a payoff chart: this prefix, then `Payoff.to_json()`.
PAYOFF_PREFIX = "payoff:"


@dataclass(frozen=True, slots=True, kw_only=True)
class Payoff:
    """What the payoff chart needs of a condor: small enough to travel in an outbox entry.

    Attributes:
        strikes: Long put, short put, short call, long call.
        credit_points: Mid credit.
        spot: SPX when the signal was made.
        expected_move_points: Half-width of the expected-move band.
        break_evens: Low and high break-even.
        expiry: Expiry day.
    """

    strikes: tuple[float, float, float, float]
    credit_points: float
    spot: float
    expected_move_points: float
    break_evens: tuple[float, float]
    expiry: date

    @classmethod
    def of(cls, signal: CondorSignal) -> Payoff:
        """Return the chart's view of `signal`."""
        lp, sp, sc, lc = (float(leg.strike) for leg in signal.legs)
        return cls(
            strikes=(lp, sp, sc, lc),
            credit_points=float(signal.credit_mid),
            spot=float(signal.spot),
            expected_move_points=float(signal.expected_move_points),
            break_evens=(float(signal.break_even_low), float(signal.break_even_high)),
            expiry=signal.expiry,
        )

    def to_json(self) -> str:
        """Return the spec as compact JSON."""
        body = {
            "k": list(self.strikes),
            "c": self.credit_points,
            "s": self.spot,
            "m": self.expected_move_points,
            "b": list(self.break_evens),
            "e": self.expiry.isoformat(),
        }
        return json.dumps(body, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Payoff:
        """Parse `to_json`'s output.

        Raises:
            ValueError: If `text` is not such a spec.
        """
        try:
            body = json.loads(text)
            lp, sp, sc, lc = (float(k) for k in body["k"])
            low, high = (float(b) for b in body["b"])
            return cls(
                strikes=(lp, sp, sc, lc),
                credit_points=float(body["c"]),
                spot=float(body["s"]),
                expected_move_points=float(body["m"]),
                break_evens=(low, high),
                expiry=date.fromisoformat(body["e"]),
            )
        except (KeyError, TypeError, json.JSONDecodeError) as error:
            raise ValueError(f"expected a payoff spec, got {text[:80]!r}: {error}") from None


def pnl_at_expiry_usd(signal: CondorSignal | Payoff, price: float) -> float:
    """Return the condor's P&L per contract in USD if SPX settles at `price` (mid credit)."""
    spec = signal if isinstance(signal, Payoff) else Payoff.of(signal)
    return float(_pnl(spec, np.array([price], dtype=np.float64))[0])


def _pnl(spec: Payoff, prices: NDArray[np.float64]) -> NDArray[np.float64]:
    lp, sp, sc, lc = spec.strikes
    put_spread = np.clip(sp - prices, 0.0, sp - lp)
    call_spread = np.clip(prices - sc, 0.0, lc - sc)
    result: NDArray[np.float64] = (spec.credit_points - put_spread - call_spread) * MULTIPLIER
    return result


def render_payoff_png(signal: CondorSignal | Payoff, *, price: float | None = None) -> bytes:
    """Draw the payoff at expiry as a PNG.

    Args:
        signal: The condor.
        price: A settlement price to mark (the `/whatif` price); None marks nothing extra.

    Returns:
        The PNG file's bytes (about 40 KB, 800 x 450 pixels).
    """
    spec = signal if isinstance(signal, Payoff) else Payoff.of(signal)
    lp, sp, sc, lc = spec.strikes
    spot = spec.spot
    move = spec.expected_move_points
    low = min(lp, spot - move) - (sp - lp) * 0.6
    high = max(lc, spot + move) + (lc - sc) * 0.6
    if price is not None:
        low, high = min(low, price - 5.0), max(high, price + 5.0)
    prices = np.linspace(low, high, 600)
    pnl = _pnl(spec, prices)

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
    for be in spec.break_evens:
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
        value = pnl_at_expiry_usd(spec, price)
        axes.plot([price], [value], marker="D", color="tab:purple", label=f"at {price:,.2f}")
    axes.set_title(
        f"SPX iron condor {lp:g}/{sp:g}/{sc:g}/{lc:g}, expiry {spec.expiry:%Y-%m-%d}",
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
