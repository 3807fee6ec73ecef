"""`core.vix.VxCurve` and its use by the hedge engine (`core.hedge.estimate_future`).

Expected contract dates and settles are written by hand from the raw Cboe CFE files of each
contract (survey `vix_futures/cfe_vx_contracts_2008_2015/CFE_<code><YY>_VX.csv`: the last row of
an expired contract is its final settlement date).
"""

from __future__ import annotations

from datetime import date

import pytest

from core.hedge import VX_ESTIMATED_LABEL, VolIndexLevels, estimate_future
from core.vix import VxCurve, VxSource, estimate_vix_future

# 2011-08-05 settles (CFE files Q11, U11, V11, X11, Z11, F12, G12, H12) and the VIX close.
AUG_5_2011 = (29.15, 26.2, 25.75, 25.15, 24.25, 25.65, 25.9, 26.1)


def curve_2011_08_05() -> VxCurve:
    return VxCurve.from_nearest(date(2011, 8, 5), 32.0, AUG_5_2011, source="test")


# --- VXn -> contract settlement dates ------------------------------------------------------------


def test_vxn_maps_to_the_nth_monthly_settling_after_the_trade_date() -> None:
    curve = curve_2011_08_05()
    assert [d for d, _ in curve.points] == [
        date(2011, 8, 17),  # Q11 last row
        date(2011, 9, 21),  # U11
        date(2011, 10, 19),  # V11
        date(2011, 11, 16),  # X11
        date(2011, 12, 21),  # Z11
        date(2012, 1, 18),  # F12
        date(2012, 2, 15),  # G12
        date(2012, 3, 21),  # H12
    ]
    assert [p for _, p in curve.points] == list(AUG_5_2011)


def test_holiday_moved_settlement_is_vx1_the_day_before() -> None:
    # H14 settled Tuesday 2014-03-18 (Good Friday 2014-04-18); on 2014-03-17 VX1 = 16.15 is H14.
    curve = VxCurve.from_nearest(date(2014, 3, 17), 15.64, (16.15, 16.15), source="test")
    assert [d for d, _ in curve.points] == [date(2014, 3, 18), date(2014, 4, 16)]


@pytest.mark.parametrize(
    ("trade_date", "vx1_settlement"),
    [
        # On a settlement date the expiring contract is gone: VX1 is already the next month
        # (2008-01-16: VX1 24.99 = G08's settle, F08 settled 24.18; 2014-03-18: VX1 15.60 = J14;
        # 2014-11-19: VX1 15.50 = Z14 although X14 traded that morning).
        (date(2008, 1, 16), date(2008, 2, 19)),
        (date(2014, 3, 18), date(2014, 4, 16)),
        (date(2014, 11, 19), date(2014, 12, 17)),
        # The day before, VX1 is still the expiring contract.
        (date(2008, 1, 15), date(2008, 1, 16)),
        (date(2014, 11, 18), date(2014, 11, 19)),
    ],
)
def test_on_a_settlement_date_vx1_is_the_next_month(trade_date: date, vx1_settlement: date) -> None:
    curve = VxCurve.from_nearest(trade_date, 20.0, (20.0,), source="test")
    assert curve.points[0][0] == vx1_settlement


def test_bad_curves_are_refused() -> None:
    with pytest.raises(ValueError, match="VX2 settle must be a positive"):
        VxCurve.from_nearest(date(2011, 8, 5), 32.0, (29.15, 0.0), source="test")
    with pytest.raises(ValueError, match="VX1 must settle after 2011-08-05"):
        VxCurve(
            trade_date=date(2011, 8, 5),
            vix_close=32.0,
            points=((date(2011, 8, 5), 29.15),),
            source="test",
        )
    with pytest.raises(ValueError, match="needs a contract"):
        VxCurve(trade_date=date(2011, 8, 5), vix_close=32.0, points=(), source="test")


# --- reading a settlement off the curve ----------------------------------------------------------


def test_a_monthly_contract_is_its_real_settle() -> None:
    quote = curve_2011_08_05().future_for(date(2011, 9, 21))
    assert quote is not None
    assert quote.price == 26.2
    assert quote.source is VxSource.REAL_SETTLE
    assert quote.real
    assert quote.label == "VX 2011-09-21: real CFE settle of 2011-08-05 (VX2)"


