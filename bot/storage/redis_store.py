"""The Redis implementation of the store ports, on `redis.asyncio`.

Every multi-step write is one Lua script, so it is atomic on the server: a process killed
between two of its commands can never leave half a write behind, and two processes never
interleave inside one. Keys are built by `bot.storage.keys.Keys`.

The client must be created with `decode_responses=True` (see `bot.storage.embedded.connect`).

Delivery semantics of `RedisOutbox`:

- `enqueue` sets the idempotency marker and adds the stream entry in one script: a key is
  queued once, and a queued delivery is never half-written.
- `claim` hands out, in this order: deliveries already pending for this consumer (it died or
  lost Redis before settling them), deliveries pending for another consumer for longer than
  `reclaim_idle_ms` (that consumer died; `XAUTOCLAIM`), then new ones (`XREADGROUP >`). Retries
  whose not-before time has come are moved back into the stream first.
- `done` records the key as sent and acknowledges the entry in one script. The only window in
  which a delivery can go out twice is between the platform accepting the message and that
  script running: no chat API lets us close it (Telegram has no idempotency key), so the worker
  keeps it to one Redis round trip and the kill test measures it.
- `retry` and `dead_letter` act only on an entry that is still pending, so a repeated call
  (redis-py retries a command whose reply was lost) cannot queue or dead-letter it twice.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Awaitable, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar, cast

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot.ports import (
    Clock,
    DayPositions,
    Delivery,
    LedgerCheck,
    LedgerRecord,
    NoticeLevel,
    Subscriber,
    SubscriberStatus,
)
from bot.storage.keys import OUTBOX_GROUP, Keys
from bot.storage.ledger_tools import (
    GENESIS_HASH,
    make_record,
    record_from_json,
    record_to_json,
    verify_records,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: How long the outbox remembers that a key was queued or sent. Event ids are per day, so a key
#: older than this is never queued again; the markers expire so Redis does not grow for ever.
DEFAULT_RETENTION_S = 35 * 24 * 3600
#: A delivery pending this long for another consumer is taken over: that consumer is dead.
#: Far above one send (a few seconds at worst: a 429 is handed back with `retry`, not slept on).
DEFAULT_RECLAIM_IDLE_MS = 60_000
#: How long a claimed job run is remembered (the claim only has to outlive the run's misfire
#: grace time).
DEFAULT_RUN_TTL_S = 7 * 24 * 3600


async def _aw(value: Awaitable[T] | T) -> T:
    # redis-py types its commands as `Awaitable[T] | T` (one signature for sync and async
    # clients); on `redis.asyncio` they are always awaitable.
    if inspect.isawaitable(value):
        return cast("T", await value)
    return value


def _require_decoded(redis: Redis) -> None:
    if not redis.connection_pool.connection_kwargs.get("decode_responses"):
        raise ValueError("the Redis client must be created with decode_responses=True")


class _SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


# --- subscribers -------------------------------------------------------------------------


def _aware_iso(value: datetime | None, name: str) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"subscriber {name} must be timezone-aware, was {value!r}")
    return value.isoformat()


def _subscriber_fields(sub: Subscriber) -> dict[str, str]:
    values: dict[str, Any] = {
        "platform": sub.platform,
        "user_id": sub.user_id,
        "status": sub.status.value,
        "trial_start": _aware_iso(sub.trial_start, "trial_start"),
        "trial_end": _aware_iso(sub.trial_end, "trial_end"),
        "tracks": list(sub.tracks),
        "risks": list(sub.risks),
        "delivery": sub.delivery,
        "levels": {kind: NoticeLevel(level).value for kind, level in sub.levels.items()},
        "quiet_start": sub.quiet_start,
        "quiet_end": sub.quiet_end,
        "time_zone": sub.time_zone,
        "admin": sub.admin,
    }
    return {name: json.dumps(value, sort_keys=True) for name, value in values.items()}


def _subscriber_from_fields(fields: dict[str, str]) -> Subscriber:
    v = {name: json.loads(text) for name, text in fields.items()}

    def when(name: str) -> datetime | None:
        text = v.get(name)
        return None if text is None else datetime.fromisoformat(text)

    defaults = Subscriber(platform=v["platform"], user_id=v["user_id"])
    return Subscriber(
        platform=v["platform"],
        user_id=v["user_id"],
        status=SubscriberStatus(v.get("status", defaults.status.value)),
        trial_start=when("trial_start"),
        trial_end=when("trial_end"),
        tracks=tuple(v.get("tracks", defaults.tracks)),
        risks=tuple(v.get("risks", defaults.risks)),
        delivery=v.get("delivery", defaults.delivery),
        levels={kind: NoticeLevel(level) for kind, level in v.get("levels", {}).items()},
        quiet_start=v.get("quiet_start"),
        quiet_end=v.get("quiet_end"),
        time_zone=v.get("time_zone", defaults.time_zone),
        admin=bool(v.get("admin", False)),
    )


class RedisSubscriberStore:
    """Subscribers as one hash each (one JSON value per field) plus a set index.

    Args:
        redis: A `redis.asyncio.Redis` created with `decode_responses=True`.
        keys: Key names (the prefix).
    """

    def __init__(self, redis: Redis, keys: Keys | None = None) -> None:
        _require_decoded(redis)
        self._redis = redis
        self._keys = keys or Keys()

    async def get(self, platform: str, user_id: str) -> Subscriber | None:
        """Return one subscriber, or None."""
        fields = await _aw(self._redis.hgetall(self._keys.subscriber(platform, user_id)))
        return _subscriber_from_fields(fields) if fields else None

    async def put(self, subscriber: Subscriber) -> None:
        """Create or replace a subscriber.

        Raises:
            ValueError: If a trial time is naive.
        """
        fields = _subscriber_fields(subscriber)
        key = self._keys.subscriber(subscriber.platform, subscriber.user_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping=fields)
            pipe.sadd(self._keys.subscribers, subscriber.key)
            await pipe.execute()

    async def all(self) -> Sequence[Subscriber]:
        """Return every subscriber, ordered by platform then user id."""
        members = await _aw(self._redis.smembers(self._keys.subscribers))
        ids = sorted(tuple(str(m).split(":", 1)) for m in members)
        async with self._redis.pipeline(transaction=False) as pipe:
            for platform, user_id in ids:
                pipe.hgetall(self._keys.subscriber(platform, user_id))
            rows: list[dict[str, str]] = await pipe.execute()
        return [_subscriber_from_fields(row) for row in rows if row]


# --- the day's signals and positions -------------------------------------------------------


class RedisDayStore:
    """The day's signals and open positions per track, one hash per trading day.

    Args:
        redis: A `redis.asyncio.Redis` created with `decode_responses=True`.
        keys: Key names (the prefix).
    """

    def __init__(self, redis: Redis, keys: Keys | None = None) -> None:
        _require_decoded(redis)
        self._redis = redis
        self._keys = keys or Keys()

    async def get_day(self, day: date) -> DayPositions:
        """Return what is stored for `day` (empty when nothing is)."""
        fields = await _aw(self._redis.hgetall(self._keys.day(day)))
        return DayPositions(
            day=day,
            signals=json.loads(fields.get("signals", "{}")),
            open_positions=json.loads(fields.get("open_positions", "{}")),
        )

    async def put_day(self, positions: DayPositions) -> None:
        """Replace what is stored for `positions.day`."""
        mapping = {
            "signals": json.dumps(dict(positions.signals), sort_keys=True),
            "open_positions": json.dumps(dict(positions.open_positions), sort_keys=True),
        }
        await _aw(self._redis.hset(self._keys.day(positions.day), mapping=mapping))


# --- the ledger ------------------------------------------------------------------------------

# Append `ARGV[3]` as record number `ARGV[2] + 1` unless the event is recorded already or
# another process appended since the caller read the head (compare-and-set on the length).
_LEDGER_APPEND = """
local seq = redis.call('HGET', KEYS[2], ARGV[1])
if seq then
  return {'exists', redis.call('LINDEX', KEYS[1], tonumber(seq) - 1)}
