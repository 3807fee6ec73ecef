"""Replay one real trading day through the condor selector and the ALVH hedge engine.

Composes the adapters (1-minute SPX bars, Cboe index history, NYSE breadth, chain snapshots) with
the pure core: the morning condor at the track's entry time, then the engine every few minutes
to the close, then the day's result. What is modelled is said on every event that uses it.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bot.adapters.market_data import load_chain
from bot.adapters.market_data.bars_csv import list_days, load_bars
from bot.adapters.market_data.breadth_csv import load_breadth
from bot.adapters.market_data.index_history import VolIndices, load_vol_indices
from bot.adapters.market_data.vx_history import SETTLE_DELAY, VxHistory
from core.bars import Bars, check_bars
from core.calendar import NEW_YORK, session_close, session_open, trading_days_between
from core.chain import OptionChain, Severity
from core.condor import CondorProfile, select_condor
from core.hedge import (
    EngineState,
    MarketState,
    OpenCondor,
    TriggerSeries,
    VolIndexLevels,
    settle,
    step,
)
from core.rules import CondorRules, HedgeRules
from core.surface import ChainRequest, IndexLevels, model_chains
from core.types import CondorSignal, DataStamp, Event, NoTradeCode, NoTradeDay, Risk, Track
from core.vix import VxCurve

#: Modelled carry inputs for a modelled chain (no rates data is shipped); for a same-day
#: expiry they move prices by well under a cent.
MODEL_RATE = 0.045
MODEL_DIVIDEND_YIELD = 0.016
#: Breadth older than this many trading days is not a regime input any more.
MAX_BREADTH_AGE_DAYS = 5
#: A gap or bad bar this recent blocks a hedge decision.
RECENT_ISSUE = timedelta(minutes=15)


class ReplayError(ValueError):
    """A replay that cannot run (no bars for the day, a track the replay does not cover)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Replay:
    """The events of a replayed day in time order, and what the replay had to assume."""

    day: date
    track: Track
    risk: Risk
    events: tuple[Event, ...]
    notes: tuple[str, ...]


def _bars_file(data_dir: Path) -> Path:
    found = sorted((data_dir / "intraday").glob("SPX_1min_*"))
    if not found:
        raise ReplayError(f"no SPX 1-minute bars under {data_dir / 'intraday'}")
    return found[0]


def _real_chain(data_dir: Path, day: date, entry: datetime) -> OptionChain | None:
    for path in _intraday_chain_files(data_dir / "chains").get(day, ()):
        chain = load_chain(path)
        if abs(chain.quote_time - entry) <= timedelta(minutes=30):
            return chain
    return None


_INTRADAY_CHAIN = re.compile(r"spx_cboe_(\d{4}-\d{2}-\d{2})_intraday")


def _intraday_chain_files(chains_dir: Path) -> dict[date, tuple[Path, ...]]:
    """The recorded intraday chain files under `chains_dir` by day, in name order.

    Listed once per state of the directory (its modification time), not globbed per day: a
    backtest asks on every entry day.
    """
    try:
        stamp = chains_dir.stat().st_mtime_ns
    except FileNotFoundError:
        return {}
    return _listed_chain_files(chains_dir, stamp)


@lru_cache(maxsize=8)
def _listed_chain_files(chains_dir: Path, stamp: int) -> dict[date, tuple[Path, ...]]:
    # `stamp` keys the listing to the directory's state.
    found: dict[date, list[Path]] = {}
    for path in sorted(chains_dir.glob("spx_cboe_*_intraday*")):
        matched = _INTRADAY_CHAIN.match(path.name)
        if matched:
            found.setdefault(date.fromisoformat(matched.group(1)), []).append(path)
    return {day: tuple(paths) for day, paths in found.items()}


