from __future__ import annotations

import csv
import gzip
import shutil
from datetime import date, datetime
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from bot.adapters.market_data.bars_csv import BarsFileError, list_days, load_bars
from bot.adapters.market_data.breadth_csv import (
    UNICORN_CLOSED_DAYS,
    BreadthFileError,
    load_all_breadth,
    load_breadth,
    load_computed,
    load_unicorn,
)
from core.bars import BarIssueCode, Bars, Severity, check_bars
from core.calendar import NEW_YORK, session_close, session_open
from core.indicators import macd
from tests.conftest import ROOT, TEST_DATA

INTRADAY = ROOT / "data" / "intraday"
BREADTH = ROOT / "data" / "breadth"
ONE_MINUTE = INTRADAY / "SPX_1min_2023-03-16_2023-03-31.txt.gz"
FIVE_MINUTE = INTRADAY / "SPX_5min_2023-03-16_2023-03-31.txt.gz"
MARCH_2023 = [date(2023, 3, d) for d in (16, 17, 20, 21, 22, 23, 24, 27, 28, 29, 30, 31)]


@cache
def shipped(path: Path) -> Bars:
    return load_bars(path)


def ny(day: int, hour: int, minute: int) -> datetime:
    return datetime(2023, 3, day, hour, minute, tzinfo=NEW_YORK)


# --- shipped SPX bars -----------------------------------------------------------------------------


def test_shipped_files_hold_twelve_sessions_of_march_2023():
    assert list_days(ONE_MINUTE) == tuple(MARCH_2023)
    assert shipped(ONE_MINUTE).days == tuple(MARCH_2023)
    assert len(shipped(ONE_MINUTE)) == 4753
    assert len(shipped(FIVE_MINUTE)) == 960


def test_intervals_are_inferred_from_the_bars():
    assert shipped(ONE_MINUTE).interval_minutes == 1
    assert shipped(FIVE_MINUTE).interval_minutes == 5
    assert load_bars(ONE_MINUTE, day=date(2023, 3, 22), interval_minutes=1).interval_minutes == 1


def test_fomc_day_matches_the_daily_ohlc_and_official_close():
    # S&P 500 2023-03-22 (daily history): O 4002.04 H 4039.49 L 3936.17 C 3936.97.
    bars = load_bars(ONE_MINUTE, day=date(2023, 3, 22))
    assert len(bars) == 396
    assert bars.session_day == date(2023, 3, 22)
    assert bars.symbol == "SPX"
    assert "SPX_1min_2023-03-16_2023-03-31.txt.gz" in bars.source
    assert (bars.start_at(0), bars.start_at(-1)) == (ny(22, 9, 30), ny(22, 16, 5))
    assert bars.open[0] == 4002.04
    assert bars.high.max() == 4039.49
    assert bars.low.min() == 3936.17
    assert bars.last_close == 3936.97  # the 16:05 settlement print, not the 16:00 bar's 3936.82
    at_ten = bars.until(ny(22, 10, 0))
    assert at_ten.start_at(-1) == ny(22, 9, 59)


def test_call_side_day_rallies_from_open_to_close():
    bars = load_bars(ONE_MINUTE, day=date(2023, 3, 16))
    assert bars.until(ny(16, 10, 1)).last_close == pytest.approx(3887, abs=10)
    assert bars.last_close == 3960.28


def test_five_minute_file_is_the_one_minute_file_resampled_from_0930():
    # Bars are stamped at their start: the 09:30 5-minute bar aggregates 09:30 ... 09:34.
    resampled = shipped(ONE_MINUTE).resample(5)
    direct = shipped(FIVE_MINUTE)
    assert np.array_equal(resampled.times, direct.times)
    for field in ("open", "high", "low", "close"):
        assert np.array_equal(getattr(resampled, field), getattr(direct, field)), field


@pytest.mark.parametrize("day", MARCH_2023, ids=str)
def test_march_2023_has_no_gaps_only_settlement_prints_after_the_close(day):
    issues = check_bars(shipped(ONE_MINUTE).on(day), session_open(day), session_close(day))
    (issue,) = issues
    assert (issue.code, issue.severity) == (BarIssueCode.OUTSIDE_SESSION, Severity.INFO)
    assert issue.start == datetime(day.year, day.month, day.day, 16, 0, tzinfo=NEW_YORK)
    assert issue.count == (7 if day == date(2023, 3, 29) else 6)  # 03-29 has a 16:06 bar too


def test_plain_and_gzipped_files_load_alike(tmp_path):
    plain = tmp_path / "SPX_1min.txt"
    with gzip.open(ONE_MINUTE, "rb") as src, plain.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    a = load_bars(plain, day=date(2023, 3, 17))
    b = load_bars(ONE_MINUTE, day=date(2023, 3, 17))
    assert np.array_equal(a.times, b.times)
    assert np.array_equal(a.close, b.close)


# --- bad bar files --------------------------------------------------------------------------------


def test_fixture_good_loads():
    bars = load_bars(TEST_DATA / "bars_good.txt")
    assert len(bars) == 15
    assert bars.interval_minutes == 1
    assert check_bars(bars, ny(22, 9, 30), ny(22, 9, 45)) == ()


