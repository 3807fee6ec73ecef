"""`condorbot run`: the production process, composed from settings.

One process, one event loop, an `asyncio.TaskGroup` over the scheduler (leader-elected through
Redis) and one delivery worker per publisher. Telegram and Discord join the group in their own
issues. SIGTERM or SIGINT stops it cleanly, with a notice to the admins.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
from dataclasses import replace
from datetime import datetime

from bot.delivery import DeliveryWorker, RetryPolicy, run_workers
from bot.notify import Notifier
from bot.ports import Delivery, Publisher, SendResult, SubscriberStatus
from bot.publishers import ConsolePublisher, JsonLinesPublisher
from bot.replay import RecordedDayFeed
from bot.scheduling.market_calendar import MarketCalendar
from bot.scheduling.runner import JobRunner
from bot.services import Services, service_table
from bot.settings import MarketDataSource, Settings, quiet_http_logs
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

logger = logging.getLogger(__name__)


class SystemClock:
    """The wall clock, in New York time."""

    def now(self) -> datetime:
        """Return the current aware time."""
        return datetime.now(NEW_YORK)


class ServiceConfigError(ValueError):
    """A setting the service cannot run with, named."""


def _publishers(settings: Settings, clock: SystemClock) -> list[Publisher]:
    publishers: list[Publisher] = []
    if settings.delivery.console:
        publishers.append(ConsolePublisher(stream=sys.stdout))
    if settings.delivery.jsonl_path is not None:
        publishers.append(JsonLinesPublisher(path=settings.delivery.jsonl_path, clock=clock))
    if not publishers:
        raise ServiceConfigError(
            "DELIVERY__CONSOLE is false and DELIVERY__JSONL_PATH is unset: no channel to deliver to"
        )
    return publishers


async def run_service(
    settings: Settings, rules: CondorRules, ready: asyncio.Event | None = None
) -> None:
    """Run until SIGTERM/SIGINT: scheduler, services, ledger, outbox and delivery workers."""
    quiet_http_logs()
    if settings.market_data.source is not MarketDataSource.RECORDED:
        raise ServiceConfigError(
            f"MARKET_DATA__SOURCE={settings.market_data.source}: the live intraday feed for the "
            "hedge engine is not built yet; use 'recorded'"
        )
    clock = SystemClock()
    publishers = _publishers(settings, clock)
    url = settings.redis_url.get_secret_value() if settings.redis_url else None
    owner = settings.worker_name or f"{socket.gethostname()}:{os.getpid()}"
    hedge_rules = HedgeRules()
    async with connect(url, settings.state_dir) as redis:
        subscribers = RedisSubscriberStore(redis)
        outbox = RedisOutbox(redis, clock=clock)
        notifier = Notifier(
            subscribers=subscribers,
            ledger=RedisLedger(redis),
            outbox=outbox,
            clock=clock,
            platforms=tuple(p.platform for p in publishers),
        )
        services = Services(
            notifier=notifier,
            subscribers=subscribers,
            feed_for=lambda d: RecordedDayFeed.load(d, settings.data_dir, hedge_rules),
            rules=rules,
            hedge_rules=hedge_rules,
            clock=clock,
            days=RedisDayStore(redis),
        )

        async def blocked(delivery: Delivery, result: SendResult) -> None:
            found = await subscribers.get(delivery.platform, delivery.target)
            if found is not None:
                await subscribers.put(replace(found, status=SubscriberStatus.BLOCKED))

        async def dead(delivery: Delivery, error: str) -> None:
            if not delivery.event_id.startswith("dead-"):  # never loop on the admin's own notice
                await notifier.notify_admins(
                    f"dead-{delivery.key}", f"gave up delivering {delivery.key}: {error}"
                )

        policy = RetryPolicy(
            max_attempts=settings.delivery.max_retries + 1,
            base_delay_s=settings.delivery.backoff_seconds,
            max_delay_s=settings.delivery.backoff_max_seconds,
        )
        workers = [
            DeliveryWorker(
                outbox=outbox,
                publisher=publisher,
                clock=clock,
                policy=policy,
                on_blocked=blocked,
                on_dead_letter=dead,
            )
            for publisher in publishers
        ]
        runner = JobRunner(
            services=service_table(services),
            locks=RedisJobLocks(redis),
            calendar=MarketCalendar(),
            clock=clock,
            owner=owner,
            leader_ttl_seconds=settings.scheduler.leader_ttl_seconds,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        started = clock.now()
        await notifier.notify_admins(
            f"start-{owner}-{started:%Y%m%dT%H%M%S}", f"condorbot started as {owner}"
        )
        logger.info("condorbot running as %s; %s", owner, settings.summary())
        if ready is not None:
            ready.set()
        async with asyncio.TaskGroup() as group:
            scheduling = group.create_task(runner.run(), name="scheduler")
            group.create_task(run_workers(workers, stop), name="delivery")
            await stop.wait()
            scheduling.cancel()
        stopped = clock.now()
        await notifier.notify_admins(
            f"stop-{owner}-{stopped:%Y%m%dT%H%M%S}", f"condorbot stopped ({owner})"
        )
        for worker in workers:
            await worker.drain()
