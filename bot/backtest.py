"""Backtest composition: build each historical day's inputs from the shipped data.

The rules are not re-implemented here: each day is served to `core.backtest.run_day`, which runs
`select_condor`, the ALVH engine's `step` and `settle` exactly as the live bot and the replay do.
This module only decides what the engine sees, and says what is modelled:

* **Chain at entry**: the real Cboe snapshot when one was recorded within 30 minutes of the
  entry time (`bot.replay.RecordedDayFeed.chain_at`), otherwise `core.surface.model_chain` on
  the day's VIX/VIX9D/VIX3M opening values and the previous SKEW close (labelled modelled). On
  the 0DTE and 1DTE tracks the modelled chains of 64 days are built in one pass
  (`with_chains_modelled`), each exactly the chain the day would model alone.
* **Intraday path**: the real SPX 1-minute bars where shipped (2023-03-16 ... 2023-03-31);
  elsewhere a modelled path through the day's open, high, low and close (`modelled_path`):
  the open, the extreme nearer the open, the other extreme and the close are knots, the
  session's variance (U-shaped in the time of day) shared between the stretches in proportion
  to the points travelled and the extremes' times drawn about those shares; between knots
  the path is a bridge (seeded by the date: the same path every run) folded into the day's
  range, so it touches the high and the low exactly and turns back within a stretch. Its
  noise depends on how much of the range the day's close-to-open move fills, with a seeded
  day-to-day spread, it wanders with a 7.5-minute mean reversion, and it reaches and leaves the
  extremes fast and spends its time in between (`PATH_SHAPE`), all calibrated on 96 sessions
  of real 1-minute bars (`PATH_NOISE_MODEL`, `PATH_REVERSION_MINUTES`, `PATH_TIMING_SD`,
  `PATH_SHAPE`); the engine samples it every 5 minutes.
* **Intraday VIX**: the day's opening values moved with SPX by the rules' sensitivity
  (`RecordedDayFeed.vol_at`); closes at the close.
* **Multi-day tracks**: the 1-DTE condor is marked every 5 minutes to its expiry; the 45-DTE
  condor once a day at 15:45 ET (daily marking), one position at a time.

A day whose history is missing or bad is skipped with the reason; nothing is filled in.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.signal import lfilter

from bot.adapters.market_data.bars_csv import load_bars
from bot.adapters.market_data.breadth_csv import load_all_breadth
from bot.adapters.market_data.index_history import (
    IndexHistory,
    VolIndices,
    load_index_history,
    load_vol_indices,
)
from bot.adapters.market_data.vx_history import VX_HISTORY_FILE, VxHistory, load_vx_history
from bot.replay import MAX_BREADTH_AGE_DAYS, RecordedDayFeed, recent_bar_issues
from core.backtest import (
    ENGINE_ERROR,
    SERIES,
    Costs,
    DayOutcome,
    NoTrade,
    Report,
    SkipDay,
    Skipped,
    Trade,
    build_report,
    exit_count,
    run_backtest,
)
from core.bars import Bars, Breadth, choose_breadth
from core.calendar import (
    NEW_YORK,
    NYSE_HOLIDAYS,
    SPXW_SCHEDULE_START,
    is_trading_day,
    next_trading_day,
    posix_stamps,
    previous_trading_day,
    session_close,
    session_open,
    spx_monthly_expiration,
    spxw_expirations,
    trading_days_between,
)
from core.chain import OptionChain
from core.condor import CondorProfile
from core.hedge import MarketState, VolIndexLevels
from core.performance import Stats
from core.rules import CondorRules, Defence, HedgeRules
from core.surface import ChainRequest, intraday_variance_share, model_chains
from core.types import CondorSignal, DataStamp, Risk, Track
from core.vix import TERM_MODEL_VERSION

#: The shipped SPX daily history (Yahoo ^GSPC, see data/SOURCES.md).
SPX_DAILY_FILE = "spx/SPX_History_2006_2026.csv.gz"
#: Cboe's VIX6M history (from 2008-01-02): the modelled term structure's input.
VIX6M_FILE = "vix/VIX6M_History.csv.gz"
#: Engine cadence on intraday paths, minutes.
STEP_MINUTES = 5
#: When the 45-DTE condor is marked each day (the track's entry time).
DAILY_MARK_MINUTES_BEFORE_CLOSE = 15
#: The 45-DTE chain lists only the SPXW (or SPX monthly) expiry nearest the target: the rules
#: choose the listed expiry nearest 45 days (the earlier on a tie, as `expiries_for` orders
#: them), so the others would be modelled and never traded.
LONG_EXPIRIES_LISTED = 1
#: Days whose modelled chains are built in one pass (`with_chains_modelled`).
CHAIN_BLOCK_DAYS = 64
#: Day feeds kept (oldest dropped first): a block's days, and the next one a 1-DTE condor
#: settles on, so that the feeds a block's chains were modelled from serve its run too.
FEEDS_KEPT = CHAIN_BLOCK_DAYS + 1
#: How a settlement's DataStamp says its VIX hedges were valued off real VX settles.
REAL_VX_LABEL = "VIX hedges valued off the real CFE VX settles"
#: How much the modelled path moves within its day: its quadratic variation over the session as
#: a fraction of the day's squared range (high - low) is ``exp(a + b * x + s * z)`` for
#: ``(a, b, s) = PATH_NOISE_MODEL``, where ``x = |close - open| / range`` (0 on a day that ends
#: where it opened, 1 on a day that runs from one extreme to the other) and ``z`` is a standard
#: normal drawn with the day's path. A trend day moves less inside its range than a choppy one,
#: and ``s`` is the day-to-day spread its OHLC does not explain. Fitted by
#: `bench/path_calibration.py` on the 96 sessions of real 1-minute bars shipped (SPX, March
#: 2023; SPY, February-May 2024 and July 2025).
PATH_NOISE_MODEL = (-0.54, -0.98, 0.90)
#: How fast the modelled path's wandering reverts (minutes): between the knots it wanders as an
#: Ornstein-Uhlenbeck process of this mean-reversion time, not a random walk, so that, as on
#: real 5-minute closes, a move tends to be given back within the hour (the variance of 30- and
#: 70-minute moves is about 0.7 and 0.6 of 6 and 14 five-minute ones' on the 96 real sessions).
#: Fitted with `PATH_NOISE_MODEL` by `bench/path_calibration.py`; inf is a random walk.
PATH_REVERSION_MINUTES = 7.5
#: How far the modelled extremes' times are drawn from their shares by points travelled: the
#: log of the first extreme's share of the variance from the open, and of the second's to the
#: close, moves by this times a standard normal (`path_knots`). Real days set their first
#: extreme in the first 30 minutes on half of the days and past a quarter of the session on a
#: quarter of them. Fitted to the quartiles of the extremes' times by `bench/path_calibration.py`.
PATH_TIMING_SD = 1.0
#: How the modelled path moves along its stretches between knots, as exponents ``(k1, k2)``
#: of its progress against the share ``u`` (0 to 1) of the stretch's variance clock elapsed:
#: from the open to the first extreme ``u ** k1``, from there to the other extreme
#: ``(1 + sign(2u - 1) |2u - 1| ** k2) / 2``, to the close ``u`` (1, 1: evenly, as bridge-4
#: moved). Real days reach an extreme and leave it fast, and spend their time in between: at
#: 10:00 on the 96 real sessions the price stood a mean 0.43 of the day's range from the close,
#: where even stretches put it 0.51 (and 0.29 of the range from the nearer extreme, where they
#: put it 0.15), which struck the 0DTE condor too far from where it would settle. Fitted by
#: `bench/path_calibration.py` to the distance from the close at 10:00 to 12:45 and to the
#: moves from the open to 10:00 and from 15:45 to the close.
PATH_SHAPE = (2.0, 5.0)
#: Names the path model in every report (bridge-1 had one noise for every day, 0.54; bridge-2
#: drew it per day and wandered as a random walk; bridge-3 set the extremes' times by points
#: travelled alone; bridge-4 moved evenly along its stretches, with a 30-minute reversion).
PATH_MODEL_VERSION = "bridge-5"
#: The path-model description every report carries.
PATH_MODEL = (
    "intraday SPX path: real 1-minute bars where shipped; elsewhere modelled: knots open -> "
    "nearer extreme -> other extreme -> close, on a U-shaped intraday variance clock (fastest "
    "near the open and the close), a bridge between them folded into the day's range, its "
    "noise set by how much of the range the close-to-open move fills plus a seeded day-to-day "
    "draw, the extremes' times drawn about their shares, the extremes reached and left fast, "
    f"wandering with a {PATH_REVERSION_MINUTES:g}-minute mean reversion ({PATH_MODEL_VERSION}, "
    "seeded by the date), as 1-minute bars, sampled every 5 minutes by the engine"
)


class BacktestError(ValueError):
    """A backtest that cannot run (bad range, unsupported option)."""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class History:
    """The shipped daily history, loaded once."""

    data_dir: Path
    spx: IndexHistory
    indices: VolIndices
    breadth: tuple[Breadth, ...]
    spx_rows: dict[date, int] = field(default_factory=dict)
    feeds: dict[date, RecordedDayFeed] = field(default_factory=dict)
    vx: VxHistory | None = None
    #: The real 1-minute bars by day, parsed once (the file holds a few weeks); other days'
    #: paths are modelled.
    minute_bars: dict[date, Bars] = field(default_factory=dict)
    #: Seeds the modelled intraday paths with the date (`modelled_path`): 0 in every
    #: published figure; another seed draws other paths through the same OHLC.
    path_seed: int = 0
    #: The modelled paths' noise: None draws each day's from `PATH_NOISE_MODEL`; a number is
    #: every day's (0: straight stretches between the knots).
    path_noise: float | None = None
    #: Each breadth series' whole A/D line, by `id` of the series in `breadth`.
    ad_lines: dict[int, NDArray[np.float64]] = field(default_factory=dict)
    #: `check_day`'s verdict by day: None when the day is good, else why it is skipped.
    day_checks: dict[date, str | None] = field(default_factory=dict)
    #: SPX at given moments of a day, whether the bars there are clean, and the day's first
    #: close (`_day_columns`), by day and moments: a 45-DTE stretch revisits days.
    day_columns: dict[
        tuple[date, tuple[datetime, ...]],
        tuple[NDArray[np.float64], NDArray[np.bool_], float],
    ] = field(default_factory=dict)
    #: Each modelled day's minute path (`modelled_path` at `path_seed`), drawn once: the
    #: day's columns, its bars and the next day's indicator warm-up all read it.
    paths: dict[date, NDArray[np.float64]] = field(default_factory=dict)

    @classmethod
    def load(cls, data_dir: Path) -> History:
        """Load SPX OHLC, the Cboe volatility indices, NYSE breadth and the 1-minute bars.

        Also the VX futures settles (`vx` stays None when `VX_HISTORY_FILE` is not there).
        """
        minute = sorted((data_dir / "intraday").glob("SPX_1min_*"))
        minute_file = minute[0] if minute else None
        spx = load_index_history(data_dir / SPX_DAILY_FILE, name="SPX")
        vx_file = data_dir / VX_HISTORY_FILE
        every_day = load_bars(minute_file) if minute_file else None
        return cls(
            data_dir=data_dir,
            spx=spx,
            spx_rows={d: i for i, d in enumerate(spx.dates)},
            indices=load_vol_indices(data_dir / "vix"),
            breadth=load_all_breadth(data_dir / "breadth"),
            minute_bars={d: every_day.on(d) for d in every_day.days} if every_day else {},
            vx=load_vx_history(vx_file) if vx_file.exists() else None,
        )

    def with_modelled_term_structure(self) -> History:
        """A fresh copy whose VIX3M and VIX9D are modelled before Cboe printed them.

        From VIX and VIX6M (`VolIndices.with_modelled_term_structure`, VIX6M from
        `VIX6M_FILE`); a copy that already has them is returned as it is.
        """
        if self.indices.vix3m_printed_from is not None:
            return self
        vix6m = load_index_history(self.data_dir / VIX6M_FILE, name="VIX6M")
        return self.fresh(indices=self.indices.with_modelled_term_structure(vix6m))

    def fresh(self, **changes: Any) -> History:
        """A copy with `changes` applied and nothing remembered (feeds, A/D lines, checks).

        Use it, not `dataclasses.replace`, to change the data: what is remembered was worked
        out from the data as it was.
        """
        return replace(
            self, feeds={}, ad_lines={}, day_checks={}, day_columns={}, paths={}, **changes
        )


#: SPY's shipped regular-session 1-minute bars (February-May 2024, July 2025): not SPX, but a
#: real path to scale to it (`scaled_to_spx`); the published runs do not use them.
SPY_MINUTE_FILE = "intraday/SPY_1min_rth_2024-02-20_2025-07-30.txt.gz"


def scaled_to_spx(history: History, bars: Bars) -> dict[date, Bars]:
    """Each session of `bars` (an ETF tracking SPX, e.g. SPY) scaled to SPX by the closes' ratio.

    SPY tracks SPX within a few basis points through a session (its dividend moves the ratio
    only overnight), so a day's bars times SPX close / SPY close walk SPX's real path to its
    real close. The opening minute differs most: SPX's opening print is worked out from its
    constituents' first trades, some of them minutes late. Days the SPX daily history lacks,
    or without a bar in the session, are left out; each day's `source` says what it is and the
    ratio.
    """
    scaled: dict[date, Bars] = {}
    for day in bars.days:
        row = history.spx_rows.get(day)
        if row is None:
            continue
        session = bars.on(day).within(session_open(day), session_close(day))
        if len(session) == 0:
            continue
        ratio = float(history.spx.close[row]) / float(session.close[-1])
        scaled[day] = Bars(
            symbol="SPX",
            source=(
                f"{bars.symbol} 1-minute bars x {ratio:.5f} (SPX close / {bars.symbol} close of "
                f"{day:%Y-%m-%d})"
            ),
            interval_minutes=session.interval_minutes,
            times=session.times,
            open=session.open * ratio,
            high=session.high * ratio,
            low=session.low * ratio,
            close=session.close * ratio,
        )
    return scaled


def check_day(history: History, day: date) -> None:
    """Raise `SkipDay` naming what is missing or bad in the day's daily history."""
    if day not in history.day_checks:
        try:
            _check_day(history, day)
        except SkipDay as skip:
            history.day_checks[day] = skip.reason
        else:
            history.day_checks[day] = None
    reason = history.day_checks[day]
    if reason is not None:
        raise SkipDay(reason)


