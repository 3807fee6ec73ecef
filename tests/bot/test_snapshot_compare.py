"""Real snapshots against the surface model: the real side is the `condorbot signal` card."""

from __future__ import annotations

import json
from datetime import date

import pytest

from bot.adapters.event_calendar import load_event_days
from bot.cli import DATA_DIR, main
from bot.snapshot_compare import (
    NO_COMPARABLE_EXPIRY,
    SnapshotRef,
    SnapshotReport,
    compare_snapshots,
    snapshot_refs,
)
from core.compare import Agreement
from core.rules import CondorRules
from core.types import CondorSignal, NoTradeCode, NoTradeDay, Risk, Track
from tests.conftest import CHAINS

INTRADAY = CHAINS / "spx_cboe_2022-03-23_intraday_1011ET.csv.gz"
CLOSE = CHAINS / "spx_cboe_2024-01-05_close.csv.gz"
YAHOO = CHAINS / "spx_0dte_yahoo_nearclose_2025-03_2025-09.csv.gz"
MONTHLIES = CHAINS / "spx_cboe_2025-10-01_monthlies"
#: A Friday of the Yahoo dump whose capture holds the Monday (next trading day) expiry.
YAHOO_DAY = date(2025, 7, 25)


def _rules() -> CondorRules:
    return CondorRules().with_event_days(load_event_days(DATA_DIR / "events.csv"))


@pytest.fixture(scope="module")
def report() -> SnapshotReport:
    refs = [
        SnapshotRef(path=INTRADAY),
        SnapshotRef(path=CLOSE),
        SnapshotRef(path=MONTHLIES),
        SnapshotRef(path=YAHOO, quote_date=YAHOO_DAY),
    ]
    return compare_snapshots(DATA_DIR, _rules(), snapshots=refs)


def _signal_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    status = main(["signal", *argv, "--json"])
    out, err = capsys.readouterr()
    assert status == 0, err
    card: dict[str, object] = json.loads(out)
    return card


def test_every_snapshot_gives_one_row_per_track_and_risk(report: SnapshotReport) -> None:
    assert len(report.rows) == 4 * len(Track) * len(Risk)
    keys = {(row.snapshot, row.real.track, row.real.risk) for row in report.rows}
    assert len(keys) == len(report.rows)


def test_real_side_is_the_card_condorbot_signal_prints(
    report: SnapshotReport, capsys: pytest.CaptureFixture[str]
) -> None:
    traded = 0
    for row in report.rows:
        argv = ["--track", str(row.real.track), "--risk", str(row.real.risk)]
        if row.snapshot.startswith(YAHOO.name):
            argv = ["--chain", str(YAHOO), "--asof", YAHOO_DAY.isoformat(), *argv]
        else:
            argv = ["--chain", str(CHAINS / row.snapshot), *argv]
        card = _signal_json(capsys, *argv)
        assert card["signal_id"] == row.real.signal_id, row.snapshot
        if isinstance(row.real, CondorSignal):
            traded += 1
            assert card["kind"] == "condor"
            legs = card["legs"]
            assert isinstance(legs, list)
            assert [leg["strike"] for leg in legs] == [float(leg.strike) for leg in row.real.legs]
            assert card["credit_mid"] == pytest.approx(float(row.real.credit_mid), abs=1e-9)
        else:
            assert card["kind"] == "no_trade"
            assert card["reason_codes"] == [str(r.code) for r in row.real.reasons]
    assert traded > 0, "no real card traded: the comparison of strikes was never exercised"


def test_modelled_side_is_labelled_and_shares_spot_and_forward(report: SnapshotReport) -> None:
    compared = [row for row in report.rows if row.model is not None]
    assert compared
    for row in compared:
        assert row.model is not None
        assert row.forward is not None
        assert row.model.data.modelled, row.snapshot
        assert row.model.data.source.startswith("modelled chain")
        assert not row.real.data.modelled or "forward" in row.real.data.modelled[0]
        if isinstance(row.model, CondorSignal):
            assert float(row.model.spot) == pytest.approx(row.spot, abs=0.01)
            # Same forward up to the tick rounding of the modelled quotes.
            assert abs(float(row.model.forward) - row.forward) < 0.5
            assert row.model.expiry == row.expiry


