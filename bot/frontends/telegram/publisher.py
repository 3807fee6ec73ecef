"""`TelegramPublisher`: the Publisher port over python-telegram-bot's `Bot`.

Outcomes, as `DeliveryWorker` expects them:

* accepted -> SENT;
* 429 (`RetryAfter`, after `AIORateLimiter`'s own retries) -> RETRY with Telegram's
  `retry_after`; timeouts and network errors -> RETRY with the worker's backoff;
* 403 (`Forbidden`: blocked, deactivated, kicked) -> BLOCKED;
* `ChatMigrated` (a group became a supergroup) -> `on_migrated(old, new)` stores the new id,
  then the message is sent to it;
* anything else (`BadRequest`, ...) -> FAILED, dead-lettered with the reason.

On top of the rate limiter's global limit the publisher paces each chat itself: at most one
message per `chat_interval_s` (1 s, Telegram's guidance for one chat).
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application
from telegram.warnings import PTBDeprecationWarning

from bot.ports import SendOutcome, SendResult
from bot.render.chart import PAYOFF_PREFIX, Payoff, render_payoff_png

logger = logging.getLogger(__name__)

#: A python-telegram-bot application of any context types.
TelegramApplication: TypeAlias = Application[Any, Any, Any, Any, Any, Any]
#: Told `(old_chat_id, new_chat_id)` when a group migrated to a supergroup.
MigratedCallback = Callable[[str, str], Awaitable[None]]


def retry_after_seconds(error: RetryAfter) -> float:
    """Return a `RetryAfter`'s wait in seconds (PTB 22 returns int or timedelta by setting)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    if isinstance(value, dtm.timedelta):
        return value.total_seconds()
    return float(value)


class ChatPacer:
    """At most one send per chat per `interval_s`; waits (never refuses) when called sooner."""

    def __init__(self, interval_s: float = 1.0) -> None:
        self.interval_s = interval_s
        self._next: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def wait(self, chat_id: str) -> None:
        """Sleep until `chat_id` may be sent to, and book the following slot."""
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        async with lock:
            now = time.monotonic()
            due = self._next.get(chat_id, now)
            if due > now:
                await asyncio.sleep(due - now)
            self._next[chat_id] = max(due, now) + self.interval_s


class TelegramPublisher:
    """Send rendered HTML cards to Telegram chats (DMs, groups, channels)."""

    platform = "telegram"

    def __init__(
        self,
        bot: Bot,
        *,
        on_migrated: MigratedCallback | None = None,
        chat_interval_s: float = 1.0,
    ) -> None:
        self.bot = bot
        self.on_migrated = on_migrated
        self.pacer = ChatPacer(chat_interval_s)

    async def send(self, target: str, text: str, *, silent: bool) -> SendResult:
        """Send one HTML message to `target` (a chat id or @channel name)."""
        try:
            return await self._send(target, text, silent=silent)
        except ChatMigrated as error:
            new_id = str(error.new_chat_id)
            logger.info("chat %s migrated to %s", target, new_id)
            if self.on_migrated is not None:
                await self.on_migrated(target, new_id)
            try:
                return await self._send(new_id, text, silent=silent)
            except TelegramError as again:
                return self._classify(new_id, again)
        except TelegramError as error:
            return self._classify(target, error)

    async def _send(self, target: str, text: str, *, silent: bool) -> SendResult:
        await self.pacer.wait(target)
        await self.bot.send_message(
            chat_id=target,
            text=text,
            parse_mode=ParseMode.HTML,
            disable_notification=silent,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        )
        return SendResult(outcome=SendOutcome.SENT)

    async def send_photo(
        self, target: str, png: bytes, caption: str, *, silent: bool
    ) -> SendResult:
        """Send a PNG with an HTML caption (at most 1024 characters) to `target`."""
        try:
            await self.pacer.wait(target)
            await self.bot.send_photo(
                chat_id=target,
                photo=png,
                caption=caption,
                parse_mode=ParseMode.HTML,
                disable_notification=silent,
            )
        except TelegramError as error:
            return self._classify(target, error)
        return SendResult(outcome=SendOutcome.SENT)

    async def send_attachment(
        self, target: str, text: str, attachment: str, *, silent: bool
    ) -> SendResult:
        """Send a delivery's attachment (a ``payoff:`` chart) with `text` as its caption."""
        if not attachment.startswith(PAYOFF_PREFIX):
            return SendResult(
                outcome=SendOutcome.FAILED, detail=f"unknown attachment {attachment[:40]!r}"
            )
        try:
            spec = Payoff.from_json(attachment.removeprefix(PAYOFF_PREFIX))
        except ValueError as error:
            return SendResult(outcome=SendOutcome.FAILED, detail=f"bad payoff spec: {error}")
        png = await asyncio.to_thread(render_payoff_png, spec)  # ~0.1 s of matplotlib: off the loop
        return await self.send_photo(target, png, text, silent=silent)

    @staticmethod
    def _classify(target: str, error: TelegramError) -> SendResult:
        # `error.message` is Telegram's description: it never holds the token.
        detail = f"{type(error).__name__}: {error.message}"
        match error:
            case RetryAfter():
                return SendResult(
                    outcome=SendOutcome.RETRY,
                    retry_after=retry_after_seconds(error),
                    detail=detail,
                )
            case Forbidden():
                return SendResult(outcome=SendOutcome.BLOCKED, detail=detail)
            case BadRequest():
                return SendResult(outcome=SendOutcome.FAILED, detail=detail)
            case TimedOut() | NetworkError():
                return SendResult(outcome=SendOutcome.RETRY, detail=detail)
            case _:
                logger.warning("telegram send to %s failed: %s", target, detail)
                return SendResult(outcome=SendOutcome.FAILED, detail=detail)
