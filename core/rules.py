"""The rule tables: every number that decides a signal, versioned.

A card carries `rule_version`; changing any number in this module means bumping it, so the track
record can always say which rules produced which signal. The README prints the same table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, time, timedelta
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from core.types import Risk, Track
from core.vix import (
    DEFAULT_SENSITIVITY,
    MODELLED_VIX_OPTION_VOL,
    SpxVixSensitivity,
    VixOptionVolModel,
)

#: Bump on any change to the numbers below; it is printed on every card.
CONDOR_RULE_VERSION = "condor-2026.11.1"


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackRules:
    """When and on which expiry a track opens its condor, and how it is managed.

    Attributes:
        track: The track these rules belong to.
        roots: Option roots allowed, in order of preference when two share an expiry.
        min_dte_days: Fewest calendar days to expiry allowed (0 = same day).
        max_dte_days: Most calendar days to expiry allowed.
        target_dte_days: The expiry nearest this many days is chosen.
        trading_days_ahead: If set, the expiry must be exactly this many trading days after the
            quote date (0 = today, 1 = next trading day); overrides `target_dte_days`.
        entry_time: Scheduled entry, New York time.
        profit_target_pct: Close when this share of the credit is captured (None: hold to
            settlement; a same-day condor keeps most of its credit by expiring).
        stop_loss_multiple: Close when the loss reaches this multiple of the credit.
        manage_at_dte_days: Close at this many days to expiry (None: hold into expiry day).
        close_by: On expiration day, close anything still open by this New York time.
        skip_event_days: Stand aside when the expiry day is a configured event day.
    """

    track: Track
    roots: tuple[str, ...]
    min_dte_days: int
    max_dte_days: int
    target_dte_days: int
    trading_days_ahead: int | None
    entry_time: time
    profit_target_pct: int | None
    stop_loss_multiple: Decimal
    manage_at_dte_days: int | None
    close_by: time | None
    skip_event_days: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskRules:
    """How far out the short strikes sit and what the condor must pay.

    Attributes:
        short_delta: Target |delta| of each short strike (the nearest listed strike is taken).
        wing_width_points: Distance from each short strike to its long strike, in index points.
        min_credit_points: Smallest mid credit accepted, in index points.
        min_credit_to_width: Smallest mid credit accepted as a fraction of the wider wing.
    """

    short_delta: float
    wing_width_points: Decimal
    min_credit_points: Decimal
    min_credit_to_width: Decimal

    def __post_init__(self) -> None:
        if not 0.0 < self.short_delta < 0.5:
            raise ValueError(f"short_delta must be in (0, 0.5), was {self.short_delta}")
        if self.wing_width_points <= 0:
            raise ValueError(f"wing_width_points must be positive, was {self.wing_width_points}")


def _track_table() -> dict[Track, TrackRules]:
    return {
        Track.ZERO_DTE: TrackRules(
            track=Track.ZERO_DTE,
            roots=("SPXW",),
            min_dte_days=0,
            max_dte_days=0,
            target_dte_days=0,
            trading_days_ahead=0,
            entry_time=time(10, 0),
            profit_target_pct=None,
            stop_loss_multiple=Decimal(2),
            manage_at_dte_days=None,
            close_by=None,
            skip_event_days=True,
        ),
        Track.ONE_DTE: TrackRules(
            track=Track.ONE_DTE,
            roots=("SPXW",),
            min_dte_days=1,
            max_dte_days=4,
            target_dte_days=1,
            trading_days_ahead=1,
            entry_time=time(15, 45),
            profit_target_pct=50,
            stop_loss_multiple=Decimal(2),
            manage_at_dte_days=None,
            close_by=time(15, 45),
            skip_event_days=True,
        ),
        Track.DTE_45: TrackRules(
            track=Track.DTE_45,
            # PM-settled SPXW first: AM settlement adds an overnight gap no one can manage.
            roots=("SPXW", "SPX"),
            min_dte_days=30,
            max_dte_days=60,
            target_dte_days=45,
            trading_days_ahead=None,
            entry_time=time(15, 45),
            profit_target_pct=50,
            stop_loss_multiple=Decimal(2),
            manage_at_dte_days=21,
            close_by=None,
            skip_event_days=False,
        ),
    }


#: track, risk, short |delta|, wing width (points), min credit (points), min credit / width.
#: The README prints this table; tests/core/test_rules.py keeps the two equal.
_RISK_TABLE: tuple[tuple[Track, Risk, float, str, str, str], ...] = (
    (Track.ZERO_DTE, Risk.CONSERVATIVE, 0.05, "10", "0.40", "0.04"),
    (Track.ZERO_DTE, Risk.BALANCED, 0.10, "10", "0.80", "0.08"),
    (Track.ZERO_DTE, Risk.AGGRESSIVE, 0.16, "10", "1.50", "0.15"),
    (Track.ONE_DTE, Risk.CONSERVATIVE, 0.05, "10", "0.40", "0.04"),
    (Track.ONE_DTE, Risk.BALANCED, 0.10, "15", "1.00", "0.07"),
    (Track.ONE_DTE, Risk.AGGRESSIVE, 0.16, "20", "2.00", "0.10"),
    (Track.DTE_45, Risk.CONSERVATIVE, 0.10, "50", "2.50", "0.05"),
    (Track.DTE_45, Risk.BALANCED, 0.16, "50", "5.00", "0.10"),
    (Track.DTE_45, Risk.AGGRESSIVE, 0.25, "50", "9.00", "0.18"),
)


def _risk_table() -> dict[tuple[Track, Risk], RiskRules]:
    return {
        (track, risk): RiskRules(
            short_delta=delta,
            wing_width_points=Decimal(wing),
            min_credit_points=Decimal(credit),
            min_credit_to_width=Decimal(ratio),
        )
        for track, risk, delta, wing, credit, ratio in _RISK_TABLE
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class CondorRules:
    """Everything `select_condor` needs besides the chain and the clock.

    Attributes:
        rule_version: Printed on every card; bump on any change.
        tracks: Expiry choice, entry time and management per track.
        risks: Short delta, wing width and minimum credit per (track, risk).
        event_days: Days with a scheduled market-moving release (FOMC, CPI), with a label.
        max_quote_age: Quotes older than this at `asof` are stale: no trade.
        max_leg_spread_fraction: A short leg whose bid-ask spread exceeds this share of its mid
            is too wide to trade.
        max_credit_slippage_fraction: If the natural credit is below mid by more than this share
            of the mid credit, the condor is too wide to fill near the card's price.
        min_parity_strikes: Fewest strikes behind a parity forward for the expiry to be trusted.
        limit_tick: Price increment of the suggested limit (SPX complex orders trade in 0.05).
    """

    rule_version: str = CONDOR_RULE_VERSION
    tracks: Mapping[Track, TrackRules] = field(
        default_factory=lambda: MappingProxyType(_track_table())
    )
    risks: Mapping[tuple[Track, Risk], RiskRules] = field(
        default_factory=lambda: MappingProxyType(_risk_table())
    )
    event_days: Mapping[date, str] = field(default_factory=lambda: MappingProxyType({}))
    max_quote_age: timedelta = timedelta(minutes=30)
    max_leg_spread_fraction: float = 0.5
    max_credit_slippage_fraction: float = 0.6
    min_parity_strikes: int = 3
    limit_tick: Decimal = Decimal("0.05")

    def __post_init__(self) -> None:
        missing = [(t, r) for t in Track for r in Risk if (t, r) not in self.risks]
        if missing:
            raise ValueError(f"risk table must cover every track x risk, missing {missing}")
        absent = [t for t in Track if t not in self.tracks]
        if absent:
            raise ValueError(f"track table must cover every track, missing {absent}")

    def track(self, track: Track) -> TrackRules:
        """Return the rules of one track."""
        return self.tracks[track]

    def risk(self, track: Track, risk: Risk) -> RiskRules:
        """Return the rules of one (track, risk) profile."""
        return self.risks[(track, risk)]

    def with_event_days(self, event_days: Mapping[date, str]) -> CondorRules:
        """Return a copy of these rules with the given event calendar."""
        return replace(self, event_days=MappingProxyType(dict(event_days)))

    def __reduce__(self) -> tuple[Callable[[dict[str, Any]], CondorRules], tuple[dict[str, Any]]]:
        """Pickle with the read-only tables as plain dicts (a backtest's worker processes)."""
        values: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in _TABLES:
            values[name] = dict(values[name])
        return _unpickle_condor_rules, (values,)


#: The `CondorRules` fields held as read-only mappings.
_TABLES = ("tracks", "risks", "event_days")


def _unpickle_condor_rules(values: dict[str, Any]) -> CondorRules:
    # `CondorRules.__reduce__`'s way back: the tables read-only again.
    tables = {name: MappingProxyType(values[name]) for name in _TABLES}
    return CondorRules(**{**values, **tables})


#: Bump on any change to the hedge rules below; it is printed on every hedge and exit alert.
HEDGE_RULE_VERSION = "alvh-2026.11.1"


class Defence(StrEnum):
    """Which priced answer the engine recommends to a tested side."""

    #: ALVH: the cheapest feasible answer by expected cost (its friction).
    CHEAPEST = "cheapest"
    #: A baseline to measure ALVH against, not ALVH: buy the tested wing back whenever that is
    #: priced (the other answers are still priced and shown).
    CLOSE = "close"


@dataclass(frozen=True, slots=True, kw_only=True)
class HedgeRules:
    """The ALVH engine's parameters. Ranges are (low, middle, high); the middle is used to size.

    Attributes:
        contracts: Condor contracts the alerts are sized for (cards are per contract; hedges need
            whole contracts, so alerts assume a position of this size and say so).
        test_distance_em: A side is tested when spot is within this many remaining expected
            moves of its short strike (or beyond it).
        test_distance_pct: ... or within this share of spot of it, in percent.
        hedge_ratio: Share of the condor's negative dollar delta a layer-1 hedge offsets.
        rsi_period: Wilder RSI period on 5-minute SPX closes.
        rsi_put_fire: The put-side trigger fires at RSI at or below this (selling momentum).
        rsi_call_fire: The call-side trigger fires at RSI at or above this.
        macd_fast: MACD fast EMA span.
        macd_slow: MACD slow EMA span.
        macd_signal: MACD signal EMA span.
        divergence_lookback_bars: 5-minute bars searched for a MACD divergence.
        min_triggers: Triggers that must fire (of those available) before a layer-1 hedge.
        sensitivity: SPX-to-VIX-future response with low/middle/high ranges (VIX % per 1 %
            SPX, default -4.0/-4.5/-5.0; the future's dampening against spot VIX, 0.4/0.5/0.6
            a month out, rising to 1 at settlement): see `core.vix.SpxVixSensitivity`.
        vix_spread_width_points: Width of the VIX call spreads proposed.
        vix_option_vol: Modelled VIX option IVs from VVIX (no VIX chain ships): see
            `core.vix.VixOptionVolModel`.
        default_vvix: VVIX assumed when none is known (modelled, said on the alert).
        midterm_days: Window for layer-2 mid-term VIX options.
        parity_cost_points: Minimum edge, after crossing the spread, for a conversion/reversal.
        breach_points: Layer-3 breach: spot beyond a short strike by this many points.
        realert_minutes: A hedge alert for the same side is repeated only after this long, or
            when the recommended action changes.
        vx_margin_usd: Initial margin per VX future (modelled; CFE sets it), for buying power.
        defence: Which priced answer is recommended (`Defence`); ALVH's is the cheapest.
    """

    rule_version: str = HEDGE_RULE_VERSION
    contracts: int = 10
    test_distance_em: float = 0.5
    test_distance_pct: float = 0.5
    hedge_ratio: tuple[float, float, float] = (0.4, 0.5, 0.6)
    rsi_period: int = 14
    rsi_put_fire: float = 40.0
    rsi_call_fire: float = 60.0
    macd_fast: int = 12
    macd_slow: int = 26
    macd_signal: int = 9
    divergence_lookback_bars: int = 12
    min_triggers: int = 2
    sensitivity: SpxVixSensitivity = DEFAULT_SENSITIVITY
    vix_spread_width_points: int = 5
    vix_option_vol: VixOptionVolModel = MODELLED_VIX_OPTION_VOL
    default_vvix: float = 100.0
    midterm_days: tuple[int, int] = (60, 120)
    parity_cost_points: float = 0.5
    breach_points: float = 5.0
    realert_minutes: int = 15
    vx_margin_usd: Decimal = Decimal(9000)
    defence: Defence = Defence.CHEAPEST

    def __post_init__(self) -> None:
        low, mid, high = self.hedge_ratio
        if not 0 < low <= mid <= high <= 1:
            raise ValueError(
                f"hedge_ratio must be 0 < low <= mid <= high <= 1, was {low, mid, high}"
            )
        if self.contracts < 1:
            raise ValueError(f"contracts must be at least 1, was {self.contracts}")
        if not isinstance(self.defence, Defence):
            # The engine compares members by identity: a bare string would half-apply.
            try:
                defence = Defence(self.defence)
            except ValueError:
                choices = ", ".join(d.value for d in Defence)
                raise ValueError(
                    f"defence must be one of {choices}, was {self.defence!r}"
                ) from None
            object.__setattr__(self, "defence", defence)
