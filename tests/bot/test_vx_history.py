"""The shipped VX settles (`bot.adapters.market_data.vx_history`) and their use in the backtest.

Expected settles are written by hand from the raw Cboe CFE contract files of the data survey
(e.g. `CFE_Q11_VX.csv`: 2011-08-05 settle 29.15), not read from them.
"""

from __future__ import annotations

import statistics
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from bot.adapters.market_data.index_history import IndexHistory
from bot.adapters.market_data.vx_history import (
    VX_HISTORY_FILE,
    VX_RECENT_FILE,
    VxFileError,
    VxHistory,
    estimate_gaps,
    load_vx_history,
    load_vx_recent,
)
from bot.backtest import REAL_VX_LABEL, History, day_feed, report_json, run
from bot.cli import DATA_DIR, _rules
from core.backtest import Costs, Report
from core.calendar import NEW_YORK
from core.hedge import HeldHedge, OpenCondor, estimate_future
from core.rules import HedgeRules
from core.types import Instrument, Risk, Track
from tests.readme import readme_words

HEADER = ",DATE,VIX,VX1,VX2,VX3,VX4,VX5,VX6,VX7,VX8,SP500\n"
ROW_0805 = "1157,2011-08-05,32.0,29.15,26.2,25.75,25.15,24.25,25.65,25.9,26.1,1199.38\n"
ROW_0808 = "1158,2011-08-08,48.0,36.55,30.2,29.1,27.65,26.05,27.35,27.55,27.5,1119.46\n"


@pytest.fixture(scope="module")
def vx() -> VxHistory:
    return load_vx_history(DATA_DIR / VX_HISTORY_FILE)


@pytest.fixture(scope="module")
def history() -> History:
    return History.load(DATA_DIR)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=NEW_YORK)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "vx.csv"
    path.write_text(text)
    return path


# --- the shipped file ----------------------------------------------------------------------------


def test_shipped_file_loads_every_trade_date(vx: VxHistory) -> None:
    assert len(vx.curves) == 3711
    assert (vx.first, vx.last) == (date(2007, 4, 2), date(2021, 12, 23))
    curve = vx.curve_on(date(2011, 8, 5))
    assert curve is not None
    assert curve.vix_close == 32.0
    # Q11, U11, V11 settles of 2011-08-05 and their final settlement dates.
    assert curve.points[:3] == (
        (date(2011, 8, 17), 29.15),
        (date(2011, 9, 21), 26.2),
        (date(2011, 10, 19), 25.75),
    )


def test_settlement_day_vx1_is_already_the_next_contract(vx: VxHistory) -> None:
    # 2014-03-18 was the H14 (March 2014) settlement; J14 settled 15.60 that day.
    curve = vx.curve_on(date(2014, 3, 18))
    assert curve is not None
    assert curve.points[0] == (date(2014, 4, 16), 15.6)


# --- no look-ahead -------------------------------------------------------------------------------


def test_during_the_session_the_known_curve_is_the_previous_days(vx: VxHistory) -> None:
    monday = date(2011, 8, 8)
    for moment in (at(monday, 10), at(monday, 16, 14), at(monday, 8)):
        known = vx.known_at(moment)
        assert known is not None
        assert known.trade_date == date(2011, 8, 5)
    known = vx.known_at(at(monday, 16, 15))
    assert known is not None
    assert known.trade_date == monday
    assert known.points[0] == (date(2011, 8, 17), 36.55)


def test_outside_the_files_range_there_is_no_curve(vx: VxHistory) -> None:
    assert vx.known_at(at(date(2007, 4, 2), 10)) is None  # nothing published before
    assert vx.known_at(at(date(2007, 4, 2), 16, 30)) is not None
    assert vx.known_at(at(date(2021, 12, 27), 10)) is None
    with pytest.raises(ValueError, match="timezone-aware"):
        vx.known_at(datetime(2011, 8, 8, 10))  # noqa: DTZ001 - naive on purpose


# --- bad files -----------------------------------------------------------------------------------


def test_a_bad_value_names_line_and_field(tmp_path: Path) -> None:
    bad = ROW_0808.replace(",29.1,", ",abc,")
    with pytest.raises(VxFileError) as error:
        load_vx_history(write(tmp_path, HEADER + ROW_0805 + bad))
    assert (error.value.line, error.value.field, error.value.value) == (3, "VX3", "abc")
    assert str(error.value).startswith("vx.csv line 3, field 'VX3': expected a positive number")


