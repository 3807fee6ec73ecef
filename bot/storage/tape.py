"""`RedisTapeStore`: the `TapeStore` port on a Redis list per day under `<prefix>:tape:<day>`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from redis.asyncio import Redis

from bot.storage.keys import Keys

#: How long a day's tape is kept: the next session's indicators warm up on it, and a week
#: covers a long weekend with room to look back at a bad day.
TAPE_RETENTION_S = 10 * 24 * 3600


class RedisTapeStore:
    """A day's polled quotes as one Redis list, expiring `retention_s` after the last append.

    The client must be created with `decode_responses=True`.
    """

    def __init__(
        self, redis: Redis, keys: Keys | None = None, retention_s: int = TAPE_RETENTION_S
    ) -> None:
        if retention_s <= 0:
            raise ValueError(f"retention_s must be positive, was {retention_s}")
        self.redis = redis
        self.keys = keys or Keys()
        self.retention_s = retention_s

    async def append(self, day: date, lines: Sequence[str]) -> None:
        """Append `lines` to the day's tape in one transaction (all or none)."""
        if not lines:
            return
        key = self.keys.tape(day)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, *lines)
            pipe.expire(key, self.retention_s)
            await pipe.execute()

    async def lines(self, day: date) -> Sequence[str]:
        """Return the day's tape in the order appended."""
        values = await self.redis.lrange(self.keys.tape(day), 0, -1)  # type: ignore[misc]
        return [str(value) for value in values]
