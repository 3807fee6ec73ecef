"""An option chain snapshot with its own forwards, implied volatilities, greeks and quality checks.

`build_chain` turns raw quotes (one row per option) into an immutable `OptionChain`:

* **Forward and discount factor per expiry** come from put-call parity,
  ``C - P = DF * (F - K)`` (Hull, Options, Futures and Other Derivatives, eq. 11.6 / 18.3),
  fitted by weighted, trimmed least squares over near-the-money strikes quoted two-sided on both
  sides. Parity strikes are weighted by the inverse variance of ``C - P`` from the bid/ask spreads,
  and strikes more than 3.5 robust standard deviations off the line are dropped and the line
  refitted. Short expiries pin the forward well but not the discount factor (a 3-day
  discount factor of 0.9996 cannot be told from 0.9999 with nickel spreads): when the fitted
  rate's standard error is above `RATE_SE_LIMIT`, the rate is interpolated from expiries whose
  rate is precise, and the forward is re-solved with that discount factor (``rate_modelled``).
  With fewer than `MIN_PARITY_STRIKES` usable strikes the forward itself is modelled as
  ``spot * exp(carry * t)``, the carry and rate interpolated from neighbouring expiries
  (``forward_modelled``).
* **Time to settlement** runs from ``quote_time`` to the real settlement moment
  (`core.calendar.settlement_of`: 09:30 ET on the expiry date for AM-settled SPX, the 16:00 ET
  close, or 13:00 on an early-close day, for PM-settled SPXW), in years of 365 calendar days of
  24 hours: ACT/365 on the clock, weekends and nights included. This is what Cboe's own IVs
  evidently use (`bench/chain_accuracy.py`): a trading-day clock would miss them by far more.
* **Implied volatility** is Black-76 on the parity forward, solved from the bid/ask mid; a row
  needs a positive bid and ``ask >= bid``. **Greeks** are Black-76 at that volatility, converted
  to the spot with ``F = S * exp(c * t)``: ``dF/dS = exp(c * t)``, so
  ``delta = DF * N(d1) * exp(c * t)`` (comparable with Cboe's published delta) and
  ``gamma = gamma_F * exp(2 * c * t)``; theta holds the spot fixed
  (``theta_F - delta_F * F * c / 365``), which is how a trader watching the index sees the day's
  decay; vega is the same either way. The carry ``c`` (rate minus dividend yield) is the slope
  of ``ln F`` against ``t`` over the parity expiries, so a stale index print (quotes taken
  outside regular hours) does not leak into the greeks; with too few expiries it falls back to
  ``ln(F / S) / t`` per expiry, clipped to a plausible carry.

Quality checks add `QualityIssue` records instead of raising: crossed and zero quotes, NaN bid or
ask (the row is kept, flagged `NAN_FIELD`, and gets no IV), gaps in the strike ladder near the
money, expired expiries, modelled forwards, a spot that disagrees with the option-implied
forward, and stale quotes when ``asof`` is given. Only inputs that cannot describe a chain at all
(mismatched array lengths, duplicate contracts, non-positive strikes, a naive ``quote_time``)
raise `ValueError`.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final, NamedTuple, TypeVar

import numpy as np
from numpy.typing import NDArray

from core.calendar import NEW_YORK, NYSE_EARLY_CLOSES, elapsed_seconds, settlement_of
from core.pricing import IVReason, black76_greeks, black76_implied_vol
from core.types import Settlement

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
DateArray = NDArray[np.datetime64]
StrArray = NDArray[np.str_]

_A = TypeVar("_A", bound=np.ndarray[Any, Any])

SECONDS_PER_YEAR: Final = 365.0 * 86_400.0
#: Fewest strikes quoted two-sided on both sides for a parity fit of forward and discount factor.
MIN_PARITY_STRIKES: Final = 3
#: Parity strikes used at most: the ones nearest the forward (beyond them one side is deep ITM).
MAX_PARITY_STRIKES: Final = 40
#: Parity strikes lie within this many ATM straddle prices of the first forward estimate.
PARITY_BAND_STRADDLES: Final = 1.5
#: A fitted rate with a larger standard error is replaced by its neighbours' rate.
RATE_SE_LIMIT: Final = 0.0075
#: Fitted rates outside this range are treated as imprecise whatever their standard error.
RATE_RANGE: Final = (-0.05, 0.25)
#: Trimming threshold, in robust standard deviations of the weighted parity residual.
TRIM_SIGMAS: Final = 3.5
#: Refits of the trimmed parity line at most.
TRIM_ROUNDS: Final = 4
#: Floor on a bid/ask spread when weighting parity strikes, in index points (one SPX tick).
MIN_SPREAD_POINTS: Final = 0.05
#: Strikes on each side of the forward whose most common spacing is the ladder's step.
LADDER_STRIKES_EACH_SIDE: Final = 5
#: The missing-strike check covers this many ladder steps either side of the forward.
LADDER_WINDOW_STEPS: Final = 4
#: A spot off the shortest parity forward by more than this (after carry) is flagged.
SPOT_MISMATCH_LOG: Final = 0.003
#: The spot check uses the shortest parity expiry, if it settles within this many years.
SPOT_CHECK_MAX_YEARS: Final = 31 / 365
#: Largest dividend yield allowed for in the spot check.
MAX_DIVIDEND_YIELD: Final = 0.03
DEFAULT_MAX_QUOTE_AGE: Final = timedelta(minutes=30)
#: The carry (for spot greeks) is fitted on parity expiries between these times to settlement.
CARRY_MIN_YEARS: Final = 1 / 365
CARRY_MAX_YEARS: Final = 1.0
CARRY_MIN_SPAN_YEARS: Final = 3 / 365
#: Without a carry slope, ``ln(F / S) / t`` of each expiry is clipped to this range: a stale
#: spot over a short expiry would otherwise read as an absurd carry.
CARRY_FALLBACK_RANGE: Final = (-0.05, 0.10)


class QualityCode(StrEnum):
    """What a quality check found."""

    CROSSED = "crossed"
    """Bid above ask: the row gets no IV."""
    ZERO_QUOTE = "zero_quote"
    """Bid and ask both zero: no market (counted per expiry)."""
    MISSING_STRIKE = "missing_strike"
    """A gap in the strike ladder near the money, or a strike quoted on one side only."""
    STALE = "stale"
    """Quotes older than ``max_quote_age`` at ``asof``."""
    FUTURE_QUOTE = "future_quote"
    """Quotes time-stamped after ``asof``: a clock or data error."""
    NAN_FIELD = "nan_field"
    """Bid or ask is NaN: the row is kept and gets no IV."""
    NO_PARITY = "no_parity"
    """Too few two-sided strikes for put-call parity: forward modelled."""
    RATE_MODELLED = "rate_modelled"
    """Parity pinned the forward but not the discount factor: rate taken from neighbours."""
    EXPIRED = "expired"
    """The expiry settled at or before ``quote_time``: no IV or greeks."""
    SPOT_MISMATCH = "spot_mismatch"
    """The printed spot disagrees with the option-implied forward (stale index print)."""


class Severity(StrEnum):
    """How much a quality issue matters to a consumer of the chain."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True, kw_only=True)
