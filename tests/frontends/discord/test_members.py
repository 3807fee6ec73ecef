"""Closed DMs fall back to the channel; the trial role comes with /start and goes at expiry.

Through the services, the delivery worker and discord.py's real HTTP client against the fake.
"""

from __future__ import annotations

from datetime import timedelta

import discord
import pytest

from bot.cli import main
from bot.commands import Commands
from bot.frontends.discord.bot import (
    AccountCog,
    BotDeps,
    CondorBot,
    ensure_channel_subscribers,
    sync_app_commands,
)
from bot.frontends.discord.members import TrialRoles
from bot.frontends.discord.publisher import DiscordPublisher
from bot.notify import Audience
from bot.ports import Subscriber, SubscriberStatus
from bot.services import Services
from bot.settings import DiscordSettings
from core.rules import CondorRules, HedgeRules
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


@pytest.fixture
async def world(fake_discord: FakeDiscord):
    async with DiscordPublisher(TOKEN, channel_ids=[CHANNEL_0DTE]) as publisher:
        yield World(publisher)


async def test_closed_dms_move_the_subscriber_to_the_channel_and_tell_them_once(
    world: World, fake_discord: FakeDiscord
):
    for user in (ALICE, BOB_NO_DMS):
        await world.store.put(Subscriber(platform="discord", user_id=user, tracks=("0dte",)))
    await ensure_channel_subscribers(world.store, SETTINGS)
    no_trade, condor = replayed_events()[:2]

    await world.notifier.publish(condor, AUDIENCE)
    await world.worker.drain()

    bob = await world.sub(BOB_NO_DMS)
    assert bob.status is SubscriberStatus.TRIAL  # still receiving, not deactivated
    assert bob.delivery == f"channel:{CHANNEL_0DTE}"
    assert world.deactivated == []
    assert len(fake_discord.to(ALICE)) == 1
    assert fake_discord.to(BOB_NO_DMS) == []
    cards = [m for m in fake_discord.to(CHANNEL_0DTE) if m.embeds]
    notes = [m for m in fake_discord.to(CHANNEL_0DTE) if m.content]
    assert len(cards) == 1  # the channel's own copy; Bob's re-routed copy shares its key
    (note,) = notes
    assert note.content.startswith(f"<@{BOB_NO_DMS}> your direct messages are closed")
    assert note.allowed_mentions == {"parse": [], "users": [int(BOB_NO_DMS)]}  # pings Bob alone

    await world.notifier.publish(no_trade, AUDIENCE)
    await world.worker.drain()
    assert len([m for m in fake_discord.to(CHANNEL_0DTE) if m.embeds]) == 2
    assert len([m for m in fake_discord.to(CHANNEL_0DTE) if m.content]) == 1  # told once
    dm_opens = [r for r in fake_discord.requests if r == ("POST", "/api/v10/users/@me/channels")]
    assert len(dm_opens) == 2  # Alice once, Bob once: never tried again


async def test_the_refused_card_is_rerouted_when_the_channel_does_not_carry_it(
    world: World, fake_discord: FakeDiscord
):
    await world.store.put(Subscriber(platform="discord", user_id=BOB_NO_DMS, tracks=("0dte",)))
    await world.notifier.publish(replayed_events()[1], AUDIENCE)
    await world.worker.drain()
    (card,) = [m for m in fake_discord.to(CHANNEL_0DTE) if m.embeds]
    assert card.embeds[0]["title"] == "SPX iron condor | 0DTE | balanced"


async def test_closed_dms_without_a_channel_for_the_track_deactivate(
    world: World, fake_discord: FakeDiscord
):
    await world.store.put(Subscriber(platform="discord", user_id=BOB_NO_DMS, tracks=("1dte",)))
    no_1dte = Audience(track="1dte", risk="balanced")
    await world.notifier.publish(replayed_events()[1], no_1dte)
    await world.worker.drain()
    assert world.deactivated == [BOB_NO_DMS]
    assert (await world.sub(BOB_NO_DMS)).delivery == "dm"


async def test_settings_switches_delivery_back_to_dms(world: World):
    await world.store.put(
        Subscriber(platform="discord", user_id="42", delivery=f"channel:{CHANNEL_0DTE}")
    )
    commands = Commands(
        subscribers=world.store, ledger=world.ledger, outbox=world.outbox, trial_days=7
    )
    cog = AccountCog(BotDeps(commands=commands, clock=world.clock, settings=SETTINGS))
    done = await call(cog.settings, cog, Interaction(42), delivery="dm")
    assert "Delivery: direct message" in done.text
    assert (await world.sub("42")).delivery == "dm"
    done = await call(cog.settings, cog, Interaction(42), delivery="channel")
    assert "Delivery: channel" in done.text
    no_channel = DiscordSettings()
    cog = AccountCog(BotDeps(commands=commands, clock=world.clock, settings=no_channel))
    refused = await call(cog.settings, cog, Interaction(42), delivery="channel")
    assert "Not changed" in refused.text