def test_a_date_between_monthlies_is_interpolated_in_days_and_labelled() -> None:
    # 2011-09-01 lies 15 of the 35 days from Aug 17 (29.15) to Sep 21 (26.20).
    quote = curve_2011_08_05().future_for(date(2011, 9, 1))
    assert quote is not None
    assert quote.price == pytest.approx(29.15 + 15 / 35 * (26.2 - 29.15))
    assert quote.source is VxSource.INTERPOLATED
    assert not quote.real
    assert "interpolated" in quote.label
    assert "VX1 (2011-08-17)" in quote.label
    assert "VX2 (2011-09-21)" in quote.label


def test_before_vx1_it_is_interpolated_from_spot_vix() -> None:
    # 2011-08-10 lies 5 of the 12 days from the trade date (spot 32.00) to Aug 17 (29.15).
    quote = curve_2011_08_05().future_for(date(2011, 8, 10))
    assert quote is not None
    assert quote.price == pytest.approx(32.0 + 5 / 12 * (29.15 - 32.0))
    assert quote.source is VxSource.INTERPOLATED_FROM_SPOT
    assert "spot VIX close" in quote.label


def test_outside_the_curve_there_is_no_real_value() -> None:
    curve = curve_2011_08_05()
    assert curve.future_for(date(2011, 8, 5)) is None  # settled (or settling) on the trade date
    assert curve.future_for(date(2012, 3, 22)) is None  # beyond VX8
    assert curve.future_for(date(2012, 3, 21)) is not None


# --- the hedge engine's future -------------------------------------------------------------------

CLOSE_2011_08_05 = (32.0, 35.0, 29.0)  # VIX, VIX9D, VIX3M closes the curve is paired with


def levels(vix: float, vix9d: float, vix3m: float, *, curve: VxCurve | None) -> VolIndexLevels:
    return VolIndexLevels(
        vix=vix,
        vix9d=vix9d,
        vix3m=vix3m,
        vvix=110.0,
        vx_curve=curve,
        vx_curve_close=CLOSE_2011_08_05 if curve is not None else None,
    )


def test_without_a_curve_the_future_is_the_term_structure_estimate() -> None:
    vol = levels(30.0, 33.0, 28.0, curve=None)
    expected = estimate_vix_future(30.0, 33.0, 28.0, 0.03, vvix=110.0).price
    assert estimate_future(vol, 0.03, date(2011, 8, 17)) == (expected, "")
    assert estimate_future(vol, 0.03) == (expected, "")


def test_at_the_curves_close_the_future_is_the_real_settle_exactly() -> None:
    vol = levels(*CLOSE_2011_08_05, curve=curve_2011_08_05())
    price, note = estimate_future(vol, 0.033, date(2011, 8, 17))
    assert price == 29.15
    assert note == "VX 2011-08-17: real CFE settle of 2011-08-05 (VX1)"


def test_later_the_real_settle_is_moved_by_the_modelled_change() -> None:
    now = (36.0, 40.0, 31.0)
    vol = levels(*now, curve=curve_2011_08_05())
    t = 0.03
    price, note = estimate_future(vol, t, date(2011, 9, 21))
    move = (
        estimate_vix_future(*now, t, vvix=110.0).price
        - estimate_vix_future(*CLOSE_2011_08_05, t, vvix=110.0).price
    )
    assert price == pytest.approx(26.2 + move)
    assert move > 0
    assert note.startswith("VX 2011-09-21: real CFE settle of 2011-08-05 (VX2), moved by the")


def test_a_settlement_beyond_the_curve_is_estimated_and_says_so() -> None:
    vol = levels(*CLOSE_2011_08_05, curve=curve_2011_08_05())
    price, note = estimate_future(vol, 0.7, date(2012, 4, 18))
    assert price == estimate_vix_future(32.0, 35.0, 29.0, 0.7, vvix=110.0).price
    assert VX_ESTIMATED_LABEL in note
    assert "not on the real CFE curve" in note


def test_a_curve_needs_the_closes_it_belongs_to() -> None:
    with pytest.raises(ValueError, match="vx_curve_close"):
        VolIndexLevels(vix=32.0, vix9d=35.0, vix3m=29.0, vx_curve=curve_2011_08_05())
