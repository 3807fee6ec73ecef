"""The fake Discord REST API, with discord.py's HTTP client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import discord.http
import pytest

from tests.frontends.fake_discord import FakeDiscord, serve

TOKEN = "MTEwMDAwMDAwMDAwMDAwMDAwMQ.GfAkEt.abcdefghijklmnopqrstuvwxyz0123456789AB"  # noqa: S105 - fake
CHANNEL_0DTE = "1300000000000000001"
NO_PERMISSION_CHANNEL = "1300000000000000002"
ALICE = "1400000000000000001"
BOB_NO_DMS = "1400000000000000002"
GUILD = "1500000000000000001"
TRIAL_ROLE = "1600000000000000001"


@pytest.fixture
async def fake_discord(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord(TOKEN)
    fake.channels.add(CHANNEL_0DTE)
    fake.forbidden_channels.add(NO_PERMISSION_CHANNEL)
    fake.users.update({ALICE, BOB_NO_DMS})
    fake.closed_dms.add(BOB_NO_DMS)
    async with serve(fake):
        # discord.py builds every URL from Route.BASE: the one seam its HTTP client offers.
        monkeypatch.setattr(discord.http.Route, "BASE", fake.url)
        yield fake


@pytest.fixture
def guild(fake_discord: FakeDiscord) -> FakeDiscord:
    fake_discord.members[GUILD] = {ALICE, BOB_NO_DMS}
    fake_discord.roles[GUILD] = {TRIAL_ROLE}
    return fake_discord