def test_a_gap_loads_and_check_bars_finds_it():
    bars = load_bars(TEST_DATA / "bars_gap.txt")
    (issue,) = check_bars(bars, ny(22, 9, 30), ny(22, 9, 45))
    assert (issue.code, issue.start, issue.end, issue.count) == (
        BarIssueCode.GAP,
        ny(22, 9, 35),
        ny(22, 9, 38),
        3,
    )


@pytest.mark.parametrize(
    ("name", "line", "field", "message"),
    [
        ("bars_nan.txt", 4, "close", "expected a finite price, got 'NaN'"),
        ("bars_bad_number.txt", 7, "high", "expected a number, got 'abc'"),
        ("bars_bad_time.txt", 2, "time", "expected a time like '2023-03-22 09:30:00'"),
        ("bars_short_line.txt", 5, None, "expected 5 comma-separated fields"),
    ],
)
def test_bad_bar_files_name_file_line_and_field(name, line, field, message):
    with pytest.raises(BarsFileError) as caught:
        load_bars(TEST_DATA / name)
    error = caught.value
    assert (error.file, error.line, error.field) == (name, line, field)
    assert message in str(error)
    assert str(error).startswith(f"{name} line {line}")


def test_nan_message_reads_well():
    with pytest.raises(BarsFileError) as caught:
        load_bars(TEST_DATA / "bars_nan.txt")
    assert str(caught.value) == (
        "bars_nan.txt line 4, field 'close': expected a finite price, got 'NaN': "
        "a bar without a price is no bar"
    )
    assert caught.value.value == "NaN"


def test_an_empty_file_or_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(BarsFileError, match=r"bars_empty.txt: is empty"):
        load_bars(TEST_DATA / "bars_empty.txt")
    with pytest.raises(BarsFileError, match="no such file"):
        load_bars(tmp_path / "nope.txt")


def test_a_day_not_in_the_file_lists_the_days_present():
    with pytest.raises(BarsFileError) as caught:
        load_bars(ONE_MINUTE, day=date(2023, 3, 18))
    assert str(caught.value) == (
        "SPX_1min_2023-03-16_2023-03-31.txt.gz: has no bars for 2023-03-18; it holds 12 day(s): "
        + ", ".join(d.isoformat() for d in MARCH_2023)
    )


def test_times_that_do_not_exist_in_new_york_are_refused(tmp_path):
    # 2023-03-12 02:30 never happened in New York (clocks jumped from 02:00 to 03:00), and
    # 2023-11-05 01:30 happened twice.
    for stamp in ("2023-03-12 02:30:00", "2023-11-05 01:30:00"):
        path = tmp_path / "dst.txt"
        path.write_text(f"{stamp},1,1,1,1\n")
        with pytest.raises(BarsFileError, match="does not name one moment in New York time"):
            load_bars(path)


def test_bar_starts_must_be_whole_minutes(tmp_path):
    path = tmp_path / "seconds.txt"
    path.write_text("2023-03-22 09:30:15,1,1,1,1\n")
    with pytest.raises(BarsFileError, match="whole minute"):
        load_bars(path)


def test_out_of_order_lines_load_in_file_order_for_check_bars_to_report(tmp_path):
    lines = (TEST_DATA / "bars_good.txt").read_text().splitlines()
    lines[3], lines[4] = lines[4], lines[3]
    path = tmp_path / "swapped.txt"
    path.write_text("\n".join(lines) + "\n")
    bars = load_bars(path)
    issues = check_bars(bars, ny(22, 9, 30), ny(22, 9, 45))
    assert [(i.code, i.index) for i in issues] == [(BarIssueCode.OUT_OF_ORDER, 4)]


# --- breadth --------------------------------------------------------------------------------------


@cache
def shipped_breadth():
    return load_all_breadth(BREADTH)


def test_shipped_breadth_is_official_to_2020_and_computed_from_mid_2023():
    official, computed = shipped_breadth()
    assert official.official
    assert "official" in official.source
    assert (official.first_date, official.last_date) == (date(1965, 3, 1), date(2020, 2, 10))
    # 12796 + 785 rows less the 38 on closed days (33 in the 1965-2015 files, 5 in 2017-2020).
    assert len(official) == 12796 + 785 - 38
    assert not computed.official
    assert "not official" in computed.source
    assert (computed.first_date, computed.last_date) == (date(2023, 6, 21), date(2026, 6, 17))
    assert len(computed) == 751


def test_rows_on_closed_days_are_dropped():
    official, _ = shipped_breadth()
    dates = set(official.dates.tolist())
    for closed in (date(2018, 12, 5), date(2007, 1, 2), date(2009, 10, 24), date(2020, 1, 20)):
        assert closed not in dates
    assert date(2018, 12, 5) in UNICORN_CLOSED_DAYS
    assert date(2016, 6, 1) not in dates  # the uncovered 2015-11-12 ... 2016-12-31 stretch