async def test_start_grants_the_trial_role_and_the_sweep_removes_it(world: World, guild):
    commands = Commands(
        subscribers=world.store, ledger=world.ledger, outbox=world.outbox, trial_days=7
    )
    roles = TrialRoles(roles=world.publisher, settings=SETTINGS)
    cog = AccountCog(
        BotDeps(commands=commands, clock=world.clock, settings=SETTINGS, trial_roles=roles)
    )
    started = await call(cog.start, cog, Interaction(int(ALICE)))
    assert started.response.deferred  # the role is one more REST call: deferred first
    assert "Welcome to condorbot" in started.text
    assert guild.member_roles[(GUILD, ALICE)] == {TRIAL_ROLE}

    services = Services(
        notifier=world.notifier,
        subscribers=world.store,
        feed_for=lambda day: pytest.fail("the sweep reads no market data"),
        rules=CondorRules(),
        hedge_rules=HedgeRules(),
        clock=world.clock,
        on_expired=roles.revoke,
    )
    await services.trial_sweep(NOW + timedelta(days=6))
    assert guild.member_roles[(GUILD, ALICE)] == {TRIAL_ROLE}  # reminded, not yet expired
    await services.trial_sweep(NOW + timedelta(days=7))
    assert (await world.sub(ALICE)).status is SubscriberStatus.EXPIRED
    assert guild.member_roles[(GUILD, ALICE)] == set()


async def test_a_used_trial_grants_no_role_and_refusals_are_not_errors(world: World, guild):
    roles = TrialRoles(roles=world.publisher, settings=SETTINGS)
    assert not await roles.grant("1400000000000000077", None)  # not a member: 404 10007
    guild.forbidden_roles.add(TRIAL_ROLE)
    assert not await roles.grant(ALICE, int(GUILD))  # role above the bot's: 403 50013
    assert await roles.revoke(Subscriber(platform="telegram", user_id=ALICE)) == 0
    no_role = TrialRoles(roles=world.publisher, settings=DiscordSettings(guild_id=int(GUILD)))
    assert not await no_role.grant(ALICE, None)
    assert guild.member_roles.get((GUILD, ALICE), set()) == set()


async def test_sync_registers_the_commands_with_each_guild(world: World, guild):
    commands = Commands(
        subscribers=world.store, ledger=world.ledger, outbox=world.outbox, trial_days=7
    )
    bot = CondorBot(BotDeps(commands=commands, clock=world.clock, settings=SETTINGS))
    synced = await sync_app_commands(bot, TOKEN, [int(GUILD)])
    stored = guild.commands[GUILD]
    assert synced == {int(GUILD): len(stored)}
    names = {c["name"] for c in stored}
    assert names >= {"start", "trial", "stop", "status", "help", "settings", "today", "whatif"}
    (admin,) = [c for c in stored if c["name"] == "admin"]
    manage_guild = discord.Permissions(manage_guild=True).value
    assert int(admin["default_member_permissions"]) == manage_guild
    assert {o["name"] for o in admin["options"]} >= {"health", "broadcast", "subscribers"}
    settings = next(c for c in stored if c["name"] == "settings")
    assert settings["description"] == "Choose your tracks, risk levels, alert levels and delivery."
    assert None not in guild.commands  # nothing global


async def test_sync_without_a_guild_is_global_and_a_foreign_guild_is_refused(world: World, guild):
    commands = Commands(
        subscribers=world.store, ledger=world.ledger, outbox=world.outbox, trial_days=7
    )
    deps = BotDeps(commands=commands, clock=world.clock, settings=SETTINGS)
    assert (await sync_app_commands(CondorBot(deps), TOKEN))[None] == len(guild.commands[None])
    with pytest.raises(discord.Forbidden):
        await sync_app_commands(CondorBot(deps), TOKEN, [1500000000000000999])


def test_discord_sync_without_a_token_is_a_one_line_error(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("DISCORD__TOKEN", raising=False)
    monkeypatch.setenv("STATE_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # no .env
    assert main(["discord", "sync"]) == 2
    assert "DISCORD__TOKEN is not set" in capsys.readouterr().err
