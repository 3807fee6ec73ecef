"""`DiscordPublisher`: the outbox's Discord channel, over discord.py's REST client.

It needs no gateway connection: a delivery is one REST call (two for a first DM, which opens the
DM channel), so the delivery worker can run in a process that does not run the bot. It owns its
own `discord.http.HTTPClient` (and so its own rate-limit buckets), logged in on first use.

Targets: ``channel:<id>`` posts into a channel, ``user:<id>`` sends a DM; a bare id is a
channel when it is one of the configured channels (per-track and admin channels) and a user
otherwise, because the notifier gives a DM subscriber's user id and a channel subscriber's
channel id alike.

What Discord answers becomes a `SendResult`:

- 2xx -> SENT;
- 429 -> discord.py waits out a short ``retry_after`` itself (at most `max_ratelimit_timeout`
  seconds, and the global limit across all routes); a longer one comes back as RETRY with the
  ``retry_after`` Discord gave, and so does a 429 without Discord's headers (a Cloudflare ban);
- 403 code 50007 ("Cannot send messages to this user") or any 403 on a DM -> BLOCKED;
- 5xx, timeouts and connection errors -> RETRY;
- anything else (403 on a channel, 404 unknown channel, 400 invalid form body, 401) -> FAILED,
  which the worker dead-letters to the admin channel.

The message body: the notifier's delivery text is either a create-message body made by
`bot.render.discord_embed.message_payload` (JSON with ``embeds``) and sent as it is, or a
plain-text card, which goes in an embed (`text_embed`) unless it is a single short line.
Mentions are never resolved (``allowed_mentions`` is empty), so no card can ping ``@everyone``;
the one exception is a plain notice that begins with a user mention (``<@id> ...``, the note to
a subscriber moved to channel delivery), which may ping that one user and nobody else.
``silent`` sets the SUPPRESS_NOTIFICATIONS message flag (Discord's ``@silent``).

`send_attachment` is the outbox's chart route (`bot.ports.AttachmentPublisher`): a delivery
whose ``attachment`` is a ``payoff:`` spec is drawn into a PNG and uploaded as ``payoff.png``
with the delivery's text (its one-line caption), just before the signal's card.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
import discord
from discord.http import HTTPClient, MultipartParameters, handle_message_parameters
from discord.utils import MISSING

from bot.ports import SendOutcome, SendResult
from bot.render.chart import PAYOFF_PREFIX, Payoff, render_payoff_png
from bot.render.discord_embed import CONTENT_MAX, text_embed

logger = logging.getLogger(__name__)

#: "Cannot send messages to this user": DMs closed, the bot blocked, or no shared guild.
CANNOT_DM: Final = 50007
#: The file name of the payoff chart uploaded with a signal.
PAYOFF_FILENAME: Final = "payoff.png"
#: Seconds of 429 that discord.py may wait out in place before we hand the wait to the outbox.
#: discord.py's own floor is 30.
MAX_INLINE_RATELIMIT_S: Final = 30.0
_LEADING_MENTION: Final = re.compile(r"<@!?(\d+)>")


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    """A file sent with a message (the payoff chart)."""

    filename: str
    data: bytes


class DiscordPublisher:
    """Send rendered cards to Discord channels and DMs (the `Publisher` port).

    Args:
        token: The bot token.
        channel_ids: Ids that name channels when given bare (per-track and admin channels).
        http: A discord.py HTTP client to use instead of a new one (tests; or the bot's own).
        max_ratelimit_timeout_s: Longest 429 wait discord.py takes in place (30 at least).
    """

    platform = "discord"

    def __init__(
        self,
        token: str,
        *,
        channel_ids: Iterable[int | str] = (),
        http: HTTPClient | None = None,
        max_ratelimit_timeout_s: float = MAX_INLINE_RATELIMIT_S,
    ) -> None:
        self._token = token
        self._channels = frozenset(str(c) for c in channel_ids)
        self._http = http
        self._max_ratelimit_timeout_s = max_ratelimit_timeout_s
        self._logged_in = False
        self._login_lock = asyncio.Lock()
        self._dm_channels: dict[str, str] = {}
        self.user_id: str | None = None

    async def start(self) -> None:
        """Log the REST client in (checks the token: `discord.LoginFailure` if it is wrong)."""
        async with self._login_lock:
            if self._logged_in:
                return
            if self._http is None:
                self._http = HTTPClient(
                    asyncio.get_running_loop(),
                    max_ratelimit_timeout=self._max_ratelimit_timeout_s,
                )
            me = await self._http.static_login(self._token)
            self.user_id = str(me["id"])
            self._logged_in = True
            logger.info("discord publisher logged in as %s", self.user_id)

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._http is not None:
            await self._http.close()
        self._logged_in = False

    async def __aenter__(self) -> DiscordPublisher:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _route(self, target: str) -> tuple[str, str]:
        kind, sep, ident = target.partition(":")
        if not sep:
            kind, ident = ("channel" if target in self._channels else "user"), target
        if kind not in {"channel", "user"} or not ident.isdigit():
            raise ValueError(f"expected 'channel:<id>', 'user:<id>' or an id, got {target!r}")
        return kind, ident

    async def send(self, target: str, text: str, *, silent: bool) -> SendResult:
        """Send one rendered card or notice to one target; never raises on a Discord answer."""
        return await self.send_message(target, text, silent=silent)

    async def send_message(
        self,
        target: str,
        text: str,
        *,
        silent: bool,
        attachments: Sequence[Attachment] = (),
    ) -> SendResult:
        """Send a card (plain text or a `message_payload` body) with optional files."""
        try:
            kind, ident = self._route(target)
        except ValueError as error:
            return SendResult(outcome=SendOutcome.FAILED, detail=str(error))
        dm = kind == "user"
        try:
            await self.start()
            channel_id = await self._dm_channel(ident) if dm else ident
            params = self._params(text, silent=silent, attachments=attachments)
            try:
                assert self._http is not None  # noqa: S101 - set by start()
                await self._http.send_message(channel_id, params=params)
            finally:
                for file in params.files or ():
                    file.close()
        except discord.RateLimited as limited:
            return SendResult(
                outcome=SendOutcome.RETRY,
                retry_after=limited.retry_after,
                detail=f"429: rate limited for {limited.retry_after:.1f} s",
            )
        except discord.HTTPException as error:
            return _outcome(error, dm=dm)
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            return SendResult(outcome=SendOutcome.RETRY, detail=f"{type(error).__name__}: {error}")
        return SendResult(outcome=SendOutcome.SENT)

    async def send_attachment(
        self, target: str, text: str, attachment: str, *, silent: bool
    ) -> SendResult:
        """Upload a delivery's attachment (a ``payoff:`` chart, drawn here) with `text`.

        The chart is drawn at send time from the small spec the outbox entry holds, off the
        event loop (matplotlib takes about 0.1 s); a spec we cannot read is FAILED (dead letter).
        """
        if not attachment.startswith(PAYOFF_PREFIX):
            return SendResult(
                outcome=SendOutcome.FAILED, detail=f"unknown attachment {attachment[:40]!r}"
            )
        try:
            spec = Payoff.from_json(attachment.removeprefix(PAYOFF_PREFIX))
        except ValueError as error:
            return SendResult(outcome=SendOutcome.FAILED, detail=f"bad payoff spec: {error}")
        png = await asyncio.to_thread(render_payoff_png, spec)
        return await self.send_message(
            target,
            text,
            silent=silent,
            attachments=(Attachment(filename=PAYOFF_FILENAME, data=png),),
        )

    async def add_role(self, guild_id: int, user_id: int, role_id: int, *, reason: str) -> bool:
        """Give a guild member a role; False (logged) when Discord refuses."""
        return await self._member_role(guild_id, user_id, role_id, add=True, reason=reason)

    async def remove_role(self, guild_id: int, user_id: int, role_id: int, *, reason: str) -> bool:
        """Take a role from a guild member; False (logged) when Discord refuses."""
        return await self._member_role(guild_id, user_id, role_id, add=False, reason=reason)

    async def _member_role(
        self, guild_id: int, user_id: int, role_id: int, *, add: bool, reason: str
    ) -> bool:
        try:
            await self.start()
            assert self._http is not None  # noqa: S101 - set by start()
            change = self._http.add_role if add else self._http.remove_role
            await change(guild_id, user_id, role_id, reason=reason)
        except discord.HTTPException as error:
            logger.warning(
                "discord role %s %s for user %s in guild %s refused: %s code %s",
                role_id,
                "grant" if add else "removal",
                user_id,
                guild_id,
                error.status,
                error.code,
            )
            return False
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            logger.warning("discord role change for user %s failed: %s", user_id, error)
            return False
        return True

    async def _dm_channel(self, user_id: str) -> str:
        found = self._dm_channels.get(user_id)
        if found is None:
            assert self._http is not None  # noqa: S101 - set by start()
            channel = await self._http.start_private_message(int(user_id))
            found = self._dm_channels[user_id] = str(channel["id"])
        return found

    @staticmethod
    def _params(
        text: str, *, silent: bool, attachments: Sequence[Attachment]
    ) -> MultipartParameters:
        body = _payload(text)
        content = body.get("content")
        embeds = [discord.Embed.from_dict(e) for e in body.get("embeds", [])]
        files = [discord.File(io.BytesIO(a.data), filename=a.filename) for a in attachments]
        flags = discord.MessageFlags(suppress_notifications=True) if silent else MISSING
        mentions = discord.AllowedMentions.none()
        leading = _LEADING_MENTION.match(content) if isinstance(content, str) else None
        if leading is not None:
            mentions.users = [discord.Object(id=int(leading.group(1)))]
        return handle_message_parameters(
            content=content if content else MISSING,
            embeds=embeds if embeds else MISSING,
            files=files if files else MISSING,
            flags=flags,
            allowed_mentions=mentions,
        )


def _payload(text: str) -> dict[str, Any]:
    if text.startswith("{"):
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("embeds"), list):
            return body
    if "\n" not in text and len(text) <= CONTENT_MAX:
        return {"content": text}
    return {"embeds": [text_embed(text).to_dict()]}


def _outcome(error: discord.HTTPException, *, dm: bool) -> SendResult:
    detail = f"{error.status} code {error.code}: {error.text}"[:500]
    if error.status == 429:
        header = error.response.headers.get("Retry-After", "0")
        try:
            retry_after = float(header)
        except ValueError:
            retry_after = 0.0
        return SendResult(outcome=SendOutcome.RETRY, retry_after=retry_after, detail=detail)
    if error.status == 403 and (error.code == CANNOT_DM or dm):
        return SendResult(outcome=SendOutcome.BLOCKED, detail=detail)
    if error.status >= 500:
        return SendResult(outcome=SendOutcome.RETRY, detail=detail)
    return SendResult(outcome=SendOutcome.FAILED, detail=detail)
