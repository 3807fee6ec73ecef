"""`CondorBot`: discord.py's `commands.Bot` with one cog per feature, over the shared commands.

Dependencies come in through the constructor (no globals); intents are the minimum slash
commands need (guilds only: no message content, no member list). Every command is a thin call
into `bot.commands.Commands` whose `Reply` is shown as an ephemeral embed; anything that reads
the ledger or the outbox defers first, because an interaction must be acknowledged within 3 s.
Slash commands are synced by `sync_commands` (an operator's step), never on every start.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.commands import HELP, Commands, Reply
from bot.ports import Clock, NoticeLevel, Subscriber, SubscriberStatus, SubscriberStore
from bot.render.discord_embed import text_embed
from bot.settings import DiscordSettings
from core.types import Risk

logger = logging.getLogger(__name__)

PLATFORM = "discord"


@dataclass(frozen=True, slots=True, kw_only=True)
class BotDeps:
    """What the cogs need: the shared commands, the clock and the Discord settings."""

    commands: Commands
    clock: Clock
    settings: DiscordSettings
    platforms: Sequence[str] = (PLATFORM,)


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

    @app_commands.command(name="start")
    async def start(self, interaction: discord.Interaction) -> None:
        """Subscribe and start your free trial."""
        reply = await self.deps.commands.start(
            PLATFORM, self._user(interaction), self.deps.clock.now()
        )
        await answer(interaction, reply)

    @app_commands.command(name="trial")
    async def trial(self, interaction: discord.Interaction) -> None:
        """Start your free trial."""
        reply = await self.deps.commands.trial(
            PLATFORM, self._user(interaction), self.deps.clock.now()
        )
        await answer(interaction, reply)

    @app_commands.command(name="stop")
    async def stop(self, interaction: discord.Interaction) -> None:
        """Stop all messages."""
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

    @app_commands.command(name="settings")
    @app_commands.describe(
        tracks="Comma-separated tracks: 0dte,1dte,45dte",
        risks="Comma-separated risk levels: conservative,balanced,aggressive",
        kind="An event kind (condor, no_trade, hedge, exit, day_result) to set the level of",
        level="on, silent or off for that kind",
    )
    async def settings(
        self,
        interaction: discord.Interaction,
        tracks: str | None = None,
        risks: str | None = None,
        kind: Literal["condor", "no_trade", "hedge", "no_hedge", "exit", "day_result"]
        | None = None,
        level: Literal["on", "silent", "off"] | None = None,
    ) -> None:
        """Choose your tracks, risk levels and alert levels."""

        def split(value: str | None) -> list[str] | None:
            return None if value is None else [p.strip() for p in value.split(",") if p.strip()]

        try:
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

    @app_commands.command(name="broadcast")
    @app_commands.describe(text="The message to every subscriber")
    async def broadcast(self, interaction: discord.Interaction, text: str) -> None:
        """Send a message to every subscriber (through the outbox, once each)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        notice_id = f"broadcast-{interaction.id}"
        reply = await self.deps.commands.broadcast(notice_id, text, self.deps.platforms)
        await answer(interaction, reply)


class CondorBot(commands.Bot):
    """The Discord client: started inside the service's task group."""

    def __init__(self, deps: BotDeps) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(command_prefix=commands.when_mentioned, intents=intents, help_command=None)
        self.deps = deps

    async def setup_hook(self) -> None:
        """Add one cog per feature (commands are synced separately, see `sync_commands`)."""
        await self.add_cog(AccountCog(self.deps))
        await self.add_cog(SignalsCog(self.deps))
        await self.add_cog(AdminCog(self.deps))

    async def sync_commands(self, guild_id: int | None = None) -> int:
        """Sync the slash commands to one guild (at once) or globally (within the hour)."""
        guild = None if guild_id is None else discord.Object(id=guild_id)
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        synced = await self.tree.sync(guild=guild)
        return len(synced)


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
