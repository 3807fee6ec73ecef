"""The scheduler: the job table, trading sessions, and the APScheduler runner.

`jobs.JOBS` says what runs when (New York time); `market_calendar.MarketCalendar` says when the
market is open (pandas-market-calendars, NYSE and Cboe index options); `runner.JobRunner` runs
the table on APScheduler while this process leads, each scheduled time once across processes;
`runner.occurrences` lists the same firings without a scheduler.
"""

from bot.scheduling.jobs import (
    JOBS,
    WEEKDAYS,
    Anchor,
    AtSessionTime,
    Cron,
    DuringSession,
    JobSpec,
    Rule,
    job_named,
    job_table,
)
from bot.scheduling.market_calendar import MarketCalendar, Session, SessionCalendar
from bot.scheduling.runner import JobCallable, JobRunner, RunOutcome, build_trigger, occurrences

__all__ = [
    "JOBS",
    "WEEKDAYS",
    "Anchor",
    "AtSessionTime",
    "Cron",
    "DuringSession",
    "JobCallable",
    "JobRunner",
    "JobSpec",
    "MarketCalendar",
    "Rule",
    "RunOutcome",
    "Session",
    "SessionCalendar",
    "build_trigger",
    "job_named",
    "job_table",
    "occurrences",
]
