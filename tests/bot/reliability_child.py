"""What the reliability tests run in child processes: a delivery worker that dies, job racers.

The children are started through a multiprocessing *forkserver* that has imported this module
once, so each trial gets a fresh process in milliseconds instead of re-importing numpy, pandas
and scipy (about 3 s). Each child opens its own Redis connection and dies for real
(`os.kill(os.getpid(), SIGKILL)`: no `finally`, no atexit, no flush).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from redis.asyncio import Redis

from bot.delivery import DeliveryWorker
from bot.ports import SendOutcome, SendResult
from bot.storage.redis_store import RedisJobLocks, RedisLedger, RedisOutbox

PLATFORM = "fileplatform"
GO_KEY = "test:go"


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FilePlatform:
    """The "chat platform": each accepted message is one line (its target) appended to a file.

    Like a real chat API it is not idempotent: two sends of one message are two lines.

    Args:
        path: The platform's file.
        kill: "before_send" (die as send number `kill_at` starts, before the platform has it),
            "after_send" (die right after the platform accepted send number `kill_at`, before
            the worker could record it: the duplicate window), or "" (never).
        kill_at: 1-based number of the send call to die at.
        delay_s: Pause per send, so a parent can kill at an arbitrary moment.
    """

    platform = PLATFORM

    def __init__(self, path: Path, kill: str = "", kill_at: int = 0, delay_s: float = 0.0) -> None:
        self.path = path
        self.kill = kill
        self.kill_at = kill_at
        self.delay_s = delay_s
        self.calls = 0

    async def send(self, target: str, text: str, *, silent: bool) -> SendResult:
        self.calls += 1
        if self.kill == "before_send" and self.calls == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        # One O_APPEND write per message: the line is on the "platform" once write() returns,
        # whatever happens to this process afterwards.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, f"{target}\n".encode())
        finally:
            os.close(fd)
        if self.kill == "after_send" and self.calls == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return SendResult(outcome=SendOutcome.SENT)


@dataclass(frozen=True)
class DeliverJob:
    url: str
    platform_file: str
    consumer: str
    kill: str = ""
    kill_at: int = 0
    delay_s: float = 0.0
    batch_size: int = 7
    reclaim_idle_ms: int = 100


async def _deliver(job: DeliverJob) -> None:
    client: Redis = Redis.from_url(job.url, decode_responses=True)
    outbox = RedisOutbox(client, reclaim_idle_ms=job.reclaim_idle_ms)
    publisher = FilePlatform(Path(job.platform_file), job.kill, job.kill_at, job.delay_s)
    worker = DeliveryWorker(
        outbox=outbox,
        publisher=publisher,
        clock=SystemClock(),
        consumer=job.consumer,
        batch_size=job.batch_size,
    )
    await worker.drain()
    await client.aclose()


def deliver(job: DeliverJob) -> None:
    """Child entry point: drain the outbox into the file platform (dying where told)."""
    asyncio.run(_deliver(job))


async def _wait_go(client: Redis) -> None:
    # A barrier across processes: poll the key the parent sets once every racer is connected.
    while not await client.exists(GO_KEY):  # noqa: ASYNC110 - no Event spans processes
        await asyncio.sleep(0.001)


async def _race_claims(url: str, job: str, runs: int) -> list[int]:
    client: Redis = Redis.from_url(url, decode_responses=True)
    locks = RedisJobLocks(client)
    base = datetime(2025, 3, 7, 14, 30, tzinfo=UTC)
    await _wait_go(client)
    won = [i for i in range(runs) if await locks.claim_run(job, base + timedelta(minutes=5 * i))]
    await client.aclose()
    return won


def race_claims(url: str, job: str, runs: int, out: str) -> None:
    """Child entry point: claim `runs` scheduled runs of `job`; write the ones won to `out`."""
    won = asyncio.run(_race_claims(url, job, runs))
    Path(out).write_text(json.dumps(won), encoding="utf-8")


async def _race_appends(url: str, prefix: str, count: int) -> None:
    client: Redis = Redis.from_url(url, decode_responses=True)
    ledger = RedisLedger(client)
    await _wait_go(client)
    for i in range(count):
        await ledger.append(f"{prefix}-{i}", "condor", "2025-03-07T10:00:00-05:00", f'{{"i":{i}}}')
    await client.aclose()


def race_appends(url: str, prefix: str, count: int) -> None:
    """Child entry point: append `count` events named `prefix-i` to the ledger."""
    asyncio.run(_race_appends(url, prefix, count))
