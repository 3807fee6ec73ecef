from __future__ import annotations

import gzip
import json
import math
import shutil
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest

from bot.adapters.market_data import (
    ChainFileError,
    cboe_csv,
    list_quote_dates,
    load_chain,
    source_of,
    yahoo_csv,
)
from bot.adapters.market_data.cboe_csv import parse_cboe_timestamp
from bot.adapters.market_data.common import quote_time_at
from bot.render.chain_json import chain_greeks_rows
from core.calendar import NEW_YORK
from core.chain import QualityCode, Severity
from core.pricing import IVReason
from tests.conftest import CHAINS, TEST_DATA, load_snapshot

YAHOO = "spx_0dte_yahoo_nearclose_2025-03_2025-09.csv.gz"


def ny(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)


# --- every shipped snapshot ---------------------------------------------------------------------

# name, option rows (2 per CSV row), expiries, first and last expiry, spot, quote time (ET),
# download time printed in the file (ET).
SHIPPED = [
    ("spx_cboe_2020-03-20_close.csv.gz", 19000, 41, "2020-03-23", "2022-12-16", 2304.92,
     ny(2020, 3, 20, 16, 15), ny(2020, 3, 22, 18, 24)),
    ("spx_cboe_2022-01-07_close_partial.csv.gz", 5514, 10, "2022-01-10", "2022-01-31", 4677.0298,
     ny(2022, 1, 7, 16, 15), ny(2022, 1, 9, 3, 11)),
    ("spx_cboe_2022-02-04_close.csv.gz", 20514, 45, "2022-02-07", "2026-12-18", 4500.5298,
     ny(2022, 2, 4, 16, 15), ny(2022, 2, 5, 20, 9)),
    ("spx_cboe_2022-03-23_intraday_1011ET.csv.gz", 19002, 45, "2022-03-23", "2026-12-18",
     4479.0898, ny(2022, 3, 23, 9, 56), ny(2022, 3, 23, 10, 11)),
    ("spx_cboe_2022-06-10_close.csv.gz", 19670, 49, "2022-06-10", "2026-12-18", 3900.8601,
     ny(2022, 6, 10, 16, 15), ny(2022, 6, 11, 20, 47)),
    ("spx_cboe_2023-02-03_close_partial.csv.gz", 6808, 18, "2023-02-03", "2023-02-28", 4136.48,
     ny(2023, 2, 3, 16, 15), ny(2023, 2, 3, 23, 24)),
    ("spx_cboe_2023-02-07_close.csv.gz", 18962, 55, "2023-02-07", "2027-12-17", 4164.0,
     ny(2023, 2, 7, 16, 15), ny(2023, 2, 7, 17, 34)),
    ("spx_cboe_2023-09-01_close.csv.gz", 19158, 57, "2023-09-05", "2028-12-15", 4515.77,
     ny(2023, 9, 1, 16, 15), ny(2023, 9, 4, 14, 56)),
    ("spx_cboe_2023-09-14_close.csv.gz", 19920, 59, "2023-09-14", "2025-12-19", 4505.1001,
     ny(2023, 9, 14, 16, 15), ny(2023, 9, 14, 16, 31)),
    ("spx_cboe_2023-12-08_close_partial.csv.gz", 6230, 16, "2023-12-08", "2023-12-29", 4604.3701,
     ny(2023, 12, 8, 16, 15), ny(2023, 12, 9, 13, 49)),
    ("spx_cboe_2024-01-05_close.csv.gz", 21038, 60, "2024-01-05", "2029-12-21", 4697.2402,
     ny(2024, 1, 5, 16, 15), ny(2024, 1, 7, 10, 52)),
    ("spx_cboe_2024-02-12_close_noIV.csv.gz", 22120, 61, "2024-02-12", "2029-12-21", 5021.8398,
     ny(2024, 2, 13, 6, 25), ny(2024, 2, 13, 6, 40)),
    ("spx_cboe_2024-11-08_close_filtered.csv.gz", 560, 15, "2024-11-11", "2024-11-29", 5995.54,
     ny(2024, 11, 11, 7, 47), ny(2024, 11, 11, 8, 2)),
    ("spx_cboe_2025-01-06_close_febexp.csv.gz", 4344, 13, "2025-02-03", "2025-02-28", 5975.3799,
     ny(2025, 1, 6, 20, 33), ny(2025, 1, 6, 20, 48)),
    ("spx_cboe_2025-01-06_close_janexp.csv.gz", 8484, 20, "2025-01-06", "2025-01-31", 5975.3799,
     ny(2025, 1, 6, 21, 11), ny(2025, 1, 6, 21, 26)),
    ("spx_cboe_2025-10-01_monthlies", 1976, 13, "2026-04-17", "2027-12-17", 6711.2002,
     ny(2025, 10, 1, 16, 15), ny(2025, 10, 1, 18, 1)),
    ("spx_cboe_2026-03-13_close_filtered.csv.gz", 1944, 59, "2026-03-13", "2031-12-19", 6632.1899,
     ny(2026, 3, 13, 16, 15), ny(2026, 3, 14, 7, 34)),
]  # fmt: skip


