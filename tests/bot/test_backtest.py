"""The backtest composed on the shipped history: live parity, no look-ahead, skips, the CLI."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from bot.adapters.event_calendar import load_event_days
from bot.adapters.market_data.bars_csv import load_bars
from bot.adapters.market_data.index_history import IndexHistory
from bot.backtest import (
    PATH_NOISE_MODEL,
    SPY_MINUTE_FILE,
    BacktestDay,
    History,
    _ohlc,
    _shaped_stretches,
    _spans,
    backtest_days,
    check_day,
    day_feed,
    five_minute_variation,
    modelled_path,
    path_knots,
    path_noise,
    report_json,
    run,
    scaled_to_spx,
    synthetic_bars,
    variance_clock,
    with_chains_modelled,
)
from bot.cli import DATA_DIR, _rules, main
from bot.render.json_card import event_to_json
from bot.replay import recent_bar_issues
from core.backtest import (
    SERIES,
    Costs,
    DayOutcome,
    MarketPath,
    Report,
    SkipDay,
    Skipped,
    Trade,
    run_backtest,
    run_day,
)
from core.bars import Bars, check_bars
from core.calendar import (
    NEW_YORK,
    elapsed_seconds,
    is_trading_day,
    session_close,
    session_open,
)
from core.chain import OptionChain, Severity
from core.condor import CondorProfile, select_condor
from core.hedge import MarketState, VolIndexLevels
from core.performance import cvar
from core.rules import CondorRules, Defence, HedgeRules
from core.surface import model_chain
from core.types import CondorSignal, DataStamp, HedgeAlert, Risk, Track
from tests.conftest import assert_same_chain
from tests.readme import dollars, readme_words

SNAPSHOT_DAY = date(2022, 3, 23)


@pytest.fixture(scope="module")
def history() -> History:
    return History.load(DATA_DIR)


def _fresh(history: History, **changes: object) -> History:
    return history.fresh(**changes)


def _run(
    history: History | None,
    track: Track,
    start: date,
    end: date,
    *,
    jobs: int = 1,
    on_day: Callable[[DayOutcome], None] | None = None,
    path_seed: int | None = None,
    model_term_structure: bool = False,
) -> Report:
    return run(
        track,
        Risk.BALANCED,
        start,
        end,
        data_dir=DATA_DIR,
        rules=_rules(None),
        hedge_rules=HedgeRules(),
        costs=Costs(),
        history=history,
        jobs=jobs,
        on_day=on_day,
        path_seed=path_seed,
        model_term_structure=model_term_structure,
    )


def test_backtest_on_a_real_snapshot_day_reproduces_the_live_signal_card(history, capsys):
    report = _run(_fresh(history), Track.ZERO_DTE, SNAPSHOT_DAY, SNAPSHOT_DAY)
    (trade,) = report.trades
    assert not trade.modelled_chain
    main(
        [
            "signal",
            "--chain",
            "spx_cboe_2022-03-23_intraday_1011ET.csv.gz",
            "--track",
            "0dte",
            "--risk",
            "balanced",
            "--asof",
            "2022-03-23T10:00",
            "--json",
        ]
    )
    live = json.loads(capsys.readouterr().out)
    assert event_to_json(trade.signal) == live


def _shift(series: IndexHistory, after: date, factor: float) -> IndexHistory:
    mask = np.array([d > after for d in series.dates])
    scale = np.where(mask, factor, 1.0)
    return replace(
        series,
        open=series.open * scale,
        high=series.high * scale,
        low=series.low * scale,
        close=series.close * scale,
    )


def test_shifting_future_data_leaves_earlier_decisions_unchanged(history):
    start, cut, end = date(2022, 6, 1), date(2022, 6, 8), date(2022, 6, 15)
    base = _run(_fresh(history), Track.ONE_DTE, start, end)
    indices = history.indices
    shifted_history = _fresh(
        history,
        spx=_shift(history.spx, cut, 0.9),
        indices=replace(
            indices,
            vix=_shift(indices.vix, cut, 1.5),
            vix9d=_shift(indices.vix9d, cut, 1.5),
            vix3m=_shift(indices.vix3m, cut, 1.5),
        ),
    )
    shifted = _run(shifted_history, Track.ONE_DTE, start, end)
    before = [o for o in base.outcomes if o.day <= cut]
    after = [o for o in shifted.outcomes if o.day <= cut]
    assert [o.day for o in before] == [o.day for o in after]
    changed = 0
    for a, b in zip(before, after, strict=True):
        assert type(a) is type(b)
        if isinstance(a, Trade) and isinstance(b, Trade):
            # The decision (the card) never depends on data after its entry.
            assert event_to_json(a.signal) == event_to_json(b.signal)
            if a.expiry <= cut:
                assert a.held_usd == b.held_usd
                assert a.hedged_usd == b.hedged_usd
            else:
                changed += (a.held_usd, a.hedged_usd) != (b.held_usd, b.hedged_usd)
    # The shift itself is real: the trade settling after the cut is scored differently.
    assert changed >= 1
    later = [o for o in base.outcomes if isinstance(o, Trade) and o.day > cut]
    later_shifted = [o for o in shifted.outcomes if isinstance(o, Trade) and o.day > cut]
    assert [t.signal.signal_id for t in later] != [t.signal.signal_id for t in later_shifted]


def _without_day(series: IndexHistory, day: date) -> IndexHistory:
    keep = [i for i, d in enumerate(series.dates) if d != day]
    return IndexHistory(
        name=series.name,
        source=series.source,
        dates=tuple(series.dates[i] for i in keep),
        open=series.open[keep],
        high=series.high[keep],
        low=series.low[keep],
        close=series.close[keep],
    )


def test_missing_vix9d_day_is_skipped_with_the_reason(history):
    day = date(2022, 6, 7)
    holed = _without_day(history.indices.vix9d, day)
    damaged = _fresh(history, indices=replace(history.indices, vix9d=holed))
    report = _run(damaged, Track.ZERO_DTE, day, day)
    (skipped,) = report.skipped
    assert skipped.day == day
    assert "no VIX9D value for 2022-06-07" in skipped.reason
    assert report.trades == ()


def test_bad_ohlc_row_is_skipped_never_filled(history):
    day = date(2022, 6, 10)
    row = history.spx_rows[day]
    high = history.spx.high.copy()
    high[row] = history.spx.low[row] - 1.0
    damaged = _fresh(history, spx=replace(history.spx, high=high))
    with pytest.raises(SkipDay, match="bad SPX OHLC on 2022-06-10"):
        check_day(damaged, day)
    report = _run(damaged, Track.ZERO_DTE, day, day)
    assert report.skipped == (Skipped(day=day, reason=report.skipped[0].reason),)
    assert "bad SPX OHLC" in report.skipped[0].reason


def test_a_card_on_a_modelled_path_says_its_spot_is_not_a_print(history):
    # 2023-03-21 has real 1-minute bars; 2023-03-02 is modelled. Every card the backtest
    # writes on a modelled path names the path its entry spot was read from.
    (real,) = _run(_fresh(history), Track.ZERO_DTE, date(2023, 3, 21), date(2023, 3, 21)).trades
    (modelled,) = _run(_fresh(history), Track.ZERO_DTE, date(2023, 3, 2), date(2023, 3, 2)).trades
    assert not any("modelled spot" in line for line in real.signal.data.modelled)
    (line,) = [m for m in modelled.signal.data.modelled if m.startswith("modelled spot")]
    assert line == (
        f"modelled spot: SPX {modelled.signal.spot:.2f} at 10:00 ET is a point on the modelled "
        "SPX path through the 2023-03-02 daily OHLC (bridge-5, seed 0), not a print"
    )


def test_path_goes_to_the_nearer_extreme_first_and_ends_at_the_close():
    times, levels = path_knots(100.0, 103.0, 99.0, 101.0, 390)
    assert list(levels) == [100.0, 99.0, 103.0, 101.0]
    # 1 + 4 + 2 = 7 points travelled: 1/7 and 5/7 of the session's variance, which the
    # U-shaped clock carries sooner than 1/7 of the minutes and later than 5/7 of them.
    clock = variance_clock(390)
    first, second = (
        round(float(np.interp(share, clock, np.arange(391.0)))) for share in (1 / 7, 5 / 7)
    )
    assert list(times) == [0.0, float(first), float(second), 390.0]
    assert first < round(390 / 7)
    assert second > round(390 * 5 / 7)
    # Drawn timing scales the first extreme's share from the open and the second's to the
    # close; a draw that would put them out of order keeps the shares by points.
    early, late = path_knots(100.0, 103.0, 99.0, 101.0, 390, (math.log(0.5), math.log(0.5)))[0][1:3]
    assert early == round(float(np.interp(0.5 / 7, clock, np.arange(391.0))))
    assert late == round(float(np.interp(1 - 0.5 * 2 / 7, clock, np.arange(391.0))))
    crossed, _ = path_knots(100.0, 103.0, 99.0, 101.0, 390, (2.0, 2.0))
    np.testing.assert_array_equal(crossed, times)
    bars = synthetic_bars(date(2022, 6, 10), 100.0, 103.0, 99.0, 101.0)
    assert len(bars) == 390
    assert bars.open[0] == 100.0
    assert bars.close[-1] == 101.0
    assert bars.high.max() == 103.0
    assert bars.low.min() == 99.0


def test_the_course_nears_the_first_extreme_late_and_crosses_to_the_other_fast():
    clock = variance_clock(390)
    at = np.array([0, 100, 300, 390])
    levels = np.array([100.0, 99.0, 103.0, 101.0])
    course = _shaped_stretches(clock, at, levels, (2.0, 5.0))
    np.testing.assert_array_equal(course[at], levels)
    # First stretch: progress u ** 2 in the share u of its variance clock elapsed.
    u = (clock[50] - clock[0]) / (clock[100] - clock[0])
    assert course[50] == pytest.approx(100.0 - u**2)
    # Second: (1 + sign(2u - 1) |2u - 1| ** 5) / 2, flat about the middle of the range.
    for m in (120, 200, 280):
        v = 2 * (clock[m] - clock[100]) / (clock[300] - clock[100]) - 1
        assert course[m] == pytest.approx(99.0 + 4.0 * (1 + np.sign(v) * abs(v) ** 5) / 2)
    middle = course[150:251]
    assert middle.max() - middle.min() < 0.2 * 4.0
    # Last: even in the variance clock, as every stretch is with exponents (1, 1).
    np.testing.assert_allclose(course[300:], np.interp(clock, clock[at], levels)[300:])
    even = _shaped_stretches(clock, at, levels, (1.0, 1.0))
    np.testing.assert_allclose(even, np.interp(clock, clock[at], levels))


@pytest.mark.parametrize(
    "ohlc",
    [(4000.0, 4050.0, 3950.0, 4010.0), (4000.0, 4000.0, 3990.0, 3990.0), (3000, 3001, 2700, 2710)],
)
@pytest.mark.parametrize("day", [date(2019, 3, 4), date(2019, 11, 29)])  # a full day, a 13:00 close
@pytest.mark.parametrize("seed", [0, 7])
def test_modelled_path_touches_every_knot_and_never_leaves_the_range(day, ohlc, seed):
    open_, high, low, close = ohlc
    path = modelled_path(day, *ohlc, seed=seed)
    minutes = int((session_close(day) - session_open(day)).total_seconds() // 60)
    assert path.shape == (minutes + 1,)
    # The extremes' minutes are drawn: the path sits on the high and on the low somewhere.
    assert (path[0], path[-1]) == (open_, close)
    assert (path.max(), path.min()) == (high, low)
    # Not the straight stretches between the knots: the bridge wanders and turns back.
    straight = modelled_path(day, *ohlc, seed=seed, noise=0)
    assert np.abs(path - straight).max() > 0.01 * (high - low)
    moves = np.sign(np.diff(path[::5]))
    assert np.count_nonzero(moves[1:] != moves[:-1]) >= 10


def test_modelled_path_is_the_same_every_run_and_another_seed_draws_another():
    day, ohlc = date(2022, 6, 10), (3974.39, 3974.39, 3900.16, 3900.86)
    first = modelled_path(day, *ohlc)
    np.testing.assert_array_equal(first, modelled_path(day, *ohlc, seed=0))
    assert not np.array_equal(first, modelled_path(day, *ohlc, seed=1))
    assert not np.array_equal(first, modelled_path(date(2022, 6, 13), *ohlc))
    # A flat day has nothing to wander in.
    flat = modelled_path(day, 4000.0, 4000.0, 4000.0, 4000.0)
    assert (flat == 4000.0).all()


def test_a_history_without_path_noise_walks_the_straight_stretches(history):
    day = date(2022, 6, 10)
    straight = day_feed(_fresh(history, path_noise=0.0), day, HedgeRules())
    bridged = day_feed(_fresh(history), day, HedgeRules())
    minutes = len(straight.bars)
    times, levels = path_knots(*_ohlc(history, day), minutes)
    clock = variance_clock(minutes)  # straight in variance time between the knots
    np.testing.assert_array_equal(
        straight.bars.close, np.interp(clock, clock[times.astype(int)], levels)[1:]
    )
    assert straight.bars.source.endswith("(straight stretches, no bridge)")
    assert bridged.bars.source.endswith("(bridge-5, seed 0)")
    assert not np.array_equal(bridged.bars.close, straight.bars.close)


@dataclass(frozen=True)
class RealSession:
    """One shipped session of real 1-minute bars (SPX March 2023, SPY 2024 and 2025)."""

    day: date
    ohlc: tuple[float, float, float, float]
    #: The open, then each 1-minute close.
    closes: NDArray[np.float64]
    #: The open, then each 5-minute close.
    five: NDArray[np.float64]

    @property
    def variation(self) -> float:
        # The sum of squared 5-minute moves over the squared range.
        return five_minute_variation(self.five, self.ohlc[1], self.ohlc[2])


@pytest.fixture(scope="module")
def real_sessions(history: History) -> list[RealSession]:
    spy = load_bars(DATA_DIR / "intraday" / "SPY_1min_rth_2024-02-20_2025-07-30.txt.gz")
    out = []
    for bars in [*history.minute_bars.values(), spy]:
        for day in bars.days:
            session = bars.on(day).within(session_open(day), session_close(day))
            ohlc = (
                float(session.open[0]),
                float(session.high.max()),
                float(session.low.min()),
                float(session.close[-1]),
            )
            closes = np.concatenate([[session.open[0]], session.close])
            five = np.concatenate([[session.open[0]], session.resample(5).close])
            out.append(RealSession(day, ohlc, closes, five))
    return out


def _drawn(
    sessions: list[RealSession], draws: int, every: int = 5, **kwargs: Any
) -> list[NDArray[np.float64]]:
    # `draws` modelled paths through each session's OHLC (session by session, seeds 0, 1, ...),
    # at every `every`-th minute; `kwargs` go to `modelled_path`.
    return [
        modelled_path(r.day, *r.ohlc, seed=k, **kwargs)[::every]
        for r in sessions
        for k in range(draws)
    ]


def _band_coverage(sessions: list[RealSession], noise: float | None) -> float:
    # The share of real days whose measure lies within the 10-90 % band of 20 modelled paths
    # through the same OHLC.
    inside = []
    for r in sessions:
        model = [
            five_minute_variation(
                modelled_path(r.day, *r.ohlc, seed=s, noise=noise)[::5], *r.ohlc[1:3]
            )
            for s in range(20)
        ]
        inside.append(np.percentile(model, 10) <= r.variation <= np.percentile(model, 90))
    return float(np.mean(inside))


def test_modelled_path_moves_within_the_day_as_the_real_bars_do(real_sessions):
    # On the 96 sessions of real 1-minute bars, the sum of squared 5-minute moves over the
    # squared range: the modelled paths through the same OHLC have the real median, the real
    # days fall inside their own modelled 10-90 % band about 80 % of the time (the noise is
    # fitted to them, see bench/path_calibration.py), trend days move less than choppy ones
    # in both; one noise for every day (bridge-1) covers a quarter; the straight stretches
    # alone move a tenth as much.
    sessions = real_sessions
    assert len(sessions) == 96
    real = np.array([r.variation for r in sessions])
    model = np.array(
        [
            five_minute_variation(modelled_path(r.day, *r.ohlc, seed=seed)[::5], *r.ohlc[1:3])
            for r in sessions
            for seed in range(5)
        ]
    )
    straight = [
        five_minute_variation(modelled_path(r.day, *r.ohlc, noise=0)[::5], *r.ohlc[1:3])
        for r in sessions
    ]
    assert 0.85 < np.median(model) / np.median(real) < 1.15
    assert 0.7 < _band_coverage(sessions, None) < 0.9
    assert _band_coverage(sessions, 0.54) < 0.4
    assert np.median(straight) / np.median(real) < 0.2
    trend = np.array([abs(r.ohlc[3] - r.ohlc[0]) / (r.ohlc[1] - r.ohlc[2]) for r in sessions])
    trend_model = np.repeat(trend, 5)
    for measured, x in ((real, trend), (model, trend_model)):
        assert np.median(measured[x >= 0.6]) < 0.7 * np.median(measured[x < 0.3])


def test_variance_clock_runs_fastest_near_the_open_and_the_close():
    clock = variance_clock(390)
    assert (clock[0], clock[-1]) == (0.0, 1.0)
    per_minute = np.diff(clock)
    assert (per_minute > 0).all()
    assert per_minute[0] > 2 * per_minute[195]
    assert per_minute[-1] > 2 * per_minute[195]
    assert variance_clock(210)[-1] == 1.0  # a 13:00 close


def _variance_ratios(paths) -> tuple[float, float]:
    # Median variance of 30- and 70-minute moves over 6 and 14 times that of 5-minute moves.
    def ratio(p: NDArray[np.float64], q: int) -> float:
        return float(np.var(p[q:] - p[:-q]) / (q * np.var(np.diff(p))))

    return (
        float(np.median([ratio(p, 6) for p in paths])),
        float(np.median([ratio(p, 14) for p in paths])),
    )


def test_modelled_path_gives_moves_back_within_the_hour_as_real_days_do(real_sessions):
    # Real 5-minute closes revert: 30- and 70-minute moves vary less than a random walk's.
    # The modelled paths' mean reversion (PATH_REVERSION_MINUTES, fitted on these days)
    # brings them to the real ratios; the random-walk wander (bridge-2) stays far above.
    # (Medians over 20 draws a day: over 2 they move by a few hundredths.)
    real = _variance_ratios([r.five for r in real_sessions])
    model = _variance_ratios(_drawn(real_sessions, 20))
    walk = _variance_ratios(_drawn(real_sessions, 20, reversion_minutes=math.inf))
    assert 0.5 < real[0] < 0.9
    assert 0.4 < real[1] < 0.8
    assert abs(model[0] - real[0]) < 0.1
    assert abs(model[1] - real[1]) < 0.1
    assert walk[0] > real[0] + 0.15
    assert walk[1] > real[1] + 0.15


def test_modelled_extremes_come_near_the_open_and_the_close_as_on_real_days(real_sessions):
    # Real days set their first extreme in the first 30 minutes on half the days and their
    # second in the last 30 on over a third; the drawn timing (PATH_TIMING_SD, fitted on these
    # days) comes within 8 points of both, the shares by points alone fall short at the close.
    def edges(paths: list[NDArray[np.float64]]) -> tuple[float, float]:
        at = [sorted((int(np.argmax(p)), int(np.argmin(p)))) for p in paths]
        minutes = [p.size - 1 for p in paths]
        first = np.mean([a[0] < 30 for a in at])
        last = np.mean([a[1] > m - 30 for a, m in zip(at, minutes, strict=True)])
        return float(first), float(last)

    real = edges([r.closes for r in real_sessions])
    drawn = edges(_drawn(real_sessions, 3, every=1))
    undrawn = edges(_drawn(real_sessions, 3, every=1, timing_sd=0.0))
    assert 0.4 < real[0] < 0.6
    assert 0.3 < real[1] < 0.5
    assert abs(drawn[0] - real[0]) < 0.08
    assert abs(drawn[1] - real[1]) < 0.08
    assert undrawn[1] < real[1] - 0.05


def test_modelled_entry_points_sit_as_far_from_the_close_as_real_ones(real_sessions):
    # The 1DTE and 45DTE tracks enter at 15:45: how far the path moves in the last 15
    # minutes sets how far the condor's centre sits from the day's close. On the 96 real
    # sessions the 90th percentile of that move is a third of the day's range; the modelled
    # paths come within 15 % of it, and the extremes' times set by points alone (bridge-3's
    # choice) fall a fifth short.
    def late_p90(paths: list[NDArray[np.float64]], ranges: list[float]) -> float:
        moves = [abs(p[-1] - p[-4]) / r for p, r in zip(paths, ranges, strict=True)]
        return float(np.percentile(moves, 90))

    ranges = [r.ohlc[1] - r.ohlc[2] for r in real_sessions]
    real = late_p90([r.five for r in real_sessions], ranges)
    each_draw = [r for r in ranges for _ in range(5)]  # as `_drawn` lists the paths
    model = late_p90(_drawn(real_sessions, 5), each_draw)
    by_points = late_p90(_drawn(real_sessions, 5, timing_sd=0.0), each_draw)
    assert 0.25 < real < 0.45
    assert abs(model / real - 1) < 0.15
    assert by_points < 0.8 * real


def test_modelled_path_stands_as_far_from_the_close_at_10_as_real_days(real_sessions):
    # The 0DTE track strikes its condor at 10:00 and settles it at the close: how far the
    # path stands from the close then sets how often the condor is breached. On the 96 real
    # sessions the 10:00 price stood a mean 0.43 of the day's range from the close (and 0.29
    # from the nearer extreme). Moving evenly along the stretches (bridge-4's course) put it
    # about a fifth further from the close and half as far from the nearer extreme: it lingered
    # near the extremes. Reaching and leaving them fast (PATH_SHAPE) comes within 10 %.
    def at_ten(paths: list[NDArray[np.float64]]) -> tuple[float, float]:
        ohlcs = [r.ohlc for r in real_sessions for _ in range(len(paths) // len(real_sessions))]
        to_close = [abs(o[3] - p[6]) / (o[1] - o[2]) for p, o in zip(paths, ohlcs, strict=True)]
        to_extreme = [
            min(p[6] - o[2], o[1] - p[6]) / (o[1] - o[2]) for p, o in zip(paths, ohlcs, strict=True)
        ]
        return float(np.mean(to_close)), float(np.mean(to_extreme))

    real = at_ten([r.five for r in real_sessions])
    shaped = at_ten(_drawn(real_sessions, 5))
    even = at_ten(_drawn(real_sessions, 5, shape=(1.0, 1.0)))
    assert 0.35 < real[0] < 0.5
    assert abs(shaped[0] / real[0] - 1) < 0.1
    assert even[0] > 1.12 * real[0]
    assert shaped[1] > even[1] * 1.3


def test_path_noise_falls_as_the_day_trends_and_is_drawn_per_day():
    a, b, s = PATH_NOISE_MODEL
    assert path_noise(100.0, 103.0, 99.0, 100.0, 0.0) == pytest.approx(math.exp(a))
    assert path_noise(99.0, 103.0, 99.0, 103.0, 0.0) == pytest.approx(math.exp(a + b))
    assert path_noise(99.0, 103.0, 99.0, 103.0, 1.0) == pytest.approx(math.exp(a + b + s))
    assert path_noise(100.0, 100.0, 100.0, 100.0, 0.0) == pytest.approx(math.exp(a))
    # The day's draw: another seed draws another noise level, so the modelled measure of
    # one OHLC spreads over the seeds more than at one fixed noise.
    day, ohlc = date(2024, 3, 5), (5100.0, 5120.0, 5050.0, 5080.0)
    drawn = [
        five_minute_variation(modelled_path(day, *ohlc, seed=s)[::5], 5120.0, 5050.0)
        for s in range(40)
    ]
    fixed = [
        five_minute_variation(modelled_path(day, *ohlc, seed=s, noise=0.45)[::5], 5120.0, 5050.0)
        for s in range(40)
    ]
    assert np.std(np.log(drawn)) > 1.5 * np.std(np.log(fixed))
    # A fixed noise is named on the bars.
    bars = synthetic_bars(day, *ohlc, noise=0.45)
    assert bars.source.endswith("(bridge at noise 0.45, seed 0)")


def test_cli_backtest_prints_json_and_writes_charts(tmp_path: Path, capsys):
    status = main(
        [
            "backtest",
            "--track",
            "0dte",
            "--from",
            "2022-03-21",
            "--to",
            "2022-03-23",
            "--json",
            "--jobs",
            "2",  # three days: one span, run in this process
            "--out",
            str(tmp_path),
        ]
    )
    assert status == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["track"] == "0dte"
    assert set(obj["overall"]) == set(SERIES)
    assert obj["days"] == 3
    assert obj["trades"] + obj["no_trade_days"] + obj["skipped_days"] == 3
    assert obj["skipped"][0]["reason"].startswith("no SPXW expiration on 2022-03-22")
    for name in ("equity", "drawdown", "pnl_hist"):
        assert (tmp_path / f"{name}.png").stat().st_size > 1000


def test_another_path_seed_draws_other_paths_and_the_report_says_which(history, capsys):
    start, end = date(2022, 6, 1), date(2022, 6, 10)
    first = _run(_fresh(history), Track.ZERO_DTE, start, end)
    again = _run(None, Track.ZERO_DTE, start, end, path_seed=0)
    other = _run(_fresh(history), Track.ZERO_DTE, start, end, path_seed=1)
    assert repr(first.outcomes) == repr(again.outcomes)
    assert [t.day for t in first.trades] == [t.day for t in other.trades]
    assert [t.hedged_usd for t in first.trades] != [t.hedged_usd for t in other.trades]
    argv = ["backtest", "--track", "0dte", "--from", "2022-06-01", "--to", "2022-06-03"]
    assert main([*argv, "--json", "--path-seed", "1"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["path_seed"] == 1
    assert obj["path_model"].endswith("path seed 1")
    assert main(argv) == 0
    assert "path seed 0" in capsys.readouterr().out


def test_2008_trades_only_on_a_modelled_term_structure_and_every_card_says_so(history, capsys):
    day = date(2008, 9, 26)
    published = _run(_fresh(history), Track.DTE_45, day, day)
    (skipped,) = published.skipped
    assert skipped.reason == "no VIX9D value for 2008-09-26 (series starts 2011-01-04)"
    (trade,) = _run(_fresh(history), Track.DTE_45, day, day, model_term_structure=True).trades
    note = "VIX3M and VIX9D of 2008-09-26 modelled (term-1, core.vix"
    assert note in trade.signal.data.source
    assert any(note in line for line in trade.signal.data.modelled)
    assert any(
        "VIX3M and VIX9D of 2008-11-21 modelled" in line for line in trade.result.data.modelled
    )
    # The engine's alerts on later days say that day's curve is modelled too.
    (source,) = backtest_days(
        Track.DTE_45,
        day,
        day,
        history=_fresh(history).with_modelled_term_structure(),
        rules=_rules(None),
        hedge_rules=HedgeRules(),
    )
    assert isinstance(source, BacktestDay)
    kept = run_day(
        source,
        CondorProfile.of(_rules(None), Track.DTE_45, Risk.BALANCED),
        HedgeRules(),
        Costs(),
        keep_events=True,
    )
    assert isinstance(kept, Trade)
    alerts = [e for e in kept.events if isinstance(e, HedgeAlert)]
    assert alerts
    for alert in alerts:
        local = alert.asof.astimezone(NEW_YORK).date()
        assert any(
            f"VIX3M and VIX9D of {local:%Y-%m-%d} modelled" in m for m in alert.data.modelled
        )
    argv = ["backtest", "--track", "45dte", "--from", "2008-09-26", "--to", "2008-09-26", "--json"]
    assert main([*argv, "--model-term-structure"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["trades"] == 1
    assert "modelled from VIX and VIX6M (term-1" in obj["term_structure"]
    assert main(argv) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["trades"] == 0
    assert obj["term_structure"].startswith("VIX9D and VIX3M: Cboe's published values only")


def test_cli_backtest_text_says_how_trades_ended_most_first(capsys):
    # Entry VIX 14.4, 14.9, 21.5, 24.1, 18.3 (one no-trade day): three regimes.
    argv = ["backtest", "--track", "0dte", "--from", "2024-12-16", "--to", "2024-12-23"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    trades = int(re.search(r"(\d+) trades", lines[0]).group(1))  # type: ignore[union-attr]
    (ended,) = [line for line in lines if line.startswith("how trades ended: ")]
    counts = [int(part.rsplit(" ", 1)[1]) for part in ended.split(": ", 1)[1].split(", ")]
    assert sum(counts) == trades > 0
    assert counts == sorted(counts, reverse=True)
    regimes = [line.split("  ")[1].strip() for line in lines if line.startswith("  VIX ")]
    assert regimes == ["VIX < 15", "VIX 15-20", "VIX 20-30"]  # calmest first


def test_cli_backtest_rejects_a_reversed_range(capsys):
    status = main(["backtest", "--track", "0dte", "--from", "2022-03-23", "--to", "2022-03-21"])
    assert status == 2
    assert "--from must not be after --to" in capsys.readouterr().err


def test_cli_backtest_rejects_no_processes(capsys):
    status = main(
        ["backtest", "--track", "0dte", "--from", "2022-03-21", "--to", "2022-03-23", "--jobs", "0"]
    )
    assert status == 2
    assert "--jobs must be at least 1, was 0" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flag", "value"), [("--commission", "-1"), ("--commission", "nan"), ("--slippage", "-0.1")]
)
def test_cli_backtest_rejects_negative_costs_naming_the_flag(flag, value, capsys):
    argv = ["backtest", "--track", "0dte", "--from", "2022-03-21", "--to", "2022-03-23"]
    assert main([*argv, flag, value]) == 2
    err = capsys.readouterr().err
    assert f"condorbot: error: {flag} must be a non-negative number, got {float(value)}" in err


def test_cli_backtest_rejects_a_negative_path_seed(capsys):
    argv = ["backtest", "--track", "0dte", "--from", "2022-03-21", "--to", "2022-03-23"]
    assert main([*argv, "--path-seed", "-1"]) == 2
    assert "--path-seed must be at least 0, was -1" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (
            "2030-01-01",
            "2030-01-05",
            "no SPX daily history from 2030-01-01 to 2030-01-05: SPX_History_2006_2026.csv.gz "
            "covers 2006-01-03 to 2026-07-08",
        ),
        ("2005-12-01", "2005-12-30", "no SPX daily history from 2005-12-01 to 2005-12-30"),
        # Long enough for --jobs 2 to split it into spans: refused before any process starts.
        ("1990-01-01", "1991-12-31", "no SPX daily history from 1990-01-01 to 1991-12-31"),
        ("2025-01-04", "2025-01-05", "no NYSE trading day from 2025-01-04 to 2025-01-05"),
    ],
)
def test_cli_backtest_names_a_range_with_nothing_to_run(start, end, message, capsys):
    # Not an empty report of skipped days: the range is a mistake, named with the history's.
    for jobs in ("1", "2"):
        argv = ["backtest", "--track", "0dte", "--from", start, "--to", end, "--jobs", jobs]
        assert main(argv) == 2
        out, err = capsys.readouterr()
        assert message in err
        assert out == ""


def test_cli_backtest_checks_where_results_go_before_running(tmp_path: Path, capsys):
    # A bad --out, --report or --check fails in a moment, naming the flag and the path, not
    # after a run that can take minutes, and never as a traceback.
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory\n")
    argv = ["backtest", "--track", "0dte", "--from", "2022-06-01", "--to", "2022-06-03"]
    for extra, message in (
        (["--out", str(blocker / "charts")], f"--out: cannot write to {blocker / 'charts'}"),
        (["--report", str(blocker / "r.json.gz")], f"--report: cannot write to {blocker}"),
        (["--check", str(blocker)], f"--check: {blocker}: not a readable report"),
        (["--check", str(tmp_path / "gone.json.gz")], "no such file"),
    ):
        assert main([*argv, *extra]) == 2, extra
        out, err = capsys.readouterr()
        assert err.startswith("condorbot: error: "), err
        assert message in err, err
        assert out == ""  # nothing was run
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_spans_cover_every_trading_day_once_in_order():
    start, end = date(2023, 12, 20), date(2024, 7, 10)
    spans = _spans(start, end, size=40)
    days = [
        start + timedelta(days=i)
        for i in range((end - start).days + 1)
        if is_trading_day(start + timedelta(days=i))
    ]
    covered = [d for a, b in spans for d in days if a <= d <= b]
    assert covered == days
    sizes = [sum(a <= d <= b for d in days) for a, b in spans]
    assert sizes[:-1] == [40] * (len(sizes) - 1)
    assert 0 < sizes[-1] <= 40
    assert _spans(date(2024, 1, 6), date(2024, 1, 7)) == []  # a weekend: nothing to run


def test_a_run_spread_over_processes_reports_exactly_what_one_process_does(history):
    # More trading days than one span: two worker processes, each loading its own history,
    # against the same run in this process. Every figure of the report is the same, and the
    # progress hook sees every day once. The paths are drawn with another seed than the
    # default: the workers are given it too.
    start, end = date(2023, 1, 3), date(2023, 8, 31)
    assert len(_spans(start, end)) == 2
    seen: list[DayOutcome] = []
    spread = _run(None, Track.ZERO_DTE, start, end, jobs=2, on_day=seen.append, path_seed=3)
    alone = _run(_fresh(history, path_seed=3), Track.ZERO_DTE, start, end)

    def figures(report: Report) -> str:
        obj = report_json(
            report, track=Track.ZERO_DTE, risk=Risk.BALANCED, start=start, end=end, costs=Costs()
        )
        return json.dumps(obj, sort_keys=True)

    assert figures(spread) == figures(alone)
    assert repr(spread.outcomes) == repr(alone.outcomes)
    assert sorted(o.day for o in seen) == [o.day for o in alone.outcomes]


def test_report_json_carries_every_figure(history):
    report = _run(_fresh(history), Track.ZERO_DTE, SNAPSHOT_DAY, SNAPSHOT_DAY)
    obj = report_json(
        report,
        track=Track.ZERO_DTE,
        risk=Risk.BALANCED,
        start=SNAPSHOT_DAY,
        end=SNAPSHOT_DAY,
        costs=Costs(),
    )
    stats = obj["overall"]["hedged"]
    for key in (
        "trades",
        "win_rate",
        "avg_credit_usd",
        "expectancy_usd",
        "expectancy_ci95_usd",
        "profit_factor",
        "max_drawdown_usd",
        "worst_day_usd",
        "cvar5_usd",
        "sharpe",
        "sortino",
    ):
        assert key in stats
    assert obj["chains"] == {"modelled": 0, "real": 1}
    assert {"cost_usd", "payoff_usd", "hedges_taken"} <= set(obj["hedge"])


# --- the speed path: columns, the quiet-bar screen, the cached feed ---------------------------

SCREEN_WINDOWS = (
    (Track.ZERO_DTE, date(2023, 3, 13), date(2023, 3, 24)),  # real 1-minute bars from 03-16
    (Track.ONE_DTE, date(2024, 7, 29), date(2024, 8, 9)),  # the August 2024 VIX spike
    (Track.DTE_45, date(2020, 1, 2), date(2020, 6, 30)),  # through the March 2020 crash
)
#: A rally: 0DTE condors tested on the call side day after day.
CALL_SIDE_WINDOW = (Track.ZERO_DTE, date(2023, 11, 1), date(2023, 11, 15))


@pytest.mark.parametrize(("track", "start", "end"), SCREEN_WINDOWS)
def test_screened_backtest_makes_every_decision_the_full_engine_makes(history, track, start, end):
    profile = CondorProfile.of(_rules(None), track, Risk.BALANCED)

    def outcomes(screen: bool) -> list[DayOutcome]:
        days = backtest_days(
            track, start, end, history=_fresh(history), rules=_rules(None), hedge_rules=HedgeRules()
        )
        return run_backtest(
            days,
            profile,
            HedgeRules(),
            Costs(),
            one_at_a_time=track is Track.DTE_45,
            screen=screen,
        )

    screened, stepped = outcomes(True), outcomes(False)
    trades = [(a, b) for a, b in zip(screened, stepped, strict=True) if isinstance(a, Trade)]
    assert trades, "the window must hold trades"
    for a, b in trades:
        assert isinstance(b, Trade)
        assert (a.exit_rule, a.closed_at, a.wings_closed, a.hedges_taken) == (
            b.exit_rule,
            b.closed_at,
            b.wings_closed,
            b.hedges_taken,
        )
        assert (a.held_usd, a.managed_usd, a.hedged_usd) == (
            b.held_usd,
            b.managed_usd,
            b.hedged_usd,
        )
    # Not vacuous: the window has managed trades (exits or alerts), so the screen had to stop.
    assert any(a.exit_rule is not None or a.hedges_taken or a.wings_closed for a, _ in trades)


def test_the_close_baseline_is_screened_exactly_and_closes_tested_wings(history):
    # Under `Defence.CLOSE` the screen names no call-side action (it prices ALVH's ranking):
    # every tested bar is stepped, and the outcomes are the fully stepped engine's.
    track, start, end = CALL_SIDE_WINDOW
    rules = HedgeRules(defence=Defence.CLOSE)
    profile = CondorProfile.of(_rules(None), track, Risk.BALANCED)

    def outcomes(screen: bool, hedge_rules: HedgeRules) -> list[DayOutcome]:
        days = backtest_days(
            track, start, end, history=_fresh(history), rules=_rules(None), hedge_rules=hedge_rules
        )
        return run_backtest(days, profile, hedge_rules, Costs(), one_at_a_time=False, screen=screen)

    def key(outcome: DayOutcome) -> tuple[object, ...]:
        if not isinstance(outcome, Trade):
            return (type(outcome).__name__, outcome.day)
        return (
            outcome.day,
            outcome.exit_rule,
            outcome.closed_at,
            outcome.wings_closed,
            outcome.hedges_taken,
            outcome.held_usd,
            outcome.managed_usd,
            outcome.hedged_usd,
        )

    screened, stepped = outcomes(True, rules), outcomes(False, rules)
    assert [key(o) for o in screened] == [key(o) for o in stepped]
    trades = [t for t in screened if isinstance(t, Trade)]
    assert sum(t.wings_closed for t in trades) > 0
    assert sum(t.hedges_taken for t in trades) == 0  # a close is priced on every test
    # Not the same rules: ALVH's own run of the window closes fewer wings or buys hedges.
    alvh = [t for t in outcomes(True, HedgeRules()) if isinstance(t, Trade)]
    assert [(t.wings_closed, t.hedges_taken) for t in alvh] != [
        (t.wings_closed, t.hedges_taken) for t in trades
    ]


def test_cli_backtest_names_the_baseline_defence(capsys):
    args = ["backtest", "--track", "0dte", "--from", "2023-11-01", "--to", "2023-11-03"]
    assert main([*args, "--json", "--defence", "close"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["defence"] == "close"
    assert "not ALVH" in obj["series_meaning"]["managed"]
    assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["defence"] == "cheapest"
    assert main([*args, "--defence", "close"]) == 0
    assert "defence: close (a baseline rule, not ALVH" in capsys.readouterr().out


@dataclass
class _CountedPath:
    """A day's path that counts the full market states the engine asks for."""

    path: MarketPath
    asked: list[int]
    parity_chain: bool

    @property
    def asofs(self) -> Sequence[datetime]:
        return self.path.asofs

    @property
    def stamps(self) -> NDArray[np.float64]:
        return self.path.stamps

    @property
    def spots(self) -> NDArray[np.float64]:
        return self.path.spots

    @property
    def vix(self) -> NDArray[np.float64]:
        return self.path.vix

    @property
    def clean(self) -> NDArray[np.bool_]:
        return self.path.clean

    def market(self, index: int) -> MarketState:
        self.asked.append(index)
        return self.path.market(index)


