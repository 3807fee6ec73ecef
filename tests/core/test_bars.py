from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest

from core.bars import BarIssueCode, Bars, Breadth, Severity, check_bars, choose_breadth
from core.calendar import NEW_YORK, session_close, session_open

DAY = date(2023, 3, 22)


def ny(hour: int, minute: int, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NEW_YORK)


def make_bars(
    starts: list[datetime],
    closes: list[float] | None = None,
    *,
    interval: int = 1,
    highs: list[float] | None = None,
    lows: list[float] | None = None,
) -> Bars:
    close = np.array(closes if closes is not None else [4000.0 + i for i in range(len(starts))])
    opens = close - 0.5
    high = np.array(highs) if highs is not None else np.maximum(opens, close) + 1.0
    low = np.array(lows) if lows is not None else np.minimum(opens, close) - 1.0
    return Bars.from_starts(
        starts, opens, high, low, close, symbol="SPX", source="test", interval_minutes=interval
    )


def minutes(start: datetime, count: int, step: int = 1) -> list[datetime]:
    return [start + timedelta(minutes=step * i) for i in range(count)]


def full_session(day: date = DAY) -> Bars:
    return make_bars(minutes(ny(9, 30, day), 390))


# --- Bars -----------------------------------------------------------------------------------------


def test_times_are_stored_in_utc_and_shown_in_new_york():
    bars = make_bars([ny(9, 30), ny(9, 31)])
    # 2023-03-22 is in daylight-saving time: 09:30 EDT = 13:30 UTC.
    assert bars.times[0] == np.datetime64("2023-03-22T13:30")
    assert bars.start_at(0) == ny(9, 30)
    assert bars.start_at(0).tzinfo == NEW_YORK
    assert bars.end_at(1) == ny(9, 32)
    assert bars.starts() == (ny(9, 30), ny(9, 31))
    assert bars.local_times()[0] == np.datetime64("2023-03-22T09:30")


def test_until_keeps_only_bars_complete_at_the_moment():
    bars = make_bars(minutes(ny(9, 58), 5))  # 09:58 ... 10:02
    assert len(bars.until(ny(10, 0))) == 2  # 09:58 and 09:59 have closed
    assert len(bars.until(ny(10, 0) + timedelta(seconds=59))) == 2  # 10:00 still forming
    assert bars.until(ny(10, 1)).start_at(-1) == ny(10, 0)  # the 10:00 bar is done at 10:01
    assert len(bars.until(ny(9, 0))) == 0
    # Any time zone is fine: 14:01 UTC is 10:01 EDT.
    assert len(bars.until(datetime(2023, 3, 22, 14, 1, tzinfo=UTC))) == 3


def test_until_on_five_minute_bars_waits_for_the_whole_bar():
    bars = make_bars(minutes(ny(9, 30), 3, step=5), interval=5)
    assert len(bars.until(ny(9, 34))) == 0
    assert len(bars.until(ny(9, 35))) == 1


def test_naive_moments_are_refused():
    bars = make_bars([ny(9, 30)])
    with pytest.raises(ValueError, match="moment must be timezone-aware"):
        bars.until(datetime(2023, 3, 22, 10, 0))  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="bar start must be timezone-aware"):
        make_bars([datetime(2023, 3, 22, 9, 30)])  # noqa: DTZ001


def test_columns_are_read_only_copies():
    close = np.array([4000.0, 4001.0])
    bars = Bars.from_starts(
        [ny(9, 30), ny(9, 31)],
        close,
        close,
        close,
        close,
        symbol="SPX",
        source="t",
        interval_minutes=1,
    )
    assert not bars.close.flags.writeable
    assert not bars.times.flags.writeable
    assert close.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        bars.close[0] = 1.0


def test_columns_must_have_one_value_per_time():
    with pytest.raises(ValueError, match=r"high must be 1-D with one value per time \(2\)"):
        Bars(
            symbol="SPX",
            source="t",
            interval_minutes=1,
            times=np.array(["2023-03-22T13:30", "2023-03-22T13:31"], dtype="datetime64[m]"),
            open=np.ones(2),
            high=np.ones(3),
            low=np.ones(2),
            close=np.ones(2),
        )
    with pytest.raises(ValueError, match="interval_minutes must be at least 1, was 0"):
        make_bars([ny(9, 30)], interval=0)


