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
    MANUAL = "manual"  # an admin stood the track aside (/skip)


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
        profit_target_pct: Close when this share of the credit is captured (50 = half); None:
            no profit target, hold to settlement.
        profit_target_debit: Debit to close at which the profit target is hit (None likewise).
        time_exit_at: When the time rule closes the position (None: held to settlement).
        stop_loss_multiple: Close when the loss reaches this multiple of the credit.
        stop_debit: Debit to close at which the stop is hit.
        time_exit: The time rule, in words ("close at 21 days to expiry").
    """

    profit_target_pct: int | None
    profit_target_debit: Decimal | None
    stop_loss_multiple: Decimal
    stop_debit: Decimal
    time_exit: str
    time_exit_at: datetime | None = None


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


class Wing(StrEnum):
    """Which wing of a condor the index is pressing on."""

    PUT = "put"
    CALL = "call"


class Instrument(StrEnum):
    """What a hedge or management action trades."""

    VIX_CALL_SPREAD = "VIX call spread"
    VIX_CALL = "VIX call"
    VX_FUTURE = "VX future"
    VXM_FUTURE = "VXM future"
    MIDTERM_VIX_CALL_SPREAD = "mid-term VIX call spread"
    SPX_CALL_DEBIT_SPREAD = "SPX call debit spread"
    SPX_CONVERSION = "SPX conversion"
    SPX_REVERSAL = "SPX reversal"
    CLOSE = "close"
    ROLL = "roll"
    ROLL_UNTESTED = "roll untested side"
    HOLD = "hold"


class ExitRule(StrEnum):
    """The layer-3 rule that closed a position."""

    STOP = "stop"
    BREACH = "breach"
    TIME = "time"
    PROFIT_TARGET = "profit_target"
    WING_CLOSED = "wing_closed"  # one wing bought back on the engine's advice; the other stays


@dataclass(frozen=True, slots=True, kw_only=True)
class TriggerReading:
    """One hedge trigger as evaluated at one bar.

    Attributes:
        name: e.g. "RSI(14) 5-min SPX".
        value: The indicator's value, or None when it could not be computed.
        threshold: The rule it is compared with, in words ("<= 40").
        fired: Whether it argues for hedging; None when unavailable.
        note: Why it is unavailable, or what it rests on (e.g. "prior days' A/D line").
    """

    name: str
    value: float | None
    threshold: str
    fired: bool | None
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionMark:
    """An open condor marked to market at one bar (per contract unless said otherwise).

    Attributes:
        value_points: What it costs to close at mid, in index points.
        pnl_usd: Credit received minus the cost to close at mid, times 100, for all contracts.
        delta_usd_per_point: Dollar P&L per 1 SPX point, all contracts.
        gamma_usd_per_point: Change of that delta per SPX point, all contracts.
        theta_usd_per_day: Dollar decay per calendar day, all contracts.
        vega_usd_per_vol_point: Dollar P&L per 1 vol point, all contracts.
        put_distance_points: Spot minus the short put strike.
        call_distance_points: Short call strike minus spot.
        put_distance_em: That distance in units of the remaining expected move.
        call_distance_em: Likewise for the call.
        expected_move_points: Remaining one-standard-deviation move to settlement.
    """

    spot: float
    t_years: float
    value_points: float
    pnl_usd: float
    delta_usd_per_point: float
    gamma_usd_per_point: float
    theta_usd_per_day: float
    vega_usd_per_vol_point: float
    put_distance_points: float
    call_distance_points: float
    put_distance_em: float
    call_distance_em: float
    expected_move_points: float


@dataclass(frozen=True, slots=True, kw_only=True)
class HedgeAction:
    """One way to answer a tested condor, priced so it can be compared with the others.

    Attributes:
        instrument: What is traded.
        layer: 1 (short-dated hedge), 2 (mid-term / parity), 3 (systematic rules).
        description: The order in words ("buy 6 VIX Mar-22 20/25 call spreads at 1.15").
        contracts: How many (0 for actions that only close or hold).
        cost_usd: Premium or debit paid now (negative for a credit), all contracts.
        expected_cost_usd: Expected cost to the position: what is paid now minus what it is
            expected to return (decay, basis), plus the bid/ask given up.
        annualised_cost_pct: `expected_cost_usd` as an annual rate on the buying power held.
        hedge_ratio: Share of the condor's dollar delta offset, at the low, middle and high of
            the SPX-to-VIX sensitivity range (None for actions that are not hedges).
        recommended: True for the one action the engine recommends.
        feasible: False when the action is priced for comparison but not sensible to take
            (a hedge whose premium exceeds what it protects); never recommended.
        notes: Assumptions, basis risk, what is modelled.
    """

    instrument: Instrument
    layer: int
    description: str
    contracts: int
    cost_usd: Decimal
    expected_cost_usd: Decimal
    annualised_cost_pct: float
    hedge_ratio: tuple[float, float, float] | None = None
    recommended: bool = False
    feasible: bool = True
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class HedgeAlert:
    """The hedge engine's answer to a tested condor: triggers, priced choices, a recommendation."""

    alert_id: str
    signal_id: str
    asof: datetime
    side_tested: Wing
    position: PositionMark
    triggers: tuple[TriggerReading, ...]
    actions: tuple[HedgeAction, ...]
    rationale: str
    data: DataStamp
    rule_version: str

    def __post_init__(self) -> None:
        recommended = [a for a in self.actions if a.recommended]
        if len(recommended) != 1:
            raise ValueError(f"exactly one action must be recommended, were {len(recommended)}")

    @property
    def recommended(self) -> HedgeAction:
        """The action the engine recommends."""
        return next(a for a in self.actions if a.recommended)


@dataclass(frozen=True, slots=True, kw_only=True)
class NoHedge:
    """An explicit "no hedge, because ..." when the data cannot support a hedge decision."""

    alert_id: str
    signal_id: str
    asof: datetime
    reasons: tuple[str, ...]
    data: DataStamp
    rule_version: str

    def __post_init__(self) -> None:
        if not self.reasons:
            raise ValueError("a NoHedge must carry at least one reason, had none")


@dataclass(frozen=True, slots=True, kw_only=True)
class ExitAlert:
    """A layer-3 rule fired: close the position, once."""

    alert_id: str
    signal_id: str
    asof: datetime
    rule: ExitRule
    detail: str
    debit_to_close: Decimal
    pnl_usd: Decimal
    data: DataStamp
    rule_version: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DailyResult:
    """How a condor did against the day's settlement, with and without the engine's hedges."""

    result_id: str
    signal_id: str
    asof: datetime
    settlement_price: Decimal
    exit_rule: ExitRule | None
    pnl_usd_unhedged: Decimal
    hedge_pnl_usd: Decimal
    pnl_usd_hedged: Decimal
    pnl_usd_managed: Decimal
    detail: str
    data: DataStamp
    rule_version: str


#: Every event the bot can emit.
Event = CondorSignal | NoTradeDay | HedgeAlert | NoHedge | ExitAlert | DailyResult
