"""`CondorBot`: discord.py's `commands.Bot` with one cog per feature, over the shared commands.

Dependencies come in through the constructor (no globals); intents are the minimum slash
commands need (guilds only: no message content), plus the privileged members intent only when
``DISCORD__TRACK_MEMBERS`` is set, so that a member who leaves is marked unsubscribed. Every
command is a thin call into `bot.commands.Commands` whose `Reply` is shown as an ephemeral
embed; anything that reads the ledger or the outbox defers first, because an interaction must
be acknowledged within 3 s. Slash commands are synced by `sync_commands` (an operator's step),
never on every start.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.commands import HELP, Commands, Reply, performance_reply
from bot.frontends.discord.members import TrialRoles, fallback_channel, member_left
from bot.frontends.discord.settings_view import SettingsView
from bot.ports import Clock, NoticeLevel, Subscriber, SubscriberStatus, SubscriberStore
from bot.render.discord_embed import text_embed
from bot.render.text import render_text
from bot.settings import DiscordSettings
from core.calendar import NEW_YORK
from core.types import Event, NoTradeDay, Risk, Track

logger = logging.getLogger(__name__)

PLATFORM = "discord"

#: Stands a track aside today (`Services.skip`): the no-trade cards it published.
SkipTrack = Callable[[Track, str, datetime], Awaitable[Sequence[NoTradeDay]]]
#: Replays one recorded day (`bot.replay.replay_day` as the composition root binds it).
ReplayDay = Callable[[date], Awaitable[Sequence[Event]]]
TrackName = Literal["0dte", "1dte", "45dte"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BotDeps:
    """What the cogs need: the shared commands, the clock and the Discord settings.

    Attributes:
        commands: The use cases shared with Telegram.
        clock: The time.
        settings: ``DISCORD__*``.
        platforms: Platforms a broadcast reaches.
        trial_roles: Grants the trial role on /start (None: no trial role).
        skip: `/admin skip` (None: the command says it is off).
        replay: `/admin replay` (None: the command says replays are off).
    """

    commands: Commands
    clock: Clock
    settings: DiscordSettings
    platforms: Sequence[str] = (PLATFORM,)
    trial_roles: TrialRoles | None = None
    skip: SkipTrack | None = None
    replay: ReplayDay | None = None


def replay_timeline(day: date, events: Sequence[Event]) -> Reply:
    """A replayed day as a timeline: one line per event, its time and its card's title."""
    lines = [
        f"{event.asof.astimezone(NEW_YORK):%H:%M} {render_text(event).split(chr(10), 1)[0]}"
        for event in events
    ]
    return Reply(
        title=f"Replay {day} (0dte balanced): {len(events)} events",
        lines=tuple(lines) or ("No events.",),
    )


def reply_embed(reply: Reply) -> discord.Embed:
    """Show a command's reply as an embed within Discord's limits."""
    return discord.Embed.from_dict(text_embed("\n".join(reply.lines), title=reply.title).to_dict())


async def answer(interaction: discord.Interaction, reply: Reply) -> None:
    """Answer ephemerally: as the response, or as a follow-up once deferred."""
    if interaction.response.is_done():
        await interaction.followup.send(embed=reply_embed(reply), ephemeral=True)
    else:
        await interaction.response.send_message(embed=reply_embed(reply), ephemeral=True)


def is_admin(interaction: discord.Interaction, settings: DiscordSettings) -> bool:
    """Whether the user is named an admin or holds the admin role."""
    if interaction.user.id in settings.admin_user_ids:
        return True
    roles = getattr(interaction.user, "roles", ())
    return settings.admin_role_id is not None and any(
        role.id == settings.admin_role_id for role in roles
    )