def test_session_day_last_close_and_len():
    bars = make_bars(minutes(ny(9, 30), 3), [4001.0, 4002.0, 3999.5])
    assert len(bars) == 3
    assert bars.session_day == DAY
    assert bars.last_close == 3999.5


def test_session_day_of_several_days_or_none_is_an_error():
    two = make_bars([ny(15, 59), ny(9, 30, date(2023, 3, 23))])
    assert two.days == (DAY, date(2023, 3, 23))
    with pytest.raises(ValueError, match=r"exactly one day.*2023-03-22, 2023-03-23"):
        _ = two.session_day
    empty = two.until(ny(9, 0))
    with pytest.raises(ValueError, match="covered none"):
        _ = empty.session_day
    with pytest.raises(ValueError, match="no SPX bars, so no last close"):
        _ = empty.last_close


def test_on_picks_a_new_york_day_even_when_utc_has_rolled_over():
    # 20:30 EDT on the 22nd is 00:30 UTC on the 23rd.
    bars = make_bars([ny(20, 30), ny(9, 30, date(2023, 3, 23))])
    assert bars.on(DAY).start_at(0) == ny(20, 30)
    assert len(bars.on(date(2023, 3, 23))) == 1


def test_within_drops_pre_market_and_after_close_bars():
    bars = make_bars(minutes(ny(9, 28), 4) + minutes(ny(15, 59), 3))
    inside = bars.within(session_open(DAY), session_close(DAY))
    assert inside.starts() == (ny(9, 30), ny(9, 31), ny(15, 59))


def _masked_until(bars: Bars, moment: datetime) -> Bars:
    # What `until` means, bar by bar, whatever the order of the bars.
    cutoff = np.datetime64(moment.astimezone(UTC).replace(tzinfo=None), "us")
    return bars.take(bars.times + np.timedelta64(bars.interval_minutes, "m") <= cutoff)


def _masked_within(bars: Bars, start: datetime, end: datetime) -> Bars:
    lo, hi = (np.datetime64(m.astimezone(UTC).replace(tzinfo=None), "us") for m in (start, end))
    ends = bars.times + np.timedelta64(bars.interval_minutes, "m")
    return bars.take((bars.times >= lo) & (ends <= hi))


def _same_bars(a: Bars, b: Bars) -> bool:
    return (a.symbol, a.source, a.interval_minutes) == (
        b.symbol,
        b.source,
        b.interval_minutes,
    ) and all(
        np.array_equal(getattr(a, name), getattr(b, name), equal_nan=name != "times")
        and getattr(a, name).dtype == getattr(b, name).dtype
        for name in ("times", "open", "high", "low", "close")
    )


def _disordered_sessions() -> dict[str, Bars]:
    session = full_session()
    order = np.arange(len(session))
    swapped = order.copy()
    swapped[[50, 51]] = swapped[[51, 50]]
    nat = session.times.copy()
    nat[10] = np.datetime64("NaT")
    return {
        "in order": session,
        "two bars swapped": session.take(swapped),
        "a duplicate": session.take(np.r_[0:200, 199, 200:390]),
        "reversed": session.take(order[::-1]),
        "shuffled": session.take(np.random.default_rng(3).permutation(order)),
        "a NaT start": Bars(
            symbol="SPX",
            source="test",
            interval_minutes=1,
            times=nat,
            open=session.open,
            high=session.high,
            low=session.low,
            close=session.close,
        ),
        "none": session.take(np.zeros(390, dtype=bool)),
    }


