"""Run the job table on APScheduler 3.11, once per scheduled time across every process.

Each job becomes one APScheduler job in an `AsyncIOScheduler`: a `CronTrigger` in
America/New_York per candidate cron (combined with `OrTrigger` when a half day adds a second
time), `coalesce=True` (a backlog after a pause runs once, for its latest time),
`max_instances=1` and the table's `misfire_grace_time`. Every run then goes through
`JobRunner.fire`, which

1. checks the session rule (a holiday, a time a half day moved, or a time outside the session
   fires nothing),
2. skips a run later than its grace (measured on the injected clock),
3. claims the run with `JobLocks.claim_run(job, scheduled_for)` so two processes never both run
   it, and
4. awaits the service callable with the scheduled time.

Only the leader schedules: `JobRunner.run` renews `JobLocks.lead(owner, ttl)` and keeps its
scheduler paused while another process leads. The claim still guards every run, so a leadership
handover (or two leaders for a moment) cannot fire a time twice.

`occurrences` computes, without a scheduler, every firing the same triggers and rules produce
between two instants: the accelerated demo replays a day from it, and the tests check it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.base import BaseExecutor
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

from bot.ports import Clock, JobLocks
from bot.scheduling.jobs import JOBS, JobSpec
from bot.scheduling.market_calendar import SessionCalendar
from core.calendar import NEW_YORK

logger = logging.getLogger(__name__)

#: What the runner calls for a job: an async service taking the run's scheduled time.
JobCallable = Callable[[datetime], Awaitable[object]]

_TIME_ZONE = "America/New_York"
_TICK = timedelta(microseconds=1)


class RunOutcome(StrEnum):
    """What became of one scheduled run."""

    RAN = "ran"
    FAILED = "failed"  # the service raised; logged, and not retried (the run stays claimed)
    NOT_DUE = "not_due"  # the session rule said no: a holiday, a half day, outside the session
    MISSED = "missed"  # later than the job's misfire grace
    TAKEN = "taken"  # another process (or an earlier call) already claimed this run


def build_trigger(spec: JobSpec) -> Any:
    """Return the APScheduler trigger of a job: its candidate crons in America/New_York."""
    triggers = [CronTrigger(**cron.fields(), timezone=_TIME_ZONE) for cron in spec.when.crons()]
    return triggers[0] if len(triggers) == 1 else OrTrigger(triggers)


def _fire_times(trigger: Any, start: datetime, end: datetime) -> Iterable[datetime]:
    moment: datetime | None = trigger.get_next_fire_time(None, start)
    while moment is not None and moment < end:
        yield moment.astimezone(NEW_YORK)
        # Step past the firing in UTC: wall-clock arithmetic would drop the `fold` of the
        # repeated 01:00 hour when clocks fall back, and the trigger would return it again.
        moment = trigger.get_next_fire_time(moment, moment.astimezone(UTC) + _TICK)


def occurrences(
    table: Sequence[JobSpec], start: datetime, end: datetime, calendar: SessionCalendar
) -> list[tuple[datetime, str]]:
    """Return every firing of `table` in [start, end), in time order (table order on ties).

    The same triggers the runner schedules, filtered by the same session rules, without
    running APScheduler. Times are aware, in New York time.

    Raises:
        ValueError: If `start` or `end` is naive, or `end` is before `start`.
    """
    for name, moment in (("start", start), ("end", end)):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware, was {moment!r}")
    if end < start:
        raise ValueError(f"end must not be before start, was {end} < {start}")
    found: list[tuple[datetime, int, str]] = []
    for index, spec in enumerate(table):
        for moment in _fire_times(build_trigger(spec), start, end):
            if spec.when.is_due(moment, calendar):
                found.append((moment, index, spec.name))
    found.sort(key=lambda item: (item[0].astimezone(UTC), item[1]))
    return [(moment, name) for moment, _, name in found]


@dataclass(frozen=True, slots=True)
class _ScheduledRun:
    """What APScheduler stores as one job's function; `_ScheduledTimeExecutor` calls it."""

    fire: Callable[[str, datetime], Awaitable[RunOutcome]]
    job_name: str

    # Variadic only because APScheduler checks at add_job that the function needs no argument;
    # the executor always passes exactly one, the scheduled time.
    async def __call__(self, *scheduled_for: datetime) -> RunOutcome:
        (moment,) = scheduled_for
        return await self.fire(self.job_name, moment)


