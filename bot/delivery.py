"""The delivery worker: drains one platform's outbox through its publisher.

One worker per platform (one `Publisher`), run as a task beside the bots and the scheduler;
scale out by running more workers (more processes) on the same Redis, each with its own consumer
name. For each claimed delivery:

1. already recorded as sent (`outbox.is_sent`) -> acknowledge it, send nothing;
2. `publisher.send`;
3. SENT -> `outbox.done` at once (records sent and acknowledges, atomically);
   RETRY (429 or transient) -> `outbox.retry` after the platform's `retry_after`, or an
   exponential backoff when it gave none; after `RetryPolicy.max_attempts` sends -> dead letter;
   BLOCKED (403) -> `on_blocked` (deactivate the target), then dead letter;
   FAILED -> dead letter;
   every dead letter but BLOCKED also goes to `on_dead_letter` (the admin channel).

Delivery semantics: a delivery recorded as sent is never sent again, and nothing queued is
dropped (a crash leaves it pending, and the next claim takes it back). The one duplicate
window is between the platform accepting a message and step 3 recording it: a process killed
there sends that one message again after restart. No chat API lets us close it (Telegram has no
idempotency key), so the worker keeps it to one Redis round trip, and if Redis is unreachable
at that moment it keeps retrying the record rather than giving up on it. The kill test in
`tests/bot/test_reliability.py` measures the window by killing a worker at every step.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import assert_never

from bot.ports import (
    AttachmentPublisher,
    Clock,
    Delivery,
    Outbox,
    Publisher,
    SendOutcome,
    SendResult,
)

logger = logging.getLogger(__name__)

#: Called with a delivery whose target blocked the bot (403): deactivate the target.
BlockedCallback = Callable[[Delivery, SendResult], Awaitable[None]]
#: Called with a dead-lettered delivery and its error: tell the admin.
DeadLetterCallback = Callable[[Delivery, str], Awaitable[None]]


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How often and how far apart a delivery is retried.

    Attributes:
        max_attempts: Sends tried before the delivery is dead-lettered.
        base_delay_s: Wait after the first failed send when the platform gave no
            `retry_after`; doubled after each further one.
        max_delay_s: Cap on that backoff.
    """

    max_attempts: int = 6
    base_delay_s: float = 2.0
    max_delay_s: float = 600.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, was {self.max_attempts}")
        if self.base_delay_s < 0 or self.max_delay_s < self.base_delay_s:
            raise ValueError(
                "need 0 <= base_delay_s <= max_delay_s, was "
                f"{self.base_delay_s} and {self.max_delay_s}"
            )

    def delay_s(self, attempts: int, retry_after_s: float) -> float:
        """Return the wait in seconds before the next send, `attempts` sends having failed.

        The platform's `retry_after` (a 429) wins when given: it says exactly when; otherwise
        `base_delay_s * 2 ** (attempts - 1)`, capped.
        """
        if retry_after_s > 0:
            return retry_after_s
        backoff: float = self.base_delay_s * 2.0 ** max(attempts - 1, 0)
        return min(self.max_delay_s, backoff)


@dataclass(slots=True)
class DeliveryStats:
    """What one worker did, for the logs, the heartbeat and the demo summary."""

    sent: int = 0
    skipped: int = 0  # claimed but already recorded as sent: acknowledged, not sent again
    retried: int = 0
    blocked: int = 0
    dead_lettered: int = 0
    errors: int = 0  # publisher raised, or the outbox was unreachable
    by_outcome: dict[str, int] = field(default_factory=dict)


def default_consumer(platform: str) -> str:
    """Return a consumer name unique to this process: `platform:host:pid`."""
    return f"{platform}:{socket.gethostname()}:{os.getpid()}"


