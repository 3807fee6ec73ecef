"""Iron-condor selection: one chain, one track and risk profile, one card.

`select_condor` never raises on bad market data: stale, crossed or missing quotes become a
`NoTradeDay` that says why. It raises only on programming errors (a naive `asof`).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_UP, Decimal

import numpy as np
from numpy.typing import NDArray

from core.calendar import (
    NEW_YORK,
    is_session_open,
    is_trading_day,
    next_trading_day,
    previous_trading_day,
)
from core.chain import ExpirySlice, ExpiryTerms, OptionChain, QualityIssue, Severity
from core.pricing import black76_price
from core.rules import CondorRules, RiskRules, TrackRules
from core.types import (
    SPX_MULTIPLIER,
    CondorSignal,
    DataStamp,
    Leg,
    ManagementPlan,
    NoTradeCode,
    NoTradeDay,
    NoTradeReason,
    Right,
    Risk,
    Side,
    Track,
)

_CENT = Decimal("0.01")
#: Half-width of the strike step used to difference the smile into a digital price, in points.
_DIGITAL_STEP_POINTS = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class CondorProfile:
    """The rules for one (track, risk) profile, as `select_condor` consumes them."""

    track: Track
    risk: Risk
    track_rules: TrackRules
    risk_rules: RiskRules
    rules: CondorRules

    @classmethod
    def of(cls, rules: CondorRules, track: Track, risk: Risk) -> CondorProfile:
        """Bind the shared rule table to one track and risk level."""
        return cls(
            track=track,
            risk=risk,
            track_rules=rules.track(track),
            risk_rules=rules.risk(track, risk),
            rules=rules,
        )


class _NoTrade(Exception):
    def __init__(self, *reasons: NoTradeReason, expiry: date | None = None) -> None:
        super().__init__(reasons)
        self.reasons = reasons
        self.expiry = expiry


def _reason(code: NoTradeCode, detail: str) -> NoTradeReason:
    return NoTradeReason(code=code, detail=detail)


def select_condor(
    chain: OptionChain, profile: CondorProfile, asof: datetime
) -> CondorSignal | NoTradeDay:
    """Select the iron condor a profile opens on this chain at `asof`, or say why not.

    Short strikes are the listed strikes whose delta is nearest the profile's target; long
    strikes sit one wing width further out (the nearest listed strike with a quoted ask).
    Chance of profit is the risk-neutral probability that the index settles between the
    break-evens, read from the chain's own smile (Breeden and Litzenberger, 1978).

    Args:
        chain: The option chain, with IVs and greeks already computed.
        profile: The (track, risk) rules, see `CondorProfile.of`.
        asof: When the signal is made (timezone-aware); quotes older than the rules allow are
            stale.

    Returns:
        The condor, or a `NoTradeDay` carrying every reason that blocked it.

    Raises:
        ValueError: If `asof` is naive.
    """
    if asof.tzinfo is None:
        raise ValueError(f"asof must be timezone-aware, was {asof!r}")
    stamp = DataStamp(quote_time=chain.quote_time, source=chain.source, modelled=chain.modelled)
    try:
        _check_freshness(chain, profile.rules, asof)
        terms = _choose_expiry(chain, profile, asof)
        return _build_signal(chain, profile, terms, asof)
    except _NoTrade as no_trade:
        return _no_trade_day(profile, stamp, asof, no_trade.reasons, no_trade.expiry)


def _check_freshness(chain: OptionChain, rules: CondorRules, asof: datetime) -> None:
    quote_ny = chain.quote_time.astimezone(NEW_YORK)
    asof_ny = asof.astimezone(NEW_YORK)
    if quote_ny > asof_ny:
        raise _NoTrade(
            _reason(
                NoTradeCode.BAD_DATA,
                f"quotes are time-stamped {quote_ny:%Y-%m-%d %H:%M} ET, after asof "
                f"{asof_ny:%Y-%m-%d %H:%M} ET",
            )
        )
    if quote_ny.date() != asof_ny.date():
        raise _NoTrade(
            _reason(
                NoTradeCode.STALE_DATA,
                f"quotes are from {quote_ny:%Y-%m-%d}, not from the signal day {asof_ny:%Y-%m-%d}",
            )
        )
    age = asof_ny - quote_ny
    if age > rules.max_quote_age:
        raise _NoTrade(
            _reason(
                NoTradeCode.STALE_DATA,
                f"quotes are {_minutes(age)} min old at {asof_ny:%H:%M} ET "
                f"(limit {_minutes(rules.max_quote_age)} min)",
            )
        )
    if not math.isfinite(chain.spot) or chain.spot <= 0:
        raise _NoTrade(_reason(NoTradeCode.BAD_DATA, f"underlying price is {chain.spot}"))
    chain_wide = [i for i in chain.issues if i.expiry is None and i.severity is Severity.ERROR]
    if chain_wide:
        raise _NoTrade(*(_bad_data(issue) for issue in chain_wide))


def _bad_data(issue: QualityIssue) -> NoTradeReason:
    return _reason(NoTradeCode.BAD_DATA, f"{issue.detail} [{issue.code}]")


def _check_quality(
    chain: OptionChain, terms: ExpiryTerms, legs: tuple[Leg, Leg, Leg, Leg]
) -> list[NoTradeReason]:
    # Errors on the expiry as a whole, or on one of the four strikes, block the trade; a crossed
    # quote on a strike the condor does not touch does not.
    strikes = {float(leg.strike) for leg in legs}
    return [
        _bad_data(issue)
        for issue in chain.issues_for(terms.root, terms.expiry)
        if issue.severity is Severity.ERROR
        and issue.expiry is not None
        and (issue.strike is None or issue.strike in strikes)
    ]


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def _choose_expiry(chain: OptionChain, profile: CondorProfile, asof: datetime) -> ExpiryTerms:
    track = profile.track_rules
    day = asof.astimezone(NEW_YORK).date()
    candidates = [
        chain.terms_for(root, expiry)
        for root, expiry in chain.expiries()
        if root in track.roots and track.min_dte_days <= (expiry - day).days <= track.max_dte_days
    ]
    candidates = [t for t in candidates if t.settles_at > asof]
    if track.trading_days_ahead is not None:
        wanted = day if is_trading_day(day) else next_trading_day(day)
        for _ in range(track.trading_days_ahead):
            wanted = next_trading_day(wanted)
        candidates = [t for t in candidates if t.expiry == wanted]
        window = f"{', '.join(track.roots)} expiring {wanted:%a %Y-%m-%d} and not yet settled"
    else:
        window = (
            f"{', '.join(track.roots)} expiring in {track.min_dte_days}-{track.max_dte_days} days"
        )
    if not candidates:
        live = (chain.terms_for(root, e) for root, e in chain.expiries())
        listed = sorted({t.expiry for t in live if t.settles_at > asof})[:4]
        near = ", ".join(f"{e:%Y-%m-%d}" for e in listed) or "none"
        raise _NoTrade(
            _reason(NoTradeCode.NO_EXPIRY, f"no {window} in the chain (next listed: {near})")
        )

    def preference(terms: ExpiryTerms) -> tuple[int, int]:
        return abs((terms.expiry - day).days - track.target_dte_days), track.roots.index(terms.root)

    terms = min(candidates, key=preference)
    if track.trading_days_ahead == 0 and not is_session_open(chain.quote_time):
        # A same-day condor is priced off the regular session; overnight (GTH) quotes are thin
        # and the printed index level is stale.
        quoted = chain.quote_time.astimezone(NEW_YORK)
        raise _NoTrade(
            _reason(
                NoTradeCode.STALE_DATA,
                f"quotes are from {quoted:%H:%M} ET, outside the regular session: the "
                f"{profile.track} track enters on regular-session quotes only",
            ),
            expiry=terms.expiry,
        )
    if track.skip_event_days and terms.expiry in profile.rules.event_days:
        raise _NoTrade(
            _reason(
                NoTradeCode.EVENT_DAY,
                f"{terms.expiry:%Y-%m-%d} is an event day "
                f"({profile.rules.event_days[terms.expiry]}): this track stands aside",
            ),
            expiry=terms.expiry,
        )
    if terms.parity_strikes < profile.rules.min_parity_strikes and not terms.forward_modelled:
        raise _NoTrade(
            _reason(
                NoTradeCode.BAD_DATA,
                f"only {terms.parity_strikes} strikes quoted on both sides near the money for "
                f"{terms.root} {terms.expiry:%Y-%m-%d}: no reliable forward",
            ),
            expiry=terms.expiry,
        )
    return terms


@dataclass(frozen=True, slots=True)
class _Strikes:
    long_put: int
    short_put: int
    short_call: int
    long_call: int


def _live(bid: NDArray[np.float64], ask: NDArray[np.float64]) -> NDArray[np.bool_]:
    with np.errstate(invalid="ignore"):
        return np.isfinite(bid) & np.isfinite(ask) & (bid > 0) & (ask >= bid)


def _pick_strikes(sl: ExpirySlice, terms: ExpiryTerms, risk: RiskRules) -> _Strikes:
    strikes = sl.strikes
    target = risk.short_delta
    with np.errstate(invalid="ignore"):
        put_ok = _live(sl.put_bid, sl.put_ask) & np.isfinite(sl.put_delta)
        put_ok &= strikes < terms.forward
        call_ok = _live(sl.call_bid, sl.call_ask) & np.isfinite(sl.call_delta)
        call_ok &= strikes > terms.forward
    if not put_ok.any() or not call_ok.any():
        side = "put" if not put_ok.any() else "call"
        raise _NoTrade(
            _reason(
                NoTradeCode.NO_STRIKES,
                f"no out-of-the-money {side} with a live two-sided quote and a delta",
            ),
            expiry=terms.expiry,
        )
    put_gap = np.where(put_ok, np.abs(np.abs(sl.put_delta) - target), np.inf)
    call_gap = np.where(call_ok, np.abs(np.abs(sl.call_delta) - target), np.inf)
    short_put = int(np.argmin(put_gap))
    short_call = int(np.argmin(call_gap))
    width = float(risk.wing_width_points)
    with np.errstate(invalid="ignore"):
        put_wing_ok = np.isfinite(sl.put_ask) & (sl.put_ask > 0) & (strikes < strikes[short_put])
        call_wing_ok = (
            np.isfinite(sl.call_ask) & (sl.call_ask > 0) & (strikes > strikes[short_call])
        )
    if not put_wing_ok.any() or not call_wing_ok.any():
        raise _NoTrade(
            _reason(
                NoTradeCode.NO_STRIKES,
                f"no quoted strike beyond the short {'put' if not put_wing_ok.any() else 'call'}"
                " to buy as a wing",
            ),
            expiry=terms.expiry,
        )
    # Nearest listed strike to the wanted wing; on a tie the narrower one, so max loss never
    # grows past the rule by a coin toss. A wing more than twice the rule is no wing at all.
    put_dist = np.where(put_wing_ok, np.abs(strikes - (strikes[short_put] - width)), np.inf)
    call_dist = np.where(call_wing_ok, np.abs(strikes - (strikes[short_call] + width)), np.inf)
    long_put = int(np.flatnonzero(put_dist == put_dist.min())[-1])
    long_call = int(np.flatnonzero(call_dist == call_dist.min())[0])
    for side, long_index, short_index in (
        ("put", long_put, short_put),
        ("call", long_call, short_call),
    ):
        wing = abs(float(strikes[short_index] - strikes[long_index]))
        if wing > 2 * width:
            raise _NoTrade(
                _reason(
                    NoTradeCode.NO_STRIKES,
                    f"nearest quoted {side} wing is {wing:g} points from the short "
                    f"{strikes[short_index]:g}, more than twice the {width:g}-point rule",
                ),
                expiry=terms.expiry,
            )
    return _Strikes(long_put, short_put, short_call, long_call)


def _money(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(_CENT, rounding=ROUND_HALF_EVEN)


def _strike(value: float) -> Decimal:
    # Strikes print as listed: 4500, not 4500.00 or 4.5E+3.
    exact = _money(value)
    return exact.quantize(Decimal(1)) if exact == exact.to_integral_value() else exact


def _leg(sl: ExpirySlice, index: int, right: Right, side: Side) -> Leg:
    is_call = right is Right.CALL
    bid = float((sl.call_bid if is_call else sl.put_bid)[index])
    ask = float((sl.call_ask if is_call else sl.put_ask)[index])
    delta = float((sl.call_delta if is_call else sl.put_delta)[index])
    iv = float((sl.call_iv if is_call else sl.put_iv)[index])
    return Leg(
        right=right,
        side=side,
        strike=_strike(float(sl.strikes[index])),
        expiry=sl.terms.expiry,
        bid=_money(bid if math.isfinite(bid) else 0.0),
        ask=_money(ask),
        delta=delta,
        iv=iv,
    )


def _smile(sl: ExpirySlice, forward: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    # Out-of-the-money IVs carry the information: puts below the forward, calls above.
    otm = np.where(sl.strikes < forward, sl.put_iv, sl.call_iv)
    other = np.where(sl.strikes < forward, sl.call_iv, sl.put_iv)
    iv = np.where(np.isfinite(otm), otm, other)
    ok = np.isfinite(iv) & (iv > 0)
    return sl.strikes[ok], iv[ok]


def prob_settle_above(
    strikes: NDArray[np.float64],
    smile_strikes: NDArray[np.float64],
    smile_iv: NDArray[np.float64],
    forward: float,
    t_years: float,
) -> NDArray[np.float64]:
    """Return the risk-neutral probability that the index settles above each strike.

    The probability is minus the strike derivative of the undiscounted call price, taken as a
    tight call spread priced with Black-76 on the chain's own smile (linear in strike between
    quoted strikes, flat beyond them): this keeps the skew a plain `N(d2)` would miss.

    Args:
        strikes: Strikes to evaluate, in index points.
        smile_strikes: Strikes with a usable implied volatility, ascending.
        smile_iv: Implied volatility at each of those strikes, as a fraction.
        forward: Forward price of the expiry, in index points.
        t_years: Time to settlement, in years.

    Returns:
        Probabilities in [0, 1], one per strike.
    """
    step = _DIGITAL_STEP_POINTS
    # Both sides of every spread priced in one pass: [strikes - step, strikes + step].
    ends = np.concatenate([strikes - step, strikes + step])
    calls = black76_price(
        True, forward, ends, t_years, 0.0, np.interp(ends, smile_strikes, smile_iv)
    )
    call_low, call_high = calls[: strikes.size], calls[strikes.size :]
    return np.clip((call_low - call_high) / (2 * step), 0.0, 1.0)


def _check_market(
    legs: tuple[Leg, Leg, Leg, Leg],
    credit_mid: Decimal,
    credit_natural: Decimal,
    profile: CondorProfile,
) -> list[NoTradeReason]:
    reasons: list[NoTradeReason] = []
    limit = profile.rules.max_leg_spread_fraction
    for leg in (legs[1], legs[2]):
        spread = leg.ask - leg.bid
        if leg.mid > 0 and float(spread / leg.mid) > limit:
            reasons.append(
                _reason(
                    NoTradeCode.MARKET_TOO_WIDE,
                    f"short {leg.strike} {leg.right} quoted {leg.bid}/{leg.ask}: spread is "
                    f"{float(spread / leg.mid):.0%} of mid (limit {limit:.0%})",
                )
            )
    if credit_mid > 0:
        slip = float((credit_mid - credit_natural) / credit_mid)
        if slip > profile.rules.max_credit_slippage_fraction:
            reasons.append(
                _reason(
                    NoTradeCode.MARKET_TOO_WIDE,
                    f"natural credit {credit_natural} is {slip:.0%} below mid {credit_mid} "
                    f"(limit {profile.rules.max_credit_slippage_fraction:.0%})",
                )
            )
    return reasons


def _check_credit(
    credit_mid: Decimal, width: Decimal, profile: CondorProfile
) -> list[NoTradeReason]:
    risk = profile.risk_rules
    reasons: list[NoTradeReason] = []
    if credit_mid < risk.min_credit_points:
        reasons.append(
            _reason(
                NoTradeCode.CREDIT_TOO_LOW,
                f"mid credit {credit_mid} is below the minimum {risk.min_credit_points}",
            )
        )
    elif width > 0 and credit_mid / width < risk.min_credit_to_width:
        reasons.append(
            _reason(
                NoTradeCode.CREDIT_TOO_LOW,
                f"mid credit {credit_mid} is {float(credit_mid / width):.1%} of the {width}-point "
                f"wing (minimum {float(risk.min_credit_to_width):.0%})",
            )
        )
    if credit_mid >= width:
        reasons.append(
            _reason(
                NoTradeCode.BAD_DATA,
                f"mid credit {credit_mid} is not below the wing width {width}: quotes are crossed",
            )
        )
    return reasons


def _round_to_tick(value: Decimal, tick: Decimal, rounding: str) -> Decimal:
    return ((value / tick).quantize(Decimal(1), rounding=rounding) * tick).quantize(_CENT)


def _management(
    credit: Decimal, width: Decimal, terms: ExpiryTerms, profile: CondorProfile
) -> ManagementPlan:
    track = profile.track_rules
    tick = profile.rules.limit_tick
    target = (
        None
        if track.profit_target_pct is None
        else _round_to_tick(credit * (100 - track.profit_target_pct) / 100, tick, ROUND_DOWN)
    )
    stop = min(_round_to_tick(credit * (1 + track.stop_loss_multiple), tick, ROUND_UP), width)
    if track.manage_at_dte_days is not None:
        day = terms.expiry - timedelta(days=track.manage_at_dte_days)
        if not is_trading_day(day):
            day = previous_trading_day(day)
        time_exit = f"close at {track.manage_at_dte_days} days to expiry ({day:%a %Y-%m-%d})"
        exit_at: datetime | None = datetime.combine(day, track.entry_time, NEW_YORK)
    elif track.close_by is not None:
        time_exit = (
            f"close by {track.close_by:%H:%M} ET on {terms.expiry:%a %Y-%m-%d} "
            "if not already closed"
        )
        exit_at = datetime.combine(terms.expiry, track.close_by, NEW_YORK)
    else:
        time_exit = f"hold to the {terms.settles_at.astimezone(NEW_YORK):%H:%M} ET settlement"
        exit_at = None
    return ManagementPlan(
        profit_target_pct=track.profit_target_pct,
        profit_target_debit=target,
        stop_loss_multiple=track.stop_loss_multiple,
        stop_debit=stop,
        time_exit=time_exit,
        time_exit_at=exit_at,
    )


def _expected_move(sl: ExpirySlice, terms: ExpiryTerms) -> tuple[Decimal, Decimal]:
    mids_ok = _live(sl.call_bid, sl.call_ask) & _live(sl.put_bid, sl.put_ask)
    if not mids_ok.any():
        raise _NoTrade(
            _reason(NoTradeCode.NO_STRIKES, "no strike quoted on both sides for the straddle"),
            expiry=terms.expiry,
        )
    distance = np.where(mids_ok, np.abs(sl.strikes - terms.forward), np.inf)
    atm = int(np.argmin(distance))
    straddle = (sl.call_bid[atm] + sl.call_ask[atm] + sl.put_bid[atm] + sl.put_ask[atm]) / 2
    smile_k, smile_iv = _smile(sl, terms.forward)
    atm_iv = float(np.interp(terms.forward, smile_k, smile_iv))
    iv_move = terms.forward * atm_iv * math.sqrt(terms.t_years)
    return _money(float(straddle)), _money(iv_move)


def _build_signal(
    chain: OptionChain, profile: CondorProfile, terms: ExpiryTerms, asof: datetime
) -> CondorSignal:
    sl = chain.expiry_slice(terms.root, terms.expiry)
    idx = _pick_strikes(sl, terms, profile.risk_rules)
    legs = (
        _leg(sl, idx.long_put, Right.PUT, Side.BUY),
        _leg(sl, idx.short_put, Right.PUT, Side.SELL),
        _leg(sl, idx.short_call, Right.CALL, Side.SELL),
        _leg(sl, idx.long_call, Right.CALL, Side.BUY),
    )
    long_put, short_put, short_call, long_call = legs
    credit_mid = short_put.mid + short_call.mid - long_put.mid - long_call.mid
    credit_natural = short_put.bid + short_call.bid - long_put.ask - long_call.ask
    put_width = short_put.strike - long_put.strike
    call_width = long_call.strike - short_call.strike
    width = max(put_width, call_width)
    reasons = _check_quality(chain, terms, legs)
    reasons += _check_market(legs, credit_mid, credit_natural, profile)
    reasons += _check_credit(credit_mid, width, profile)
    if reasons:
        raise _NoTrade(*reasons, expiry=terms.expiry)

    break_even_low = short_put.strike - credit_mid
    break_even_high = short_call.strike + credit_mid
    smile_k, smile_iv = _smile(sl, terms.forward)
    above = prob_settle_above(
        np.array([float(break_even_low), float(break_even_high)]),
        smile_k,
        smile_iv,
        terms.forward,
        terms.t_years,
    )
    pop = float(np.clip(above[0] - above[1], 0.0, 1.0))
    straddle, iv_move = _expected_move(sl, terms)
    limit_price = max(
        _round_to_tick(credit_mid, profile.rules.limit_tick, ROUND_DOWN), credit_natural
    )
    modelled: tuple[str, ...] = chain.modelled
    if terms.forward_modelled and not chain.modelled:
        modelled = (
            f"forward {terms.forward:.2f} modelled from spot and a neighbouring rate: "
            "too few strikes for put-call parity",
        )
    day = asof.astimezone(NEW_YORK).date()
    return CondorSignal(
        signal_id=_signal_id(profile, day, terms, legs),
        track=profile.track,
        risk=profile.risk,
        root=terms.root,
        expiry=terms.expiry,
        settlement=terms.settlement,
        settles_at=terms.settles_at,
        dte_days=(terms.expiry - day).days,
        t_years=terms.t_years,
        legs=legs,
        spot=_money(chain.spot),
        forward=_money(terms.forward),
        credit_mid=credit_mid,
        credit_natural=credit_natural,
        limit_price=limit_price,
        put_width_points=put_width,
        call_width_points=call_width,
        max_profit_usd=credit_mid * SPX_MULTIPLIER,
        max_loss_usd=(width - credit_mid) * SPX_MULTIPLIER,
        break_even_low=break_even_low,
        break_even_high=break_even_high,
        pop=pop,
        expected_move_points=straddle,
        expected_move_iv_points=iv_move,
        management=_management(credit_mid, width, terms, profile),
        data=DataStamp(quote_time=chain.quote_time, source=chain.source, modelled=modelled),
        rule_version=profile.rules.rule_version,
        asof=asof,
    )


def _digest(*parts: object) -> str:
    text = "|".join(str(p) for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _signal_id(
    profile: CondorProfile, day: date, terms: ExpiryTerms, legs: tuple[Leg, Leg, Leg, Leg]
) -> str:
    strikes = "/".join(str(leg.strike) for leg in legs)
    digest = _digest(
        profile.rules.rule_version,
        profile.track,
        profile.risk,
        day,
        terms.root,
        terms.expiry,
        strikes,
    )
    return f"ic-{day:%Y%m%d}-{profile.track}-{profile.risk}-{digest[:8]}"


def _no_trade_day(
    profile: CondorProfile,
    stamp: DataStamp,
    asof: datetime,
    reasons: tuple[NoTradeReason, ...],
    expiry: date | None,
) -> NoTradeDay:
    day = asof.astimezone(NEW_YORK).date()
    digest = _digest(
        profile.rules.rule_version,
        profile.track,
        profile.risk,
        day,
        ",".join(sorted({r.code for r in reasons})),
    )
    return NoTradeDay(
        signal_id=f"nt-{day:%Y%m%d}-{profile.track}-{profile.risk}-{digest[:8]}",
        track=profile.track,
        risk=profile.risk,
        reasons=reasons,
        data=stamp,
        rule_version=profile.rules.rule_version,
        asof=asof,
        expiry=expiry,
    )
