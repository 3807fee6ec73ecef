"""The table of jobs: what runs when, in New York time, and which service callable it runs.

Each job is either a plain New York cron (`Cron`: runs every matching time, holiday or not) or a
session-relative rule (`AtSessionTime`, `DuringSession`: runs on trading days only and moves with
an early close). A session rule is scheduled as one or more candidate crons (`Rule.crons`: the
regular time and the half-day time) and every candidate time is checked against the day's session
when it fires (`Rule.is_due`), so a holiday fires nothing and a 13:00 half day fires the 15:45
publish at 12:45 instead. `bot.scheduling.runner` turns the table into APScheduler jobs and
computes the same firings without a scheduler (`occurrences`).

A word on weekday numbers: APScheduler's cron `day_of_week` counts 0 = Monday, while
python-telegram-bot's `JobQueue.run_daily(days=...)` counts 0 = Sunday. The table writes weekdays
by name ("mon-fri") so neither convention can bite.

| job                 | New York, trading days unless said | 13:00 half day | service          |
|---------------------|------------------------------------|----------------|------------------|
| publish_0dte        | 10:00                              | 10:00          | publish_0dte     |
| publish_1dte        | 15:45                              | 12:45          | publish_1dte     |
| publish_45dte       | 15:45                              | 12:45          | publish_45dte    |
| check_hedges        | every 5 min, 09:30 ... 15:55       | ... 12:55      | check_hedges     |
| stale_data_watchdog | every minute, 09:30 ... 15:59      | ... 12:59      | watch_stale_data |
| settle              | 16:15                              | 13:15          | settle_day       |
| recap               | 16:30                              | 13:30          | recap            |
| trial_sweep         | 09:00 every day                    | 09:00          | trial_sweep      |
| heartbeat           | every hour on the hour, every day  | same           | heartbeat        |

The publish times come from `core.rules` (each track's `entry_time`); an entry before the earliest
half-day close (13:00) keeps its clock time, a later one keeps its distance to the close.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from bot.scheduling.market_calendar import SessionCalendar
from core.calendar import (
    EARLY_CLOSE,
    NEW_YORK,
    SESSION_CLOSE,
    SESSION_OPEN,
    session_close,
    session_open,
)
from core.rules import CondorRules
from core.types import Track

#: Weekdays, by name: APScheduler counts 0 = Monday, python-telegram-bot 0 = Sunday.
WEEKDAYS = "mon-fri"


def _clock(moment: time) -> timedelta:
    return timedelta(hours=moment.hour, minutes=moment.minute, seconds=moment.second)


def _at(moment: timedelta) -> time:
    if not timedelta(0) <= moment < timedelta(days=1):
        raise ValueError(f"a session time must fall within its day, was {moment} after midnight")
    seconds = int(moment.total_seconds())
    return time(seconds // 3600, seconds % 3600 // 60, seconds % 60)


def _new_york(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"scheduled time must be timezone-aware, was {moment!r}")
    return moment.astimezone(NEW_YORK)


@dataclass(frozen=True, slots=True, kw_only=True)
class Cron:
    """A New York cron spec, in APScheduler's `CronTrigger` fields.

    `day_of_week` counts 0 = Monday in APScheduler (python-telegram-bot's `run_daily` counts
    0 = Sunday): write names ("mon-fri", "sat,sun").

    Attributes:
        day_of_week: Weekdays ("*", "mon-fri").
        hour: Hours ("*", "9-15", "16").
        minute: Minutes ("0", "*/5").
        second: Seconds ("0").
    """

    day_of_week: str = "*"
    hour: str = "*"
    minute: str = "0"
    second: str = "0"

    def fields(self) -> dict[str, str]:
        """Return the `CronTrigger` keyword arguments (without the time zone)."""
        return {
            "day_of_week": self.day_of_week,
            "hour": self.hour,
            "minute": self.minute,
            "second": self.second,
        }

    def crons(self) -> tuple[Cron, ...]:
        """Return the crons that schedule this rule: itself."""
        return (self,)

    def is_due(self, scheduled_for: datetime, calendar: SessionCalendar) -> bool:
        """Return True: a plain cron runs at every time it matches, trading day or not."""
        return True


class Anchor(StrEnum):
    """The session edge a session-relative time is measured from."""

    OPEN = "open"
    CLOSE = "close"


@dataclass(frozen=True, slots=True, kw_only=True)
class AtSessionTime:
    """Once per trading session, at `anchor` + `offset`; non-trading days fire nothing.

    A close-anchored time moves with an early close; an open-anchored one stays put.

    Attributes:
        anchor: The open or the close.
        offset: Signed distance from the anchor (-15 minutes: 15:45, or 12:45 on a half day).
    """

    anchor: Anchor
    offset: timedelta

    def __post_init__(self) -> None:
        for edge in self._edges():
            _at(_clock(edge) + self.offset)  # raises if the time leaves the day

    def _edges(self) -> tuple[time, ...]:
        if self.anchor is Anchor.OPEN:
            # The open has been 09:30 on every session since 1985 (no late opens since 2006).
            return (SESSION_OPEN,)
        return (SESSION_CLOSE, EARLY_CLOSE)

    def time_in(self, session_open: datetime, session_close: datetime) -> datetime:
        """Return when the job runs in a session with this open and close."""
        edge = session_open if self.anchor is Anchor.OPEN else session_close
        return (edge.astimezone(NEW_YORK) + self.offset).astimezone(NEW_YORK)

    def crons(self) -> tuple[Cron, ...]:
        """Return one weekday cron per possible time: the regular one and the half-day one."""
        times = sorted({_at(_clock(edge) + self.offset) for edge in self._edges()})
        return tuple(
            Cron(day_of_week=WEEKDAYS, hour=str(t.hour), minute=str(t.minute), second=str(t.second))
            for t in times
        )

    def is_due(self, scheduled_for: datetime, calendar: SessionCalendar) -> bool:
        """Return whether `scheduled_for` is this rule's time in its day's session."""
        local = _new_york(scheduled_for)
        session = calendar.session(local.date())
        return session is not None and self.time_in(session.open, session.close) == local


@dataclass(frozen=True, slots=True, kw_only=True)
class DuringSession:
    """Every `every_minutes` from the open (inclusive) to the close (exclusive), trading days only.

    Attributes:
        every_minutes: The interval; must divide 60 and keep the 09:30 open on the grid.
    """

    every_minutes: int

    def __post_init__(self) -> None:
        if (
            self.every_minutes <= 0
            or 60 % self.every_minutes
            or (SESSION_OPEN.minute % self.every_minutes)
        ):
            raise ValueError(
                "every_minutes must divide 60 and put 09:30 on the grid "
                f"(1, 2, 3, 5, 6, 10, 15, 30), was {self.every_minutes}"
            )

    def crons(self) -> tuple[Cron, ...]:
        """Return the weekday cron covering every regular session hour."""
        last = _at(_clock(SESSION_CLOSE) - timedelta(minutes=1))
        return (
            Cron(
                day_of_week=WEEKDAYS,
                hour=f"{SESSION_OPEN.hour}-{last.hour}",
                minute="*" if self.every_minutes == 1 else f"*/{self.every_minutes}",
            ),
        )

    def is_due(self, scheduled_for: datetime, calendar: SessionCalendar) -> bool:
        """Return whether `scheduled_for` is on the grid within its day's session."""
        local = _new_york(scheduled_for)
        session = calendar.session(local.date())
        if session is None or not session.contains(local):
            return False
        return (local - session.open) % timedelta(minutes=self.every_minutes) == timedelta(0)


