"""`RedisKeyValue`: the `KeyValueStore` port on Redis strings under `<prefix>:kv:<name>`."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.storage.keys import Keys


class RedisKeyValue:
    """Small named values (with an optional TTL) in Redis; `decode_responses=True` expected."""

    def __init__(self, redis: Redis, keys: Keys | None = None) -> None:
        self.redis = redis
        self.keys = keys or Keys()

    async def get(self, name: str) -> str | None:
        """Return the value under `name`, or None."""
        value = await self.redis.get(self.keys.kv(name))
        return None if value is None else str(value)

    async def put(self, name: str, value: str, *, ttl_seconds: int | None = None) -> None:
        """Store `value` under `name`, expiring after `ttl_seconds` if given."""
        await self.redis.set(self.keys.kv(name), value, ex=ttl_seconds)
