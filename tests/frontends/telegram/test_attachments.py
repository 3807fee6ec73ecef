"""Payoff charts through the outbox: the spec, its storage, the worker and the publisher."""

from __future__ import annotations

import pytest

from bot.delivery import DeliveryWorker
from bot.frontends.telegram.publisher import TelegramPublisher
from bot.ports import Delivery, SendOutcome
from bot.render.chart import PAYOFF_PREFIX, Payoff, pnl_at_expiry_usd, render_payoff_png
from bot.render.telegram_html import telegram_chart
from bot.storage.redis_store import delivery_from_json, delivery_to_json
from tests.fakes import FixedClock, InMemoryOutbox, RecordingPublisher
from tests.frontends.telegram.events import a_signal, replayed_events
from tests.frontends.telegram.test_app_e2e import NOW


def test_payoff_spec_round_trips_and_draws_the_same_payoff():
    signal = a_signal()
    spec = Payoff.from_json(Payoff.of(signal).to_json())
    assert spec == Payoff.of(signal)
    assert len(spec.to_json()) < 200
    for price in (float(signal.spot), float(signal.legs[0].strike) - 50):
        assert pnl_at_expiry_usd(spec, price) == pytest.approx(pnl_at_expiry_usd(signal, price))
    assert render_payoff_png(spec).startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="payoff spec"):
        Payoff.from_json('{"k": 1}')


def test_only_signals_have_a_chart():
    charts = [telegram_chart(e) for e in replayed_events()]
    chart = telegram_chart(a_signal())
    assert chart is not None
    attachment, caption = chart
    assert attachment.startswith(PAYOFF_PREFIX)
    assert len(caption) <= 1024
    others = [c for c, e in zip(charts, replayed_events(), strict=True) if e is not a_signal()]
    assert sum(c is not None for c in charts) >= 1
    assert all(c is None for c, e in zip(charts, replayed_events(), strict=True)
               if type(e).__name__ != "CondorSignal")  # fmt: skip
    assert len(others) == len(charts) - 1


def test_attachment_survives_the_outbox_encoding():
    delivery = Delivery(key="k", platform="telegram", target="1", event_id="e", text="t")
    assert delivery_from_json(delivery_to_json(delivery)).attachment == ""
    with_chart = Delivery(
        key="k", platform="telegram", target="1", event_id="e", text="t", attachment="payoff:{}"
    )
    assert delivery_from_json(delivery_to_json(with_chart)).attachment == "payoff:{}"


async def test_a_publisher_without_attachments_gets_the_caption():
    clock = FixedClock(NOW)
    outbox = InMemoryOutbox(clock)
    publisher = RecordingPublisher(platform="console")
    await outbox.enqueue(
        Delivery(
            key="k", platform="console", target="1", event_id="e", text="cap", attachment="payoff:x"
        )
    )
    await DeliveryWorker(outbox=outbox, publisher=publisher, clock=clock, consumer="c").drain()
    assert [m.text for m in publisher.sent] == ["cap"]


async def test_telegram_sends_the_chart_as_a_photo_and_refuses_a_bad_spec(server, bot):
    publisher = TelegramPublisher(bot, chat_interval_s=0)
    attachment, caption = telegram_chart(a_signal()) or ("", "")
    result = await publisher.send_attachment("42", caption, attachment, silent=True)
    assert result.outcome is SendOutcome.SENT
    (sent,) = server.to(42)
    assert sent.method == "sendPhoto"
    assert sent.disable_notification is True
    bad = await publisher.send_attachment("42", "x", "payoff:{nope", silent=False)
    assert bad.outcome is SendOutcome.FAILED
    unknown = await publisher.send_attachment("42", "x", "video:1", silent=False)
    assert unknown.outcome is SendOutcome.FAILED
