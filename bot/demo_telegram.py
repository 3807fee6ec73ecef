"""`condorbot demo --telegram`: the demo day also delivered through a fake Bot API server.

The fake (`bot.frontends.telegram.fake_server`, aiohttp on 127.0.0.1, the same one the tests
use) speaks the real method names and shapes and rejects what Telegram rejects (bad HTML,
over-long texts and captions), so a newcomer sees the Telegram cards without a token: a real
`TelegramPublisher` on python-telegram-bot sends to it, then `report` prints what it received
and writes the payoff charts it got as PNG files.
"""

from __future__ import annotations

import os
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from bot.delivery import DeliveryWorker
from bot.frontends.telegram.app import build_application, ensure_telegram_channels
from bot.frontends.telegram.fake_server import FakeTelegram
from bot.frontends.telegram.publisher import TelegramPublisher
from bot.notify import Rendering
from bot.ports import Clock, NoticeLevel, Outbox, Subscriber, SubscriberStatus, SubscriberStore
from bot.render.telegram_html import render_notice_html, render_telegram_html, telegram_chart

#: A token of the right shape for the fake server only (Telegram would refuse it).
DEMO_TOKEN = "123456789:DEMOfakeTOKENnotREALdemoFAKEtoken12"  # noqa: S105 - not a secret
DEMO_CHANNEL = "-1001000000001"
DEMO_USER = "1001"
DEMO_ADMIN = "1002"
RENDERING = Rendering(event=render_telegram_html, notice=render_notice_html, chart=telegram_chart)


def telegram_subscribers(start: datetime) -> list[Subscriber]:
    """A Telegram trial trader who takes hedge alerts silently, and a Telegram admin."""
    return [
        Subscriber(
            platform="telegram",
            user_id=DEMO_USER,
            status=SubscriberStatus.TRIAL,
            trial_start=start - timedelta(days=3),
            trial_end=start + timedelta(days=11),
            tracks=("0dte",),
            risks=("balanced",),
            levels={"hedge": NoticeLevel.SILENT},
        ),
        Subscriber(
            platform="telegram",
            user_id=DEMO_ADMIN,
            status=SubscriberStatus.ACTIVE,
            tracks=(),
            risks=(),
            admin=True,
        ),
    ]


@dataclass(slots=True)
class TelegramDemo:
    """The fake server, a bot pointed at it and its delivery worker, for one demo run."""

    server: FakeTelegram = field(default_factory=lambda: FakeTelegram(DEMO_TOKEN))
    worker: DeliveryWorker | None = None
    _stack: AsyncExitStack = field(default_factory=AsyncExitStack)

    async def start(self, subscribers: SubscriberStore, outbox: Outbox, clock: Clock) -> None:
        """Start the server on 127.0.0.1, initialise the bot, add the channel and subscribers."""
        os.environ.setdefault("PTB_TIMEDELTA", "true")  # PTB 22's durations, as the service
        await self._stack.enter_async_context(self.server)
        application = build_application(DEMO_TOKEN, base_url=self.server.base_url)
        await self._stack.enter_async_context(application)
        publisher = TelegramPublisher(application.bot, chat_interval_s=0)  # virtual time
        self.worker = DeliveryWorker(
            outbox=outbox, publisher=publisher, clock=clock, consumer="demo"
        )
        await ensure_telegram_channels(subscribers, {"0dte": DEMO_CHANNEL})
        now = clock.now()
        for subscriber in telegram_subscribers(now):
            await subscribers.put(subscriber)

    async def drain(self) -> None:
        """Send everything queued for Telegram."""
        if self.worker is not None:
            await self.worker.drain()

    async def close(self) -> None:
        """Shut the bot and the server down."""
        await self._stack.aclose()

    @property
    def duplicates(self) -> int:
        """Messages the fake received more than once (same method, chat and text)."""
        seen = Counter((s.method, s.chat_id, s.raw) for s in self.server.sent)
        return sum(n - 1 for n in seen.values() if n > 1)

    def report(self, out: TextIO, chart_dir: Path) -> list[Path]:
        """Print what the fake received, write its charts into `chart_dir`; return the files."""
        chart_dir.mkdir(parents=True, exist_ok=True)
        sent = self.server.sent
        names = {DEMO_CHANNEL: "0dte channel", DEMO_USER: "trader", DEMO_ADMIN: "admin"}
        print("=" * 30 + " Telegram (fake Bot API) " + "=" * 17, file=out)
        print(
            f"{len(sent)} messages to {self.server.url} by sendMessage/sendPhoto, HTML checked "
            f"as Telegram checks it; {len(self.server.rejected)} rejected",
            file=out,
        )
        charts: list[Path] = []
        for n, message in enumerate(sent, 1):
            who = names.get(message.chat_id, message.chat_id)
            flags = " (silent)" if message.disable_notification else ""
            print(f"--- {message.method} to {who} [{message.chat_id}]{flags}", file=out)
            if message.photo:
                path = chart_dir / f"{n:03d}-{message.chat_id}.png"
                path.write_bytes(message.photo)
                charts.append(path)
                print(f"[chart {path} ({len(message.photo):,} bytes)]", file=out)
            print(message.text, file=out)
        return charts