def _check_day(history: History, day: date) -> None:
    spx = history.spx
    if day not in spx:
        raise SkipDay(f"no SPX daily OHLC for {day:%Y-%m-%d} in {spx.source}")
    o, h, low, c = _ohlc(history, day)
    values = (o, h, low, c)
    if not all(math.isfinite(v) and v > 0 for v in values) or not (
        low <= min(o, c) + 1e-6 and max(o, c) <= h + 1e-6
    ):
        raise SkipDay(
            f"bad SPX OHLC on {day:%Y-%m-%d}: open {o:.2f} high {h:.2f} low {low:.2f} close {c:.2f}"
        )
    indices = history.indices
    printed = {"VIX3M": indices.vix3m_printed_from, "VIX9D": indices.vix9d_printed_from}
    for series in (indices.vix, indices.vix9d, indices.vix3m):
        if day not in series:
            first = series.dates[0] if len(series) else None
            modelled = printed.get(series.name)
            raise SkipDay(
                f"no {series.name} value for {day:%Y-%m-%d} (series starts {first:%Y-%m-%d}"
                + (f", modelled before {modelled:%Y-%m-%d})" if modelled else ")")
                if first
                else f"no {series.name} history"
            )
        if not math.isfinite(series.open_on(day)):
            raise SkipDay(f"no {series.name} opening value for {day:%Y-%m-%d}")
    try:
        skew_day, _ = history.indices.skew.latest_at_or_before(previous_trading_day(day))
    except KeyError:
        raise SkipDay(f"no SKEW close before {day:%Y-%m-%d}") from None
    if trading_days_between(skew_day, day) > MAX_BREADTH_AGE_DAYS:
        raise SkipDay(f"SKEW close before {day:%Y-%m-%d} is stale ({skew_day:%Y-%m-%d})")


