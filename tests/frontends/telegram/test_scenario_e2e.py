"""The whole Telegram product end to end: real PTB Application, services, outbox, fake Bot API.

A user sends /start, gets the trial, receives the scheduled card with its payoff chart in the
track channel and by DM, switches hedge alerts to silent and gets them silently, reaches trial
expiry and is removed from the private channel. Plus the admin commands that publish or read
(/skip, /performance, /replay) and the join-request gate.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta

import pytest

from bot.delivery import DeliveryWorker
from bot.frontends.telegram.app import (
    TelegramDeps,
    build_application,
    ensure_telegram_channels,
    install_commands,
    remove_from_channels,
    run_telegram,
)
from bot.frontends.telegram.publisher import TelegramPublisher
from bot.notify import Notifier, Rendering
from bot.ports import NoticeLevel, Subscriber, SubscriberStatus
from bot.render.telegram_html import render_notice_html, render_telegram_html, telegram_chart
from bot.replay import RecordedDayFeed, replay_day
from bot.services import Services
from core.calendar import NEW_YORK
from core.rules import CondorRules, HedgeRules
from core.types import Event, Risk, Track
from tests.conftest import ROOT
from tests.fakes import FixedClock, InMemoryLedger, InMemoryOutbox, InMemorySubscriberStore
from tests.frontends.telegram.conftest import TOKEN

ADMIN = 900
CHANNEL = "-100500"
NOW = datetime(2023, 3, 22, 9, 0, tzinfo=NEW_YORK)
ENTRY = datetime(2023, 3, 22, 10, 0, tzinfo=NEW_YORK)


class World:
    def __init__(self, server) -> None:
        self.server = server
        self.clock = FixedClock(NOW)
        self.store = InMemorySubscriberStore()
        self.ledger = InMemoryLedger()
        self.outbox = InMemoryOutbox(self.clock)
        notifier = Notifier(
            subscribers=self.store,
            ledger=self.ledger,
            outbox=self.outbox,
            clock=self.clock,
            platforms=("telegram",),
            renderings={
                "telegram": Rendering(
                    event=render_telegram_html, notice=render_notice_html, chart=telegram_chart
                )
            },
        )
        hedge_rules = HedgeRules()
        self.services = Services(
            notifier=notifier,
            subscribers=self.store,
            feed_for=lambda d: RecordedDayFeed.load(d, ROOT / "data", hedge_rules),
            rules=CondorRules(),
            hedge_rules=hedge_rules,
            clock=self.clock,
        )

        async def replay(day: date) -> Sequence[Event]:
            run = await asyncio.to_thread(
                replay_day,
                day,
                Track.ZERO_DTE,
                Risk.BALANCED,
                data_dir=ROOT / "data",
                rules=CondorRules(),
                hedge_rules=hedge_rules,
            )
            return run.events

        self.app = build_application(TOKEN, base_url=server.base_url)
        self.commands = install_commands(
            self.app,
            TelegramDeps(
                subscribers=self.store,
                clock=self.clock,
                admin_user_ids=frozenset({ADMIN}),
                services=self.services,
                outbox=self.outbox,
                replay=replay,
                gate_joins=True,
            ),
        )

        async def expired(subscriber: Subscriber) -> None:
            await remove_from_channels(self.app.bot, (CHANNEL,), subscriber)

        self.services.on_expired = expired
        self.worker = DeliveryWorker(
            outbox=self.outbox,
            publisher=TelegramPublisher(self.app.bot, chat_interval_s=0),
            clock=self.clock,
            consumer="test",
        )

    async def ask(self, user: int, text: str) -> str:
        before = len(self.server.to(user))
        self.server.user_sends(user, text)
        sent = await self.server.wait_sent(before + 1, chat_id=user, within_s=60)
        return str(sent[-1].text)


@pytest.fixture
async def world(server):
    world = World(server)
    await ensure_telegram_channels(world.store, {"0dte": CHANNEL})
    stop = asyncio.Event()
    task = asyncio.create_task(run_telegram(world.app, world.commands, stop, poll_timeout_s=1))
    yield world
    stop.set()
    await asyncio.wait_for(task, 10)


async def _settle(world: World) -> None:
    for _ in range(500):
        if world.server.edits:
            return
        await asyncio.sleep(0.02)


async def test_trial_card_chart_silent_hedges_expiry_and_removal(world):
    server = world.server
    assert "14-day trial" in await world.ask(11, "/start")

    # The scheduled card: chart then card, in the channel and by DM.
    await world.services.publish_signals(Track.ZERO_DTE, ENTRY)
    await world.worker.drain()
    for chat in (CHANNEL, "11"):
        sent = server.to(chat)
        methods = [s.method for s in sent]
        assert "sendPhoto" in methods, chat
        photo = sent[methods.index("sendPhoto")]
        assert photo.photo_bytes > 10_000
        assert "Credit" in photo.text
        assert photo.disable_notification is False
        card = sent[methods.index("sendPhoto") + 1]
        assert card.method == "sendMessage"
        assert "IRON CONDOR" in card.text.upper()
    assert len([s for s in server.to(CHANNEL) if s.method == "sendPhoto"]) == 1  # balanced only

    # Hedge alerts to silent through the settings keyboard.
    await world.ask(11, "/settings")
    server.user_presses(11, server.buttons(11)["Hedge alerts: on"])
    await _settle(world)
    assert (await world.store.get("telegram", "11")).levels["hedge"] is NoticeLevel.SILENT
    before = len(server.to(11))
    at = ENTRY
    while at.hour < 16:
        at += timedelta(minutes=5)
        await world.services.check_hedges(at)
    await world.worker.drain()
    later = server.to(11)[before:]
    hedges = [s for s in later if s.text.upper().startswith("HEDGE")]
    assert hedges, [s.text[:40] for s in later]
    assert all(s.disable_notification for s in hedges)
    assert any(not s.disable_notification for s in later)  # exits stay loud

    # Trial expiry: expired, removed from the private channel (ban then unban), join declined.
    await world.services.trial_sweep(NOW + timedelta(days=15))
    assert (await world.store.get("telegram", "11")).status is SubscriberStatus.EXPIRED
    assert (CHANNEL, "11") in server.banned
    assert (CHANNEL, "11") in server.unbanned
    assert not server.rejected


async def test_join_requests_only_for_running_trials_and_subscriptions(world):
    server = world.server
    await world.ask(21, "/start")
    await world.store.put(
        Subscriber(platform="telegram", user_id="22", status=SubscriberStatus.EXPIRED)
    )
    server.user_asks_to_join(21, int(CHANNEL))
    server.user_asks_to_join(22, int(CHANNEL))
    server.user_asks_to_join(23, int(CHANNEL))  # never subscribed
    for _ in range(300):
        if len(server.approved) + len(server.declined) >= 3:
            break
        await asyncio.sleep(0.02)
    assert server.approved == [(CHANNEL, "21")]
    assert sorted(server.declined) == [(CHANNEL, "22"), (CHANNEL, "23")]


async def test_skip_publishes_a_manual_no_trade_card_for_admins_only(world):
    server = world.server
    assert "for the bot's admins" in await world.ask(31, "/skip 0dte FOMC")
    assert "Usage" in await world.ask(ADMIN, "/skip 7dte FOMC")
    assert "Usage" in await world.ask(ADMIN, "/skip 0dte")
    assert "3 no-trade cards" in await world.ask(ADMIN, "/skip 0dte FOMC at 2pm <careful>")
    records = await world.ledger.records()
    assert [r.kind for r in records] == ["no_trade"] * 3
    assert all('"manual"' in r.payload for r in records)
    await world.worker.drain()
    (card,) = server.to(CHANNEL)
    assert "NO TRADE" in card.text.upper()
    assert "FOMC at 2pm <careful>" in card.text  # escaped on the way, shown as typed
    # The same skip again publishes nothing new.
    await world.ask(ADMIN, "/skip 0dte FOMC at 2pm <careful>")
    assert len(await world.ledger.records()) == 3


async def test_performance_reads_the_settled_results_from_the_ledger(world):
    assert "No settled trades" in await world.ask(41, "/performance")
    assert "Usage" in await world.ask(41, "/performance 7dte")
    await world.services.publish_signals(Track.ZERO_DTE, ENTRY)
    at = ENTRY
    while at.hour < 16:
        at += timedelta(minutes=5)
        await world.services.check_hedges(at)
    await world.services.settle_day(datetime(2023, 3, 22, 16, 15, tzinfo=NEW_YORK))
    world.clock.advance(days=1)
    answer = await world.ask(41, "/performance 0dte 30")
    # One line per risk level, each a subscriber's own record.
    lines = [line for line in answer.splitlines() if line.startswith("0DTE ")]
    assert [line.split(":")[0] for line in lines] == [
        "0DTE conservative",
        "0DTE balanced",
        "0DTE aggressive",
    ]
    assert all(": 1 trade, " in line for line in lines)
    for word in (
        "win rate",
        "avg credit",
        "expectancy",
        "95% CI",
        "profit factor",
        "max drawdown",
        "worst day",
        "CVaR 5%",
        "Sharpe",
        "Sortino",
        "hedge cost",
    ):
        assert word in answer
    # Each record was entered on one day: that day is the whole record.
    for line in lines:
        total = re.search(r"total (-?\$[\d,.]+)", line)
        worst = re.search(r"worst day (-?\$[\d,.]+)", line)
        assert total is not None
        assert worst is not None
        assert worst.group(1) == total.group(1)
    world.clock.advance(days=60)
    assert "No settled trades" in await world.ask(41, "/performance 30")


async def test_replay_answers_with_a_timeline(world):
    assert "for the bot's admins" in await world.ask(51, "/replay 2023-03-22")
    assert "Usage" in await world.ask(ADMIN, "/replay yesterday")
    answer = await world.ask(ADMIN, "/replay 2023-03-22")
    assert answer.startswith("replay 2023-03-22")
    assert "10:" in answer or "09:" in answer
    assert "No replay for 1999-01-04" in await world.ask(ADMIN, "/replay 1999-01-04")
