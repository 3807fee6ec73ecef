"""`RedisTapeStore` on a real (embedded) Redis: order, days apart, expiry."""

from __future__ import annotations

from datetime import date

import pytest

from bot.storage.keys import Keys
from bot.storage.tape import TAPE_RETENTION_S, RedisTapeStore

DAY = date(2023, 3, 22)


async def test_lines_come_back_in_the_order_appended_per_day(redis_client):
    store = RedisTapeStore(redis_client)
    assert await store.lines(DAY) == []
    await store.append(DAY, ["a", "b"])
    await store.append(DAY, [])  # nothing polled: nothing written
    await store.append(DAY, ["c"])
    await store.append(date(2023, 3, 23), ["other day"])
    assert await store.lines(DAY) == ["a", "b", "c"]
    assert await store.lines(date(2023, 3, 23)) == ["other day"]


async def test_a_tape_expires_its_retention_after_the_last_append(redis_client):
    store = RedisTapeStore(redis_client, keys=Keys(prefix="t"))
    await store.append(DAY, ["a"])
    ttl = await redis_client.ttl("t:tape:2023-03-22")
    assert TAPE_RETENTION_S - 5 <= ttl <= TAPE_RETENTION_S


def test_a_retention_must_be_positive(redis_client):
    with pytest.raises(ValueError, match="retention_s must be positive, was 0"):
        RedisTapeStore(redis_client, retention_s=0)
