"""Telegram and Discord show the same numbers: both cards rendered from one event and compared.

The figures are read back out of each platform's message as a reader sees it (Telegram's HTML
with the tags stripped and entities unescaped; Discord's embed flattened to title, description,
fields and footer) and compared with each other and with the event itself.
"""

from __future__ import annotations

import html
import re
from decimal import Decimal
from functools import cache

import pytest

from bot.adapters.market_data import load_chain
from bot.render.discord_embed import EmbedSpec, render_embed
from bot.render.telegram_html import render_signal_caption, render_telegram_html
from core.calendar import NEW_YORK
from core.condor import CondorProfile, select_condor
from core.rules import CondorRules
from core.types import CondorSignal, Event, Risk, Track
from tests.frontends.discord.events import DATA, replayed_events

NUMBER = re.compile(r"[-+]?\$?\d[\d,]*(?:\.\d+)?%?")
SHORTENED = "card shortened to fit Telegram"


@cache
def snapshot_cards() -> tuple[Event, ...]:
    """The nine track x risk cards on the shipped 2022-03-23 snapshot (condors and no-trades)."""
    chain = load_chain(DATA / "chains" / "spx_cboe_2022-03-23_intraday_1011ET.csv.gz")
    asof = chain.quote_time.astimezone(NEW_YORK)
    rules = CondorRules()
    return tuple(
        select_condor(chain, CondorProfile.of(rules, track, risk), asof)
        for track in Track
        for risk in Risk
    )


def all_events() -> list[Event]:
    return [*replayed_events(), *snapshot_cards()]


def condors() -> list[CondorSignal]:
    return [e for e in all_events() if isinstance(e, CondorSignal)]


def telegram_text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def discord_text(spec: EmbedSpec) -> str:
    fields = (f"{f.name}: {f.value}" for f in spec.fields)
    return "\n".join([spec.title, spec.description, *fields, spec.footer]).replace("**", "")


def number(text: str) -> Decimal:
    return Decimal(text.replace(",", "").replace("$", ""))


def one(pattern: str, text: str) -> tuple[str, ...]:
    found = re.findall(pattern, text, flags=re.IGNORECASE)
    assert len(found) >= 1, f"{pattern!r} not in:\n{text}"
    first = found[0]
    return first if isinstance(first, tuple) else (first,)


def figures(text: str) -> dict[str, object]:
    """The figures a reader acts on, read back from a rendered card."""
    strikes = one(r"(\d+)/(\d+) puts, (\d+)/(\d+) calls", text)
    low, high = one(r"Break-evens:? ([\d,.]+) (?:and|/) ([\d,.]+)", text)
    return {
        "strikes": tuple(Decimal(s) for s in strikes),
        "credit_mid": number(one(r"Credit:? ([\d,.]+) mid", text)[0]),
        "break_evens": (number(low), number(high)),
        "rule_version": one(r"Rules:? (condor-[\w.-]+)", text)[0],
        "data_time": one(r"Data[^\n]*?(\d{4}-\d\d-\d\d \d\d:\d\d) ET", text)[0],
    }


def full_figures(text: str) -> dict[str, object]:
    """The card's figures beyond the caption's: max loss, chance of profit, expected move."""
    moves = one(r"Expected move:? \+/-([\d,.]+) \(ATM straddle\), \+/-([\d,.]+)", text)
    return {
        **figures(text),
        "max_loss_usd": number(one(r"max loss (\$[\d,.]+)", text)[0]),
        "max_profit_usd": number(one(r"max profit (\$[\d,.]+)", text)[0]),
        "pop_percent": int(one(r"Chance of profit:? (\d+)%", text)[0]),
        "expected_move": tuple(number(m) for m in moves),
    }


def expected(signal: CondorSignal) -> dict[str, object]:
    return {
        "strikes": tuple(leg.strike for leg in signal.legs),
        "credit_mid": signal.credit_mid,
        "break_evens": (signal.break_even_low, signal.break_even_high),
        "rule_version": signal.rule_version,
        "data_time": f"{signal.data.quote_time.astimezone(NEW_YORK):%Y-%m-%d %H:%M}",
        "max_loss_usd": signal.max_loss_usd,
        "max_profit_usd": signal.max_profit_usd,
        "pop_percent": round(signal.pop * 100),
        "expected_move": (
            signal.expected_move_points.quantize(Decimal("0.01")),
            signal.expected_move_iv_points.quantize(Decimal("0.01")),
        ),
    }


def test_there_are_condors_to_compare():
    assert len(condors()) >= 4


@pytest.mark.parametrize("signal", condors(), ids=lambda s: s.signal_id)
def test_a_condor_shows_the_same_figures_on_telegram_and_discord(signal: CondorSignal):
    on_telegram = full_figures(telegram_text(render_telegram_html(signal)))
    on_discord = full_figures(discord_text(render_embed(signal)))
    assert on_telegram == on_discord
    want = expected(signal)
    assert {k: on_discord[k] for k in want} == want


@pytest.mark.parametrize("signal", condors(), ids=lambda s: s.signal_id)
def test_the_telegram_chart_caption_agrees_with_the_discord_embed(signal: CondorSignal):
    caption = figures(telegram_text(render_signal_caption(signal)))
    assert caption == figures(discord_text(render_embed(signal)))


@pytest.mark.parametrize("event", all_events(), ids=lambda e: type(e).__name__)
def test_every_number_on_the_telegram_card_is_on_the_discord_card(event: Event):
    telegram = telegram_text(render_telegram_html(event))
    discord = discord_text(render_embed(event))
    on_telegram = set(NUMBER.findall(telegram))
    on_discord = set(NUMBER.findall(discord))
    assert on_telegram <= on_discord, sorted(on_telegram - on_discord)
    if SHORTENED not in telegram:
        # Telegram's 4,096 characters may drop trailing notes of a long hedge alert; otherwise
        # the two cards carry exactly the same numbers.
        assert on_telegram == on_discord, sorted(on_discord - on_telegram)
