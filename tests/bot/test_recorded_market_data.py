"""The recorded source: shipped files served as of a clock time, never looking ahead."""

from __future__ import annotations

import gzip
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.market_data.errors import MarketDataError, MarketDataProblem
from bot.adapters.market_data.recorded import RecordedMarketData, default_model_expiries
from core.calendar import NEW_YORK

DATA = Path(__file__).resolve().parents[2] / "data"
BARS = DATA / "intraday" / "SPX_1min_2023-03-16_2023-03-31.txt.gz"


def ny(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=NEW_YORK)


@pytest.fixture
def recorded() -> RecordedMarketData:
    return RecordedMarketData(DATA)


def bar_close(stamp: str) -> float:
    """The close of the bar stamped `stamp` (New York) in the shipped 1-minute file."""
    with gzip.open(BARS, "rt") as lines:
        for line in lines:
            if line.startswith(stamp):
                return float(line.rstrip().split(",")[4])
    raise AssertionError(f"no bar {stamp}")


# --- chains ---------------------------------------------------------------------------------


async def test_chain_serves_the_real_intraday_snapshot_once_its_quotes_exist(recorded):
    chain = await recorded.chain(ny(2022, 3, 23, 10, 0))

    assert chain.quote_time == ny(2022, 3, 23, 9, 56)
    assert "spx_cboe_2022-03-23_intraday_1011ET" in chain.source
    assert chain.modelled == ()
    assert await recorded.chain(ny(2022, 3, 23, 10, 5)) is chain  # read once


async def test_chain_never_serves_a_snapshot_before_its_quote_time(recorded):
    with pytest.raises(MarketDataError) as exc:
        await recorded.chain(ny(2022, 3, 23, 9, 50))

    assert exc.value.kind is MarketDataProblem.UNAVAILABLE
    assert "no chain snapshot of 2022-03-23 by 2022-03-23 09:50 ET" in str(exc.value)
    assert "bars cover 2023-03-16 to 2023-03-31" in str(exc.value)


async def test_chain_older_than_the_limit_is_stale(recorded):
    with pytest.raises(MarketDataError) as exc:
        await recorded.chain(ny(2022, 3, 23, 10, 40))

    assert exc.value.kind is MarketDataProblem.STALE
    assert str(exc.value).startswith("recorded data: the latest chain of 2022-03-23 (")
    assert "is from 2022-03-23 09:56 ET, 44 min old at 2022-03-23 10:40 ET (limit 30 min)" in str(
        exc.value
    )


async def test_chain_limit_is_configurable():
    recorded = RecordedMarketData(DATA, max_age=timedelta(hours=1))

    chain = await recorded.chain(ny(2022, 3, 23, 10, 40))

    assert chain.quote_time == ny(2022, 3, 23, 9, 56)


async def test_close_snapshot_is_served_after_the_close_only(recorded):
    chain = await recorded.chain(ny(2024, 1, 5, 16, 20))
    assert chain.quote_time == ny(2024, 1, 5, 16, 15)

    with pytest.raises(MarketDataError) as exc:
        await recorded.chain(ny(2024, 1, 5, 12, 0))
    assert exc.value.kind is MarketDataProblem.UNAVAILABLE
    assert "nearest snapshot days: " in str(exc.value)
    assert "2024-01-05" in str(exc.value)


async def test_multi_day_yahoo_file_serves_its_days(recorded):
    chain = await recorded.chain(ny(2025, 3, 7, 16, 20))

    assert "yahoo" in chain.source.lower()
    assert chain.quote_time.date() == date(2025, 3, 7)


async def test_chain_is_modelled_from_bars_and_vix_on_a_day_without_a_snapshot(recorded):
    asof = ny(2023, 3, 22, 10, 0, 30)

    chain = await recorded.chain(asof)

    assert chain.quote_time == ny(2023, 3, 22, 10, 0)  # end of the last complete bar (09:59)
    assert chain.spot == bar_close("2023-03-22 09:59:00")
    assert chain.modelled
    assert "modelled chain" in chain.source
    assert "VIX/VIX9D/VIX3M opening values of 2023-03-22" in chain.source
    assert ("SPXW", date(2023, 3, 22)) in chain.expiries()  # 0DTE
    assert ("SPXW", date(2023, 3, 23)) in chain.expiries()  # 1DTE
    assert any(30 <= (e - date(2023, 3, 22)).days <= 60 for _, e in chain.expiries())  # 45DTE


async def test_modelled_chain_is_reused_within_the_same_bar(recorded):
    first = await recorded.chain(ny(2023, 3, 22, 10, 0, 10))

    assert await recorded.chain(ny(2023, 3, 22, 10, 0, 50)) is first
    assert await recorded.chain(ny(2023, 3, 22, 10, 1, 0)) is not first


async def test_modelling_can_be_turned_off():
    recorded = RecordedMarketData(DATA, model_missing=False)

    with pytest.raises(MarketDataError, match=r"\(modelling is off\)") as exc:
        await recorded.chain(ny(2023, 3, 22, 10, 0))

    assert exc.value.kind is MarketDataProblem.UNAVAILABLE


async def test_no_chain_before_the_open_of_a_bars_day(recorded):
    with pytest.raises(MarketDataError, match="no 1-minute SPX bar within 30 min"):
        await recorded.chain(ny(2023, 3, 22, 8, 0))


def truncated_copy(tmp_path: Path, before: str) -> Path:
    """A data dir whose bars file stops before `before`: what was known then."""
    data = tmp_path / "data"
    (data / "intraday").mkdir(parents=True)
    (data / "chains").mkdir()
    (data / "vix").symlink_to(DATA / "vix", target_is_directory=True)
    with gzip.open(BARS, "rt") as src:
        kept = [line for line in src if line[:19] < before]
    with gzip.open(data / "intraday" / BARS.name, "wt") as dst:
        dst.writelines(kept)
    return data


