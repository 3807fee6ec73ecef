"""A fake Discord REST API on 127.0.0.1, speaking the routes and JSON discord.py's HTTP client uses.

Routes (under ``/api/v10``): ``GET /users/@me`` (login), ``POST /users/@me/channels`` (open a
DM), ``POST /channels/{id}/messages`` (JSON or multipart with ``payload_json`` and
``files[n]``), ``PUT``/``DELETE /guilds/{g}/members/{u}/roles/{r}`` (member roles: 204, or 404
code 10007 Unknown Member / 10011 Unknown Role, 403 code 50013 for a role above the bot's),
``GET /oauth2/applications/@me`` (the application, read by ``Client.login``) and ``PUT
/applications/{a}/commands`` and ``/applications/{a}/guilds/{g}/commands`` (the command sync:
bulk overwrite, answered with the commands as Discord stores them).

Like Discord it checks the bot token (401), refuses a message that breaks a
limit (400 code 50035 "Invalid Form Body" with the nested ``errors`` object, or 50006 for an
empty message), answers 404 code 10003 for an unknown channel, 403 code 50013 for a channel the
bot may not post in and 403 code 50007 for a user who does not take DMs, and sends rate-limit
headers (``X-RateLimit-*``) on every answer and 429s with ``retry_after`` (seconds, in the body
and the ``Retry-After`` header) when told to, per channel or global.

The limits are Discord's, written out here on their own rather than imported from the renderer,
so the fake checks the renderer instead of agreeing with it.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

API = "/api/v10"
BOT_USER_ID = "1100000000000000001"
APPLICATION_ID = "1100000000000000001"  # a bot's user id is its application's id

_EMBED_LIMITS = {"title": 256, "description": 4096}
_FIELD_LIMITS = {"name": 256, "value": 1024}


@dataclass(slots=True)
class PostedMessage:
    """A message Discord accepted."""

    id: str
    channel_id: str
    recipient_id: str | None  # the user, when the channel is a DM
    content: str
    embeds: list[dict[str, Any]]
    flags: int
    allowed_mentions: dict[str, Any] | None
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def silent(self) -> bool:
        return bool(self.flags & (1 << 12))  # SUPPRESS_NOTIFICATIONS


def _too_long(limit: int) -> dict[str, Any]:
    return {
        "_errors": [
            {"code": "BASE_TYPE_MAX_LENGTH", "message": f"Must be {limit} or fewer in length."}
        ]
    }


def _field_errors(fields: list[dict[str, Any]]) -> tuple[dict[str, Any], int]:
    problems: dict[str, Any] = {}
    total = 0
    for number, item in enumerate(fields):
        for key, limit in _FIELD_LIMITS.items():
            text = item.get(key) or ""
            total += len(text)
            if not text.strip():
                problems.setdefault(str(number), {})[key] = {
                    "_errors": [{"code": "BASE_TYPE_REQUIRED", "message": "Required"}]
                }
            elif len(text) > limit:
                problems.setdefault(str(number), {})[key] = _too_long(limit)
    return problems, total


def embed_errors(embeds: list[dict[str, Any]]) -> dict[str, Any]:
    """Return Discord's nested ``errors`` object for the embeds (empty: valid)."""
    errors: dict[str, Any] = {}
    total = 0
    if len(embeds) > 10:
        errors["_errors"] = [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 10 or fewer"}]
    for index, embed in enumerate(embeds):
        problems: dict[str, Any] = {}
        for key, limit in _EMBED_LIMITS.items():
            text = embed.get(key) or ""
            total += len(text)
            if len(text) > limit:
                problems[key] = _too_long(limit)
        footer = (embed.get("footer") or {}).get("text") or ""
        total += len(footer)
        if len(footer) > 2048:
            problems["footer"] = {"text": _too_long(2048)}
        fields = embed.get("fields") or []
        if len(fields) > 25:
            problems["fields"] = _too_long(25)
        field_problems, field_chars = _field_errors(fields)
        total += field_chars
        if field_problems:
            problems.setdefault("fields", {}).update(field_problems)
        color = embed.get("color")
        if color is not None and not 0 <= int(color) <= 0xFFFFFF:
            problems["color"] = {"_errors": [{"code": "NUMBER_TYPE_MAX", "message": "too big"}]}
        if problems:
            errors[str(index)] = problems
    if total > 6000:
        errors.setdefault("_errors", []).append(
            {
                "code": "MAX_EMBED_SIZE_EXCEEDED",
                "message": "Embed size exceeds maximum size of 6000",
            }
        )
    return errors


def _json(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # Exactly "application/json", as Discord sends it: discord.py parses JSON only then.
    return web.Response(
        body=json.dumps(body).encode(),
        status=status,
        headers={**(headers or {}), "Content-Type": "application/json"},
    )


class FakeDiscord:
    """The fake server's state and scripting; start it with `serve`."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.messages: list[PostedMessage] = []
        self.channels: set[str] = set()  # guild text channels the bot may post in
        self.forbidden_channels: set[str] = set()  # exist, but 403 Missing Permissions
        self.users: set[str] = set()
        self.closed_dms: set[str] = set()  # users who do not take DMs (50007)
        self.dm_channels: dict[str, str] = {}  # DM channel id -> user id
        self.requests: list[tuple[str, str]] = []
        self.members: dict[str, set[str]] = {}  # guild -> member user ids
        self.roles: dict[str, set[str]] = {}  # guild -> role ids
        self.forbidden_roles: set[str] = set()  # roles above the bot's own (403 50013)
        self.member_roles: dict[tuple[str, str], set[str]] = {}  # (guild, user) -> role ids
        self.commands: dict[str | None, list[dict[str, Any]]] = {}  # guild (None: global)
        self._ids = itertools.count(1_200_000_000_000_000_000)
        self._limits: dict[str, list[tuple[float, bool]]] = {}  # channel -> queued 429s
        self._global_limits: list[float] = []
        self.url = ""

    def next_id(self) -> str:
        return str(next(self._ids))

    def rate_limit(self, channel_id: str, retry_after: float, times: int = 1) -> None:
        """Answer the next `times` posts into `channel_id` with a per-route 429."""
        self._limits.setdefault(channel_id, []).extend([(retry_after, False)] * times)

    def global_limit(self, retry_after: float, times: int = 1) -> None:
        """Answer the next `times` requests of any route with a global 429."""
        self._global_limits.extend([retry_after] * times)

    def to(self, channel_or_user: str) -> list[PostedMessage]:
        """Messages posted into a channel, or sent to a user by DM."""
        return [m for m in self.messages if channel_or_user in {m.channel_id, m.recipient_id}]

    # --- HTTP -------------------------------------------------------------------------------

    @staticmethod
    def _headers(bucket: str, remaining: int = 4) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset-After": "1.000",
            "X-RateLimit-Reset": "1700000000.000",
            "X-RateLimit-Bucket": bucket,
        }

    def _error(self, status: int, code: int, message: str, **extra: Any) -> web.Response:
        return _json({"code": code, "message": message, **extra}, status=status)

    def _too_many(self, retry_after: float, *, is_global: bool) -> web.Response:
        headers = {
            "Retry-After": str(max(1, round(retry_after))),
            "X-RateLimit-Scope": "global" if is_global else "user",
            "Via": "1.1 google",
        }
        if not is_global:
            headers.update(self._headers("fakebucket", remaining=0))
        return _json(
            {
                "message": "You are being rate limited.",
                "retry_after": retry_after,
                "global": is_global,
                "code": 0,
            },
            status=429,
            headers=headers,
        )

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if request.headers.get("Authorization") != f"Bot {self.token}":
            return self._error(401, 0, "401: Unauthorized")
        if self._global_limits:
            return self._too_many(self._global_limits.pop(0), is_global=True)
        response: web.StreamResponse = await handler(request)
        return response

    async def _me(self, request: web.Request) -> web.Response:
        return _json(
            {
                "id": BOT_USER_ID,
                "username": "condorbot",
                "discriminator": "0",
                "global_name": None,
                "avatar": None,
                "bot": True,
                "flags": 0,
                "mfa_enabled": False,
                "verified": True,
            },
            headers=self._headers("me"),
        )

    async def _open_dm(self, request: web.Request) -> web.Response:
        body = await request.json()
        user_id = str(body.get("recipient_id"))
        if user_id not in self.users:
            return self._error(400, 50033, "Invalid Recipient(s)")
        channel_id = (
            next((c for c, u in self.dm_channels.items() if u == user_id), None) or self.next_id()
        )
        self.dm_channels[channel_id] = user_id
        return _json(
            {
                "id": channel_id,
                "type": 1,
                "last_message_id": None,
                "flags": 0,
                "recipients": [
                    {
                        "id": user_id,
                        "username": f"user{user_id[-4:]}",
                        "discriminator": "0",
                        "avatar": None,
                        "global_name": None,
                    }
                ],
            },
            headers=self._headers("dm"),
        )

    async def _read_message(self, request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        if request.content_type.startswith("multipart/"):
            payload: dict[str, Any] = {}
            files: dict[str, bytes] = {}
            reader = await request.multipart()
            while (part := await reader.next()) is not None:
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                data = await part.read()
                if part.name == "payload_json":
                    payload = json.loads(data)
                else:
                    files[part.filename or part.name] = bytes(data)
            return payload, files
        return await request.json(), {}

    async def _post(self, request: web.Request) -> web.Response:
        channel_id = request.match_info["channel_id"]
        queued = self._limits.get(channel_id)
        if queued:
            retry_after, _ = queued.pop(0)
            return self._too_many(retry_after, is_global=False)
        recipient = self.dm_channels.get(channel_id)
        if recipient is None and channel_id not in self.channels | self.forbidden_channels:
            return self._error(404, 10003, "Unknown Channel")
        if channel_id in self.forbidden_channels:
            return self._error(403, 50013, "Missing Permissions")
        if recipient is not None and recipient in self.closed_dms:
            return self._error(403, 50007, "Cannot send messages to this user")
        body, files = await self._read_message(request)
        content = body.get("content") or ""
        embeds = body.get("embeds") or []
        errors = embed_errors(embeds)
        if len(content) > 2000:
            errors["content"] = _too_long(2000)
        if errors:
            return self._error(
                400,
                50035,
                "Invalid Form Body",
                errors={"embeds": errors} if "content" not in errors else errors,
            )
        if not content and not embeds and not files:
            return self._error(400, 50006, "Cannot send an empty message")
        message = PostedMessage(
            id=self.next_id(),
            channel_id=channel_id,
            recipient_id=recipient,
            content=content,
            embeds=embeds,
            flags=int(body.get("flags") or 0),
            allowed_mentions=body.get("allowed_mentions"),
            files=files,
        )
        self.messages.append(message)
        return _json(
            {
                "id": message.id,
                "channel_id": channel_id,
                "content": content,
                "embeds": embeds,
                "flags": message.flags,
                "type": 0,
                "tts": False,
                "timestamp": "2023-03-22T14:00:00.000000+00:00",
                "edited_timestamp": None,
                "mention_everyone": False,
                "mentions": [],
                "mention_roles": [],
                "attachments": [
                    {"id": self.next_id(), "filename": name, "size": len(data)}
                    for name, data in files.items()
                ],
                "pinned": False,
                "author": {
                    "id": BOT_USER_ID,
                    "username": "condorbot",
                    "discriminator": "0",
                    "avatar": None,
                    "bot": True,
                },
            },
            headers=self._headers(f"messages-{channel_id}"),
        )

    async def _role(self, request: web.Request) -> web.Response:
        guild, user, role = (request.match_info[k] for k in ("guild_id", "user_id", "role_id"))
        if guild not in self.members:
            return self._error(404, 10004, "Unknown Guild")
        if user not in self.members[guild]:
            return self._error(404, 10007, "Unknown Member")
        if role not in self.roles.get(guild, set()):
            return self._error(404, 10011, "Unknown Role")
        if role in self.forbidden_roles:
            return self._error(403, 50013, "Missing Permissions")
        held = self.member_roles.setdefault((guild, user), set())
        if request.method == "PUT":
            held.add(role)
        else:
            held.discard(role)
        return web.Response(status=204, headers=self._headers(f"roles-{guild}"))

    async def _application(self, request: web.Request) -> web.Response:
        owner = {"id": "1400000000000000099", "username": "owner", "discriminator": "0"}
        return _json(
            {
                "id": APPLICATION_ID,
                "name": "condorbot",
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": {**owner, "avatar": None, "global_name": None},
                "verify_key": "0" * 64,
                "flags": 0,
            },
            headers=self._headers("app"),
        )

    async def _sync(self, request: web.Request) -> web.Response:
        if request.match_info["application_id"] != APPLICATION_ID:
            return self._error(403, 50001, "Missing Access")
        guild = request.match_info.get("guild_id")
        if guild is not None and guild not in self.members:
            return self._error(403, 50001, "Missing Access")
        body = await request.json()
        stored = [
            {
                **command,
                "id": self.next_id(),
                "application_id": APPLICATION_ID,
                "version": self.next_id(),
                **({"guild_id": guild} if guild else {}),
            }
            for command in body
        ]
        self.commands[guild] = stored
        return _json(stored, headers=self._headers(f"commands-{guild}"))

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get(f"{API}/users/@me", self._me)
        app.router.add_post(f"{API}/users/@me/channels", self._open_dm)
        app.router.add_post(f"{API}/channels/{{channel_id}}/messages", self._post)
        member_role = f"{API}/guilds/{{guild_id}}/members/{{user_id}}/roles/{{role_id}}"
        app.router.add_put(member_role, self._role)
        app.router.add_delete(member_role, self._role)
        app.router.add_get(f"{API}/oauth2/applications/@me", self._application)
        app.router.add_put(f"{API}/applications/{{application_id}}/commands", self._sync)
        app.router.add_put(
            f"{API}/applications/{{application_id}}/guilds/{{guild_id}}/commands", self._sync
        )
        return app


@asynccontextmanager
async def serve(fake: FakeDiscord) -> AsyncIterator[FakeDiscord]:
    """Run the fake on a free port of 127.0.0.1; `fake.url` is the API base (``.../api/v10``)."""
    runner = web.AppRunner(fake.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.url = f"http://127.0.0.1:{port}{API}"
    try:
        yield fake
    finally:
        await runner.cleanup()