@dataclass
class _CountedDay:
    """A backtest day whose paths count the states built; `no_call_screen` reports a real
    chain on every path, so the run steps every call-side bar the screen could name."""

    source: BacktestDay
    asked: list[int]
    no_call_screen: bool

    @property
    def day(self) -> date:
        return self.source.day

    @property
    def entry(self) -> datetime:
        return self.source.entry

    def chain(self) -> OptionChain:
        return self.source.chain()

    def entry_vix(self) -> float:
        return self.source.entry_vix()

    def markets(self, settles_at: datetime) -> Iterator[MarketPath]:
        for path in self.source.markets(settles_at):
            yield _CountedPath(path, self.asked, self.no_call_screen or path.parity_chain)

    def settlement(self, signal: CondorSignal) -> tuple[float, VolIndexLevels, DataStamp]:
        return self.source.settlement(signal)


@pytest.mark.parametrize(
    ("track", "start", "end"),
    [SCREEN_WINDOWS[0], (Track.ONE_DTE, *CALL_SIDE_WINDOW[1:]), CALL_SIDE_WINDOW],
)
def test_the_call_side_screen_passes_over_bars_and_moves_no_figure(history, track, start, end):
    # The same run with the screen's call-side actions and without them: every outcome is the
    # same, and fewer full market states are built with them.
    profile = CondorProfile.of(_rules(None), track, Risk.BALANCED)

    def outcomes(no_call_screen: bool) -> tuple[str, int]:
        asked: list[int] = []
        days = [
            day if isinstance(day, Skipped) else _CountedDay(day, asked, no_call_screen)
            for day in backtest_days(
                track,
                start,
                end,
                history=_fresh(history),
                rules=_rules(None),
                hedge_rules=HedgeRules(),
            )
        ]
        result = run_backtest(days, profile, HedgeRules(), Costs(), one_at_a_time=False)
        return repr(result), len(asked)

    (screened, fewer), (stepped, more) = outcomes(False), outcomes(True)
    assert screened == stepped
    assert fewer < more, (fewer, more)