async def test_answers_at_asof_do_not_depend_on_later_bars(tmp_path, recorded):
    asof = ny(2023, 3, 22, 11, 17, 30)
    known_then = RecordedMarketData(truncated_copy(tmp_path, "2023-03-22 11:17:00"))

    full, cut = await recorded.chain(asof), await known_then.chain(asof)
    assert (full.spot, full.quote_time) == (cut.spot, cut.quote_time)
    assert full.bid.tolist() == cut.bid.tolist()
    assert await recorded.spx_last(asof) == await known_then.spx_last(asof)
    assert (await recorded.spx_bars(asof)).close.tolist() == (
        await known_then.spx_bars(asof)
    ).close.tolist()


async def test_accelerated_clock_walk_through_a_day_never_gets_ahead(recorded):
    asof = ny(2023, 3, 22, 9, 45)
    last = None
    while asof <= ny(2023, 3, 22, 16, 0):
        chain = await recorded.chain(asof)
        _, at = await recorded.spx_last(asof)
        assert chain.quote_time <= asof
        assert at <= asof
        assert asof - at < timedelta(minutes=2)
        assert last is None or chain.quote_time > last
        last = chain.quote_time
        asof += timedelta(minutes=47)


# --- SPX level, bars, volatility indices ----------------------------------------------------


async def test_spx_last_is_the_close_of_the_last_complete_bar(recorded):
    price, at = await recorded.spx_last(ny(2023, 3, 22, 10, 0, 30))

    assert price == bar_close("2023-03-22 09:59:00")
    assert at == ny(2023, 3, 22, 10, 0)


async def test_spx_last_before_the_open_is_the_previous_close(recorded):
    price, at = await recorded.spx_last(ny(2023, 3, 22, 8, 0))

    assert at.date() == date(2023, 3, 21)
    assert at.hour == 16
    assert price == pytest.approx(4002.87)


async def test_spx_last_falls_back_to_a_snapshots_index_level(recorded):
    price, at = await recorded.spx_last(ny(2022, 3, 23, 10, 0))

    assert price == pytest.approx(4479.0898)
    assert at == ny(2022, 3, 23, 9, 56)


async def test_spx_last_during_a_session_without_data_is_stale(recorded):
    with pytest.raises(MarketDataError) as exc:
        await recorded.spx_last(ny(2023, 4, 3, 10, 0))

    assert exc.value.kind is MarketDataProblem.STALE
    assert "the last SPX level 4109.31 is from 2023-03-31 16:06 ET" in str(exc.value)


async def test_spx_last_before_any_data_is_unavailable(recorded):
    with pytest.raises(MarketDataError) as exc:
        await recorded.spx_last(ny(2020, 1, 2, 10, 0))

    assert exc.value.kind is MarketDataProblem.UNAVAILABLE
    assert "no SPX level known by 2020-01-02 10:00 ET" in str(exc.value)


async def test_spx_bars_are_the_days_complete_bars(recorded):
    bars = await recorded.spx_bars(ny(2023, 3, 22, 10, 0, 30))

    assert len(bars) == 30
    assert bars.start_at(0) == ny(2023, 3, 22, 9, 30)
    assert bars.end_at(len(bars) - 1) == ny(2023, 3, 22, 10, 0)
    since = await recorded.spx_bars(ny(2023, 3, 22, 10, 0), since=ny(2023, 3, 21, 15, 0))
    assert since.start_at(0) == ny(2023, 3, 21, 15, 0)


async def test_vol_levels_are_the_opening_values_during_the_session(recorded):
    levels = await recorded.vol_levels(ny(2023, 3, 22, 10, 0))

    assert "opening values of 2023-03-22" in levels.observed
    assert levels.vix > 0
    assert levels.skew > 100


async def test_days_are_the_bars_days(recorded):
    days = await recorded.days()

    assert days[0] == date(2023, 3, 16)
    assert days[-1] == date(2023, 3, 31)
    assert date(2023, 3, 22) in days


async def test_missing_data_dir_is_reported(tmp_path):
    recorded = RecordedMarketData(tmp_path / "nowhere")

    with pytest.raises(MarketDataError) as exc:
        await recorded.spx_bars(ny(2023, 3, 22, 10, 0))
    assert exc.value.kind is MarketDataProblem.UNAVAILABLE
    assert "no SPX 1-minute bars (SPX_1min_*) under" in str(exc.value)

    with pytest.raises(MarketDataError, match="no chain snapshot of 2023-03-22"):
        await recorded.chain(ny(2023, 3, 22, 10, 0))


async def test_naive_asof_is_refused(recorded):
    with pytest.raises(ValueError, match="asof must be timezone-aware"):
        await recorded.chain(datetime(2023, 3, 22, 10, 0))  # noqa: DTZ001 - the point of the test


def test_default_model_expiries_cover_the_three_tracks():
    expiries = default_model_expiries(date(2023, 3, 22))

    assert expiries[0] == ("SPXW", date(2023, 3, 22))
    short = [e for r, e in expiries if (e - date(2023, 3, 22)).days <= 4]
    assert short == [date(2023, 3, 22), date(2023, 3, 23), date(2023, 3, 24)]  # Mon 27th: 5 days
    assert ("SPX", date(2023, 4, 21)) in expiries
    assert all(
        (e - date(2023, 3, 22)).days <= 4 or 30 <= (e - date(2023, 3, 22)).days <= 60
        for _, e in expiries
    )