end
if redis.call('LLEN', KEYS[1]) ~= tonumber(ARGV[2]) then
  return {'conflict'}
end
redis.call('RPUSH', KEYS[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[1], tonumber(ARGV[2]) + 1)
return {'appended'}
"""


class RedisLedger:
    """The hash-chained ledger: a Redis list of canonical-JSON records plus an event index.

    The SHA-256 is computed here (Redis Lua has none); the append script is a compare-and-set
    on the list length, so two processes appending at once never fork the chain: the loser
    re-reads the head and tries again.

    Args:
        redis: A `redis.asyncio.Redis` created with `decode_responses=True`.
        keys: Key names (the prefix).
        max_attempts: Compare-and-set attempts before giving up under contention.
    """

    def __init__(self, redis: Redis, keys: Keys | None = None, *, max_attempts: int = 100) -> None:
        _require_decoded(redis)
        self._redis = redis
        self._keys = keys or Keys()
        self._max_attempts = max_attempts
        self._append = redis.register_script(_LEDGER_APPEND)

    async def append(self, event_id: str, kind: str, at: str, payload: str) -> LedgerRecord:
        """Append an event; if `event_id` is already recorded, return that record unchanged.

        Raises:
            ValueError: If `event_id` is empty.
            RuntimeError: If other writers won the compare-and-set `max_attempts` times.
        """
        if not event_id:
            raise ValueError("ledger event_id must not be empty")
        keys = [self._keys.ledger_records, self._keys.ledger_index]
        for _ in range(self._max_attempts):
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hget(self._keys.ledger_index, event_id)
                pipe.llen(self._keys.ledger_records)
                pipe.lindex(self._keys.ledger_records, -1)
                seen, length, last = await pipe.execute()
            if seen is not None:
                return await self._record_at(int(seen))
            prev = record_from_json(last).hash if last else GENESIS_HASH
            record = make_record(
                seq=int(length) + 1,
                event_id=event_id,
                kind=kind,
                at=at,
                payload=payload,
                prev_hash=prev,
            )
            reply = await self._append(
                keys=keys, args=[event_id, int(length), record_to_json(record)]
            )
            if reply[0] == "appended":
                return record
            if reply[0] == "exists":
                return record_from_json(reply[1])
            logger.debug(
                "ledger append of %s lost a race at seq %s, retrying", event_id, record.seq
            )
        raise RuntimeError(f"ledger append of {event_id!r} lost {self._max_attempts} races")

    async def _record_at(self, seq: int) -> LedgerRecord:
        text = await _aw(self._redis.lindex(self._keys.ledger_records, seq - 1))
        if text is None:
            raise ValueError(f"ledger index points at seq {seq}, which is missing")
        return record_from_json(str(text))

    async def records(self) -> Sequence[LedgerRecord]:
        """Return every record in order.

        Raises:
            ValueError: If a stored record is not readable (see `verify`).
        """
        texts = await _aw(self._redis.lrange(self._keys.ledger_records, 0, -1))
        records = []
        for seq, text in enumerate(texts, start=1):
            try:
                records.append(record_from_json(text))
            except (ValueError, TypeError) as exc:
                raise ValueError(f"ledger record {seq} is unreadable: {exc}") from exc
        return records

    async def verify(self) -> LedgerCheck:
        """Walk the chain and report the first broken link (or an unreadable record)."""
        texts = await _aw(self._redis.lrange(self._keys.ledger_records, 0, -1))
        records = []
        for seq, text in enumerate(texts, start=1):
            try:
                records.append(record_from_json(text))
            except (ValueError, TypeError) as exc:
                before = verify_records(records)
                if not before.ok:
                    return before
                return LedgerCheck(
                    ok=False,
                    records=seq - 1,
                    head=before.head,
                    broken_seq=seq,
                    problem=f"unreadable record: {exc}",
                )
        return verify_records(records)


# --- the outbox ------------------------------------------------------------------------------

# KEYS: enqueued marker, stream. ARGV: retention seconds, delivery JSON.
_OUTBOX_ENQUEUE = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return 0
end
redis.call('XADD', KEYS[2], '*', 'd', ARGV[2])
return 1
"""

# KEYS: delayed zset, stream. ARGV: now (ms), max count. Move due retries back to the stream.
_OUTBOX_PROMOTE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', 'd', member)
  redis.call('ZREM', KEYS[1], member)
end
return #due
"""

# KEYS: sent marker, stream. ARGV: group, entry id, retention seconds.
_OUTBOX_DONE = """
redis.call('SET', KEYS[1], '1', 'EX', ARGV[3])
redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[2], ARGV[2])
return 1
"""

# KEYS: stream, delayed zset. ARGV: group, entry id, not-before (ms), retried delivery JSON.
_OUTBOX_RETRY = """
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
"""

# KEYS: stream, dead list. ARGV: group, entry id, dead-letter JSON.
_OUTBOX_DEAD = """
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
"""


def delivery_to_json(delivery: Delivery, **extra: Any) -> str:
    """Return a delivery as the outbox stores it (without its entry id)."""
    body: dict[str, Any] = {
        "key": delivery.key,
        "platform": delivery.platform,
        "target": delivery.target,
        "event_id": delivery.event_id,
        "text": delivery.text,
        "attempts": delivery.attempts,
        "silent": delivery.silent,
        **({"attachment": delivery.attachment} if delivery.attachment else {}),
        **extra,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def delivery_from_json(text: str, entry_id: str = "") -> Delivery:
    """Parse a delivery stored by `delivery_to_json`."""
    body = json.loads(text)
    return Delivery(
        key=body["key"],
        platform=body["platform"],
        target=body["target"],
        event_id=body["event_id"],
        text=body["text"],
        attempts=int(body.get("attempts", 0)),
        silent=bool(body.get("silent", False)),
        attachment=str(body.get("attachment", "")),
        entry_id=entry_id,
    )


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class RedisOutbox:
    """Deliveries per platform in a Redis stream, read by the consumer group `delivery`.

    Args:
        redis: A `redis.asyncio.Redis` created with `decode_responses=True`.
        keys: Key names (the prefix).
        clock: Decides when a retry is due (the system clock by default).
        reclaim_idle_ms: A delivery pending this long for another consumer is taken over.
        retention_s: How long the queued and sent markers of a key are kept.
    """

    def __init__(
        self,
        redis: Redis,
        keys: Keys | None = None,
        *,
        clock: Clock | None = None,
        reclaim_idle_ms: int = DEFAULT_RECLAIM_IDLE_MS,
        retention_s: int = DEFAULT_RETENTION_S,
    ) -> None:
        _require_decoded(redis)
        self._redis = redis
        self._keys = keys or Keys()
        self._clock: Clock = clock or _SystemClock()
        self._reclaim_idle_ms = reclaim_idle_ms
        self._retention_s = retention_s
        self._groups: set[str] = set()
        self._reclaim_cursor: dict[str, str] = {}
        self._enqueue = redis.register_script(_OUTBOX_ENQUEUE)
        self._promote = redis.register_script(_OUTBOX_PROMOTE)
        self._done = redis.register_script(_OUTBOX_DONE)
        self._retry = redis.register_script(_OUTBOX_RETRY)
        self._dead = redis.register_script(_OUTBOX_DEAD)

    async def enqueue(self, delivery: Delivery) -> bool:
        """Queue a delivery; False (and nothing queued) if its key was queued before.

        Raises:
            ValueError: If the key is empty.
        """
        if not delivery.key:
            raise ValueError(f"delivery key must not be empty: {delivery!r}")
        queued = await self._enqueue(
            keys=[
                self._keys.outbox_enqueued(delivery.key),
                self._keys.outbox_stream(delivery.platform),
            ],
            args=[self._retention_s, delivery_to_json(delivery)],
        )
        return bool(queued)

    async def _ensure_group(self, stream: str) -> None:
        if stream in self._groups:
            return
        try:
            # From id 0: deliveries queued before any worker existed are read too.
            await _aw(self._redis.xgroup_create(stream, OUTBOX_GROUP, id="0", mkstream=True))
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups.add(stream)

    async def claim(self, platform: str, consumer: str, count: int) -> Sequence[Delivery]:
        """Claim up to `count` deliveries: the consumer's own unsettled ones, dead ones', new ones.

        Use one consumer name per worker task. A claimed delivery stays pending until `done`,
        `retry` or `dead_letter`; until then a later `claim` by the same consumer returns it
        again (it was never settled, e.g. Redis went away mid-settle).
        """
        stream = self._keys.outbox_stream(platform)
        try:
            return await self._claim(stream, platform, consumer, count)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # The stream or group vanished (deleted by hand, or a Redis without persistence).
            self._groups.discard(stream)
            return await self._claim(stream, platform, consumer, count)

    async def _claim(self, stream: str, platform: str, consumer: str, count: int) -> list[Delivery]:
        await self._ensure_group(stream)
        await self._promote(
            keys=[self._keys.outbox_delayed(platform), stream],
            args=[_ms(self._clock.now()), max(count, 100)],
        )
        claimed: dict[str, Delivery] = {}
        own = await self._redis.xreadgroup(OUTBOX_GROUP, consumer, {stream: "0"}, count=count)
        await self._collect(stream, _stream_entries(own), claimed)
        if len(claimed) < count:
            reply = await self._redis.xautoclaim(
                stream,
                OUTBOX_GROUP,
                consumer,
                self._reclaim_idle_ms,
                start_id=self._reclaim_cursor.get(stream, "0-0"),
                count=count - len(claimed),
            )
            # XAUTOCLAIM scans a bounded slice of the pending list per call; carry the cursor
            # so a long list of live consumers' entries cannot hide a dead one's for ever.
            self._reclaim_cursor[stream] = str(reply[0])
            await self._collect(stream, list(reply[1]), claimed)
        if len(claimed) < count:
            new = await self._redis.xreadgroup(
                OUTBOX_GROUP, consumer, {stream: ">"}, count=count - len(claimed)
            )
            await self._collect(stream, _stream_entries(new), claimed)
        return list(claimed.values())[:count]

    async def _collect(self, stream: str, entries: list[Any], into: dict[str, Delivery]) -> None:
        for entry_id, fields in entries:
            if entry_id is None:  # Redis 6.2 XAUTOCLAIM: a pending id whose entry was deleted
                continue
            if not fields or "d" not in fields:
                logger.warning("outbox %s: dropping unreadable entry %s", stream, entry_id)
                await _aw(self._redis.xack(stream, OUTBOX_GROUP, entry_id))
                continue
            into.setdefault(entry_id, delivery_from_json(fields["d"], entry_id))

    async def is_sent(self, key: str) -> bool:
        """Whether the delivery with this key was recorded as sent."""
        return bool(await _aw(self._redis.exists(self._keys.outbox_sent(key))))

    async def done(self, delivery: Delivery) -> None:
        """Record the delivery as sent and acknowledge it, in one atomic step."""
        await self._done(
            keys=[
                self._keys.outbox_sent(delivery.key),
                self._keys.outbox_stream(delivery.platform),
            ],
            args=[OUTBOX_GROUP, _entry_id(delivery), self._retention_s],
        )

    async def retry(self, delivery: Delivery, not_before: datetime, error: str) -> None:
        """Put the delivery back, one attempt more, to be claimed no earlier than `not_before`.

        A no-op if the delivery is no longer pending (already settled).
        """
        retried = delivery_to_json(delivery_with_attempt(delivery), last_error=error)
        await self._retry(
            keys=[
                self._keys.outbox_stream(delivery.platform),
                self._keys.outbox_delayed(delivery.platform),
            ],
            args=[OUTBOX_GROUP, _entry_id(delivery), _ms(not_before), retried],
        )

    async def dead_letter(self, delivery: Delivery, error: str) -> None:
        """Move the delivery to the dead-letter list with its error.

        A no-op if the delivery is no longer pending (already settled).
        """
        body = delivery_to_json(delivery, error=error, at=self._clock.now().isoformat())
        await self._dead(
            keys=[self._keys.outbox_stream(delivery.platform), self._keys.outbox_dead],
            args=[OUTBOX_GROUP, _entry_id(delivery), body],
        )

    async def dead_letters(self) -> Sequence[tuple[Delivery, str]]:
        """Return the dead-lettered deliveries with their last error, oldest first."""
        texts = await _aw(self._redis.lrange(self._keys.outbox_dead, 0, -1))
        return [(delivery_from_json(text), str(json.loads(text)["error"])) for text in texts]

    async def backlog(self, platform: str) -> int:
        """Return how many deliveries of `platform` are unsettled (queued, pending, delayed)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xlen(self._keys.outbox_stream(platform))
            pipe.zcard(self._keys.outbox_delayed(platform))
            queued, delayed = await pipe.execute()
        return int(queued) + int(delayed)