class QualityIssue:
    """One finding of the quality checks.

    Attributes:
        code: What was found.
        severity: ERROR means the affected rows or chain should not be traded on; WARNING means
            numbers are degraded (modelled inputs); INFO is expected in real chains.
        root: Option root ("" for chain-wide issues).
        expiry: Expiry concerned, or None for chain-wide issues.
        strike: Strike concerned, or None when the issue covers several.
        detail: A sentence for people, naming the values involved.
    """

    code: QualityCode
    severity: Severity
    root: str
    expiry: date | None
    strike: float | None
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpiryTerms:
    """Settlement, time, forward and discounting of one (root, expiry).

    Attributes:
        root: Option root, e.g. "SPX" (AM-settled) or "SPXW" (PM-settled).
        expiry: Expiration date printed in the symbol.
        settlement: AM or PM settlement.
        settles_at: Aware New York datetime when time value ends.
        t_years: Time elapsed from the chain's quote time to ``settles_at`` in 365-day years
            (`core.calendar.elapsed_seconds`: a daylight-saving change counts); 0.0 once
            settled.
        forward: Forward price of the index for this settlement, in index points.
        discount_factor: ``exp(-rate * t_years)``.
        rate: Continuously compounded discount rate, as a fraction.
        parity_strikes: Strikes behind the parity fit (0 when the forward is modelled).
        forward_modelled: True when the forward is ``spot * exp(carry * t)`` with a neighbouring
            carry instead of a parity fit.
        rate_modelled: True when the rate (not the forward) comes from neighbouring expiries.
    """

    root: str
    expiry: date
    settlement: Settlement
    settles_at: datetime
    t_years: float
    forward: float
    discount_factor: float
    rate: float
    parity_strikes: int
    forward_modelled: bool
    rate_modelled: bool = False

    @property
    def expired(self) -> bool:
        """Whether the expiry had settled at the chain's quote time."""
        return self.t_years <= 0.0


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ExpirySlice:
    """One (root, expiry) as arrays aligned on its sorted unique strikes.

    Call and put fields are NaN where that side is not listed or not computable. Deltas are with
    respect to the spot (calls positive, puts negative); IVs are fractions.
    """

    terms: ExpiryTerms
    strikes: FloatArray
    call_bid: FloatArray
    call_ask: FloatArray
    call_iv: FloatArray
    call_delta: FloatArray
    put_bid: FloatArray
    put_ask: FloatArray
    put_iv: FloatArray
    put_delta: FloatArray


class QuoteRecord(NamedTuple):
    """One option's raw quote, as a loader reads it (NaN where a field is absent)."""

    root: str
    expiry: date
    strike: float
    is_call: bool
    bid: float
    ask: float
    volume: float = math.nan
    open_interest: float = math.nan
    cboe_iv: float = math.nan
    cboe_delta: float = math.nan
    line: int = 0


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class OptionQuotes:
    """Raw quotes in columns: the input of `build_chain`.

    Attributes:
        line: Source line of each row (0 when unknown), quoted in quality issues.
    """

    root: StrArray
    expiry: DateArray
    strike: FloatArray
    is_call: BoolArray
    bid: FloatArray
    ask: FloatArray
    volume: FloatArray
    open_interest: FloatArray
    cboe_iv: FloatArray
    cboe_delta: FloatArray
    line: NDArray[np.int64]

    def __post_init__(self) -> None:
        n = self.strike.shape[0]
        for name in _QUOTE_FIELDS:
            array = getattr(self, name)
            if array.ndim != 1 or array.shape[0] != n:
                raise ValueError(
                    f"every quote column must be 1-D with {n} rows; {name} has shape {array.shape}"
                )

    def __len__(self) -> int:
        return int(self.strike.shape[0])

    @classmethod
    def from_records(cls, records: Iterable[QuoteRecord]) -> OptionQuotes:
        """Collect quote records into columns."""
        rows = list(records)
        return cls(
            root=np.array([r.root for r in rows], dtype=np.str_),
            expiry=np.array([r.expiry for r in rows], dtype="datetime64[D]"),
            strike=np.array([r.strike for r in rows], dtype=np.float64),
            is_call=np.array([r.is_call for r in rows], dtype=np.bool_),
            bid=np.array([r.bid for r in rows], dtype=np.float64),
            ask=np.array([r.ask for r in rows], dtype=np.float64),
            volume=np.array([r.volume for r in rows], dtype=np.float64),
            open_interest=np.array([r.open_interest for r in rows], dtype=np.float64),
            cboe_iv=np.array([r.cboe_iv for r in rows], dtype=np.float64),
            cboe_delta=np.array([r.cboe_delta for r in rows], dtype=np.float64),
            line=np.array([r.line for r in rows], dtype=np.int64),
        )