def _ohlc(history: History, day: date) -> tuple[float, float, float, float]:
    spx, i = history.spx, history.spx_rows[day]
    return float(spx.open[i]), float(spx.high[i]), float(spx.low[i]), float(spx.close[i])


@cache
def variance_clock(minutes: int) -> NDArray[np.float64]:
    """The share of a session's variance carried by each whole minute after the open (0 to 1).

    U-shaped in the time of day (`core.surface.intraday_variance_share`, fitted on 84 SPY
    sessions): a minute near the open or the close carries about twice one at midday.
    Computed once per session length and read-only (every path of such a day shares it).
    """
    shares: NDArray[np.float64] = intraday_variance_share(
        np.arange(minutes + 1, dtype=np.float64) / minutes
    )
    shares[0], shares[-1] = 0.0, 1.0
    shares.flags.writeable = False
    return shares


@cache
def _minute_scales(minutes: int) -> NDArray[np.float64]:
    # sqrt(minutes x each minute's share of the variance): a unit draw's scale, minute by minute.
    scales: NDArray[np.float64] = np.sqrt(np.diff(variance_clock(minutes)) * minutes)
    scales.flags.writeable = False
    return scales


def path_knots(
    open_: float,
    high: float,
    low: float,
    close: float,
    minutes: int,
    timing: tuple[float, float] = (0.0, 0.0),
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The modelled path's knots: (minutes after the open, SPX level).

    Open at 0, the extreme nearer the open first (the high on a tie), the other extreme, the
    close at `minutes`. The session's variance (`variance_clock`) is shared between the
    stretches in proportion to the points travelled on each, so the path moves fastest near the
    open and the close, where real days set most of their highs and lows. `timing` moves the
    extremes: the first's share of the variance from the open is scaled by ``exp(timing[0])``
    and the second's share to the close by ``exp(timing[1])`` (each at most 0.95; a draw that
    would put them out of order keeps the shares by points). Each knot falls on the whole
    minute nearest its share (a stretch that moves takes at least one), and the path touches
    the day's high and low exactly.
    """
    first, second = (high, low) if abs(high - open_) <= abs(open_ - low) else (low, high)
    levels = np.array([open_, first, second, close], dtype=np.float64)
    legs = np.abs(np.diff(levels))
    total = float(legs.sum())
    if total <= 0:
        return np.array([0.0, float(minutes)]), np.array([open_, close])
    clock = variance_clock(minutes)
    shares = np.cumsum(legs) / total
    drawn = (
        min(float(shares[0]) * math.exp(timing[0]), 0.95),
        1.0 - min((1.0 - float(shares[1])) * math.exp(timing[1]), 0.95),
    )
    if drawn[0] < drawn[1]:
        shares[:2] = drawn
    times = np.concatenate([[0.0], np.round(np.interp(shares, clock, np.arange(minutes + 1.0)))])
    times[-1] = float(minutes)
    # A stretch that moves takes at least a minute, so no two different levels share a minute.
    for k in (1, 2):
        if legs[k - 1] > 0:
            times[k] = max(times[k], times[k - 1] + 1.0)
        later = int(np.count_nonzero(legs[k:]))
        times[k] = min(times[k], float(minutes - later))
    return times, levels


NoiseModel = tuple[float, float, float]


def path_noise(
    open_: float,
    high: float,
    low: float,
    close: float,
    z: float,
    model: NoiseModel = PATH_NOISE_MODEL,
) -> float:
    """The day's modelled path noise at the standard normal draw `z` (`PATH_NOISE_MODEL`).

    The bridge's quadratic variation over the session as a fraction of the squared range; the
    median (``z = 0``) falls as the day's close-to-open move fills more of its range. `model`
    is ``(a, b, s)``: another is for calibration.
    """
    a, b, s = model
    span = high - low
    x = min(abs(close - open_) / span, 1.0) if span > 0 else 0.0
    return math.exp(a + b * x + s * z)


def modelled_path(
    day: date,
    open_: float,
    high: float,
    low: float,
    close: float,
    *,
    seed: int = 0,
    noise: float | None = None,
    noise_model: NoiseModel = PATH_NOISE_MODEL,
    reversion_minutes: float = PATH_REVERSION_MINUTES,
    timing_sd: float = PATH_TIMING_SD,
    shape: tuple[float, float] = PATH_SHAPE,
) -> NDArray[np.float64]:
    """The modelled SPX level at each whole minute of the day's session (bar k: k to k + 1).

    Through the knots of `path_knots` (each hit exactly; the extremes' times drawn with
    `timing_sd`, none on the straight stretches), moving between them along `variance_clock`
    as `shape` says (`PATH_SHAPE`: reaching the first extreme late in its stretch, leaving it
    and reaching the other fast; the straight stretches move evenly), a bridge between each
    pair of knots: an Ornstein-Uhlenbeck wander of mean-reversion time `reversion_minutes`
    (inf: Brownian) less its chord between the knots, whose 1-minute variance follows
    `variance_clock` and sums over the session to the noise times the squared range, added to
    that course and folded (reflected) into [low, high]: the path touches the high and the
    low, never leaves the range, and turns back within a stretch. The noise
    is `path_noise` of the day's OHLC and a draw under `noise_model` (None) or the number
    given (0: the straight stretches). The draws are seeded by `seed` and the date, so a day's
    path is the same in every run; it uses the day's OHLC and nothing else.
    """
    minutes = _session_minutes(day)
    clock = variance_clock(minutes)
    span = high - low
    rng = np.random.default_rng([seed, day.toordinal()]) if span > 0 and noise != 0 else None
    timing = (0.0, 0.0)
    if rng is not None:
        level = float(rng.standard_normal())  # the day's noise draw, taken whether or not used
        shifts = rng.standard_normal(2) * timing_sd
        timing = (float(shifts[0]), float(shifts[1]))
    knots_t, knots_v = path_knots(open_, high, low, close, minutes, timing)
    at = knots_t.astype(np.intp)
    if rng is None:  # a flat day, or the straight stretches
        straight: NDArray[np.float64] = np.interp(clock, clock[at], knots_v)
        return straight
    base = _shaped_stretches(clock, at, knots_v, shape)
    if noise is None:
        noise = path_noise(open_, high, low, close, level, noise_model)
    draws = rng.standard_normal(minutes) * _minute_scales(minutes)
    if math.isinf(reversion_minutes):
        wander_steps = np.cumsum(draws)
    else:  # w[k + 1] = phi * w[k] + draw[k]
        phi = math.exp(-1.0 / reversion_minutes)
        wander_steps = np.asarray(lfilter([1.0], [1.0, -phi], draws), dtype=np.float64)
    walk = np.concatenate([[0.0], wander_steps]) * (math.sqrt(noise / minutes) * span)
    # The walk less its chord between knots is a bridge pinned to 0 at every knot.
    wander = base + (walk - np.interp(clock, clock[at], walk[at]))
    folded = np.mod(wander - low, 2.0 * span)
    path = np.clip(low + np.where(folded > span, 2.0 * span - folded, folded), low, high)
    path[at] = knots_v  # exactly, whatever the rounding of the fold
    return path


def _shaped_stretches(
    clock: NDArray[np.float64],
    at: NDArray[np.intp],
    levels: NDArray[np.float64],
    shape: tuple[float, float],
) -> NDArray[np.float64]:
    # The path's course through the knots (minutes `at`, SPX `levels`) before it wanders, each
    # stretch's progress a function of the share of its variance clock elapsed (`PATH_SHAPE`).
    course = np.empty(clock.size)
    course[0] = levels[0]
    for k, (a, b) in enumerate(zip(at[:-1].tolist(), at[1:].tolist(), strict=True)):
        if b <= a:
            continue
        u = (clock[a + 1 : b + 1] - clock[a]) / (clock[b] - clock[a])
        if k == 0:
            progress = u ** shape[0]
        elif k == 1:  # between the two extremes
            centred = 2.0 * u - 1.0
            progress = 0.5 + 0.5 * np.sign(centred) * np.abs(centred) ** shape[1]
        else:
            progress = u
        course[a + 1 : b + 1] = levels[k] + (levels[k + 1] - levels[k]) * progress
    return course


def five_minute_variation(levels: NDArray[np.float64], high: float, low: float) -> float:
    """How much a path moves within its day, as a fraction of its range squared.

    The sum of squared moves between `levels` (the open and each 5-minute close) over the
    squared range (high - low); NaN on a flat day.
    """
    span = high - low
    if not span > 0:
        return math.nan
    return float(np.sum(np.diff(np.asarray(levels, dtype=np.float64)) ** 2) / span**2)


def _path(history: History, day: date) -> NDArray[np.float64]:
    # The day's `modelled_path` at the history's seed, drawn once (read-only: it is shared).
    path = history.paths.get(day)
    if path is None:
        path = modelled_path(
            day, *_ohlc(history, day), seed=history.path_seed, noise=history.path_noise
        )
        path.flags.writeable = False
        history.paths[day] = path
    return path


def _path_at(history: History, day: date, at_minutes: NDArray[np.intp]) -> NDArray[np.float64]:
    # The day's modelled path at these minutes after the open.
    levels: NDArray[np.float64] = _path(history, day)[at_minutes]
    return levels


def _session_minutes(day: date) -> int:
    return int((session_close(day) - session_open(day)).total_seconds() // 60)


def synthetic_bars(
    day: date,
    open_: float,
    high: float,
    low: float,
    close: float,
    *,
    seed: int = 0,
    noise: float | None = None,
) -> Bars:
    """1-minute bars along `modelled_path` for the day's regular session."""
    path = modelled_path(day, open_, high, low, close, seed=seed, noise=noise)
    return _bars_along(day, path, seed, noise)