@pytest.mark.parametrize("case", list(_disordered_sessions()))
def test_until_and_within_pick_what_a_bar_by_bar_test_picks_in_any_order(case):
    bars = _disordered_sessions()[case]
    for moment in [
        ny(9, 0),
        ny(9, 31),
        ny(10, 0, DAY) + timedelta(seconds=30),
        ny(12, 41),
        ny(17, 0),
    ]:
        assert _same_bars(bars.until(moment), _masked_until(bars, moment))
        twice = _masked_until(_masked_until(bars, moment), ny(10, 0))
        assert _same_bars(bars.until(moment).until(ny(10, 0)), twice)
    for start, end in [(ny(9, 30), ny(16, 0)), (ny(10, 0), ny(10, 0)), (ny(11, 0), ny(10, 0))]:
        assert _same_bars(bars.within(start, end), _masked_within(bars, start, end))


def test_in_order_allows_repeats_but_not_disorder_or_nat():
    cases = _disordered_sessions()
    assert cases["in order"].in_order
    assert cases["a duplicate"].in_order  # not after, but not before the bar ahead either
    assert cases["none"].in_order
    assert not cases["two bars swapped"].in_order
    assert not cases["a NaT start"].in_order


def test_until_of_bars_in_order_gives_read_only_views():
    bars = full_session()
    seen = bars.until(ny(10, 0))
    assert len(seen) == 30
    assert np.shares_memory(seen.close, bars.close)
    for column in (seen.times, seen.open, seen.high, seen.low, seen.close):
        assert not column.flags.writeable
    assert seen.in_order


def test_take_with_a_mask_or_index_array_gives_read_only_copies():
    bars = full_session()
    for picked in (bars.take(np.arange(390) % 2 == 0), bars.take(np.arange(390)[::-3])):
        assert not np.shares_memory(picked.close, bars.close)
        assert not picked.close.flags.writeable
        assert not picked.times.flags.writeable
    with pytest.raises(ValueError, match="times must be 1-D"):
        bars.take(np.zeros((2, 2), dtype=np.intp))


def test_local_times_follow_a_daylight_saving_change_inside_a_day():
    # 2022-11-06: 01:59 EDT (05:59 UTC) is followed by 01:00 EST (06:00 UTC).
    times = np.arange(np.datetime64("2022-11-06T04:00"), np.datetime64("2022-11-06T08:00"))
    ones = np.ones(times.shape[0])
    bars = Bars(
        symbol="SPX",
        source="t",
        interval_minutes=1,
        times=times,
        open=ones,
        high=ones,
        low=ones,
        close=ones,
    )
    local = bars.local_times()
    assert local[0] == np.datetime64("2022-11-06T00:00")
    assert local[119] == np.datetime64("2022-11-06T01:59")
    assert local[120] == np.datetime64("2022-11-06T01:00")
    assert local[-1] == np.datetime64("2022-11-06T02:59")


def test_resample_aggregates_on_buckets_aligned_to_0930():
    closes = [10.0, 11.0, 9.0, 12.0, 13.0, 14.0, 15.0]
    highs = [10.5, 11.5, 9.5, 20.0, 13.5, 14.5, 15.5]
    lows = [9.0, 10.0, 5.0, 11.0, 12.0, 13.0, 14.0]
    bars = make_bars(minutes(ny(9, 31), 7), closes, highs=highs, lows=lows)  # 09:31 ... 09:37
    five = bars.resample(5)
    # Buckets 09:30 (09:31-09:34, four bars) and 09:35 (09:35-09:37).
    assert five.interval_minutes == 5
    assert five.starts() == (ny(9, 30), ny(9, 35))
    assert five.open.tolist() == [9.5, 12.5]  # the first bar's open (close - 0.5)
    assert five.high.tolist() == [20.0, 15.5]
    assert five.low.tolist() == [5.0, 12.0]
    assert five.close.tolist() == [12.0, 15.0]


def test_resample_buckets_pre_market_bars_back_from_0930():
    bars = make_bars([ny(9, 24), ny(9, 25), ny(9, 29), ny(9, 30)])
    assert bars.resample(5).starts() == (ny(9, 20), ny(9, 25), ny(9, 30))


