"""The payoff chart on Discord cards, /subscribe and /unsubscribe, the trial-ended DM, and leaving.

Through the notifier, the services, the delivery worker and discord.py's real HTTP client
against the fake Discord; the cogs with the stand-in interaction of `test_cogs`.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import discord
import pytest

from bot.frontends.discord.bot import (
    AccountCog,
    BotDeps,
    CondorBot,
    MembersCog,
    ensure_channel_subscribers,
)
from bot.frontends.discord.members import TrialEndedDm, member_left
from bot.frontends.discord.publisher import PAYOFF_FILENAME, DiscordPublisher
from bot.ports import NoticeLevel, SendOutcome, Subscriber, SubscriberStatus
from bot.render.chart import PAYOFF_PREFIX
from bot.render.discord_embed import discord_chart
from bot.service_main import _discord_trial_roles
from bot.services import Services
from bot.settings import DiscordSettings, load_settings
from core.rules import CondorRules, HedgeRules
from core.types import CondorSignal
from tests.frontends.discord.conftest import (
    ALICE,
    BOB_NO_DMS,
    CHANNEL_0DTE,
    GUILD,
    TOKEN,
    TRIAL_ROLE,
)
from tests.frontends.discord.events import replayed_events
from tests.frontends.discord.test_cogs import Interaction, call
from tests.frontends.discord.world import (
    AUDIENCE,
    NOW,
    SETTINGS,
    World,
)
from tests.frontends.fake_discord import FakeDiscord

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def world(fake_discord: FakeDiscord):
    async with DiscordPublisher(TOKEN, channel_ids=[CHANNEL_0DTE]) as publisher:
        yield World(publisher, charts=True)


def _condor() -> CondorSignal:
    condor = replayed_events()[1]
    assert isinstance(condor, CondorSignal)
    return condor


# --- (1) the payoff chart ----------------------------------------------------------------------


def test_only_signals_have_a_chart_and_its_caption_fits_one_message():
    no_trade, condor = replayed_events()[:2]
    assert discord_chart(no_trade) is None
    chart = discord_chart(condor)
    assert chart is not None
    attachment, caption = chart
    assert attachment.startswith(PAYOFF_PREFIX)
    assert caption.startswith("Payoff at expiry: SPXW 2023-03-22 3935/3945 puts, 4040/4050 calls")
    assert "\n" not in caption
    assert len(caption) <= 2000


async def test_a_signal_reaches_dms_and_channels_with_its_payoff_png_once(
    world: World, fake_discord: FakeDiscord
):
    await world.store.put(Subscriber(platform="discord", user_id=ALICE, tracks=("0dte",)))
    await ensure_channel_subscribers(world.store, SETTINGS)
    no_trade, condor = replayed_events()[:2]
    await world.notifier.publish(condor, AUDIENCE)
    await world.notifier.publish(no_trade, AUDIENCE)
    await world.worker.drain()
    await world.notifier.publish(condor, AUDIENCE)  # published again: nothing new goes out
    await world.worker.drain()

    for where in (ALICE, CHANNEL_0DTE):
        chart, card, no_trade_card = fake_discord.to(where)
        assert set(chart.files) == {PAYOFF_FILENAME}
        assert chart.files[PAYOFF_FILENAME].startswith(PNG)
        assert chart.content.startswith("Payoff at expiry: SPX")
        assert chart.embeds == []
        assert card.files == {}
        assert card.embeds[0]["title"] == "SPX iron condor | 0DTE | balanced"
        assert no_trade_card.files == {}  # a no-trade day has no chart
    assert world.worker.stats.sent == 6


async def test_a_silent_signal_uploads_a_silent_chart(world: World, fake_discord: FakeDiscord):
    await world.store.put(
        Subscriber(
            platform="discord",
            user_id=ALICE,
            tracks=("0dte",),
            levels={"condor": NoticeLevel.SILENT},
        )
    )
    await world.notifier.publish(_condor(), AUDIENCE)
    await world.worker.drain()
    chart, card = fake_discord.to(ALICE)
    assert chart.silent
    assert card.silent


async def test_closed_dms_move_the_chart_and_the_card_to_the_channel_together(
    world: World, fake_discord: FakeDiscord
):
    await world.store.put(Subscriber(platform="discord", user_id=BOB_NO_DMS, tracks=("0dte",)))
    await world.notifier.publish(_condor(), AUDIENCE)
    await world.worker.drain()

    bob = await world.sub(BOB_NO_DMS)
    assert bob.status is SubscriberStatus.TRIAL  # the card after the chart did not block him
    assert bob.delivery == f"channel:{CHANNEL_0DTE}"
    assert world.deactivated == []
    posted = fake_discord.to(CHANNEL_0DTE)
    charts = [m for m in posted if m.files]
    cards = [m for m in posted if m.embeds]
    notes = [m for m in posted if m.content.startswith(f"<@{BOB_NO_DMS}>")]
    assert (len(charts), len(cards), len(notes)) == (1, 1, 1)
    assert posted.index(charts[0]) < posted.index(cards[0])  # the chart, then its card


async def test_closed_dms_with_a_channel_that_carries_the_signal_get_no_second_copy(
    world: World, fake_discord: FakeDiscord
):
    await world.store.put(Subscriber(platform="discord", user_id=BOB_NO_DMS, tracks=("0dte",)))
    await ensure_channel_subscribers(world.store, SETTINGS)
    await world.notifier.publish(_condor(), AUDIENCE)
    await world.worker.drain()
    posted = fake_discord.to(CHANNEL_0DTE)
    assert len([m for m in posted if m.files]) == 1
    assert len([m for m in posted if m.embeds]) == 1


async def test_an_unreadable_attachment_is_failed_not_sent(world: World, fake_discord):
    unknown = await world.publisher.send_attachment(ALICE, "x", "pie:{}", silent=False)
    assert unknown.outcome is SendOutcome.FAILED
    bad = await world.publisher.send_attachment(ALICE, "x", PAYOFF_PREFIX + "{}", silent=False)
    assert bad.outcome is SendOutcome.FAILED
    assert "bad payoff spec" in (bad.detail or "")
    assert fake_discord.messages == []


# --- (2) /subscribe and /unsubscribe ---------------------------------------------------------


async def test_subscribe_and_unsubscribe_are_start_and_stop(world: World):
    cog = AccountCog(BotDeps(commands=world.commands, clock=world.clock, settings=SETTINGS))
    first = await call(cog.subscribe, cog, Interaction(42))
    assert "trial runs until 2023-03-29 10:30 ET" in first.text
    assert (await world.sub("42")).status is SubscriberStatus.TRIAL
    again = await call(cog.start, cog, Interaction(42))  # /start stays as an alias
    assert "Status: trial" in again.text
    stopped = await call(cog.unsubscribe, cog, Interaction(42))
    assert "Unsubscribed" in stopped.text
    assert (await world.sub("42")).status is SubscriberStatus.UNSUBSCRIBED
    await call(cog.subscribe, cog, Interaction(42))
    await call(cog.stop, cog, Interaction(42))  # and /stop
    assert (await world.sub("42")).status is SubscriberStatus.UNSUBSCRIBED


async def test_the_command_tree_names_subscribe_and_unsubscribe(world: World):
    bot = CondorBot(BotDeps(commands=world.commands, clock=world.clock, settings=SETTINGS))
    await bot.setup_hook()
    names = {c.name for c in bot.tree.get_commands()}
    assert names >= {"subscribe", "unsubscribe", "start", "stop", "trial"}
    await bot.close()


# --- (3) the DM when a trial expires -----------------------------------------------------------


async def test_the_sweep_dms_an_expired_trial_once_and_removes_the_role(world: World, guild):
    settings = load_settings(
        {
            "DISCORD__TOKEN": TOKEN,
            "DISCORD__GUILD_ID": GUILD,
            "DISCORD__CHANNEL_0DTE": CHANNEL_0DTE,
            "DISCORD__TRIAL_ROLE_ID": TRIAL_ROLE,
        }
    )
    services = Services(
        notifier=world.notifier,
        subscribers=world.store,
        feed_for=lambda day: pytest.fail("the sweep reads no market data"),
        rules=CondorRules(),
        hedge_rules=HedgeRules(),
        clock=world.clock,
    )
    roles = _discord_trial_roles(world.publisher, settings, services, world.outbox)
    assert roles is not None
    cog = AccountCog(
        BotDeps(
            commands=world.commands, clock=world.clock, settings=settings.discord, trial_roles=roles
        )
    )
    await call(cog.subscribe, cog, Interaction(int(ALICE)))
    await world.store.put(
        Subscriber(platform="telegram", user_id="7", trial_end=NOW + timedelta(days=7))
    )
    assert guild.member_roles[(GUILD, ALICE)] == {TRIAL_ROLE}

    await services.trial_sweep(NOW + timedelta(days=7))
    await services.trial_sweep(NOW + timedelta(days=7, hours=1))  # a second run: no second DM
    await world.worker.drain()

    assert (await world.sub(ALICE)).status is SubscriberStatus.EXPIRED
    assert guild.member_roles[(GUILD, ALICE)] == set()
    (dm,) = fake_discord_dms(guild, ALICE)
    assert "free trial has ended" in dm
    assert await world.outbox.claim("telegram", "w", 10) == []  # not Telegram's to send


def fake_discord_dms(fake: FakeDiscord, user: str) -> list[str]:
    return [m.content or m.embeds[0].get("description", "") for m in fake.to(user)]


async def test_the_trial_ended_dm_is_queued_once_per_trial(world: World):
    tell = TrialEndedDm(outbox=world.outbox)
    ended = Subscriber(platform="discord", user_id=ALICE, trial_end=NOW)
    assert await tell(ended)
    assert not await tell(ended)  # the same trial: already queued
    assert not await tell(Subscriber(platform="telegram", user_id=ALICE, trial_end=NOW))
    assert not await tell(Subscriber(platform="discord", user_id="channel-0dte"))
    (delivery,) = await world.outbox.claim("discord", "w", 10)
    assert delivery.target == f"user:{ALICE}"


async def test_a_trial_ended_dm_to_closed_dms_does_not_move_an_expired_subscriber(
    world: World, fake_discord: FakeDiscord
):
    await world.store.put(
        Subscriber(platform="discord", user_id=BOB_NO_DMS, status=SubscriberStatus.EXPIRED)
    )
    await TrialEndedDm(outbox=world.outbox)(await world.sub(BOB_NO_DMS))
    await world.worker.drain()
    assert (await world.sub(BOB_NO_DMS)).delivery == "dm"  # not re-routed into a channel
    assert fake_discord.to(CHANNEL_0DTE) == []


# --- (4) a member who leaves ---------------------------------------------------------------


def test_the_members_intent_only_with_track_members(world: World):
    off = CondorBot(BotDeps(commands=world.commands, clock=world.clock, settings=SETTINGS))
    assert not off.intents.members
    tracking = load_settings({"DISCORD__TRACK_MEMBERS": "true"}).discord
    assert tracking.track_members
    assert not load_settings({}).discord.track_members
    on = CondorBot(BotDeps(commands=world.commands, clock=world.clock, settings=tracking))
    assert on.intents.members
    assert on.intents.guilds
    assert not on.intents.message_content


def _left(guild_id: str, user_id: str) -> discord.RawMemberRemoveEvent:
    data = {
        "guild_id": guild_id,
        "user": {"id": user_id, "username": "x", "discriminator": "0", "avatar": None},
    }
    return discord.RawMemberRemoveEvent(data, discord.Object(id=int(user_id)))  # type: ignore[arg-type]


async def test_a_member_who_leaves_the_guild_is_unsubscribed(world: World):
    settings = SETTINGS.model_copy(update={"track_members": True})
    deps = BotDeps(commands=world.commands, clock=world.clock, settings=settings)
    async with CondorBot(deps) as bot:  # sets the loop that `dispatch` schedules listeners on
        await bot.setup_hook()
        assert "MembersCog" in bot.cogs
        await call(AccountCog(deps).subscribe, AccountCog(deps), Interaction(int(ALICE)))
        await world.store.put(Subscriber(platform="discord", user_id=BOB_NO_DMS))

        bot.dispatch("raw_member_remove", _left("1500000000000000999", ALICE))  # another guild
        bot.dispatch("raw_member_remove", _left(GUILD, BOB_NO_DMS))
        for _ in range(20):  # listeners run as tasks
            await asyncio.sleep(0)
        assert (await world.sub(ALICE)).status is SubscriberStatus.TRIAL
        assert (await world.sub(BOB_NO_DMS)).status is SubscriberStatus.UNSUBSCRIBED

        cog = bot.cogs["MembersCog"]
        assert isinstance(cog, MembersCog)
        await cog.on_raw_member_remove(_left(GUILD, ALICE))
        assert (await world.sub(ALICE)).status is SubscriberStatus.UNSUBSCRIBED


async def test_leaving_keeps_an_expired_or_blocked_status_and_ignores_strangers(world: World):
    await world.store.put(
        Subscriber(platform="discord", user_id=ALICE, status=SubscriberStatus.EXPIRED)
    )
    assert not await member_left(world.store, SETTINGS, int(GUILD), int(ALICE))
    assert (await world.sub(ALICE)).status is SubscriberStatus.EXPIRED
    assert not await member_left(world.store, SETTINGS, int(GUILD), 1400000000000000077)
    await world.store.put(Subscriber(platform="discord", user_id=BOB_NO_DMS))
    anywhere = DiscordSettings()  # no guild configured: any guild counts
    assert await member_left(world.store, anywhere, 1500000000000000999, int(BOB_NO_DMS))
