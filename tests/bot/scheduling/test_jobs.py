"""The job table and its firings (`occurrences`): DST, holidays, half days, weekday numbering."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger

from bot.scheduling.jobs import (
    JOBS,
    Anchor,
    AtSessionTime,
    Cron,
    DuringSession,
    JobSpec,
    job_named,
    job_table,
    publish_times,
)
from bot.scheduling.market_calendar import MarketCalendar
from bot.scheduling.runner import build_trigger, occurrences
from core.calendar import NEW_YORK
from core.rules import CondorRules
from core.types import Track

FREQUENT = {"check_hedges", "stale_data_watchdog", "heartbeat"}


def ny(day: str, clock: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), tzinfo=NEW_YORK)


def day_of(calendar: MarketCalendar, day: str) -> list[tuple[datetime, str]]:
    start = datetime.combine(date.fromisoformat(day), time(0), tzinfo=NEW_YORK)
    return occurrences(JOBS, start, start + timedelta(days=1), calendar)


def sparse(firings: list[tuple[datetime, str]]) -> list[tuple[str, str]]:
    return [(at.strftime("%H:%M"), name) for at, name in firings if name not in FREQUENT]


def test_table_names_services_and_graces():
    assert [(s.name, s.service, s.misfire_grace_seconds) for s in JOBS] == [
        ("publish_0dte", "publish_0dte", 300),
        ("publish_1dte", "publish_1dte", 300),
        ("publish_45dte", "publish_45dte", 300),
        ("check_hedges", "check_hedges", 240),
        ("stale_data_watchdog", "watch_stale_data", 30),
        ("settle", "settle_day", 3600),
        ("recap", "recap", 3600),
        ("trial_sweep", "trial_sweep", 10800),
        ("heartbeat", "heartbeat", 600),
    ]


def test_publish_times_come_from_the_track_entry_times():
    rules = CondorRules()

    assert rules.track(Track.ZERO_DTE).entry_time == time(10, 0)
    assert job_named(JOBS, "publish_0dte").when == AtSessionTime(
        anchor=Anchor.OPEN, offset=timedelta(minutes=30)
    )
    for name in ("publish_1dte", "publish_45dte"):
        assert job_named(JOBS, name).when == AtSessionTime(
            anchor=Anchor.CLOSE, offset=timedelta(minutes=-15)
        )


def test_publish_times_of_a_day_are_the_publish_firings(calendar: MarketCalendar):
    # The live poller fetches a chain ahead of each: they must be where the jobs fire.
    for day in ("2025-11-26", "2025-11-28"):  # a regular day, and a 13:00 half day
        fired = sorted(at for at, name in day_of(calendar, day) if name.startswith("publish_"))
        assert publish_times(date.fromisoformat(day)) == fired
    assert [f"{t:%H:%M}" for t in publish_times(date(2025, 11, 28))] == ["10:00", "12:45", "12:45"]


def test_a_regular_day_fires_each_job_at_its_time(calendar: MarketCalendar):
    firings = day_of(calendar, "2025-03-12")

    assert sparse(firings) == [
        ("09:00", "trial_sweep"),
        ("10:00", "publish_0dte"),
        ("15:45", "publish_1dte"),
        ("15:45", "publish_45dte"),
        ("16:15", "settle"),
        ("16:30", "recap"),
    ]
    counts = Counter(name for _, name in firings)
    assert counts["check_hedges"] == 78  # 09:30, 09:35, ... 15:55
    assert counts["stale_data_watchdog"] == 390  # 09:30 ... 15:59
    assert counts["heartbeat"] == 24
    hedges = [at for at, name in firings if name == "check_hedges"]
    assert (hedges[0].time(), hedges[-1].time()) == (time(9, 30), time(15, 55))


@pytest.mark.parametrize(
    ("day", "utc_hour"),
    [
        ("2025-03-07", 15),  # Friday before the spring change: EST
        ("2025-03-10", 14),  # Monday after: EDT
        ("2025-10-31", 14),  # Friday before the fall change: EDT
        ("2025-11-03", 15),  # Monday after: EST
    ],
)
def test_the_1000_publish_stays_at_1000_new_york_across_dst(
    calendar: MarketCalendar, day, utc_hour
):
    (at,) = [at for at, name in day_of(calendar, day) if name == "publish_0dte"]

    assert at == ny(day, "10:00")
    assert at.astimezone(UTC) == datetime.combine(
        date.fromisoformat(day), time(utc_hour), tzinfo=UTC
    )


def test_the_apscheduler_trigger_steps_over_the_spring_weekend_at_1000_new_york():
    trigger = build_trigger(job_named(JOBS, "publish_0dte"))

    after_friday = trigger.get_next_fire_time(None, ny("2025-03-07", "10:00:01"))

    assert after_friday == ny("2025-03-10", "10:00")
    assert after_friday.astimezone(UTC) == datetime(2025, 3, 10, 14, 0, tzinfo=UTC)


def test_the_apscheduler_trigger_steps_over_the_fall_weekend_at_1000_new_york():
    trigger = build_trigger(job_named(JOBS, "publish_0dte"))

    after_friday = trigger.get_next_fire_time(None, ny("2025-10-31", "10:00:01"))

    assert after_friday.astimezone(UTC) == datetime(2025, 11, 3, 15, 0, tzinfo=UTC)


def test_the_hourly_heartbeat_follows_real_hours_on_dst_sundays(calendar: MarketCalendar):
    spring = [at for at, name in day_of(calendar, "2025-03-09") if name == "heartbeat"]
    fall = [at for at, name in day_of(calendar, "2025-11-02") if name == "heartbeat"]

    assert len(spring) == 23  # 02:00 does not exist
    assert len(fall) == 25  # 01:00 happens twice, an hour apart
    assert len({at.astimezone(UTC) for at in fall}) == 25
    assert sparse(day_of(calendar, "2025-03-09")) == [("09:00", "trial_sweep")]


@pytest.mark.parametrize("day", ["2025-01-09", "2025-07-04"])
def test_a_holiday_fires_no_session_job(calendar: MarketCalendar, day):
    names = {name for _, name in day_of(calendar, day)}

    assert names == {"trial_sweep", "heartbeat"}


def test_a_half_day_moves_the_close_anchored_jobs_earlier(calendar: MarketCalendar):
    firings = day_of(calendar, "2025-11-28")

    assert sparse(firings) == [
        ("09:00", "trial_sweep"),
        ("10:00", "publish_0dte"),
        ("12:45", "publish_1dte"),
        ("12:45", "publish_45dte"),
        ("13:15", "settle"),
        ("13:30", "recap"),
    ]
    hedges = [at.time() for at, name in firings if name == "check_hedges"]
    assert (hedges[0], hedges[-1], len(hedges)) == (time(9, 30), time(12, 55), 42)
    watchdog = [at.time() for at, name in firings if name == "stale_data_watchdog"]
    assert (watchdog[-1], len(watchdog)) == (time(12, 59), 210)


def test_a_regular_day_does_not_fire_the_half_day_times(calendar: MarketCalendar):
    times = {at.time() for at, name in day_of(calendar, "2025-11-26") if name == "settle"}

    assert times == {time(16, 15)}


def test_the_scheduled_candidates_cover_every_session_time_2019_2027(calendar: MarketCalendar):
    # Each session-relative time must be one the APScheduler trigger actually fires at: a close
    # the candidate crons do not foresee would silently skip the job.
    rules = [(spec, build_trigger(spec)) for spec in JOBS if isinstance(spec.when, AtSessionTime)]
    for session in calendar.sessions(date(2019, 1, 1), date(2027, 12, 31)):
        for spec, trigger in rules:
            assert isinstance(spec.when, AtSessionTime)
            at = spec.when.time_in(session.open, session.close)
            assert trigger.get_next_fire_time(None, at) == at, (spec.name, session.day)


def test_occurrences_are_in_time_order_then_table_order(calendar: MarketCalendar):
    firings = day_of(calendar, "2025-03-12")
    order = {spec.name: i for i, spec in enumerate(JOBS)}

    keys = [(at.astimezone(UTC), order[name]) for at, name in firings]
    assert keys == sorted(keys)


def test_occurrences_are_half_open(calendar: MarketCalendar):
    firings = occurrences(JOBS, ny("2025-03-12", "10:00"), ny("2025-03-12", "10:05"), calendar)

    assert [
        (at.strftime("%H:%M"), name) for at, name in firings if name != "stale_data_watchdog"
    ] == [
        ("10:00", "publish_0dte"),
        ("10:00", "check_hedges"),
        ("10:00", "heartbeat"),
    ]


def test_occurrences_reject_naive_or_reversed_bounds(calendar: MarketCalendar):
    with pytest.raises(ValueError, match="timezone-aware"):
        occurrences(JOBS, datetime(2025, 3, 12), ny("2025-03-13", "00:00"), calendar)  # noqa: DTZ001
    with pytest.raises(ValueError, match="end must not be before start"):
        occurrences(JOBS, ny("2025-03-13", "00:00"), ny("2025-03-12", "00:00"), calendar)


def test_apscheduler_counts_day_of_week_from_monday():
    # APScheduler: 0 = Monday. python-telegram-bot's run_daily(days=...): 0 = Sunday. The table
    # writes names, so neither can be misread.
    saturday = datetime(2025, 3, 8, 0, 0, tzinfo=NEW_YORK)
    zero = CronTrigger(day_of_week="0", hour="9", timezone="America/New_York")
    named = CronTrigger(day_of_week="mon-fri", hour="9", timezone="America/New_York")

    assert zero.get_next_fire_time(None, saturday).date() == date(2025, 3, 10)  # a Monday
    assert named.get_next_fire_time(None, saturday).date() == date(2025, 3, 10)


def test_session_jobs_never_fire_on_weekends(calendar: MarketCalendar):
    start = ny("2025-03-08", "00:00")

    names = {name for _, name in occurrences(JOBS, start, start + timedelta(days=2), calendar)}

    assert names == {"trial_sweep", "heartbeat"}


def test_job_table_follows_custom_entry_times():
    rules = CondorRules()
    custom = {
        Track.ZERO_DTE: rules.track(Track.ZERO_DTE),
        Track.ONE_DTE: rules.track(Track.ONE_DTE),
        Track.DTE_45: rules.track(Track.DTE_45),
    }
    custom[Track.ZERO_DTE] = replace(custom[Track.ZERO_DTE], entry_time=time(11, 15))
    custom[Track.DTE_45] = replace(custom[Track.DTE_45], entry_time=time(15, 30))
    table = job_table(replace(rules, tracks=custom))

    assert job_named(table, "publish_0dte").when == AtSessionTime(
        anchor=Anchor.OPEN, offset=timedelta(minutes=105)
    )
    assert job_named(table, "publish_45dte").when.crons() == (
        Cron(day_of_week="mon-fri", hour="12", minute="30"),
        Cron(day_of_week="mon-fri", hour="15", minute="30"),
    )


@pytest.mark.parametrize("every", [0, 7, 20, 45])
def test_during_session_needs_a_grid_through_the_open(every):
    with pytest.raises(ValueError, match="every_minutes must divide 60"):
        DuringSession(every_minutes=every)


def test_job_spec_needs_whole_positive_seconds_of_grace():
    with pytest.raises(ValueError, match="misfire_grace must be whole seconds"):
        JobSpec(name="x", when=Cron(), service="x", misfire_grace=timedelta(milliseconds=500))


def test_job_named_says_which_jobs_exist():
    with pytest.raises(KeyError, match="publish_0dte"):
        job_named(JOBS, "nope")