def _bars_along(day: date, path: NDArray[np.float64], seed: int, noise: float | None) -> Bars:
    # The session's 1-minute bars along a drawn `modelled_path`: bar k opens at path[k] and
    # closes at path[k + 1].
    if noise is None:
        drawn = f"{PATH_MODEL_VERSION}, seed {seed}"
    elif noise > 0:
        drawn = f"bridge at noise {noise:g}, seed {seed}"
    else:
        drawn = "straight stretches, no bridge"
    opens, closes = path[:-1], path[1:]
    return Bars(
        times=_utc_minute(session_open(day)) + np.arange(path.size - 1).astype("timedelta64[m]"),
        open=opens,
        high=np.maximum(opens, closes),
        low=np.minimum(opens, closes),
        close=closes,
        symbol="SPX",
        source=f"modelled SPX path through the {day:%Y-%m-%d} daily OHLC ({drawn})",
        interval_minutes=1,
    )


def _ad_line(history: History, day: date) -> tuple[NDArray[np.float64] | None, str]:
    chosen = choose_breadth(history.breadth, previous_trading_day(day))
    known = chosen.before(day) if chosen is not None else None
    latest = known.last_date if known is not None else None
    if (
        chosen is None
        or known is None
        or latest is None
        or trading_days_between(latest, day) > MAX_BREADTH_AGE_DAYS
    ):
        shown = f"{latest:%Y-%m-%d}" if latest else "none"
        return None, (
            f"no NYSE advance/decline data near {day:%Y-%m-%d} (latest {shown}): "
            "A/D trigger unavailable"
        )
    kind = "official NYSE counts" if chosen.official else "publisher-computed counts"
    # The line known on `day` is the head of the whole series' line (a running sum of whole
    # counts, so the head is exact); the whole line is summed once per series.
    whole = history.ad_lines.get(id(chosen))
    if whole is None:
        whole = history.ad_lines[id(chosen)] = chosen.ad_line()
    return whole[: len(known)], (
        f"daily A/D line through {latest:%Y-%m-%d} ({kind}); no intraday breadth: prior days' line"
    )


def _day_bars(history: History, day: date) -> Bars:
    if day in history.minute_bars:
        return history.minute_bars[day]
    check_day(history, day)
    return _bars_along(day, _path(history, day), history.path_seed, history.path_noise)


def day_feed(history: History, day: date, hedge_rules: HedgeRules) -> RecordedDayFeed:
    """The day's `RecordedDayFeed` (real or modelled bars), cached; raises `SkipDay`."""
    cached = history.feeds.get(day)
    if cached is not None:
        return cached
    check_day(history, day)
    bars = _day_bars(history, day)
    session = bars.within(session_open(day), session_close(day))
    if len(session) == 0:
        raise SkipDay(f"no SPX bars in the {day:%Y-%m-%d} session")
    warmup: NDArray[np.float64] = np.empty(0)
    before = previous_trading_day(day)
    try:
        if before in history.minute_bars:
            prior = _day_bars(history, before)
            prior_session = prior.within(session_open(before), session_close(before))
            warmup = np.asarray(prior_session.resample(5).close, dtype=np.float64)
        else:
            # The modelled day's 5-minute closes (09:30-anchored buckets: minutes 5, 10, ...),
            # exactly what resampling its 1-minute bars gives, without building them.
            check_day(history, before)
            warmup = _path_at(history, before, np.arange(_session_minutes(before) + 1)[5::5])
    except SkipDay:
        pass  # no warm-up: the indicators start from the day's own bars
    ad_line, ad_note = _ad_line(history, day)
    feed = RecordedDayFeed(
        day=day,
        data_dir=history.data_dir,
        bars=bars,
        session=session,
        warmup=warmup,
        indices=history.indices,
        ad_line=ad_line,
        ad_note=ad_note,
        open_spot=float(session.close[0]),
        hedge_rules=hedge_rules,
        modelled_bars=day not in history.minute_bars,
        vx=history.vx,
    )
    if len(history.feeds) >= FEEDS_KEPT:
        history.feeds.pop(next(iter(history.feeds)))
    history.feeds[day] = feed
    return feed


def expiries_for(track: Track, day: date) -> list[tuple[str, date]]:
    """The (root, expiry) pairs a modelled chain lists for the track; raises `SkipDay`."""
    if track is Track.DTE_45:
        lo, hi = day + timedelta(days=30), day + timedelta(days=60)
        if day >= SPXW_SCHEDULE_START:
            found = [("SPXW", d) for d in spxw_expirations(lo, hi)]
        else:
            months = {(lo.year, lo.month), (hi.year, hi.month)}
            mid = day + timedelta(days=45)
            months.add((mid.year, mid.month))
            found = [
                ("SPX", e)
                for e in sorted(spx_monthly_expiration(y, m) for y, m in months)
                if lo <= e <= hi
            ]
        if not found:
            raise SkipDay(f"no listed expiry 30-60 days after {day:%Y-%m-%d}")
        target = day + timedelta(days=45)
        found.sort(key=lambda pair: abs((pair[1] - target).days))
        return sorted(found[:LONG_EXPIRIES_LISTED], key=lambda pair: pair[1])
    if day < SPXW_SCHEDULE_START:
        raise SkipDay(
            f"SPXW expirations before {SPXW_SCHEDULE_START:%Y-%m-%d} are not modelled "
            "(core.calendar)"
        )
    if track is Track.ZERO_DTE:
        if day not in spxw_expirations(day, day):
            raise SkipDay(f"no SPXW expiration on {day:%Y-%m-%d}: no 0DTE condor listed")
        return [("SPXW", day)]
    ahead = spxw_expirations(day + timedelta(days=1), day + timedelta(days=7))
    return [("SPXW", d) for d in ahead[:3]]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class DayPath:
    """A `core.backtest.MarketPath` over the shipped history: columns now, states on demand.

    Spot and VIX columns are computed from the same path and the same intraday-VIX rule the
    full state uses (`RecordedDayFeed.market_at`), without building each day's bars; a day's
    feed is built only when the engine needs a full state on it.
    """

    asofs: list[datetime]
    stamps: NDArray[np.float64]
    spots: NDArray[np.float64]
    vix: NDArray[np.float64]
    clean: NDArray[np.bool_]
    days: list[date]
    entry_day: date
    chain: OptionChain
    history: History
    rules: HedgeRules

    @property
    def parity_chain(self) -> bool:
        """Whether the entry day's states carry a real chain (the engine scans its parity)."""
        return not self.chain.modelled

    def market(self, index: int) -> MarketState:
        """The full market state at `asofs[index]` (no parity scan on later days' stale chain)."""
        day, moment = self.days[index], self.asofs[index]
        feed = day_feed(self.history, day, self.rules)
        try:
            market = feed.market_at(moment, self.chain)
        except KeyError as error:
            raise SkipDay(f"market on {day:%Y-%m-%d}: {error.args[0]}") from None
        return market if day == self.entry_day else replace(market, chain=None)


