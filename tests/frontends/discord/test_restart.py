"""Exactly once across a restart: the outbox, the delivery worker and DiscordPublisher.

A worker claims a batch, delivers part of it and dies; a new process (a new worker under a new
consumer name, a new publisher with a new HTTP session) takes the dead worker's entries over.
Every subscriber gets the card once. The one window no chat API closes (Discord accepted the
message, the worker died before recording it) is shown for what it is: that one message twice.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from bot.delivery import DeliveryWorker
from bot.frontends.discord.publisher import DiscordPublisher
from bot.notify import Audience, Notifier, Rendering
from bot.ports import Subscriber
from bot.render.discord_embed import render_message
from core.calendar import NEW_YORK
from tests.fakes import FixedClock, InMemoryLedger, InMemoryOutbox, InMemorySubscriberStore
from tests.frontends.discord.conftest import CHANNEL_0DTE, TOKEN
from tests.frontends.discord.events import replayed_events
from tests.frontends.fake_discord import FakeDiscord

USERS = [f"14000000000000001{i:02d}" for i in range(12)]
NOW = datetime(2023, 3, 22, 10, 0, tzinfo=NEW_YORK)


async def queued_day(fake: FakeDiscord) -> tuple[InMemoryOutbox, FixedClock, int]:
    fake.users.update(USERS)
    clock = FixedClock(NOW)
    store = InMemorySubscriberStore()
    for user in USERS:
        await store.put(Subscriber(platform="discord", user_id=user, tracks=("0dte",)))
    await store.put(
        Subscriber(platform="discord", user_id="channel-0dte", delivery=f"channel:{CHANNEL_0DTE}")
    )
    # Idle entries of a dead consumer are taken over at once (Redis: XAUTOCLAIM min-idle).
    outbox = InMemoryOutbox(clock, reclaim_idle_ms=0)
    notifier = Notifier(
        subscribers=store,
        ledger=InMemoryLedger(),
        outbox=outbox,
        clock=clock,
        platforms=("discord",),
        renderings={"discord": Rendering(event=render_message)},
    )
    report = await notifier.publish(replayed_events()[1], Audience(track="0dte", risk="balanced"))
    return outbox, clock, report.queued


def received(fake: FakeDiscord) -> Counter[str]:
    return Counter(m.recipient_id or m.channel_id for m in fake.messages)


async def test_a_worker_restarted_mid_batch_delivers_every_target_exactly_once(
    fake_discord: FakeDiscord,
):
    outbox, clock, queued = await queued_day(fake_discord)
    assert queued == len(USERS) + 1

    async with DiscordPublisher(TOKEN, channel_ids=[CHANNEL_0DTE]) as first:
        dying = DeliveryWorker(outbox=outbox, publisher=first, clock=clock, consumer="w1")
        batch = await outbox.claim("discord", "w1", 8)
        for delivery in batch[:5]:
            await dying.deliver(delivery)
        # ... and the process dies here: 3 claimed but unsent, the rest never claimed.
    assert sum(received(fake_discord).values()) == 5

    async with DiscordPublisher(TOKEN, channel_ids=[CHANNEL_0DTE]) as second:
        restarted = DeliveryWorker(outbox=outbox, publisher=second, clock=clock, consumer="w2")
        await restarted.drain()
        await restarted.drain()  # and again: nothing more
    counts = received(fake_discord)
    assert set(counts) == {*USERS, CHANNEL_0DTE}
    assert set(counts.values()) == {1}
    assert restarted.stats.sent == queued - 5
    assert outbox.sent == outbox.enqueued


async def test_a_429_waiting_in_the_outbox_survives_the_restart(fake_discord: FakeDiscord):
    outbox, clock, _ = await queued_day(fake_discord)
    fake_discord.rate_limit(CHANNEL_0DTE, retry_after=120.0)
    async with DiscordPublisher(TOKEN, channel_ids=[CHANNEL_0DTE]) as first:
        dying = DeliveryWorker(outbox=outbox, publisher=first, clock=clock, consumer="w1")
        await dying.drain()
    assert dying.stats.retried == 1
    assert CHANNEL_0DTE not in received(fake_discord)
    async with DiscordPublisher(TOKEN, channel_ids=[CHANNEL_0DTE]) as second:
        restarted = DeliveryWorker(outbox=outbox, publisher=second, clock=clock, consumer="w2")
        await restarted.drain()
        assert restarted.stats.sent == 0  # Discord's retry_after is honoured across the restart
        clock.advance(seconds=121)
        await restarted.drain()
    counts = received(fake_discord)
    assert set(counts) == {*USERS, CHANNEL_0DTE}
    assert set(counts.values()) == {1}


async def test_killed_between_discords_answer_and_the_record_sends_that_one_twice(
    fake_discord: FakeDiscord,
):
    outbox, clock, queued = await queued_day(fake_discord)
    async with DiscordPublisher(TOKEN, channel_ids=[CHANNEL_0DTE]) as first:
        (delivery,) = await outbox.claim("discord", "w1", 1)
        result = await first.send(delivery.target, delivery.text, silent=delivery.silent)
        assert result.outcome == "sent"
        # ... killed before outbox.done: the documented duplicate window.
    async with DiscordPublisher(TOKEN, channel_ids=[CHANNEL_0DTE]) as second:
        restarted = DeliveryWorker(outbox=outbox, publisher=second, clock=clock, consumer="w2")
        await restarted.drain()
    counts = received(fake_discord)
    twice = {target for target, n in counts.items() if n == 2}
    assert twice == {delivery.target.removeprefix("channel:")}
    assert sum(counts.values()) == queued + 1  # that one, and nothing else, twice
