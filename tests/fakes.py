"""In-memory fakes of the ports, for tests: fakes, not mocks.

Each store fake behaves like its Redis implementation in `bot.storage.redis_store`, and
`tests/bot/storage/test_store_contract.py` runs one suite against both so they cannot drift.
What Redis times on the server (lease and reclaim timeouts) the fakes time with
`time.monotonic`; what our code times from its `Clock` (when a retry is due) they time from
the same `Clock`.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from bot.ports import (
    DayPositions,
    Delivery,
    LedgerCheck,
    LedgerRecord,
    SendOutcome,
    SendResult,
    Subscriber,
)
from bot.storage.keys import Keys
from bot.storage.ledger_tools import GENESIS_HASH, make_record, verify_records
from bot.storage.redis_store import delivery_with_attempt


class FixedClock:
    """A clock that stands still until told to move."""

    def __init__(self, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError(f"FixedClock needs an aware time, was {now!r}")
        self._now = now

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError(f"FixedClock needs an aware time, was {now!r}")
        self._now = now

    def advance(self, delta: timedelta | None = None, /, **kwargs: float) -> datetime:
        """Move forward by `delta` or by timedelta keywords (`seconds=5`); return the new now."""
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now


def _check_aware(sub: Subscriber) -> None:
    for name in ("trial_start", "trial_end"):
        value = getattr(sub, name)
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            raise ValueError(f"subscriber {name} must be timezone-aware, was {value!r}")


class InMemorySubscriberStore:
    def __init__(self) -> None:
        self._subs: dict[tuple[str, str], Subscriber] = {}

    async def get(self, platform: str, user_id: str) -> Subscriber | None:
        return self._subs.get((platform, user_id))

    async def put(self, subscriber: Subscriber) -> None:
        _check_aware(subscriber)
        self._subs[(subscriber.platform, subscriber.user_id)] = replace(
            subscriber,
            tracks=tuple(subscriber.tracks),
            risks=tuple(subscriber.risks),
            levels=dict(subscriber.levels),
        )

    async def all(self) -> Sequence[Subscriber]:
        return [self._subs[k] for k in sorted(self._subs)]


class InMemoryKeyValue:
    """`KeyValueStore` in a dict; TTLs timed with `time.monotonic` (Redis times them itself)."""

    def __init__(self) -> None:
        self.values: dict[str, tuple[str, float | None]] = {}

    async def get(self, name: str) -> str | None:
        found = self.values.get(name)
        if found is None:
            return None
        value, expires = found
        if expires is not None and time.monotonic() >= expires:
            del self.values[name]
            return None
        return value

    async def put(self, name: str, value: str, *, ttl_seconds: int | None = None) -> None:
        expires = None if ttl_seconds is None else time.monotonic() + ttl_seconds
        self.values[name] = (value, expires)


class InMemoryDayStore:
    def __init__(self) -> None:
        self._days: dict[date, DayPositions] = {}

    async def get_day(self, day: date) -> DayPositions:
        return self._days.get(day, DayPositions(day=day))

    async def put_day(self, positions: DayPositions) -> None:
        self._days[positions.day] = replace(
            positions,
            signals=dict(positions.signals),
            open_positions=dict(positions.open_positions),
        )


class InMemoryLedger:
    def __init__(self) -> None:
        self.stored: list[LedgerRecord] = []  # tests may tamper with it

    async def append(self, event_id: str, kind: str, at: str, payload: str) -> LedgerRecord:
        if not event_id:
            raise ValueError("ledger event_id must not be empty")
        for record in self.stored:
            if record.event_id == event_id:
                return record
        record = make_record(
            seq=len(self.stored) + 1,
            event_id=event_id,
            kind=kind,
            at=at,
            payload=payload,
            prev_hash=self.stored[-1].hash if self.stored else GENESIS_HASH,
        )
        self.stored.append(record)
        return record

    async def records(self) -> Sequence[LedgerRecord]:
        return list(self.stored)

    async def verify(self) -> LedgerCheck:
        return verify_records(self.stored)


@dataclass
class _Pending:
    consumer: str
    since: float  # time.monotonic() of the last delivery to `consumer`


@dataclass
class _Stream:
    entries: dict[str, Delivery] = field(default_factory=dict)  # unacknowledged, in order
    delivered: set[str] = field(default_factory=set)  # handed to a consumer at least once
    pending: dict[str, _Pending] = field(default_factory=dict)
    delayed: list[tuple[datetime, Delivery]] = field(default_factory=list)


class InMemoryOutbox:
    """The outbox in memory, with the consumer-group semantics of the Redis one."""

    def __init__(self, clock: FixedClock, *, reclaim_idle_ms: int = 60_000) -> None:
        self._clock = clock
        self._reclaim_idle_s = reclaim_idle_ms / 1000
        self._streams: dict[str, _Stream] = {}
        self._ids = itertools.count(1)
        self.enqueued: set[str] = set()
        self.sent: set[str] = set()
        self.dead: list[tuple[Delivery, str]] = []

    def _stream(self, platform: str) -> _Stream:
        return self._streams.setdefault(platform, _Stream())

    def _add(self, delivery: Delivery) -> None:
        entry_id = f"{next(self._ids)}-0"
        self._stream(delivery.platform).entries[entry_id] = replace(delivery, entry_id=entry_id)

    async def enqueue(self, delivery: Delivery) -> bool:
        if not delivery.key:
            raise ValueError(f"delivery key must not be empty: {delivery!r}")
        if delivery.key in self.enqueued:
            return False
        self.enqueued.add(delivery.key)
        self._add(replace(delivery, entry_id=""))
        return True

    async def claim(self, platform: str, consumer: str, count: int) -> Sequence[Delivery]:
        stream = self._stream(platform)
        now = self._clock.now()
        due = [d for nb, d in stream.delayed if nb <= now]
        stream.delayed = [(nb, d) for nb, d in stream.delayed if nb > now]
        for delivery in due:
            self._add(delivery)
        tick = time.monotonic()
        picked: list[str] = [eid for eid, p in stream.pending.items() if p.consumer == consumer][
            :count
        ]
        for eid, p in list(stream.pending.items()):
            if len(picked) >= count:
                break
            if eid not in picked and tick - p.since >= self._reclaim_idle_s:
                picked.append(eid)
        for eid in stream.entries:
            if len(picked) >= count:
                break
            if eid not in stream.delivered:
                picked.append(eid)
        for eid in picked:
            stream.delivered.add(eid)
            stream.pending[eid] = _Pending(consumer, tick)
        return [stream.entries[eid] for eid in picked]

    def _settle(self, delivery: Delivery) -> bool:
        stream = self._stream(delivery.platform)
        if not delivery.entry_id:
            raise ValueError(f"delivery {delivery.key!r} was not claimed from the outbox")
        if stream.pending.pop(delivery.entry_id, None) is None:
            return False
        del stream.entries[delivery.entry_id]
        stream.delivered.discard(delivery.entry_id)
        return True

    async def is_sent(self, key: str) -> bool:
        return key in self.sent

    async def done(self, delivery: Delivery) -> None:
        self.sent.add(delivery.key)
        self._settle(delivery)

    async def retry(self, delivery: Delivery, not_before: datetime, error: str) -> None:
        if self._settle(delivery):
            stream = self._stream(delivery.platform)
            stream.delayed.append((not_before, delivery_with_attempt(delivery)))
            stream.delayed.sort(key=lambda item: item[0])

    async def dead_letter(self, delivery: Delivery, error: str) -> None:
        if self._settle(delivery):
            self.dead.append((replace(delivery, entry_id=""), error))

    async def dead_letters(self) -> Sequence[tuple[Delivery, str]]:
        return list(self.dead)

    async def backlog(self, platform: str) -> int:
        stream = self._stream(platform)
        return len(stream.entries) + len(stream.delayed)


class InMemoryJobLocks:
    def __init__(self, keys: Keys | None = None) -> None:
        self._keys = keys or Keys()
        self._runs: set[str] = set()
        self._leader: tuple[str, float] | None = None  # owner, monotonic expiry

    async def claim_run(self, job: str, scheduled_for: datetime) -> bool:
        key = self._keys.job_run(job, scheduled_for)
        if key in self._runs:
            return False
        self._runs.add(key)
        return True

    async def lead(self, owner: str, ttl_seconds: int) -> bool:
        if ttl_seconds <= 0 or not owner:
            raise ValueError(
                f"lead needs an owner and ttl_seconds > 0, was {owner!r}, {ttl_seconds}"
            )
        tick = time.monotonic()
        if self._leader is None or self._leader[1] <= tick or self._leader[0] == owner:
            self._leader = (owner, tick + ttl_seconds)
            return True
        return False

    async def resign(self, owner: str) -> bool:
        if (
            self._leader is not None
            and self._leader[0] == owner
            and self._leader[1] > time.monotonic()
        ):
            self._leader = None
            return True
        return False


@dataclass(frozen=True, slots=True)
class SentMessage:
    target: str
    text: str
    silent: bool


class RecordingPublisher:
    """A publisher that records every send and answers as scripted per target.

    Unscripted sends succeed. `script(target, *results)` queues answers for the next sends
    to `target`; the helpers script the common platform answers.
    """

    def __init__(self, platform: str = "test") -> None:
        self.platform = platform
        self.attempts: list[str] = []  # every send call's target, in order
        self.sent: list[SentMessage] = []  # accepted sends only
        self._scripts: dict[str, list[SendResult | Exception]] = {}

    def script(self, target: str, *results: SendResult | Exception) -> None:
        self._scripts.setdefault(target, []).extend(results)

    def rate_limit(self, target: str, retry_after: float, times: int = 1) -> None:
        """Answer 429 with `retry_after` seconds, `times` times."""
        result = SendResult(outcome=SendOutcome.RETRY, retry_after=retry_after, detail="429")
        self.script(target, *[result] * times)

    def block(self, target: str) -> None:
        """Answer 403 (the user blocked the bot)."""
        self.script(target, SendResult(outcome=SendOutcome.BLOCKED, detail="403 blocked"))

    def fail(self, target: str, times: int = 1, *, permanent: bool = False) -> None:
        """Answer a transient failure (or a permanent one) `times` times."""
        outcome = SendOutcome.FAILED if permanent else SendOutcome.RETRY
        self.script(target, *[SendResult(outcome=outcome, detail="boom")] * times)

    def raise_error(self, target: str, exc: Exception) -> None:
        """Raise `exc` on the next send to `target`."""
        self.script(target, exc)

    def received(self, target: str) -> int:
        return sum(1 for m in self.sent if m.target == target)

    async def send(self, target: str, text: str, *, silent: bool) -> SendResult:
        self.attempts.append(target)
        queued = self._scripts.get(target)
        answer: SendResult | Exception = (
            queued.pop(0) if queued else SendResult(outcome=SendOutcome.SENT)
        )
        if isinstance(answer, Exception):
            raise answer
        if answer.outcome is SendOutcome.SENT:
            self.sent.append(SentMessage(target, text, silent))
        return answer
