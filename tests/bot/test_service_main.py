"""`condorbot run` as a real process: starts on the embedded Redis, stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.conftest import ROOT

START = "import sys; from bot.cli import main; sys.exit(main())"


def _env(tmp_path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS", "DELIVERY", "MARKET"))}
    env.update(STATE_DIR=str(tmp_path / "state"), DATA_DIR=str(ROOT / "data"), **extra)
    return env


def test_run_starts_and_stops_cleanly_on_sigterm(tmp_path):
    with subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-c", START, "run"],
        cwd=tmp_path,
        env=_env(tmp_path, LOG_LEVEL="INFO"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        _stop_after_start(process)


def _stop_after_start(process: subprocess.Popen[str]) -> str:
    # Wait for the start line, stop with SIGTERM, and return what was logged up to the start.
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 60
        seen = ""
        while "condorbot running as" not in seen:
            line = process.stderr.readline()
            assert line or process.poll() is None, f"exited early: {seen}"
            seen += line
            assert time.monotonic() < deadline, seen
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        return seen
    finally:
        if process.poll() is None:
            process.kill()


def test_run_with_a_bad_setting_fails_fast_naming_it(tmp_path):
    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-c", START, "run"],
        cwd=tmp_path,
        env=_env(tmp_path, REDIS_URL="http://not-redis"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "REDIS_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_on_the_live_cboe_source_reads_its_tape_and_stops_cleanly(tmp_path):
    # The delayed-quotes URL points at a closed local port: outside a session nothing is
    # polled, inside one every poll fails and is reported; either way the service runs.
    with subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-c", START, "run"],
        cwd=tmp_path,
        env=_env(
            tmp_path,
            LOG_LEVEL="INFO",
            MARKET_DATA__SOURCE="cboe",
            MARKET_DATA__CBOE_URL="http://127.0.0.1:9/api/global/delayed_quotes",
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        logged = _stop_after_start(process)
    assert "live tape" in logged
    assert "prints restored" in logged
