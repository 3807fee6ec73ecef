"""Telegram HTML cards: escaped, parseable by Telegram's rules, within 4096 / 1024."""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.render.chart import pnl_at_expiry_usd, render_payoff_png
from bot.render.telegram_html import (
    CAPTION_LIMIT,
    MESSAGE_LIMIT,
    render_notice_html,
    render_signal_caption,
    render_telegram_html,
    telegram_length,
)
from core.types import CondorSignal, DataStamp, NoTradeDay, NoTradeReason
from tests.frontends.fake_telegram import parse_html
from tests.frontends.telegram.events import a_signal, replayed_events

_TEXT = st.text(
    alphabet=st.one_of(st.sampled_from("<>&\"'/;#x0123abc\n\t &amp; <b> </i> 🦅"), st.characters()),
    max_size=3000,
)


def _check(card: str, limit: int) -> str:
    assert telegram_length(card) <= limit
    plain = parse_html(card)  # raises where Telegram would refuse the entities
    assert plain.strip()
    return plain


def _vandalise(event: Any, text: str, many: list[str]) -> Any:
    data = DataStamp(quote_time=event.data.quote_time, source=text or "s", modelled=tuple(many[:3]))
    event = dataclasses.replace(event, data=data, rule_version=text[:40] or "v")
    if isinstance(event, NoTradeDay):
        reasons = (
            tuple(dataclasses.replace(event.reasons[0], detail=d) for d in [text, *many])
            or event.reasons
        )
        return dataclasses.replace(event, reasons=reasons)
    for name in ("detail", "rationale"):
        if hasattr(event, name):
            event = dataclasses.replace(event, **{name: text})
    if hasattr(event, "reasons"):
        event = dataclasses.replace(event, reasons=(text, *many))
    return event


def test_every_replayed_event_renders_to_valid_html():
    for event in replayed_events():
        plain = _check(render_telegram_html(event), MESSAGE_LIMIT)
        assert "not personal financial advice" in plain


def test_signal_caption_fits_and_names_the_strikes():
    signal = a_signal()
    plain = _check(render_signal_caption(signal), CAPTION_LIMIT)
    assert f"{signal.legs[1].strike:f}" in plain
    assert "modelled" in plain  # the replayed chain is modelled, and the caption says so


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(min_value=0, max_value=100),
    text=_TEXT,
    many=st.lists(_TEXT, max_size=12),
)
def test_any_event_renders_valid_escaped_html_within_limits(index, text, many):
    events = replayed_events()
    event = _vandalise(events[index % len(events)], text, many)
    plain = _check(render_telegram_html(event), MESSAGE_LIMIT)
    if "<" in text and telegram_length(plain) < MESSAGE_LIMIT - 200:
        assert "<" in plain  # escaped, so it survives as text
    if isinstance(event, CondorSignal):
        _check(render_signal_caption(event), CAPTION_LIMIT)


@given(text=_TEXT)
def test_any_notice_renders_valid_html(text):
    card = render_notice_html(text or "x")
    assert telegram_length(card) <= MESSAGE_LIMIT
    parse_html(card)


def test_no_trade_card_with_many_reasons_is_shortened_with_footer_kept():
    event = next(e for e in replayed_events() if isinstance(e, NoTradeDay))
    reasons = tuple(NoTradeReason(code=event.reasons[0].code, detail="x" * 500) for _ in range(40))
    card = render_telegram_html(dataclasses.replace(event, reasons=reasons))
    plain = _check(card, MESSAGE_LIMIT)
    assert "shortened" in plain
    assert "not personal financial advice" in plain


def test_payoff_png_and_pnl_at_expiry():
    signal = a_signal()
    png = render_payoff_png(signal, price=float(signal.spot))
    assert png.startswith(b"\x89PNG")
    assert len(png) > 10_000
    inside = pnl_at_expiry_usd(signal, float(signal.spot))
    assert inside == float(signal.credit_mid) * 100
    lp = float(signal.legs[0].strike)
    assert (
        pnl_at_expiry_usd(signal, lp - 100)
        == float(signal.credit_mid - signal.put_width_points) * 100
    )
    assert abs(pnl_at_expiry_usd(signal, float(signal.break_even_low))) < 1e-6
