"""Tests for core.calendar: expirations against real contract data, and the holiday edge cases."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from bot.render.calendar_json import vix_settlements_json
from core.calendar import (
    NEW_YORK,
    NYSE_HOLIDAYS,
    SPXW_SCHEDULE_START,
    VX_WEEKLY_FIRST_EXPIRY,
    business_days_to,
    elapsed_seconds,
    is_spx_monthly_expiration,
    is_spxw_expiration,
    is_trading_day,
    next_trading_day,
    next_vix_expiration,
    posix_stamps,
    previous_trading_day,
    spx_monthly_expiration,
    spxw_expirations,
    third_friday,
    trading_days_between,
    vix_last_trading_day,
    vix_monthly_settlement,
    vix_settlements_between,
    vix_weekly_expirations,
)
from tests.conftest import load_snapshot

DATA = Path(__file__).resolve().parent.parent / "data"


def _read(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


def _month(contract: str) -> tuple[int, int]:
    year, month = contract.split("-")
    return int(year), int(month)


# --- Real contract data ---------------------------------------------------------------------------

CONTRACTS = _read("vix_contract_expirations_2008_2015.csv")
EXPIRED = [row for row in CONTRACTS if row["expired_in_data"] == "yes"]


def test_contract_fixture_covers_every_month_2008_2015():
    assert [row["contract"] for row in CONTRACTS] == [
        f"{year}-{month:02d}" for year in range(2008, 2016) for month in range(1, 13)
    ]
    # The CFE files stop on 2015-04-01: April-December 2015 had not settled yet.
    assert len(EXPIRED) == 87


@pytest.mark.parametrize("row", EXPIRED, ids=[row["contract"] for row in EXPIRED])
def test_vix_monthly_settlement_matches_cfe_final_settlement_row(row):
    # The last row of each CFE contract file is its final settlement (the SOQ as "Settle").
    assert vix_monthly_settlement(*_month(row["contract"])) == date.fromisoformat(row["last_row"])


@pytest.mark.parametrize("row", EXPIRED, ids=[row["contract"] for row in EXPIRED])
def test_vix_last_trading_day_is_the_cfe_row_before_settlement(row):
    settlement = date.fromisoformat(row["last_row"])
    assert vix_last_trading_day(settlement) == date.fromisoformat(row["previous_row"])


def test_vix_settlements_between_2008_and_2015_match_all_expired_contracts():
    computed = vix_settlements_between(date(2008, 1, 1), date(2015, 3, 31))
    assert computed == tuple(date.fromisoformat(row["last_row"]) for row in EXPIRED)


def test_unsettled_2015_contracts_were_still_trading_before_their_computed_settlement():
    for row in CONTRACTS:
        if row["expired_in_data"] == "no":
            settlement = vix_monthly_settlement(*_month(row["contract"]))
            assert date.fromisoformat(row["last_row"]) < settlement


def test_settlement_rows_before_november_2014_show_no_trading():
    # Before CFE's extended hours the settlement day row was the SOQ only: zero volume. One
    # exception in CFE's own file: December 2011 shows 252 contracts on 2011-12-21.
    traded = {row["contract"] for row in EXPIRED if row["last_row_volume"] != "0"}
    assert {c for c in traded if c < "2014-11"} == {"2011-12"}
    assert {c for c in traded if c >= "2014-11"} == {
        "2014-11",
        "2014-12",
        "2015-01",
        "2015-02",
        "2015-03",
    }


def test_front_month_rolls_2015_to_2017_land_on_computed_settlements():
    # Quandl's continuous front month rolls when the front contract settles (open interest of
    # the next contract appears): April 2015 onwards is not in the CFE files above.
    rolls = [
        date.fromisoformat(row["trade_date"])
        for row in _read("vix_front_month_rolls_2014_2017.csv")
    ]
    expected = vix_settlements_between(date(2014, 12, 1), date(2017, 4, 30))
    assert tuple(rolls) == expected
    assert len(rolls) == 29


def test_all_96_settlements_2008_2015_match_the_data():
    # January 2008 - March 2015 from the CFE files, April - December 2015 from the Quandl rolls.
    cfe = [date.fromisoformat(row["last_row"]) for row in EXPIRED]
    rolls = [
        date.fromisoformat(row["trade_date"])
        for row in _read("vix_front_month_rolls_2014_2017.csv")
        if "2015-04-01" <= row["trade_date"] <= "2015-12-31"
    ]
    computed = vix_settlements_between(date(2008, 1, 1), date(2015, 12, 31))
    assert len(computed) == 96
    assert computed == tuple(cfe + rolls)


def test_vix_option_expirations_listed_on_2024_06_03_match_the_schedule():
    rows = _read("vix_option_expirations_2024-06-03.csv")
    monthly = [date.fromisoformat(r["expiration_date"]) for r in rows if r["root"] == "VIX"]
    weekly = [date.fromisoformat(r["expiration_date"]) for r in rows if r["root"] == "VIXW"]
    assert tuple(monthly) == vix_settlements_between(date(2024, 6, 4), date(2024, 11, 30))
    assert tuple(weekly) == vix_weekly_expirations(date(2024, 6, 4), date(2024, 7, 3))
    # The June 2024 monthly settled on Tuesday 06-18: Juneteenth was the Wednesday.
    assert date(2024, 6, 18) in monthly


# --- Holidays -------------------------------------------------------------------------------------


def test_good_fridays_2007_2027_are_holidays():
    # Anonymous Gregorian algorithm (Meeus), independent of the table.
    for year in range(2007, 2028):
        a, b, c = year % 19, year // 100, year % 100
        d, e = divmod(b, 4)
        g = (8 * b + 13) // 25
        h = (19 * a + b - d - g + 15) % 30
        i, k = divmod(c, 4)
        el = (32 + 2 * e + 2 * i - h - k) % 7
        m = (a + 11 * h + 22 * el) // 451
        month, day = divmod(h + el - 7 * m + 114, 31)
        easter = date(year, month, day + 1)
        assert easter - timedelta(days=2) in NYSE_HOLIDAYS, year


def test_juneteenth_is_a_holiday_from_2022():
    assert {date(2022, 6, 20), date(2023, 6, 19), date(2024, 6, 19)} <= NYSE_HOLIDAYS
    assert {date(2025, 6, 19), date(2026, 6, 19), date(2027, 6, 18)} <= NYSE_HOLIDAYS
    assert date(2021, 6, 18) not in NYSE_HOLIDAYS


# --- SPX monthly (AM) and SPXW (PM) ---------------------------------------------------------------


def test_third_friday():
    assert third_friday(2023, 3) == date(2023, 3, 17)
    assert third_friday(2026, 5) == date(2026, 5, 15)
    assert third_friday(2027, 6) == date(2027, 6, 18)


@pytest.mark.parametrize(
    ("year", "month", "expected"),
    [
        (2023, 3, date(2023, 3, 17)),
        (2014, 4, date(2014, 4, 17)),  # Good Friday 2014-04-18
        (2022, 4, date(2022, 4, 14)),  # Good Friday 2022-04-15 (the 2022-02-04 chain lists it)
        (2025, 4, date(2025, 4, 17)),  # Good Friday 2025-04-18
        (2026, 6, date(2026, 6, 18)),  # Juneteenth 2026-06-19
        (2027, 6, date(2027, 6, 17)),  # Juneteenth observed 2027-06-18
        (2027, 3, date(2027, 3, 19)),  # Good Friday 2027-03-26 is the fourth Friday
    ],
)
def test_spx_monthly_expiration_moves_to_thursday_on_holidays(year, month, expected):
    assert spx_monthly_expiration(year, month) == expected
    assert is_spx_monthly_expiration(expected)
    assert not is_spx_monthly_expiration(expected + timedelta(days=1))


# Snapshots that list every SPXW expiry of the next two weeks (further out, Cboe had not listed
# every series yet: on 2022-06-10 the Tuesday 06-28 series was not out).
SPXW_SNAPSHOTS = [
    "spx_cboe_2020-03-20_close.csv.gz",
    "spx_cboe_2022-01-07_close_partial.csv.gz",
    "spx_cboe_2022-02-04_close.csv.gz",
    "spx_cboe_2022-03-23_intraday_1011ET.csv.gz",
    "spx_cboe_2022-06-10_close.csv.gz",
    "spx_cboe_2023-02-03_close_partial.csv.gz",
    "spx_cboe_2023-02-07_close.csv.gz",
    "spx_cboe_2023-09-01_close.csv.gz",
    "spx_cboe_2023-12-08_close_partial.csv.gz",
    "spx_cboe_2024-01-05_close.csv.gz",
    "spx_cboe_2024-02-12_close_noIV.csv.gz",
    "spx_cboe_2024-11-08_close_filtered.csv.gz",
    "spx_cboe_2026-03-13_close_filtered.csv.gz",
]


@pytest.mark.parametrize("name", SPXW_SNAPSHOTS)
def test_spxw_expirations_match_real_chains_over_two_weeks(name):
    # After the quote day: some snapshots taken after the close had dropped the day's expiry.
    chain = load_snapshot(name)
    quote_day = date.fromisoformat(name.split("_")[2])
    start, end = quote_day + timedelta(days=1), quote_day + timedelta(days=14)
    listed = {d for root, d in chain.expiries() if root == "SPXW" and start <= d <= end}
    monthlies = {d for root, d in chain.expiries() if root == "SPX"}
    assert set(spxw_expirations(start, end)) == listed
    assert all(is_spx_monthly_expiration(d) for d in monthlies)


def test_spxw_jan_2025_chain_lists_the_carter_closure_day():
    # The chain captured 2025-01-06 still lists SPXW 2025-01-09, a day the exchanges closed at
    # short notice; the schedule (trading days only) leaves it out and is otherwise exact.
    chain = load_snapshot("spx_cboe_2025-01-06_close_janexp.csv.gz")
    listed = {d for root, d in chain.expiries() if root == "SPXW"}
    computed = set(spxw_expirations(date(2025, 1, 6), date(2025, 1, 31)))
    assert listed - computed == {date(2025, 1, 9)}
    assert computed - listed == set()


def test_spxw_schedule_eras():
    # Monday/Wednesday/Friday plus end of month before the Tuesday/Thursday listings.
    assert spxw_expirations(date(2021, 8, 30), date(2021, 9, 3)) == (
        date(2021, 8, 30),
        date(2021, 8, 31),  # end of month
        date(2021, 9, 1),
        date(2021, 9, 3),
    )
    # A Monday holiday moves to the Tuesday (Labor Day 2016, per Cboe's listing).
    assert date(2016, 9, 6) in spxw_expirations(date(2016, 9, 5), date(2016, 9, 9))
    assert not is_spxw_expiration(date(2022, 4, 19))  # first Tuesday expiry was 04-26
    assert is_spxw_expiration(date(2022, 4, 26))
    # Every trading day since the Thursday series, and no holiday.
    week = spxw_expirations(date(2023, 6, 19), date(2023, 6, 23))
    assert week == tuple(date(2023, 6, d) for d in (20, 21, 22, 23))


def test_spxw_expirations_rejects_dates_before_the_modelled_schedule():
    with pytest.raises(ValueError, match="2014-07-31"):
        spxw_expirations(SPXW_SCHEDULE_START - timedelta(days=1), date(2015, 1, 1))
    with pytest.raises(ValueError, match="start must not be after end"):
        spxw_expirations(date(2024, 1, 2), date(2024, 1, 1))


# --- VIX settlement edge cases --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "month", "expected", "why"),
    [
        (2014, 3, date(2014, 3, 18), "Good Friday 2014-04-18 is April's third Friday"),
        (2019, 3, date(2019, 3, 19), "Good Friday 2019-04-19"),
        (2022, 3, date(2022, 3, 15), "Good Friday 2022-04-15"),
        (2025, 3, date(2025, 3, 18), "Good Friday 2025-04-18"),
        (2008, 2, date(2008, 2, 19), "Good Friday 2008-03-21 (in the CFE data)"),
        (2024, 6, date(2024, 6, 18), "Juneteenth 2024-06-19 is the Wednesday itself"),
        (2026, 5, date(2026, 5, 19), "Juneteenth 2026-06-19 is June's third Friday"),
        (2027, 5, date(2027, 5, 18), "Juneteenth observed 2027-06-18, June's third Friday"),
        (2022, 6, date(2022, 6, 15), "Juneteenth 2022 (Monday 06-20) moves nothing"),
        (2023, 6, date(2023, 6, 21), "Juneteenth 2023 (Monday 06-19) moves nothing"),
        (2025, 6, date(2025, 6, 18), "Juneteenth 2025 is a Thursday: nothing moves"),
        (2026, 6, date(2026, 6, 17), "30 days before 2026-07-17"),
        (2027, 6, date(2027, 6, 16), "30 days before 2027-07-16"),
        (2023, 3, date(2023, 3, 22), "the FOMC replay day is a settlement day"),
        (2023, 11, date(2023, 11, 15), "Thanksgiving week: no effect"),
        (2027, 11, date(2027, 11, 17), "30 days before 2027-12-17"),
        (2027, 12, date(2027, 12, 22), "30 days before 2028-01-21 (year rollover)"),
        (2027, 3, date(2027, 3, 17), "Good Friday 2027-03-26 is not a third Friday"),
    ],
)
def test_vix_monthly_settlement_edge_cases(year, month, expected, why):
    assert vix_monthly_settlement(year, month) == expected, why
    assert is_trading_day(expected)


def test_vix_settlements_in_2027():
    expected = [
        "2027-01-20",
        "2027-02-17",
        "2027-03-17",
        "2027-04-21",
        "2027-05-18",  # Juneteenth (observed Friday 06-18) is June's third Friday
        "2027-06-16",
        "2027-07-21",
        "2027-08-18",
        "2027-09-15",
        "2027-10-20",
        "2027-11-17",
        "2027-12-22",
    ]
    got = vix_settlements_between(date(2027, 1, 1), date(2027, 12, 31))
    assert [d.isoformat() for d in got] == expected


def test_vix_settlement_uses_the_unadjusted_third_friday_for_the_30_days():
    # April 2025's third Friday is Good Friday; the SPX monthly moves to Thursday 04-17, but the
    # VIX count starts from the Friday: 30 days before 04-18 is Wednesday 03-19, then moved to the
    # business day before because the Friday is a holiday.
    assert spx_monthly_expiration(2025, 4) == date(2025, 4, 17)
    assert vix_monthly_settlement(2025, 3) == date(2025, 3, 18)


def test_vix_settlements_between_is_inclusive_and_ordered():
    assert vix_settlements_between(date(2023, 3, 22), date(2023, 4, 19)) == (
        date(2023, 3, 22),
        date(2023, 4, 19),
    )
    assert vix_settlements_between(date(2023, 3, 23), date(2023, 4, 18)) == ()


def test_vix_weekly_expirations_skip_monthly_weeks_and_move_for_holidays():
    weeks = vix_weekly_expirations(date(2020, 11, 1), date(2020, 12, 31))
    assert weeks == (
        date(2020, 11, 4),
        date(2020, 11, 11),
        # 11-18 is the November monthly
        date(2020, 11, 24),  # Friday 2020-12-25 is Christmas: Wednesday 11-25 moves back
        date(2020, 12, 1),  # Friday 2021-01-01 is New Year's Day
        date(2020, 12, 9),
        # 12-16 is the December monthly
        date(2020, 12, 23),
        date(2020, 12, 30),
    )
    # Juneteenth 2024's week holds the (moved) June monthly, so no weekly.
    assert date(2024, 6, 19) not in vix_weekly_expirations(date(2024, 6, 1), date(2024, 6, 30))
    # Christmas 2024 on a Wednesday.
    assert date(2024, 12, 24) in vix_weekly_expirations(date(2024, 12, 20), date(2024, 12, 31))


def test_vix_weekly_expirations_start_with_the_listing():
    assert vix_weekly_expirations(date(2015, 1, 1), date(2015, 8, 12)) == (
        VX_WEEKLY_FIRST_EXPIRY,
        date(2015, 8, 12),
    )


def test_next_vix_expiration_on_the_fomc_replay_day():
    day = date(2023, 3, 22)  # the March series settled at this morning's open
    weekly = next_vix_expiration(day)
    monthly = next_vix_expiration(day, weekly=False)
    assert weekly == date(2023, 3, 29)
    assert (weekly - day).days == 7
    assert business_days_to(day, weekly) == 5
    assert monthly == date(2023, 4, 19)
    assert business_days_to(day, monthly) == 19  # Good Friday 2023-04-07 does not count


def test_next_vix_expiration_before_weeklies_existed():
    assert next_vix_expiration(date(2014, 3, 17)) == date(2014, 3, 18)
    assert next_vix_expiration(date(2014, 3, 18)) == date(2014, 4, 16)


def test_next_vix_expiration_is_a_trading_day_and_strictly_after():
    day = date(2023, 1, 3)
    while day < date(2024, 1, 1):
        nxt = next_vix_expiration(day)
        assert nxt > day
        assert is_trading_day(nxt)
        assert (nxt - day).days <= 9
        day += timedelta(days=1)


def test_business_days_to():
    assert business_days_to(date(2023, 3, 17), date(2023, 3, 17)) == 0
    assert business_days_to(date(2023, 3, 17), date(2023, 3, 20)) == 1
    assert business_days_to(date(2023, 3, 20), date(2023, 3, 17)) == -1
    # Good Friday 2023-04-07 is not counted.
    assert business_days_to(date(2023, 4, 5), date(2023, 4, 10)) == 2


def test_existing_helpers_respect_the_added_years():
    assert next_trading_day(date(2012, 10, 26)) == date(2012, 10, 31)  # Hurricane Sandy
    assert previous_trading_day(date(2018, 12, 6)) == date(2018, 12, 4)  # Bush mourning day


# --- The CLI's JSON -------------------------------------------------------------------------------


def test_vix_settlements_json():
    out = vix_settlements_json(date(2024, 1, 1), date(2024, 12, 31))
    assert json.loads(json.dumps(out)) == out
    assert out[:3] == ["2024-01-17", "2024-02-14", "2024-03-20"]
    assert "2024-06-18" in out
    assert len(out) == 12
    assert vix_settlements_json(date(2024, 1, 18), date(2024, 2, 13)) == []


def test_vix_settlements_json_rejects_reversed_range():
    with pytest.raises(ValueError, match="start must not be after end"):
        vix_settlements_json(date(2024, 2, 1), date(2024, 1, 1))


def test_trading_days_between_counts_what_a_day_by_day_walk_counts():
    # The NYSE count uses numpy's business-day calendar; walk the days to check it.
    rng = np.random.default_rng(7)
    for _ in range(2000):
        start = date(2006, 1, 1) + timedelta(days=int(rng.integers(0, 8000)))
        end = start + timedelta(days=int(rng.integers(-10, 400)))
        walked = sum(
            is_trading_day(start + timedelta(days=k)) for k in range(1, (end - start).days + 1)
        )
        assert trading_days_between(start, end) == walked, (start, end)
    # Any other holiday list is counted the same way (a holiday on a weekend changes nothing).
    holidays = [date(2024, 7, 4), date(2024, 7, 5), date(2024, 7, 6)]
    for end in (date(2024, 7, 3), date(2024, 7, 5), date(2024, 7, 8), date(2024, 7, 31)):
        walked = sum(
            is_trading_day(date(2024, 7, 1) + timedelta(days=k), holidays)
            for k in range(1, (end - date(2024, 7, 1)).days + 1)
        )
        assert trading_days_between(date(2024, 7, 1), end, holidays) == walked, end


# --- Elapsed time ---------------------------------------------------------------------------------


def _ny(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        # Friday's 15:45 signal to Monday's close, across each change of 2025.
        (_ny(2025, 3, 7, 15, 45), _ny(2025, 3, 10, 16, 0), 71.25),
        (_ny(2025, 10, 31, 15, 45), _ny(2025, 11, 3, 16, 0), 73.25),
        # Within one offset: the wall clock's difference.
        (_ny(2025, 3, 10, 10, 0), _ny(2025, 3, 10, 16, 0), 6.0),
        (_ny(2024, 12, 20, 15, 45), _ny(2024, 12, 23, 16, 0), 72.25),
    ],
)
def test_elapsed_seconds_counts_the_daylight_saving_hour(start, end, hours):
    assert elapsed_seconds(start, end) == hours * 3600
    assert elapsed_seconds(end, start) == -hours * 3600
    assert elapsed_seconds(start.astimezone(UTC), end) == hours * 3600
    assert elapsed_seconds(start, end.astimezone(UTC)) == hours * 3600
    # What it replaces: moments sharing one tzinfo subtract on the wall clock.
    changed = start.utcoffset() != end.utcoffset()
    assert ((end - start).total_seconds() != hours * 3600) is changed


def test_elapsed_seconds_is_the_posix_difference_and_else_the_subtraction_to_the_bit():
    rng = np.random.default_rng(11)
    base = datetime(2007, 1, 1, tzinfo=NEW_YORK)
    crossed = 0
    for _ in range(4000):
        start = base + timedelta(seconds=int(rng.integers(0, 20 * 365 * 86400)))
        end = start + timedelta(seconds=int(rng.integers(-90 * 86400, 90 * 86400)))
        elapsed = elapsed_seconds(start, end)
        # Whole seconds: POSIX stamps are exact, so the difference is too.
        assert elapsed == end.timestamp() - start.timestamp(), (start, end)
        if start.utcoffset() == end.utcoffset():
            assert elapsed == (end - start).total_seconds()
        else:
            crossed += 1
    assert crossed > 500  # the draw crossed a change often
    # Microseconds are kept exactly.
    start = datetime(2025, 3, 7, 15, 45, 0, 123_457, tzinfo=NEW_YORK)
    assert elapsed_seconds(start, datetime(2025, 3, 10, 16, tzinfo=NEW_YORK)) == 256_499.876543


def test_posix_stamps_are_each_moments_timestamp_and_refuse_a_naive_one():
    moments = [_ny(2025, 3, 7, 15, 45), _ny(2025, 3, 10, 16, 0), _ny(2025, 11, 3, 9, 35)]
    stamps = posix_stamps(moments)
    assert stamps.dtype == np.float64
    assert stamps.tolist() == [m.timestamp() for m in moments]
    # On whole seconds their differences are the elapsed seconds, to the bit.
    assert stamps[1] - stamps[0] == elapsed_seconds(moments[0], moments[1])
    assert posix_stamps([]).shape == (0,)
    naive = datetime(2025, 3, 7, 15, 45)  # noqa: DTZ001
    with pytest.raises(
        ValueError, match=r"bars must be timezone-aware, had datetime\.datetime\(2025"
    ):
        posix_stamps([moments[0], naive], "bars")