Rule = Cron | AtSessionTime | DuringSession


@dataclass(frozen=True, slots=True, kw_only=True)
class JobSpec:
    """One scheduled job.

    Attributes:
        name: The job's name: the APScheduler job id and the dedupe key's job part.
        when: A New York cron or a session-relative rule.
        service: The key of the async callable (taking `scheduled_for`) in the mapping the runner
            is given.
        misfire_grace: How late a run may still start; later runs are skipped (and logged).
        description: One line for logs and the README.
    """

    name: str
    when: Rule
    service: str
    misfire_grace: timedelta
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name or not self.service:
            raise ValueError(
                f"a job needs a name and a service, was {self.name!r}, {self.service!r}"
            )
        seconds = self.misfire_grace.total_seconds()
        if seconds < 1 or seconds != int(seconds):
            # APScheduler takes the grace as a positive whole number of seconds.
            raise ValueError(
                f"misfire_grace must be whole seconds, at least 1, was {self.misfire_grace}"
            )

    @property
    def misfire_grace_seconds(self) -> int:
        """The grace in whole seconds, as APScheduler's `misfire_grace_time` wants it."""
        return int(self.misfire_grace.total_seconds())


def _publish_rule(entry: time) -> AtSessionTime:
    if entry < EARLY_CLOSE:
        return AtSessionTime(anchor=Anchor.OPEN, offset=_clock(entry) - _clock(SESSION_OPEN))
    return AtSessionTime(anchor=Anchor.CLOSE, offset=_clock(entry) - _clock(SESSION_CLOSE))


