"""One contract suite for the store ports, run against the in-memory fakes and real Redis.

Every test takes `backend` and runs twice: `memory` (tests/fakes.py) and `redis` (the stores in
bot/storage/redis_store.py on an embedded redis-server). A behaviour the fake gets wrong fails
here, so tests elsewhere can trust the fake.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import pytest

from bot.ports import (
    DayPositions,
    Delivery,
    JobLocks,
    KeyValueStore,
    Ledger,
    NoticeLevel,
    Outbox,
    Subscriber,
    SubscriberStatus,
    SubscriberStore,
)
from bot.storage.kv import RedisKeyValue
from bot.storage.ledger_tools import GENESIS_HASH, record_hash
from bot.storage.redis_store import (
    RedisDayStore,
    RedisJobLocks,
    RedisLedger,
    RedisOutbox,
    RedisSubscriberStore,
)
from tests.fakes import (
    FixedClock,
    InMemoryDayStore,
    InMemoryJobLocks,
    InMemoryKeyValue,
    InMemoryLedger,
    InMemoryOutbox,
    InMemorySubscriberStore,
)

NY = ZoneInfo("America/New_York")
T0 = datetime(2025, 3, 7, 9, 30, tzinfo=NY)
RECLAIM_MS = 100


class DayStore(Protocol):
    async def get_day(self, day: date) -> DayPositions: ...
    async def put_day(self, positions: DayPositions) -> None: ...


class CountingOutbox(Outbox, Protocol):
    async def backlog(self, platform: str) -> int: ...


class LeaderLocks(JobLocks, Protocol):
    async def resign(self, owner: str) -> bool: ...


@dataclass
class Backend:
    name: str
    clock: FixedClock
    subscribers: SubscriberStore
    days: DayStore
    ledger: Ledger
    outbox: CountingOutbox
    locks: LeaderLocks
    kv: KeyValueStore


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> Backend:
    clock = FixedClock(T0)
    if request.param == "memory":
        return Backend(
            "memory",
            clock,
            InMemorySubscriberStore(),
            InMemoryDayStore(),
            InMemoryLedger(),
            InMemoryOutbox(clock, reclaim_idle_ms=RECLAIM_MS),
            InMemoryJobLocks(),
            InMemoryKeyValue(),
        )
    client = request.getfixturevalue("redis_client")
    return Backend(
        "redis",
        clock,
        RedisSubscriberStore(client),
        RedisDayStore(client),
        RedisLedger(client),
        RedisOutbox(client, clock=clock, reclaim_idle_ms=RECLAIM_MS),
        RedisJobLocks(client),
        RedisKeyValue(client),
    )


def delivery(target: str, event_id: str = "ev1", platform: str = "telegram", **kw) -> Delivery:
    return Delivery(
        key=f"{event_id}:{platform}:{target}",
        platform=platform,
        target=target,
        event_id=event_id,
        text=f"card for {target}",
        **kw,
    )


def full_subscriber() -> Subscriber:
    return Subscriber(
        platform="telegram",
        user_id="1234567",
        status=SubscriberStatus.ACTIVE,
        trial_start=datetime(2025, 3, 1, 9, 0, tzinfo=NY),
        trial_end=datetime(2025, 3, 15, 9, 0, tzinfo=UTC),
        tracks=("0dte", "45dte"),
        risks=("conservative", "aggressive"),
        delivery="-100200300",
        levels={"condor": NoticeLevel.ON, "hedge": NoticeLevel.SILENT, "exit": NoticeLevel.OFF},
        quiet_start="22:00",
        quiet_end="07:30",
        time_zone="Europe/London",
        admin=True,
    )


# --- subscribers -------------------------------------------------------------------------


async def test_subscriber_get_unknown_returns_none(backend: Backend):
    assert await backend.subscribers.get("telegram", "nobody") is None


async def test_subscriber_round_trips_every_field(backend: Backend):
    sub = full_subscriber()
    await backend.subscribers.put(sub)
    got = await backend.subscribers.get("telegram", "1234567")
    assert got == sub
    assert got is not None
    assert got.trial_start is not None
    assert got.trial_start.utcoffset() == timedelta(hours=-5)
    assert all(isinstance(level, NoticeLevel) for level in got.levels.values())


async def test_subscriber_with_defaults_round_trips(backend: Backend):
    sub = Subscriber(platform="discord", user_id="42")
    await backend.subscribers.put(sub)
    assert await backend.subscribers.get("discord", "42") == sub


async def test_subscriber_put_replaces_every_field(backend: Backend):
    await backend.subscribers.put(full_subscriber())
    plain = Subscriber(platform="telegram", user_id="1234567", status=SubscriberStatus.BLOCKED)
    await backend.subscribers.put(plain)
    assert await backend.subscribers.get("telegram", "1234567") == plain
    assert len(await backend.subscribers.all()) == 1


async def test_subscriber_all_is_ordered_by_platform_then_user(backend: Backend):
    for platform, user in [
        ("telegram", "9"),
        ("discord", "5"),
        ("telegram", "10"),
        ("console", "a"),
    ]:
        await backend.subscribers.put(Subscriber(platform=platform, user_id=user))
    got = [(s.platform, s.user_id) for s in await backend.subscribers.all()]
    assert got == [("console", "a"), ("discord", "5"), ("telegram", "10"), ("telegram", "9")]


async def test_subscriber_with_naive_trial_time_is_rejected(backend: Backend):
    naive = Subscriber(platform="telegram", user_id="1", trial_start=datetime(2025, 3, 1, 9))  # noqa: DTZ001
    with pytest.raises(ValueError, match="timezone-aware"):
        await backend.subscribers.put(naive)
    assert await backend.subscribers.get("telegram", "1") is None


# --- the day's signals and positions -----------------------------------------------------------


async def test_day_store_unknown_day_is_empty(backend: Backend):
    day = await backend.days.get_day(date(2025, 3, 7))
    assert day == DayPositions(day=date(2025, 3, 7))


async def test_day_store_round_trips_and_replaces(backend: Backend):
    first = DayPositions(
        day=date(2025, 3, 7),
        signals={"0dte:balanced": "sig-1"},
        open_positions={"0dte:balanced": '{"hedges":[]}'},
    )
    await backend.days.put_day(first)
    assert await backend.days.get_day(date(2025, 3, 7)) == first
    second = DayPositions(day=date(2025, 3, 7), signals={"1dte:balanced": "sig-2"})
    await backend.days.put_day(second)
    assert await backend.days.get_day(date(2025, 3, 7)) == second
    assert await backend.days.get_day(date(2025, 3, 6)) == DayPositions(day=date(2025, 3, 6))


# --- ledger ------------------------------------------------------------------------------------


async def test_ledger_empty_verifies_with_genesis_head(backend: Backend):
    check = await backend.ledger.verify()
    assert check.ok
    assert check.records == 0
    assert check.head == GENESIS_HASH


async def test_ledger_chains_each_record_to_the_one_before(backend: Backend):
    first = await backend.ledger.append("sig-1", "condor", T0.isoformat(), '{"a":1}')
    second = await backend.ledger.append("alert-1", "hedge", T0.isoformat(), '{"b":2}')
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert second.hash == record_hash(2, "alert-1", "hedge", T0.isoformat(), '{"b":2}', first.hash)
    assert list(await backend.ledger.records()) == [first, second]
    check = await backend.ledger.verify()
    assert (check.ok, check.records, check.head) == (True, 2, second.hash)


async def test_ledger_append_of_a_recorded_event_returns_it_unchanged(backend: Backend):
    first = await backend.ledger.append("sig-1", "condor", T0.isoformat(), '{"a":1}')
    await backend.ledger.append("sig-2", "condor", T0.isoformat(), '{"a":2}')
    again = await backend.ledger.append("sig-1", "other", "later", '{"changed":true}')
    assert again == first
    assert len(await backend.ledger.records()) == 2


async def test_ledger_concurrent_appends_never_fork_the_chain(backend: Backend):
    records = await asyncio.gather(
        *(
            backend.ledger.append(f"ev-{i}", "condor", T0.isoformat(), f'{{"i":{i}}}')
            for i in range(40)
        )
    )
    assert sorted(r.seq for r in records) == list(range(1, 41))
    check = await backend.ledger.verify()
    assert check.ok, check.problem
    assert check.records == 40


async def test_ledger_empty_event_id_is_rejected(backend: Backend):
    with pytest.raises(ValueError, match="event_id"):
        await backend.ledger.append("", "condor", T0.isoformat(), "{}")


# --- outbox ------------------------------------------------------------------------------------


async def test_outbox_enqueue_is_a_no_op_for_a_key_queued_before(backend: Backend):
    assert await backend.outbox.enqueue(delivery("1"))
    assert not await backend.outbox.enqueue(delivery("1"))
    assert not await backend.outbox.enqueue(replace(delivery("1"), text="other"))
    claimed = await backend.outbox.claim("telegram", "w1", 10)
    assert [d.key for d in claimed] == ["ev1:telegram:1"]


async def test_outbox_claim_round_trips_the_delivery_in_order(backend: Backend):
    sent = [delivery(str(i), silent=i % 2 == 0, attempts=0) for i in range(5)]
    for d in sent:
        await backend.outbox.enqueue(d)
    claimed = await backend.outbox.claim("telegram", "w1", 3)
    assert [(d.key, d.target, d.text, d.silent, d.attempts) for d in claimed] == [
        (d.key, d.target, d.text, d.silent, d.attempts) for d in sent[:3]
    ]
    assert all(d.entry_id for d in claimed)
    assert len({d.entry_id for d in claimed}) == 3
    rest = await backend.outbox.claim("telegram", "w2", 10)
    assert [d.target for d in rest] == ["3", "4"]


async def test_outbox_platforms_are_separate_queues(backend: Backend):
    await backend.outbox.enqueue(delivery("1", platform="telegram"))
    await backend.outbox.enqueue(delivery("1", platform="discord"))
    assert [d.platform for d in await backend.outbox.claim("discord", "w", 10)] == ["discord"]
    assert [d.platform for d in await backend.outbox.claim("telegram", "w", 10)] == ["telegram"]


async def test_outbox_unsettled_delivery_is_claimed_again_by_its_consumer(backend: Backend):
    await backend.outbox.enqueue(delivery("1"))
    first = await backend.outbox.claim("telegram", "w1", 10)
    again = await backend.outbox.claim("telegram", "w1", 10)
    assert [d.entry_id for d in again] == [d.entry_id for d in first]


async def test_outbox_pending_delivery_moves_to_another_consumer_only_when_idle(backend: Backend):
    await backend.outbox.enqueue(delivery("1"))
    first = await backend.outbox.claim("telegram", "dead-worker", 10)
    assert await backend.outbox.claim("telegram", "w2", 10) == []
    await asyncio.sleep(RECLAIM_MS / 1000 * 1.5)
    taken = await backend.outbox.claim("telegram", "w2", 10)
    assert [d.entry_id for d in taken] == [d.entry_id for d in first]


async def test_outbox_done_records_sent_and_settles(backend: Backend):
    await backend.outbox.enqueue(delivery("1"))
    assert not await backend.outbox.is_sent("ev1:telegram:1")
    [claimed] = await backend.outbox.claim("telegram", "w1", 10)
    await backend.outbox.done(claimed)
    assert await backend.outbox.is_sent("ev1:telegram:1")
    assert await backend.outbox.backlog("telegram") == 0
    await asyncio.sleep(RECLAIM_MS / 1000 * 1.5)
    assert await backend.outbox.claim("telegram", "w1", 10) == []
    assert await backend.outbox.claim("telegram", "w2", 10) == []
    assert not await backend.outbox.enqueue(delivery("1"))


async def test_outbox_done_needs_a_claimed_delivery(backend: Backend):
    with pytest.raises(ValueError, match="claimed"):
        await backend.outbox.done(delivery("1"))


async def test_outbox_retry_waits_for_not_before_and_counts_the_attempt(backend: Backend):
    await backend.outbox.enqueue(delivery("1"))
    [claimed] = await backend.outbox.claim("telegram", "w1", 10)
    await backend.outbox.retry(claimed, T0 + timedelta(seconds=30), "429")
    assert await backend.outbox.backlog("telegram") == 1
    assert await backend.outbox.claim("telegram", "w1", 10) == []
    backend.clock.advance(seconds=29)
    assert await backend.outbox.claim("telegram", "w1", 10) == []
    backend.clock.advance(seconds=1)
    [retried] = await backend.outbox.claim("telegram", "w1", 10)
    assert retried.key == claimed.key
    assert retried.attempts == 1
    assert retried.entry_id != claimed.entry_id
    assert not await backend.outbox.is_sent(claimed.key)


async def test_outbox_retry_of_a_settled_delivery_is_a_no_op(backend: Backend):
    await backend.outbox.enqueue(delivery("1"))
    [claimed] = await backend.outbox.claim("telegram", "w1", 10)
    await backend.outbox.retry(claimed, T0, "429")
    await backend.outbox.retry(claimed, T0, "429")
    assert len(await backend.outbox.claim("telegram", "w1", 10)) == 1
    assert await backend.outbox.backlog("telegram") == 1


async def test_outbox_dead_letter_keeps_the_error_and_settles(backend: Backend):
    await backend.outbox.enqueue(delivery("1", silent=True))
    [claimed] = await backend.outbox.claim("telegram", "w1", 10)
    await backend.outbox.dead_letter(claimed, "403 blocked")
    await backend.outbox.dead_letter(claimed, "again")
    dead: Sequence[tuple[Delivery, str]] = await backend.outbox.dead_letters()
    assert len(dead) == 1
    gone, error = dead[0]
    assert (gone.key, gone.target, gone.silent, error) == (claimed.key, "1", True, "403 blocked")
    assert await backend.outbox.backlog("telegram") == 0
    assert not await backend.outbox.is_sent(claimed.key)
    await asyncio.sleep(RECLAIM_MS / 1000 * 1.5)
    assert await backend.outbox.claim("telegram", "w2", 10) == []


# --- job locks ---------------------------------------------------------------------------------


async def test_claim_run_is_won_once_per_job_and_instant(backend: Backend):
    at = datetime(2025, 3, 7, 10, 0, tzinfo=NY)
    assert await backend.locks.claim_run("publish_0dte", at)
    assert not await backend.locks.claim_run("publish_0dte", at)
    assert not await backend.locks.claim_run("publish_0dte", at.astimezone(UTC))
    assert await backend.locks.claim_run("publish_0dte", at + timedelta(days=1))
    assert await backend.locks.claim_run("check_hedges", at)


async def test_claim_run_with_naive_time_is_rejected(backend: Backend):
    with pytest.raises(ValueError, match="timezone-aware"):
        await backend.locks.claim_run("job", datetime(2025, 3, 7, 10))  # noqa: DTZ001


async def test_lead_has_one_owner_who_renews_and_resigns(backend: Backend):
    assert await backend.locks.lead("a", 30)
    assert not await backend.locks.lead("b", 30)
    assert await backend.locks.lead("a", 30)
    assert not await backend.locks.resign("b")
    assert await backend.locks.resign("a")
    assert await backend.locks.lead("b", 30)
    assert not await backend.locks.lead("a", 30)


async def test_lead_passes_to_another_owner_after_the_ttl(backend: Backend):
    assert await backend.locks.lead("a", 1)
    assert not await backend.locks.lead("b", 1)
    await asyncio.sleep(1.1)
    assert await backend.locks.lead("b", 1)
    assert not await backend.locks.lead("a", 1)


async def test_lead_rejects_a_non_positive_ttl(backend: Backend):
    with pytest.raises(ValueError, match="ttl_seconds"):
        await backend.locks.lead("a", 0)


# --- key-value ---------------------------------------------------------------------------


async def test_kv_round_trips_replaces_and_misses(backend: Backend):
    assert await backend.kv.get("tgcb:00000000") is None
    await backend.kv.put("tgcb:00000000", '{"a": 1}')
    assert await backend.kv.get("tgcb:00000000") == '{"a": 1}'
    await backend.kv.put("tgcb:00000000", "second", ttl_seconds=60)
    assert await backend.kv.get("tgcb:00000000") == "second"


async def test_kv_value_expires_after_its_ttl(backend: Backend):
    await backend.kv.put("short", "v", ttl_seconds=1)
    assert await backend.kv.get("short") == "v"
    await asyncio.sleep(1.1)
    assert await backend.kv.get("short") is None