class AccountCog(commands.Cog):
    """Subscribing, the trial, status, settings and help."""

    def __init__(self, deps: BotDeps) -> None:
        self.deps = deps

    def _user(self, interaction: discord.Interaction) -> str:
        return str(interaction.user.id)

    async def _grant_trial_role(self, interaction: discord.Interaction) -> None:
        roles = self.deps.trial_roles
        user = self._user(interaction)
        found = await self.deps.commands.subscribers.get(PLATFORM, user)
        if roles is not None and found is not None and found.status is SubscriberStatus.TRIAL:
            await roles.grant(user, getattr(interaction, "guild_id", None))

    async def _begin(self, interaction: discord.Interaction, first: bool) -> None:
        if self.deps.trial_roles is not None:
            # Granting the role is one more REST call: acknowledge within the 3 s first.
            await interaction.response.defer(ephemeral=True, thinking=True)
        begin = self.deps.commands.start if first else self.deps.commands.trial
        reply = await begin(PLATFORM, self._user(interaction), self.deps.clock.now())
        await self._grant_trial_role(interaction)
        await answer(interaction, reply)

    @app_commands.command(name="subscribe")
    async def subscribe(self, interaction: discord.Interaction) -> None:
        """Subscribe and start your free trial."""
        await self._begin(interaction, first=True)

    @app_commands.command(name="start")
    async def start(self, interaction: discord.Interaction) -> None:
        """Subscribe and start your free trial (the same as /subscribe)."""
        await self._begin(interaction, first=True)

    @app_commands.command(name="trial")
    async def trial(self, interaction: discord.Interaction) -> None:
        """Start your free trial."""
        await self._begin(interaction, first=False)

    @app_commands.command(name="unsubscribe")
    async def unsubscribe(self, interaction: discord.Interaction) -> None:
        """Stop all messages."""
        await answer(interaction, await self.deps.commands.stop(PLATFORM, self._user(interaction)))

    @app_commands.command(name="stop")
    async def stop(self, interaction: discord.Interaction) -> None:
        """Stop all messages (the same as /unsubscribe)."""
        await answer(interaction, await self.deps.commands.stop(PLATFORM, self._user(interaction)))

    @app_commands.command(name="status")
    async def status(self, interaction: discord.Interaction) -> None:
        """Show your subscription."""
        reply = await self.deps.commands.status(
            PLATFORM, self._user(interaction), self.deps.clock.now()
        )
        await answer(interaction, reply)

    @app_commands.command(name="help")
    async def help(self, interaction: discord.Interaction) -> None:
        """What the bot does and its commands."""
        head, *lines = HELP.splitlines()
        await answer(interaction, Reply(title=head, lines=tuple(lines)))

    async def _open_menus(self, interaction: discord.Interaction) -> None:
        user = self._user(interaction)
        found = await self.deps.commands.subscribers.get(PLATFORM, user)
        reply = await self.deps.commands.status(PLATFORM, user, self.deps.clock.now())
        if found is None:
            await answer(interaction, reply)
            return
        await interaction.response.send_message(
            embed=reply_embed(reply), view=SettingsView(self.deps, found), ephemeral=True
        )

    async def _set_delivery(self, user_id: str, delivery: str) -> None:
        store = self.deps.commands.subscribers
        found = await store.get(PLATFORM, user_id)
        if found is None:
            return
        if delivery == "dm":
            await store.put(replace(found, delivery="dm"))
            return
        channel = fallback_channel(found, self.deps.settings)
        if channel is None:
            raise ValueError("no channel is configured for your tracks: delivery stays by DM")
        await store.put(replace(found, delivery=f"channel:{channel}"))

    @app_commands.command(name="settings")
    @app_commands.describe(
        tracks="Comma-separated tracks: 0dte,1dte,45dte",
        risks="Comma-separated risk levels: conservative,balanced,aggressive",
        kind="An event kind (condor, no_trade, hedge, exit, day_result) to set the level of",
        level="on, silent or off for that kind",
        delivery="dm: by direct message; channel: in your first track's channel",
    )
    async def settings(
        self,
        interaction: discord.Interaction,
        tracks: str | None = None,
        risks: str | None = None,
        kind: Literal["condor", "no_trade", "hedge", "no_hedge", "exit", "day_result"]
        | None = None,
        level: Literal["on", "silent", "off"] | None = None,
        delivery: Literal["dm", "channel"] | None = None,
    ) -> None:
        """Choose your tracks, risk levels, alert levels and delivery."""

        def split(value: str | None) -> list[str] | None:
            return None if value is None else [p.strip() for p in value.split(",") if p.strip()]

        if all(option is None for option in (tracks, risks, kind, level, delivery)):
            await self._open_menus(interaction)
            return
        try:
            if delivery is not None:
                await self._set_delivery(self._user(interaction), delivery)
            reply = await self.deps.commands.settings(
                PLATFORM,
                self._user(interaction),
                self.deps.clock.now(),
                tracks=split(tracks),
                risks=split(risks),
                level=(kind, NoticeLevel(level)) if kind and level else None,
            )
        except ValueError as error:
            reply = Reply(title="Not changed", lines=(str(error),))
        await answer(interaction, reply)


