"""/settings menus (a discord.ui.View) and /performance, /admin skip, /admin replay.

The view's callbacks run as discord.py runs them (the select's state refreshed from the
component data, then its callback), with our stand-in interaction.
"""

from __future__ import annotations

from datetime import date, datetime

import discord
import pytest

from bot.commands import Commands
from bot.frontends.discord.bot import AccountCog, AdminCog, BotDeps, SignalsCog
from bot.frontends.discord.settings_view import SettingsView
from bot.notify import Audience, Notifier
from bot.ports import SubscriberStatus
from bot.services import Services
from bot.settings import DiscordSettings
from core.calendar import NEW_YORK
from core.rules import CondorRules, HedgeRules
from core.types import DailyResult
from tests.fakes import FixedClock, InMemoryLedger, InMemoryOutbox, InMemorySubscriberStore
from tests.frontends.discord.events import replayed_events
from tests.frontends.discord.test_cogs import ADMIN_ROLE, Interaction, call

NOW = datetime(2023, 3, 22, 16, 30, tzinfo=NEW_YORK)


@pytest.fixture
def world():
    clock = FixedClock(NOW)
    store = InMemorySubscriberStore()
    ledger = InMemoryLedger()
    outbox = InMemoryOutbox(clock)
    notifier = Notifier(
        subscribers=store, ledger=ledger, outbox=outbox, clock=clock, platforms=("discord",)
    )
    services = Services(
        notifier=notifier,
        subscribers=store,
        feed_for=lambda day: pytest.fail("no market data needed"),
        rules=CondorRules(),
        hedge_rules=HedgeRules(),
        clock=clock,
    )

    async def replay(day: date):
        if day != date(2023, 3, 22):
            raise ValueError(f"no recorded bars for {day}")
        return replayed_events()[:-1]

    deps = BotDeps(
        commands=Commands(subscribers=store, ledger=ledger, outbox=outbox, trial_days=7),
        clock=clock,
        settings=DiscordSettings(admin_role_id=ADMIN_ROLE, channel_0dte=777),
        skip=services.skip,
        replay=replay,
    )
    return deps, store, notifier, outbox


async def open_menus(deps, user: int = 42) -> SettingsView:
    cog = AccountCog(deps)
    await call(cog.start, cog, Interaction(user))
    opened = await call(cog.settings, cog, Interaction(user))
    (sent,) = opened.answers
    assert sent.ephemeral
    assert "Your subscription" in sent.embed.title
    assert isinstance(sent.view, SettingsView)
    return sent.view


def item(view: SettingsView, name: str):
    (found,) = [
        c
        for c in view.children
        if getattr(c, "placeholder", None) == name or getattr(c, "label", None) == name
    ]
    return found


async def choose(view: SettingsView, name: str, values: list[str], user: int = 42) -> Interaction:
    select = item(view, name)
    interaction = Interaction(user)
    select._refresh_state(interaction, {"values": values})  # what discord.py does on dispatch
    assert await view.interaction_check(interaction)  # type: ignore[arg-type]
    await select.callback(interaction)
    return interaction


async def test_settings_without_options_opens_menus_preset_to_the_subscription(world):
    deps, *_ = world
    view = await open_menus(deps)
    tracks = item(view, "Tracks")
    assert {o.value for o in tracks.options if o.default} == {"0dte", "1dte", "45dte"}
    assert {o.value for o in item(view, "Risk levels").options if o.default} == {"balanced"}
    assert isinstance(item(view, "Direct messages"), discord.ui.Button)


async def test_the_selects_change_tracks_risks_and_levels(world):
    deps, store, *_ = world
    view = await open_menus(deps)
    edited = await choose(view, "Tracks", ["0dte", "45dte"])
    assert "Tracks: 0dte, 45dte" in edited.text
    await choose(view, "Risk levels", ["aggressive"])
    await choose(view, "Alert level of one kind of card", ["hedge:silent"])
    sub = await store.get("discord", "42")
    assert sub.tracks == ("0dte", "45dte")
    assert sub.risks == ("aggressive",)
    assert sub.levels["hedge"] == "silent"


async def test_the_buttons_switch_delivery_and_only_the_owner_may_use_the_view(world):
    deps, store, *_ = world
    view = await open_menus(deps)
    on_channel = Interaction(42)
    await item(view, "Track channel").callback(on_channel)
    assert "Delivery: channel" in on_channel.text
    assert (await store.get("discord", "42")).delivery == "channel:777"
    by_dm = Interaction(42)
    await item(view, "Direct messages").callback(by_dm)
    assert "Delivery: direct message" in by_dm.text
    assert not await view.interaction_check(Interaction(43))  # type: ignore[arg-type]


async def test_settings_for_a_stranger_says_start_first(world):
    deps, *_ = world
    cog = AccountCog(deps)
    done = await call(cog.settings, cog, Interaction(9))
    assert "Not subscribed" in done.text


async def test_performance_reads_the_settled_days_from_the_ledger(world):
    deps, _, notifier, _ = world
    for event in replayed_events():
        await notifier.publish(event, Audience(track="0dte", risk="balanced"))
    assert any(isinstance(e, DailyResult) for e in replayed_events())
    cog = SignalsCog(deps)
    done = await call(cog.performance, cog, Interaction(42))
    assert done.response.deferred
    assert "Performance (all tracks, all time; per contract)" in done.text
    assert "0DTE balanced: 1 trade," in done.text
    none = await call(cog.performance, cog, Interaction(42), track="45dte", days=30)
    assert "No settled trades in that window." in none.text


async def test_admin_skip_publishes_a_manual_no_trade_card_per_risk_level_once(world):
    deps, store, _, outbox = world
    await call(AccountCog(deps).start, AccountCog(deps), Interaction(42))
    cog = AdminCog(deps)
    admin = (ADMIN_ROLE,)
    done = await call(cog.skip, cog, Interaction(8, roles=admin), track="0dte", reason="FOMC")
    assert "0dte skipped today" in done.text
    assert done.response.deferred
    assert "3 no-trade cards" in done.text
    (delivery,) = await outbox.claim("discord", "w", 10)  # 42 follows 0dte balanced
    assert "skipped: FOMC" in delivery.text
    assert (await store.get("discord", "42")).status is SubscriberStatus.TRIAL
    again = await call(cog.skip, cog, Interaction(8, roles=admin), track="0dte", reason="FOMC")
    assert "0dte skipped today" in again.text
    assert await outbox.claim("discord", "w2", 10) == []  # the same day's skip queues nothing
    blank = await call(cog.skip, cog, Interaction(8, roles=admin), track="0dte", reason="  ")
    assert "Not skipped" in blank.text


async def test_admin_replay_shows_the_days_timeline(world):
    deps, *_ = world
    cog = AdminCog(deps)
    done = await call(cog.replay, cog, Interaction(8, roles=(ADMIN_ROLE,)), day="2023-03-22")
    assert "Replay 2023-03-22 (0dte balanced)" in done.text
    assert "10:00 SPX IRON CONDOR | 0DTE | balanced" in done.text
    missing = await call(cog.replay, cog, Interaction(8), day="2023-03-23")
    assert "No replay for 2023-03-23" in missing.text
    nonsense = await call(cog.replay, cog, Interaction(8), day="tuesday")
    assert "Not a date" in nonsense.text
    off = AdminCog(BotDeps(commands=deps.commands, clock=deps.clock, settings=deps.settings))
    assert "Replays are off" in (await call(off.replay, off, Interaction(8), day="2023-03-22")).text
    skip_off = await call(off.skip, off, Interaction(8), track="0dte", reason="x")
    assert "Skip is off" in skip_off.text
