"""End to end through the real PTB Application polling the fake Bot API server."""

from __future__ import annotations

import asyncio
import logging
import random
import re
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
from tests.fakes import FixedClock, InMemoryKeyValue, InMemoryOutbox, InMemorySubscriberStore
from tests.frontends.telegram.conftest import TOKEN

ADMIN = 900
CHANNEL = "-100777"
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
        kv=InMemoryKeyValue(),
        channels={"0dte": CHANNEL},
    )
    app = build_application(TOKEN, base_url=server.base_url)
    commands = install_commands(app, deps)
    stop = asyncio.Event()
    task = asyncio.create_task(run_telegram(app, commands, stop, poll_timeout_s=1))
    yield server, store, clock, deps.kv
    stop.set()
    await asyncio.wait_for(task, 10)


async def ask(server, user: int, text: str) -> str:
    before = len(server.to(user))
    server.user_sends(user, text)
    sent = await server.wait_sent(before + 1, chat_id=user)
    return str(sent[-1].text)


async def test_commands_are_published_with_descriptions(running):
    server = running[0]
    server.user_sends(1, "/help")
    await server.wait_sent(1, chat_id=1)
    names = [c["command"] for c in server.commands]
    assert {"start", "help", "today", "trial", "stop", "settings", "whatif"} <= set(names)
    assert all(c["description"] for c in server.commands)


async def test_start_begins_a_trial_once(running):
    server, store, _clock = running[:3]
    assert "14-day trial" in await ask(server, 1, "/start")
    me = await store.get("telegram", "1")
    assert me.status is SubscriberStatus.TRIAL
    assert me.trial_end == NOW + timedelta(days=14)
    assert "already subscribed" in await ask(server, 1, "/start")
    assert "14 days left" in await ask(server, 1, "/trial")


async def test_stop_unsubscribes_and_start_after_expiry_gives_no_new_trial(running):
    server, store, clock = running[:3]
    await ask(server, 2, "/start")
    assert "Unsubscribed" in await ask(server, 2, "/stop")
    assert (await store.get("telegram", "2")).status is SubscriberStatus.UNSUBSCRIBED
    clock.advance(days=15)
    assert "already been used" in await ask(server, 2, "/start")
    assert "ended" in await ask(server, 2, "/trial")


async def test_help_and_today_without_cards(running):
    server = running[0]
    assert "/whatif" in await ask(server, 3, "/help")
    assert "No 0dte card yet" in await ask(server, 3, "/today")
    assert "Tracks:" in await ask(server, 3, "/today nonsense<>")
    assert "Usage" in await ask(server, 3, "/whatif abc")


async def test_admin_health_refused_for_non_admin_and_answered_for_admin(running):
    server = running[0]
    assert "for the bot's admins" in await ask(server, 4, "/health")
    assert "alive at" in await ask(server, ADMIN, "/health")
    assert "subscribers" in await ask(server, ADMIN, "/subscribers")
    assert "/health" in await ask(server, ADMIN, "/help")


async def press(server, user: int, label: str) -> str:
    """Press the button labelled `label` (or starting with it); return the answer's text.

    The bot answers a press before it redraws the keyboard, so after "Saved." this also waits
    for the redraw: the next look at the buttons must see the new keyboard.
    """
    buttons = server.buttons(user)
    data = buttons.get(label) or next(d for t, d in buttons.items() if t.startswith(label))
    answers, edits = len(server.callback_answers), len(server.edits_to(user))
    server.user_presses(user, data)
    for _ in range(250):
        if len(server.callback_answers) > answers:
            text = str(server.callback_answers[-1].get("text", ""))
            if text != "Saved." or len(server.edits_to(user)) > edits:
                return text
        await asyncio.sleep(0.02)
    raise AssertionError(f"no answer to {label!r}, or no redrawn keyboard after it")


async def test_settings_keys_are_short_and_kept_in_the_store(running):
    server = running[0]
    await ask(server, 5, "/start")
    await ask(server, 5, "/settings")
    buttons = server.buttons(5)
    assert {"✅ 0DTE", "✅ balanced", "✅ By DM", "In the channel", "✅ No quiet hours"} <= set(
        buttons
    )
    assert "Hedge alerts: on" in buttons
    for data in buttons.values():
        assert re.fullmatch(r"s:[0-9a-f]{8}", data), data
        assert len(data.encode()) <= 64
    kv = running[3]
    for data in buttons.values():
        assert await kv.get("tgcb:" + data[2:])


