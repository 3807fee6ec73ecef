"""Every Redis key condorbot uses, in one place.

All keys share one prefix (default `condorbot`) so several deployments can share a server and
`redis-cli --scan --pattern 'condorbot:*'` shows everything the bot owns. Key shapes:

| key | type | holds |
|---|---|---|
| `<p>:subscriber:<platform>:<user_id>` | hash | one subscriber, one JSON value per field |
| `<p>:subscribers` | set | index of `<platform>:<user_id>` |
| `<p>:day:<yyyy-mm-dd>` | hash | the day's signals and open positions |
| `<p>:ledger:records` | list | ledger records as canonical JSON, index = seq - 1 |
| `<p>:ledger:index` | hash | event id -> seq |
| `<p>:outbox:<platform>` | stream | deliveries waiting, read by group `delivery` |
| `<p>:outbox:<platform>:delayed` | sorted set | deliveries to retry, scored by not-before (ms) |
| `<p>:outbox:enqueued:<key>` | string | idempotency marker: the delivery key was queued |
| `<p>:outbox:sent:<key>` | string | the delivery key was recorded as sent |
| `<p>:outbox:dead` | list | dead-lettered deliveries with their error |
| `<p>:job:<name>:<utc iso time>` | string | one scheduled run of a job was claimed |
| `<p>:leader` | string | the scheduler leader's owner id (with a TTL) |
| `<p>:kv:<name>` | string | a small value by name (e.g. `tgcb:<8 hex>`, a settings button; TTL) |
| `<p>:tape:<yyyy-mm-dd>` | list | the day's polled index quotes (live source), one JSON line each |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

#: Name of the consumer group every outbox stream is read by.
OUTBOX_GROUP = "delivery"


@dataclass(frozen=True, slots=True)
class Keys:
    """Builds every key under one prefix."""

    prefix: str = "condorbot"

    def subscriber(self, platform: str, user_id: str) -> str:
        """Return the hash key of one subscriber."""
        return f"{self.prefix}:subscriber:{platform}:{user_id}"

    @property
    def subscribers(self) -> str:
        """Return the set key indexing every subscriber as `platform:user_id`."""
        return f"{self.prefix}:subscribers"

    def day(self, day: date) -> str:
        """Return the hash key of one trading day's signals and positions."""
        return f"{self.prefix}:day:{day.isoformat()}"

    @property
    def ledger_records(self) -> str:
        """Return the list key holding the ledger records in order."""
        return f"{self.prefix}:ledger:records"

    @property
    def ledger_index(self) -> str:
        """Return the hash key mapping event id to ledger seq."""
        return f"{self.prefix}:ledger:index"

    def outbox_stream(self, platform: str) -> str:
        """Return the stream key of one platform's outbox."""
        return f"{self.prefix}:outbox:{platform}"

    def outbox_delayed(self, platform: str) -> str:
        """Return the sorted-set key of one platform's delayed (retrying) deliveries."""
        return f"{self.prefix}:outbox:{platform}:delayed"

    def outbox_enqueued(self, delivery_key: str) -> str:
        """Return the marker key saying a delivery key was queued once."""
        return f"{self.prefix}:outbox:enqueued:{delivery_key}"

    def outbox_sent(self, delivery_key: str) -> str:
        """Return the marker key saying a delivery key was recorded as sent."""
        return f"{self.prefix}:outbox:sent:{delivery_key}"

    @property
    def outbox_dead(self) -> str:
        """Return the list key of dead-lettered deliveries."""
        return f"{self.prefix}:outbox:dead"

    def job_run(self, job: str, scheduled_for: datetime) -> str:
        """Return the key claiming one scheduled run of a job.

        The time is normalised to UTC, so the same instant written in New York time and in UTC
        claims the same key.

        Raises:
            ValueError: If `scheduled_for` is naive.
        """
        if scheduled_for.tzinfo is None or scheduled_for.utcoffset() is None:
            raise ValueError(f"scheduled_for must be timezone-aware, was {scheduled_for!r}")
        return f"{self.prefix}:job:{job}:{scheduled_for.astimezone(UTC).isoformat()}"

    @property
    def leader(self) -> str:
        """Return the key holding the scheduler leader's owner id."""
        return f"{self.prefix}:leader"

    def kv(self, name: str) -> str:
        """Return the key of one small named value (`KeyValueStore`)."""
        return f"{self.prefix}:kv:{name}"

    def tape(self, day: date) -> str:
        """Return the list key of one trading day's polled index quotes (`TapeStore`)."""
        return f"{self.prefix}:tape:{day.isoformat()}"
