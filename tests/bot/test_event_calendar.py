from __future__ import annotations

from datetime import date

import pytest

from bot.adapters.event_calendar import EventCalendarError, load_event_days
from tests.conftest import ROOT


def test_shipped_calendar_holds_the_fomc_days():
    days = load_event_days(ROOT / "data" / "events.csv")
    assert days[date(2022, 3, 16)] == "FOMC"
    assert days[date(2024, 9, 18)] == "FOMC"
    assert all(day.weekday() < 5 for day in days)
    assert len([d for d in days if d.year == 2023]) == 8


def test_two_events_on_one_day_are_both_named(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("# comment\ndate,label\n2024-06-12,CPI\n2024-06-12,FOMC\n")
    assert load_event_days(path) == {date(2024, 6, 12): "CPI, FOMC"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("day,what\n", "expected header 'date,label'"),
        (
            "date,label\n2024-13-01,CPI\n",
            "line 2, field 'date': expected YYYY-MM-DD, got '2024-13-01'",
        ),
        ("date,label\n2024-06-12,\n", "line 2, field 'label': empty"),
        ("date,label\n2024-06-12\n", "line 2: expected 'date,label'"),
        ("", "got 'nothing'"),
    ],
)
def test_bad_calendar_names_the_line_and_field(tmp_path, text, message):
    path = tmp_path / "events.csv"
    path.write_text(text)
    with pytest.raises(EventCalendarError, match=message.replace("(", r"\(")) as info:
        load_event_days(path)
    assert str(path) in str(info.value)


def test_missing_calendar_says_which_file(tmp_path):
    with pytest.raises(EventCalendarError, match="cannot read event calendar"):
        load_event_days(tmp_path / "nope.csv")