_QUOTE_FIELDS: Final = (
    "root",
    "expiry",
    "strike",
    "is_call",
    "bid",
    "ask",
    "volume",
    "open_interest",
    "cboe_iv",
    "cboe_delta",
    "line",
)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class OptionChain:
    """An immutable option chain: raw quotes plus our own IVs and greeks, one row per option.

    Rows are sorted by expiry, root, strike, then put before call. Every array is read-only.

    Attributes:
        underlying: Index symbol, e.g. "SPX".
        spot: Index level printed with the quotes, in points.
        quote_time: When the quotes were current (aware, New York).
        source: Where the quotes came from, for people.
        root, expiry, strike, is_call: The contract of each row.
        bid, ask: Quotes (NaN if missing).
        volume, open_interest: As reported (NaN if absent).
        cboe_iv, cboe_delta: The source's own IV and delta, as reported (NaN if absent; Cboe
            prints 0 for "not computed").
        iv, iv_reason: Our Black-76 implied volatility and, where NaN, why (`IVReason` values).
        delta, gamma, theta_per_day, vega_per_vol_point: Our greeks, with respect to the spot.
        terms: One `ExpiryTerms` per (root, expiry), sorted like `expiries()`.
        issues: Quality findings.
        modelled: What in the chain was modelled rather than quoted (empty for a real chain);
            `core.surface.model_chain` fills it, and cards built on the chain show it.
    """

    underlying: str
    spot: float
    quote_time: datetime
    source: str
    root: StrArray
    expiry: DateArray
    strike: FloatArray
    is_call: BoolArray
    bid: FloatArray
    ask: FloatArray
    volume: FloatArray
    open_interest: FloatArray
    cboe_iv: FloatArray
    cboe_delta: FloatArray
    iv: FloatArray
    iv_reason: NDArray[np.int8]
    delta: FloatArray
    gamma: FloatArray
    theta_per_day: FloatArray
    vega_per_vol_point: FloatArray
    terms: tuple[ExpiryTerms, ...]
    issues: tuple[QualityIssue, ...]
    _slices: Mapping[tuple[str, date], ExpirySlice] = field(repr=False)
    modelled: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.quote_time.tzinfo is None:
            raise ValueError(f"quote_time must be timezone-aware, was {self.quote_time!r}")

    def __len__(self) -> int:
        return int(self.strike.shape[0])

    def expiries(self) -> tuple[tuple[str, date], ...]:
        """Return every (root, expiry) in the chain, sorted by expiry then root."""
        return tuple((t.root, t.expiry) for t in self.terms)

    def terms_for(self, root: str, expiry: date) -> ExpiryTerms:
        """Return the terms of one (root, expiry).

        Raises:
            KeyError: If the chain does not list that root and expiry.
        """
        return self._slice(root, expiry).terms

    def expiry_slice(self, root: str, expiry: date) -> ExpirySlice:
        """Return one (root, expiry) as arrays aligned on its sorted unique strikes.

        Raises:
            KeyError: If the chain does not list that root and expiry.
        """
        return self._slice(root, expiry)

    def issues_for(self, root: str, expiry: date) -> tuple[QualityIssue, ...]:
        """Return the quality issues of one (root, expiry), chain-wide ones included."""
        return tuple(
            i for i in self.issues if i.expiry is None or (i.root == root and i.expiry == expiry)
        )

    def _slice(self, root: str, expiry: date) -> ExpirySlice:
        try:
            return self._slices[(root, expiry)]
        except KeyError:
            listed = ", ".join(f"{r} {e:%Y-%m-%d}" for r, e in self.expiries()[:6])
            raise KeyError(
                f"no {root} {expiry:%Y-%m-%d} in the chain (listed: {listed or 'none'})"
            ) from None


# ---------------------------------------------------------------------------------------------
# Building


def build_chain(
    quotes: OptionQuotes,
    spot: float,
    quote_time: datetime,
    source: str,
    *,
    underlying: str = "SPX",
    asof: datetime | None = None,
    max_quote_age: timedelta = DEFAULT_MAX_QUOTE_AGE,
    early_closes: Collection[date] = NYSE_EARLY_CLOSES,
    modelled: tuple[str, ...] = (),
) -> OptionChain:
    """Build an `OptionChain` from raw quotes: forwards, IVs, greeks and quality checks.

    Args:
        quotes: One row per option; (root, expiry, strike, right) must be unique.
        spot: Index level printed with the quotes, in points.
        quote_time: When the quotes were current (aware).
        source: Where the quotes came from, for people.
        underlying: Index symbol.
        asof: If given, the moment the chain is used at; quotes older than ``max_quote_age``
            then are flagged `QualityCode.STALE`.
        max_quote_age: Age limit for the staleness check.
        early_closes: Days the session ends at 13:00 (moves PM settlement).
        modelled: What was modelled rather than quoted, carried to `OptionChain.modelled`.

    Returns:
        The chain.

    Raises:
        ValueError: If ``quote_time`` is naive, the spot is not a positive number, a strike is not
            positive, or a contract appears twice.
    """
    given = ChainInput(
        quotes=quotes,
        spot=spot,
        quote_time=quote_time,
        source=source,
        underlying=underlying,
        asof=asof,
        max_quote_age=max_quote_age,
        early_closes=early_closes,
        modelled=modelled,
    )
    return build_chains([given])[0]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class ChainInput:
    """The arguments of one `build_chain` call, for `build_chains`."""

    quotes: OptionQuotes
    spot: float
    quote_time: datetime
    source: str
    underlying: str = "SPX"
    asof: datetime | None = None
    max_quote_age: timedelta = DEFAULT_MAX_QUOTE_AGE
    early_closes: Collection[date] = NYSE_EARLY_CLOSES
    modelled: tuple[str, ...] = ()