async def test_settings_button_switches_hedge_alerts_to_silent(running):
    server, store, _ = running[:3]
    await ask(server, 5, "/start")
    await ask(server, 5, "/settings")
    assert await press(server, 5, "Hedge alerts") == "Saved."
    assert (await store.get("telegram", "5")).levels["hedge"] is NoticeLevel.SILENT
    assert "Hedge alerts: silent" in server.buttons(5)


async def test_settings_change_tracks_risk_delivery_and_quiet_hours(running):
    server, store, _ = running[:3]
    await ask(server, 6, "/start")
    await ask(server, 6, "/settings")
    await press(server, 6, "✅ 45DTE")  # off
    await press(server, 6, "aggressive")  # on
    await press(server, 6, "In the channel")
    await press(server, 6, "22-07")
    me = await store.get("telegram", "6")
    assert me.tracks == ("0dte", "1dte")
    assert me.risks == ("balanced", "aggressive")
    assert me.delivery == CHANNEL
    assert (me.quiet_start, me.quiet_end) == ("22:00", "07:00")
    text = server.edits_to(6)[-1].text
    assert "Quiet hours (silent): 22:00-07:00" in text
    assert f"in the channel {CHANNEL}" in text
    await press(server, 6, "By DM")
    await press(server, 6, "✅ 22-07")  # pressing the chosen preset again keeps it
    await press(server, 6, "No quiet hours")
    me = await store.get("telegram", "6")
    assert me.delivery == "dm"
    assert me.quiet_start is None


async def test_settings_refuse_empty_choices_foreign_and_unknown_keys(running):
    server, store, _ = running[:3]
    await ask(server, 8, "/start")
    await ask(server, 8, "/settings")
    assert await press(server, 8, "✅ balanced") == "Keep at least one risk level."
    await press(server, 8, "✅ 0DTE")
    await press(server, 8, "✅ 1DTE")
    assert await press(server, 8, "✅ 45DTE") == "Keep at least one track."
    mine = server.buttons(8)["✅ 45DTE"]
    answers = len(server.callback_answers)
    server.user_presses(9, mine)  # another user pressing 8's button
    server.user_presses(8, "s:00000000")  # a key that was never issued
    for _ in range(250):
        if len(server.callback_answers) >= answers + 2:
            break
        await asyncio.sleep(0.02)
    assert all("expired" in a["text"] for a in server.callback_answers[answers:])
    assert (await store.get("telegram", "8")).tracks == ("45dte",)


async def test_random_commands_raise_no_unhandled_error(running, caplog):
    server = running[0]
    rng = random.Random(6)  # noqa: S311 - test inputs, not secrets
    names = ["start", "help", "today", "status", "settings", "whatif", "trial", "stop",
             "health", "subscribers", "broadcast", "performance", "skip", "replay",
             "nope"]  # fmt: skip
    junk = ["", "0dte", "45DTE", "<b>", "&", "4,000", "-1", "1e9", "nan", "🦅", "x" * 300]
    for i in range(1000):  # the 1,000 random commands and arguments
        args = " ".join(rng.choice(junk) for _ in range(rng.randint(0, 3)))
        server.user_sends(100 + i % 7, f"/{rng.choice(names)} {args}".strip())
    await server.wait_pending_updates_consumed(within_s=120)
    # Then wait until the replies stop coming (the rate limiter paces them), so every handler
    # has run before the Application shuts down.
    settled = -1
    for _ in range(240):
        if len(server.sent) == settled:
            break
        settled = len(server.sent)
        await asyncio.sleep(1.0)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not [r for r in server.rejected if r[1] == 400]


async def test_token_never_in_logs(running, caplog):
    caplog.set_level(logging.DEBUG)
    server = running[0]
    await ask(server, 7, "/start")
    await ask(server, 7, "/health")
    secret = TOKEN.split(":", 1)[1]
    assert all(secret not in r.getMessage() for r in caplog.records)


async def test_whatif_with_a_junk_track_gets_the_usage_not_a_rejected_reply(running, caplog):
    # Found by a 1,000-command run: "/whatif 4000 &" echoed the "&" into HTML.
    server = running[0]
    reply = await ask(server, 105, "/whatif 4000 &")
    assert "Tracks:" in reply
    assert not [r for r in server.rejected if r[1] == 400]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