@pytest.mark.parametrize(
    ("track", "day"),
    [
        (Track.ZERO_DTE, date(2023, 3, 21)),
        (Track.ZERO_DTE, date(2019, 3, 8)),
        (Track.DTE_45, date(2019, 3, 6)),
    ],
)
def test_path_columns_agree_with_the_full_market_states(history, track, day):
    fresh = _fresh(history)
    (source,) = backtest_days(
        track, day, day, history=fresh, rules=_rules(None), hedge_rules=HedgeRules()
    )
    assert not isinstance(source, Skipped)
    event = select_condor(
        source.chain(), CondorProfile.of(_rules(None), track, Risk.BALANCED), source.entry
    )
    assert isinstance(event, CondorSignal)
    (path,) = list(source.markets(event.settles_at))
    assert len(path.asofs) > 1
    assert path.stamps.shape == (len(path.asofs),)
    # Elapsed time, also across the 2019-03-10 clock change on the 45-DTE path.
    assert path.stamps[-1] - path.stamps[0] == elapsed_seconds(path.asofs[0], path.asofs[-1])
    for i, moment in enumerate(path.asofs):
        market = path.market(i)
        assert market.asof == moment
        assert path.stamps[i] == moment.timestamp()
        assert market.spot == path.spots[i]
        assert market.vol.vix == pytest.approx(path.vix[i], rel=1e-12)
        if path.clean[i]:
            assert market.data_issues == ()