def build_chains(inputs: Sequence[ChainInput]) -> list[OptionChain]:
    """Build many chains at once; each is exactly the chain `build_chain` builds from its input.

    The rows of every chain are solved for IV and greeks in one vectorised pass. A pass over one
    small chain is mostly fixed cost (a modelled 0DTE chain: 1.2 ms alone, 0.17 ms as one of 64),
    and a backtest builds a chain a day.

    Raises:
        ValueError: For the first input `build_chain` would refuse, with its reason.
    """
    prepared = [_prepare(given) for given in inputs]
    if not prepared:
        return []
    rows = _RowInputs.join([p.rows for p in prepared])
    solved = black76_implied_vol(
        rows.mid, rows.is_call, rows.forward, rows.strike, rows.t_years, rows.rate, bid=rows.bid
    )
    reason = solved.reason.astype(np.int8)
    reason[rows.t_years <= 0] = np.int8(IVReason.EXPIRED)
    iv = np.where(reason == IVReason.OK, solved.iv, np.nan)
    g = black76_greeks(rows.is_call, rows.forward, rows.strike, rows.t_years, rows.rate, iv)
    chains: list[OptionChain] = []
    start = 0
    for p in prepared:
        part = slice(start, start + len(p.q))
        start = part.stop
        greeks = _spot_greeks(
            p.rows,
            p.terms,
            p.given.spot,
            (g.delta[part], g.gamma[part], g.theta_per_day[part], g.vega_per_vol_point[part]),
        )
        chains.append(_assemble(p, iv[part], reason[part], greeks))
    return chains


class _RowInputs(NamedTuple):
    # Per row: what the IV solve needs (the expiry's forward, time and rate, and the mid).
    mid: FloatArray
    is_call: BoolArray
    forward: FloatArray
    strike: FloatArray
    t_years: FloatArray
    rate: FloatArray
    bid: FloatArray

    @classmethod
    def join(cls, parts: Sequence[_RowInputs]) -> _RowInputs:
        if len(parts) == 1:
            return parts[0]
        return cls(*(np.concatenate(column) for column in zip(*parts, strict=True)))


class _Prepared(NamedTuple):
    # A chain's input checked, sorted, paired and fitted: everything but IVs and greeks.
    given: ChainInput
    quote_time: datetime
    q: OptionQuotes
    issues: list[QualityIssue]
    pairs: dict[tuple[str, date], _Pairs]
    terms: dict[tuple[str, date], ExpiryTerms]
    rows: _RowInputs


def _prepare(given: ChainInput) -> _Prepared:
    quote_time, spot = given.quote_time, given.spot
    if quote_time.tzinfo is None:
        raise ValueError(f"quote_time must be timezone-aware, was {quote_time!r}")
    if not (math.isfinite(spot) and spot > 0):
        raise ValueError(f"spot must be a positive number, was {spot}")
    if not given.source:
        raise ValueError("source must name where the quotes came from, was empty")
    quote_time = quote_time.astimezone(NEW_YORK)
    q = _sorted_quotes(given.quotes)
    issues: list[QualityIssue] = []
    issues += _row_issues(q)

    groups = _groups(q)
    pairs = {key: _pairs(q, rows) for key, rows in groups.items()}
    terms, parity_issues = _expiry_terms(q, pairs, spot, quote_time, given.early_closes)
    issues += parity_issues
    issues += _ladder_issues(pairs, terms)
    issues += _spot_issues(terms, spot)
    if given.asof is not None:
        issues += _staleness_issues(quote_time, given.asof, given.max_quote_age)
    return _Prepared(given, quote_time, q, issues, pairs, terms, _row_inputs(q, groups, terms))


def _assemble(
    p: _Prepared,
    iv: FloatArray,
    reason: NDArray[np.int8],
    greeks: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
) -> OptionChain:
    q, terms, pairs = p.q, p.terms, p.pairs
    ordered = tuple(terms[key] for key in sorted(terms, key=lambda k: (k[1], k[0])))
    slices = {
        (t.root, t.expiry): _make_slice(q, pairs[(t.root, t.expiry)], t, iv, greeks[0])
        for t in ordered
    }
    return OptionChain(
        underlying=p.given.underlying,
        spot=float(p.given.spot),
        quote_time=p.quote_time,
        source=p.given.source,
        root=_sealed(q.root),
        expiry=_sealed(q.expiry),
        strike=_sealed(q.strike),
        is_call=_sealed(q.is_call),
        bid=_sealed(q.bid),
        ask=_sealed(q.ask),
        volume=_sealed(q.volume),
        open_interest=_sealed(q.open_interest),
        cboe_iv=_sealed(q.cboe_iv),
        cboe_delta=_sealed(q.cboe_delta),
        iv=_sealed(iv),
        iv_reason=_sealed(reason),
        delta=_sealed(greeks[0]),
        gamma=_sealed(greeks[1]),
        theta_per_day=_sealed(greeks[2]),
        vega_per_vol_point=_frozen(greeks[3]),
        terms=ordered,
        issues=tuple(p.issues),
        _slices=MappingProxyType(slices),
        modelled=tuple(p.given.modelled),
    )


def _frozen(array: _A) -> _A:
    out = array.copy()
    out.flags.writeable = False
    return out


def _sealed(array: _A) -> _A:
    # Read-only without a copy, for an array this module has just made and nothing else holds
    # (the sorted quotes are gathered copies; IVs, reasons and spot greeks are computed here).
    array.flags.writeable = False
    return array