def test_a_zero_settle_and_a_bad_date_and_order_are_refused(tmp_path: Path) -> None:
    with pytest.raises(VxFileError, match="line 2, field 'VX8'"):
        load_vx_history(write(tmp_path, HEADER + ROW_0805.replace(",26.1,", ",0,")))
    with pytest.raises(VxFileError, match="line 2, field 'DATE'"):
        load_vx_history(write(tmp_path, HEADER + ROW_0805.replace("2011-08-05", "08/05/2011")))
    with pytest.raises(VxFileError, match=r"line 3, field 'DATE'.*strictly ascending"):
        load_vx_history(write(tmp_path, HEADER + ROW_0808 + ROW_0805))
    with pytest.raises(VxFileError, match="line 1: expected the header"):
        load_vx_history(write(tmp_path, HEADER.replace("VX8", "VX9") + ROW_0805))


# --- the feed and the backtest -------------------------------------------------------------------


def test_the_feed_serves_the_previous_close_intraday_and_the_days_own_at_settlement(
    history: History,
) -> None:
    feed = day_feed(history.fresh(), date(2011, 8, 8), HedgeRules())
    intraday = feed.vol_at(at(date(2011, 8, 8), 10))
    assert intraday.vx_curve is not None
    assert intraday.vx_curve.trade_date == date(2011, 8, 5)
    assert "real CFE settles of 2011-08-05" in intraday.modelled
    _, closing, _ = feed.settlement()
    assert closing.vx_curve is not None
    assert closing.vx_curve.trade_date == date(2011, 8, 8)
    assert closing.vx_curve_close == (closing.vix, closing.vix9d, closing.vix3m)


# 2011-10-28's 45DTE condor (Dec 16 expiry) takes a VX hedge and exits on the 2011-11-25
# breach; its settlement values the VIX instruments off the 2011-12-16 settles.
HEDGED_DAY = date(2011, 10, 28)


def backtest(source: History) -> Report:
    return run(
        Track.DTE_45,
        Risk.BALANCED,
        HEDGED_DAY,
        HEDGED_DAY,
        data_dir=DATA_DIR,
        rules=_rules(None),
        hedge_rules=HedgeRules(),
        costs=Costs(),
        history=source,
    )


@pytest.fixture(scope="module")
def hedged(history: History) -> Report:
    return backtest(history.fresh())


def test_a_vx_hedge_valued_at_the_close_is_worth_the_real_settle(
    history: History, hedged: Report
) -> None:
    (trade,) = hedged.trades
    position = OpenCondor.from_signal(trade.signal, 10, entry_vix=trade.entry_vix)
    feed = day_feed(history.fresh(), date(2011, 8, 5), HedgeRules())
    _, closing, _ = feed.settlement()
    hedge = HeldHedge(
        instrument=Instrument.VX_FUTURE,
        contracts=1,
        multiplier=1000.0,
        entered_at=at(date(2011, 8, 4), 15, 45),
        cost_usd=0.0,
        strikes=None,
        settlement=date(2011, 8, 17),
        entry_future=21.64,
        vvix=100.0,
    )
    value = hedge.value_usd(position, 1199.38, closing, at(date(2011, 8, 5), 16))
    assert value == pytest.approx((29.15 - 21.64 - 0.1) * 1000)  # Q11 settled 29.15


def test_backtest_hedge_is_priced_off_real_settles_and_labelled(
    history: History, hedged: Report
) -> None:
    costs, day = Costs(), HEDGED_DAY
    (trade,) = hedged.trades
    assert trade.hedges_taken == 1
    assert trade.expiry == date(2011, 12, 16)
    (label,) = [m for m in trade.result.data.modelled if m.startswith(REAL_VX_LABEL)]
    assert "of 2011-12-16" in label
    shown = report_json(
        hedged, track=Track.DTE_45, risk=Risk.BALANCED, start=day, end=day, costs=costs
    )
    assert shown["hedge"]["vix_hedges_on_real_vx"] == shown["hedge"]["vix_hedges"] >= 1
    assert shown["hedge"]["vix_hedges_on_estimated_vx"] == 0

    estimated = backtest(history.fresh(vx=None))
    (modelled,) = estimated.trades
    assert not any(m.startswith(REAL_VX_LABEL) for m in modelled.result.data.modelled)
    assert modelled.held_usd == trade.held_usd  # only the hedge's valuation changed
    assert modelled.hedge_payoff_usd != trade.hedge_payoff_usd
    assert modelled.vix_hedges == trade.vix_hedges >= 1
    assert modelled.vix_hedges_on_real_vx == 0  # estimated futures are never counted as real

    # At that settlement the December future is exactly its real settle (Z11: 26.10).
    feed = day_feed(history.fresh(), date(2011, 12, 16), HedgeRules())
    _, closing, _ = feed.settlement()
    price, note = estimate_future(closing, 0.01, date(2011, 12, 21))
    assert price == 26.1
    assert note == "VX 2011-12-21: real CFE settle of 2011-12-16 (VX1)"