def test_feed_cache_serves_what_a_fresh_resample_and_check_would(history):
    day = date(2023, 3, 22)
    feed = day_feed(_fresh(history), day, HedgeRules())
    assert feed.clean_session is None  # checked on a market state, not before
    chain = model_chain(
        feed.open_spot,
        session_open(day) + timedelta(minutes=30),
        [("SPXW", day)],
        history.indices.levels_at(session_open(day) + timedelta(minutes=30)),
        rate=0.0,
        dividend_yield=0.0,
    )
    feed.market_at(session_open(day) + timedelta(minutes=5), chain)
    assert feed.clean_session is None  # one moment served: checked as it is
    feed.market_at(session_open(day) + timedelta(minutes=6), chain)
    assert feed.clean_session
    assert feed.five_minute is not None
    moment = session_open(day) + timedelta(minutes=7)
    while moment <= session_close(day):
        market = feed.market_at(moment, chain)
        seen = feed.session.until(moment)
        slow = np.concatenate([feed.warmup, seen.resample(5).until(moment).close])
        np.testing.assert_array_equal(market.closes_5m, slow[np.isfinite(slow)])
        assert market.data_issues == recent_bar_issues(seen, day, moment)
        moment += timedelta(minutes=13)


@pytest.mark.parametrize(
    "ohlc",
    [(4000.0, 4050.0, 3950.0, 4010.0), (4000.0, 4000.0, 4000.0, 4000.0), (3000, 3001, 2700, 2710)],
)
@pytest.mark.parametrize("day", [date(2019, 3, 4), date(2019, 11, 29)])  # a full day, a 13:00 close
def test_modelled_bars_pass_the_bar_checks_the_feed_skips_for_them(day, ohlc):
    # `RecordedDayFeed(modelled_bars=True)` takes the session as clean without checking it.
    bars = synthetic_bars(day, *ohlc)
    issues = check_bars(bars, session_open(day), session_close(day))
    assert [i for i in issues if i.severity is not Severity.INFO] == []
    assert bars.end_at(len(bars) - 1) == session_close(day)