class _ScheduledTimeExecutor(BaseExecutor):  # type: ignore[misc]  # APScheduler is untyped
    """Run each job's coroutine on the loop, handing it the scheduled time.

    APScheduler 3's own executors call a job without its scheduled time, but here that time is
    the run's identity (the dedupe key, and what the services report on). Writing an executor is
    APScheduler 3's extension point for this. The misfire check moves into `JobRunner.fire`, where
    it reads the injected clock.
    """

    def start(self, scheduler: Any, alias: str) -> None:
        super().start(scheduler, alias)
        self._tasks: set[asyncio.Task[list[Any]]] = set()

    def shutdown(self, wait: bool = True) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()

    def _do_submit_job(self, job: Any, run_times: list[datetime]) -> None:
        # APScheduler calls this from its wakeup callback, on the scheduler's event loop.
        task = asyncio.get_running_loop().create_task(self._run(job, run_times))
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._finished(job.id, done))

    async def _run(self, job: Any, run_times: list[datetime]) -> list[Any]:
        events = []
        for run_time in run_times:
            outcome = await job.func(*job.args, run_time, **job.kwargs)
            code = EVENT_JOB_MISSED if outcome is RunOutcome.MISSED else EVENT_JOB_EXECUTED
            events.append(
                JobExecutionEvent(code, job.id, job._jobstore_alias, run_time, retval=outcome)
            )
        return events

    def _finished(self, job_id: str, task: asyncio.Task[list[Any]]) -> None:
        self._tasks.discard(task)
        # Both paths release the job's instance count, without which max_instances=1 would
        # block the job forever after its first run.
        if task.cancelled():
            self._run_job_success(job_id, [])
        elif (error := task.exception()) is not None:
            self._run_job_error(job_id, error, error.__traceback__)
        else:
            self._run_job_success(job_id, task.result())