class DeliveryWorker:
    """Drains one platform's outbox through its publisher until stopped.

    Args:
        outbox: Where deliveries wait.
        publisher: The platform's publisher; its `platform` names the outbox stream.
        clock: Decides when a retry is due.
        consumer: This worker's consumer name, unique among live workers (one per task).
        policy: Retries and backoff.
        on_blocked: Told when a target blocked the bot.
        on_dead_letter: Told when a delivery is dead-lettered for any other reason.
        batch_size: Deliveries claimed at a time.
        poll_interval_s: Wait between claims when the outbox is empty.
    """

    def __init__(
        self,
        *,
        outbox: Outbox,
        publisher: Publisher,
        clock: Clock,
        consumer: str | None = None,
        policy: RetryPolicy | None = None,
        on_blocked: BlockedCallback | None = None,
        on_dead_letter: DeadLetterCallback | None = None,
        batch_size: int = 20,
        poll_interval_s: float = 0.5,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, was {batch_size}")
        self.outbox = outbox
        self.publisher = publisher
        self.platform = publisher.platform
        self.clock = clock
        self.consumer = consumer or default_consumer(publisher.platform)
        self.policy = policy or RetryPolicy()
        self.on_blocked = on_blocked
        self.on_dead_letter = on_dead_letter
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.stats = DeliveryStats()

    async def run_once(self) -> int:
        """Claim one batch and settle every delivery in it; return how many were claimed."""
        deliveries = await self.outbox.claim(self.platform, self.consumer, self.batch_size)
        for delivery in deliveries:
            await self.deliver(delivery)
        return len(deliveries)

    async def drain(self) -> int:
        """Deliver until nothing is claimable now (retries not yet due stay queued).

        Returns:
            How many deliveries were claimed in all.
        """
        total = 0
        while claimed := await self.run_once():
            total += claimed
        return total

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Deliver until `stop` is set (or the task is cancelled).

        An unreachable outbox (Redis restarting) is logged and waited out with a growing pause;
        the worker never exits on it.
        """
        stop = stop or asyncio.Event()
        failures = 0
        logger.info("delivery worker %s started", self.consumer)
        while not stop.is_set():
            try:
                claimed = await self.run_once()
                failures = 0
            except Exception:
                failures += 1
                self.stats.errors += 1
                logger.exception("delivery worker %s: outbox unreachable", self.consumer)
                claimed = 0
            if claimed:
                continue
            pause = min(30.0, self.poll_interval_s * 2 ** min(failures, 6))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=pause)
        logger.info("delivery worker %s stopped: %s", self.consumer, self.stats)

    async def deliver(self, delivery: Delivery) -> None:
        """Send one claimed delivery and settle it (done, retry or dead letter)."""
        if await self.outbox.is_sent(delivery.key):
            logger.info("delivery %s already sent: acknowledging only", delivery.key)
            await self.outbox.done(delivery)
            self.stats.skipped += 1
            return
        result = await self._send(delivery)
        self.stats.by_outcome[result.outcome.value] = (
            self.stats.by_outcome.get(result.outcome.value, 0) + 1
        )
        match result.outcome:
            case SendOutcome.SENT:
                await self._record_sent(delivery)
            case SendOutcome.RETRY:
                await self._retry(delivery, result)
            case SendOutcome.BLOCKED:
                await self._blocked(delivery, result)
            case SendOutcome.FAILED:
                await self._give_up(delivery, f"failed: {result.detail or 'no detail'}")
            case unreachable:
                assert_never(unreachable)

    async def _send(self, delivery: Delivery) -> SendResult:
        try:
            if delivery.attachment and isinstance(self.publisher, AttachmentPublisher):
                return await self.publisher.send_attachment(
                    delivery.target, delivery.text, delivery.attachment, silent=delivery.silent
                )
            # A platform that cannot attach gets the caption alone.
            return await self.publisher.send(delivery.target, delivery.text, silent=delivery.silent)
        except Exception as exc:
            # A publisher that raises is a transient failure (network, a bug fixed by a
            # restart): retried with backoff, dead-lettered after the last attempt.
            self.stats.errors += 1
            logger.exception("publisher %s raised on %s", self.platform, delivery.key)
            return SendResult(outcome=SendOutcome.RETRY, detail=f"{type(exc).__name__}: {exc}")

    async def _record_sent(self, delivery: Delivery) -> None:
        # The platform has the message: from here to `done` is the duplicate window. Keep
        # recording until Redis answers; giving up would resend it after a restart.
        pause = 0.05
        while True:
            try:
                await asyncio.shield(self.outbox.done(delivery))
            except (ValueError, TypeError):
                raise  # a bug, not an outage: retrying cannot help
            except Exception:
                self.stats.errors += 1
                logger.warning(
                    "delivery %s sent but not recorded yet: retrying in %.2f s",
                    delivery.key,
                    pause,
                    exc_info=True,
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)
            else:
                self.stats.sent += 1
                return

    async def _retry(self, delivery: Delivery, result: SendResult) -> None:
        attempts = delivery.attempts + 1
        detail = result.detail or "retry"
        if attempts >= self.policy.max_attempts:
            await self._give_up(delivery, f"gave up after {attempts} attempts: {detail}")
            return
        delay = self.policy.delay_s(attempts, result.retry_after)
        not_before = self.clock.now() + timedelta(seconds=delay)
        logger.info(
            "delivery %s: attempt %s failed (%s), retrying in %.1f s",
            delivery.key,
            attempts,
            detail,
            delay,
        )
        await self.outbox.retry(delivery, not_before, detail)
        self.stats.retried += 1

    async def _blocked(self, delivery: Delivery, result: SendResult) -> None:
        logger.info("target %s on %s blocked the bot", delivery.target, self.platform)
        if self.on_blocked is not None:
            try:
                await self.on_blocked(delivery, result)
            except Exception:
                logger.exception("on_blocked failed for %s", delivery.key)
        await self.outbox.dead_letter(delivery, f"blocked: {result.detail or '403'}")
        self.stats.blocked += 1

    async def _give_up(self, delivery: Delivery, error: str) -> None:
        logger.warning("delivery %s dead-lettered: %s", delivery.key, error)
        await self.outbox.dead_letter(delivery, error)
        self.stats.dead_lettered += 1
        if self.on_dead_letter is not None:
            try:
                await self.on_dead_letter(delivery, error)
            except Exception:
                logger.exception("on_dead_letter failed for %s", delivery.key)


async def run_workers(workers: Iterable[DeliveryWorker], stop: asyncio.Event) -> None:
    """Run one worker per platform until `stop` is set; one failing never stops the others."""
    async with asyncio.TaskGroup() as group:
        for worker in workers:
            group.create_task(worker.run(stop), name=f"delivery:{worker.platform}")
