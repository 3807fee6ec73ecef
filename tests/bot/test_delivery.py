"""The delivery worker against the in-memory outbox (which the contract suite ties to Redis)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from bot.delivery import DeliveryWorker, RetryPolicy, run_workers
from bot.ports import Delivery, SendOutcome, SendResult
from tests.fakes import FixedClock, InMemoryOutbox, RecordingPublisher

T0 = datetime(2025, 3, 7, 15, 0, tzinfo=UTC)


def delivery(target: str, event_id: str = "ev1", platform: str = "test", **kw) -> Delivery:
    return Delivery(
        key=f"{event_id}:{platform}:{target}",
        platform=platform,
        target=target,
        event_id=event_id,
        text=f"card for {target}",
        **kw,
    )


class Calls:
    """Records the worker's callbacks."""

    def __init__(self) -> None:
        self.blocked: list[tuple[Delivery, SendResult]] = []
        self.dead: list[tuple[Delivery, str]] = []

    async def on_blocked(self, d: Delivery, result: SendResult) -> None:
        self.blocked.append((d, result))

    async def on_dead_letter(self, d: Delivery, error: str) -> None:
        self.dead.append((d, error))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def outbox(clock: FixedClock) -> InMemoryOutbox:
    return InMemoryOutbox(clock, reclaim_idle_ms=50)


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher("test")


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def worker(outbox, publisher, clock, calls) -> DeliveryWorker:
    return DeliveryWorker(
        outbox=outbox,
        publisher=publisher,
        clock=clock,
        consumer="w1",
        policy=RetryPolicy(max_attempts=4, base_delay_s=2.0, max_delay_s=60.0),
        on_blocked=calls.on_blocked,
        on_dead_letter=calls.on_dead_letter,
        batch_size=5,
        poll_interval_s=0.01,
    )


async def enqueue(outbox: InMemoryOutbox, targets: Sequence[str], **kw) -> None:
    for target in targets:
        assert await outbox.enqueue(delivery(target, **kw))


async def test_worker_sends_each_delivery_once_and_records_it(worker, outbox, publisher):
    targets = [str(i) for i in range(12)]
    await enqueue(outbox, targets)
    assert await worker.drain() == 12
    assert [m.target for m in publisher.sent] == targets
    assert all([await outbox.is_sent(f"ev1:test:{t}") for t in targets])
    assert await outbox.backlog("test") == 0
    assert worker.stats.sent == 12
    assert await worker.drain() == 0
    assert len(publisher.sent) == 12


async def test_worker_passes_silent_and_text_through(worker, outbox, publisher):
    await outbox.enqueue(delivery("1", silent=True))
    await outbox.enqueue(delivery("2"))
    await worker.drain()
    assert [(m.target, m.text, m.silent) for m in publisher.sent] == [
        ("1", "card for 1", True),
        ("2", "card for 2", False),
    ]


async def test_worker_never_resends_a_delivery_recorded_as_sent(worker, outbox, publisher):
    await outbox.enqueue(delivery("1"))
    outbox.sent.add("ev1:test:1")  # recorded by a worker that died before acknowledging
    await worker.drain()
    assert publisher.attempts == []
    assert worker.stats.skipped == 1
    assert await outbox.backlog("test") == 0


async def test_worker_honours_retry_after_of_a_429(worker, outbox, publisher, clock):
    publisher.rate_limit("1", retry_after=7.0)
    await enqueue(outbox, ["1", "2"])
    await worker.drain()
    assert [m.target for m in publisher.sent] == ["2"]
    clock.advance(seconds=6.9)
    await worker.drain()
    assert publisher.attempts == ["1", "2"]
    clock.advance(seconds=0.1)
    await worker.drain()
    assert [m.target for m in publisher.sent] == ["2", "1"]
    assert worker.stats.retried == 1


async def test_worker_backs_off_exponentially_without_retry_after(worker, outbox, publisher, clock):
    publisher.fail("1", times=3)
    await outbox.enqueue(delivery("1"))
    await worker.drain()
    for wait in (2.0, 4.0, 8.0):
        clock.advance(seconds=wait - 0.5)
        await worker.drain()
        sends = len(publisher.attempts)
        clock.advance(seconds=0.5)
        await worker.drain()
        assert len(publisher.attempts) == sends + 1
    assert publisher.received("1") == 1
    assert publisher.attempts == ["1"] * 4


async def test_worker_dead_letters_after_the_last_attempt_and_tells_the_admin(
    worker, outbox, publisher, clock, calls
):
    publisher.fail("1", times=10)
    await enqueue(outbox, ["1", "2"])
    for _ in range(6):
        await worker.drain()
        clock.advance(seconds=60)
    assert publisher.attempts.count("1") == 4
    [(dead, error)] = await outbox.dead_letters()
    assert dead.key == "ev1:test:1"
    assert "gave up after 4 attempts" in error
    assert [(d.key, e) for d, e in calls.dead] == [("ev1:test:1", error)]
    assert publisher.received("2") == 1
    assert await outbox.backlog("test") == 0


async def test_worker_on_403_deactivates_the_target_without_alarming_the_admin(
    worker, outbox, publisher, calls
):
    publisher.block("1")
    await enqueue(outbox, ["1", "2"])
    await worker.drain()
    assert [(d.target, r.outcome) for d, r in calls.blocked] == [("1", SendOutcome.BLOCKED)]
    assert calls.dead == []
    [(dead, error)] = await outbox.dead_letters()
    assert dead.target == "1"
    assert error.startswith("blocked")
    assert publisher.received("2") == 1
    assert worker.stats.blocked == 1


