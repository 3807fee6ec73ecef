"""The cogs through the shared commands, with a stand-in interaction of our own (no gateway)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from bot.commands import Commands
from bot.frontends.discord.bot import (
    AccountCog,
    AdminCog,
    BotDeps,
    CondorBot,
    SignalsCog,
    ensure_channel_subscribers,
)
from bot.notify import Audience, Notifier
from bot.ports import Delivery, SubscriberStatus
from bot.settings import DiscordSettings
from core.calendar import NEW_YORK
from tests.fakes import FixedClock, InMemoryLedger, InMemoryOutbox, InMemorySubscriberStore
from tests.frontends.discord.events import replayed_events

NOW = datetime(2023, 3, 22, 10, 30, tzinfo=NEW_YORK)
ADMIN_ROLE = 555


@dataclass
class Role:
    id: int


@dataclass
class User:
    id: int
    roles: list[Role] = field(default_factory=list)


@dataclass
class Sent:
    embed: Any
    ephemeral: bool
    view: Any = None


class Response:
    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.deferred = False

    def is_done(self) -> bool:
        return self.deferred or bool(self.sent)

    async def send_message(self, *, embed: Any, ephemeral: bool, view: Any = None) -> None:
        assert not self.is_done(), "an interaction is answered once"
        self.sent.append(Sent(embed, ephemeral, view))

    async def edit_message(self, *, embed: Any, view: Any) -> None:
        assert not self.is_done(), "an interaction is answered once"
        self.sent.append(Sent(embed, True, view))  # edits the ephemeral message in place

    async def defer(self, *, ephemeral: bool, thinking: bool) -> None:
        assert not self.is_done()
        self.deferred = True


class Followup:
    def __init__(self) -> None:
        self.sent: list[Sent] = []

    async def send(self, *, embed: Any, ephemeral: bool) -> None:
        self.sent.append(Sent(embed, ephemeral))


class Interaction:
    """What the cogs use of `discord.Interaction`."""

    def __init__(self, user_id: int, roles: tuple[int, ...] = (), interaction_id: int = 1) -> None:
        self.id = interaction_id
        self.user = User(user_id, [Role(r) for r in roles])
        self.response = Response()
        self.followup = Followup()

    @property
    def answers(self) -> list[Sent]:
        return self.response.sent + self.followup.sent

    @property
    def text(self) -> str:
        (sent,) = self.answers
        assert sent.ephemeral
        return f"{sent.embed.title}\n{sent.embed.description}"


@pytest.fixture
def world():
    clock = FixedClock(NOW)
    store = InMemorySubscriberStore()
    ledger = InMemoryLedger()
    outbox = InMemoryOutbox(clock)
    commands = Commands(subscribers=store, ledger=ledger, outbox=outbox, trial_days=7)
    settings = DiscordSettings(admin_role_id=ADMIN_ROLE, channel_0dte=777)
    deps = BotDeps(commands=commands, clock=clock, settings=settings)
    notifier = Notifier(
        subscribers=store, ledger=ledger, outbox=outbox, clock=clock, platforms=("discord",)
    )
    return deps, store, notifier, outbox


async def call(command: Any, cog: Any, interaction: Interaction, **options: Any) -> Interaction:
    await command.callback(cog, interaction, **options)
    return interaction


async def test_start_begins_a_trial_then_status_shows_it(world):
    deps, store, _, _ = world
    cog = AccountCog(deps)
    first = await call(cog.start, cog, Interaction(42))
    assert "trial runs until 2023-03-29 10:30 ET" in first.text
    sub = await store.get("discord", "42")
    assert sub is not None
    assert sub.status is SubscriberStatus.TRIAL
    again = await call(cog.start, cog, Interaction(42))
    assert "Status: trial" in again.text
    assert "7 days left" in again.text


async def test_stop_then_trial_does_not_start_a_second_trial(world):
    deps, store, _, _ = world
    cog = AccountCog(deps)
    await call(cog.trial, cog, Interaction(42))
    await call(cog.stop, cog, Interaction(42))
    assert (await store.get("discord", "42")).status is SubscriberStatus.UNSUBSCRIBED
    again = await call(cog.trial, cog, Interaction(42))
    assert "Trial already used" in again.text
    assert (await store.get("discord", "42")).status is SubscriberStatus.TRIAL


async def test_settings_changes_tracks_and_levels_and_refuses_nonsense(world):
    deps, store, _, _ = world
    cog = AccountCog(deps)
    await call(cog.start, cog, Interaction(42))
    ok = await call(
        cog.settings,
        cog,
        Interaction(42),
        tracks="0dte",
        risks="aggressive",
        kind="hedge",
        level="silent",
    )
    assert "Tracks: 0dte" in ok.text
    sub = await store.get("discord", "42")
    assert sub.risks == ("aggressive",)
    assert sub.levels["hedge"] == "silent"
    bad = await call(cog.settings, cog, Interaction(42), tracks="7dte")
    assert "Not changed" in bad.text


async def test_help_lists_the_commands(world):
    deps, *_ = world
    cog = AccountCog(deps)
    done = await call(cog.help, cog, Interaction(1))
    for name in ("/start", "/status", "/today", "/settings", "/whatif", "/stop"):
        assert name in done.text


async def test_today_and_whatif_read_the_published_signal(world):
    deps, _, notifier, _ = world
    for event in replayed_events()[:2]:  # the no-trade card, then the condor
        await notifier.publish(event, Audience(track="0dte", risk="balanced"))
    cog = SignalsCog(deps)
    today = await call(cog.today, cog, Interaction(42))
    assert today.response.deferred  # deferred first: the ledger may be slow
    assert "0DTE balanced: 3935/3945/4040/4050, credit 1.625" in today.text
    inside = await call(cog.whatif, cog, Interaction(42), price="4,000")
    assert "$162.50 per contract" in inside.text
    below = await call(cog.whatif, cog, Interaction(42), price="3900")
    assert "$-837.50 per contract" in below.text
    nonsense = await call(cog.whatif, cog, Interaction(42), price="lots")
    assert "Not a price" in nonsense.text


async def test_admin_commands_check_the_role_again(world):
    deps, _, _, outbox = world
    cog = AdminCog(deps)
    stranger = Interaction(9)
    assert not await cog.interaction_check(stranger)  # type: ignore[arg-type]
    assert "Admins only" in stranger.text
    assert await cog.interaction_check(Interaction(8, roles=(ADMIN_ROLE,)))  # type: ignore[arg-type]

    await call(AccountCog(deps).start, AccountCog(deps), Interaction(42))
    health = await call(cog.health, cog, Interaction(8, roles=(ADMIN_ROLE,)))
    assert "Ledger: ok" in health.text
    counts = await call(cog.subscribers, cog, Interaction(8, roles=(ADMIN_ROLE,)))
    assert "discord trial: 1" in counts.text
    sent = await call(cog.broadcast, cog, Interaction(8, interaction_id=99), text="maintenance")
    assert "1 deliveries queued" in sent.text
    again = await call(cog.broadcast, cog, Interaction(8, interaction_id=99), text="maintenance")
    assert "0 deliveries queued" in again.text  # the same interaction never queues twice
    (delivery,) = await outbox.claim("discord", "w", 10)
    assert isinstance(delivery, Delivery)
    assert delivery.text == "maintenance"


async def test_channel_subscribers_receive_their_track(world):
    deps, store, notifier, outbox = world
    assert await ensure_channel_subscribers(store, deps.settings) == 1
    report = await notifier.publish(replayed_events()[1], Audience(track="0dte", risk="balanced"))
    assert report.queued == 1
    (delivery,) = await outbox.claim("discord", "w", 10)
    assert delivery.target == "channel:777"


async def test_bot_has_minimal_intents_and_one_cog_per_feature(world):
    deps, *_ = world
    bot = CondorBot(deps)
    assert bot.intents.value == bot.intents.__class__(guilds=True).value
    await bot.setup_hook()
    assert set(bot.cogs) == {"AccountCog", "SignalsCog", "AdminCog"}
    names = {c.name for c in bot.tree.get_commands()}
    assert names >= {"start", "trial", "stop", "status", "help", "settings", "today", "whatif"}
    assert "admin" in names
    await bot.close()
