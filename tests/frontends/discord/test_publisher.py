"""DiscordPublisher through discord.py's real HTTP client against the fake REST API."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import discord
import pytest

from bot.delivery import DeliveryWorker, RetryPolicy
from bot.frontends.discord.publisher import Attachment, DiscordPublisher
from bot.ports import Delivery, SendOutcome, SendResult
from bot.render.discord_embed import message_payload, render_embed
from bot.render.text import render_text
from tests.fakes import FixedClock, InMemoryOutbox
from tests.frontends.discord.conftest import (
    ALICE,
    BOB_NO_DMS,
    CHANNEL_0DTE,
    NO_PERMISSION_CHANNEL,
    TOKEN,
)
from tests.frontends.discord.events import replayed_events
from tests.frontends.fake_discord import FakeDiscord

CARD = message_payload(render_embed(replayed_events()[1]))


@pytest.fixture
async def publisher(fake_discord: FakeDiscord):
    async with DiscordPublisher(TOKEN, channel_ids=[CHANNEL_0DTE]) as pub:
        yield pub


async def test_login_checks_the_token_against_the_api(fake_discord: FakeDiscord):
    pub = DiscordPublisher("not-the-token")
    with pytest.raises(discord.LoginFailure):
        await pub.start()
    await pub.close()


async def test_card_is_posted_into_a_channel_as_an_embed(publisher, fake_discord):
    result = await publisher.send(CHANNEL_0DTE, CARD, silent=False)
    assert result == SendResult(outcome=SendOutcome.SENT)
    (message,) = fake_discord.to(CHANNEL_0DTE)
    assert message.embeds[0]["title"] == "SPX iron condor | 0DTE | balanced"
    assert message.embeds[0]["footer"]["text"].startswith("Data quoted 2023-03-22 10:00 ET: ")
    assert not message.silent
    assert message.allowed_mentions == {"parse": []}  # a card never pings anyone


async def test_every_replayed_card_is_accepted_by_discord(publisher, fake_discord):
    for event in replayed_events():
        payload = message_payload(render_embed(event))
        assert (await publisher.send(CHANNEL_0DTE, payload, silent=False)).outcome == "sent"
    assert len(fake_discord.to(CHANNEL_0DTE)) == len(replayed_events())


async def test_dm_opens_the_dm_channel_once(publisher, fake_discord):
    for _ in range(2):
        assert (await publisher.send(ALICE, CARD, silent=False)).outcome == "sent"
    assert len(fake_discord.to(ALICE)) == 2
    opened = [r for r in fake_discord.requests if r == ("POST", "/api/v10/users/@me/channels")]
    assert len(opened) == 1


async def test_explicit_target_prefixes_override_the_channel_list(publisher, fake_discord):
    assert (await publisher.send(f"user:{ALICE}", "hello", silent=False)).outcome == "sent"
    other = "1300000000000000009"
    fake_discord.channels.add(other)
    assert (await publisher.send(f"channel:{other}", "hi", silent=False)).outcome == "sent"
    assert [m.content for m in fake_discord.messages] == ["hello", "hi"]


async def test_silent_sets_suppress_notifications(publisher, fake_discord):
    await publisher.send(CHANNEL_0DTE, CARD, silent=True)
    assert fake_discord.to(CHANNEL_0DTE)[0].silent


async def test_plain_text_card_goes_in_an_embed_and_a_notice_as_content(publisher, fake_discord):
    text = render_text(replayed_events()[2])
    await publisher.send(CHANNEL_0DTE, text, silent=False)
    await publisher.send(CHANNEL_0DTE, "[admin] condorbot started (start-1)", silent=False)
    card, notice = fake_discord.to(CHANNEL_0DTE)
    assert card.content == ""
    assert card.embeds[0]["title"] == text.splitlines()[0]
    assert notice.content == "[admin] condorbot started (start-1)"
    assert notice.embeds == []


async def test_short_429_is_waited_out_and_sent_once(publisher, fake_discord):
    fake_discord.rate_limit(CHANNEL_0DTE, retry_after=0.05, times=2)
    assert (await publisher.send(CHANNEL_0DTE, CARD, silent=False)).outcome == "sent"
    assert len(fake_discord.to(CHANNEL_0DTE)) == 1


async def test_global_429_is_waited_out(publisher, fake_discord):
    fake_discord.global_limit(retry_after=0.05)
    assert (await publisher.send(CHANNEL_0DTE, CARD, silent=False)).outcome == "sent"


async def test_long_429_comes_back_as_retry_with_discords_retry_after(publisher, fake_discord):
    fake_discord.rate_limit(CHANNEL_0DTE, retry_after=45.5)
    result = await publisher.send(CHANNEL_0DTE, CARD, silent=False)
    assert result.outcome is SendOutcome.RETRY
    assert result.retry_after == 45.5
    assert fake_discord.to(CHANNEL_0DTE) == []


async def test_user_who_takes_no_dms_is_blocked(publisher, fake_discord):
    result = await publisher.send(BOB_NO_DMS, CARD, silent=False)
    assert result.outcome is SendOutcome.BLOCKED
    assert "50007" in result.detail


async def test_channel_errors_fail_for_the_dead_letter_list(publisher, fake_discord):
    forbidden = await publisher.send(f"channel:{NO_PERMISSION_CHANNEL}", CARD, silent=False)
    unknown = await publisher.send("channel:1300000000000000077", CARD, silent=False)
    assert forbidden.outcome is SendOutcome.FAILED
    assert "50013" in forbidden.detail
    assert unknown.outcome is SendOutcome.FAILED
    assert "10003" in unknown.detail


async def test_an_embed_over_the_limits_is_refused_like_discord_does(publisher, fake_discord):
    embed = {"title": "x", "description": "d" * 4097}
    result = await publisher.send(CHANNEL_0DTE, json.dumps({"embeds": [embed]}), silent=False)
    assert result.outcome is SendOutcome.FAILED
    assert "50035" in result.detail
    assert "4096 or fewer" in result.detail


async def test_bad_target_fails_without_a_request(publisher, fake_discord):
    before = len(fake_discord.requests)
    result = await publisher.send("telegram:123", CARD, silent=False)
    assert result.outcome is SendOutcome.FAILED
    assert len(fake_discord.requests) == before


async def test_attachment_is_uploaded_with_the_card(publisher, fake_discord):
    png = b"\x89PNG\r\n\x1a\nchart"
    result = await publisher.send_message(
        CHANNEL_0DTE, CARD, silent=False, attachments=[Attachment(filename="payoff.png", data=png)]
    )
    assert result.outcome is SendOutcome.SENT
    (message,) = fake_discord.to(CHANNEL_0DTE)
    assert message.files == {"payoff.png": png}
    assert message.embeds[0]["title"].startswith("SPX iron condor")


async def test_unreachable_api_is_a_retry(monkeypatch: pytest.MonkeyPatch, fake_discord):
    pub = DiscordPublisher(TOKEN)
    await pub.start()
    monkeypatch.setattr(discord.http.Route, "BASE", "http://127.0.0.1:9/api/v10")
    result = await pub.send(CHANNEL_0DTE, CARD, silent=False)
    await pub.close()
    assert result.outcome is SendOutcome.RETRY


async def test_outbox_worker_delivers_retries_and_blocks_through_discord(publisher, fake_discord):
    clock = FixedClock(datetime(2023, 3, 22, 14, 0, tzinfo=UTC))
    outbox = InMemoryOutbox(clock)
    blocked: list[str] = []

    async def on_blocked(delivery: Delivery, result: SendResult) -> None:
        blocked.append(delivery.target)

    worker = DeliveryWorker(
        outbox=outbox,
        publisher=publisher,
        clock=clock,
        policy=RetryPolicy(max_attempts=3),
        on_blocked=on_blocked,
    )
    for target in (CHANNEL_0DTE, ALICE, BOB_NO_DMS):
        await outbox.enqueue(
            Delivery(
                key=f"ev1:discord:{target}",
                platform="discord",
                target=target,
                event_id="ev1",
                text=CARD,
            )
        )
    fake_discord.rate_limit(CHANNEL_0DTE, retry_after=60.0)
    await worker.drain()
    assert blocked == [BOB_NO_DMS]
    assert len(fake_discord.to(ALICE)) == 1
    assert fake_discord.to(CHANNEL_0DTE) == []  # waiting out the 429 in the outbox
    clock.advance(seconds=61)
    await worker.drain()
    await worker.drain()  # a second pass sends nothing again
    assert len(fake_discord.to(CHANNEL_0DTE)) == 1
    assert len(fake_discord.to(ALICE)) == 1
    assert worker.stats.sent == 2
