"""`condorbot demo --telegram`: the demo day also through the fake Bot API server, no token."""

from __future__ import annotations

from bot.cli import main


def test_demo_telegram_prints_what_the_fake_received_and_saves_the_charts(tmp_path, capsys):
    state = tmp_path / "state"
    status = main(["demo", "--speed", "0", "--telegram", "--state-dir", str(state)])
    out = capsys.readouterr().out
    assert status == 0
    telegram = out.split("Telegram (fake Bot API)")[1]
    assert "0 rejected" in telegram.splitlines()[1]
    assert "--- sendPhoto to 0dte channel [-1001000000001]" in telegram
    assert "--- sendPhoto to trader [1001]" in telegram
    assert "--- sendMessage to admin [1002]" in telegram
    hedges = [b for b in telegram.split("--- ")[1:] if "HEDGE" in b.split("\n", 1)[1][:40]]
    to_trader = [h.split("\n", 1)[0] for h in hedges if h.startswith("sendMessage to trader")]
    assert to_trader
    assert all(h.endswith("(silent)") for h in to_trader)  # the trader silenced hedge alerts
    charts = sorted((state / "telegram").glob("*.png"))
    assert len(charts) == 2
    assert all(c.read_bytes().startswith(b"\x89PNG") for c in charts)
    summary = out.split("=" * 72)[-1]
    assert "duplicates 0; lost 0; dead letters 0" in summary
    assert "telegram: 21 messages through the fake Bot API (0 rejected), 2 charts" in summary
    # The console part is the plain demo's, unchanged.
    assert "SPX IRON CONDOR | 0DTE" in out.split("Telegram (fake Bot API)")[0]