class SignalsCog(commands.Cog):
    """Today's signals and the what-if calculator."""

    def __init__(self, deps: BotDeps) -> None:
        self.deps = deps

    @app_commands.command(name="today")
    async def today(self, interaction: discord.Interaction) -> None:
        """Today's signals."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        await answer(interaction, await self.deps.commands.today(self.deps.clock.now()))

    @app_commands.command(name="performance")
    @app_commands.describe(track="One track (default: every track)", days="Only the last N days")
    async def performance(
        self,
        interaction: discord.Interaction,
        track: TrackName | None = None,
        days: app_commands.Range[int, 1, 3650] | None = None,
    ) -> None:
        """The track record from the ledger, per contract."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        reply = await performance_reply(
            self.deps.commands.ledger, self.deps.clock.now(), track, days
        )
        await answer(interaction, reply)

    @app_commands.command(name="whatif")
    @app_commands.describe(price="SPX settlement price", risk="Risk level (default balanced)")
    async def whatif(
        self,
        interaction: discord.Interaction,
        price: str,
        risk: Literal["conservative", "balanced", "aggressive"] = "balanced",
    ) -> None:
        """P&L per contract of today's condors if SPX settles at a price."""
        try:
            value = Decimal(price.replace(",", ""))
        except InvalidOperation:
            await answer(interaction, Reply(title="Not a price", lines=(repr(price),)))
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        reply = await self.deps.commands.whatif(value, self.deps.clock.now(), str(Risk(risk)))
        await answer(interaction, reply)


@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
class AdminCog(commands.GroupCog, group_name="admin"):
    """Admin commands: limited by default permissions, then checked against the admin role."""

    def __init__(self, deps: BotDeps) -> None:
        self.deps = deps
        super().__init__()

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Refuse anyone without the admin role or id."""
        if is_admin(interaction, self.deps.settings):
            return True
        await answer(interaction, Reply(title="Admins only", lines=("Not allowed.",)))
        return False

    @app_commands.command(name="health")
    async def health(self, interaction: discord.Interaction) -> None:
        """Ledger and delivery health."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        await answer(interaction, await self.deps.commands.health())

    @app_commands.command(name="subscribers")
    async def subscribers(self, interaction: discord.Interaction) -> None:
        """Subscribers per platform and status."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        await answer(interaction, await self.deps.commands.subscriber_counts())

    @app_commands.command(name="skip")
    @app_commands.describe(track="The track to stand aside today", reason="Why (on the card)")
    async def skip(self, interaction: discord.Interaction, track: TrackName, reason: str) -> None:
        """Stand a track aside today: a no-trade card for every risk level."""
        if self.deps.skip is None:
            await answer(interaction, Reply(title="Skip is off", lines=("Not available here.",)))
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            events = await self.deps.skip(Track(track), reason, self.deps.clock.now())
        except ValueError as error:
            await answer(interaction, Reply(title="Not skipped", lines=(str(error),)))
            return
        lines = (f"{len(events)} no-trade cards published (once per day: a repeat adds none).",)
        await answer(interaction, Reply(title=f"{track} skipped today", lines=lines))

    @app_commands.command(name="replay")
    @app_commands.describe(day="A recorded trading day, YYYY-MM-DD")
    async def replay(self, interaction: discord.Interaction, day: str) -> None:
        """Replay a recorded day and show its timeline."""
        try:
            when = date.fromisoformat(day.strip())
        except ValueError:
            await answer(interaction, Reply(title="Not a date", lines=("Use YYYY-MM-DD.",)))
            return
        if self.deps.replay is None:
            await answer(interaction, Reply(title="Replays are off", lines=("Not here.",)))
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            events = await self.deps.replay(when)
        except (ValueError, KeyError, OSError) as error:  # no data for that day, and the like
            await answer(interaction, Reply(title=f"No replay for {when}", lines=(str(error),)))
            return
        await answer(interaction, replay_timeline(when, events))

    @app_commands.command(name="broadcast")
    @app_commands.describe(text="The message to every subscriber")
    async def broadcast(self, interaction: discord.Interaction, text: str) -> None:
        """Send a message to every subscriber (through the outbox, once each)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        notice_id = f"broadcast-{interaction.id}"
        reply = await self.deps.commands.broadcast(notice_id, text, self.deps.platforms)
        await answer(interaction, reply)


