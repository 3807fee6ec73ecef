"""TelegramPublisher against the fake Bot API: outcomes, silence, pacing, migration."""

from __future__ import annotations

import time

from bot.frontends.telegram.publisher import ChatPacer, TelegramPublisher
from bot.ports import SendOutcome
from bot.render.chart import render_payoff_png
from bot.render.telegram_html import render_signal_caption
from tests.frontends.telegram.events import a_signal


async def test_send_delivers_html_and_reports_sent(server, bot):
    publisher = TelegramPublisher(bot, chat_interval_s=0)
    result = await publisher.send("42", "<b>hi</b> &amp; bye", silent=False)
    assert result.outcome is SendOutcome.SENT
    (sent,) = server.to(42)
    assert sent.text == "hi & bye"
    assert sent.disable_notification is False


async def test_silent_send_disables_the_notification(server, bot):
    publisher = TelegramPublisher(bot, chat_interval_s=0)
    await publisher.send("42", "quiet", silent=True)
    assert server.to(42)[0].disable_notification is True


async def test_blocked_user_is_blocked(server, bot):
    server.blocked.add("13")
    result = await TelegramPublisher(bot, chat_interval_s=0).send("13", "x", silent=False)
    assert result.outcome is SendOutcome.BLOCKED
    assert "blocked" in result.detail


async def test_rate_limit_is_retry_with_retry_after(server, bot):
    server._chats["7"] = type(server._global)(rate=0.2, capacity=1, tokens=0)
    result = await TelegramPublisher(bot, chat_interval_s=0).send("7", "x", silent=False)
    assert result.outcome is SendOutcome.RETRY
    assert result.retry_after >= 1


async def test_bad_html_is_failed_not_retried(server, bot):
    result = await TelegramPublisher(bot, chat_interval_s=0).send("5", "<blink>", silent=False)
    assert result.outcome is SendOutcome.FAILED
    assert "parse entities" in result.detail


async def test_migrated_group_stores_new_id_and_sends_there(server, bot):
    server.migrated["-100"] = -1009999
    moved: list[tuple[str, str]] = []

    async def remember(old: str, new: str) -> None:
        moved.append((old, new))

    publisher = TelegramPublisher(bot, on_migrated=remember, chat_interval_s=0)
    result = await publisher.send("-100", "hello group", silent=False)
    assert result.outcome is SendOutcome.SENT
    assert moved == [("-100", "-1009999")]
    assert server.to(-1009999)[0].text == "hello group"


async def test_photo_with_caption(server, bot):
    signal = a_signal()
    result = await TelegramPublisher(bot, chat_interval_s=0).send_photo(
        "42", render_payoff_png(signal), render_signal_caption(signal), silent=False
    )
    assert result.outcome is SendOutcome.SENT
    (sent,) = server.to(42)
    assert sent.method == "sendPhoto"
    assert sent.photo_bytes > 10_000


async def test_pacer_spaces_sends_to_one_chat():
    pacer = ChatPacer(0.05)
    start = time.monotonic()
    for _ in range(4):
        await pacer.wait("a")
    await pacer.wait("b")  # another chat is not held up
    assert time.monotonic() - start >= 0.15
