"""One card by DM to 1,000 Telegram subscribers through the fake Bot API at 30 messages/s.

The whole production path: `Notifier.publish` (ledger, then outbox, rendered as Telegram HTML),
`DeliveryWorker`, `TelegramPublisher`, python-telegram-bot's `ExtBot` with `AIORateLimiter`
(30 messages per second overall, retries on), HTTP to the fake server on 127.0.0.1, which
answers 429 above 30 messages per second and above one per second per chat.

Last line: `{"bench": "broadcast", "targets": 1000, "sent", "lost", "duplicates", "seconds",
"ratio_to_ceiling"}` where ratio_to_ceiling is the achieved rate over 30/s (target >= 0.9, with
lost = duplicates = 0).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from datetime import datetime, timedelta
from typing import Any

from telegram.ext import AIORateLimiter, ExtBot

from bot.delivery import DeliveryWorker, RetryPolicy
from bot.frontends.telegram.publisher import TelegramPublisher
from bot.notify import Audience, Notifier, Rendering
from bot.ports import Subscriber, SubscriberStatus
from bot.render.telegram_html import render_notice_html, render_telegram_html
from core.calendar import NEW_YORK
from tests.fakes import FixedClock, InMemoryLedger, InMemoryOutbox, InMemorySubscriberStore
from tests.frontends.fake_telegram import FakeTelegram
from tests.frontends.telegram.events import a_signal

TOKEN = "123456789:AAEbenchTOKENbenchTOKENbench_xyz"  # noqa: S105 - the fake server's token
TARGETS = 1000
CEILING = 30.0


class WallClock(FixedClock):
    """The real time (the fake outbox wants a `FixedClock`; this one moves by itself)."""

    def now(self) -> datetime:
        return datetime.now(NEW_YORK)  # noqa: TID251 - a benchmark runs on the wall clock


async def run() -> dict[str, object]:
    os.environ.setdefault("PTB_TIMEDELTA", "true")  # noqa: TID251 - as the service does
    signal = a_signal()
    clock = WallClock(datetime.now(NEW_YORK))  # noqa: TID251 - wall clock
    store = InMemorySubscriberStore()
    for user in range(TARGETS):
        await store.put(
            Subscriber(
                platform="telegram",
                user_id=str(10_000 + user),
                status=SubscriberStatus.TRIAL,
                trial_start=clock.now(),
                trial_end=clock.now() + timedelta(days=14),
                tracks=(str(signal.track),),
                risks=(str(signal.risk),),
            )
        )
    outbox = InMemoryOutbox(clock)
    notifier = Notifier(
        subscribers=store,
        ledger=InMemoryLedger(),
        outbox=outbox,
        clock=clock,
        platforms=("telegram",),
        renderings={"telegram": Rendering(event=render_telegram_html, notice=render_notice_html)},
    )
    async with FakeTelegram(TOKEN, global_rate=CEILING, chat_rate=1.0, chat_burst=1.0) as server:
        limiter: AIORateLimiter = AIORateLimiter(overall_max_rate=CEILING, max_retries=3)
        bot: ExtBot[Any] = ExtBot(TOKEN, base_url=server.base_url, rate_limiter=limiter)
        async with bot:
            report = await notifier.publish(
                signal, Audience(track=str(signal.track), risk=str(signal.risk))
            )
            worker = DeliveryWorker(
                outbox=outbox,
                publisher=TelegramPublisher(bot),
                clock=clock,
                policy=RetryPolicy(max_attempts=10, base_delay_s=0.5, max_delay_s=5),
            )
            start = time.perf_counter()
            while True:
                await worker.drain()
                if not await outbox.backlog("telegram"):
                    break
                await asyncio.sleep(0.1)
            seconds = time.perf_counter() - start
        chats = [s.chat_id for s in server.sent]
    unique = len(set(chats))
    return {
        "bench": "broadcast",
        "targets": TARGETS,
        "queued": report.queued,
        "sent": unique,
        "lost": TARGETS - unique,
        "duplicates": len(chats) - unique,
        "rejected_429": sum(1 for r in server.rejected if r[1] == 429),
        "dead_letters": len(await outbox.dead_letters()),
        "seconds": round(seconds, 2),
        "ratio_to_ceiling": round(unique / seconds / CEILING, 3),
    }


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(asyncio.run(run())))


if __name__ == "__main__":
    main()