def test_every_shipped_cboe_snapshot_is_covered():
    assert sorted(row[0] for row in SHIPPED) == sorted(p.name for p in CHAINS.glob("spx_cboe_*"))


@pytest.mark.parametrize(
    ("name", "rows", "n_expiries", "first", "last", "spot", "quote_time", "captured_at"),
    SHIPPED,
    ids=[row[0].split(".")[0] for row in SHIPPED],
)
def test_shipped_cboe_snapshot_loads(
    name, rows, n_expiries, first, last, spot, quote_time, captured_at
):
    chain = load_snapshot(name)
    assert len(chain) == rows
    assert set(chain.root) == ({"SPXW"} if "2022-01-07" in name else {"SPX", "SPXW"})
    expiries = chain.expiries()
    assert len(expiries) == n_expiries
    assert str(expiries[0][1]) == first
    assert str(expiries[-1][1]) == last
    assert chain.spot == spot
    assert chain.underlying == "SPX"
    assert chain.quote_time == quote_time
    assert chain.quote_time.tzinfo is not None
    assert chain.source.startswith("Cboe delayed quotes CSV " + name)
    snapshots = cboe_csv.read_snapshots(CHAINS / name)
    assert min(s.captured_at for s in snapshots) == captured_at
    # Calls and puts pair up: each CSV row gives one of each.
    assert int(chain.is_call.sum()) == rows // 2
    assert np.all(chain.strike > 0)
    assert not np.isnan(chain.bid).any()
    assert not np.isnan(chain.ask).any()
    # Our IVs exist wherever a two-sided quote on a live expiry allows one.
    live = chain.iv_reason == IVReason.OK
    assert live.sum() > 0.3 * rows
    assert np.all((chain.iv[live] > 0) & (chain.iv[live] < 10))


def test_layout_without_iv_columns_leaves_cboe_greeks_nan_but_computes_ours():
    chain = load_snapshot("spx_cboe_2024-02-12_close_noIV.csv.gz")
    assert np.isnan(chain.cboe_iv).all()
    assert np.isnan(chain.cboe_delta).all()
    assert np.isfinite(chain.iv).sum() > 5000
    assert not cboe_csv.read_snapshots(CHAINS / "spx_cboe_2024-02-12_close_noIV.csv.gz")[
        0
    ].has_greeks


def test_old_2020_layout_reads_vol_and_open_int_columns():
    chain = load_snapshot("spx_cboe_2020-03-20_close.csv.gz")
    sl = chain.expiry_slice("SPXW", date(2020, 3, 23))
    j = int(np.flatnonzero(sl.strikes == 1500.0)[0])
    assert (sl.call_bid[j], sl.call_ask[j]) == (793.0, 806.7)
    rows = (chain.strike == 1500.0) & (chain.expiry == np.datetime64("2020-03-23"))
    put = rows & ~chain.is_call
    assert chain.volume[put][0] == 3.0
    assert chain.open_interest[put][0] == 623.0
    assert chain.cboe_iv[put][0] == 1.7288


def test_am_and_pm_roots_of_one_date_are_separate_expiries():
    chain = load_snapshot("spx_cboe_2023-09-14_close.csv.gz")
    friday = date(2023, 9, 15)
    am, pm = chain.terms_for("SPX", friday), chain.terms_for("SPXW", friday)
    assert am.settles_at == ny(2023, 9, 15, 9, 30)
    assert pm.settles_at == ny(2023, 9, 15, 16, 0)
    assert am.forward == pytest.approx(pm.forward, abs=1.0)
    assert am.t_years < pm.t_years


