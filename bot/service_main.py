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
from datetime import date, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from bot.adapters.market_data.cboe_json import CboeDelayedQuotes
from bot.adapters.market_data.common import CBOE_QUOTE_DELAY
from bot.commands import Commands
from bot.delivery import DeliveryWorker, RetryPolicy, run_workers
from bot.frontends.discord.bot import BotDeps, CondorBot, ensure_channel_subscribers
from bot.frontends.discord.members import DmFallback, TrialEndedDm, TrialRoles
from bot.frontends.discord.publisher import DiscordPublisher
from bot.frontends.telegram.app import (
    TelegramDeps,
    Webhook,
    build_application,
    ensure_telegram_channels,
    install_commands,
    remove_from_channels,
    run_telegram,
    webhook_secret,
)
from bot.frontends.telegram.publisher import TelegramApplication, TelegramPublisher
from bot.live import CboePoller
from bot.notify import Notifier, Rendering
from bot.ports import Delivery, Outbox, Publisher, SendResult, Subscriber, SubscriberStatus
from bot.publishers import ConsolePublisher, JsonLinesPublisher
from bot.render.discord_embed import discord_chart, render_message
from bot.render.telegram_html import (
    render_notice_html,
    render_telegram_html,
    telegram_chart,
)
from bot.replay import RecordedDayFeed, replay_day
from bot.scheduling.jobs import publish_times
from bot.scheduling.market_calendar import MarketCalendar
from bot.scheduling.runner import JobRunner
from bot.services import Services, service_table
from bot.settings import MarketDataSettings, MarketDataSource, Settings, quiet_http_logs
from bot.storage.embedded import connect
from bot.storage.kv import RedisKeyValue
from bot.storage.redis_store import (
    RedisDayStore,
    RedisJobLocks,
    RedisLedger,
    RedisOutbox,
    RedisSubscriberStore,
)
from bot.storage.tape import RedisTapeStore
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


def _on_blocked(
    subscribers: RedisSubscriberStore, dm_fallback: DmFallback
) -> Callable[[Delivery, SendResult], Coroutine[Any, Any, None]]:
    async def blocked(delivery: Delivery, result: SendResult) -> None:
        if await dm_fallback(delivery, result):  # Discord DMs closed: channel delivery
            return
        found = await subscribers.get(delivery.platform, delivery.target)
        if found is not None:
            await subscribers.put(replace(found, status=SubscriberStatus.BLOCKED))

    return blocked


def _discord_trial_roles(
    publisher: DiscordPublisher | None, settings: Settings, services: Services, outbox: Outbox
) -> TrialRoles | None:
    """Chain Discord's trial expiry after the others: the DM saying so, and the trial role.

    Returns:
        The trial role, granted by /subscribe (None: Discord is off or has no trial role).
    """
    if publisher is None:
        return None
    roles = (
        None
        if settings.discord.trial_role_id is None
        else TrialRoles(roles=publisher, settings=settings.discord)
    )
    tell = TrialEndedDm(outbox=outbox)
    before = services.on_expired

    async def expired(subscriber: Subscriber) -> None:
        try:
            if before is not None:
                await before(subscriber)
        finally:
            try:
                await tell(subscriber)
            finally:
                if roles is not None:
                    await roles.revoke(subscriber)

    services.on_expired = expired
    return roles


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
    kv: RedisKeyValue,
) -> Callable[[asyncio.Event], Coroutine[Any, Any, None]]:
    """Install the commands, initialise the bot (before any worker sends through it).

    Returns:
        What runs the bot until `stop` (returns at once when Telegram is off).
    """
    if telegram is None or publisher is None:
        return _telegram_off
    subscribers = services.subscribers
    channels = {
        track: channel
        for track in ("0dte", "1dte", "45dte")
        if (channel := settings.telegram.channel_for(track)) is not None
    }
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
            gate_joins=settings.telegram.private_channels,
            kv=kv,
            channels=channels,
        ),
    )
    await ensure_telegram_channels(subscribers, channels)
    if settings.telegram.private_channels and channels:
        bot = telegram.bot
        private = tuple(channels.values())

        previous = services.on_expired  # another front end's, if any: keep it

        async def expired(subscriber: Subscriber) -> None:
            if previous is not None:
                await previous(subscriber)
            await remove_from_channels(bot, private, subscriber)

        services.on_expired = expired

    async def migrated(old: str, new: str) -> None:
        for sub in await subscribers.all():
            if sub.platform == "telegram" and sub.delivery == old:
                await subscribers.put(replace(sub, delivery=new))

    publisher.on_migrated = migrated
    await telegram.initialize()
    webhook = None
    if settings.telegram.webhook_url is not None and settings.telegram.token is not None:
        webhook = Webhook(
            url=settings.telegram.webhook_url,
            port=settings.telegram.webhook_port,
            listen=settings.telegram.webhook_listen,
            secret=webhook_secret(settings.telegram.token.get_secret_value()),
        )
    return lambda stop: run_telegram(telegram, commands, stop, webhook=webhook)