def test_resample_keeps_0930_alignment_across_a_daylight_saving_change():
    # 2023-03-10 is EST (09:30 = 14:30 UTC), 2023-03-13 EDT (09:30 = 13:30 UTC).
    friday, monday = date(2023, 3, 10), date(2023, 3, 13)
    bars = make_bars(minutes(ny(9, 30, friday), 10) + minutes(ny(9, 30, monday), 10))
    fifteen = bars.resample(15)
    assert fifteen.starts() == (
        ny(9, 30, friday),
        ny(9, 30, monday),
    )
    assert fifteen.times.tolist() == [
        np.datetime64("2023-03-10T14:30").item(),
        np.datetime64("2023-03-13T13:30").item(),
    ]


def test_resample_then_until_gives_only_closed_five_minute_bars():
    five = full_session().resample(5)
    assert len(five) == 78
    assert five.until(ny(10, 3)).start_at(-1) == ny(9, 55)
    assert len(five.until(ny(10, 5))) == 7


def test_resample_refuses_bad_periods_and_disorder():
    bars = make_bars(minutes(ny(9, 30), 10, step=5), interval=5)
    with pytest.raises(ValueError, match="positive multiple of 5 minutes, was 7"):
        bars.resample(7)
    assert bars.resample(5) is bars
    shuffled = make_bars([ny(9, 30), ny(9, 32), ny(9, 31)])
    with pytest.raises(ValueError, match=r"bar 2 \(2023-03-22 09:31 ET\) does not follow bar 1"):
        shuffled.resample(5)


def test_resample_of_one_minute_bars_matches_a_direct_aggregation_over_a_day():
    rng = np.random.default_rng(7)
    close = 4000.0 + np.cumsum(rng.normal(0.0, 1.0, 390))
    bars = make_bars(minutes(ny(9, 30), 390), close.tolist())
    ten = bars.resample(10)
    assert len(ten) == 39
    assert ten.close.tolist() == close[9::10].tolist()
    assert ten.high.tolist() == bars.high.reshape(39, 10).max(axis=1).tolist()


# --- check_bars -----------------------------------------------------------------------------------


def check(bars: Bars, close: datetime | None = None):
    return check_bars(bars, session_open(DAY), close or session_close(DAY))


def codes(issues) -> list[BarIssueCode]:
    return [issue.code for issue in issues]


def test_a_complete_session_has_no_issues():
    assert check(full_session()) == ()


def test_a_gap_reports_start_end_and_count():
    starts = minutes(ny(9, 30), 390)
    del starts[45:52]  # 10:15 ... 10:21 missing
    (issue,) = check(make_bars(starts))
    assert issue.code is BarIssueCode.GAP
    assert issue.severity is Severity.WARNING
    assert (issue.start, issue.end, issue.count) == (ny(10, 15), ny(10, 22), 7)
    assert issue.detail == "7 1-minute SPX bar(s) missing, 2023-03-22 10:15 ET to 10:22 ET"


def test_gaps_at_the_open_and_before_the_close_are_reported():
    starts = minutes(ny(9, 30), 390)[3:-2]
    issues = check(make_bars(starts))
    assert [(i.code, i.start, i.end, i.count) for i in issues] == [
        (BarIssueCode.GAP, ny(9, 30), ny(9, 33), 3),
        (BarIssueCode.GAP, ny(15, 58), ny(16, 0), 2),
    ]


def test_checking_the_bars_seen_so_far_with_the_close_at_asof():
    seen = full_session().until(ny(11, 0))
    assert check(seen, close=ny(11, 0)) == ()
    # Bars that stopped at 10:30: from 10:30 to 11:00 is a gap.
    stopped = full_session().until(ny(10, 30))
    (issue,) = check(stopped, close=ny(11, 0))
    assert (issue.code, issue.count) == (BarIssueCode.GAP, 30)


