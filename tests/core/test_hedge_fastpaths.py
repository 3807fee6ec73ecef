"""The engine's per-bar float paths agree to the bit with the NumPy code they replaced.

`core.hedge` marks a condor and prices its closes and rolls on two to four numbers at a time in
plain floats. A backtest must not move by one ulp for it, so each float path is checked here
against the NumPy expression it stands for, bit for bit.
"""

from __future__ import annotations

import itertools
import math
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.calendar import NEW_YORK
from core.condor import CondorProfile, select_condor
from core.hedge import (
    _IS_CALL,
    OpenCondor,
    _leg_ivs,
    _leg_strikes,
    _leg_values,
    _open_signs,
    _pair_slip,
    _signs,
    mark,
)
from core.rules import CondorRules
from core.surface import IndexLevels, model_chain, modelled_half_spread
from core.types import CondorSignal, Risk, Track

DAY = date(2023, 3, 22)
ENTRY = datetime(2023, 3, 22, 10, 0, tzinfo=NEW_YORK)
SPOT = 4000.0

_prices = st.floats(min_value=0.0, max_value=500.0, allow_nan=False)
_four_prices = st.tuples(_prices, _prices, _prices, _prices)


def _bits(x: float) -> str:
    return float(x).hex()


@pytest.fixture(scope="module")
def signal() -> CondorSignal:
    chain = model_chain(
        SPOT,
        ENTRY,
        [("SPXW", DAY)],
        IndexLevels(vix=21.0, vix9d=22.0, vix3m=22.5, skew=125.0),
        rate=0.045,
        dividend_yield=0.016,
    )
    event = select_condor(
        chain, CondorProfile.of(CondorRules(), Track.ZERO_DTE, Risk.BALANCED), ENTRY
    )
    assert isinstance(event, CondorSignal)
    return event


@pytest.mark.parametrize("open_legs", list(itertools.product((False, True), repeat=4)))
def test_open_signs_are_the_vectorised_signs_with_their_signed_zeros(signal, open_legs):
    position = OpenCondor.from_signal(signal, 1)
    position = OpenCondor(**{**_fields(position), "open_legs": open_legs})
    assert [_bits(s) for s in _open_signs(open_legs)] == [_bits(s) for s in _signs(position)]


@given(values=_four_prices)
def test_closing_half_spreads_are_numpys_to_the_bit(signal, values):
    position = OpenCondor.from_signal(signal, 1)
    expected = np.minimum(np.array(position.half_spreads), modelled_half_spread(np.array(values)))
    got = position.closing_half_spreads(values)
    assert [_bits(h) for h in got] == [_bits(h) for h in expected]


@given(prices=st.tuples(_prices, _prices))
def test_pair_slip_is_the_summed_vectorised_half_spreads(prices):
    expected = float(modelled_half_spread(np.array(prices)).sum())
    assert _bits(_pair_slip(prices)) == _bits(expected)


@pytest.mark.parametrize("closed", [(True, True, True, True), (False, False, True, True)])
@pytest.mark.parametrize("minutes", [0, 90, 300, 359, 400])
@pytest.mark.parametrize("move", [-60.0, -12.5, 0.0, 7.25, 45.0])
def test_mark_is_the_vectorised_leg_maths_to_the_bit(signal, closed, minutes, move):
    position = OpenCondor.from_signal(signal, 2, entry_vix=21.0).at(23.5, ENTRY)
    position = OpenCondor(**{**_fields(position), "open_legs": closed})
    spot = float(signal.spot) + move
    asof = ENTRY + timedelta(minutes=minutes)
    m = mark(position, spot, asof)
    t = position.t_years(asof)
    strikes, ivs = np.array(_leg_strikes(position)), np.array(_leg_ivs(position))
    values = np.array(_leg_values(position, spot, t))
    if t <= 0:
        intrinsic = np.where(
            _IS_CALL, np.maximum(spot - strikes, 0.0), np.maximum(strikes - spot, 0.0)
        )
        assert values.tolist() == intrinsic.tolist()
    value = float(-(_signs(position) * values).sum())
    atm_iv = float(np.interp(spot, [strikes[1], strikes[2]], [ivs[1], ivs[2]]))
    assert _bits(m.value_points) == _bits(value)
    assert _bits(m.expected_move_points) == _bits(spot * atm_iv * math.sqrt(t))


def _fields(position: OpenCondor) -> dict[str, object]:
    return {name: getattr(position, name) for name in OpenCondor.__dataclass_fields__}
