"""Webhook mode: PTB's webhook server on 127.0.0.1 receives an update and the bot answers it."""

from __future__ import annotations

import asyncio
import json
import socket

import aiohttp

from bot.frontends.telegram.app import (
    TelegramDeps,
    Webhook,
    build_application,
    install_commands,
    run_telegram,
    webhook_secret,
)
from bot.ports import SubscriberStatus
from tests.fakes import FixedClock, InMemoryKeyValue, InMemorySubscriberStore
from tests.frontends.telegram.conftest import TOKEN
from tests.frontends.telegram.test_app_e2e import NOW


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_update(update_id: int, user: int) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1679490000,
            "chat": {"id": user, "type": "private", "first_name": "U"},
            "from": {"id": user, "is_bot": False, "first_name": "U"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def test_webhook_receives_an_update_and_refuses_a_wrong_secret(server):
    store = InMemorySubscriberStore()
    deps = TelegramDeps(subscribers=store, clock=FixedClock(NOW), kv=InMemoryKeyValue())
    app = build_application(TOKEN, base_url=server.base_url)
    commands = install_commands(app, deps)
    port = free_port()
    hook = Webhook(
        url="https://bot.example.org/tg/hook",
        port=port,
        listen="127.0.0.1",
        secret=webhook_secret(TOKEN),
    )
    assert TOKEN.split(":")[1] not in hook.secret
    stop = asyncio.Event()
    task = asyncio.create_task(run_telegram(app, commands, stop, webhook=hook))
    try:
        local = f"http://127.0.0.1:{port}/tg/hook"
        async with aiohttp.ClientSession() as http:
            for _ in range(200):  # until the webhook server listens
                try:
                    async with http.post(local, data=b"{}") as reply:
                        refused = reply.status
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.02)
            assert refused == 403  # no secret header
            assert server.webhook["url"] == hook.url
            assert server.webhook["secret_token"] == hook.secret
            headers = {
                "X-Telegram-Bot-Api-Secret-Token": hook.secret,
                "Content-Type": "application/json",
            }
            body = json.dumps(start_update(1, 42))
            async with http.post(local, data=body, headers=headers) as reply:
                assert reply.status == 200
        sent = await server.wait_sent(1, chat_id=42)
        assert "14-day trial" in sent[-1].text
        me = await store.get("telegram", "42")
        assert me is not None
        assert me.status is SubscriberStatus.TRIAL
        assert "getUpdates" not in server.calls
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
