"""Backtest: the live condor rules and the ALVH engine over a sequence of historical days.

Pure: the day loop takes day inputs that already know how to serve their chain, their market
path and their settlement without looking ahead (the composition root builds them from the
shipped history), runs the very functions the live bot runs (`core.condor.select_condor`,
`core.hedge.OpenCondor`, `core.hedge.step`, `core.hedge.settle`), applies costs, and computes
the statistics with the live track record's own `core.performance.compute_stats`. Nothing here
reads files or the clock.

Three P&L series per trade, all after costs:

* ``held``: the condor held to settlement, nothing managed (no ALVH);
* ``managed``: the rules' layer-3 exits and the wing buy-backs the ALVH engine recommended;
* ``hedged``: ``managed`` plus the P&L of the hedges the ALVH engine recommended (full ALVH).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from core.chain import OptionChain
from core.condor import CondorProfile, select_condor
from core.hedge import (
    BarScreen,
    EngineState,
    HeldHedge,
    MarketState,
    OpenCondor,
    VolIndexLevels,
    screen_bars,
    settle,
    step,
)
from core.performance import Stats, TradeOutcome, compute_stats, trades_per_year
from core.rules import HedgeRules
from core.types import (
    CondorSignal,
    DailyResult,
    DataStamp,
    Event,
    ExitRule,
    NoTradeDay,
    Wing,
)

#: SPX index option multiplier, dollars per point.
SPX_MULTIPLIER_USD = 100.0
#: The P&L series every trade carries.
SERIES = ("held", "managed", "hedged")
#: VIX regimes (entry VIX close or open, index points): label, lower bound, upper bound.
VIX_REGIMES: tuple[tuple[str, float, float], ...] = (
    ("VIX < 15", 0.0, 15.0),
    ("VIX 15-20", 15.0, 20.0),
    ("VIX 20-30", 20.0, 30.0),
    ("VIX >= 30", 30.0, math.inf),
)


class SkipDay(Exception):
    """Raised by a day input whose history is missing or bad: the day is skipped with `reason`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True, kw_only=True)
