"""`condorbot demo`: a recorded day through scheduler, services, ledger, outbox and console."""

from __future__ import annotations

from bot.cli import main


def test_demo_runs_a_whole_day_exactly_once_with_a_sound_ledger(tmp_path, capsys):
    status = main(["demo", "--speed", "0", "--state-dir", str(tmp_path / "state")])
    out = capsys.readouterr().out
    assert status == 0
    for heading in (
        "SPX IRON CONDOR | 0DTE",
        "HEDGE ALERT",
        "EXIT |",
        "DAY RESULT",
        "[admin] recap",
    ):
        assert heading in out, heading
    assert "[admin] alive at 2023-03-22 10:00 ET" in out  # the hourly heartbeat
    summary = out.split("=" * 72)[-1]
    assert "duplicates 0; lost 0; dead letters 0" in summary
    assert "chain verified" in summary
    assert "(silent)" in out  # trader-2 takes hedge alerts silently


def test_demo_twice_on_the_same_state_starts_fresh(tmp_path, capsys):
    state = str(tmp_path / "state")
    assert main(["demo", "--speed", "0", "--state-dir", state]) == 0
    first = capsys.readouterr().out.split("=" * 72)[-1]
    assert main(["demo", "--speed", "0", "--state-dir", state]) == 0
    second = capsys.readouterr().out.split("=" * 72)[-1]
    head = [line for line in first.splitlines() if line.startswith("ledger:")]
    assert head == [line for line in second.splitlines() if line.startswith("ledger:")]


def test_demo_on_a_day_without_bars_is_a_clear_error(tmp_path, capsys):
    status = main(["demo", "--date", "2023-04-03", "--state-dir", str(tmp_path / "s")])
    assert status == 2
    assert "2023-04-03" in capsys.readouterr().err