@pytest.mark.parametrize("track", [Track.ZERO_DTE, Track.ONE_DTE])
def test_chains_modelled_in_blocks_are_the_chains_each_day_models(history, track):
    # The real-snapshot day, a weekend and a day without VIX9D, in blocks of three days: every
    # day gets exactly the chain and note it models alone, and the run is the same.
    hole = date(2022, 3, 21)
    damaged = _fresh(
        history,
        indices=replace(history.indices, vix9d=_without_day(history.indices.vix9d, hole)),
    )

    def days(h: History) -> list[BacktestDay | Skipped]:
        return list(
            backtest_days(
                track,
                date(2022, 3, 16),
                date(2022, 3, 29),
                history=h,
                rules=_rules(None),
                hedge_rules=HedgeRules(),
            )
        )

    blocked = list(with_chains_modelled(days(damaged), block_days=3))
    alone = days(damaged.fresh())
    assert [d.day for d in blocked] == [d.day for d in alone]
    modelled = real = 0
    skipped: list[str] = []
    for ahead, lazy in zip(blocked, alone, strict=True):
        assert isinstance(ahead, BacktestDay)
        assert isinstance(lazy, BacktestDay)
        try:
            expected = lazy.chain()
        except SkipDay as skip:
            assert ahead._chain is None
            with pytest.raises(SkipDay, match=re.escape(skip.reason)):
                ahead.chain()
            skipped.append(skip.reason)
            continue
        # Served with its block, before the day is run (a real snapshot too: read once).
        assert ahead._chain is not None
        if expected.modelled:
            modelled += 1
        else:
            real += 1
        assert_same_chain(ahead.chain(), expected)
        assert ahead.notes == lazy.notes
    assert modelled >= 4
    assert real == (track is Track.ZERO_DTE)  # the 10:11 snapshot serves the 0DTE entry only
    assert any("2022-03-21" in reason for reason in skipped)
    profile = CondorProfile.of(_rules(None), track, Risk.BALANCED)

    def outcomes(served: list[BacktestDay | Skipped]) -> list[str]:
        done = run_backtest(served, profile, HedgeRules(), Costs(), one_at_a_time=False)
        return [repr(o) for o in done]

    assert outcomes(list(with_chains_modelled(days(damaged.fresh()), block_days=3))) == outcomes(
        days(damaged.fresh())
    )


