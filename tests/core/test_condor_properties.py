"""Properties of `select_condor` over synthetic but arbitrage-free chains built with our pricer.

The quotes are Black-76 prices on a skewed smile, rounded out to the 0.05 tick: every condor the
selector returns must satisfy the invariants a trader checks by hand.
"""

from __future__ import annotations

import math
from datetime import date, datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from core.calendar import NEW_YORK, elapsed_seconds, settlement_of
from core.chain import OptionChain, OptionQuotes, QuoteRecord, build_chain
from core.condor import CondorProfile, select_condor
from core.pricing import black76_price
from core.rules import CondorRules
from core.types import SPX_MULTIPLIER, CondorSignal, NoTradeDay, Risk, Track

QUOTE_TIME = datetime(2024, 1, 8, 15, 45, tzinfo=NEW_YORK)
EXPIRIES = (date(2024, 1, 8), date(2024, 1, 9), date(2024, 2, 22))
TICK = 0.05


def _synthetic_chain(spot: float, atm_iv: float, skew: float, half_spread: float) -> OptionChain:
    records: list[QuoteRecord] = []
    rate, carry = 0.05, 0.037
    for expiry in EXPIRIES:
        settles = settlement_of("SPXW", expiry)[1]
        t_years = elapsed_seconds(QUOTE_TIME, settles) / (365 * 86400)
        forward = spot * math.exp(carry * t_years)
        step = 5.0
        strikes = np.arange(
            step * round(spot * 0.8 / step), step * round(spot * 1.2 / step) + step, step
        )
        iv = np.maximum(atm_iv * (1 - skew * np.log(strikes / forward) * 4), 0.05)
        for is_call in (True, False):
            mid = black76_price(is_call, forward, strikes, t_years, rate, iv)
            bid = np.floor((mid - half_spread) / TICK) * TICK
            ask = np.ceil((mid + half_spread) / TICK) * TICK
            for k, b, a in zip(strikes, bid, ask, strict=True):
                records.append(
                    QuoteRecord(
                        root="SPXW",
                        expiry=expiry,
                        strike=float(k),
                        is_call=is_call,
                        bid=round(max(float(b), 0.0), 2),
                        ask=round(max(float(a), TICK), 2),
                    )
                )
    return build_chain(
        OptionQuotes.from_records(records), spot, QUOTE_TIME, "synthetic Black-76 chain (test)"
    )


@settings(max_examples=25, deadline=None)
@given(
    spot=st.floats(2000, 7000),
    atm_iv=st.floats(0.08, 0.6),
    skew=st.floats(0.0, 0.4),
    half_spread=st.floats(0.0, 0.3),
)
def test_every_condor_on_a_synthetic_chain_satisfies_the_invariants(
    spot, atm_iv, skew, half_spread
):
    chain = _synthetic_chain(spot, atm_iv, skew, half_spread)
    rules = CondorRules()
    for track in Track:
        for risk in Risk:
            event = select_condor(chain, CondorProfile.of(rules, track, risk), QUOTE_TIME)
            if isinstance(event, NoTradeDay):
                assert event.reasons
                continue
            assert isinstance(event, CondorSignal)
            lp, sp, sc, lc = event.legs
            assert lp.strike < sp.strike < sc.strike < lc.strike
            assert 0 < event.credit_mid < event.width_points
            assert event.break_even_low == sp.strike - event.credit_mid
            assert event.break_even_high == sc.strike + event.credit_mid
            assert event.max_loss_usd == (event.width_points - event.credit_mid) * SPX_MULTIPLIER
            assert 0.0 < event.pop < 1.0
            assert event.credit_natural <= event.limit_price <= event.credit_mid
            assert sp.bid > 0
            assert sc.bid > 0


@settings(max_examples=15, deadline=None)
@given(spot=st.floats(2000, 7000), atm_iv=st.floats(0.08, 0.6), skew=st.floats(0.0, 0.4))
def test_chain_deltas_fall_with_strike(spot, atm_iv, skew):
    chain = _synthetic_chain(spot, atm_iv, skew, 0.0)
    # Out of the money only: deep in-the-money prices rounded to the tick carry no IV information.
    for root, expiry in chain.expiries():
        sl = chain.expiry_slice(root, expiry)
        forward = sl.terms.forward
        for deltas, otm in (
            (sl.call_delta, sl.strikes > forward),
            (sl.put_delta, sl.strikes < forward),
        ):
            known = deltas[np.isfinite(deltas) & otm & (np.abs(deltas) > 0.01)]
            if expiry == EXPIRIES[2]:
                assert known.size > 3
            assert np.all(np.diff(known) <= 1e-9)


def test_synthetic_chain_recovers_its_own_forward_and_smile():
    spot, atm_iv = 4700.0, 0.15
    chain = _synthetic_chain(spot, atm_iv, 0.0, 0.0)
    terms = chain.terms_for("SPXW", EXPIRIES[2])
    assert abs(terms.forward / (spot * math.exp(0.037 * terms.t_years)) - 1) < 2e-4
    sl = chain.expiry_slice("SPXW", EXPIRIES[2])
    near = np.abs(sl.strikes / terms.forward - 1) < 0.03
    assert np.nanmax(np.abs(sl.call_iv[near] - atm_iv)) < 0.01
    assert terms.settles_at == datetime(2024, 2, 22, 16, 0, tzinfo=NEW_YORK)
    assert abs(terms.rate - 0.05) < 0.002
    assert not terms.forward_modelled