def test_nan_and_non_positive_prices_are_errors_naming_the_bar():
    bars = full_session()
    close = bars.close.copy()
    high = bars.high.copy()
    close[10] = np.nan
    high[20] = -1.0
    broken = Bars(
        symbol="SPX",
        source="t",
        interval_minutes=1,
        times=bars.times,
        open=bars.open,
        high=high,
        low=bars.low,
        close=close,
    )
    issues = check(broken)
    nan = next(i for i in issues if i.code is BarIssueCode.NAN_PRICE)
    assert (nan.index, nan.start, nan.severity) == (10, ny(9, 40), Severity.ERROR)
    assert nan.detail == "SPX bar 2023-03-22 09:40 ET has NaN close"
    bad = next(i for i in issues if i.code is BarIssueCode.NON_POSITIVE_PRICE)
    assert bad.index == 20
    assert "high -1" in bad.detail
    assert BarIssueCode.HIGH_BELOW_LOW in codes(issues)  # high -1 is below the low too


def test_high_below_low_and_open_outside_the_range():
    bars = make_bars(
        minutes(ny(9, 30), 3),
        [4000.0, 4001.0, 4002.0],
        highs=[4001.0, 3990.0, 4000.0],
        lows=[3999.0, 3995.0, 3999.0],
    )
    issues = check(bars, close=ny(9, 33))
    assert [(i.code, i.index) for i in issues] == [
        (BarIssueCode.HIGH_BELOW_LOW, 1),
        (BarIssueCode.OUTSIDE_RANGE, 2),  # close 4002 above the high 4000
    ]
    assert issues[1].severity is Severity.WARNING


def test_out_of_order_and_duplicate_bars():
    bars = make_bars([ny(9, 30), ny(9, 32), ny(9, 31), ny(9, 32), ny(9, 33)])
    issues = check(bars, close=ny(9, 34))
    assert [(i.code, i.index, i.count) for i in issues] == [
        (BarIssueCode.OUT_OF_ORDER, 2, 1),
        (BarIssueCode.DUPLICATE, 1, 2),
    ]
    assert issues[0].detail == (
        "SPX bar 2 starts 2023-03-22 09:31 ET, before the bar ahead of it (2023-03-22 09:32 ET)"
    )


def test_bars_outside_the_session_are_info():
    starts = minutes(ny(9, 25), 5) + minutes(ny(9, 30), 390) + minutes(ny(16, 0), 6)
    issues = check(make_bars(starts))
    assert [(i.code, i.severity, i.start, i.end, i.count) for i in issues] == [
        (BarIssueCode.OUTSIDE_SESSION, Severity.INFO, ny(9, 25), ny(9, 30), 5),
        (BarIssueCode.OUTSIDE_SESSION, Severity.INFO, ny(16, 0), ny(16, 6), 6),
    ]
    assert (
        issues[1].detail
        == "6 SPX bar(s) after 16:00 ET, 2023-03-22 16:00 ET to 2023-03-22 16:05 ET"
    )


def test_off_grid_five_minute_bars():
    starts = minutes(ny(9, 30), 78, step=5)
    starts[3] = ny(9, 47)
    issues = check(make_bars(starts, interval=5))
    assert codes(issues) == [BarIssueCode.OFF_GRID, BarIssueCode.GAP]
    assert issues[0].start == ny(9, 47)
    assert (issues[1].start, issues[1].count) == (ny(9, 45), 1)


def test_no_bars_at_all_is_an_error():
    empty = full_session().until(ny(9, 0))
    (issue,) = check(empty)
    assert (issue.code, issue.severity, issue.count) == (BarIssueCode.EMPTY, Severity.ERROR, 390)
    other_day = make_bars(minutes(ny(9, 30, date(2023, 3, 21)), 3))
    assert codes(check(other_day)) == [BarIssueCode.EMPTY, BarIssueCode.OUTSIDE_SESSION]


def test_errors_come_first():
    starts = minutes(ny(9, 30), 390)
    del starts[100]
    starts.append(ny(16, 0))
    close = [4000.0] * len(starts)
    close[0] = np.nan
    issues = check(make_bars(starts, close))
    assert [i.severity for i in issues] == [Severity.ERROR, Severity.WARNING, Severity.INFO]