# --- SPY's real 1-minute bars scaled to SPX ----------------------------------------------------


@pytest.fixture(scope="module")
def spy_paths(history: History) -> dict[date, Bars]:
    return scaled_to_spx(history, load_bars(DATA_DIR / SPY_MINUTE_FILE, symbol="SPY"))


def test_spy_bars_scaled_to_spx_walk_spx_to_its_real_close(history, spy_paths):
    # Every shipped SPY session the SPX file has (84): the scaled session ends on SPX's close,
    # and its extremes sit near SPX's own (a median of about a point; the open differs more:
    # SPX's opening print is worked out from its constituents' first trades).
    assert len(spy_paths) == 84
    highs, lows = [], []
    for day, bars in spy_paths.items():
        row = history.spx_rows[day]
        assert bars.symbol == "SPX"
        assert bars.source.startswith("SPY 1-minute bars x ")
        assert bars.close[-1] == pytest.approx(history.spx.close[row], abs=1e-9)
        assert bars.within(session_open(day), session_close(day)).times.size == bars.times.size
        highs.append(abs(bars.high.max() - history.spx.high[row]))
        lows.append(abs(bars.low.min() - history.spx.low[row]))
    assert np.median(highs) < 2.0
    assert np.median(lows) < 2.0
    assert max(highs + lows) < 25.0