def delivery_with_attempt(delivery: Delivery) -> Delivery:
    """Return the delivery with one more attempt counted and no entry id (as `retry` stores it)."""
    return Delivery(
        key=delivery.key,
        platform=delivery.platform,
        target=delivery.target,
        event_id=delivery.event_id,
        text=delivery.text,
        attempts=delivery.attempts + 1,
        silent=delivery.silent,
        attachment=delivery.attachment,
    )


def _entry_id(delivery: Delivery) -> str:
    if not delivery.entry_id:
        raise ValueError(f"delivery {delivery.key!r} was not claimed from the outbox (no entry id)")
    return delivery.entry_id


def _stream_entries(reply: Any) -> list[Any]:
    # XREADGROUP replies [[stream, [(id, fields), ...]]] on RESP2, {stream: [...]} on RESP3,
    # and an empty list or dict when nothing came.
    if not reply:
        return []
    groups = reply.values() if isinstance(reply, dict) else [entries for _, entries in reply]
    return [entry for entries in groups for entry in entries]


# --- job locks -------------------------------------------------------------------------------

# KEYS: leader key. ARGV: owner, ttl (ms). Take the lead if free, renew it if ours.
_LEAD = """
local current = redis.call('GET', KEYS[1])
if not current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

# KEYS: leader key. ARGV: owner. Give the lead up, only if ours.
_RESIGN = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisJobLocks:
    """Job-run deduplication (`SET NX` per job and scheduled time) and a leader lease.

    Args:
        redis: A `redis.asyncio.Redis` created with `decode_responses=True`.
        keys: Key names (the prefix).
        run_ttl_s: How long a claimed run is remembered.
    """

    def __init__(
        self, redis: Redis, keys: Keys | None = None, *, run_ttl_s: int = DEFAULT_RUN_TTL_S
    ) -> None:
        _require_decoded(redis)
        self._redis = redis
        self._keys = keys or Keys()
        self._run_ttl_s = run_ttl_s
        self._lead = redis.register_script(_LEAD)
        self._resign = redis.register_script(_RESIGN)

    async def claim_run(self, job: str, scheduled_for: datetime) -> bool:
        """True for exactly one caller per (job, scheduled time), across processes.

        Raises:
            ValueError: If `scheduled_for` is naive.
        """
        key = self._keys.job_run(job, scheduled_for)
        return bool(await _aw(self._redis.set(key, "1", nx=True, ex=self._run_ttl_s)))

    async def lead(self, owner: str, ttl_seconds: int) -> bool:
        """Take or renew the scheduler leadership for `ttl_seconds`; True if `owner` leads.

        Raises:
            ValueError: If `ttl_seconds` is not positive or `owner` is empty.
        """
        if ttl_seconds <= 0 or not owner:
            raise ValueError(
                f"lead needs an owner and ttl_seconds > 0, was {owner!r}, {ttl_seconds}"
            )
        return bool(await self._lead(keys=[self._keys.leader], args=[owner, ttl_seconds * 1000]))

    async def resign(self, owner: str) -> bool:
        """Give up the leadership if `owner` holds it (on a clean stop); True if it did."""
        return bool(await self._resign(keys=[self._keys.leader], args=[owner]))
