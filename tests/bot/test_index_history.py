from __future__ import annotations

import gzip
import json
import math
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from bot.adapters.market_data.index_history import (
    IndexFileError,
    IndexHistory,
    VolIndices,
    load_index_history,
    load_vol_indices,
)
from core.calendar import NEW_YORK, is_trading_day
from core.vix import modelled_vix3m, modelled_vix9d
from tests.conftest import ROOT

VIX_DIR = ROOT / "data" / "vix"


@pytest.fixture(scope="module")
def indices():
    return load_vol_indices(VIX_DIR)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- the shipped files ----------------------------------------------------------------------------


def test_shipped_files_load_with_their_ranges(indices):
    assert indices.vix.name == "VIX"
    assert indices.vix.dates[0] == date(1990, 1, 2)
    assert indices.vix9d.dates[0] == date(2011, 1, 4)
    assert indices.vix3m.dates[0] == date(2009, 9, 18)
    assert indices.skew.name == "SKEW"
    assert indices.vvix.name == "VVIX"
    assert indices.vix.source == "VIX_History.csv.gz"
    assert len(indices.vix) == 9241


def test_close_and_open_of_a_day(indices):
    assert indices.vix.close_on(date(2023, 3, 22)) == 22.26
    assert indices.vix.open_on(date(2023, 3, 22)) == 21.80
    assert indices.skew.close_on(date(2023, 3, 22)) == 123.16
    assert indices.vix.has_open
    assert not indices.skew.has_open
    assert math.isnan(indices.skew.open[0])


def test_close_on_a_missing_day_names_the_series_and_the_day(indices):
    with pytest.raises(
        KeyError, match=r"VIX9D \(VIX9D_History.csv.gz\) has no value on 2023-03-18"
    ):
        indices.vix9d.close_on(date(2023, 3, 18))
    with pytest.raises(KeyError, match=r"SKEW .* prints closes only"):
        indices.skew.open_on(date(2023, 3, 22))


def test_latest_at_or_before_steps_back_over_a_weekend(indices):
    assert indices.vix.latest_at_or_before(date(2023, 3, 19)) == (date(2023, 3, 17), 25.51)
    with pytest.raises(KeyError, match="no value on or before 2000-01-03"):
        indices.vix9d.latest_at_or_before(date(2000, 1, 3))


def test_levels_during_the_session_use_the_open_and_yesterdays_skew(indices):
    levels = indices.levels_at(datetime(2023, 3, 22, 10, 0, tzinfo=NEW_YORK))
    assert (levels.vix, levels.vix9d, levels.vix3m, levels.skew) == (21.80, 23.12, 23.44, 127.46)
    assert "opening values of 2023-03-22" in levels.observed
    assert "SKEW close of 2023-03-21" in levels.observed


def test_levels_after_the_close_and_before_the_open(indices):
    after = indices.levels_at(datetime(2023, 3, 22, 16, 15, tzinfo=NEW_YORK))
    assert (after.vix, after.vix9d, after.vix3m, after.skew) == (22.26, 23.75, 24.38, 123.16)
    before = indices.levels_at(datetime(2023, 3, 22, 7, 47, tzinfo=NEW_YORK))
    assert (before.vix, before.skew) == (21.38, 127.46)
    assert before.observed == "VIX/VIX9D/VIX3M/SKEW closes of 2023-03-21"
    saturday = indices.levels_at(datetime(2023, 3, 18, 12, 0, tzinfo=NEW_YORK))
    assert saturday.vix == 25.51
    with pytest.raises(ValueError, match="timezone-aware"):
        indices.levels_at(datetime(2023, 3, 22, 10))  # noqa: DTZ001


def _series(name: str, days: list[date], closes: list[float]) -> IndexHistory:
    close = np.array(closes)
    return IndexHistory(
        name=name,
        source=f"{name}.csv",
        dates=tuple(days),
        open=close,
        high=close,
        low=close,
        close=close,
    )