def _sorted_quotes(quotes: OptionQuotes) -> OptionQuotes:
    bad = ~(np.isfinite(quotes.strike) & (quotes.strike > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"strikes must be positive numbers; row {i} (line {int(quotes.line[i])}) has "
            f"{quotes.strike[i]}"
        )
    order = np.lexsort((quotes.is_call, quotes.strike, quotes.root, quotes.expiry))
    q = OptionQuotes(**{name: getattr(quotes, name)[order] for name in _QUOTE_FIELDS})
    if len(q) > 1:
        same = (
            (q.expiry[1:] == q.expiry[:-1])
            & (q.root[1:] == q.root[:-1])
            & (q.strike[1:] == q.strike[:-1])
            & (q.is_call[1:] == q.is_call[:-1])
        )
        if same.any():
            i = int(np.flatnonzero(same)[0]) + 1
            raise ValueError(
                f"contract {_contract(q, i)} appears twice (lines {int(q.line[i - 1])} and "
                f"{int(q.line[i])})"
            )
    return q


def _contract(q: OptionQuotes, i: int) -> str:
    right = "C" if q.is_call[i] else "P"
    return f"{q.root[i]} {q.expiry[i]} {_fmt_strike(float(q.strike[i]))}{right}"


def _fmt_strike(strike: float) -> str:
    return f"{strike:g}" if strike == int(strike) else f"{strike:.2f}"


def _where(q: OptionQuotes, i: int) -> str:
    line = int(q.line[i])
    return f"line {line}: " if line > 0 else ""


def _row_issues(q: OptionQuotes) -> list[QualityIssue]:
    issues: list[QualityIssue] = []
    for i in np.flatnonzero(np.isnan(q.bid) | np.isnan(q.ask)):
        fields = [n for n, v in (("bid", q.bid[i]), ("ask", q.ask[i])) if math.isnan(v)]
        issues.append(
            _row_issue(
                q,
                int(i),
                QualityCode.NAN_FIELD,
                Severity.ERROR,
                f"{' and '.join(fields)} is NaN; the row gets no IV",
            )
        )
    with np.errstate(invalid="ignore"):
        crossed = q.bid > q.ask
        zero = (q.bid == 0) & (q.ask == 0)
    for i in np.flatnonzero(crossed):
        issues.append(
            _row_issue(
                q,
                int(i),
                QualityCode.CROSSED,
                Severity.ERROR,
                f"bid {q.bid[i]:g} is above ask {q.ask[i]:g}; the row gets no IV",
            )
        )
    for key, idx in _groups_of(q, zero).items():
        strikes = q.strike[idx]
        issues.append(
            QualityIssue(
                code=QualityCode.ZERO_QUOTE,
                severity=Severity.INFO,
                root=key[0],
                expiry=key[1],
                strike=float(strikes[0]) if idx.size == 1 else None,
                detail=(
                    f"{idx.size} options quoted 0/0 (no market), strikes "
                    f"{_fmt_strike(float(strikes.min()))}-{_fmt_strike(float(strikes.max()))}"
                ),
            )
        )
    return issues


def _row_issue(
    q: OptionQuotes, i: int, code: QualityCode, severity: Severity, what: str
) -> QualityIssue:
    return QualityIssue(
        code=code,
        severity=severity,
        root=str(q.root[i]),
        expiry=_to_date(q.expiry[i]),
        strike=float(q.strike[i]),
        detail=f"{_where(q, i)}{_contract(q, i)}: {what}",
    )


def _to_date(value: np.datetime64) -> date:
    result = value.astype("datetime64[D]").item()
    assert isinstance(result, date)  # noqa: S101 - datetime64[D].item() is always a date
    return result


def _groups_of(q: OptionQuotes, mask: BoolArray) -> dict[tuple[str, date], NDArray[np.intp]]:
    out: dict[tuple[str, date], NDArray[np.intp]] = {}
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return out
    for key, rows in _groups(q).items():
        sel = rows[mask[rows]]
        if sel.size:
            out[key] = sel
    return out


def _groups(q: OptionQuotes) -> dict[tuple[str, date], NDArray[np.intp]]:
    # Rows are sorted by expiry then root, so each (root, expiry) is one contiguous run.
    n = len(q)
    if n == 0:
        return {}
    change = np.flatnonzero((q.expiry[1:] != q.expiry[:-1]) | (q.root[1:] != q.root[:-1])) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [n]))
    return {
        (str(q.root[s]), _to_date(q.expiry[s])): np.arange(s, e, dtype=np.intp)
        for s, e in zip(starts, ends, strict=True)
    }


class _Pairs(NamedTuple):
    strikes: FloatArray
    call_rows: NDArray[np.intp]  # -1 where no call
    put_rows: NDArray[np.intp]  # -1 where no put


def _pairs(q: OptionQuotes, rows: NDArray[np.intp]) -> _Pairs:
    # `rows` is one (root, expiry) of sorted quotes, so its strikes are sorted already: their
    # unique values and inverse are those of np.unique without its sort.
    sorted_strikes = q.strike[rows]
    first = np.empty(rows.size, dtype=np.bool_)
    first[:1] = True
    np.not_equal(sorted_strikes[1:], sorted_strikes[:-1], out=first[1:])
    strikes = sorted_strikes[first]
    inverse = np.cumsum(first) - 1
    call_rows = np.full(strikes.size, -1, dtype=np.intp)
    put_rows = np.full(strikes.size, -1, dtype=np.intp)
    calls = q.is_call[rows]
    call_rows[inverse[calls]] = rows[calls]
    put_rows[inverse[~calls]] = rows[~calls]
    return _Pairs(strikes, call_rows, put_rows)


def _take(values: FloatArray, rows: NDArray[np.intp]) -> FloatArray:
    have = rows >= 0
    if have.all():  # every strike listed on this side: a plain gather
        taken: FloatArray = values[rows]
        return taken
    out = np.full(rows.size, np.nan)
    out[have] = values[rows[have]]
    return out


class _Fit(NamedTuple):
    forward: float
    discount_factor: float
    rate_se: float
    strikes: int
    # Kept for a re-solve with a given discount factor.
    k: FloatArray
    y: FloatArray
    w: FloatArray


