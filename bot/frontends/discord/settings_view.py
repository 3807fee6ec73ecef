"""`/settings` without options: select menus and buttons (a `discord.ui.View`), ephemeral.

Tracks and risk levels are multi-selects preset to the subscriber's own; an alert level is one
pick of "kind: level"; two buttons switch delivery between direct messages and the track's
channel. Every change goes through the shared `Commands.settings` (or the subscriber store, for
delivery) and the message is edited in place to show the subscription as it now is. Only the
user who opened the view may use it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import discord

from bot.commands import Reply
from bot.frontends.discord.members import fallback_channel
from bot.ports import NoticeLevel, Subscriber
from bot.render.discord_embed import text_embed
from core.types import Risk, Track

if TYPE_CHECKING:
    from bot.frontends.discord.bot import BotDeps

#: Event kinds whose notice level a subscriber sets (as the notifier names them).
KINDS = ("condor", "no_trade", "hedge", "no_hedge", "exit", "day_result")
#: How long the menus answer, in seconds (Discord keeps an interaction token 15 minutes).
TIMEOUT_S = 600.0


def _embed(reply: Reply) -> discord.Embed:
    return discord.Embed.from_dict(text_embed("\n".join(reply.lines), title=reply.title).to_dict())


class SettingsView(discord.ui.View):
    """The settings menus for one subscriber.

    Args:
        deps: The cogs' dependencies.
        subscriber: The subscriber as stored when the view was opened (presets the menus).
    """

    def __init__(self, deps: BotDeps, subscriber: Subscriber) -> None:
        super().__init__(timeout=TIMEOUT_S)
        self.deps = deps
        self.owner = subscriber.user_id
        chosen = {"Tracks": subscriber.tracks, "Risk levels": subscriber.risks}
        for item in self.children:
            if isinstance(item, discord.ui.Select) and item.placeholder in chosen:
                for option in item.options:
                    option.default = option.value in chosen[item.placeholder]

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Refuse anyone but the user who opened the view."""
        return str(interaction.user.id) == self.owner

    async def _apply(self, interaction: discord.Interaction, **change: Any) -> None:
        commands = self.deps.commands
        try:
            reply = await commands.settings("discord", self.owner, self.deps.clock.now(), **change)
        except ValueError as error:
            reply = Reply(title="Not changed", lines=(str(error),))
        await interaction.response.edit_message(embed=_embed(reply), view=self)

    @discord.ui.select(
        placeholder="Tracks",
        min_values=1,
        max_values=len(Track),
        options=[discord.SelectOption(label=str(t).upper(), value=str(t)) for t in Track],
    )
    async def tracks(
        self, interaction: discord.Interaction, select: discord.ui.Select[Any]
    ) -> None:
        """Set the tracks."""
        await self._apply(interaction, tracks=list(select.values))

    @discord.ui.select(
        placeholder="Risk levels",
        min_values=1,
        max_values=len(Risk),
        options=[discord.SelectOption(label=str(r), value=str(r)) for r in Risk],
    )
    async def risks(self, interaction: discord.Interaction, select: discord.ui.Select[Any]) -> None:
        """Set the risk levels."""
        await self._apply(interaction, risks=list(select.values))

    @discord.ui.select(
        placeholder="Alert level of one kind of card",
        options=[
            discord.SelectOption(label=f"{kind}: {level}", value=f"{kind}:{level}")
            for kind in KINDS
            for level in NoticeLevel
        ],
    )
    async def level(self, interaction: discord.Interaction, select: discord.ui.Select[Any]) -> None:
        """Set one kind's notice level (on, silent, off)."""
        kind, _, level = select.values[0].partition(":")
        await self._apply(interaction, level=(kind, NoticeLevel(level)))

    async def _deliver(self, interaction: discord.Interaction, delivery: str) -> None:
        store = self.deps.commands.subscribers
        found = await store.get("discord", self.owner)
        if found is not None:
            await store.put(_with_delivery(found, delivery))
        await self._apply(interaction)

    @discord.ui.button(label="Direct messages", style=discord.ButtonStyle.primary)
    async def by_dm(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        """Deliver by direct message."""
        await self._deliver(interaction, "dm")

    @discord.ui.button(label="Track channel", style=discord.ButtonStyle.secondary)
    async def by_channel(
        self, interaction: discord.Interaction, button: discord.ui.Button[Any]
    ) -> None:
        """Deliver in the channel of the first subscribed track that has one."""
        found = await self.deps.commands.subscribers.get("discord", self.owner)
        channel = None if found is None else fallback_channel(found, self.deps.settings)
        if channel is None:
            reply = Reply(title="Not changed", lines=("No channel is configured for your tracks.",))
            await interaction.response.edit_message(embed=_embed(reply), view=self)
            return
        await self._deliver(interaction, f"channel:{channel}")


def _with_delivery(subscriber: Subscriber, delivery: str) -> Subscriber:
    return replace(subscriber, delivery=delivery)
