"""Trading sessions from pandas-market-calendars, cross-checked against core.calendar's tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from bot.scheduling.market_calendar import MarketCalendar, Session
from core.calendar import NEW_YORK, NYSE_EARLY_CLOSES, NYSE_HOLIDAYS


def ny(day: str, clock: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), tzinfo=NEW_YORK)


def test_session_of_a_regular_day_runs_0930_to_1600_new_york(calendar: MarketCalendar):
    session = calendar.session(date(2025, 3, 10))

    assert session == Session(
        day=date(2025, 3, 10),
        open=ny("2025-03-10", "09:30"),
        close=ny("2025-03-10", "16:00"),
        early_close=False,
    )
    assert session.open.tzinfo == NEW_YORK


@pytest.mark.parametrize(
    ("day", "open_utc"),
    [
        ("2025-03-07", "14:30"),  # EST, UTC-5
        ("2025-03-10", "13:30"),  # EDT, UTC-4, after 2025-03-09
        ("2025-10-31", "13:30"),
        ("2025-11-03", "14:30"),  # EST again, after 2025-11-02
    ],
)
def test_session_open_stays_0930_new_york_across_dst(calendar: MarketCalendar, day, open_utc):
    session = calendar.session(date.fromisoformat(day))

    assert session is not None
    assert session.open.time() == time(9, 30)
    assert session.open.astimezone(UTC).strftime("%H:%M") == open_utc


@pytest.mark.parametrize(
    "day",
    [
        "2025-01-09",  # national day of mourning for President Carter
        "2025-07-04",  # Independence Day
        "2025-04-18",  # Good Friday
        "2025-03-08",  # Saturday
        "2025-03-09",  # Sunday
    ],
)
def test_closed_days_have_no_session(calendar: MarketCalendar, day):
    assert calendar.session(date.fromisoformat(day)) is None
    assert not calendar.is_trading_day(date.fromisoformat(day))


@pytest.mark.parametrize("day", ["2025-11-28", "2025-07-03", "2025-12-24"])
def test_half_days_close_at_1300(calendar: MarketCalendar, day):
    session = calendar.session(date.fromisoformat(day))

    assert session is not None
    assert session.early_close
    assert session.close == ny(day, "13:00")


def test_christmas_eve_is_a_half_day_though_the_cboe_calendar_misses_it(
    calendar: MarketCalendar,
):
    # pandas-market-calendars 5.x lists 2025-12-24 as an NYSE 13:00 close but a full Cboe
    # index-options day: the earlier close wins.
    session = calendar.session(date(2025, 12, 24))

    assert session is not None
    assert session.close.time() == time(13, 0)


def test_holidays_of_2025(calendar: MarketCalendar):
    assert calendar.holidays(date(2025, 1, 1), date(2025, 12, 31)) == (
        date(2025, 1, 1),
        date(2025, 1, 9),
        date(2025, 1, 20),
        date(2025, 2, 17),
        date(2025, 4, 18),
        date(2025, 5, 26),
        date(2025, 6, 19),
        date(2025, 7, 4),
        date(2025, 9, 1),
        date(2025, 11, 27),
        date(2025, 12, 25),
    )
    assert calendar.early_closes(date(2025, 1, 1), date(2025, 12, 31)) == (
        date(2025, 7, 3),
        date(2025, 11, 28),
        date(2025, 12, 24),
    )


def test_holidays_agree_with_core_calendar_2007_2027(calendar: MarketCalendar):
    # Two independent sources: core's tables were checked against S&P 500 daily prints.
    holidays = set(calendar.holidays(date(2007, 1, 1), date(2027, 12, 31)))

    assert holidays == set(NYSE_HOLIDAYS)


def test_early_closes_agree_with_core_calendar_2007_2027(calendar: MarketCalendar):
    early = set(calendar.early_closes(date(2007, 1, 1), date(2027, 12, 31)))

    assert early == set(NYSE_EARLY_CLOSES)


def test_is_open_is_half_open_at_the_close(calendar: MarketCalendar):
    assert not calendar.is_open(ny("2025-11-28", "09:29"))
    assert calendar.is_open(ny("2025-11-28", "09:30"))
    assert calendar.is_open(ny("2025-11-28", "12:59"))
    assert not calendar.is_open(ny("2025-11-28", "13:00"))
    assert not calendar.is_open(ny("2025-01-09", "11:00"))
    assert calendar.is_open(datetime(2025, 3, 10, 13, 30, tzinfo=UTC))


def test_is_open_rejects_a_naive_time(calendar: MarketCalendar):
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.is_open(datetime(2025, 3, 10, 10, 0))  # noqa: DTZ001 - the point of the test


def test_sessions_lists_trading_days_in_order(calendar: MarketCalendar):
    days = [s.day for s in calendar.sessions(date(2025, 1, 6), date(2025, 1, 12))]

    assert days == [date(2025, 1, 6), date(2025, 1, 7), date(2025, 1, 8), date(2025, 1, 10)]


def test_sessions_rejects_a_reversed_range(calendar: MarketCalendar):
    with pytest.raises(ValueError, match="start must not be after end"):
        calendar.sessions(date(2025, 2, 1), date(2025, 1, 1))


def test_session_rejects_a_naive_open():
    with pytest.raises(ValueError, match="timezone-aware"):
        Session(
            day=date(2025, 3, 10),
            open=datetime(2025, 3, 10, 9, 30),  # noqa: DTZ001 - the point of the test
            close=ny("2025-03-10", "16:00"),
            early_close=False,
        )