#: The stale-data watchdog's threshold for data that is current when served.
STALE_AFTER = timedelta(minutes=5)


def cboe_quotes(market: MarketDataSettings) -> CboeDelayedQuotes:
    """The delayed-quotes client the `MARKET_DATA__*` settings describe (close it after use)."""
    return CboeDelayedQuotes(
        base_url=market.cboe_url,
        timeout_seconds=market.timeout_seconds,
        retries=market.retries,
        max_age=timedelta(seconds=market.max_age_seconds),
    )


def _live_poller(
    settings: Settings, rules: CondorRules, clock: SystemClock, redis: Redis, notifier: Notifier
) -> CboePoller | None:
    """The Cboe poller when `MARKET_DATA__SOURCE=cboe` (None: the recorded files serve)."""
    market = settings.market_data
    if market.source is not MarketDataSource.CBOE:
        return None
    return CboePoller(
        source=cboe_quotes(market),
        store=RedisTapeStore(redis),
        clock=clock,
        data_dir=settings.data_dir,
        chain_moments=lambda day: publish_times(day, rules),
        max_age=timedelta(seconds=market.max_age_seconds),
        on_problem=notifier.notify_admins,
    )


async def _services(
    settings: Settings,
    rules: CondorRules,
    hedge_rules: HedgeRules,
    clock: SystemClock,
    redis: Redis,
    notifier: Notifier,
    poller: CboePoller | None,
) -> Services:
    """The services over the live poller's feeds (today's tape read back), or the files'."""
    if poller is not None:
        await poller.restore(clock.now().astimezone(NEW_YORK).date())
    return Services(
        notifier=notifier,
        subscribers=notifier.subscribers,
        feed_for=(
            poller.feed_for
            if poller is not None
            else lambda d: RecordedDayFeed.load(d, settings.data_dir, hedge_rules)
        ),
        rules=rules,
        hedge_rules=hedge_rules,
        clock=clock,
        # Delayed quotes are always CBOE_QUOTE_DELAY old: stale means older than that.
        stale_after=STALE_AFTER + (CBOE_QUOTE_DELAY if poller is not None else timedelta(0)),
        days=RedisDayStore(redis),
    )


async def _poll(
    poller: CboePoller | None, leading: Callable[[], bool], stop: asyncio.Event
) -> None:
    # The live poller until `stop`, polling while this process leads the scheduler (the jobs
    # that read the tape run there).
    if poller is None:
        return
    poller.leading = leading
    try:
        await poller.run(stop)
    finally:
        await poller.source.aclose()


async def run_service(
    settings: Settings, rules: CondorRules, ready: asyncio.Event | None = None
) -> None:
    """Run until SIGTERM/SIGINT: scheduler, services, ledger, outbox and delivery workers."""
    quiet_http_logs()
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
                "discord": Rendering(event=render_message, chart=discord_chart),
                "telegram": Rendering(
                    event=render_telegram_html, notice=render_notice_html, chart=telegram_chart
                ),
            },
        )
        poller = _live_poller(settings, rules, clock, redis, notifier)
        services = await _services(settings, rules, hedge_rules, clock, redis, notifier, poller)

        run_telegram_until = await _start_telegram(
            telegram, telegram_publisher, settings, services, outbox, RedisKeyValue(redis)
        )

        dm_fallback = DmFallback(subscribers=subscribers, outbox=outbox, settings=settings.discord)
        trial_roles = _discord_trial_roles(discord_publisher, settings, services, outbox)

        blocked = _on_blocked(subscribers, dm_fallback)

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
            group.create_task(_poll(poller, lambda: runner.leading, stop), name="market-data")
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
                    trial_roles=trial_roles,
                    skip=services.skip,
                    replay=_replayer(settings, services),
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
