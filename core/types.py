"""The domain vocabulary: enums and frozen dataclasses shared by every layer.

Prices and strikes carried by events are `Decimal` at the tick; floats stay inside the maths.
An emitted event is never mutated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

#: Dollars per SPX index point on one contract.
SPX_MULTIPLIER = Decimal(100)


class Right(StrEnum):
    """Option right, as printed in OCC symbols."""

    CALL = "C"
    PUT = "P"


class Side(StrEnum):
    """Whether a leg is bought or sold to open."""

    BUY = "BUY"
    SELL = "SELL"


class Track(StrEnum):
    """A signal track: which expiry the condor is opened on."""

    ZERO_DTE = "0dte"
    ONE_DTE = "1dte"
    DTE_45 = "45dte"


class Risk(StrEnum):
    """A risk level within a track: how close to the money the short strikes sit."""

    CONSERVATIVE = "conservative"
    BALANCED = "balanced"
    AGGRESSIVE = "aggressive"


class Settlement(StrEnum):
    """How an expiry settles: AM on the opening print (SPX monthlies) or PM on the close (SPXW)."""

    AM = "AM"
    PM = "PM"


class NoTradeCode(StrEnum):
    """Why no condor is offered for a track today."""

    NO_EXPIRY = "no_expiry"
    CREDIT_TOO_LOW = "credit_too_low"
    MARKET_TOO_WIDE = "market_too_wide"
    EVENT_DAY = "event_day"
    BAD_DATA = "bad_data"
    STALE_DATA = "stale_data"
    NO_STRIKES = "no_strikes"


@dataclass(frozen=True, slots=True, kw_only=True)
class DataStamp:
    """Where the numbers on a card came from and when they were true.

    Attributes:
        quote_time: When the quotes were current (timezone-aware).
        source: Human-readable source, e.g. "Cboe delayed quotes CSV spx_cboe_2024-01-05_close.csv".
        modelled: Inputs that were modelled rather than observed; every card that uses one shows it.
    """

    quote_time: datetime
    source: str
    modelled: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.quote_time.tzinfo is None:
            raise ValueError(f"quote_time must be timezone-aware, was {self.quote_time!r}")
        if not self.source:
            raise ValueError("source must name where the data came from, was empty")


@dataclass(frozen=True, slots=True, kw_only=True)
class Leg:
    """One option of a multi-leg order, quoted at signal time."""

    right: Right
    side: Side
    strike: Decimal
    expiry: date
    bid: Decimal
    ask: Decimal
    delta: float
    iv: float

    def __post_init__(self) -> None:
        if self.strike <= 0:
            raise ValueError(f"strike must be positive, was {self.strike}")
        if self.bid < 0 or self.ask < self.bid:
            raise ValueError(f"quote must satisfy 0 <= bid <= ask, was {self.bid}/{self.ask}")

    @property
    def mid(self) -> Decimal:
        """Midpoint of bid and ask."""
        return (self.bid + self.ask) / 2


@dataclass(frozen=True, slots=True, kw_only=True)
class ManagementPlan:
    """How the position is managed once filled, in prices a trader can set as orders.

    Attributes:
        profit_target_pct: Close when this share of the credit is captured (50 = half).
        profit_target_debit: Debit to close at which the profit target is hit.
        stop_loss_multiple: Close when the loss reaches this multiple of the credit.
        stop_debit: Debit to close at which the stop is hit.
        time_exit: The time rule, in words ("close at 21 days to expiry").
    """

    profit_target_pct: int
    profit_target_debit: Decimal
    stop_loss_multiple: Decimal
    stop_debit: Decimal
    time_exit: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CondorSignal:
    """A recommended short iron condor for one track and risk level.

    Legs are ordered long put, short put, short call, long call (strictly increasing strikes).
    Credit, widths and break-evens are in index points per share; `*_usd` fields are dollars per
    contract (times the 100 multiplier).
    """

    signal_id: str
    track: Track
    risk: Risk
    root: str
    expiry: date
    settlement: Settlement
    settles_at: datetime
    dte_days: int
    t_years: float
    legs: tuple[Leg, Leg, Leg, Leg]
    spot: Decimal
    forward: Decimal
    credit_mid: Decimal
    credit_natural: Decimal
    limit_price: Decimal
    put_width_points: Decimal
    call_width_points: Decimal
    max_profit_usd: Decimal
    max_loss_usd: Decimal
    break_even_low: Decimal
    break_even_high: Decimal
    pop: float
    expected_move_points: Decimal
    expected_move_iv_points: Decimal
    management: ManagementPlan
    data: DataStamp
    rule_version: str
    asof: datetime

    def __post_init__(self) -> None:
        strikes = [leg.strike for leg in self.legs]
        if strikes != sorted(strikes) or len(set(strikes)) != len(strikes):
            raise ValueError(f"legs must have strictly increasing strikes, were {strikes}")
        expected = (
            (Right.PUT, Right.PUT, Right.CALL, Right.CALL),
            (
                Side.BUY,
                Side.SELL,
                Side.SELL,
                Side.BUY,
            ),
        )
        got = tuple(leg.right for leg in self.legs), tuple(leg.side for leg in self.legs)
        if got != expected:
            raise ValueError(f"legs must be long put, short put, short call, long call; were {got}")
        if not 0 < self.credit_mid < self.width_points:
            raise ValueError(
                f"credit must satisfy 0 < credit < width, was {self.credit_mid} "
                f"with width {self.width_points}"
            )
        if not 0.0 <= self.pop <= 1.0:
            raise ValueError(f"pop must be a probability in [0, 1], was {self.pop}")

    @property
    def short_put(self) -> Leg:
        """The short put leg."""
        return self.legs[1]

    @property
    def short_call(self) -> Leg:
        """The short call leg."""
        return self.legs[2]

    @property
    def width_points(self) -> Decimal:
        """The wider of the two wings, in index points: what max loss is measured against."""
        return max(self.put_width_points, self.call_width_points)

    @property
    def credit_to_width(self) -> Decimal:
        """Mid credit as a fraction of the wider wing."""
        return self.credit_mid / self.width_points


@dataclass(frozen=True, slots=True, kw_only=True)
class NoTradeReason:
    """One reason a track has no trade today: a stable code and a sentence for people."""

    code: NoTradeCode
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class NoTradeDay:
    """An explicit "no trade today, because ..." for one track and risk level."""

    signal_id: str
    track: Track
    risk: Risk
    reasons: tuple[NoTradeReason, ...]
    data: DataStamp
    rule_version: str
    asof: datetime
    expiry: date | None = None

    def __post_init__(self) -> None:
        if not self.reasons:
            raise ValueError("a NoTradeDay must carry at least one reason, had none")


#: Every event the bot can emit. Hedge, exit and day-result events join this union in later work.
Event = CondorSignal | NoTradeDay