def test_expired_same_day_rows_are_flagged_not_priced():
    chain = load_snapshot("spx_cboe_2024-01-05_close.csv.gz")
    terms = chain.terms_for("SPXW", date(2024, 1, 5))
    assert terms.expired
    rows = chain.expiry == np.datetime64("2024-01-05")
    assert np.all(chain.iv_reason[rows] == IVReason.EXPIRED)
    assert any(i.code is QualityCode.EXPIRED and i.expiry == date(2024, 1, 5) for i in chain.issues)


def test_intraday_snapshot_prices_the_live_0dte_expiry():
    chain = load_snapshot("spx_cboe_2022-03-23_intraday_1011ET.csv.gz")
    terms = chain.terms_for("SPXW", date(2022, 3, 23))
    assert not terms.expired
    assert terms.t_years == pytest.approx((6 * 60 + 4) / (365 * 24 * 60))
    sl = chain.expiry_slice("SPXW", date(2022, 3, 23))
    near = np.abs(sl.strikes - terms.forward) < 25
    assert np.isfinite(sl.call_iv[near]).all()
    assert np.all((sl.call_iv[near] > 0.2) & (sl.call_iv[near] < 0.5))


def test_pre_open_download_holds_gth_quotes_with_a_stale_index_print():
    chain = load_snapshot("spx_cboe_2024-11-08_close_filtered.csv.gz")
    issue = next(i for i in chain.issues if i.code is QualityCode.SPOT_MISMATCH)
    assert issue.severity is Severity.WARNING
    assert chain.terms_for("SPXW", date(2024, 11, 11)).forward > chain.spot + 20


def test_directory_of_one_snapshot_loads_as_one_chain():
    chain = load_snapshot("spx_cboe_2025-10-01_monthlies")
    assert "11 files" in chain.source
    assert ("SPX", date(2026, 6, 18)) in chain.expiries()
    assert ("SPXW", date(2026, 6, 30)) in chain.expiries()


def test_directory_of_different_snapshots_is_rejected(tmp_path):
    shutil.copy(CHAINS / "spx_cboe_2024-11-08_close_filtered.csv.gz", tmp_path)
    shutil.copy(CHAINS / "spx_cboe_2026-03-13_close_filtered.csv.gz", tmp_path)
    with pytest.raises(ChainFileError, match="not one snapshot"):
        load_chain(tmp_path)


def test_gzipped_and_plain_files_load_alike(tmp_path):
    plain = load_chain(TEST_DATA / "cboe_good.csv")
    packed = tmp_path / "cboe_good.csv.gz"
    packed.write_bytes(gzip.compress((TEST_DATA / "cboe_good.csv").read_bytes()))
    zipped = load_chain(packed)
    np.testing.assert_array_equal(plain.iv, zipped.iv)
    assert plain.quote_time == zipped.quote_time


def test_crlf_and_trailing_commas_load(tmp_path):
    text = (TEST_DATA / "cboe_good.csv").read_text()
    odd = tmp_path / "odd.csv"
    odd.write_bytes((",,,,\r\n" + text.replace("\n", ",,\r\n")).encode())
    assert len(load_chain(odd)) == len(load_chain(TEST_DATA / "cboe_good.csv"))


def test_single_day_file_must_match_the_asked_quote_date():
    path = TEST_DATA / "cboe_good.csv"
    assert list_quote_dates(path) == (date(2024, 1, 5),)
    assert len(load_chain(path, quote_date=date(2024, 1, 5))) == 20
    with pytest.raises(ChainFileError, match=r"holds quotes of 2024-01-05 \(16:15 ET\) only"):
        load_chain(path, quote_date=date(2024, 1, 8))


def test_naive_asof_is_rejected():
    with pytest.raises(ValueError, match="timezone-aware"):
        load_chain(TEST_DATA / "cboe_good.csv", asof=datetime(2024, 1, 5, 16, 30))  # noqa: DTZ001


def test_asof_drives_the_staleness_check():
    path = TEST_DATA / "cboe_good.csv"
    fresh = load_chain(path, asof=ny(2024, 1, 5, 16, 30))
    assert QualityCode.STALE not in {i.code for i in fresh.issues}
    stale = load_chain(path, asof=ny(2024, 1, 8, 10, 0))
    assert QualityCode.STALE in {i.code for i in stale.issues}


