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
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from bot.commands import Commands
from bot.delivery import DeliveryWorker, RetryPolicy, run_workers
from bot.frontends.discord.bot import BotDeps, CondorBot, ensure_channel_subscribers
from bot.frontends.discord.publisher import DiscordPublisher
from bot.frontends.telegram.app import (
    TelegramDeps,
    build_application,
    install_commands,
    run_telegram,
)
from bot.frontends.telegram.publisher import TelegramApplication, TelegramPublisher
from bot.notify import Notifier, Rendering
from bot.ports import Delivery, Publisher, SendResult, SubscriberStatus
from bot.publishers import ConsolePublisher, JsonLinesPublisher
from bot.render.discord_embed import render_message
from bot.render.telegram_html import render_notice_html, render_telegram_html
from bot.replay import RecordedDayFeed, replay_day
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
from core.types import Event, Risk, Track

logger = logging.getLogger(__name__)


class SystemClock:
    """The wall clock, in New York time."""

    def now(self) -> datetime:
        """Return the current aware time."""
        return datetime.now(NEW_YORK)


class ServiceConfigError(ValueError):
    """A setting the service cannot run with, named."""


def _publishers(
    settings: Settings, clock: SystemClock, extra: list[Publisher] | None = None
) -> list[Publisher]:
    publishers: list[Publisher] = list(extra or [])
    if settings.delivery.console:
        publishers.append(ConsolePublisher(stream=sys.stdout))
    if settings.delivery.jsonl_path is not None:
        publishers.append(JsonLinesPublisher(path=settings.delivery.jsonl_path, clock=clock))
    if not publishers:
        raise ServiceConfigError(
            "DELIVERY__CONSOLE is false, DELIVERY__JSONL_PATH and TELEGRAM__TOKEN are unset: "
            "no channel to deliver to"
        )
    return publishers


def _discord_publisher(settings: Settings) -> DiscordPublisher | None:
    if settings.discord.token is None:
        return None
    channels = [*settings.discord.track_channels.values()]
    if settings.discord.admin_channel_id is not None:
        channels.append(settings.discord.admin_channel_id)
    return DiscordPublisher(settings.discord.token.get_secret_value(), channel_ids=channels)


async def _run_discord(bot: CondorBot, token: str, stop: asyncio.Event) -> None:
    async with bot, asyncio.TaskGroup() as group:
        group.create_task(bot.start(token), name="discord:gateway")
        await stop.wait()
        await bot.close()


def _telegram_application(settings: Settings) -> TelegramApplication | None:
    token = settings.telegram.token
    if token is None:
        return None
    # Opt in to PTB 22's timedelta durations: the int form warns on every 429.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    base_url = f"{settings.telegram.api_url.rstrip('/')}/bot"
    return build_application(token.get_secret_value(), base_url=base_url)


async def _telegram_off(stop: asyncio.Event) -> None:
    return None


def _replayer(
    settings: Settings, services: Services
) -> Callable[[date], Coroutine[Any, Any, Sequence[Event]]]:
    """`/replay DATE`: the 0dte balanced condor of a recorded day, replayed off the loop."""

    async def replay(day: date) -> Sequence[Event]:
        run = await asyncio.to_thread(
            replay_day,
            day,
            Track.ZERO_DTE,
            Risk.BALANCED,
            data_dir=settings.data_dir,
            rules=services.rules,
            hedge_rules=services.hedge_rules,
        )
        return run.events

    return replay


async def _start_telegram(
    telegram: TelegramApplication | None,
    publisher: TelegramPublisher | None,
    settings: Settings,
    services: Services,
    outbox: RedisOutbox,
) -> Callable[[asyncio.Event], Coroutine[Any, Any, None]]:
    """Install the commands, initialise the bot (before any worker sends through it).

    Returns:
        What runs the bot until `stop` (returns at once when Telegram is off).
    """
    if telegram is None or publisher is None:
        return _telegram_off
    subscribers = services.subscribers
    commands = install_commands(
        telegram,
        TelegramDeps(
            subscribers=subscribers,
            clock=services.clock,
            admin_user_ids=frozenset(settings.telegram.admin_user_ids),
            trial_days=settings.telegram.trial_days,
            services=services,
            outbox=outbox,
            replay=_replayer(settings, services),
        ),
    )

    async def migrated(old: str, new: str) -> None:
        for sub in await subscribers.all():
            if sub.platform == "telegram" and sub.delivery == old:
                await subscribers.put(replace(sub, delivery=new))

    publisher.on_migrated = migrated
    await telegram.initialize()
    return lambda stop: run_telegram(telegram, commands, stop)


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
    telegram = _telegram_application(settings)
    telegram_publisher = None if telegram is None else TelegramPublisher(telegram.bot)
    publishers = _publishers(settings, clock, [telegram_publisher] if telegram_publisher else [])
    discord_publisher = _discord_publisher(settings)
    if discord_publisher is not None:
        await discord_publisher.start()  # fail fast on a wrong token
        publishers.append(discord_publisher)
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
            renderings={
                "discord": Rendering(event=render_message),
                "telegram": Rendering(event=render_telegram_html, notice=render_notice_html),
            },
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

        run_telegram_until = await _start_telegram(
            telegram, telegram_publisher, settings, services, outbox
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
            group.create_task(run_telegram_until(stop), name="telegram")
            if discord_publisher is not None and settings.discord.token is not None:
                await ensure_channel_subscribers(subscribers, settings.discord)
                deps = BotDeps(
                    commands=Commands(
                        subscribers=subscribers,
                        ledger=notifier.ledger,
                        outbox=outbox,
                        trial_days=settings.trial_days,
                    ),
                    clock=clock,
                    settings=settings.discord,
                    platforms=notifier.platforms,
                )
                token = settings.discord.token.get_secret_value()
                group.create_task(_run_discord(CondorBot(deps), token, stop), name="discord")
            await stop.wait()
            scheduling.cancel()
        stopped = clock.now()
        await notifier.notify_admins(
            f"stop-{owner}-{stopped:%Y%m%dT%H%M%S}", f"condorbot stopped ({owner})"
        )
        for worker in workers:
            await worker.drain()
        if discord_publisher is not None:
            await discord_publisher.close()