def test_a_snapshot_without_the_tracks_expiry_gives_an_explicit_row(
    report: SnapshotReport,
) -> None:
    # 2024-01-05 quotes are from 16:15, after today's SPXW settled at 16:00: no 0DTE to trade.
    rows = [r for r in report.rows if r.snapshot == CLOSE.name and r.real.track is Track.ZERO_DTE]
    # The monthlies folder lists nothing closer than April 2026: nothing in 30-60 days.
    rows += [r for r in report.rows if r.snapshot == MONTHLIES.name]
    assert len(rows) == len(Risk) + len(Track) * len(Risk)
    for row in rows:
        assert row.note is not None
        assert row.note.startswith(NO_COMPARABLE_EXPIRY)
        assert row.model is None
        assert row.diff is None
        assert row.expiry is None
        assert isinstance(row.real, NoTradeDay)
        assert {r.code for r in row.real.reasons} == {NoTradeCode.NO_EXPIRY}


def test_summary_counts_add_up(report: SnapshotReport) -> None:
    s = report.summary
    compared = [row for row in report.rows if row.diff is not None]
    assert s.comparisons == len(compared) == len(report.rows) - report.not_comparable
    assert s.both + s.model_only + s.real_only + s.neither == s.comparisons
    for agreement, count in (
        (Agreement.BOTH, s.both),
        (Agreement.MODEL_ONLY, s.model_only),
        (Agreement.REAL_ONLY, s.real_only),
        (Agreement.NEITHER, s.neither),
    ):
        assert count == sum(1 for row in compared if row.diff and row.diff.agreement is agreement)
    assert s.model_credit_higher <= s.both
    assert s.iv_points <= sum(len(row.iv_points) for row in compared)
    assert report.summary_covered.comparisons <= s.comparisons
    assert sum(report.model_only_by_real_reason().values()) >= s.model_only


def test_iv_points_cover_every_selected_strike(report: SnapshotReport) -> None:
    for row in report.rows:
        cards = [c for c in (row.real, row.model) if isinstance(c, CondorSignal)]
        wanted = {(leg.right, leg.strike) for card in cards for leg in card.legs}
        assert {(p.right, p.strike) for p in row.iv_points} == wanted
        for point in row.iv_points:
            assert 0.0 < point.model_iv < 5.0


def test_the_intraday_0dte_is_compared_and_the_overnight_one_refused_on_both_sides() -> None:
    refs = [
        SnapshotRef(path=INTRADAY),
        SnapshotRef(path=CHAINS / "spx_cboe_2024-11-08_close_filtered.csv.gz"),
    ]
    result = compare_snapshots(
        DATA_DIR, _rules(), tracks=[Track.ZERO_DTE], risks=[Risk.BALANCED], snapshots=refs
    )
    intraday, overnight = result.rows
    # 09:56 ET on 2022-03-23: a regular-session chain listing that day's SPXW.
    assert intraday.expiry == date(2022, 3, 23)
    assert intraday.diff is not None
    # 07:47 ET on 2024-11-11: the 0DTE track refuses quotes from outside the regular session,
    # and the modelled chain of the same moment is refused for the same reason.
    assert overnight.diff is not None
    assert overnight.diff.agreement is Agreement.NEITHER
    assert overnight.diff.same_reasons
    assert isinstance(overnight.real, NoTradeDay)
    assert {r.code for r in overnight.real.reasons} == {NoTradeCode.STALE_DATA}


def test_a_dump_yields_one_snapshot_per_day() -> None:
    refs = snapshot_refs(YAHOO)
    assert len(refs) > 1
    assert len({ref.quote_date for ref in refs}) == len(refs)
    assert all(ref.label.startswith(YAHOO.name + "@") for ref in refs)
    assert snapshot_refs(INTRADAY) == [SnapshotRef(path=INTRADAY)]


def test_cli_json_is_one_object_whose_counts_match(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        [
            "backtest-snapshots",
            "--chain",
            INTRADAY.name,
            "--chain",
            str(CLOSE),
            "--track",
            "45dte",
            "--risk",
            "balanced",
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert status == 0, err
    obj = json.loads(out)
    assert obj["rows_total"] == len(obj["rows"]) == 2
    summary = obj["summary"]
    parts = ("both_traded", "model_only", "real_only", "neither")
    assert sum(summary[k] for k in parts) == summary["comparisons"]
    assert summary["comparisons"] + obj["no_comparable_expiry"] == obj["rows_total"]
    for row in obj["rows"]:
        assert row["track"] == "45dte"
        assert row["risk"] == "balanced"
        assert row["model"] is None or row["model"]["modelled"]


def test_cli_text_prints_a_table_and_the_summary(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["backtest-snapshots", "--chain", str(CLOSE), "--track", "0dte"])
    out, err = capsys.readouterr()
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("| snapshot |")
    table = [line for line in lines if line.startswith(f"| {CLOSE.name} ")]
    assert len(table) == len(Risk)
    assert all(line.endswith(f"| {NO_COMPARABLE_EXPIRY} |") for line in table)
    assert any(line.startswith("rows: 3 ") for line in lines)