class JobRunner:
    """Schedule the job table while this process leads, and run each scheduled time once.

    Args:
        services: Async callables by the table's `service` names; each takes `scheduled_for`.
        locks: Run claims and leadership, shared by every process (Redis in production).
        calendar: Trading sessions (a `MarketCalendar`).
        clock: The time the misfire grace is measured against.
        owner: This process's id in the leadership lock.
        jobs: The job table (default: `JOBS`).
        leader_ttl_seconds: How long a leadership lasts without renewal.
        renew_every_seconds: How often leadership is renewed or tried (default: a third of the
            TTL).

    Raises:
        ValueError: If a job's service is missing from `services`.
    """

    def __init__(
        self,
        *,
        services: Mapping[str, JobCallable],
        locks: JobLocks,
        calendar: SessionCalendar,
        clock: Clock,
        owner: str,
        jobs: Sequence[JobSpec] = JOBS,
        leader_ttl_seconds: int = 30,
        renew_every_seconds: float | None = None,
    ) -> None:
        missing = sorted({spec.service for spec in jobs} - services.keys())
        if missing:
            raise ValueError(
                f"every job needs its service: missing {missing}, given {sorted(services)}"
            )
        names = [spec.name for spec in jobs]
        if len(set(names)) != len(names):
            raise ValueError(f"job names must be unique, were {names}")
        if leader_ttl_seconds < 1:
            raise ValueError(f"leader_ttl_seconds must be at least 1, was {leader_ttl_seconds}")
        self._jobs = {spec.name: spec for spec in jobs}
        self._services = dict(services)
        self._locks = locks
        self._calendar = calendar
        self._clock = clock
        self._owner = owner
        self._leader_ttl_seconds = leader_ttl_seconds
        self._renew_every_seconds = (
            leader_ttl_seconds / 3 if renew_every_seconds is None else renew_every_seconds
        )
        self._leading = False

    @property
    def leading(self) -> bool:
        """Whether this process held the scheduler leadership at its last renewal."""
        return self._leading

    async def fire(self, job_name: str, scheduled_for: datetime) -> RunOutcome:
        """Run one scheduled time of a job, unless the session, the grace or the claim says no.

        Args:
            job_name: The job's name in the table.
            scheduled_for: The time the run was scheduled for (aware).

        Returns:
            What became of the run. A service that raises is logged and reported as FAILED.

        Raises:
            KeyError: If there is no such job.
            ValueError: If `scheduled_for` is naive.
        """
        spec = self._jobs.get(job_name)
        if spec is None:
            raise KeyError(f"no job named {job_name!r}; jobs are {sorted(self._jobs)}")
        if scheduled_for.tzinfo is None or scheduled_for.utcoffset() is None:
            raise ValueError(f"scheduled_for must be timezone-aware, was {scheduled_for!r}")
        scheduled_for = scheduled_for.astimezone(NEW_YORK)
        if not spec.when.is_due(scheduled_for, self._calendar):
            logger.debug("%s not due at %s (no session, or moved)", job_name, scheduled_for)
            return RunOutcome.NOT_DUE
        lateness = self._clock.now() - scheduled_for
        if lateness > spec.misfire_grace:
            logger.warning(
                "%s for %s missed: %s late, grace %s",
                job_name,
                scheduled_for,
                lateness,
                spec.misfire_grace,
            )
            return RunOutcome.MISSED
        if not await self._locks.claim_run(job_name, scheduled_for):
            logger.info("%s for %s already claimed elsewhere", job_name, scheduled_for)
            return RunOutcome.TAKEN
        logger.info("%s running for %s", job_name, scheduled_for)
        try:
            await self._services[spec.service](scheduled_for)
        except Exception:
            logger.exception("%s for %s failed", job_name, scheduled_for)
            return RunOutcome.FAILED
        return RunOutcome.RAN

    def build_scheduler(self) -> AsyncIOScheduler:
        """Return an (unstarted) `AsyncIOScheduler` holding one job per table row."""
        scheduler = AsyncIOScheduler(
            timezone=NEW_YORK,
            executors={"default": _ScheduledTimeExecutor()},
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        for spec in self._jobs.values():
            scheduler.add_job(
                _ScheduledRun(self.fire, spec.name),
                trigger=build_trigger(spec),
                id=spec.name,
                name=spec.name,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=spec.misfire_grace_seconds,
                replace_existing=True,
            )
        return scheduler

    async def run(self, scheduler: AsyncIOScheduler | None = None) -> None:
        """Lead and schedule, or follow with the scheduler paused, until cancelled.

        Put it in the process's `asyncio.TaskGroup`; cancelling it shuts the scheduler down.

        Args:
            scheduler: An unstarted scheduler from `build_scheduler` (to inspect or adjust its
                jobs first); by default a fresh one.
        """
        if scheduler is None:
            scheduler = self.build_scheduler()
        scheduler.start(paused=True)
        try:
            while True:
                await self._renew(scheduler)
                await asyncio.sleep(self._renew_every_seconds)
        finally:
            if self._leading:
                logger.info("%s stops leading the scheduler", self._owner)
            self._leading = False
            scheduler.shutdown(wait=False)

    async def _renew(self, scheduler: AsyncIOScheduler) -> None:
        try:
            leading = await self._locks.lead(self._owner, self._leader_ttl_seconds)
        except Exception:
            # Without the lock store no one can prove they lead: stop scheduling until it returns.
            logger.exception("%s could not renew the scheduler leadership", self._owner)
            leading = False
        if leading and not self._leading:
            logger.info("%s leads the scheduler", self._owner)
            scheduler.resume()
        elif not leading and self._leading:
            logger.warning("%s lost the scheduler leadership; pausing", self._owner)
            scheduler.pause()
        self._leading = leading
