"""Embeds within Discord's limits for every event, however long its free text runs."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.render.discord_embed import (
    COLOURS,
    DESCRIPTION_MAX,
    FIELD_VALUE_MAX,
    TOTAL_MAX,
    EmbedField,
    EmbedSpec,
    embed_problems,
    escape_markdown,
    message_payload,
    render_embed,
    text_embed,
)
from bot.render.json_card import event_to_json
from bot.render.text import DISCLAIMER, render_text
from core.calendar import NEW_YORK
from core.types import (
    CondorSignal,
    DailyResult,
    Event,
    ExitAlert,
    HedgeAlert,
    NoHedge,
    NoTradeDay,
    NoTradeReason,
)
from tests.frontends.discord.events import replayed_events

# Free text as hostile as it gets: markdown, code fences, mentions, astral characters.
TEXT = (
    st.lists(
        st.sampled_from([*"ab *_~`|>\\#@-[]()\n", "```", "@everyone", "é", "😀", "word "]),
        min_size=1,
        max_size=400,
    )
    .map("".join)
    .filter(lambda s: s.strip() != "")
)
LONG_TEXT = st.builds(lambda s, n: s * n, TEXT, st.integers(1, 8))


@st.composite
def events(draw: st.DrawFn) -> Event:
    base = draw(st.sampled_from(replayed_events()))
    data = replace(
        base.data,
        source=draw(LONG_TEXT),
        modelled=tuple(draw(st.lists(TEXT, max_size=6))),
    )
    match base:
        case CondorSignal():
            plan = replace(base.management, time_exit=draw(LONG_TEXT))
            return replace(base, data=data, management=plan)
        case NoTradeDay():
            reasons = draw(st.lists(TEXT, min_size=1, max_size=30))
            codes = [r.code for r in base.reasons]
            return replace(
                base,
                data=data,
                reasons=tuple(
                    NoTradeReason(code=codes[i % len(codes)], detail=d)
                    for i, d in enumerate(reasons)
                ),
            )
        case HedgeAlert():
            n_actions = draw(st.integers(1, 40))
            pick = draw(st.integers(0, n_actions - 1))
            actions = tuple(
                replace(
                    base.actions[i % len(base.actions)],
                    description=draw(TEXT),
                    notes=tuple(draw(st.lists(TEXT, max_size=3))),
                    recommended=i == pick,
                )
                for i in range(n_actions)
            )
            triggers = tuple(
                replace(base.triggers[i % len(base.triggers)], name=draw(TEXT), note=draw(TEXT))
                for i in range(draw(st.integers(0, 30)))
            )
            return replace(
                base,
                data=data,
                rationale=draw(LONG_TEXT),
                actions=actions,
                triggers=triggers,
            )
        case NoHedge():
            return replace(base, data=data, reasons=tuple(draw(st.lists(TEXT, min_size=1))))
        case ExitAlert() | DailyResult():
            return replace(base, data=data, detail=draw(LONG_TEXT))
    raise AssertionError(base)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events())
def test_every_event_renders_within_discords_limits_with_its_footer(event: Event):
    spec = render_embed(event)
    assert embed_problems(spec) == []
    assert spec.total_chars <= TOTAL_MAX
    assert spec.footer.endswith(DISCLAIMER)
    assert f"Rules {event.rule_version}" in spec.footer
    quoted = f"{event.data.quote_time.astimezone(NEW_YORK):%Y-%m-%d %H:%M} ET"
    assert quoted in spec.footer
    assert ("Modelled: " in spec.footer) == bool(event.data.modelled)
    assert spec.timestamp == event.data.quote_time
    assert spec.colour == COLOURS[str(event_to_json(event)["kind"])]


@pytest.mark.parametrize("event", replayed_events(), ids=lambda e: type(e).__name__)
def test_real_events_render_whole_with_their_figures(event: Event):
    spec = render_embed(event)
    assert embed_problems(spec) == []
    assert "…" not in spec.title + spec.description + "".join(f.value for f in spec.fields)
    assert event.data.source in spec.footer


def test_condor_embed_shows_the_same_figures_as_the_text_card():
    signal = next(e for e in replayed_events() if isinstance(e, CondorSignal))
    spec = render_embed(signal)
    body = spec.description + "\n".join(f"{f.name} {f.value}" for f in spec.fields)
    text = render_text(signal)
    for figure in ("1.625", "1.35", "1.60", "$162.50", "$837.50", "3,943.375", "4,041.625"):
        assert figure in text
        assert figure in body
    for leg in signal.legs:
        assert f"{leg.strike:f}" in spec.description
    assert spec.description.count("```") == 2  # the legs sit in one monospace block


def test_modelled_chain_is_named_on_the_card():
    signal = next(e for e in replayed_events() if isinstance(e, CondorSignal))
    assert signal.data.modelled
    assert "Modelled: modelled chain" in render_embed(signal).footer


def test_day_result_fields_carry_the_pnl():
    result = next(e for e in replayed_events() if isinstance(e, DailyResult))
    spec = render_embed(replace(result, pnl_usd_hedged=Decimal("-1234.5")))
    assert EmbedField(name="Managed + hedged", value="-$1,234.50", inline=True) in spec.fields


def test_embed_problems_names_each_broken_limit():
    spec = EmbedSpec(
        kind="text",
        title="t" * 257,
        description="d" * (DESCRIPTION_MAX + 1),
        colour=0x1000000,
        fields=(EmbedField(name="n", value="v" * (FIELD_VALUE_MAX + 1)),) * 26,
    )
    problems = embed_problems(spec)
    assert "title must be at most 256, was 257" in problems
    assert "description must be at most 4096, was 4097" in problems
    assert "fields must be at most 25, was 26" in problems
    assert any(p.startswith("total must be at most 6000") for p in problems)
    assert "field 0 value must be at most 1024, was 1025" in problems
    assert "colour must be 0..0xFFFFFF, was 16777216" in problems


def test_escape_markdown_keeps_text_literal():
    assert escape_markdown("a*b_c`d|e>f~g\\h") == "a\\*b\\_c\\`d\\|e\\>f\\~g\\\\h"


@given(LONG_TEXT)
def test_text_embed_fits_any_notice(text: str):
    spec = text_embed(text)
    assert embed_problems(spec) == []
    assert spec.description.startswith("```\n")
    assert spec.description.endswith("\n```")


def test_message_payload_is_a_create_message_body():
    spec = text_embed("[admin] hello\nworld")
    body = message_payload(spec, content="x" * 3000)
    assert '"embeds":[{"type":"rich","title":"[admin] hello"' in body
    assert len(body) < 3000 + 500