# --- download times and quote times -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mar 22 2020 @ 18:24 ET", ny(2020, 3, 22, 18, 24)),
        ("Date: January 9, 2022, 3:11 AM EST", ny(2022, 1, 9, 3, 11)),
        ("Date: February 5 2022, 8:09 PM EST", ny(2022, 2, 5, 20, 9)),
        ("Date: 23 de marzo de 2022, 10:11 GMT-4", ny(2022, 3, 23, 10, 11)),
        ("Date: June 11, 2022, 8:47 PM EDT", ny(2022, 6, 11, 20, 47)),
        ("Date: February 3, 2023 at 11:24 PM EST", ny(2023, 2, 3, 23, 24)),
        ("Date: 9 декабря 2023 г. в 13:49 GMT-5", ny(2023, 12, 9, 13, 49)),  # noqa: RUF001
        ("Date: 11 de noviembre de 2024, 8:02 GMT-5", ny(2024, 11, 11, 8, 2)),
        ("Date: 14 March 2026 at 07:34 GMT-4", ny(2026, 3, 14, 7, 34)),
        ("Date: July 9, 2022 at 5:28 p.m. EDT", ny(2022, 7, 9, 17, 28)),
        ("Date: January 7, 2024 at 12:05 AM EST", ny(2024, 1, 7, 0, 5)),
        ("Date: 2 de enero de 2025, 16:00 UTC", ny(2025, 1, 2, 11, 0)),
    ],
)
def test_download_time_parses_in_every_locale_seen(text, expected):
    parsed = parse_cboe_timestamp(text)
    assert parsed == expected
    assert parsed.tzinfo is NEW_YORK


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Date: sometime last week", "no time of day"),
        ("Date: January 7, 2024 at 10:52 AM", "no time zone"),
        ("Date: Janvember 7, 2024 at 10:52 AM EST", "no month name"),
        ("Date: January 7 at 10:52 AM EST", "no year"),
        ("Date: February 30, 2024 at 10:52 AM EST", "impossible date"),
        ("Date: January 7, 2024 at 13:52 PM EST", "hour 13 with AM/PM"),
    ],
)
def test_unreadable_download_time_names_the_problem(text, problem):
    with pytest.raises(ChainFileError, match=problem) as info:
        parse_cboe_timestamp(text, file="x.csv", line=3)
    assert info.value.field == "Date"
    assert str(info.value).startswith("x.csv line 3, field 'Date': ")


@pytest.mark.parametrize(
    ("captured", "quoted"),
    [
        # During the session: 15 minutes delayed.
        (ny(2022, 3, 23, 10, 11), ny(2022, 3, 23, 9, 56)),
        # Just after the close: options trade until 16:15.
        (ny(2023, 9, 14, 16, 20), ny(2023, 9, 14, 16, 5)),
        (ny(2023, 9, 14, 16, 31), ny(2023, 9, 14, 16, 15)),
        (ny(2023, 2, 7, 17, 34), ny(2023, 2, 7, 16, 15)),
        # Weekend and holiday downloads hold the last close.
        (ny(2024, 1, 7, 10, 52), ny(2024, 1, 5, 16, 15)),
        (ny(2023, 9, 4, 14, 56), ny(2023, 9, 1, 16, 15)),
        (ny(2020, 3, 22, 18, 24), ny(2020, 3, 20, 16, 15)),
        # Global Trading Hours: evening (from late 2021) and early morning.
        (ny(2025, 1, 6, 21, 26), ny(2025, 1, 6, 21, 11)),
        (ny(2024, 11, 11, 8, 2), ny(2024, 11, 11, 7, 47)),
        (ny(2020, 3, 23, 5, 0), ny(2020, 3, 23, 4, 45)),
        (ny(2020, 3, 20, 21, 0), ny(2020, 3, 20, 16, 15)),
        # Between GTH and the open, quotes froze at 09:15.
        (ny(2024, 11, 11, 9, 40), ny(2024, 11, 11, 9, 15)),
        (ny(2024, 11, 11, 9, 50), ny(2024, 11, 11, 9, 35)),
        # Early close: options stop at 13:15.
        (ny(2023, 11, 24, 14, 0), ny(2023, 11, 24, 13, 15)),
    ],
)
def test_quote_time_follows_cboe_sessions(captured, quoted):
    assert quote_time_at(captured) == quoted


def test_quote_time_needs_an_aware_time():
    with pytest.raises(ValueError, match="timezone-aware"):
        quote_time_at(datetime(2024, 1, 5, 12, 0))  # noqa: DTZ001


