"""End to end through the real PTB Application polling the fake Bot API server."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import datetime, timedelta

import pytest

from bot.frontends.telegram.app import (
    TelegramDeps,
    build_application,
    install_commands,
    run_telegram,
)
from bot.ports import NoticeLevel, SubscriberStatus
from core.calendar import NEW_YORK
from tests.fakes import FixedClock, InMemoryOutbox, InMemorySubscriberStore
from tests.frontends.telegram.conftest import TOKEN

ADMIN = 900
NOW = datetime(2023, 3, 22, 9, 0, tzinfo=NEW_YORK)


@pytest.fixture
async def running(server):
    clock = FixedClock(NOW)
    store = InMemorySubscriberStore()
    deps = TelegramDeps(
        subscribers=store,
        clock=clock,
        admin_user_ids=frozenset({ADMIN}),
        trial_days=14,
        outbox=InMemoryOutbox(clock),
    )
    app = build_application(TOKEN, base_url=server.base_url)
    commands = install_commands(app, deps)
    stop = asyncio.Event()
    task = asyncio.create_task(run_telegram(app, commands, stop, poll_timeout_s=1))
    yield server, store, clock
    stop.set()
    await asyncio.wait_for(task, 10)


async def ask(server, user: int, text: str) -> str:
    before = len(server.to(user))
    server.user_sends(user, text)
    sent = await server.wait_sent(before + 1, chat_id=user)
    return str(sent[-1].text)


async def test_commands_are_published_with_descriptions(running):
    server, _, _ = running
    server.user_sends(1, "/help")
    await server.wait_sent(1, chat_id=1)
    names = [c["command"] for c in server.commands]
    assert {"start", "help", "today", "trial", "stop", "settings", "whatif"} <= set(names)
    assert all(c["description"] for c in server.commands)


async def test_start_begins_a_trial_once(running):
    server, store, _clock = running
    assert "14-day trial" in await ask(server, 1, "/start")
    me = await store.get("telegram", "1")
    assert me.status is SubscriberStatus.TRIAL
    assert me.trial_end == NOW + timedelta(days=14)
    assert "already subscribed" in await ask(server, 1, "/start")
    assert "14 days left" in await ask(server, 1, "/trial")


async def test_stop_unsubscribes_and_start_after_expiry_gives_no_new_trial(running):
    server, store, clock = running
    await ask(server, 2, "/start")
    assert "Unsubscribed" in await ask(server, 2, "/stop")
    assert (await store.get("telegram", "2")).status is SubscriberStatus.UNSUBSCRIBED
    clock.advance(days=15)
    assert "already been used" in await ask(server, 2, "/start")
    assert "ended" in await ask(server, 2, "/trial")


async def test_help_and_today_without_cards(running):
    server, _, _ = running
    assert "/whatif" in await ask(server, 3, "/help")
    assert "No 0dte card yet" in await ask(server, 3, "/today")
    assert "Tracks:" in await ask(server, 3, "/today nonsense<>")
    assert "Usage" in await ask(server, 3, "/whatif abc")


async def test_admin_health_refused_for_non_admin_and_answered_for_admin(running):
    server, _, _ = running
    assert "for the bot's admins" in await ask(server, 4, "/health")
    assert "alive at" in await ask(server, ADMIN, "/health")
    assert "subscribers" in await ask(server, ADMIN, "/subscribers")
    assert "/health" in await ask(server, ADMIN, "/help")


async def test_settings_button_switches_hedge_alerts_to_silent(running):
    server, store, _ = running
    await ask(server, 5, "/start")
    await ask(server, 5, "/settings")
    markup = server.to(5)[-1].reply_markup
    data = [b["callback_data"] for row in markup["inline_keyboard"] for b in row]
    assert "lv:hedge" in data
    assert all(len(d.encode()) <= 64 for d in data)
    server.user_presses(5, "lv:hedge")
    for _ in range(100):
        if server.edits:
            break
        await asyncio.sleep(0.02)
    assert (await store.get("telegram", "5")).levels["hedge"] is NoticeLevel.SILENT
    assert "Hedge alerts: silent" in str(server.edits[-1].reply_markup)


async def test_random_commands_raise_no_unhandled_error(running, caplog):
    server, _, _ = running
    rng = random.Random(6)  # noqa: S311 - test inputs, not secrets
    names = ["start", "help", "today", "status", "settings", "whatif", "trial", "stop",
             "health", "subscribers", "broadcast", "nope"]  # fmt: skip
    junk = ["", "0dte", "45DTE", "<b>", "&", "4,000", "-1", "1e9", "nan", "🦅", "x" * 300]
    for i in range(200):
        args = " ".join(rng.choice(junk) for _ in range(rng.randint(0, 3)))
        server.user_sends(100 + i % 7, f"/{rng.choice(names)} {args}".strip())
    await server.wait_pending_updates_consumed()
    await asyncio.sleep(0.5)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not [r for r in server.rejected if r[1] == 400]


async def test_token_never_in_logs(running, caplog):
    caplog.set_level(logging.DEBUG)
    server, _, _ = running
    await ask(server, 7, "/start")
    await ask(server, 7, "/health")
    secret = TOKEN.split(":", 1)[1]
    assert all(secret not in r.getMessage() for r in caplog.records)
