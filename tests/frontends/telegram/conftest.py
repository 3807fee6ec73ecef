"""Fixtures: a fake Bot API server and a real PTB bot pointed at it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram.ext import AIORateLimiter, ExtBot

from tests.frontends.fake_telegram import FakeTelegram

# Opt in to PTB 22's timedelta durations (as the service does): otherwise every 429 raises a
# PTBDeprecationWarning, an error under filterwarnings=error.
os.environ.setdefault("PTB_TIMEDELTA", "true")

TOKEN = "123456789:AAEfakeTOKENfakeTOKENfakeTOKEN_abc"  # noqa: S105 - a fake token for the fake server


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN) as fake:
        yield fake


@pytest.fixture
async def bot(server: FakeTelegram) -> AsyncIterator[ExtBot[Any]]:
    limiter: AIORateLimiter = AIORateLimiter(max_retries=0)
    ext: ExtBot[Any] = ExtBot(TOKEN, base_url=server.base_url, rate_limiter=limiter)
    async with ext:
        yield ext