def _fit_parity(q: OptionQuotes, pairs: _Pairs, t_years: float) -> _Fit | str:
    """Return the parity fit, or why there is none."""
    cb, ca = _take(q.bid, pairs.call_rows), _take(q.ask, pairs.call_rows)
    pb, pa = _take(q.bid, pairs.put_rows), _take(q.ask, pairs.put_rows)
    with np.errstate(invalid="ignore"):
        live = np.isfinite(cb + ca + pb + pa) & (cb > 0) & (pb > 0) & (ca >= cb) & (pa >= pb)
    n_live = int(live.sum())
    if n_live < MIN_PARITY_STRIKES:
        return f"only {n_live} strikes quoted two-sided on both sides (need {MIN_PARITY_STRIKES})"
    k = pairs.strikes[live]
    c = (cb[live] + ca[live]) / 2
    p = (pb[live] + pa[live]) / 2
    y = c - p
    spread_var = (
        np.maximum(ca[live] - cb[live], MIN_SPREAD_POINTS) ** 2
        + np.maximum(pa[live] - pb[live], MIN_SPREAD_POINTS) ** 2
    )
    w = 1.0 / spread_var
    # First guess: the strike where C - P is smallest, moved by C - P (DF ~ 1).
    atm = int(np.argmin(np.abs(y)))
    f0 = float(k[atm] + y[atm])
    straddle = float(c[atm] + p[atm])
    distance = np.abs(k - f0)
    band = max(PARITY_BAND_STRADDLES * straddle, 1e-9)
    near = distance <= band
    if int(near.sum()) < 2 * MIN_PARITY_STRIKES:
        near = distance <= np.sort(distance)[min(2 * MIN_PARITY_STRIKES, k.size) - 1]
    if int(near.sum()) > MAX_PARITY_STRIKES:
        near = distance <= np.sort(distance[near])[MAX_PARITY_STRIKES - 1]
    k, y, w = k[near], y[near], w[near]
    # Iteratively trimmed WLS: refit without strikes far off the line (a stale or fat-fingered
    # quote) until the kept set stops changing.
    keep = np.ones(k.size, dtype=np.bool_)
    solved = _wls(k - f0, y, w)
    for _ in range(TRIM_ROUNDS):
        alpha, slope, _ = solved
        resid = (y - (alpha - slope * (k - f0))) * np.sqrt(w)
        kept = resid[keep]
        scale = 1.4826 * float(np.median(np.abs(kept - np.median(kept))))
        new_keep = np.abs(resid) <= TRIM_SIGMAS * max(scale, 1e-12)
        if bool((new_keep == keep).all()) or int(new_keep.sum()) < MIN_PARITY_STRIKES:
            break
        keep = new_keep
        solved = _wls(k[keep] - f0, y[keep], w[keep])
    alpha, slope, slope_se = solved
    if not (math.isfinite(alpha) and math.isfinite(slope) and 0.5 < slope < 1.5):
        return f"the parity fit over {n_live} strikes gives an impossible discount factor {slope}"
    forward = f0 + alpha / slope
    rate_se = slope_se / (slope * t_years) if t_years > 0 else math.inf
    return _Fit(forward, slope, rate_se, int(keep.sum()), k[keep], y[keep], w[keep])


def _wls(x: FloatArray, y: FloatArray, w: FloatArray) -> tuple[float, float, float]:
    """Fit ``y = alpha - slope * x`` by weighted least squares; return alpha, slope, se(slope)."""
    sw = float(w.sum())
    xm = float((w * x).sum()) / sw
    ym = float((w * y).sum()) / sw
    sxx = float((w * (x - xm) ** 2).sum())
    if sxx <= 0:
        return math.nan, math.nan, math.inf
    slope = -float((w * (x - xm) * (y - ym)).sum()) / sxx
    alpha = ym + slope * xm
    n = x.size
    if n > 2:
        resid = y - (alpha - slope * x)
        sigma2 = float((w * resid**2).sum()) / (n - 2)
        se = math.sqrt(sigma2 / sxx)
    else:
        se = math.inf
    return alpha, slope, se


