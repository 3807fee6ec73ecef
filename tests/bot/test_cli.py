"""The `condorbot` command end to end: real files in, cards or clear one-line errors out."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import CHAINS

CLOSE = CHAINS / "spx_cboe_2024-01-05_close.csv.gz"
INTRADAY = CHAINS / "spx_cboe_2022-03-23_intraday_1011ET.csv.gz"

SIGNAL_KEYS = {
    "kind",
    "track",
    "risk",
    "expiry",
    "legs",
    "credit_mid",
    "width_points",
    "max_loss_usd",
    "break_even_low",
    "break_even_high",
    "pop",
    "expected_move_points",
    "rule_version",
    "signal_id",
}


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def _lines(path: Path) -> list[str]:
    return gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()


def _write(tmp_path: Path, lines: list[str], name: str = "chain.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _row_index(lines: list[str], needle: str) -> int:
    return next(i for i, line in enumerate(lines) if needle in line)


def test_signal_json_has_the_documented_keys_and_consistent_numbers(capsys):
    status, out, err = _run(
        capsys, "signal", "--chain", str(CLOSE), "--track", "45dte", "--risk", "balanced", "--json"
    )
    assert status == 0, err
    card = json.loads(out)
    assert card.keys() >= SIGNAL_KEYS
    assert card["kind"] == "condor"
    assert [(leg["right"], leg["side"]) for leg in card["legs"]] == [
        ("P", "BUY"),
        ("P", "SELL"),
        ("C", "SELL"),
        ("C", "BUY"),
    ]
    assert set(card["legs"][0]) >= {"right", "side", "strike", "bid", "ask", "delta"}
    short_put, short_call = card["legs"][1]["strike"], card["legs"][2]["strike"]
    assert card["break_even_low"] == pytest.approx(short_put - card["credit_mid"], abs=1e-9)
    assert card["break_even_high"] == pytest.approx(short_call + card["credit_mid"], abs=1e-9)
    assert card["max_loss_usd"] == pytest.approx(
        (card["width_points"] - card["credit_mid"]) * 100, abs=1e-9
    )


def test_no_trade_json_carries_reasons(capsys):
    status, out, _ = _run(
        capsys, "signal", "--chain", str(CLOSE), "--track", "0dte", "--risk", "balanced", "--json"
    )
    assert status == 0
    card = json.loads(out)
    assert card["kind"] == "no_trade"
    assert card["reasons"]
    assert all(isinstance(reason, str) and reason for reason in card["reasons"])
    assert {"rule_version", "signal_id", "track", "risk"} <= card.keys()


def test_cards_prints_nine_cards_with_disclaimer_and_rule_version(capsys):
    status, out, _ = _run(capsys, "cards")
    assert status == 0
    assert out.count("SPX IRON CONDOR |") == 9
    assert out.count("Educational signal, not personal financial advice.") == 9
    assert out.count("Rules condor-") == 9


def test_chain_greeks_json_rows(capsys):
    status, out, _ = _run(capsys, "chain-greeks", "--chain", str(INTRADAY), "--json")
    assert status == 0
    rows = json.loads(out)
    keys = {"root", "expiry", "strike", "right", "bid", "ask", "iv", "delta", "gamma"}
    keys |= {"theta_per_day", "vega_per_vol_point"}
    assert all(set(row) == keys for row in rows)
    assert {row["right"] for row in rows} == {"C", "P"}
    assert any(row["iv"] is None for row in rows)
    assert sum(row["iv"] is not None for row in rows) > len(rows) // 2


def _bad_error(capsys, path: Path, *extra: str) -> str:
    status, out, err = _run(
        capsys, "signal", "--chain", str(path), "--track", "45dte", "--risk", "balanced", *extra
    )
    assert status == 2
    assert out == ""
    assert "Traceback" not in err
    assert err.startswith("condorbot: error: ")
    assert len(err.strip().splitlines()) == 1
    return err


def test_truncated_file_names_file_and_line(tmp_path, capsys):
    lines = _lines(CLOSE)
    cut = _row_index(lines, "SPXW240216P04495000")
    truncated = [*lines[:cut], lines[cut][: len(lines[cut]) // 2]]
    err = _bad_error(capsys, _write(tmp_path, truncated, "cut.csv"))
    assert "cut.csv" in err
    assert f"line {cut + 1}" in err


def test_unknown_header_names_the_field(tmp_path, capsys):
    lines = _lines(CLOSE)
    header = _row_index(lines, "Expiration Date")
    lines[header] = lines[header].replace("Open Interest", "Open Int Delayed", 1)
    err = _bad_error(capsys, _write(tmp_path, lines, "header.csv"))
    assert "header.csv" in err
    assert f"line {header + 1}" in err
    assert "Open Int Delayed" in err


def test_nan_quote_names_line_and_field_or_blocks_the_trade(tmp_path, capsys):
    lines = _lines(CLOSE)
    row = _row_index(lines, "SPXW240216P04495000")
    fields = lines[row].split(",")
    fields[15] = "NaN"  # the put's Bid column
    lines[row] = ",".join(fields)
    path = _write(tmp_path, lines, "nan.csv")
    status, out, err = _run(
        capsys, "signal", "--chain", str(path), "--track", "45dte", "--risk", "balanced", "--json"
    )
    if status == 2:
        assert "nan.csv" in err
        assert f"line {row + 1}" in err
        assert "Bid" in err
    else:
        card = json.loads(out)
        strikes = [leg["strike"] for leg in card.get("legs", [])]
        assert card["kind"] == "no_trade" or 4495 not in strikes


def test_crossed_quote_on_a_short_leg_never_becomes_a_signal(tmp_path, capsys):
    status, out, _ = _run(
        capsys, "signal", "--chain", str(CLOSE), "--track", "45dte", "--risk", "balanced", "--json"
    )
    card = json.loads(out)
    short_put = card["legs"][1]["strike"]
    symbol = f"SPXW240216P0{short_put * 1000:07d}"
    lines = _lines(CLOSE)
    row = _row_index(lines, symbol)
    fields = lines[row].split(",")
    fields[15], fields[16] = "30.00", "20.00"  # put bid above put ask
    lines[row] = ",".join(fields)
    path = _write(tmp_path, lines, "crossed.csv")
    status, out, err = _run(
        capsys, "signal", "--chain", str(path), "--track", "45dte", "--risk", "balanced", "--json"
    )
    if status == 2:
        assert "crossed.csv" in err
        assert f"line {row + 1}" in err
    else:
        card = json.loads(out)
        assert card["kind"] == "no_trade" or short_put not in [
            leg["strike"] for leg in card["legs"]
        ]


def test_empty_chain_is_a_clear_error(tmp_path, capsys):
    lines = _lines(CLOSE)
    header = _row_index(lines, "Expiration Date")
    err = _bad_error(capsys, _write(tmp_path, lines[: header + 1], "empty.csv"))
    assert "empty.csv" in err


def test_chain_from_another_day_than_asof_is_refused(capsys):
    err = _bad_error(capsys, CLOSE, "--asof", "2024-01-08")
    assert "2024-01-05" in err
    assert "2024-01-08" in err


def test_stale_quotes_at_asof_give_a_no_trade_card(capsys):
    status, out, _ = _run(
        capsys,
        "signal",
        "--chain",
        str(CLOSE),
        "--track",
        "45dte",
        "--risk",
        "balanced",
        "--asof",
        "2024-01-05T18:30-05:00",
    )
    assert status == 0
    assert "NO TRADE TODAY" in out
    assert "stale_data" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["signal", "--chain", "nope.csv", "--track", "0dte", "--risk", "balanced"], "nope.csv"),
        (
            [
                "signal",
                "--chain",
                str(CLOSE),
                "--track",
                "0dte",
                "--risk",
                "balanced",
                "--asof",
                "x",
            ],
            "--asof",
        ),
    ],
)
def test_bad_arguments_get_a_helpful_one_line_error(capsys, argv, message):
    status, _, err = _run(capsys, *argv)
    assert status == 2
    assert message in err
    assert "Traceback" not in err


def test_unknown_track_is_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["signal", "--chain", str(CLOSE), "--track", "7dte", "--risk", "balanced"])
    assert exit_info.value.code == 2
    assert "invalid choice: '7dte'" in capsys.readouterr().err


def test_calendar_vix_json_lists_the_monthly_settlements(capsys):
    status, out, _ = _run(
        capsys, "calendar", "vix", "--from", "2023-01-01", "--to", "2023-06-30", "--json"
    )
    assert status == 0
    days = json.loads(out)
    assert days[0] == "2023-01-18"
    assert "2023-03-22" in days  # the FOMC day of the replay was also a VIX settlement
    assert len(days) == 6
    assert all(date.fromisoformat(d).weekday() == 2 for d in days)


def test_calendar_vix_with_reversed_range_is_a_clear_error(capsys):
    status, _, err = _run(capsys, "calendar", "vix", "--from", "2023-06-30", "--to", "2023-01-01")
    assert status == 2
    assert "before --from" in err