def test_quote_time_accepts_any_zone():
    utc = datetime(2022, 3, 23, 14, 11, tzinfo=timezone.utc)  # noqa: UP017
    assert quote_time_at(utc) == ny(2022, 3, 23, 9, 56)


# --- the Yahoo 0DTE dump ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def yahoo_dates():
    return list_quote_dates(CHAINS / YAHOO)


def test_yahoo_dump_lists_its_trading_days(yahoo_dates):
    assert source_of(CHAINS / YAHOO) is yahoo_csv
    assert len(yahoo_dates) == 68
    assert yahoo_dates[0] == date(2025, 3, 7)
    assert yahoo_dates[-1] == date(2025, 9, 5)
    assert list(yahoo_dates) == sorted(set(yahoo_dates))
    assert all(d.weekday() < 5 for d in yahoo_dates)


def test_yahoo_day_merges_weekend_captures_of_friday_quotes():
    chain = load_chain(CHAINS / YAHOO, quote_date=date(2025, 3, 14))
    assert chain.expiries() == (("SPXW", date(2025, 3, 14)), ("SPXW", date(2025, 3, 17)))
    assert chain.quote_time == ny(2025, 3, 14, 16, 15)
    assert chain.spot == pytest.approx(5638.94, abs=0.01)
    assert chain.terms_for("SPXW", date(2025, 3, 14)).expired
    monday = chain.terms_for("SPXW", date(2025, 3, 17))
    assert monday.t_years == pytest.approx((3 * 24 - 0.25) / (365 * 24))
    assert np.isnan(chain.cboe_iv).all()


def test_yahoo_rows_total_the_deduplicated_file(yahoo_dates):
    assert sum(len(load_chain(CHAINS / YAHOO, quote_date=d)) for d in yahoo_dates) == 2998


def test_yahoo_dump_needs_a_day_to_be_picked():
    with pytest.raises(ChainFileError, match=r"68 trading days .* pass quote_date"):
        load_chain(CHAINS / YAHOO)
    with pytest.raises(ChainFileError, match="holds no quotes of 2025-03-15"):
        load_chain(CHAINS / YAHOO, quote_date=date(2025, 3, 15))


def test_yahoo_asof_picks_the_latest_closed_day():
    chain = load_chain(CHAINS / YAHOO, asof=ny(2025, 3, 16, 12, 0))
    assert chain.quote_time.date() == date(2025, 3, 14)
    before_close = load_chain(CHAINS / YAHOO, asof=ny(2025, 3, 17, 15, 0))
    assert before_close.quote_time.date() == date(2025, 3, 14)
    assert QualityCode.STALE in {i.code for i in before_close.issues}


def test_yahoo_root_expiry_and_strike_come_from_the_symbol():
    # 2025-03-21 is a monthly expiry: AM-settled SPX beside PM SPXW on the same date.
    chain = load_chain(CHAINS / YAHOO, quote_date=date(2025, 3, 21))
    assert chain.expiries() == (
        ("SPX", date(2025, 3, 21)),
        ("SPXW", date(2025, 3, 21)),
        ("SPXW", date(2025, 3, 24)),
    )
    assert chain.terms_for("SPX", date(2025, 3, 21)).settles_at == ny(2025, 3, 21, 9, 30)


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "line", "field", "message"),
    [
        (
            "cboe_bad_number.csv",
            7,
            "Bid",
            "cboe_bad_number.csv line 7, field 'Bid': expected a number, got 'abc' "
            "(call side, column 5)",
        ),
        ("cboe_truncated.csv", 13, None, "expected 22 fields, got 6: truncated file?"),
        ("cboe_unknown_header.csv", 4, "Theta", "unknown column 'Theta'"),
        ("cboe_empty_chain.csv", 5, None, "holds no option rows after the header"),
        ("cboe_bad_date.csv", 3, "Date", "no time of day (HH:MM) in the download date"),
        ("cboe_truncated.csv.gz", None, None, "truncated or corrupt gzip"),
        ("yahoo_missing_column.csv", 1, "bid", "header lacks 'bid'"),
        ("not_a_chain.csv", 1, None, "is not a known chain format"),
    ],
)
def test_bad_file_raises_chain_file_error_naming_file_line_and_field(fixture, line, field, message):
    with pytest.raises(ChainFileError) as info:
        load_chain(TEST_DATA / fixture)
    error = info.value
    assert isinstance(error, ValueError)
    assert error.file == fixture
    assert error.line == line
    assert error.field == field
    assert message in str(error)
    assert str(error).startswith(fixture)