def test_levels_before_the_open_name_the_oldest_of_the_latest_closes():
    thu, fri, mon = date(2023, 3, 16), date(2023, 3, 17), date(2023, 3, 20)
    indices = VolIndices(
        vix=_series("VIX", [thu, fri, mon], [20.0, 21.0, 22.0]),
        vix9d=_series("VIX9D", [thu, fri, mon], [19.0, 20.0, 21.0]),
        vix3m=_series("VIX3M", [thu, fri], [23.0, 24.0]),
        skew=_series("SKEW", [thu], [130.0]),
        vvix=_series("VVIX", [thu, fri, mon], [90.0, 91.0, 92.0]),
    )
    before = indices.levels_at(datetime(2023, 3, 21, 8, 0, tzinfo=NEW_YORK))
    assert (before.vix, before.vix9d, before.vix3m, before.skew) == (22.0, 21.0, 24.0, 130.0)
    assert before.observed == "VIX/VIX9D/VIX3M/SKEW closes of 2023-03-16"
    # Monday is not listed in VIX3M: during its session the latest closes still serve.
    during = indices.levels_at(datetime(2023, 3, 20, 11, 0, tzinfo=NEW_YORK))
    assert during.observed == "VIX/VIX9D/VIX3M/SKEW closes of 2023-03-16"
    assert during.vix == 21.0
    with pytest.raises(KeyError, match="VIX3M"):
        VolIndices(
            vix=indices.vix,
            vix9d=indices.vix9d,
            vix3m=_series("VIX3M", [mon], [23.0]),
            skew=_series("SKEW", [mon], [130.0]),
            vvix=indices.vvix,
        ).levels_at(datetime(2023, 3, 17, 8, 0, tzinfo=NEW_YORK))


# --- layouts and errors ---------------------------------------------------------------------------


def test_ohlc_and_single_value_layouts(tmp_path):
    ohlc = load_index_history(
        write(tmp_path, "VIX9D_History.csv", "DATE,OPEN,HIGH,LOW,CLOSE\n01/03/2023,1,2,0.5,1.5\n")
    )
    assert ohlc.name == "VIX9D"
    assert ohlc.close_on(date(2023, 1, 3)) == 1.5
    single = load_index_history(write(tmp_path, "x.csv", "Date,Skew,\n2023-01-03,130.5,\n\n"))
    assert single.name == "SKEW"
    assert single.close_on(date(2023, 1, 3)) == 130.5
    np.testing.assert_array_equal(single.high, [np.nan])


def test_values_are_read_to_the_cent(tmp_path):
    # The SPX daily file stores 32-bit renderings of the prints (the first row below is its
    # 2009-12-18 row); the reader gives back the prints, and rounds anything else to the cent.
    text = (
        "DATE,OPEN,HIGH,LOW,CLOSE\n"
        "12/18/2009,1097.8599853515625,1103.739990234375,1093.8800048828125,1102.469970703125\n"
        "12/21/2009,1102.4451,1103.7450001,1102.4449999,1103.0\n"
    )
    spx = load_index_history(write(tmp_path, "SPX_History.csv", text))
    assert [spx.open[0], spx.high[0], spx.low[0], spx.close[0]] == [
        1097.86,
        1103.74,
        1093.88,
        1102.47,
    ]
    assert [spx.open[1], spx.high[1], spx.low[1], spx.close[1]] == [
        1102.45,
        1103.75,
        1102.44,
        1103.0,
    ]


def test_gzipped_file_reads_like_plain(tmp_path):
    path = tmp_path / "VIX_History.csv.gz"
    path.write_bytes(gzip.compress(b"DATE,OPEN,HIGH,LOW,CLOSE\n01/03/2023,20,21,19,20.5\n"))
    assert load_index_history(path).close_on(date(2023, 1, 3)) == 20.5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("DATE,PX\n", "has a header but no values"),
        ("WHEN,OPEN,HIGH,LOW,CLOSE\n", "f.csv line 1: expected a header 'DATE,OPEN,HIGH"),
        (
            "DATE,OPEN,HIGH,LOW,CLOSE\n01/03/2023,1,2,0.5,abc\n",
            "f.csv line 2, field 'CLOSE': expected a positive number, got 'abc'",
        ),
        (
            "DATE,OPEN,HIGH,LOW,CLOSE\n01/03/2023,1,2,-0.5,1\n",
            "line 2, field 'LOW': expected a positive number, got '-0.5'",
        ),
        (
            "DATE,VVIX\n13/03/2023,90\n",
            "line 2, field 'DATE': expected a date MM/DD/YYYY or YYYY-MM-DD, got '13/03/2023'",
        ),
        (
            "DATE,VVIX\n01/04/2023,90\n01/03/2023,91\n",
            "line 3, field 'DATE': dates must be strictly ascending; 2023-01-03 comes before",
        ),
        ("DATE,VVIX\n01/03/2023,90\n01/03/2023,91\n", r"line 3, field 'DATE': .* repeats"),
        ("DATE,OPEN,HIGH,LOW,CLOSE\n01/03/2023,1,2\n", "line 2: expected 5 fields, got 3"),
        (
            "DATE,VVIX\n01/03/2023,0.004\n",
            "line 2, field 'VVIX': expected at least 0.01, got '0.004'",
        ),
    ],
)
def test_bad_files_name_file_line_field_and_value(tmp_path, text, message):
    with pytest.raises(IndexFileError, match=message):
        load_index_history(write(tmp_path, "f.csv", text))


