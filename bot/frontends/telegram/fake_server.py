"""A fake Telegram Bot API server: aiohttp on 127.0.0.1, speaking the real methods and shapes.

Point python-telegram-bot at it with ``base_url=f"{server.url}/bot"``. It implements what the
bot uses (getMe, sendMessage, sendPhoto, setMyCommands, getMyCommands, deleteMyCommands,
getUpdates, deleteWebhook, answerCallbackQuery, editMessageText, approveChatJoinRequest,
declineChatJoinRequest, banChatMember, unbanChatMember, getChat) and enforces what Telegram
enforces:

* HTML parse mode: only Telegram's tags, properly nested, and only ``&lt; &gt; &amp; &quot;``
  and numeric entities; anything else is ``400 Bad Request: can't parse entities``;
* 4096 characters per message and 1024 per caption (UTF-16 units, after entity parsing);
* 64 bytes of ``callback_data`` per inline button;
* a global and a per-chat rate (token buckets): above either, ``429`` with ``retry_after``;
* ``403 Forbidden: bot was blocked by the user`` for blocked chats, and ``400`` with
  ``migrate_to_chat_id`` for a group that became a supergroup.

Tests drive users through `user_sends` / `user_presses` (updates served by getUpdates) and read
what the bot sent in `sent`. It lives in the package, not in tests/, because `condorbot demo
--telegram` runs the demo day through it so a newcomer sees the Telegram cards without a token.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "code", "pre", "blockquote", "tg-emoji",
}  # fmt: skip
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")
BOT_USER = {
    "id": 7000000001,
    "is_bot": True,
    "first_name": "Condor",
    "username": "condor_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


class EntityError(ValueError):
    """Telegram's "can't parse entities"."""


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TAGS:
            raise EntityError(f'Unsupported start tag "{tag}"')
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise EntityError(f'Unmatched end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(text: str) -> str:
    """Return the plain text of Telegram HTML, raising `EntityError` where Telegram would."""
    for match in re.finditer("&", text):
        if not _ENTITY.match(text, match.start()):
            raise EntityError(f"Unsupported character entity at byte offset {match.start()}")
    for match in re.finditer("<", text):
        if not re.match(r"</?[a-z-]+(\s[^<>]*)?>", text[match.start() :]):
            raise EntityError(f"Unsupported start tag at byte offset {match.start()}")
    checker = _Checker()
    checker.feed(text)
    checker.close()
    if checker.stack:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{checker.stack[-1]}"')
    return "".join(checker.text)


def utf16_len(text: str) -> int:
    """Return the length of `text` in UTF-16 code units, as Telegram counts."""
    return len(text.encode("utf-16-le")) // 2


class ApiError(Exception):
    """An error reply of the Bot API: code, description and optional parameters."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


@dataclass
class _Bucket:
    rate: float
    capacity: float
    tokens: float
    stamp: float = field(default_factory=time.monotonic)

    def take(self) -> float:
        """Take a token; return 0 or the seconds until one is available."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass
class Sent:
    """One message the bot sent (or edited), as the fake received it."""

    method: str
    chat_id: str
    text: str  # plain text after entity parsing (the caption for a photo)
    raw: str
    disable_notification: bool
    reply_markup: dict[str, Any] | None = None
    photo_bytes: int = 0
    photo: bytes = b""
    message_id: int = 0


class FakeTelegram:
    """The fake server; `async with FakeTelegram(token) as server:` serves on 127.0.0.1."""

    def __init__(
        self,
        token: str,
        *,
        global_rate: float = 1000.0,
        chat_rate: float = 1000.0,
        chat_burst: float = 1000.0,
        blocked: set[str] | None = None,
        migrated: dict[str, int] | None = None,
    ) -> None:
        self.token = token
        self.global_rate = global_rate
        self.chat_rate = chat_rate
        self.chat_burst = chat_burst
        self.blocked = set(blocked or ())
        self.migrated = dict(migrated or {})
        self.sent: list[Sent] = []
        self.calls: list[str] = []
        self.rejected: list[tuple[str, int, str]] = []
        self.commands: list[dict[str, str]] = []
        self.webhook: dict[str, Any] = {}  # the last setWebhook's parameters
        self.callback_answers: list[dict[str, Any]] = []
        self.edits: list[Sent] = []
        self.approved: list[tuple[str, str]] = []
        self.banned: list[tuple[str, str]] = []
        self.unbanned: list[tuple[str, str]] = []
        self.declined: list[tuple[str, str]] = []
        self._global = _Bucket(global_rate, max(global_rate, 1.0), max(global_rate, 1.0))
        self._chats: dict[str, _Bucket] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(100)
        self._new_update = asyncio.Event()
        self._new_sent = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> FakeTelegram:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._new_update.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        """The base URL for python-telegram-bot (the token is appended)."""
        return f"{self.url}/bot"

    # -- driving the fake -------------------------------------------------------------------

    def _user(self, user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}

    def user_sends(self, user_id: int, text: str, *, chat_id: int | None = None) -> None:
        """Queue a text message (a command when it starts with /) from a user."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id or user_id, "type": "private", "first_name": "U"},
            "from": self._user(user_id),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0] if text.split() else "/"
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        self._push({"message": message})

    def user_presses(self, user_id: int, data: str, message_id: int = 1) -> None:
        """Queue a press of an inline button carrying `data`."""
        self._push(
            {
                "callback_query": {
                    "id": str(next(self._message_ids)),
                    "from": self._user(user_id),
                    "chat_instance": "ci",
                    "data": data,
                    "message": {
                        "message_id": message_id,
                        "date": int(time.time()),
                        "chat": {"id": user_id, "type": "private", "first_name": "U"},
                        "from": BOT_USER,
                        "text": "settings",
                    },
                }
            }
        )

    def user_asks_to_join(self, user_id: int, channel_id: int) -> None:
        """Queue a request by a user to join a channel."""
        self._push(
            {
                "chat_join_request": {
                    "chat": {"id": channel_id, "type": "channel", "title": "signals"},
                    "from": self._user(user_id),
                    "user_chat_id": user_id,
                    "date": int(time.time()),
                }
            }
        )

    def _push(self, update: dict[str, Any]) -> None:
        update["update_id"] = next(self._update_ids)
        self._updates.append(update)
        self._new_update.set()

    def to(self, chat_id: str | int) -> list[Sent]:
        """Return what was sent to one chat, in order."""
        return [s for s in self.sent if s.chat_id == str(chat_id)]

    def buttons(self, chat_id: str | int) -> dict[str, str]:
        """Return label -> callback_data of the newest inline keyboard sent or edited in a chat."""
        marked = [m for m in [*self.to(chat_id), *self.edits_to(chat_id)] if m.reply_markup]
        if not marked:
            return {}
        newest = max(marked, key=lambda m: m.message_id)
        rows = (newest.reply_markup or {}).get("inline_keyboard", [])
        return {b["text"]: b.get("callback_data", "") for row in rows for b in row}

    def edits_to(self, chat_id: str | int) -> list[Sent]:
        """Return the edits made in one chat, in order."""
        return [s for s in self.edits if s.chat_id == str(chat_id)]

    async def wait_sent(
        self, count: int, within_s: float = 10.0, chat_id: str | int | None = None
    ) -> list[Sent]:
        """Wait until `count` messages were sent (to `chat_id`, if given); return them."""

        async def enough() -> None:
            while len(self.sent if chat_id is None else self.to(chat_id)) < count:
                self._new_sent.clear()
                await self._new_sent.wait()

        await asyncio.wait_for(enough(), within_s)
        return self.sent if chat_id is None else self.to(chat_id)

    async def wait_pending_updates_consumed(self, within_s: float = 10.0) -> None:
        """Wait until the bot fetched every queued update."""

        async def drained() -> None:
            while self._updates:  # noqa: ASYNC110 - the poller consumes them, not an event
                await asyncio.sleep(0.01)

        await asyncio.wait_for(drained(), within_s)

    # -- the API -------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            body = await request.json()
            return dict(body) if isinstance(body, dict) else {}
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            if isinstance(value, str):
                params[key] = value
            elif isinstance(value, web.FileField):  # a file part
                params[key] = value.file.read()
            else:
                params[key] = bytes(value)
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.calls.append(method)
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        params = await self._params(request)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
                status=404,
            )
        try:
            result = await handler(params)
        except ApiError as error:
            self.rejected.append((method, error.code, error.description))
            body: dict[str, Any] = {
                "ok": False,
                "error_code": error.code,
                "description": error.description,
            }
            if error.parameters:
                body["parameters"] = error.parameters
            return web.json_response(body, status=error.code)
        return web.json_response({"ok": True, "result": result})

    async def _api_getMe(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_setWebhook(self, params: dict[str, Any]) -> Any:
        self.webhook = dict(params)
        return True

    async def _api_close(self, params: dict[str, Any]) -> Any:
        return True

    async def _api_setMyCommands(self, params: dict[str, Any]) -> Any:
        commands = _json(params.get("commands", "[]"))
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command["command"]):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(command["description"]) <= 256:
                raise ApiError(400, "Bad Request: command description is too long")
        self.commands = commands
        return True

    async def _api_getMyCommands(self, params: dict[str, Any]) -> Any:
        return self.commands

    async def _api_deleteMyCommands(self, params: dict[str, Any]) -> Any:
        self.commands = []
        return True

    async def _api_getUpdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset", 0) or 0)
        timeout = min(float(params.get("timeout", 0) or 0), 1.0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and timeout > 0:
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), timeout)
        return [u for u in self._updates if u["update_id"] >= offset][:100]

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        self.callback_answers.append(params)
        return True

    async def _api_getChat(self, params: dict[str, Any]) -> Any:
        return {"id": int(params["chat_id"]), "type": "private"}

    async def _api_approveChatJoinRequest(self, params: dict[str, Any]) -> Any:
        self.approved.append((str(params["chat_id"]), str(params["user_id"])))
        return True

    async def _api_declineChatJoinRequest(self, params: dict[str, Any]) -> Any:
        self.declined.append((str(params["chat_id"]), str(params["user_id"])))
        return True

    async def _api_banChatMember(self, params: dict[str, Any]) -> Any:
        self.banned.append((str(params["chat_id"]), str(params["user_id"])))
        return True

    async def _api_unbanChatMember(self, params: dict[str, Any]) -> Any:
        self.unbanned.append((str(params["chat_id"]), str(params["user_id"])))
        return True

    def _gate(self, chat_id: str) -> None:
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self.migrated[chat_id]},
            )
        wait = self._global.take()
        if not wait:
            bucket = self._chats.setdefault(
                chat_id, _Bucket(self.chat_rate, self.chat_burst, self.chat_burst)
            )
            wait = bucket.take()
            if wait:
                self._global.tokens += 1  # the refused call did not use the global budget
        if wait:
            retry = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry}", {"retry_after": retry})

    def _text(self, raw: str, parse_mode: str | None, limit: int, what: str) -> str:
        if parse_mode == "HTML":
            try:
                plain = parse_html(raw)
            except EntityError as error:
                raise ApiError(400, f"Bad Request: can't parse entities: {error}") from None
        else:
            plain = raw
        if utf16_len(plain) > limit:
            raise ApiError(400, f"Bad Request: {what} is too long")
        return plain

    def _markup(self, params: dict[str, Any]) -> dict[str, Any] | None:
        if "reply_markup" not in params:
            return None
        markup: dict[str, Any] = _json(params["reply_markup"])
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    def _record(self, sent: Sent) -> dict[str, Any]:
        sent.message_id = next(self._message_ids)
        self.sent.append(sent)
        self._new_sent.set()
        return {
            "message_id": sent.message_id,
            "date": int(time.time()),
            "chat": {"id": int(sent.chat_id), "type": "private"},
            "from": BOT_USER,
            "text": sent.text,
        }

    async def _api_sendMessage(self, params: dict[str, Any]) -> Any:
        chat_id = str(params["chat_id"])
        raw = str(params.get("text", ""))
        if not raw.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        plain = self._text(raw, params.get("parse_mode"), 4096, "message")
        markup = self._markup(params)
        self._gate(chat_id)
        return self._record(
            Sent("sendMessage", chat_id, plain, raw, _flag(params), reply_markup=markup)
        )

    async def _api_sendPhoto(self, params: dict[str, Any]) -> Any:
        chat_id = str(params["chat_id"])
        raw = str(params.get("caption", ""))
        plain = self._text(raw, params.get("parse_mode"), 1024, "message caption")
        photo = params.get("photo")
        if not isinstance(photo, bytes) or not photo.startswith(b"\x89PNG"):
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        self._gate(chat_id)
        sent = Sent(
            "sendPhoto", chat_id, plain, raw, _flag(params), photo_bytes=len(photo), photo=photo
        )
        result = self._record(sent)
        result["photo"] = [{"file_id": "f1", "file_unique_id": "u1", "width": 800, "height": 450}]
        result.pop("text")
        result["caption"] = plain
        return result

    async def _api_editMessageText(self, params: dict[str, Any]) -> Any:
        raw = str(params.get("text", ""))
        plain = self._text(raw, params.get("parse_mode"), 4096, "message")
        markup = self._markup(params)
        chat_id = str(params.get("chat_id", "0"))
        edit = Sent("editMessageText", chat_id, plain, raw, False, markup)
        edit.message_id = next(self._message_ids)  # orders edits after the messages they edit
        self.edits.append(edit)
        return {
            "message_id": int(params.get("message_id", 1)),
            "date": int(time.time()),
            "chat": {"id": int(chat_id), "type": "private"},
            "text": plain,
        }


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _flag(params: dict[str, Any]) -> bool:
    value = params.get("disable_notification", False)
    return value in (True, "true", "True", "1")