def _day_columns(
    history: History, day: date, moments: list[datetime], rules: HedgeRules
) -> tuple[NDArray[np.float64], NDArray[np.bool_], float]:
    # SPX at each moment (NaN before the first bar closes), whether the bars up to it are
    # clean, and the day's first close.
    if day in history.minute_bars:
        feed = day_feed(history, day, rules)
        session = feed.session
        ends = session.times + np.timedelta64(session.interval_minutes, "m")
        cut = np.array([_utc_minute(m) for m in moments], dtype="datetime64[m]")
        last = np.searchsorted(ends, cut, side="right") - 1
        spots = np.where(last >= 0, session.close[np.maximum(last, 0)], np.nan)
        clean = np.array(
            [not recent_bar_issues(session.until(m), day, m) for m in moments], dtype=np.bool_
        )
        return np.asarray(spots, dtype=np.float64), clean, feed.open_spot
    # The modelled path's 1-minute bar k closes at path[k + 1]; by a moment k minutes after
    # the open, bars 0 .. k-1 are complete (as `Bars.until` counts them). The path is taken
    # at just those minutes and minute 1 (the first close).
    opens = session_open(day)
    minutes = _session_minutes(day)
    elapsed = np.array(
        [min(int((m - opens).total_seconds() // 60), minutes) for m in moments], dtype=np.intp
    )
    levels = _path_at(history, day, np.append(elapsed, 1))
    spots = np.where(elapsed >= 1, levels[:-1], np.nan)
    clean = elapsed >= 1  # the modelled bars have no gaps, NaN or disorder
    return np.asarray(spots, dtype=np.float64), clean, float(levels[-1])


@dataclass(slots=True, eq=False)
class _Columns:
    """Builds a `DayPath` one day at a time."""

    asofs: list[datetime] = field(default_factory=list)
    stamps: list[NDArray[np.float64]] = field(default_factory=list)
    spots: list[NDArray[np.float64]] = field(default_factory=list)
    vix: list[NDArray[np.float64]] = field(default_factory=list)
    clean: list[NDArray[np.bool_]] = field(default_factory=list)
    days: list[date] = field(default_factory=list)

    def add(self, history: History, day: date, moments: list[datetime], rules: HedgeRules) -> None:
        """Append the day's moments; raises `SkipDay` if its history is missing or bad."""
        check_day(history, day)
        key = (day, tuple(moments))
        known = history.day_columns.get(key)
        if known is None:
            known = history.day_columns[key] = _day_columns(history, day, moments, rules)
        spots, clean, open_spot = known
        # The day's opening VIX (`check_day` found it), as `VolIndices.levels_at` gives it
        # during the session; moved with SPX as `RecordedDayFeed.vol_at` moves it.
        opening_vix = history.indices.vix.open_on(day)
        beta = rules.sensitivity.vix_pct_per_spx_pct.mid
        moved = np.where(np.isfinite(spots), spots, open_spot)
        self.vix.append(opening_vix * np.maximum(1.0 + beta * (moved / open_spot - 1.0), 0.2))
        self.asofs.extend(moments)
        self.stamps.append(posix_stamps(moments))
        self.spots.append(spots)
        self.clean.append(clean)
        self.days.extend([day] * len(moments))

    def path(
        self, *, entry_day: date, chain: OptionChain, history: History, rules: HedgeRules
    ) -> DayPath:
        """The columns as one `DayPath`."""
        return DayPath(
            asofs=self.asofs,
            stamps=np.concatenate(self.stamps),
            spots=np.concatenate(self.spots),
            vix=np.concatenate(self.vix),
            clean=np.concatenate(self.clean),
            days=self.days,
            entry_day=entry_day,
            chain=chain,
            history=history,
            rules=rules,
        )


def _utc_minute(moment: datetime) -> np.datetime64:
    return np.datetime64(moment.astimezone(UTC).replace(tzinfo=None), "m")


@dataclass(slots=True, kw_only=True, eq=False)
class BacktestDay:
    """One historical day served to `core.backtest.run_day` without looking ahead."""

    day: date
    entry: datetime
    track: Track
    history: History
    hedge_rules: HedgeRules
    _chain: OptionChain | None = None
    notes: list[str] = field(default_factory=list)

    def _feed(self, day: date | None = None) -> RecordedDayFeed:
        return day_feed(self.history, day or self.day, self.hedge_rules)

    def settlement(self, signal: CondorSignal) -> tuple[float, VolIndexLevels, DataStamp]:
        """The expiry's settlement print (AM: the opening print) and closing VIX levels."""
        try:
            return self._settlement(signal)
        except KeyError as error:
            # A closing index value the settlement needs is not in the history.
            raise SkipDay(f"settlement on {signal.expiry:%Y-%m-%d}: {error.args[0]}") from None

    def chain(self) -> OptionChain:
        """The real snapshot near `entry` if one was recorded, else the modelled chain."""
        if self._chain is None:
            source, note = self.chain_source()
            chain = model_chains([source])[0] if isinstance(source, ChainRequest) else source
            self.serve_chain(chain, note)
            return chain
        return self._chain

    def chain_source(self) -> tuple[OptionChain | ChainRequest, str | None]:
        """The real snapshot near `entry` or the request of the chain to model, and its note.

        The note says why a chain is modelled (None for a real snapshot).

        Raises:
            SkipDay: If the history cannot serve the day's chain.
        """
        feed = self._feed()
        try:
            return feed.chain_source_at(self.entry, expiries_for(self.track, self.day))
        except KeyError as error:
            raise SkipDay(f"chain on {self.day:%Y-%m-%d}: {error.args[0]}") from None

    def serve_chain(self, chain: OptionChain, note: str | None) -> None:
        """Serve `chain`, built from `chain_source` (with its note), as the day's chain."""
        if note:
            self.notes.append(note)
        self._chain = chain

    def entry_vix(self) -> float:
        """VIX at entry (opening VIX moved with SPX since the open)."""
        return self._feed().vol_at(self.entry).vix

    def markets(self, settles_at: datetime) -> Iterator[DayPath]:
        """Engine inputs from 5 minutes after entry to settlement, as one stretch.

        The stretch runs to the last day whose history is good; a bad day after it raises
        `SkipDay` only once the stretch has been walked (a position closed before is scored).
        """
        chain = self.chain()
        day = self.day
        last_day = settles_at.astimezone(NEW_YORK).date()
        columns = _Columns()
        failure: SkipDay | None = None
        while day <= last_day:
            close = min(session_close(day), settles_at)
            if self.track is Track.DTE_45 and day != self.day:
                moments = [close - timedelta(minutes=DAILY_MARK_MINUTES_BEFORE_CLOSE)]
            else:
                start = self.entry if day == self.day else session_open(day)
                moments = []
                moment = start + timedelta(minutes=STEP_MINUTES)
                while moment <= close:
                    moments.append(moment)
                    moment += timedelta(minutes=STEP_MINUTES)
            try:
                columns.add(self.history, day, moments, self.hedge_rules)
            except SkipDay as skip:
                failure = skip
                break
            day = next_trading_day(day)
        if columns.asofs:
            yield columns.path(
                entry_day=self.day, chain=chain, history=self.history, rules=self.hedge_rules
            )
        if failure is not None:
            raise failure

    def _settlement(self, signal: CondorSignal) -> tuple[float, VolIndexLevels, DataStamp]:
        feed = self._feed(signal.expiry)
        price, vol, note = feed.settlement()
        if signal.root == "SPX":
            price, note = feed.opening_print()
        chain = self.chain()
        return (
            price,
            vol,
            DataStamp(
                quote_time=signal.settles_at,
                source=f"{feed.bars.source}; {chain.source}; Cboe VIX/VIX9D/VIX3M closes",
                modelled=(
                    *chain.modelled,
                    note,
                    *filter(None, [self.history.indices.term_note(signal.expiry)]),
                    (
                        f"{REAL_VX_LABEL} of {vol.vx_curve.trade_date:%Y-%m-%d} (weeklies "
                        "interpolated between them)"
                        if vol.vx_curve is not None
                        else "VIX futures estimated from the closing term structure (no real VX "
                        "settles for the day)"
                    ),
                ),
            ),
        )


def backtest_days(
    track: Track,
    start: date,
    end: date,
    *,
    history: History,
    rules: CondorRules,
    hedge_rules: HedgeRules,
) -> Iterator[BacktestDay | Skipped]:
    """Every NYSE trading day in [start, end] as a lazily built `BacktestDay`."""
    entry_time = rules.track(track).entry_time
    day = start
    while day <= end:
        if is_trading_day(day, NYSE_HOLIDAYS):
            entry = datetime.combine(day, entry_time, NEW_YORK)
            yield BacktestDay(
                day=day, entry=entry, track=track, history=history, hedge_rules=hedge_rules
            )
        day += timedelta(days=1)


def with_chains_modelled(
    days: Iterable[BacktestDay | Skipped], block_days: int = CHAIN_BLOCK_DAYS
) -> Iterator[BacktestDay | Skipped]:
    """The days, each block of `block_days` served with its modelled chains already built.

    The block's chains are modelled in one vectorised pass (`core.surface.model_chains`), each
    exactly the chain the day would model alone. A day whose history cannot serve its chain, or
    a block the model refuses, is left to model its own chain and report why it cannot.
    """
    batch: list[BacktestDay | Skipped] = []
    for day in days:
        batch.append(day)
        if len(batch) == block_days:
            _model_chains(batch)
            yield from batch
            batch = []
    _model_chains(batch)
    yield from batch


def _model_chains(days: Sequence[BacktestDay | Skipped]) -> None:
    requests: list[ChainRequest] = []
    waiting: list[tuple[BacktestDay, str | None]] = []
    for day in days:
        if not isinstance(day, BacktestDay):
            continue
        try:
            source, note = day.chain_source()
        except (SkipDay, ValueError):
            continue  # the day's own `chain` raises it again, where the day is run
        if isinstance(source, ChainRequest):
            requests.append(source)
            waiting.append((day, note))
        else:
            day.serve_chain(source, note)  # a real snapshot, read once
    try:
        chains = model_chains(requests)
    except ValueError:
        return  # each day models its own chain: the one the model refuses says why
    for (day, note), chain in zip(waiting, chains, strict=True):
        day.serve_chain(chain, note)


def run(
    track: Track,
    risk: Risk,
    start: date,
    end: date,
    *,
    data_dir: Path,
    rules: CondorRules,
    hedge_rules: HedgeRules,
    costs: Costs,
    series: Sequence[str] = SERIES,
    history: History | None = None,
    on_day: Callable[[DayOutcome], None] | None = None,
    jobs: int = 1,
    path_seed: int | None = None,
    model_term_structure: bool = False,
) -> Report:
    """Backtest one track and risk level over [start, end] and compute every figure.

    `path_seed` draws the modelled intraday paths (`modelled_path`) with that seed; None: the
    history's (0 unless it was given another). `model_term_structure` models VIX3M and VIX9D
    before Cboe printed them (`History.with_modelled_term_structure`), labelled on the cards.

    With `jobs` above 1, the 0DTE and 1DTE tracks run spans of `SPAN_DAYS` trading days in
    that many processes, each loading the history from `data_dir` (`history` is then not
    used); their days trade independently, so the figures are the same as in one process. A
    range of one span runs here. The 45DTE track opens one condor at a time, each day waiting
    on the last, and always runs in one process.
    """
    if start > end:
        raise BacktestError(f"--from must not be after --to, was {start} > {end}")
    if jobs < 1:
        raise BacktestError(f"--jobs must be at least 1, was {jobs}")
    if path_seed is not None and path_seed < 0:
        raise BacktestError(f"--path-seed must be at least 0, was {path_seed}")
    span = (end - start).days + 1
    if not any(is_trading_day(start + timedelta(days=i)) for i in range(span)):
        raise BacktestError(f"no NYSE trading day from {start} to {end}")
    one_at_a_time = track is Track.DTE_45
    spans = _spans(start, end) if jobs > 1 and not one_at_a_time else []
    if path_seed is None:
        path_seed = history.path_seed if history is not None else 0
    if len(spans) > 1:
        # The workers load the history; here only its SPX dates are needed, for the check.
        _require_history(start, end, load_index_history(data_dir / SPX_DAILY_FILE, name="SPX"))
        task = _Span(track, risk, rules, hedge_rules, costs)
        outcomes = _run_spans(task, spans, data_dir, jobs, on_day, path_seed, model_term_structure)
    else:
        history = history or History.load(data_dir)
        _require_history(start, end, history.spx)
        if path_seed != history.path_seed:
            history = history.fresh(path_seed=path_seed)
        if model_term_structure:
            history = history.with_modelled_term_structure()
        days = backtest_days(
            track, start, end, history=history, rules=rules, hedge_rules=hedge_rules
        )
        outcomes = run_backtest(
            # One condor at a time skips most days: their chains are not modelled ahead.
            days if one_at_a_time else with_chains_modelled(days),
            CondorProfile.of(rules, track, risk),
            hedge_rules,
            costs,
            one_at_a_time=one_at_a_time,
            on_day=on_day,
        )
    return build_report(outcomes, series)


def _require_history(start: date, end: date, spx: IndexHistory) -> None:
    # A range without a day of the SPX daily history is a mistake to name, not a report of
    # skipped days (a range that overlaps the history runs, the days outside it skipped with
    # the reason).
    first, last = spx.dates[0], spx.dates[-1]
    if end < first or start > last:
        raise BacktestError(
            f"no SPX daily history from {start} to {end}: {spx.source} covers {first} to {last}"
        )


#: Trading days a process takes at a time when a run is spread over processes (two blocks of
#: modelled chains): small enough to share the work out evenly and move the progress bar.
SPAN_DAYS = 2 * CHAIN_BLOCK_DAYS


def _spans(start: date, end: date, size: int = SPAN_DAYS) -> list[tuple[date, date]]:
    # [start, end] cut into consecutive spans of `size` trading days, first and last day each.
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    trading = [d for d in days if is_trading_day(d)]
    return [
        (trading[i], trading[min(i + size, len(trading)) - 1]) for i in range(0, len(trading), size)
    ]


@dataclass(frozen=True, slots=True)
class _Span:
    """What a worker process needs to backtest a span of days (pickled to it)."""

    track: Track
    risk: Risk
    rules: CondorRules
    hedge_rules: HedgeRules
    costs: Costs

    def __call__(self, span: tuple[date, date]) -> list[DayOutcome]:
        """The outcomes of the span's days, in date order, on this process's history."""
        history = _WORKER_HISTORY[0]
        days = backtest_days(
            self.track, *span, history=history, rules=self.rules, hedge_rules=self.hedge_rules
        )
        return run_backtest(
            with_chains_modelled(days),
            CondorProfile.of(self.rules, self.track, self.risk),
            self.hedge_rules,
            self.costs,
            one_at_a_time=False,
        )


#: What BLAS libraries read for their thread count: a worker process gets one thread, as its
#: siblings already take the other cores (two BLAS threads each on a 1DTE run cost a quarter).
_BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    # The environment worker processes start with (read when they import NumPy), restored after.
    saved = {name: os.environ.get(name) for name in _BLAS_THREADS}
    os.environ.update(dict.fromkeys(_BLAS_THREADS, "1"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


#: The history a worker process loaded once (`_load_worker_history`).
_WORKER_HISTORY: list[History] = []


def _load_worker_history(data_dir: Path, path_seed: int, model_term_structure: bool) -> None:
    history = History.load(data_dir).fresh(path_seed=path_seed)
    if model_term_structure:
        history = history.with_modelled_term_structure()
    _WORKER_HISTORY[:] = [history]


def _run_spans(
    task: _Span,
    spans: list[tuple[date, date]],
    data_dir: Path,
    jobs: int,
    on_day: Callable[[DayOutcome], None] | None,
    path_seed: int,
    model_term_structure: bool,
) -> list[DayOutcome]:
    # Each span in a worker process (spawned, not forked: the parent may hold threads), the
    # outcomes put back in date order; `on_day` sees a span's days when the span is done. On an
    # error or an interrupt the spans not started are cancelled, not run to the end.
    done: dict[int, list[DayOutcome]] = {}
    with _one_blas_thread():
        pool = ProcessPoolExecutor(
            max_workers=min(jobs, len(spans)),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_load_worker_history,
            initargs=(data_dir, path_seed, model_term_structure),
        )
        try:
            futures = {pool.submit(task, span): i for i, span in enumerate(spans)}
            for future in as_completed(futures):
                outcomes = done[futures[future]] = future.result()
                if on_day is not None:
                    for outcome in outcomes:
                        on_day(outcome)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    return [outcome for i in range(len(spans)) for outcome in done[i]]


def run_with_progress(
    track: Track,
    risk: Risk,
    start: date,
    end: date,
    *,
    data_dir: Path,
    rules: CondorRules,
    hedge_rules: HedgeRules,
    costs: Costs,
    series: Sequence[str] = SERIES,
    jobs: int = 1,
    path_seed: int = 0,
    model_term_structure: bool = False,
) -> Report:
    """`run` with a rich progress bar on stderr (shown only when stderr is a terminal)."""
    from rich.console import Console  # only the command line needs it
    from rich.progress import Progress

    console = Console(stderr=True)
    total = sum(
        1 for i in range((end - start).days + 1) if is_trading_day(start + timedelta(days=i))
    )
    with Progress(console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task(f"backtest {track} {risk}", total=max(total, 0))
        return run(
            track,
            risk,
            start,
            end,
            data_dir=data_dir,
            rules=rules,
            hedge_rules=hedge_rules,
            costs=costs,
            series=series,
            on_day=lambda _: progress.advance(task),
            jobs=jobs,
            path_seed=path_seed,
            model_term_structure=model_term_structure,
        )


# --- output ------------------------------------------------------------------------------------


def _stats_rows(stats: dict[str, Stats]) -> dict[str, Any]:
    return {name: s.as_dict() for name, s in stats.items()}


def report_json(
    report: Report,
    *,
    track: Track,
    risk: Risk,
    start: date,
    end: date,
    costs: Costs,
    defence: Defence = Defence.CHEAPEST,
    path_seed: int = 0,
    model_term_structure: bool = False,
) -> dict[str, Any]:
    """One JSON object with every figure of the report.

    `path_seed` and `model_term_structure` say how the run was made (see `run`).
    """
    trades = report.trades
    modelled = sum(t.modelled_chain for t in trades)
    real_vx, estimated_vx = _vx_counts(trades)
    return {
        "track": str(track),
        "risk": str(risk),
        "from": f"{start:%Y-%m-%d}",
        "to": f"{end:%Y-%m-%d}",
        "series": list(report.series),
        "series_meaning": _series_meaning(defence),
        "defence": str(defence),
        "costs": {
            "commission_per_contract_usd": costs.commission_per_contract_usd,
            "slippage_short_dated": costs.slippage_short_dated,
            "slippage_long_dated": costs.slippage_long_dated,
            "far_otm_extra": costs.far_otm_extra,
            "hedge_commission_per_contract_usd": costs.hedge_commission_per_contract_usd,
        },
        "days": len(report.outcomes),
        "trades": len(trades),
        "no_trade_days": len(report.no_trade_days),
        "skipped_days": len(report.skipped),
        "engine_error_days": sum(s.reason.startswith(ENGINE_ERROR) for s in report.skipped),
        "chains": {"modelled": modelled, "real": len(trades) - modelled},
        "path_model": _path_model(path_seed),
        "path_seed": path_seed,
        "term_structure": _term_structure(model_term_structure),
        "overall": _stats_rows(report.overall),
        "by_vix_regime": {k: _stats_rows(v) for k, v in report.by_regime.items()},
        "by_year": {k: _stats_rows(v) for k, v in report.by_year.items()},
        "hedge": {
            "hedges_taken": report.hedges_taken,
            "cost_usd": round(report.hedge_cost_usd, 2),
            "payoff_usd": round(report.hedge_payoff_usd, 2),
            "vix_pricing": "VIX instruments valued off real CFE VX settles where the history "
            "has them (2007-04-02 ... 2021-12-23; weeklies interpolated between them, moved by "
            "the modelled change intraday), else off futures estimated from the VIX term "
            "structure (modelled)",
            "vix_hedges": real_vx + estimated_vx,
            "vix_hedges_on_real_vx": real_vx,
            "vix_hedges_on_estimated_vx": estimated_vx,
        },
        "exits": exit_count(trades),
        "skipped": [{"day": f"{s.day:%Y-%m-%d}", "reason": s.reason} for s in report.skipped],
        "no_trade": [
            {"day": f"{n.day:%Y-%m-%d}", "reasons": list(n.codes)} for n in report.no_trade_days
        ],
        "trade_list": [
            {
                "day": f"{t.day:%Y-%m-%d}",
                "expiry": f"{t.expiry:%Y-%m-%d}",
                "signal_id": t.signal.signal_id,
                # What a reader needs to score the trade held to settlement by hand: the legs
                # (long put, short put, short call, long call), the credit and the print.
                "strikes": [float(leg.strike) for leg in t.signal.legs],
                "contracts": t.contracts,
                "credit_mid": float(t.signal.credit_mid),
                "fill_credit": float(t.fill_credit),
                "settlement": str(t.signal.settlement),
                # The value scored: the shipped daily file's print (stored as a 32-bit
                # float, so it can sit a few ten-thousandths of a point off the cent).
                "settlement_price": t.settlement_price,
                "entry_vix": round(t.entry_vix, 2),
                "modelled_chain": t.modelled_chain,
                "exit": str(t.exit_rule) if t.exit_rule else None,
                "hedges_taken": t.hedges_taken,
                "vix_hedges": t.vix_hedges,
                "vix_hedges_on_real_vx": t.vix_hedges_on_real_vx,
                "held_usd": round(t.held_usd, 2),
                "managed_usd": round(t.managed_usd, 2),
                "hedged_usd": round(t.hedged_usd, 2),
                "hedge_cost_usd": round(t.hedge_cost_usd, 2),
                "hedge_payoff_usd": round(t.hedge_payoff_usd, 2),
            }
            for t in trades
        ],
    }


def _vx_counts(trades: Sequence[Trade]) -> tuple[int, int]:
    # VIX hedges bought off the real VX curve, and off the estimated future (SPX spreads apart).
    real = sum(t.vix_hedges_on_real_vx for t in trades)
    return real, sum(t.vix_hedges for t in trades) - real


def _fmt(value: float, money: bool = True) -> str:
    if not math.isfinite(value):
        return "n/a"
    return f"{value:,.0f}" if money else f"{value:.2f}"


def _term_structure(modelled: bool) -> str:
    # What a report says of the run's VIX9D and VIX3M (`run(model_term_structure=...)`).
    if not modelled:
        return "VIX9D and VIX3M: Cboe's published values only (days before them skipped)"
    return (
        "VIX9D and VIX3M: Cboe's where published; on the days before, modelled from VIX and "
        f"VIX6M ({TERM_MODEL_VERSION}, core.vix), labelled on every card that uses them"
    )


def _path_model(seed: int) -> str:
    return f"{PATH_MODEL}; path seed {seed}"


def _series_meaning(defence: Defence) -> dict[str, str]:
    if defence is Defence.CHEAPEST:
        return {
            "held": "condor held to settlement, no management, no hedge",
            "managed": "layer-3 exits and ALVH wing buy-backs, no hedge instruments",
            "hedged": "managed plus the hedges ALVH recommended (full ALVH)",
        }
    return {
        "held": "condor held to settlement, no management, no hedge",
        "managed": (
            f"layer-3 exits and the tested wing bought back whenever priced (baseline "
            f"'{defence}', not ALVH)"
        ),
        "hedged": (
            "the same as managed: a close is priced on every test, so the baseline buys no hedge"
        ),
    }


def report_text(
    report: Report,
    *,
    track: Track,
    risk: Risk,
    start: date,
    end: date,
    costs: Costs,
    defence: Defence = Defence.CHEAPEST,
    path_seed: int = 0,
    model_term_structure: bool = False,
) -> str:
    """The report as a plain-text table, with what is modelled said plainly."""
    trades = report.trades
    modelled = sum(t.modelled_chain for t in trades)
    real_vx, estimated_vx = _vx_counts(trades)
    lines = [
        f"backtest {track} {risk} {start:%Y-%m-%d} .. {end:%Y-%m-%d}: {len(report.outcomes)} "
        f"trading days, {len(trades)} trades, {len(report.no_trade_days)} no-trade days, "
        f"{len(report.skipped)} skipped",
        f"chains: {modelled} modelled (core.surface), {len(trades) - modelled} real snapshots",
        _path_model(path_seed),
        _term_structure(model_term_structure),
        *(
            []
            if defence is Defence.CHEAPEST
            else [
                f"defence: {defence} (a baseline rule, not ALVH: the tested wing is bought back "
                "whenever a close is priced)"
            ]
        ),
        f"costs: ${costs.commission_per_contract_usd:.2f}/contract/leg, slippage "
        f"{costs.slippage_short_dated:.0%} (<=1 DTE) / {costs.slippage_long_dated:.0%} of bid/ask"
        f" per leg, +{costs.far_otm_extra:.0%} for |delta| < 0.10; hedges "
        f"${costs.hedge_commission_per_contract_usd:.2f}/contract",
        "",
        _table(report.overall),
        "",
        f"hedges taken {report.hedges_taken}: cost ${report.hedge_cost_usd:,.0f}, payoff "
        f"${report.hedge_payoff_usd:,.0f}; of the {real_vx + estimated_vx} VIX hedges, "
        f"{real_vx} priced off real CFE VX settles, {estimated_vx} off futures estimated from "
        "the VIX term structure (modelled)",
        "how trades ended: "
        + ", ".join(
            f"{how} {count}"
            for how, count in sorted(exit_count(trades).items(), key=lambda kv: (-kv[1], kv[0]))
        ),
    ]
    for title, groups in (("by VIX regime", report.by_regime), ("by year", report.by_year)):
        lines += ["", title]
        for label, stats in groups.items():
            parts = [
                f"{name} {_fmt(s.total_usd)} ({s.trades} tr, win {s.win_rate:.0%})"
                for name, s in stats.items()
            ]
            lines.append(f"  {label:<10} " + "; ".join(parts))
    errors = [s for s in report.skipped if s.reason.startswith(ENGINE_ERROR)]
    if errors:
        lines += [
            "",
            f"WARNING: {len(errors)} day(s) the hedge engine could not price are left out "
            "(they may be tail days): " + ", ".join(f"{s.day:%Y-%m-%d}" for s in errors[:10]),
        ]
    if report.skipped:
        reasons: dict[str, int] = {}
        for s in report.skipped:
            key = s.reason.split(" for ")[0].split(" on ")[0][:70]
            reasons[key] = reasons.get(key, 0) + 1
        lines += ["", "skipped days (first reason words: count):"]
        lines += [f"  {k}: {v}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])]
    return "\n".join(lines)


def _table(overall: dict[str, Stats]) -> str:
    header = (
        f"{'series':<8} {'trades':>6} {'win':>5} {'credit$':>8} {'exp$':>8} "
        f"{'exp 95% CI':>17} {'PF':>5} {'total$':>10} {'maxDD$':>9} {'worst$':>9} "
        f"{'CVaR5$':>8} {'Sharpe':>6} {'Sortino':>7}"
    )
    rows = [header]
    for name, s in overall.items():
        ci = f"[{_fmt(s.expectancy_ci95_usd[0])}, {_fmt(s.expectancy_ci95_usd[1])}]"
        rows.append(
            f"{name:<8} {s.trades:>6} {s.win_rate:>5.0%} {_fmt(s.avg_credit_usd):>8} "
            f"{_fmt(s.expectancy_usd):>8} {ci:>17} {_fmt(s.profit_factor, False):>5} "
            f"{_fmt(s.total_usd):>10} {_fmt(s.max_drawdown_usd):>9} {_fmt(s.worst_day_usd):>9} "
            f"{_fmt(s.cvar5_usd):>8} {_fmt(s.sharpe, False):>6} {_fmt(s.sortino, False):>7}"
        )
    return "\n".join(rows)


def write_charts(report: Report, out_dir: Path, title: str) -> list[Path]:
    """Equity (each series), drawdown and P&L histogram PNGs into `out_dir` (matplotlib Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    trades = report.trades
    days = np.array([t.day for t in trades], dtype="datetime64[D]")
    written: list[Path] = []
    charts: list[tuple[str, str]] = [
        ("equity", "cumulative P&L, $"),
        ("drawdown", "drawdown from peak, $"),
        ("pnl_hist", "trades"),
    ]
    for name, ylabel in charts:
        fig, ax = plt.subplots(figsize=(9, 4.5), dpi=100)
        for series in report.series:
            pnl = np.array([t.pnl(series) for t in trades], dtype=np.float64)
            if name == "pnl_hist":
                ax.hist(pnl, bins=60, alpha=0.5, label=series)
                ax.set_xlabel("P&L per trade, $")
                continue
            equity = np.cumsum(pnl)
            values = (
                equity
                if name == "equity"
                else equity - np.maximum.accumulate(np.concatenate([[0.0], equity]))[1:]
            )
            ax.plot(days, values, label=series, linewidth=1)
        ax.set_title(f"{title}: {name.replace('_', ' ')}")
        ax.set_ylabel(ylabel)
        ax.legend()
        ax.grid(alpha=0.3)
        fig.tight_layout()
        path = out_dir / f"{name}.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written


def dumps(obj: dict[str, Any]) -> str:
    """JSON text of a report object."""
    return json.dumps(obj, indent=2)


__all__ = [
    "PATH_MODEL",
    "PATH_MODEL_VERSION",
    "PATH_NOISE_MODEL",
    "PATH_REVERSION_MINUTES",
    "PATH_SHAPE",
    "PATH_TIMING_SD",
    "SPX_DAILY_FILE",
    "SPY_MINUTE_FILE",
    "BacktestDay",
    "BacktestError",
    "History",
    "NoTrade",
    "Trade",
    "backtest_days",
    "check_day",
    "day_feed",
    "dumps",
    "expiries_for",
    "five_minute_variation",
    "modelled_path",
    "path_knots",
    "path_noise",
    "report_json",
    "report_text",
    "run",
    "scaled_to_spx",
    "synthetic_bars",
    "variance_clock",
    "write_charts",
]