def test_missing_file_is_a_chain_file_error():
    with pytest.raises(ChainFileError, match="no such file"):
        load_chain(TEST_DATA / "nope.csv")


def test_symbol_that_contradicts_its_row_is_rejected(tmp_path):
    text = (TEST_DATA / "cboe_good.csv").read_text()
    bad = tmp_path / "bad.csv"
    bad.write_text(text.replace("SPXW240112P04700000", "SPXW240112P04705000"))
    with pytest.raises(ChainFileError, match="does not match the row") as info:
        load_chain(bad)
    assert (info.value.line, info.value.field) == (10, "Puts")


def test_nan_quote_loads_and_is_flagged_with_its_line():
    chain = load_chain(TEST_DATA / "cboe_nan_field.csv")
    issue = next(i for i in chain.issues if i.code is QualityCode.NAN_FIELD)
    assert issue.severity is Severity.ERROR
    assert issue.strike == 4690.0
    assert issue.detail == "line 9: SPXW 2024-01-12 4690P: bid is NaN; the row gets no IV"
    row = np.flatnonzero(np.isnan(chain.bid))
    assert row.size == 1
    assert math.isnan(chain.iv[row[0]])
    assert chain.iv_reason[row[0]] == IVReason.BAD_INPUT
    assert np.isfinite(chain.iv).sum() == len(chain) - 1


def test_crossed_quote_loads_and_is_flagged():
    chain = load_chain(TEST_DATA / "cboe_crossed.csv")
    issue = next(i for i in chain.issues if i.code is QualityCode.CROSSED)
    assert (
        issue.detail
        == "line 10: SPXW 2024-01-12 4700C: bid 30.5 is above ask 30.1; the row gets no IV"
    )
    assert issue.severity is Severity.ERROR


def test_missing_strike_near_the_money_is_flagged():
    chain = load_chain(TEST_DATA / "cboe_missing_strike.csv")
    issues = [i for i in chain.issues if i.code is QualityCode.MISSING_STRIKE]
    assert [i.strike for i in issues] == [4700.0]
    assert "between 4690 and 4710" in issues[0].detail
    assert not [
        i for i in load_chain(TEST_DATA / "cboe_good.csv").issues if i.severity is not Severity.INFO
    ]


# --- chain_greeks_rows ------------------------------------------------------------------------


def test_chain_greeks_rows_have_exactly_the_cli_keys():
    rows = chain_greeks_rows(load_chain(TEST_DATA / "cboe_nan_field.csv"))
    assert len(rows) == 20
    keys = ["root", "expiry", "strike", "right", "bid", "ask", "iv", "delta", "gamma",
            "theta_per_day", "vega_per_vol_point"]  # fmt: skip
    assert all(list(row) == keys for row in rows)
    first = rows[0]
    assert first["root"] == "SPXW"
    assert first["expiry"] == "2024-01-12"
    assert first["strike"] == 4650
    assert isinstance(first["strike"], int)
    assert first["right"] == "P"
    assert rows[1]["right"] == "C"
    assert isinstance(first["iv"], float)
    assert first["delta"] < 0 < rows[1]["delta"]  # type: ignore[operator]


def test_chain_greeks_rows_turn_nan_into_none_and_dump_as_strict_json():
    rows = chain_greeks_rows(load_chain(TEST_DATA / "cboe_nan_field.csv"))
    nan_row = next(r for r in rows if r["bid"] is None)
    assert nan_row["strike"] == 4690
    assert nan_row["right"] == "P"
    assert nan_row["iv"] is None
    assert nan_row["delta"] is None
    json.dumps(rows, allow_nan=False)


def test_chain_greeks_rows_cover_a_full_snapshot_fast():
    chain = load_snapshot("spx_cboe_2024-01-05_close.csv.gz")
    rows = chain_greeks_rows(chain)
    assert len(rows) == len(chain)
    text = json.dumps(rows, allow_nan=False)
    assert text.count('"iv": null') == int(np.isnan(chain.iv).sum())


def test_time_of_a_row_is_reported_per_expiry_in_the_slices():
    chain = load_snapshot("spx_cboe_2024-01-05_close.csv.gz")
    later = chain.terms_for("SPX", date(2024, 2, 16))
    assert later.settles_at == ny(2024, 2, 16, 9, 30)
    assert later.t_years == pytest.approx(
        (later.settles_at - chain.quote_time) / timedelta(days=365)
    )