async def test_worker_dead_letters_a_permanent_failure_at_once(worker, outbox, publisher, calls):
    publisher.fail("1", permanent=True)
    await outbox.enqueue(delivery("1"))
    await worker.drain()
    assert publisher.attempts == ["1"]
    assert [e for _, e in calls.dead] == ["failed: boom"]


async def test_worker_treats_a_raising_publisher_as_transient(worker, outbox, publisher, clock):
    publisher.raise_error("1", ConnectionResetError("peer reset"))
    await outbox.enqueue(delivery("1"))
    await worker.drain()
    assert publisher.sent == []
    clock.advance(seconds=2)
    await worker.drain()
    assert publisher.received("1") == 1
    assert worker.stats.errors == 1


async def test_worker_survives_callbacks_that_raise(outbox, publisher, clock):
    async def broken(*_: object) -> None:
        raise RuntimeError("admin channel down")

    worker = DeliveryWorker(
        outbox=outbox,
        publisher=publisher,
        clock=clock,
        consumer="w1",
        on_blocked=broken,
        on_dead_letter=broken,
    )
    publisher.block("1")
    publisher.fail("2", permanent=True)
    await enqueue(outbox, ["1", "2", "3"])
    await worker.drain()
    assert len(await outbox.dead_letters()) == 2
    assert publisher.received("3") == 1


class FlakyOutbox(InMemoryOutbox):
    """Raises like an unreachable Redis on the first `claims` claims and `dones` dones."""

    def __init__(self, clock: FixedClock, *, claims: int = 0, dones: int = 0) -> None:
        super().__init__(clock, reclaim_idle_ms=50)
        self.claims_to_fail = claims
        self.dones_to_fail = dones

    async def claim(self, platform: str, consumer: str, count: int) -> Sequence[Delivery]:
        if self.claims_to_fail:
            self.claims_to_fail -= 1
            raise ConnectionError("redis restarting")
        return await super().claim(platform, consumer, count)

    async def done(self, delivery: Delivery) -> None:
        if self.dones_to_fail:
            self.dones_to_fail -= 1
            raise ConnectionError("redis restarting")
        await super().done(delivery)


async def test_worker_keeps_recording_a_sent_delivery_until_the_outbox_answers(publisher, clock):
    outbox = FlakyOutbox(clock, dones=3)
    worker = DeliveryWorker(outbox=outbox, publisher=publisher, clock=clock, consumer="w1")
    await enqueue(outbox, ["1", "2"])
    await worker.drain()
    assert [m.target for m in publisher.sent] == ["1", "2"]
    assert await outbox.is_sent("ev1:test:1")
    assert worker.stats.sent == 2


async def test_run_waits_out_an_unreachable_outbox_and_stops_when_told(publisher, clock):
    outbox = FlakyOutbox(clock, claims=2)
    worker = DeliveryWorker(
        outbox=outbox, publisher=publisher, clock=clock, consumer="w1", poll_interval_s=0.01
    )
    await enqueue(outbox, ["1", "2", "3"])
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    for _ in range(200):
        if len(publisher.sent) == 3:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, timeout=2)
    assert [m.target for m in publisher.sent] == ["1", "2", "3"]
    assert worker.stats.errors == 2


async def test_a_delivery_left_by_a_dead_worker_is_taken_over(outbox, publisher, clock):
    await enqueue(outbox, ["1", "2"])
    orphaned = await outbox.claim("test", "dead", 10)  # claimed, then the process died
    assert len(orphaned) == 2
    worker = DeliveryWorker(outbox=outbox, publisher=publisher, clock=clock, consumer="w2")
    assert await worker.drain() == 0
    await asyncio.sleep(0.06)
    assert await worker.drain() == 2
    assert [m.target for m in publisher.sent] == ["1", "2"]


async def test_a_restarted_worker_with_the_same_name_resumes_at_once(outbox, publisher, clock):
    await enqueue(outbox, ["1"])
    await outbox.claim("test", "w1", 10)
    worker = DeliveryWorker(outbox=outbox, publisher=publisher, clock=clock, consumer="w1")
    assert await worker.drain() == 1
    assert publisher.received("1") == 1


async def test_run_workers_keeps_one_platform_going_when_another_fails(clock):
    outbox = InMemoryOutbox(clock)
    good, bad = RecordingPublisher("good"), RecordingPublisher("bad")
    await outbox.enqueue(delivery("1", platform="good"))
    await outbox.enqueue(delivery("1", platform="bad"))
    bad.raise_error("1", RuntimeError("platform down"))
    workers = [
        DeliveryWorker(outbox=outbox, publisher=p, clock=clock, poll_interval_s=0.01)
        for p in (good, bad)
    ]
    stop = asyncio.Event()
    runner = asyncio.create_task(run_workers(workers, stop))
    for _ in range(100):
        if good.sent:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(runner, timeout=2)
    assert good.received("1") == 1
    assert bad.sent == []
    assert await outbox.backlog("bad") == 1  # waiting for its retry, not lost


def test_retry_policy_delays():
    policy = RetryPolicy(base_delay_s=2.0, max_delay_s=10.0)
    assert [policy.delay_s(n, 0.0) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 10.0]
    assert policy.delay_s(5, retry_after_s=3.5) == 3.5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"base_delay_s": 5.0, "max_delay_s": 1.0}, "base_delay_s"),
    ],
)
def test_retry_policy_rejects_nonsense(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**kwargs)


def test_worker_default_consumer_is_unique_to_the_process(outbox, publisher, clock):
    worker = DeliveryWorker(outbox=outbox, publisher=publisher, clock=clock)
    assert worker.consumer.startswith("test:")
    assert worker.consumer.endswith(f":{__import__('os').getpid()}")


def test_clock_advance_is_exact():
    clock = FixedClock(T0)
    assert clock.advance(timedelta(seconds=1)) == T0 + timedelta(seconds=1)