def test_the_replay_days_have_no_breadth_and_say_which_day_is_latest():
    chosen = load_breadth(BREADTH, day=date(2023, 3, 22))
    assert chosen.official
    assert chosen.available_through(date(2023, 3, 22)) == date(2020, 2, 10)
    later = load_breadth(BREADTH, day=date(2024, 3, 22))
    assert not later.official
    assert later.available_through(date(2024, 3, 22)) == date(2024, 3, 22)
    ancient = load_breadth(BREADTH, day=date(1960, 1, 4))
    assert ancient.available_through(date(1960, 1, 4)) is None


def test_computed_ad_line_matches_the_publishers_cumulative_column():
    path = BREADTH / "advance_decline_computed_2023_2026.csv.gz"
    with gzip.open(path, "rt") as handle:
        published = [float(row["nyse_ad_cum"]) for row in csv.DictReader(handle)]
    assert load_computed(path).ad_line().tolist() == published
    sp500 = load_computed(path, universe="sp500")
    assert sp500.source.startswith("publisher-computed advances/declines (sp500)")


def test_macd_of_the_ad_line_before_a_replay_day():
    official, _ = shipped_breadth()
    known = official.before(date(2020, 2, 10))
    result = macd(known.ad_line())
    assert known.last_date == date(2020, 2, 7)
    assert np.isfinite(result.histogram[-1])


def test_unicorn_fixture_pair_drops_the_holiday():
    series = load_unicorn((TEST_DATA / "breadth_advn.csv", TEST_DATA / "breadth_decln.csv"))
    assert date(2020, 1, 20) not in series.dates.tolist()
    assert len(series) == 7
    # 2053 - 865 = 1188; + 1678 - 1251 = 427 -> 1615.
    assert series.ad_line()[:2].tolist() == [1188.0, 1615.0]


def test_unicorn_pair_with_a_day_missing_names_it():
    with pytest.raises(BreadthFileError) as caught:
        load_unicorn((TEST_DATA / "breadth_advn.csv", TEST_DATA / "breadth_decln_missing_day.csv"))
    assert str(caught.value) == (
        "breadth_advn.csv line 4, field 'date': 2020-01-16 has no row in "
        "breadth_decln_missing_day.csv"
    )


def test_unicorn_bad_count_names_line_and_field():
    with pytest.raises(BreadthFileError) as caught:
        load_unicorn((TEST_DATA / "breadth_advn_bad_count.csv", TEST_DATA / "breadth_decln.csv"))
    error = caught.value
    assert (error.file, error.line, error.field, error.value) == (
        "breadth_advn_bad_count.csv",
        3,
        "advances",
        " 12x",
    )


def test_unicorn_bad_date_names_line_and_field(tmp_path):
    adv, dec = tmp_path / "NYSE_advn_x.csv", tmp_path / "NYSE_decln_x.csv"
    adv.write_text("20200113, 2053\n2020011, 1678\n")
    dec.write_text("20200113, 865\n20200114, 1251\n")
    with pytest.raises(BreadthFileError) as caught:
        load_unicorn((adv, dec))
    assert str(caught.value) == (
        "NYSE_advn_x.csv line 2, field 'date': expected a date like '20200210', got '2020011'"
    )


def test_unicorn_pairs_must_not_overlap():
    pair = (TEST_DATA / "breadth_advn.csv", TEST_DATA / "breadth_decln.csv")
    with pytest.raises(BreadthFileError, match="2020-01-13 is also in an earlier file"):
        load_unicorn(pair, pair)
    with pytest.raises(ValueError, match="at least one"):
        load_unicorn()


def test_computed_fixture_and_its_errors(tmp_path):
    series = load_computed(TEST_DATA / "breadth_computed.csv")
    assert series.advances.tolist()[:2] == [797, 460]
    assert series.ad_line().tolist() == [41.0, -600.0, series.ad_line()[2]]
    with pytest.raises(ValueError, match="universe must be one of"):
        load_computed(TEST_DATA / "breadth_computed.csv", universe="amex")
    no_column = tmp_path / "advance_decline_computed_x.csv"
    no_column.write_text("date,nasdaq_advancers,nasdaq_decliners\n2023-06-21,1,2\n")
    with pytest.raises(BreadthFileError, match="line 1, field 'nyse_advancers'"):
        load_computed(no_column)
    bad = tmp_path / "bad.csv"
    bad.write_text("date,nyse_advancers,nyse_decliners\n2023-06-21,1,2\n2023-06-22,x,2\n")
    with pytest.raises(BreadthFileError, match="line 3, field 'nyse_advancers'"):
        load_computed(bad)
    backwards = tmp_path / "backwards.csv"
    backwards.write_text("date,nyse_advancers,nyse_decliners\n2023-06-22,1,2\n2023-06-21,1,2\n")
    with pytest.raises(BreadthFileError, match="line 3, field 'date': dates must increase"):
        load_computed(backwards)


def test_an_empty_directory_has_no_breadth(tmp_path):
    with pytest.raises(FileNotFoundError, match="no breadth files"):
        load_all_breadth(tmp_path)