def test_check_bars_refuses_naive_or_reversed_sessions():
    bars = full_session()
    with pytest.raises(ValueError, match="session_open must be timezone-aware"):
        check_bars(bars, datetime(2023, 3, 22, 9, 30), session_close(DAY))  # noqa: DTZ001
    with pytest.raises(ValueError, match="session_close must be after session_open"):
        check_bars(bars, session_close(DAY), session_open(DAY))


# --- Breadth --------------------------------------------------------------------------------------


def breadth(days: list[str], adv: list[int], dec: list[int], *, official: bool = True) -> Breadth:
    return Breadth(
        dates=np.array(days, dtype="datetime64[D]"),
        advances=np.array(adv),
        declines=np.array(dec),
        source="test",
        official=official,
    )


def test_ad_line_is_the_running_sum_of_advances_minus_declines():
    series = breadth(
        ["2020-02-05", "2020-02-06", "2020-02-07"], [2000, 1000, 1500], [1000, 2500, 1500]
    )
    # 2000 - 1000 = 1000; 1000 - 2500 = -1500 -> -500; 1500 - 1500 = 0 -> -500.
    assert series.net().tolist() == [1000, -1500, 0]
    assert series.ad_line().tolist() == [1000.0, -500.0, -500.0]
    assert series.ad_line().dtype == np.float64


def test_available_through_before_and_through():
    series = breadth(["2020-02-06", "2020-02-07", "2020-02-10"], [1, 2, 3], [3, 2, 1])
    assert series.available_through(date(2023, 3, 22)) == date(2020, 2, 10)
    assert series.available_through(date(2020, 2, 8)) == date(2020, 2, 7)
    assert series.available_through(date(2020, 2, 7)) == date(2020, 2, 7)
    assert series.available_through(date(2020, 2, 5)) is None
    assert series.before(date(2020, 2, 7)).last_date == date(2020, 2, 6)
    assert series.through(date(2020, 2, 7)).last_date == date(2020, 2, 7)
    assert len(series.before(date(2020, 1, 1))) == 0
    assert series.before(date(2020, 1, 1)).last_date is None
    assert (series.first_date, series.date_at(1)) == (date(2020, 2, 6), date(2020, 2, 7))


def test_breadth_heads_are_read_only_rows_of_the_series():
    series = breadth(["2020-02-06", "2020-02-07", "2020-02-10"], [1, 2, 3], [3, 2, 1])
    head = series.before(date(2020, 2, 10))
    assert head.dates.tolist() == [date(2020, 2, 6), date(2020, 2, 7)]
    assert (head.advances.tolist(), head.declines.tolist()) == ([1, 2], [3, 2])
    assert (head.source, head.official) == ("test", True)
    assert head.ad_line().tolist() == series.ad_line()[:2].tolist()
    for column in (head.dates, head.advances, head.declines):
        assert not column.flags.writeable


def test_breadth_validates_dates_and_counts():
    with pytest.raises(ValueError, match=r"strictly increasing, row 1 \(2020-02-06\) follows"):
        breadth(["2020-02-07", "2020-02-06"], [1, 2], [1, 2])
    with pytest.raises(ValueError, match="declines must be >= 0, was -5 on 2020-02-07"):
        breadth(["2020-02-06", "2020-02-07"], [1, 2], [1, -5])
    with pytest.raises(ValueError, match=r"advances must have one count per date \(2\)"):
        breadth(["2020-02-06", "2020-02-07"], [1], [1, 2])


def test_choose_breadth_takes_the_latest_data_and_prefers_official_on_ties():
    official = breadth(["2020-02-07", "2020-02-10"], [1, 2], [2, 1])
    computed = breadth(["2023-06-21", "2023-06-22"], [1, 2], [2, 1], official=False)
    assert choose_breadth([official, computed], date(2023, 3, 22)) is official
    assert choose_breadth([official, computed], date(2024, 1, 2)) is computed
    assert choose_breadth([official, computed], date(2019, 1, 2)) is None
    twin = breadth(["2020-02-07", "2020-02-10"], [1, 2], [2, 1], official=False)
    assert choose_breadth([twin, official], date(2020, 3, 1)) is official
