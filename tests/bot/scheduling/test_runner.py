"""JobRunner: the run wrapper (session rule, grace, claim), two processes, leadership, misfires.

The wrapper is tested with a `FixedClock`. The APScheduler tests run the real `AsyncIOScheduler`
on the real clock but never wait for a firing: they hand the scheduler a backlog (as if the
process had been paused) whose times are already due, so each test takes a few milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.scheduling.jobs import JOBS, Cron, JobSpec
from bot.scheduling.market_calendar import MarketCalendar
from bot.scheduling.runner import JobCallable, JobRunner, RunOutcome, occurrences
from core.calendar import NEW_YORK
from tests.fakes import FixedClock, InMemoryJobLocks


def ny(day: str, clock: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), tzinfo=NEW_YORK)


class Recorder:
    """Service callables that record (service, scheduled_for)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, datetime]] = []

    def services(self, table: tuple[JobSpec, ...] = JOBS) -> dict[str, JobCallable]:
        return {spec.service: self._service(spec.service) for spec in table}

    def _service(self, name: str) -> JobCallable:
        async def run(scheduled_for: datetime) -> None:
            self.calls.append((name, scheduled_for))

        return run


class WallClock:
    """The real clock: APScheduler's own loop reads it too."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class HandoverLocks:
    """Run claims from `InMemoryJobLocks`; a leadership that ends only when the test says."""

    def __init__(self) -> None:
        self._runs = InMemoryJobLocks()
        self.leader: str | None = None
        self.down = False

    async def claim_run(self, job: str, scheduled_for: datetime) -> bool:
        return await self._runs.claim_run(job, scheduled_for)

    async def lead(self, owner: str, ttl_seconds: int) -> bool:
        if self.down:
            raise ConnectionError("lock store unreachable")
        if self.leader in (None, owner):
            self.leader = owner
            return True
        return False


def runner(
    calendar: MarketCalendar,
    clock: object,
    locks: object,
    recorder: Recorder,
    *,
    owner: str = "a",
    jobs: tuple[JobSpec, ...] = JOBS,
) -> JobRunner:
    return JobRunner(
        services=recorder.services(jobs),
        locks=locks,  # type: ignore[arg-type]
        calendar=calendar,
        clock=clock,  # type: ignore[arg-type]
        owner=owner,
        jobs=jobs,
        leader_ttl_seconds=1,
        renew_every_seconds=0.005,
    )


async def until(condition: Callable[[], object]) -> None:
    # Polling, not an Event: the conditions are the code under test's state, not signals.
    async with asyncio.timeout(2):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


# --- the run wrapper, on a fixed clock ----------------------------------------------------------


async def test_fire_runs_a_due_job_with_its_new_york_scheduled_time(calendar):
    clock = FixedClock(ny("2025-03-10", "10:00:05"))
    rec = Recorder()
    jobs = runner(calendar, clock, InMemoryJobLocks(), rec)

    outcome = await jobs.fire("publish_0dte", datetime(2025, 3, 10, 14, 0, tzinfo=UTC))

    assert outcome is RunOutcome.RAN
    assert rec.calls == [("publish_0dte", ny("2025-03-10", "10:00"))]
    assert rec.calls[0][1].tzinfo == NEW_YORK


async def test_fire_twice_for_the_same_time_runs_once(calendar):
    clock = FixedClock(ny("2025-03-10", "10:00:05"))
    rec = Recorder()
    jobs = runner(calendar, clock, InMemoryJobLocks(), rec)

    first = await jobs.fire("publish_0dte", ny("2025-03-10", "10:00"))
    second = await jobs.fire("publish_0dte", ny("2025-03-10", "10:00"))

    assert (first, second) == (RunOutcome.RAN, RunOutcome.TAKEN)
    assert len(rec.calls) == 1


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        (datetime(2025, 3, 7, 15, 0, tzinfo=UTC), RunOutcome.RAN),  # 10:00 EST
        (datetime(2025, 3, 10, 14, 0, tzinfo=UTC), RunOutcome.RAN),  # 10:00 EDT
        (datetime(2025, 3, 10, 15, 0, tzinfo=UTC), RunOutcome.NOT_DUE),  # 11:00 EDT
        (datetime(2025, 10, 31, 14, 0, tzinfo=UTC), RunOutcome.RAN),  # 10:00 EDT
        (datetime(2025, 11, 3, 15, 0, tzinfo=UTC), RunOutcome.RAN),  # 10:00 EST
        (datetime(2025, 11, 3, 14, 0, tzinfo=UTC), RunOutcome.NOT_DUE),  # 09:00 EST
    ],
)
async def test_fire_across_dst_runs_only_at_1000_new_york(calendar, utc, expected):
    clock = FixedClock(utc + timedelta(seconds=10))
    jobs = runner(calendar, clock, InMemoryJobLocks(), Recorder())

    assert await jobs.fire("publish_0dte", utc) is expected


@pytest.mark.parametrize("day", ["2025-01-09", "2025-07-04"])
async def test_fire_on_a_holiday_runs_no_session_job(calendar, day):
    rec = Recorder()
    locks = InMemoryJobLocks()
    clock = FixedClock(ny(day, "10:00"))
    jobs = runner(calendar, clock, locks, rec)

    outcomes = []
    for name, at in [
        ("publish_0dte", "10:00"),
        ("check_hedges", "10:00"),
        ("stale_data_watchdog", "10:00"),
        ("publish_1dte", "15:45"),
        ("settle", "16:15"),
        ("recap", "16:30"),
    ]:
        clock.set(ny(day, at))
        outcomes.append(await jobs.fire(name, ny(day, at)))

    assert set(outcomes) == {RunOutcome.NOT_DUE}
    assert rec.calls == []
    # Nothing was claimed either: a NOT_DUE run leaves no key behind.
    assert await locks.claim_run("publish_0dte", ny(day, "10:00"))


async def test_fire_on_a_half_day_moves_the_1dte_publish_and_the_settlement(calendar):
    rec = Recorder()
    clock = FixedClock(ny("2025-11-28", "12:45"))
    jobs = runner(calendar, clock, InMemoryJobLocks(), rec)

    moved = {}
    for name, regular, early in [
        ("publish_1dte", "15:45", "12:45"),
        ("settle", "16:15", "13:15"),
        ("recap", "16:30", "13:30"),
    ]:
        clock.set(ny("2025-11-28", early))
        early_outcome = await jobs.fire(name, ny("2025-11-28", early))
        clock.set(ny("2025-11-28", regular))
        regular_outcome = await jobs.fire(name, ny("2025-11-28", regular))
        moved[name] = (early_outcome, regular_outcome)

    assert set(moved.values()) == {(RunOutcome.RAN, RunOutcome.NOT_DUE)}
    clock.set(ny("2025-11-28", "13:00"))
    assert await jobs.fire("check_hedges", ny("2025-11-28", "13:00")) is RunOutcome.NOT_DUE


@pytest.mark.parametrize(
    ("late", "expected"),
    [
        (timedelta(0), RunOutcome.RAN),
        (timedelta(minutes=5), RunOutcome.RAN),  # the grace is inclusive
        (timedelta(minutes=5, seconds=1), RunOutcome.MISSED),
    ],
)
async def test_fire_later_than_the_grace_is_missed(calendar, late, expected):
    at = ny("2025-03-10", "15:45")
    rec = Recorder()
    jobs = runner(calendar, FixedClock(at + late), InMemoryJobLocks(), rec)

    assert await jobs.fire("publish_1dte", at) is expected
    assert len(rec.calls) == (expected is RunOutcome.RAN)


async def test_a_failing_service_is_logged_and_its_run_stays_claimed(calendar, caplog):
    at = ny("2025-03-10", "16:15")
    rec = Recorder()

    async def broken(scheduled_for: datetime) -> None:
        raise RuntimeError("no settlement print")

    services = rec.services() | {"settle_day": broken}
    jobs = JobRunner(
        services=services,
        locks=InMemoryJobLocks(),
        calendar=calendar,
        clock=FixedClock(at),
        owner="a",
    )

    with caplog.at_level(logging.ERROR, logger="bot.scheduling.runner"):
        first = await jobs.fire("settle", at)
    second = await jobs.fire("settle", at)

    assert (first, second) == (RunOutcome.FAILED, RunOutcome.TAKEN)
    assert "settle for 2025-03-10 16:15:00-04:00 failed" in caplog.text


async def test_fire_rejects_unknown_jobs_and_naive_times(calendar):
    jobs = runner(calendar, FixedClock(ny("2025-03-10", "10:00")), InMemoryJobLocks(), Recorder())

    with pytest.raises(KeyError, match="no job named 'nope'"):
        await jobs.fire("nope", ny("2025-03-10", "10:00"))
    with pytest.raises(ValueError, match="timezone-aware"):
        await jobs.fire("publish_0dte", datetime(2025, 3, 10, 10, 0))  # noqa: DTZ001


def test_runner_needs_every_service_of_the_table(calendar):
    services = Recorder().services()
    del services["settle_day"]

    with pytest.raises(ValueError, match=r"missing \['settle_day'\]"):
        JobRunner(
            services=services,
            locks=InMemoryJobLocks(),
            calendar=calendar,
            clock=FixedClock(ny("2025-03-10", "10:00")),
            owner="a",
        )


async def test_two_runners_sharing_one_lock_store_fire_each_time_once(calendar):
    # Two processes on one Redis, both scheduling a whole half day (holiday-adjacent, DST-free).
    start = ny("2025-11-28", "00:00")
    firings = occurrences(JOBS, start, start + timedelta(days=1), calendar)
    locks = InMemoryJobLocks()
    clock = FixedClock(start)
    rec_a, rec_b = Recorder(), Recorder()
    a = runner(calendar, clock, locks, rec_a, owner="a")
    b = runner(calendar, clock, locks, rec_b, owner="b")

    outcomes = []
    for at, name in firings:
        clock.set(at + timedelta(seconds=1))
        outcomes.append(set(await asyncio.gather(a.fire(name, at), b.fire(name, at))))

    assert all(pair == {RunOutcome.RAN, RunOutcome.TAKEN} for pair in outcomes)
    job_service = {spec.name: spec.service for spec in JOBS}
    expected = sorted((job_service[name], at) for at, name in firings)
    assert sorted(rec_a.calls + rec_b.calls) == expected
    assert len(expected) == len(set(expected))


# --- APScheduler ------------------------------------------------------------------------------


def test_build_scheduler_configures_each_job_as_the_table_says(calendar):
    jobs = runner(calendar, FixedClock(ny("2025-03-10", "10:00")), InMemoryJobLocks(), Recorder())

    scheduler = jobs.build_scheduler()

    assert isinstance(scheduler, AsyncIOScheduler)
    built = {job.id: job for job in scheduler.get_jobs()}
    assert list(built) == [spec.name for spec in JOBS]
    for spec in JOBS:
        job = built[spec.name]
        assert (job.coalesce, job.max_instances) == (True, 1)
        assert job.misfire_grace_time == spec.misfire_grace_seconds
        assert str(job.trigger.get_next_fire_time(None, ny("2025-03-10", "00:00")).tzinfo) == (
            "America/New_York"
        )


def hourly_ping(now: datetime, grace: timedelta) -> tuple[JobSpec, ...]:
    # Fires once an hour, 3 minutes before `now`'s minute: its latest time is 3-4 minutes ago
    # and its next is more than 55 minutes away, so nothing fires by itself during the test.
    minute = (now.minute - 3) % 60
    return (
        JobSpec(name="ping", when=Cron(minute=str(minute)), service="ping", misfire_grace=grace),
    )


def watch(scheduler: AsyncIOScheduler) -> list[tuple[int, datetime, object]]:
    seen: list[tuple[int, datetime, object]] = []
    scheduler.add_listener(
        lambda event: seen.append(
            (event.code, event.scheduled_run_time, getattr(event, "retval", None))
        ),
        EVENT_JOB_EXECUTED | EVENT_JOB_MISSED | EVENT_JOB_ERROR,
    )
    return seen


@pytest.mark.parametrize(
    ("grace", "expected"),
    [
        (timedelta(minutes=10), (EVENT_JOB_EXECUTED, RunOutcome.RAN)),  # 3-4 min late: runs
        (timedelta(minutes=1), (EVENT_JOB_MISSED, RunOutcome.MISSED)),  # too late: skipped
    ],
)
async def test_a_paused_backlog_is_coalesced_into_its_latest_time_and_grace_decides(
    calendar, grace, expected
):
    now = WallClock().now()
    table = hourly_ping(now, grace)
    latest = occurrences(table, now - timedelta(hours=2), now, calendar)[-1][0]
    rec = Recorder()
    jobs = runner(calendar, WallClock(), InMemoryJobLocks(), rec, jobs=table)
    scheduler = jobs.build_scheduler()
    seen = watch(scheduler)
    # As if the process had been paused for five hours: six runs of the job are now due.
    scheduler.modify_job("ping", next_run_time=latest - timedelta(hours=5))
    scheduler.start()
    try:
        await until(lambda: seen)
        await asyncio.sleep(0.02)  # room for a second run, were there to be one
    finally:
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)

    code, outcome = expected
    assert seen == [(code, latest, outcome)]
    assert rec.calls == ([("ping", latest)] if outcome is RunOutcome.RAN else [])


async def test_only_the_leader_schedules_and_a_new_leader_never_refires_a_time(calendar):
    now = WallClock().now()
    table = hourly_ping(now, timedelta(minutes=10))
    latest = occurrences(table, now - timedelta(hours=2), now, calendar)[-1][0]
    locks = HandoverLocks()
    rec = Recorder()
    a = runner(calendar, WallClock(), locks, rec, owner="a", jobs=table)
    b = runner(calendar, WallClock(), locks, rec, owner="b", jobs=table)
    schedulers = {"a": a.build_scheduler(), "b": b.build_scheduler()}
    seen = {owner: watch(scheduler) for owner, scheduler in schedulers.items()}
    for scheduler in schedulers.values():
        scheduler.modify_job("ping", next_run_time=latest - timedelta(hours=1))

    task_a = asyncio.create_task(a.run(schedulers["a"]))
    await until(lambda: seen["a"])
    task_b = asyncio.create_task(b.run(schedulers["b"]))
    await asyncio.sleep(0.05)  # ten renewals: b keeps following, its backlog untouched

    assert (a.leading, b.leading) == (True, False)
    assert seen["b"] == []

    task_a.cancel()  # a dies; its lease runs out
    with contextlib.suppress(asyncio.CancelledError):
        await task_a
    locks.leader = None
    await until(lambda: seen["b"])
    task_b.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task_b
    await asyncio.sleep(0)

    assert seen["a"] == [(EVENT_JOB_EXECUTED, latest, RunOutcome.RAN)]
    assert seen["b"] == [(EVENT_JOB_EXECUTED, latest, RunOutcome.TAKEN)]
    assert rec.calls == [("ping", latest)]
    assert not a.leading
    assert not b.leading


async def test_a_leader_that_cannot_reach_the_lock_store_stops_scheduling(calendar, caplog):
    locks = HandoverLocks()
    jobs = runner(calendar, WallClock(), locks, Recorder())
    locks.down = True
    task = asyncio.create_task(jobs.run())
    try:
        await asyncio.sleep(0.02)
        assert not jobs.leading
        locks.down = False
        await until(lambda: jobs.leading)
        locks.down = True
        await until(lambda: not jobs.leading)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await asyncio.sleep(0)

    assert "could not renew the scheduler leadership" in caplog.text