class MembersCog(commands.Cog):
    """Guild membership: a member who leaves is marked unsubscribed.

    Discord sends member events only with the privileged members intent, which `CondorBot`
    asks for only when ``DISCORD__TRACK_MEMBERS`` is set; without it this listener never fires.
    """

    def __init__(self, deps: BotDeps) -> None:
        self.deps = deps

    @commands.Cog.listener()
    async def on_raw_member_remove(self, payload: discord.RawMemberRemoveEvent) -> None:
        """Unsubscribe the member who left (raw: works without the member cache)."""
        await member_left(
            self.deps.commands.subscribers, self.deps.settings, payload.guild_id, payload.user.id
        )


class CondorBot(commands.Bot):
    """The Discord client: started inside the service's task group."""

    def __init__(self, deps: BotDeps) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        intents.members = deps.settings.track_members
        super().__init__(command_prefix=commands.when_mentioned, intents=intents, help_command=None)
        self.deps = deps

    async def setup_hook(self) -> None:
        """Add one cog per feature (commands are synced separately, see `sync_commands`)."""
        await self.add_cog(AccountCog(self.deps))
        await self.add_cog(SignalsCog(self.deps))
        await self.add_cog(AdminCog(self.deps))
        if self.deps.settings.track_members:
            await self.add_cog(MembersCog(self.deps))

    async def sync_commands(self, guild_id: int | None = None) -> int:
        """Sync the slash commands to one guild (at once) or globally (within the hour)."""
        guild = None if guild_id is None else discord.Object(id=guild_id)
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        synced = await self.tree.sync(guild=guild)
        return len(synced)


async def sync_app_commands(
    bot: CondorBot, token: str, guild_ids: Sequence[int] = ()
) -> dict[int | None, int]:
    """Log in over REST (no gateway), sync the slash commands, log out.

    Each guild in `guild_ids` gets every command at once (a guild sync is immediate); with no
    guild the commands are synced globally, which Discord takes up to an hour to show.

    Returns:
        How many commands were synced, per guild id (None: global).
    """
    synced: dict[int | None, int] = {}
    async with bot:
        await bot.login(token)  # also runs setup_hook: the cogs are added
        for guild in guild_ids or (None,):
            synced[guild] = await bot.sync_commands(guild)
            logger.info("synced %d discord commands to %s", synced[guild], guild or "global")
    return synced


async def ensure_channel_subscribers(store: SubscriberStore, settings: DiscordSettings) -> int:
    """Register each configured track channel as a subscriber of its track, every risk level."""
    count = 0
    for track, channel in settings.track_channels.items():
        await store.put(
            Subscriber(
                platform=PLATFORM,
                user_id=f"channel-{track}",
                status=SubscriberStatus.ACTIVE,
                tracks=(track,),
                risks=tuple(str(r) for r in Risk),
                delivery=f"channel:{channel}",
            )
        )
        count += 1
    return count