class Costs:
    """Trading costs, stated as parameters.

    Attributes:
        commission_per_contract_usd: Per option contract per leg, each time a leg is traded
            (entry: 4 legs; an exit before settlement: the open legs again; a wing
            buy-back: 2 legs). Cash settlement is free.
        slippage_short_dated: Fraction of each leg's bid/ask width given up at entry below the
            card's limit price, for expiries up to 1 DTE.
        slippage_long_dated: The same fraction for longer expiries.
        far_otm_extra: Added to the fraction for legs with |delta| below 0.10 (wide, thin quotes).
        hedge_commission_per_contract_usd: Per hedge contract (VIX option or future, SPX spread).
    """

    commission_per_contract_usd: float = 0.65
    slippage_short_dated: float = 0.25
    slippage_long_dated: float = 0.15
    far_otm_extra: float = 0.10
    hedge_commission_per_contract_usd: float = 1.00

    def __post_init__(self) -> None:
        for name in (
            "commission_per_contract_usd",
            "slippage_short_dated",
            "slippage_long_dated",
            "far_otm_extra",
            "hedge_commission_per_contract_usd",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a non-negative number, was {value}")

    def slippage_points(self, signal: CondorSignal, dte_days: int) -> float:
        """Points of credit lost at entry: sum over legs of fraction x (ask - bid)."""
        base = self.slippage_short_dated if dte_days <= 1 else self.slippage_long_dated
        total = 0.0
        for leg in signal.legs:
            fraction = base + (self.far_otm_extra if abs(leg.delta) < 0.10 else 0.0)
            total += fraction * float(leg.ask - leg.bid)
        return total

    def fill_credit(self, signal: CondorSignal, dte_days: int) -> Decimal:
        """The credit filled: the card's limit less slippage, never below the natural credit."""
        filled = float(signal.limit_price) - self.slippage_points(signal, dte_days)
        filled = max(filled, float(signal.credit_natural), 0.0)
        return Decimal(repr(round(filled, 2)))


class MarketPath(Protocol):
    """A stretch of engine inputs: cheap columns for every bar, full market states on demand.

    The columns must agree with the states: ``market(i).asof == asofs[i]``,
    ``market(i).spot == spots[i]``, ``market(i).vol.vix == vix[i]``, and where ``clean[i]``
    the state carries no data issue. `run_day` screens the columns with
    `core.hedge.screen_bars` and builds the full state only where the engine may act.
    """

    @property
    def asofs(self) -> Sequence[datetime]:
        """Bar moments, ascending (aware)."""
        ...

    @property
    def stamps(self) -> NDArray[np.float64]:
        """Each moment as POSIX seconds (``asofs[i].timestamp()``), for the screen's clocks."""
        ...

    @property
    def spots(self) -> NDArray[np.float64]:
        """SPX at each moment (NaN: no bar yet)."""
        ...

    @property
    def vix(self) -> NDArray[np.float64]:
        """VIX at each moment."""
        ...

    @property
    def clean(self) -> NDArray[np.bool_]:
        """Whether the state at each moment is free of data issues (False: not known)."""
        ...

    @property
    def parity_chain(self) -> bool:
        """Whether a state on the path carries a real chain, whose parity scan may add actions.

        The screen cannot price those, so it then steps every bar where a wing is tested.
        """
        ...

    def market(self, index: int) -> MarketState:
        """The full market state at `asofs[index]`."""
        ...


class HistoryDay(Protocol):
    """One historical day as the backtest sees it; each method may raise `SkipDay`."""

    @property
    def day(self) -> date:
        """The trading day."""
        ...

    @property
    def entry(self) -> datetime:
        """When the track's signal is made (aware)."""
        ...

    def chain(self) -> OptionChain:
        """The chain at `entry` (real snapshot or modelled, labelled as such)."""
        ...

    def entry_vix(self) -> float:
        """VIX known at `entry`."""
        ...

    def markets(self, settles_at: datetime) -> Iterable[MarketPath]:
        """What the engine sees at each step after `entry`, up to `settles_at`, in stretches.

        A stretch that cannot be served (missing history) raises `SkipDay` when it is reached,
        not before: a position closed earlier is scored.
        """
        ...

    def settlement(self, signal: CondorSignal) -> tuple[float, VolIndexLevels, DataStamp]:
        """The settlement print, the closing VIX levels, and the data stamp."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Trade:
    """One condor the rules opened, scored three ways after costs (dollars)."""

    day: date
    expiry: date
    signal: CondorSignal
    result: DailyResult
    #: The index value the condor was settled at, as scored (`result` shows it to the cent).
    settlement_price: float
    contracts: int
    fill_credit: Decimal
    entry_vix: float
    modelled_chain: bool
    closed_at: datetime
    exit_rule: ExitRule | None
    wings_closed: int
    hedges_taken: int
    vix_hedges: int
    vix_hedges_on_real_vx: int
    hedge_cost_usd: float
    hedge_payoff_usd: float
    commission_usd: float
    slippage_usd: float
    held_usd: float
    managed_usd: float
    hedged_usd: float
    events: tuple[Event, ...] = field(default=(), repr=False)

    def outcome(self, series: str = "hedged") -> TradeOutcome:
        """The trade as the live track record counts it (`core.performance`), per contract."""
        per_contract = Decimal(repr(self.pnl(series) / self.contracts)).quantize(Decimal("0.01"))
        hedge = (self.hedge_payoff_usd - self.hedge_cost_usd) / self.contracts
        return TradeOutcome(
            track=str(self.signal.track),
            risk=str(self.signal.risk),
            entry_day=self.day,
            closed_at=self.closed_at,
            credit_points=self.signal.credit_mid,
            pnl_usd=per_contract,
            hedge_pnl_usd=Decimal(repr(hedge)).quantize(Decimal("0.01")),
        )

    def pnl(self, series: str) -> float:
        """The trade's P&L in one of `SERIES`."""
        return {"held": self.held_usd, "managed": self.managed_usd, "hedged": self.hedged_usd}[
            series
        ]


@dataclass(frozen=True, slots=True, kw_only=True)
class NoTrade:
    """A day the live rules stood aside (the card's reasons)."""

    day: date
    reasons: tuple[str, ...]
    codes: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Skipped:
    """A day not backtested, and why (missing or bad history, a position still open)."""

    day: date
    reason: str


DayOutcome = Trade | NoTrade | Skipped
#: The reason prefix of a day the engine could not price (reported apart: it biases the tail).
ENGINE_ERROR = "engine error"


def _dte(signal: CondorSignal, day: date) -> int:
    return (signal.expiry - day).days


def _held_cost(state: EngineState, seen: dict[int, HeldHedge]) -> None:
    for hedge in state.held:
        seen.setdefault(id(hedge), hedge)


def _walk(
    path: MarketPath,
    position: OpenCondor,
    state: EngineState,
    rules: HedgeRules,
    hedges: dict[int, HeldHedge],
    events: list[Event] | None,
    screen: bool,
) -> tuple[EngineState, datetime | None]:
    """Step the engine along one stretch; return the state and when the position closed."""
    asofs = path.asofs
    n = len(asofs)
    loud: NDArray[np.intp] = np.empty(0, dtype=np.intp)
    screened: BarScreen | None = None
    screened_from = 0
    screened_for: tuple[tuple[Wing, ...], float] | None = None
    follows = screen and not path.parity_chain
    i = 0
    while i < n:
        if screen and not state.last_no_hedge:
            key = (state.closed, state.realised_points)
            if screened is None or key != screened_for:
                screened = screen_bars(
                    position.with_closed(*key),
                    asofs[i:],
                    path.spots[i:],
                    path.vix[i:],
                    path.clean[i:],
                    rules,
                    stamps=path.stamps[i:],
                )
                loud = np.flatnonzero(~screened.quiet) + i
                screened_from, screened_for = i, key
            ahead = int(np.searchsorted(loud, i))
            if ahead == loud.size:
                break
            i = int(loud[ahead])
            if follows:
                followed = screened.follow(
                    i - screened_from, state, rules, write=events is not None
                )
                if followed is not None:
                    # A call-side alert that repeats the last, or (with no events kept) only
                    # moves its time on: the state `step` would leave, without stepping.
                    state = followed
                    i += 1
                    continue
        market = path.market(i)
        state, new = step(position, state, market, rules, market.asof, write=events is not None)
        _held_cost(state, hedges)
        if events is not None:
            events.extend(new)
        if state.exit_rule is not None or len(state.closed) == 2:
            return state, state.exit_at or market.asof
        i += 1
    return state, None


def run_day(
    source: HistoryDay,
    profile: CondorProfile,
    hedge_rules: HedgeRules,
    costs: Costs,
    *,
    keep_events: bool = False,
    screen: bool = True,
) -> DayOutcome:
    """Run one day: select at entry, step the engine along the path, settle, apply costs.

    The day's inputs serve only what is known at each moment (`HistoryDay`); a `SkipDay`
    raised anywhere skips the day with its reason. With `screen`, bars `core.hedge.screen_bars`
    shows the engine would pass over are not stepped (same decisions, far less work); without
    it every bar is stepped.
    """
    try:
        chain = source.chain()
        event = select_condor(chain, profile, source.entry)
        if isinstance(event, NoTradeDay):
            return NoTrade(
                day=source.day,
                reasons=tuple(r.detail for r in event.reasons),
                codes=tuple(str(r.code) for r in event.reasons),
            )
        signal = event
        dte = _dte(signal, source.day)
        fill = costs.fill_credit(signal, dte)
        entry_vix = source.entry_vix()
        position = OpenCondor.from_signal(
            signal, hedge_rules.contracts, fill_credit=fill, entry_vix=entry_vix
        )
        state = EngineState()
        events: list[Event] = [signal]
        hedges: dict[int, HeldHedge] = {}
        closed_at = signal.settles_at
        for path in source.markets(signal.settles_at):
            state, done_at = _walk(
                path, position, state, hedge_rules, hedges, events if keep_events else None, screen
            )
            if done_at is not None:
                closed_at = done_at
                break
        price, vol, data = source.settlement(signal)
        result = settle(position, state, price, vol, signal.settles_at, data, hedge_rules)
    except SkipDay as skip:
        return Skipped(day=source.day, reason=skip.reason)
    except ValueError as error:
        # The engine refused its inputs (e.g. a VIX term structure it cannot price): the day
        # is reported as skipped, with the engine's own words, never scored silently.
        return Skipped(day=source.day, reason=f"{ENGINE_ERROR}: {error}")
    if keep_events:
        events.append(result)
    n = position.contracts
    entry_commission = 4 * n * costs.commission_per_contract_usd
    exit_legs = 2 * len(state.closed)
    if state.exit_rule is not None:
        exit_legs = 4
    exit_commission = exit_legs * n * costs.commission_per_contract_usd
    hedge_contracts = sum(h.contracts for h in hedges.values())
    hedge_cost = sum(h.cost_usd for h in hedges.values())
    hedge_commission = hedge_contracts * costs.hedge_commission_per_contract_usd
    hedge_pnl = float(result.hedge_pnl_usd)
    slippage = (float(signal.limit_price) - float(fill)) * SPX_MULTIPLIER_USD * n
    return Trade(
        day=source.day,
        expiry=signal.expiry,
        signal=signal,
        result=result,
        settlement_price=price,
        contracts=n,
        fill_credit=fill,
        entry_vix=entry_vix,
        modelled_chain=bool(chain.modelled),
        closed_at=closed_at,
        exit_rule=state.exit_rule,
        wings_closed=len(state.closed),
        hedges_taken=state.hedges_taken,
        vix_hedges=sum(h.on_vix for h in hedges.values()),
        vix_hedges_on_real_vx=sum(h.on_real_vx for h in hedges.values()),
        hedge_cost_usd=hedge_cost + hedge_commission,
        hedge_payoff_usd=hedge_pnl + hedge_cost,
        commission_usd=entry_commission + exit_commission + hedge_commission,
        slippage_usd=slippage,
        held_usd=float(result.pnl_usd_unhedged) - entry_commission,
        managed_usd=float(result.pnl_usd_managed) - entry_commission - exit_commission,
        hedged_usd=float(result.pnl_usd_hedged)
        - entry_commission
        - exit_commission
        - hedge_commission,
        events=tuple(events),
    )


def run_backtest(
    days: Iterable[HistoryDay | Skipped],
    profile: CondorProfile,
    hedge_rules: HedgeRules,
    costs: Costs,
    *,
    one_at_a_time: bool,
    on_day: Callable[[DayOutcome], None] | None = None,
    screen: bool = True,
) -> list[DayOutcome]:
    """Run the day loop in date order.

    Args:
        days: Day inputs in ascending order (or days already known to be skipped).
        profile: Track and risk rules.
        hedge_rules: ALVH rules (`contracts` sizes every trade).
        costs: Commission and slippage.
        one_at_a_time: Open no new condor while the previous one is still open (45-DTE);
            such days are recorded as skipped with the reason.
        on_day: Called with each outcome (the progress bar's hook).
        screen: Pass over the bars the engine would not act on (see `run_day`).
    """
    outcomes: list[DayOutcome] = []
    busy_until: datetime | None = None
    for source in days:
        outcome: DayOutcome
        if isinstance(source, Skipped):
            outcome = source
        elif one_at_a_time and busy_until is not None and source.entry < busy_until:
            outcome = Skipped(
                day=source.day,
                reason=f"a condor opened earlier is open until {busy_until:%Y-%m-%d %H:%M}",
            )
        else:
            outcome = run_day(source, profile, hedge_rules, costs, screen=screen)
            if isinstance(outcome, Trade):
                busy_until = outcome.closed_at
        outcomes.append(outcome)
        if on_day is not None:
            on_day(outcome)
    return outcomes


# --- statistics -------------------------------------------------------------------------------


def regime_of(vix: float) -> str:
    """The `VIX_REGIMES` label of a VIX level."""
    for label, low, high in VIX_REGIMES:
        if low <= vix < high:
            return label
    return VIX_REGIMES[-1][0]


def summarise(trades: Sequence[Trade], series: str, *, seed: int = 7) -> Stats:
    """Statistics of one series over `trades`."""
    days = [t.day for t in trades]
    return compute_stats(
        [t.pnl(series) for t in trades],
        [float(t.fill_credit) * SPX_MULTIPLIER_USD * t.contracts for t in trades],
        days,
        periods_per_year=trades_per_year(days),
        seed=seed,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """Every figure of a backtest run."""

    outcomes: tuple[DayOutcome, ...]
    series: tuple[str, ...]
    overall: dict[str, Stats]
    by_regime: dict[str, dict[str, Stats]]
    by_year: dict[str, dict[str, Stats]]
    hedge_cost_usd: float
    hedge_payoff_usd: float
    hedges_taken: int
    trades: tuple[Trade, ...] = field(default=(), repr=False)

    @property
    def skipped(self) -> tuple[Skipped, ...]:
        """Days not backtested, with reasons."""
        return tuple(o for o in self.outcomes if isinstance(o, Skipped))

    @property
    def no_trade_days(self) -> tuple[NoTrade, ...]:
        """Days the rules stood aside."""
        return tuple(o for o in self.outcomes if isinstance(o, NoTrade))


def _groups(
    trades: Sequence[Trade], key: Callable[[Trade], str], order: Sequence[str] = ()
) -> Iterator[tuple[str, list[Trade]]]:
    # The trades by `key`, in `order` (labels not in it last), else sorted by label.
    groups: dict[str, list[Trade]] = {}
    for trade in trades:
        groups.setdefault(key(trade), []).append(trade)
    rank = {label: i for i, label in enumerate(order)}
    yield from sorted(groups.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0]))


