"""The fake Telegram Bot API server now lives in the package (`condorbot demo --telegram`)."""

from bot.frontends.telegram.fake_server import (
    BOT_USER,
    TAGS,
    ApiError,
    EntityError,
    FakeTelegram,
    Sent,
    parse_html,
    utf16_len,
)

__all__ = [
    "BOT_USER",
    "TAGS",
    "ApiError",
    "EntityError",
    "FakeTelegram",
    "Sent",
    "parse_html",
    "utf16_len",
]