# --- the 2026 VX closes: an out-of-sample check of the estimate ----------------------------------

RECENT_HEADER = "date,vx1,vx2,vx1_volume,vx2_volume,spread,volume\n"


def _vix(closes: dict[date, float]) -> IndexHistory:
    values = np.array(list(closes.values()))
    return IndexHistory(
        name="VIX",
        source="VIX.csv",
        dates=tuple(closes),
        open=values,
        high=values,
        low=values,
        close=values,
    )


def test_recent_closes_map_vx1_and_vx2_to_the_next_monthlies_and_skip_settlement_days(
    tmp_path: Path,
) -> None:
    path = tmp_path / "vx.csv"
    path.write_text(
        RECENT_HEADER
        + "2026-03-17,22.7,22.7,1,1,0,2\n"
        + "2026-03-18,24.95,24.3,1,1,0,2\n"  # the March settlement: left out
        + "2026-03-19,23.85,23.45,1,1,0,2\n"
    )
    vx = load_vx_recent(path, _vix({date(2026, 3, 17): 22.0, date(2026, 3, 19): 25.0}))
    assert sorted(vx.curves) == [date(2026, 3, 17), date(2026, 3, 19)]
    assert vx.curves[date(2026, 3, 17)].points == (
        (date(2026, 3, 18), 22.7),
        (date(2026, 4, 15), 22.7),
    )
    assert vx.curves[date(2026, 3, 19)].points[0] == (date(2026, 4, 15), 23.85)
    assert vx.curves[date(2026, 3, 19)].vix_close == 25.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("date,vx1\n", "expected the header 'date,vx1,vx2,vx1_volume"),
        (RECENT_HEADER + "2026-03-17,22.7,0,1,1,0,2\n", "line 2, field 'vx2': expected a positive"),
        (RECENT_HEADER + "2026-03-17,22.7\n", "line 2: expected 7 fields, got 2"),
        (
            RECENT_HEADER + "2026-03-19,1,1,1,1,0,2\n2026-03-17,1,1,1,1,0,2\n",
            "line 3, field 'date': dates must be strictly ascending; 2026-03-17 comes before",
        ),
        (RECENT_HEADER + "2026-03-16,1,1,1,1,0,2\n", "line 2, field 'date': no spot VIX close"),
    ],
)
def test_a_bad_recent_file_names_line_field_and_value(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "vx.csv"
    path.write_text(text)
    with pytest.raises(VxFileError, match=message):
        load_vx_recent(path, _vix({date(2026, 3, 17): 22.0, date(2026, 3, 19): 25.0}))


def test_the_readme_gap_of_the_estimate_before_and_after_2021_is_what_the_data_gives(
    history: History,
) -> None:
    assert history.vx is not None
    recent = load_vx_recent(DATA_DIR / VX_RECENT_FILE, history.indices.vix)
    assert len(recent.curves) == 35  # 37 rows, two of them settlement days
    words = readme_words()
    found = {}
    for name, vx in (("settles", history.vx), ("recent", recent)):
        gaps = estimate_gaps(vx, history.indices)
        off = [abs(estimate - price) for _, _, price, estimate in gaps]
        share = [abs(estimate - price) / price for _, _, price, estimate in gaps]
        found[name] = (
            len(gaps),
            f"{statistics.median(off):.2f} points ({statistics.median(share):.1%})".replace(
                "%", " %"
            ),
        )
    count, gap = found["settles"]
    assert (
        f"from 2011 ({count:,} contract-days, each estimated at its day's close) the gap "
        f"is a median {gap}."
    ) in words
    count, gap = found["recent"]
    assert f"put the gap at a median {gap} over {count} contract-days" in words