def build_report(
    outcomes: Sequence[DayOutcome], series: Sequence[str] = SERIES, *, seed: int = 7
) -> Report:
    """Statistics overall, by VIX regime at entry and by entry year, plus hedge cost/payoff."""
    unknown = [s for s in series if s not in SERIES]
    if unknown:
        raise ValueError(f"series must be among {SERIES}, was {unknown}")
    trades = tuple(o for o in outcomes if isinstance(o, Trade))
    overall = {s: summarise(trades, s, seed=seed) for s in series}
    by_regime = {
        label: {s: summarise(group, s, seed=seed) for s in series}
        for label, group in _groups(
            trades, lambda t: regime_of(t.entry_vix), [label for label, _, _ in VIX_REGIMES]
        )
    }
    by_year = {
        year: {s: summarise(group, s, seed=seed) for s in series}
        for year, group in _groups(trades, lambda t: f"{t.day.year}")
    }
    return Report(
        outcomes=tuple(outcomes),
        series=tuple(series),
        overall=overall,
        by_regime=by_regime,
        by_year=by_year,
        hedge_cost_usd=sum(t.hedge_cost_usd for t in trades),
        hedge_payoff_usd=sum(t.hedge_payoff_usd for t in trades),
        hedges_taken=sum(t.hedges_taken for t in trades),
        trades=trades,
    )


def exit_count(trades: Sequence[Trade]) -> dict[str, int]:
    """How many trades ended by each layer-3 exit rule, wing buy-back, or settlement."""
    counts: dict[str, int] = {}
    for trade in trades:
        if trade.exit_rule is not None:
            key = str(trade.exit_rule)
        elif trade.wings_closed:
            key = f"{trade.wings_closed} wing(s) bought back"
        else:
            key = "settled"
        counts[key] = counts.get(key, 0) + 1
    return counts


__all__ = [
    "ENGINE_ERROR",
    "SERIES",
    "VIX_REGIMES",
    "Costs",
    "DayOutcome",
    "HistoryDay",
    "MarketPath",
    "NoTrade",
    "Report",
    "SkipDay",
    "Skipped",
    "Trade",
    "build_report",
    "exit_count",
    "regime_of",
    "run_backtest",
    "run_day",
    "summarise",
]
