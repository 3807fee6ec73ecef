"""Discord subscribers as guild members: the trial role, and channel delivery for closed DMs.

- `TrialRoles` gives the trial role (``DISCORD__TRIAL_ROLE_ID``) on /start and /trial and takes
  it back when the trial sweep expires the trial (the `Services.on_trial_expired` hook), so a
  guild can open trial-only channels to it.
- `DmFallback` is the delivery worker's answer to 403 code 50007 ("Cannot send messages to this
  user") on a DM: the subscriber is switched to the channel of their first track that has one
  instead of being deactivated, the refused card is queued into that channel (under the
  channel's own idempotency key, so a channel that already carries it does not get it twice),
  and the subscriber is told once, by a note in that channel that mentions (pings) only them.
  A later DM of theirs that was already queued (the card after its chart) follows them into
  the channel without a second note.
- `TrialEndedDm` queues, through the outbox and once per trial, the DM that tells a subscriber
  the trial sweep has ended their trial.
- `member_left` marks a subscriber who left the guild unsubscribed (the bot's
  ``on_raw_member_remove``, which needs the privileged members intent: only with
  ``DISCORD__TRACK_MEMBERS=true``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from bot.ports import (
    Delivery,
    Outbox,
    SendResult,
    Subscriber,
    SubscriberStatus,
    SubscriberStore,
)
from bot.settings import DiscordSettings

logger = logging.getLogger(__name__)

PLATFORM = "discord"
_RECEIVING = frozenset({SubscriberStatus.TRIAL, SubscriberStatus.ACTIVE})


class MemberRoles(Protocol):
    """Adding and removing a guild member's role (`DiscordPublisher` implements it over REST)."""

    async def add_role(self, guild_id: int, user_id: int, role_id: int, *, reason: str) -> bool:
        """Give the role; False when Discord refuses."""
        ...

    async def remove_role(self, guild_id: int, user_id: int, role_id: int, *, reason: str) -> bool:
        """Take the role; False when Discord refuses."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class TrialRoles:
    """The trial role: granted when a trial starts, removed when it expires."""

    roles: MemberRoles
    settings: DiscordSettings

    async def grant(self, user_id: str, guild_id: int | None) -> bool:
        """Give the trial role in the guild the command came from (else the configured one)."""
        role = self.settings.trial_role_id
        guild = guild_id or self.settings.guild_id
        if role is None or guild is None or not user_id.isdigit():
            return False
        return await self.roles.add_role(guild, int(user_id), role, reason="condorbot trial")

    async def revoke(self, subscriber: Subscriber) -> int:
        """Remove the trial role in every configured guild; return in how many it was removed.

        The trial sweep calls this for every subscriber whose trial it expires; subscribers of
        other platforms and channel subscribers are ignored.
        """
        role = self.settings.trial_role_id
        if subscriber.platform != PLATFORM or role is None or not subscriber.user_id.isdigit():
            return 0
        removed = 0
        for guild in self.settings.all_guild_ids:
            removed += await self.roles.remove_role(
                guild, int(subscriber.user_id), role, reason="condorbot trial ended"
            )
        return removed


def fallback_channel(subscriber: Subscriber, settings: DiscordSettings) -> int | None:
    """The channel of the subscriber's first track that has one (None: no channel to use)."""
    channels = settings.track_channels
    return next((channels[t] for t in subscriber.tracks if t in channels), None)


def dm_closed_note(user_id: str, tracks: Sequence[str]) -> str:
    """The one note a subscriber gets when their cards move from DMs into a channel."""
    return (
        f"<@{user_id}> your direct messages are closed to condorbot, so your "
        f"{', '.join(tracks) or 'signal'} cards now come here. Allow direct messages from this "
        "server's members, then choose direct messages again in /settings to switch back."
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class DmFallback:
    """Switch a subscriber whose DMs are closed to channel delivery (see the module docstring)."""

    subscribers: SubscriberStore
    outbox: Outbox
    settings: DiscordSettings

    async def __call__(self, delivery: Delivery, result: SendResult) -> bool:
        """Handle a BLOCKED Discord DM; return False when it is not one we can re-route."""
        if delivery.platform != PLATFORM:
            return False
        user_id = delivery.target.removeprefix("user:")
        found = await self.subscribers.get(PLATFORM, user_id)
        if found is None or found.status not in _RECEIVING:
            return False
        if found.delivery.startswith("channel:"):
            # Moved by an earlier refusal (the chart before this card): follow them there.
            target = found.delivery
        elif found.delivery == "dm" and (channel := fallback_channel(found, self.settings)):
            target = f"channel:{channel}"
            await self.subscribers.put(replace(found, delivery=target))
        else:
            return False
        suffix = ":chart" if delivery.attachment else ""
        rerouted = await self.outbox.enqueue(
            replace(
                delivery,
                key=f"{delivery.event_id}:{PLATFORM}:{target}{suffix}",
                target=target,
                entry_id="",
                attempts=0,
            )
        )
        notice_id = f"dm-closed-{found.key}"
        await self.outbox.enqueue(
            Delivery(
                key=f"{notice_id}:{PLATFORM}:{target}",
                platform=PLATFORM,
                target=target,
                event_id=notice_id,
                text=dm_closed_note(user_id, found.tracks),
            )
        )
        logger.info(
            "discord user %s takes no DMs (%s): moved to %s; card %s",
            user_id,
            result.detail,
            target,
            "re-routed" if rerouted else "already in the channel",
        )
        return True


def trial_ended_text() -> str:
    """The DM a subscriber gets when the trial sweep ends their trial."""
    return (
        "Your condorbot free trial has ended, so the signal cards stop here and the trial "
        "role is removed. /status shows your subscription; thank you for trying condorbot."
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class TrialEndedDm:
    """Tell a Discord subscriber by DM that their trial ended (a `Services.on_expired` hook).

    Queued in the outbox under a key made of the subscriber and their trial's end, so a sweep
    that runs twice, or a hook called again after a restart, sends it once.
    """

    outbox: Outbox

    async def __call__(self, subscriber: Subscriber) -> bool:
        """Queue the DM; False for other platforms, channel subscribers, or when queued before."""
        if subscriber.platform != PLATFORM or not subscriber.user_id.isdigit():
            return False
        end = "" if subscriber.trial_end is None else f"-{subscriber.trial_end:%Y%m%d}"
        notice_id = f"trial-ended-{subscriber.key}{end}"
        target = f"user:{subscriber.user_id}"
        return await self.outbox.enqueue(
            Delivery(
                key=f"{notice_id}:{PLATFORM}:{target}",
                platform=PLATFORM,
                target=target,
                event_id=notice_id,
                text=trial_ended_text(),
            )
        )


async def member_left(
    subscribers: SubscriberStore, settings: DiscordSettings, guild_id: int, user_id: int
) -> bool:
    """Mark a member who left one of our guilds unsubscribed; True when that changed anything.

    Leaving a guild we do not serve changes nothing (when no guild is configured, any guild
    counts); a subscriber already unsubscribed, expired or blocked keeps their status.
    """
    guilds = settings.all_guild_ids
    if guilds and guild_id not in guilds:
        return False
    found = await subscribers.get(PLATFORM, str(user_id))
    if found is None or found.status not in _RECEIVING:
        return False
    await subscribers.put(replace(found, status=SubscriberStatus.UNSUBSCRIBED))
    logger.info("discord user %s left guild %s: unsubscribed", user_id, guild_id)
    return True