def test_scaling_leaves_out_days_without_spx_history_or_session_bars(history):
    # 2024-03-01: a session bar; 2024-03-02 (a Saturday): no SPX row; 2024-03-04: a bar only
    # before the open.
    times = np.array(
        ["2024-03-01T15:00", "2024-03-02T15:00", "2024-03-04T13:00"], dtype="datetime64[m]"
    )
    prices = np.array([500.0, 501.0, 502.0])
    bars = Bars(
        symbol="SPY",
        source="test",
        interval_minutes=1,
        times=times,
        open=prices,
        high=prices + 1,
        low=prices - 1,
        close=prices,
    )
    scaled = scaled_to_spx(history, bars)
    assert list(scaled) == [date(2024, 3, 1)]
    (bar,) = scaled[date(2024, 3, 1)].close
    assert bar == pytest.approx(history.spx.close[history.spx_rows[date(2024, 3, 1)]], abs=1e-9)
    assert scaled[date(2024, 3, 1)].high[0] == pytest.approx(bar * 501 / 500)


def test_readme_spy_days_comparison_is_what_the_code_gives(history, spy_paths):
    # The README's 0DTE comparison of ALVH and the close on the SPY days' real paths
    # (`bench/backtest_paths.py` prints it with 1DTE and the bridge draws).
    rules = CondorRules().with_event_days(load_event_days(DATA_DIR / "events.csv"))
    real = _fresh(history, minute_bars=spy_paths)
    spans = ((date(2024, 2, 20), date(2024, 5, 17)), (date(2025, 7, 1), date(2025, 7, 30)))
    figures = {}
    for defence in Defence:
        trades = [
            t
            for start, end in spans
            for t in run(
                Track.ZERO_DTE,
                Risk.BALANCED,
                start,
                end,
                data_dir=DATA_DIR,
                rules=rules,
                hedge_rules=HedgeRules(defence=defence),
                costs=Costs(),
                history=real,
            ).trades
            if t.day in spy_paths and t.expiry in spy_paths
        ]
        hedged = np.array([t.hedged_usd for t in trades])
        figures[defence] = (len(trades), hedged.sum(), cvar(hedged), hedged.min())
    (n, *close), (m, *alvh) = figures[Defence.CLOSE], figures[Defence.CHEAPEST]
    assert n == m
    total, tail, worst = (
        f"{dollars(c)} against {dollars(a)}" for c, a in zip(close, alvh, strict=True)
    )
    assert (
        f"closing the tested wing beat ALVH on 0DTE on every count: {total} over {n} trades, a "
        f"5 % CVaR of {tail}, a worst trade of {worst}."
    ) in readme_words()
    assert all(c > a for c, a in zip(close, alvh, strict=True))  # "on every count"
