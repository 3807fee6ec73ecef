"""One Discord deployment in memory, delivering through the real client to the fake API."""

from __future__ import annotations

from datetime import datetime

from bot.commands import Commands
from bot.delivery import DeliveryWorker, RetryPolicy
from bot.frontends.discord.members import DmFallback
from bot.frontends.discord.publisher import DiscordPublisher
from bot.notify import Audience, Notifier, Rendering
from bot.ports import Subscriber
from bot.render.discord_embed import discord_chart, render_message
from bot.settings import DiscordSettings
from core.calendar import NEW_YORK
from tests.fakes import FixedClock, InMemoryLedger, InMemoryOutbox, InMemorySubscriberStore
from tests.frontends.discord.conftest import CHANNEL_0DTE, GUILD, TRIAL_ROLE

NOW = datetime(2023, 3, 22, 10, 30, tzinfo=NEW_YORK)
SETTINGS = DiscordSettings(
    channel_0dte=int(CHANNEL_0DTE), guild_id=int(GUILD), trial_role_id=int(TRIAL_ROLE)
)
AUDIENCE = Audience(track="0dte", risk="balanced")


class World:
    """Stores, notifier, closed-DM fallback and a delivery worker around one publisher.

    `charts` renders signal cards with their payoff PNG, as production does.
    """

    def __init__(self, publisher: DiscordPublisher, *, charts: bool = False) -> None:
        self.clock = FixedClock(NOW)
        self.store = InMemorySubscriberStore()
        self.outbox = InMemoryOutbox(self.clock)
        self.ledger = InMemoryLedger()
        self.publisher = publisher
        rendering = Rendering(event=render_message, chart=discord_chart if charts else None)
        self.notifier = Notifier(
            subscribers=self.store,
            ledger=self.ledger,
            outbox=self.outbox,
            clock=self.clock,
            platforms=("discord",),
            renderings={"discord": rendering},
        )
        self.commands = Commands(
            subscribers=self.store, ledger=self.ledger, outbox=self.outbox, trial_days=7
        )
        self.fallback = DmFallback(subscribers=self.store, outbox=self.outbox, settings=SETTINGS)
        self.worker = DeliveryWorker(
            outbox=self.outbox,
            publisher=publisher,
            clock=self.clock,
            policy=RetryPolicy(max_attempts=2),
            on_blocked=self.blocked,
        )
        self.deactivated: list[str] = []

    async def blocked(self, delivery, result) -> None:
        if not await self.fallback(delivery, result):
            self.deactivated.append(delivery.target)

    async def sub(self, user_id: str) -> Subscriber:
        found = await self.store.get("discord", user_id)
        assert found is not None
        return found