def _expiry_terms(
    q: OptionQuotes,
    pairs: Mapping[tuple[str, date], _Pairs],
    spot: float,
    quote_time: datetime,
    early_closes: Collection[date],
) -> tuple[dict[tuple[str, date], ExpiryTerms], list[QualityIssue]]:
    issues: list[QualityIssue] = []
    timing: dict[tuple[str, date], tuple[Settlement, datetime, float]] = {}
    fits: dict[tuple[str, date], _Fit | str] = {}
    for key in pairs:
        settlement, settles_at = settlement_of(key[0], key[1], early_closes)
        t = max(elapsed_seconds(quote_time, settles_at) / SECONDS_PER_YEAR, 0.0)
        timing[key] = (settlement, settles_at, t)
        if t > 0:
            fits[key] = _fit_parity(q, pairs[key], t)

    def precise(fit: _Fit | str, t: float) -> bool:
        if isinstance(fit, str):
            return False
        rate = -math.log(fit.discount_factor) / t
        return fit.rate_se <= RATE_SE_LIMIT and RATE_RANGE[0] <= rate <= RATE_RANGE[1]

    # Curves of rate and carry against time from the expiries that pin them down.
    rate_pts = sorted(
        (timing[k][2], -math.log(f.discount_factor) / timing[k][2])
        for k, f in fits.items()
        if not isinstance(f, str) and precise(f, timing[k][2])
    )
    carry_pts = sorted(
        (timing[k][2], math.log(f.forward / spot) / timing[k][2])
        for k, f in fits.items()
        if not isinstance(f, str)
    )

    terms: dict[tuple[str, date], ExpiryTerms] = {}
    for key in pairs:
        settlement, settles_at, t = timing[key]
        if t <= 0:
            terms[key] = ExpiryTerms(
                root=key[0],
                expiry=key[1],
                settlement=settlement,
                settles_at=settles_at,
                t_years=0.0,
                forward=spot,
                discount_factor=1.0,
                rate=0.0,
                parity_strikes=0,
                forward_modelled=True,
            )
            issues.append(
                QualityIssue(
                    code=QualityCode.EXPIRED,
                    severity=Severity.INFO,
                    root=key[0],
                    expiry=key[1],
                    strike=None,
                    detail=(
                        f"{key[0]} {key[1]:%Y-%m-%d} settled at {settles_at:%Y-%m-%d %H:%M} ET, "
                        f"before the quote time {quote_time:%Y-%m-%d %H:%M} ET: no IV or greeks"
                    ),
                )
            )
            continue
        fit = fits[key]
        if isinstance(fit, str):
            rate = _interp(rate_pts, t, 0.0)
            carry = _interp(carry_pts, t, rate)
            forward = spot * math.exp(carry * t)
            terms[key] = ExpiryTerms(
                root=key[0],
                expiry=key[1],
                settlement=settlement,
                settles_at=settles_at,
                t_years=t,
                forward=forward,
                discount_factor=math.exp(-rate * t),
                rate=rate,
                parity_strikes=0,
                forward_modelled=True,
                rate_modelled=True,
            )
            issues.append(
                QualityIssue(
                    code=QualityCode.NO_PARITY,
                    severity=Severity.WARNING,
                    root=key[0],
                    expiry=key[1],
                    strike=None,
                    detail=(
                        f"{fit}: forward {forward:.2f} modelled from spot with a carry of "
                        f"{carry:.4f} and a rate of {rate:.4f} from neighbouring expiries"
                    ),
                )
            )
            continue
        forward, df = fit.forward, fit.discount_factor
        rate = -math.log(df) / t
        rate_modelled = not precise(fit, t)
        if rate_modelled:
            fitted_rate = rate
            rate = _interp(rate_pts, t, 0.0)
            df = math.exp(-rate * t)
            # Re-solve F = K + (C - P) / DF per strike, weighted as in the fit.
            forward = float((fit.w * (fit.k + fit.y / df)).sum() / fit.w.sum())
            issues.append(
                QualityIssue(
                    code=QualityCode.RATE_MODELLED,
                    severity=Severity.INFO,
                    root=key[0],
                    expiry=key[1],
                    strike=None,
                    detail=(
                        f"parity rate {fitted_rate:.4f} (standard error {fit.rate_se:.4f}) is "
                        f"imprecise over {t * 365:.1f} days: rate {rate:.4f} from neighbouring "
                        f"expiries, forward {forward:.2f} re-solved with it"
                    ),
                )
            )
        terms[key] = ExpiryTerms(
            root=key[0],
            expiry=key[1],
            settlement=settlement,
            settles_at=settles_at,
            t_years=t,
            forward=forward,
            discount_factor=df,
            rate=rate,
            parity_strikes=fit.strikes,
            forward_modelled=False,
            rate_modelled=rate_modelled,
        )
    return terms, issues


def _interp(points: Sequence[tuple[float, float]], t: float, default: float) -> float:
    """Interpolate linearly in time; flat beyond the ends; ``default`` with no points."""
    if not points:
        return default
    ts = np.array([p[0] for p in points])
    vs = np.array([p[1] for p in points])
    return float(np.interp(t, ts, vs))


def _ladder_issues(
    pairs_of: Mapping[tuple[str, date], _Pairs],
    terms: Mapping[tuple[str, date], ExpiryTerms],
) -> list[QualityIssue]:
    # Listed SPX ladders are irregular away from the money (5-point strikes near it, 10s, 25s
    # and 50s further out, plus strikes added as the index moves), so only a hole in the
    # ladder's usual step within a few steps of the forward counts as missing.
    issues: list[QualityIssue] = []
    for key, pairs in pairs_of.items():
        t = terms[key]
        if t.expired:
            continue
        strikes = pairs.strikes
        if strikes.size < 3:
            continue
        centre = int(np.searchsorted(strikes, t.forward))
        lo = max(centre - LADDER_STRIKES_EACH_SIDE, 0)
        hi = min(centre + LADDER_STRIKES_EACH_SIDE, strikes.size)
        values, counts = np.unique(np.diff(strikes[lo:hi]), return_counts=True)
        step = float(values[np.argmax(counts)])
        reach = LADDER_WINDOW_STEPS * step
        inside = np.abs(strikes - t.forward) <= reach
        for side, rows_of in (("call", pairs.call_rows), ("put", pairs.put_rows)):
            for j in np.flatnonzero(inside & (rows_of < 0)):
                issues.append(
                    QualityIssue(
                        code=QualityCode.MISSING_STRIKE,
                        severity=Severity.WARNING,
                        root=key[0],
                        expiry=key[1],
                        strike=float(strikes[j]),
                        detail=f"{_fmt_strike(float(strikes[j]))} is listed without a {side}",
                    )
                )
        below, above = strikes[:-1], strikes[1:]
        near = (above >= t.forward - reach) & (below <= t.forward + reach)
        for j in np.flatnonzero(near & (above - below > step * 1.5)):
            low, high = float(below[j]), float(above[j])
            missing = round((high - low) / step) - 1
            issues.append(
                QualityIssue(
                    code=QualityCode.MISSING_STRIKE,
                    severity=Severity.WARNING,
                    root=key[0],
                    expiry=key[1],
                    strike=low + step,
                    detail=(
                        f"{missing} strike(s) missing between {_fmt_strike(low)} and "
                        f"{_fmt_strike(high)} near the forward {t.forward:.2f} (ladder step "
                        f"{_fmt_strike(step)})"
                    ),
                )
            )
    return issues