def ad_line_for(data_dir: Path, day: date) -> tuple[NDArray[np.float64] | None, str]:
    """The daily NYSE A/D line known on `day` from the shipped breadth, and where it comes from.

    None (and a note saying so) when the newest count is more than `MAX_BREADTH_AGE_DAYS`
    trading days old: the A/D trigger is then unavailable.
    """
    breadth = load_breadth(data_dir / "breadth", day=day)
    prior = breadth.before(day)
    latest = prior.last_date
    if latest is None or trading_days_between(latest, day) > MAX_BREADTH_AGE_DAYS:
        shown = f"{latest:%Y-%m-%d}" if latest else "none"
        return None, (
            f"no NYSE advance/decline data near {day:%Y-%m-%d} (latest {shown}): "
            "A/D trigger unavailable"
        )
    kind = "official NYSE counts" if breadth.official else "publisher-computed counts"
    return prior.ad_line(), (
        f"daily A/D line through {latest:%Y-%m-%d} ({kind}); no intraday breadth: prior days' line"
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Opening:
    """The day's constants of the intraday VIX model (`RecordedDayFeed.vol_at`)."""

    levels: IndexLevels
    vvix: float
    beta: float


@dataclass(frozen=True, slots=True, kw_only=True)
class _CurveUse:
    """What the intraday VIX model makes of the VX curve known at a moment of the day."""

    known: VxCurve | None
    curve: VxCurve | None
    curve_close: tuple[float, float, float] | None
    modelled: str


def _opening(indices: VolIndices, day: date, rules: HedgeRules) -> _Opening:
    levels = indices.levels_at(session_open(day) + timedelta(minutes=1))
    _, vvix = indices.vvix.latest_at_or_before(day - timedelta(days=1))
    return _Opening(levels=levels, vvix=vvix, beta=rules.sensitivity.vix_pct_per_spx_pct.mid)


def _curve_use(indices: VolIndices, day: date, beta: float, known: VxCurve | None) -> _CurveUse:
    curve, curve_close = _with_closes(indices, known)
    term = indices.term_note(day)
    return _CurveUse(
        known=known,
        curve=curve,
        curve_close=curve_close,
        modelled=(
            f"intraday VIX/VIX9D/VIX3M modelled: {day:%Y-%m-%d} opening values moved by "
            f"{beta:g}% per 1% SPX change since the open; VVIX previous close"
            + (
                f"; VIX futures from the real CFE settles of {curve.trade_date:%Y-%m-%d} moved "
                "by the modelled change since"
                if curve is not None
                else ""
            )
            + (f"; {term}" if term else "")
        ),
    )


def _moved(opening: _Opening, use: _CurveUse, spot: float, open_spot: float) -> VolIndexLevels:
    # The day's opening levels moved with SPX since the open.
    scale = max(1.0 + opening.beta * (spot / open_spot - 1.0), 0.2)
    levels = opening.levels
    return VolIndexLevels(
        vix=levels.vix * scale,
        vix9d=levels.vix9d * scale,
        vix3m=levels.vix3m * scale,
        vvix=opening.vvix,
        modelled=use.modelled,
        vx_curve=use.curve,
        vx_curve_close=use.curve_close,
    )


def _with_closes(
    indices: VolIndices, curve: VxCurve | None
) -> tuple[VxCurve | None, tuple[float, float, float] | None]:
    # A curve is used only with the VIX/VIX9D/VIX3M closes of its own trade date (the levels
    # its settles belong to); without them the futures stay estimated.
    if curve is None:
        return None, None
    day = curve.trade_date
    series = (indices.vix, indices.vix9d, indices.vix3m)
    if not all(day in s for s in series):
        return None, None
    return curve, (
        indices.vix.close_on(day),
        indices.vix9d.close_on(day),
        indices.vix3m.close_on(day),
    )


def _last_close(seen: Bars) -> float:
    return float(seen.close[-1]) if len(seen) else float("nan")


def _finite(values: NDArray[np.float64]) -> NDArray[np.float64]:
    kept: NDArray[np.float64] = values[np.isfinite(values)]
    return kept


def recent_bar_issues(bars: Bars, day: date, asof: datetime) -> tuple[str, ...]:
    """What in the bars seen by `asof` blocks a hedge decision (recent gaps, bad or late bars)."""
    issues = check_bars(bars, session_open(day), asof)
    blocking = []
    for issue in issues:
        if issue.severity is Severity.INFO:
            continue
        end = issue.end
        if end is None and issue.index is not None:
            end = bars.end_at(issue.index)
        if end is None or end >= asof - RECENT_ISSUE:
            blocking.append(f"SPX bars: {issue.detail}")
    return (*blocking, *_stale_issues(bars, asof))


def _stale_issues(bars: Bars, asof: datetime) -> tuple[str, ...]:
    blocking = []
    if len(bars) == 0:
        blocking.append(f"SPX bars: none up to {asof.astimezone(NEW_YORK):%H:%M} ET")
    else:
        age = asof - bars.end_at(len(bars) - 1)
        if age > RECENT_ISSUE:
            blocking.append(
                f"SPX bars: the last bar ended {int(age.total_seconds() // 60)} min before "
                f"{asof.astimezone(NEW_YORK):%H:%M} ET"
            )
    return tuple(blocking)


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedDayFeed:
    """One recorded trading day, served as of any moment of it without looking ahead.

    The market-data side of a replay and of the demo: the chain at entry (real if one was
    recorded near that time, else modelled from the day's indices), the market state at each
    bar for the hedge engine, and the settlement.
    """

    day: date
    data_dir: Path
    bars: Bars
    session: Bars
    warmup: NDArray[np.float64]
    indices: VolIndices
    ad_line: NDArray[np.float64] | None
    ad_note: str
    open_spot: float
    hedge_rules: HedgeRules
    vx: VxHistory | None = None
    #: The session's 5-minute bars, resampled on first use (None: the bars cannot be).
    five_minute: Bars | None = field(init=False, default=None, repr=False)
    #: Whether the whole session's bars pass `check_bars` without warnings or errors (None:
    #: not checked yet).
    clean_session: bool | None = field(init=False, default=None, repr=False)
    #: How many market states this feed has served.
    served: int = field(init=False, default=0, repr=False)
    #: The bars were built by a model that makes no gaps, NaN or disorder (the backtest's path):
    #: the session is clean without checking it.
    modelled_bars: bool = False
    #: The day's layer-1 indicator series, computed once over its whole 5-minute closes.
    trigger_series: TriggerSeries | None = field(init=False, default=None, repr=False)
    #: How many of the warm-up and `five_minute` closes up to each 5-minute bar are finite
    #: (entry k: through the first k bars), once `five_minute` is at hand and in order.
    _finite_upto: NDArray[np.intp] | None = field(
        init=False, default=None, repr=False, compare=False
    )
    #: The day's constants of the intraday VIX model, looked up on first use.
    _vol_opening: _Opening | None = field(init=False, default=None, repr=False, compare=False)
    #: The VX curve last served and what the intraday VIX model made of it.
    _vol_curve: _CurveUse | None = field(init=False, default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.modelled_bars:
            object.__setattr__(self, "clean_session", True)  # no check needed

    def _check_session(self) -> bool | None:
        # Whether the whole session is clean (None: not known yet). It is resampled and checked
        # once, from the second market state asked for: a feed serving a single moment (a
        # 45-DTE daily mark) is cheaper checked as it is.
        object.__setattr__(self, "served", self.served + 1)
        if self.served == 2:
            # Disordered bars cannot be resampled whole: `market_at` resamples what it has seen.
            with contextlib.suppress(ValueError):
                object.__setattr__(self, "five_minute", self.session.resample(5))
            if self.clean_session is None:
                day = self.day
                issues = check_bars(self.session, session_open(day), session_close(day))
                clean = all(i.severity is Severity.INFO for i in issues)
                object.__setattr__(self, "clean_session", clean)
        return self.clean_session

    @classmethod
    def load(
        cls, day: date, data_dir: Path, hedge_rules: HedgeRules, bars: Bars | None = None
    ) -> RecordedDayFeed:
        """Load the day's bars (or take damaged ones from a test), indices and breadth.

        Raises:
            BarsFileError: If the day has no bars (the message lists the days that do).
            ReplayError: If there are no bars in the first minute of the session.
        """
        warmup: NDArray[np.float64] = np.empty(0)
        if bars is None:
            path = _bars_file(data_dir)
            every_day = load_bars(path)  # read the file once; pick the day and its prior
            if day not in every_day.days:
                load_bars(path, day=day)  # raises, naming the days the file holds
            bars = every_day.on(day)
            before = [d for d in every_day.days if d < day]
            if before:
                # The prior session's 5-minute closes warm up RSI and MACD before 10:00.
                prior = every_day.on(before[-1])
                prior_session = prior.within(session_open(before[-1]), session_close(before[-1]))
                warmup = np.asarray(prior_session.resample(5).close, dtype=np.float64)
        session = bars.within(session_open(day), session_close(day))
        opening = session.until(session_open(day) + timedelta(minutes=1))
        if len(opening) == 0:
            raise ReplayError(f"no SPX bar in the first minute of the session on {day}")
        ad_line, ad_note = ad_line_for(data_dir, day)
        return cls(
            day=day,
            data_dir=data_dir,
            bars=bars,
            session=session,
            warmup=warmup,
            indices=load_vol_indices(data_dir / "vix"),
            ad_line=ad_line,
            ad_note=ad_note,
            open_spot=opening.last_close,
            hedge_rules=hedge_rules,
        )

    def spot_at(self, moment: datetime) -> float:
        """SPX at `moment`: the close of the last completed bar (NaN if none)."""
        return _last_close(self.session.until(moment))

    def chain_at(
        self, moment: datetime, expiries: Sequence[tuple[str, date]] | None = None
    ) -> tuple[OptionChain, str | None]:
        """The chain to select from at `moment`, and a note when it had to be modelled.

        Args:
            moment: When the chain is needed.
            expiries: (root, expiry) pairs a modelled chain must list; default today's SPXW.

        Raises:
            ReplayError: If no bar has closed by `moment`.
        """
        chain, note = self.chain_source_at(moment, expiries)
        if isinstance(chain, ChainRequest):
            chain = model_chains([chain])[0]
        return chain, note

    def chain_source_at(
        self, moment: datetime, expiries: Sequence[tuple[str, date]] | None = None
    ) -> tuple[OptionChain | ChainRequest, str | None]:
        """`chain_at`, with a chain to model left as its request (`core.surface.model_chains`).

        Raises:
            ReplayError: If no bar has closed by `moment`.
        """
        chain = _real_chain(self.data_dir, self.day, moment)
        if chain is not None:
            return chain, None
        spot = self.spot_at(moment)
        if spot != spot:
            raise ReplayError(f"no SPX bars between the open and {moment:%H:%M} ET on {self.day}")
        levels = self.indices.levels_at(moment)
        request = ChainRequest(
            spot=spot,
            quote_time=moment,
            expiries=tuple(expiries or [("SPXW", self.day)]),
            indices=levels,
            rate=MODEL_RATE,
            dividend_yield=MODEL_DIVIDEND_YIELD,
            spot_modelled=(
                f"at {moment.astimezone(NEW_YORK):%H:%M} ET is a point on the {self.bars.source}, "
                "not a print"
                if self.modelled_bars
                else None
            ),
        )
        return request, (
            f"no real chain for {self.day:%Y-%m-%d}: condor selected on a modelled chain "
            f"({levels.observed}; rate {MODEL_RATE:.1%}, dividend yield "
            f"{MODEL_DIVIDEND_YIELD:.1%} modelled)"
        )

    def vol_at(self, moment: datetime) -> VolIndexLevels:
        """VIX-family levels at `moment` (modelled intraday from the open).

        With a VX history, they carry the real VX curve known at `moment` (the previous
        trading day's settles during the session: `VxHistory.known_at`).
        """
        return self._vol(moment, self.spot_at(moment))

    def _vol(self, moment: datetime, spot: float) -> VolIndexLevels:
        # The opening levels are looked up once a day, and what is made of a VX curve once
        # per curve (during the session there is one: the previous day's).
        known = self.vx.known_at(moment) if self.vx is not None else None
        opening = self._vol_opening
        if opening is None:
            opening = _opening(self.indices, self.day, self.hedge_rules)
            object.__setattr__(self, "_vol_opening", opening)
        use = self._vol_curve
        if use is None or use.known is not known:
            use = _curve_use(self.indices, self.day, opening.beta, known)
            object.__setattr__(self, "_vol_curve", use)
        return _moved(opening, use, spot if spot == spot else self.open_spot, self.open_spot)

    def market_at(self, moment: datetime, chain: OptionChain) -> MarketState:
        """What the engine sees at `moment`."""
        seen = self.session.until(moment)
        clean = self._check_session()
        if self.five_minute is not None:
            # The whole day's 5-minute bars complete by `moment` are exactly those of the bars
            # seen so far, resampled.
            five = self.five_minute.until(moment)
        else:
            five = seen.resample(5).until(moment) if len(seen) else seen
        # A session clean as a whole is clean up to any moment: only the feed's age can block.
        issues = _stale_issues(seen, moment) if clean else recent_bar_issues(seen, self.day, moment)
        spot = _last_close(seen)
        vol = self._vol(moment, spot)
        head = self._head_closes(len(five)) if self.five_minute is not None else None
        if head is None:
            closes = self._closes(five)
            triggers = self._triggers_upto(closes)
        else:
            closes, triggers = head
        return MarketState(
            asof=moment,
            spot=spot,
            closes_5m=closes,
            triggers=triggers,
            ad_line=self.ad_line,
            ad_note=self.ad_note,
            vol=vol,
            chain=chain,
            data_issues=issues,
            data=DataStamp(
                quote_time=moment,
                source=f"{self.bars.source}; {chain.source}",
                modelled=(
                    *chain.modelled,
                    vol.modelled,
                    "legs marked at their entry IVs scaled with the modelled VIX",
                ),
            ),
        )

    def _closes(self, five: Bars) -> NDArray[np.float64]:
        # The warm-up and these 5-minute closes. Indicators skip a bad bar once it is history;
        # while recent it blocks the decision (`recent_bar_issues`).
        return _finite(np.concatenate([self.warmup, np.asarray(five.close, dtype=np.float64)]))

    def _triggers_upto(self, closes: NDArray[np.float64]) -> TriggerSeries | None:
        # The day's indicator series cut at these closes, once the whole day's 5-minute bars
        # are at hand (from the second market state); None when they are not, or when the
        # closes are not the head of the day's (the engine then computes the indicators).
        series = self._day_series()
        if series is None or not np.array_equal(series.closes[: len(closes)], closes):
            return None
        return series.upto(len(closes))

    def _day_series(self) -> TriggerSeries | None:
        if self.five_minute is None:
            return None
        if self.trigger_series is None:
            whole = TriggerSeries.of(self._closes(self.five_minute), self.ad_line, self.hedge_rules)
            object.__setattr__(self, "trigger_series", whole)
        return self.trigger_series

    def _head_closes(self, bars: int) -> tuple[NDArray[np.float64], TriggerSeries | None] | None:
        # The closes and triggers of the first `bars` of the day's 5-minute bars when these
        # are in order (then `until` gave that head): the finite closes of a head are a head
        # of the day's finite closes, so they are cut from the day's series, not rebuilt and
        # compared with it. None when not in order (`_closes` and `_triggers_upto` then do it
        # the long way).
        five = self.five_minute
        series = self._day_series()
        if five is None or series is None or not five.in_order:
            return None
        upto = self._finite_upto
        if upto is None:
            finite = np.isfinite(np.asarray(five.close, dtype=np.float64))
            warm = int(np.isfinite(self.warmup).sum())
            upto = np.concatenate([[warm], warm + np.cumsum(finite)]).astype(np.intp)
            object.__setattr__(self, "_finite_upto", upto)
        n = int(upto[bars])
        # A copy, as `_closes` gives: the day's series is shared by every state.
        return series.closes[:n].copy(), series.upto(n)

    def opening_print(self) -> tuple[float, str]:
        """The first regular-session bar's open: a stand-in for the AM special opening quotation."""
        first = float(self.session.open[0])
        return first, (
            f"AM settlement taken as the day's opening SPX print {first:.2f} (the 09:30 bar's "
            "open; the official SOQ is computed from each component's opening trade)"
        )

    def last_data_at(self, moment: datetime) -> datetime | None:
        """When the newest bar completed by `moment` ended (None: none yet)."""
        seen = self.session.until(moment)
        return seen.end_at(len(seen) - 1) if len(seen) else None

    def settlement(self) -> tuple[float, VolIndexLevels, str]:
        """The day's settlement print, the closing VIX levels, and a note saying what it is.

        With a VX history covering the day, the levels carry the day's own VX curve (its CFE
        settles, published at 16:15 ET): VIX hedges are then valued off the real settles.
        """
        close = session_close(self.day)
        closing = self.indices.levels_at(close + timedelta(minutes=1))
        _, vvix_close = self.indices.vvix.latest_at_or_before(self.day)
        settlement = self.bars.last_close
        note = (
            f"settlement taken as the day's last SPX print {settlement:.2f} "
            f"({self.bars.end_at(len(self.bars) - 1):%H:%M} ET bar), the official close"
        )
        curve, curve_close = _with_closes(
            self.indices,
            self.vx.known_at(close + SETTLE_DELAY) if self.vx is not None else None,
        )
        if curve is not None and curve.trade_date != self.day:
            curve, curve_close = None, None  # only the day's own settles value its close
        vol = VolIndexLevels(
            vix=closing.vix,
            vix9d=closing.vix9d,
            vix3m=closing.vix3m,
            vvix=vvix_close,
            vx_curve=curve,
            vx_curve_close=curve_close,
        )
        return settlement, vol, note


def open_condor(
    feed: RecordedDayFeed,
    track: Track,
    risk: Risk,
    rules: CondorRules,
    *,
    respect_event_days: bool = False,
) -> tuple[list[Event], list[str], CondorSignal | None, OptionChain]:
    """Select the track's condor at its entry time: the events, notes, the signal (if any).

    On an event day the live rules' no-trade card comes first; unless `respect_event_days`,
    the condor the rules would otherwise have opened follows, noted as such.
    """
    entry = datetime.combine(feed.day, rules.track(track).entry_time, NEW_YORK)
    chain, chain_note = feed.chain_at(entry)
    notes = [chain_note] if chain_note else []
    events: list[Event] = []
    event = select_condor(chain, CondorProfile.of(rules, track, risk), entry)
    if isinstance(event, NoTradeDay):
        events.append(event)
        only_event_day = all(r.code is NoTradeCode.EVENT_DAY for r in event.reasons)
        if respect_event_days or not only_event_day:
            return events, notes, None, chain
        notes.append(
            "the live rules stand aside on this event day; the replay opens the condor they "
            "would otherwise have opened, to show the hedge engine (--respect-event-days to stop)"
        )
        event = select_condor(
            chain, CondorProfile.of(rules.with_event_days({}), track, risk), entry
        )
        if isinstance(event, NoTradeDay):
            events.append(event)
            return events, notes, None, chain
    events.append(event)
    return events, notes, event, chain


def replay_day(
    day: date,
    track: Track,
    risk: Risk,
    *,
    data_dir: Path,
    rules: CondorRules,
    hedge_rules: HedgeRules,
    respect_event_days: bool = False,
    step_minutes: int = 5,
    bars: Bars | None = None,
    on_step: Callable[[float], None] | None = None,
) -> Replay:
    """Replay `day`: the condor at the track's entry time, the engine every `step_minutes`.

    Args:
        day: The trading day.
        track: Only same-day tracks can be replayed on one day of bars (0dte).
        risk: Risk level of the condor.
        data_dir: The shipped `data/` folder.
        rules: Condor rules (with the event calendar).
        hedge_rules: ALVH rules.
        respect_event_days: Stop at the no-trade card on an event day; by default the replay
            notes the card and replays the condor the rules would otherwise have opened.
        step_minutes: Engine cadence.
        bars: The day's 1-minute bars, if already loaded (tests feed damaged bars here).
        on_step: Called with the seconds each engine step took (the benchmark's hook).

    Raises:
        ReplayError: For a track other than 0dte.
        BarsFileError: If the day has no bars (the message lists the days that do).
    """
    if track is not Track.ZERO_DTE:
        raise ReplayError(
            f"--track {track}: a replay runs one expiration day of bars; only 0dte is replayable"
        )
    feed = RecordedDayFeed.load(day, data_dir, hedge_rules, bars)
    events, notes, signal, chain = open_condor(
        feed, track, risk, rules, respect_event_days=respect_event_days
    )
    if signal is None:
        return Replay(day=day, track=track, risk=risk, events=tuple(events), notes=tuple(notes))
    entry = datetime.combine(day, rules.track(track).entry_time, NEW_YORK)
    position = OpenCondor.from_signal(
        signal, hedge_rules.contracts, entry_vix=feed.vol_at(entry).vix
    )
    notes.append(
        f"alerts are sized for {hedge_rules.contracts} condor contracts filled at "
        f"{position.fill_credit} (the card's suggested limit)"
    )
    state = EngineState()
    close = session_close(day)
    moment = entry + timedelta(minutes=step_minutes)
    while moment <= close:
        market = feed.market_at(moment, chain)
        started = time.perf_counter()
        state, new = step(position, state, market, hedge_rules, moment)
        if on_step is not None:
            on_step(time.perf_counter() - started)
        events.extend(new)
        moment += timedelta(minutes=step_minutes)
    settlement, vol_close, note = feed.settlement()
    notes.append(note)
    result = settle(
        position,
        state,
        settlement,
        vol_close,
        close,
        DataStamp(
            quote_time=close,
            source=f"{feed.bars.source}; {chain.source}; Cboe VIX/VIX9D/VIX3M closes of {day}",
            modelled=(*chain.modelled, "VIX futures estimated from the closing term structure"),
        ),
        hedge_rules,
    )
    events.append(result)
    return Replay(day=day, track=track, risk=risk, events=tuple(events), notes=tuple(notes))


def event_time(event: Event) -> datetime:
    """The moment an event speaks for: its `asof`."""
    return event.asof


def replay_days(data_dir: Path) -> Sequence[date]:
    """Days the shipped 1-minute bars cover."""
    return list_days(_bars_file(data_dir))