def test_missing_file_is_an_index_file_error(tmp_path):
    with pytest.raises(IndexFileError, match="no such file"):
        load_index_history(tmp_path / "VIX_History.csv")
    with pytest.raises(IndexFileError, match="no such file"):
        load_vol_indices(tmp_path)


def test_error_carries_its_parts(tmp_path):
    with pytest.raises(IndexFileError) as caught:
        load_index_history(write(tmp_path, "f.csv", "DATE,VVIX\n01/03/2023,x\n"))
    assert (caught.value.file, caught.value.line, caught.value.field, caught.value.value) == (
        "f.csv",
        2,
        "VVIX",
        "x",
    )


# --- the term structure modelled before Cboe published it (opt-in) -------------------------------


@pytest.fixture(scope="module")
def vix6m() -> IndexHistory:
    return load_index_history(VIX_DIR / "VIX6M_History.csv.gz", name="VIX6M")


@pytest.fixture(scope="module")
def filled(indices: VolIndices, vix6m: IndexHistory) -> VolIndices:
    return indices.with_modelled_term_structure(vix6m)


def _log_errors(real: list[float], model: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(np.log(np.asarray(real)) - np.log(model), dtype=np.float64)


def test_the_term_models_predict_the_published_closes_within_their_stated_errors(indices, vix6m):
    # Where Cboe published all of them: VIX3M from VIX and VIX6M to about 2 % (sd of the log
    # error), VIX9D from VIX and VIX3M to about 7.5 % (bench/term_structure_calibration.py).
    days3 = [d for d in indices.vix3m.dates if d in indices.vix and d in vix6m]
    error3 = _log_errors(
        [indices.vix3m.close_on(d) for d in days3],
        modelled_vix3m(
            [indices.vix.close_on(d) for d in days3], [vix6m.close_on(d) for d in days3]
        ),
    )
    assert len(days3) > 4000
    assert abs(error3.mean()) < 0.005
    assert error3.std() < 0.02
    days9 = [d for d in indices.vix9d.dates if d in indices.vix and d in indices.vix3m]
    error9 = _log_errors(
        [indices.vix9d.close_on(d) for d in days9],
        modelled_vix9d(
            [indices.vix.close_on(d) for d in days9], [indices.vix3m.close_on(d) for d in days9]
        ),
    )
    assert abs(error9.mean()) < 0.005
    assert error9.std() < 0.08
    # The plain ratio VIX9D = VIX would do worse: the model sees the curve's slope.
    plain = _log_errors(
        [indices.vix9d.close_on(d) for d in days9],
        np.array([indices.vix.close_on(d) for d in days9]),
    )
    assert error9.std() < 0.75 * plain.std()


def test_the_modelled_rows_come_before_the_first_print_and_the_printed_rows_are_untouched(
    indices, vix6m, filled
):
    assert filled.vix3m_printed_from == date(2009, 9, 18)
    assert filled.vix9d_printed_from == date(2011, 1, 4)
    # VIX6M starts 2008-01-02; its first day has no previous close for the open.
    assert filled.vix3m.dates[0] == filled.vix9d.dates[0] == date(2008, 1, 3)
    for real, model in ((indices.vix3m, filled.vix3m), (indices.vix9d, filled.vix9d)):
        n = len(real)
        assert model.dates[-n:] == real.dates
        np.testing.assert_array_equal(model.close[-n:], real.close)
        np.testing.assert_array_equal(model.open[-n:], real.open)
        assert all(d < real.dates[0] for d in model.dates[: len(model) - n])
    day, before = date(2008, 10, 10), date(2008, 10, 9)
    assert filled.vix3m.close_on(day) == pytest.approx(
        float(modelled_vix3m(indices.vix.close_on(day), vix6m.close_on(day)))
    )
    # The open is modelled from what is known at the open: the previous VIX6M close.
    assert filled.vix3m.open_on(day) == pytest.approx(
        float(modelled_vix3m(indices.vix.open_on(day), vix6m.close_on(before)))
    )
    assert filled.vix9d.open_on(day) == pytest.approx(
        float(modelled_vix9d(indices.vix.open_on(day), filled.vix3m.open_on(day)))
    )
    assert indices.with_modelled_term_structure(vix6m).vix3m_printed_from is not None
    assert indices.vix3m_printed_from is None  # the loaded indices are not changed


def test_a_later_vix6m_close_never_moves_an_earlier_or_the_same_days_open(indices, vix6m):
    day = date(2008, 10, 10)
    i = vix6m.dates.index(day)
    close = vix6m.close.copy()
    close[i] *= 1.5
    shifted = IndexHistory(
        name="VIX6M",
        source="shifted",
        dates=vix6m.dates,
        open=vix6m.open,
        high=vix6m.high,
        low=vix6m.low,
        close=close,
    )
    base = indices.with_modelled_term_structure(vix6m)
    moved = indices.with_modelled_term_structure(shifted)
    assert moved.vix3m.open_on(day) == base.vix3m.open_on(day)
    assert moved.vix3m.close_on(day) > base.vix3m.close_on(day)
    after = vix6m.dates[i + 1]
    assert moved.vix3m.open_on(after) > base.vix3m.open_on(after)


def test_what_is_modelled_is_said_wherever_the_levels_are_read(indices, filled):
    assert filled.term_note(date(2008, 10, 10)).startswith("VIX3M and VIX9D of 2008-10-10 modelled")
    assert filled.term_note(date(2010, 6, 1)).startswith("VIX9D of 2010-06-01 modelled (term-1")
    assert filled.term_note(date(2012, 6, 1)) == ""
    assert indices.term_note(date(2008, 10, 10)) == ""
    during = filled.levels_at(datetime(2008, 10, 10, 11, tzinfo=NEW_YORK))
    assert during.observed.endswith(filled.term_note(date(2008, 10, 10)))
    closed = filled.levels_on(date(2010, 6, 1))
    assert "VIX9D of 2010-06-01 modelled" in closed.observed
    assert (
        filled.levels_on(date(2012, 6, 1)).observed == indices.levels_on(date(2012, 6, 1)).observed
    )
    with pytest.raises(KeyError, match="VIX9D"):
        indices.levels_on(date(2008, 10, 10))  # without the model, the day has no curve


# --- the SPX daily file against Cboe's own history ---------------------------------------------


def test_the_spx_daily_file_is_cboes_own_print_to_the_cent():
    # The backtest settles every trade on this file's close (PM) or open (AM). Where Cboe's
    # delayed-quotes history of _SPX (a recorded response, data/live_samples/) has the same
    # session, each of open, high, low and close as read must be Cboe's value, to the cent: the
    # file stores 32-bit renderings of the prints, which the reader rounds back.
    spx = load_index_history(ROOT / "data" / "spx" / "SPX_History_2006_2026.csv.gz", name="SPX")
    cboe = json.loads(
        (ROOT / "data" / "live_samples" / "spx_history_cboe_2026-09-15_trimmed.json").read_text()
    )
    assert cboe["symbol"] == "_SPX"
    rows = {date.fromisoformat(row["date"]): row for row in cboe["data"]}
    index = {day: i for i, day in enumerate(spx.dates)}
    both = sorted(set(rows) & set(index))
    assert both[0] == date(2026, 3, 24)
    assert both[-1] == spx.dates[-1] == date(2026, 7, 8)
    # Every NYSE session from 2026-03-24 to the file's last is in both (73 sessions).
    span = (both[-1] - both[0]).days + 1
    sessions = [d for d in (both[0] + timedelta(days=k) for k in range(span)) if is_trading_day(d)]
    assert both == sessions
    assert len(both) == 73
    for day in both:
        i = index[day]
        for field, column in (
            ("open", spx.open),
            ("high", spx.high),
            ("low", spx.low),
            ("close", spx.close),
        ):
            printed = Decimal(rows[day][field])
            assert Decimal(repr(float(column[i]))) == printed.normalize(), (day, field, printed)