def _spot_issues(terms: Mapping[tuple[str, date], ExpiryTerms], spot: float) -> list[QualityIssue]:
    fitted = [
        t
        for t in terms.values()
        if not t.forward_modelled and 0 < t.t_years <= SPOT_CHECK_MAX_YEARS
    ]
    if not fitted:
        return []
    nearest = min(fitted, key=lambda t: t.t_years)
    # F = S * exp((r - q) * t): allow the rate's carry exactly and the dividend yield's
    # (at most a few percent a year) as slack on top of the threshold.
    gap = math.log(nearest.forward / spot) - nearest.rate * nearest.t_years
    if abs(gap) <= SPOT_MISMATCH_LOG + MAX_DIVIDEND_YIELD * nearest.t_years:
        return []
    return [
        QualityIssue(
            code=QualityCode.SPOT_MISMATCH,
            severity=Severity.WARNING,
            root="",
            expiry=None,
            strike=None,
            detail=(
                f"spot {spot:.2f} is {gap:+.2%} off the {nearest.root} {nearest.expiry:%Y-%m-%d} "
                f"parity forward {nearest.forward:.2f}: the index print is stale (quotes taken "
                "outside regular hours?); greeks with respect to spot use it as printed"
            ),
        )
    ]


def _staleness_issues(
    quote_time: datetime, asof: datetime, max_quote_age: timedelta
) -> list[QualityIssue]:
    if asof.tzinfo is None:
        raise ValueError(f"asof must be timezone-aware, was {asof!r}")
    age = asof - quote_time
    asof_ny = asof.astimezone(NEW_YORK)
    if age < timedelta(0):
        return [
            QualityIssue(
                code=QualityCode.FUTURE_QUOTE,
                severity=Severity.ERROR,
                root="",
                expiry=None,
                strike=None,
                detail=(
                    f"quotes are time-stamped {quote_time:%Y-%m-%d %H:%M} ET, after asof "
                    f"{asof_ny:%Y-%m-%d %H:%M} ET"
                ),
            )
        ]
    if age > max_quote_age:
        return [
            QualityIssue(
                code=QualityCode.STALE,
                severity=Severity.ERROR,
                root="",
                expiry=None,
                strike=None,
                detail=(
                    f"quotes from {quote_time:%Y-%m-%d %H:%M} ET are {_age_text(age)} old at "
                    f"{asof_ny:%Y-%m-%d %H:%M} ET (limit {_age_text(max_quote_age)})"
                ),
            )
        ]
    return []


def _age_text(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes / 60
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def _row_inputs(
    q: OptionQuotes,
    groups: Mapping[tuple[str, date], NDArray[np.intp]],
    terms: Mapping[tuple[str, date], ExpiryTerms],
) -> _RowInputs:
    n = len(q)
    forward = np.empty(n)
    t_years = np.empty(n)
    rate = np.empty(n)
    for key, rows in groups.items():
        t = terms[key]
        forward[rows] = t.forward
        t_years[rows] = t.t_years
        rate[rows] = t.rate
    with np.errstate(invalid="ignore"):
        # A crossed quote has no meaningful mid: make it a bad input for the solver.
        mid = np.where(q.bid <= q.ask, (q.bid + q.ask) / 2, np.nan)
    return _RowInputs(mid, q.is_call, forward, q.strike, t_years, rate, q.bid)


def _spot_greeks(
    rows: _RowInputs,
    terms: Mapping[tuple[str, date], ExpiryTerms],
    spot: float,
    forward_greeks: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    # Black-76 greeks (in the forward) turned into greeks in the spot, with the index's carry.
    f_delta, f_gamma, f_theta_per_day, vega_per_vol_point = forward_greeks
    forward, t_years = rows.forward, rows.t_years
    carry = np.full(forward.size, _carry_slope(terms.values()))
    with np.errstate(divide="ignore", invalid="ignore"):
        if np.isnan(carry).any():
            carry = np.where(t_years > 0, np.log(forward / spot) / t_years, 0.0)
            carry = np.clip(carry, *CARRY_FALLBACK_RANGE)
        dfds = np.exp(carry * t_years)  # dF/dS when F = S * exp(carry * t)
        delta = f_delta * dfds
        gamma = f_gamma * dfds * dfds
        theta = f_theta_per_day - f_delta * forward * carry / 365.0
    return delta, gamma, theta, vega_per_vol_point


def _carry_slope(terms: Iterable[ExpiryTerms]) -> float:
    """Return the index's carry (rate minus dividend yield) as the slope of ln F against t.

    The slope ignores the level of the printed spot, which may be stale (quotes from outside
    regular hours); NaN when fewer than two parity expiries span at least three days within the
    first year.
    """
    points = [
        (t.t_years, math.log(t.forward))
        for t in terms
        if not t.forward_modelled and CARRY_MIN_YEARS <= t.t_years <= CARRY_MAX_YEARS
    ]
    if len(points) < 2:
        return math.nan
    ts = np.array([p[0] for p in points])
    if ts.max() - ts.min() < CARRY_MIN_SPAN_YEARS:
        return math.nan
    ys = np.array([p[1] for p in points])
    slope, _ = np.polyfit(ts, ys, 1)
    return float(slope)


def _make_slice(
    q: OptionQuotes,
    pairs: _Pairs,
    terms: ExpiryTerms,
    iv: FloatArray,
    delta: FloatArray,
) -> ExpirySlice:
    c, p = pairs.call_rows, pairs.put_rows
    return ExpirySlice(
        terms=terms,
        strikes=_sealed(pairs.strikes),
        call_bid=_sealed(_take(q.bid, c)),
        call_ask=_sealed(_take(q.ask, c)),
        call_iv=_sealed(_take(iv, c)),
        call_delta=_sealed(_take(delta, c)),
        put_bid=_sealed(_take(q.bid, p)),
        put_ask=_sealed(_take(q.ask, p)),
        put_iv=_sealed(_take(iv, p)),
        put_delta=_sealed(_take(delta, p)),
    )