def job_table(rules: CondorRules | None = None) -> tuple[JobSpec, ...]:
    """Return the job table, with the publish times taken from `rules` (default: `CondorRules()`).

    Raises:
        ValueError: If two jobs share a name.
    """
    rules = rules or CondorRules()
    table = (
        *(
            JobSpec(
                name=f"publish_{track.value}",
                when=_publish_rule(rules.track(track).entry_time),
                service=f"publish_{track.value}",
                misfire_grace=timedelta(minutes=5),
                description=f"publish the {track.value} condor signal at its entry time",
            )
            for track in (Track.ZERO_DTE, Track.ONE_DTE, Track.DTE_45)
        ),
        JobSpec(
            name="check_hedges",
            when=DuringSession(every_minutes=5),
            service="check_hedges",
            # Less than the interval: a late check is dropped rather than run next to the next.
            misfire_grace=timedelta(minutes=4),
            description="check the open positions' hedges and exits",
        ),
        JobSpec(
            name="stale_data_watchdog",
            when=DuringSession(every_minutes=1),
            service="watch_stale_data",
            misfire_grace=timedelta(seconds=30),
            description="tell the admins when market data goes stale during the session",
        ),
        JobSpec(
            name="settle",
            when=AtSessionTime(anchor=Anchor.CLOSE, offset=timedelta(minutes=15)),
            service="settle_day",
            misfire_grace=timedelta(hours=1),
            description="score the day's open signals against the settlement",
        ),
        JobSpec(
            name="recap",
            when=AtSessionTime(anchor=Anchor.CLOSE, offset=timedelta(minutes=30)),
            service="recap",
            misfire_grace=timedelta(hours=1),
            description="send the end-of-day recap",
        ),
        JobSpec(
            name="trial_sweep",
            when=Cron(hour="9", minute="0"),
            service="trial_sweep",
            misfire_grace=timedelta(hours=3),
            description="remind trials that end in two days; expire ended ones",
        ),
        JobSpec(
            name="heartbeat",
            when=Cron(minute="0"),
            service="heartbeat",
            misfire_grace=timedelta(minutes=10),
            description="post the hourly heartbeat to the admin channel",
        ),
    )
    names = [spec.name for spec in table]
    if len(set(names)) != len(names):
        raise ValueError(f"job names must be unique, were {names}")
    return table


#: The production table.
JOBS: tuple[JobSpec, ...] = job_table()


def job_named(table: Sequence[JobSpec], name: str) -> JobSpec:
    """Return the job called `name`.

    Raises:
        KeyError: If the table has no such job.
    """
    for spec in table:
        if spec.name == name:
            return spec
    raise KeyError(f"no job named {name!r}; jobs are {[spec.name for spec in table]}")


def publish_times(day: date, rules: CondorRules | None = None) -> list[datetime]:
    """When the publish jobs fire on `day` (a trading day), as the job table says, in order."""
    opens, closes = session_open(day), session_close(day)
    return sorted(
        spec.when.time_in(opens, closes)
        for spec in job_table(rules)
        if spec.name.startswith("publish_") and isinstance(spec.when, AtSessionTime)
    )
