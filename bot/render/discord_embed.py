"""Discord embeds: events as plain embed specs, always within Discord's limits.

Pure functions of an event, like `bot.render.text`, and built from the same number formatting,
so a card shows the same figures on every platform. An `EmbedSpec` is a plain frozen dataclass;
`EmbedSpec.to_dict` gives the JSON object Discord's REST API takes in a message's `embeds`.

Discord refuses a message (400, "Invalid Form Body") whose embed breaks a limit, so every spec
is fitted here rather than trusted to be short: free text is truncated with an ellipsis, fields
past the 25th are folded into the last, and when the whole embed would pass 6,000 characters the
description and then the last fields are cut. The footer (rule version, data time and source,
"modelled" inputs and the disclaimer) is never dropped.

Reference: https://discord.com/developers/docs/resources/message#embed-object-embed-limits
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Final, assert_never

from bot.render.chart import PAYOFF_PREFIX, Payoff
from bot.render.text import (
    _TRACK_TITLE,
    DISCLAIMER,
    _action_line,
    _leg_line,
    _points,
    _strike,
    _target,
    _theta,
    _trigger_line,
    _usd,
)
from core.calendar import NEW_YORK
from core.types import (
    CondorSignal,
    DailyResult,
    DataStamp,
    Event,
    ExitAlert,
    HedgeAlert,
    NoHedge,
    NoTradeDay,
)

__all__ = [
    "COLOURS",
    "CONTENT_MAX",
    "DESCRIPTION_MAX",
    "FIELDS_MAX",
    "FIELD_NAME_MAX",
    "FIELD_VALUE_MAX",
    "FOOTER_MAX",
    "TITLE_MAX",
    "TOTAL_MAX",
    "EmbedField",
    "EmbedSpec",
    "discord_chart",
    "embed_problems",
    "escape_markdown",
    "message_payload",
    "render_embed",
    "render_message",
    "text_embed",
]

#: Discord's embed limits, in characters.
TITLE_MAX: Final = 256
DESCRIPTION_MAX: Final = 4096
FIELDS_MAX: Final = 25
FIELD_NAME_MAX: Final = 256
FIELD_VALUE_MAX: Final = 1024
FOOTER_MAX: Final = 2048
TOTAL_MAX: Final = 6000
#: A message's `content`.
CONTENT_MAX: Final = 2000

#: Embed colour (RGB) per event kind, so a channel reads at a glance.
COLOURS: Final[dict[str, int]] = {
    "condor": 0x2ECC71,  # green: a trade
    "no_trade": 0x95A5A6,  # grey: standing aside
    "hedge": 0xE67E22,  # orange: act on a tested side
    "no_hedge": 0xF1C40F,  # yellow: the engine could not decide
    "exit": 0xE74C3C,  # red: close
    "day_result": 0x3498DB,  # blue: the score
    "text": 0x607D8B,  # slate: a plain-text notice
}

_ELLIPSIS: Final = "…"
_MARKDOWN = re.compile(r"([\\*_~`|>])")
# Budgets inside the footer, so that the rule version and the disclaimer always fit.
_FOOTER_SOURCE_MAX: Final = 500
_FOOTER_MODELLED_MAX: Final = 800
_FOOTER_ID_MAX: Final = 300


@dataclass(frozen=True, slots=True, kw_only=True)
class EmbedField:
    """One embed field: a name over a value, side by side with its neighbours when inline."""

    name: str
    value: str
    inline: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class EmbedSpec:
    """An embed as plain data: what the front end and the publisher send.

    Attributes:
        kind: The event kind it renders ("condor", "hedge", ...; "text" for plain notices).
        title: At most 256 characters.
        description: At most 4096 characters (Discord markdown).
        colour: RGB colour of the side bar.
        fields: At most 25; names at most 256, values at most 1024 characters.
        footer: At most 2048 characters: rule version, data time and source, modelled inputs,
            disclaimer.
        timestamp: When the data was current (shown in the reader's own time zone).
    """

    kind: str
    title: str
    description: str
    colour: int
    fields: tuple[EmbedField, ...] = ()
    footer: str = ""
    timestamp: datetime | None = None

    @property
    def total_chars(self) -> int:
        """Characters Discord counts against the 6,000 limit (all but the colour and time)."""
        return (
            len(self.title)
            + len(self.description)
            + sum(len(f.name) + len(f.value) for f in self.fields)
            + len(self.footer)
        )

    def to_dict(self) -> dict[str, object]:
        """Return the embed object of Discord's REST API."""
        body: dict[str, object] = {
            "type": "rich",
            "title": self.title,
            "description": self.description,
            "color": self.colour,
        }
        if self.fields:
            body["fields"] = [
                {"name": f.name, "value": f.value, "inline": f.inline} for f in self.fields
            ]
        if self.footer:
            body["footer"] = {"text": self.footer}
        if self.timestamp is not None:
            body["timestamp"] = self.timestamp.isoformat()
        return body


def embed_problems(spec: EmbedSpec) -> list[str]:
    """Return every Discord limit `spec` breaks, as sentences (empty: Discord accepts it)."""
    problems = []
    checks = [
        ("title", len(spec.title), TITLE_MAX),
        ("description", len(spec.description), DESCRIPTION_MAX),
        ("fields", len(spec.fields), FIELDS_MAX),
        ("footer", len(spec.footer), FOOTER_MAX),
        ("total", spec.total_chars, TOTAL_MAX),
    ]
    for index, item in enumerate(spec.fields):
        checks.append((f"field {index} name", len(item.name), FIELD_NAME_MAX))
        checks.append((f"field {index} value", len(item.value), FIELD_VALUE_MAX))
    for what, size, limit in checks:
        if size > limit:
            problems.append(f"{what} must be at most {limit}, was {size}")
    for index, item in enumerate(spec.fields):
        if not item.name.strip() or not item.value.strip():
            problems.append(f"field {index} must have a non-blank name and value")
    if not 0 <= spec.colour <= 0xFFFFFF:
        problems.append(f"colour must be 0..0xFFFFFF, was {spec.colour}")
    return problems


def escape_markdown(text: str) -> str:
    """Escape Discord markdown in free text (sources, reasons, details) so it shows as typed."""
    return _MARKDOWN.sub(r"\\\1", text)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    # Never leave a lone escaping backslash in front of the ellipsis.
    if (len(cut) - len(cut.rstrip("\\"))) % 2:
        cut = cut[:-1]
    return cut + _ELLIPSIS


def _time_et(moment: datetime) -> str:
    return f"{moment.astimezone(NEW_YORK):%Y-%m-%d %H:%M} ET"


def _footer(data: DataStamp, rule_version: str, event_id: str) -> str:
    lines = [
        # The time goes first: a long source is cut, the time never is.
        _cut(f"Data quoted {_time_et(data.quote_time)}: {data.source}", _FOOTER_SOURCE_MAX),
    ]
    if data.modelled:
        lines.append(_cut("Modelled: " + "; ".join(data.modelled), _FOOTER_MODELLED_MAX))
    lines.append(_cut(f"Rules {rule_version} | id {event_id}", _FOOTER_ID_MAX))
    lines.append(DISCLAIMER)
    return "\n".join(lines)


def _field(name: str, value: str, *, inline: bool = False) -> EmbedField:
    return EmbedField(
        name=_cut(name, FIELD_NAME_MAX) or "-",
        value=_cut(value, FIELD_VALUE_MAX) if value.strip() else "-",
        inline=inline,
    )


def _lines_field(name: str, lines: list[str]) -> list[EmbedField]:
    """Spread lines over as many fields as their length needs (each value at most 1024)."""
    fields: list[EmbedField] = []
    chunk: list[str] = []
    size = 0
    for line in lines:
        line = _cut(line, FIELD_VALUE_MAX)
        if chunk and size + 1 + len(line) > FIELD_VALUE_MAX:
            fields.append(_field(name if not fields else f"{name} (cont.)", "\n".join(chunk)))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    if chunk or not fields:
        fields.append(_field(name if not fields else f"{name} (cont.)", "\n".join(chunk)))
    return fields


def _fit(spec: EmbedSpec) -> EmbedSpec:
    title = _cut(spec.title, TITLE_MAX)
    description = _cut(spec.description, DESCRIPTION_MAX)
    footer = _cut(spec.footer, FOOTER_MAX)
    fields = list(spec.fields)
    if len(fields) > FIELDS_MAX:
        rest = fields[FIELDS_MAX - 1 :]
        folded = "\n".join(f"{f.name}: {f.value}" for f in rest)
        fields = [*fields[: FIELDS_MAX - 1], _field("More", folded)]
    fitted = replace(spec, title=title, description=description, fields=tuple(fields))
    fitted = replace(fitted, footer=footer)
    dropped = 0
    while fitted.total_chars > TOTAL_MAX:
        excess = fitted.total_chars - TOTAL_MAX
        room = len(fitted.description) - 200
        if room > 0:
            # Shorten the description first, down to a readable head.
            keep = max(len(fitted.description) - excess - 1, 200)
            fitted = replace(fitted, description=_cut(fitted.description, keep))
        elif fitted.fields:
            dropped += 1
            fitted = replace(fitted, fields=fitted.fields[:-1])
        else:
            fitted = replace(fitted, description=_cut(fitted.description, 50))
            break
    if dropped:
        note = _field("Cut", f"{dropped} more field(s) did not fit; the full card is in the ledger")
        if fitted.total_chars + len(note.name) + len(note.value) <= TOTAL_MAX:
            fitted = replace(fitted, fields=(*fitted.fields[: FIELDS_MAX - 1], note))
    return fitted


def _code(lines: list[str]) -> str:
    body = "\n".join(line.replace("```", "'''") for line in lines)
    return f"```\n{body}\n```"


def render_embed(event: Event) -> EmbedSpec:
    """Render any event as an embed spec within Discord's limits."""
    match event:
        case CondorSignal():
            spec = _signal(event)
        case NoTradeDay():
            spec = _no_trade(event)
        case HedgeAlert():
            spec = _hedge(event)
        case NoHedge():
            spec = _no_hedge(event)
        case ExitAlert():
            spec = _exit(event)
        case DailyResult():
            spec = _result(event)
        case _:
            assert_never(event)
    return _fit(spec)


def _signal(signal: CondorSignal) -> EmbedSpec:
    lp, sp, sc, lc = signal.legs
    plan = signal.management
    settles = signal.settles_at.astimezone(NEW_YORK)
    description = (
        f"**{signal.root} {signal.expiry:%a %Y-%m-%d}** ({signal.settlement}-settled "
        f"{settles:%H:%M} ET, {signal.dte_days} days): {_strike(lp.strike)}/{_strike(sp.strike)} "
        f"puts, {_strike(sc.strike)}/{_strike(lc.strike)} calls\n"
        + _code([_leg_line(leg).strip() for leg in signal.legs])
    )
    fields = [
        _field(
            "Credit",
            f"{_points(signal.credit_mid)} mid, {_points(signal.credit_natural)} natural; "
            f"limit {_points(signal.limit_price)}",
            inline=True,
        ),
        _field(
            "Wings",
            f"{_strike(signal.put_width_points)} / {_strike(signal.call_width_points)} points; "
            f"credit/width {signal.credit_to_width:.1%}",
            inline=True,
        ),
        _field(
            "Per contract",
            f"max profit {_usd(signal.max_profit_usd)}, max loss {_usd(signal.max_loss_usd)}",
            inline=True,
        ),
        _field(
            "Break-evens",
            f"{_points(signal.break_even_low)} and {_points(signal.break_even_high)}",
            inline=True,
        ),
        _field(
            "Chance of profit",
            f"{signal.pop:.0%} (risk-neutral, from this chain's smile)",
            inline=True,
        ),
        _field(
            "Expected move",
            f"+/-{_points(signal.expected_move_points)} (ATM straddle), "
            f"+/-{_points(signal.expected_move_iv_points)} (IV x sqrt t)",
            inline=True,
        ),
        _field(
            "Spot / forward",
            f"{_points(signal.spot)} / {_points(signal.forward)}",
            inline=True,
        ),
        _field(
            "Manage",
            f"{_target(plan)}; stop at {_points(plan.stop_debit)} debit "
            f"(loss {plan.stop_loss_multiple:f}x credit); {escape_markdown(plan.time_exit)}",
        ),
    ]
    return EmbedSpec(
        kind="condor",
        title=f"SPX iron condor | {_TRACK_TITLE[signal.track]} | {signal.risk}",
        description=description,
        colour=COLOURS["condor"],
        fields=tuple(fields),
        footer=_footer(signal.data, signal.rule_version, signal.signal_id),
        timestamp=signal.data.quote_time,
    )


def _no_trade(day: NoTradeDay) -> EmbedSpec:
    reasons = "\n".join(
        f"- {escape_markdown(reason.detail)} `[{reason.code}]`" for reason in day.reasons
    )
    return EmbedSpec(
        kind="no_trade",
        title=f"SPX iron condor | {_TRACK_TITLE[day.track]} | {day.risk}: no trade today",
        description=f"**Because:**\n{reasons}",
        colour=COLOURS["no_trade"],
        footer=_footer(day.data, day.rule_version, day.signal_id),
        timestamp=day.data.quote_time,
    )


def _hedge(alert: HedgeAlert) -> EmbedSpec:
    pos = alert.position
    recommended = alert.recommended
    description = (
        f"{escape_markdown(alert.rationale)}.\n\n"
        f"**Recommended:** {escape_markdown(recommended.description)}: pay "
        f"{_usd(recommended.cost_usd)}, expected cost {_usd(recommended.expected_cost_usd)}"
    )
    fields = [
        _field(
            "Position",
            f"worth {pos.value_points:.2f} to close, P&L {_usd(Decimal(round(pos.pnl_usd)))}; "
            f"delta ${pos.delta_usd_per_point:+,.0f}/pt, "
            f"gamma ${pos.gamma_usd_per_point:+,.1f}/pt, "
            f"theta {_theta(pos.theta_usd_per_day, pos.t_years)}; expected move left "
            f"+/-{pos.expected_move_points:.1f}",
        ),
        *_lines_field(
            "Triggers",
            [
                "- " + escape_markdown(_trigger_line(r).strip().removeprefix("- "))
                for r in alert.triggers
            ],
        ),
        *_lines_field(
            "Choices, cheapest expected cost recommended",
            [
                "- " + escape_markdown(_action_line(a).strip().removeprefix("* "))
                for a in alert.actions
            ],
        ),
    ]
    notes = dict.fromkeys(note for action in alert.actions for note in action.notes)
    if notes:
        fields += _lines_field("Notes", [f"- {escape_markdown(note)}" for note in notes])
    return EmbedSpec(
        kind="hedge",
        title=f"Hedge alert | {alert.side_tested} side tested | {_time_et(alert.asof)}",
        description=description,
        colour=COLOURS["hedge"],
        fields=tuple(fields),
        footer=_footer(alert.data, alert.rule_version, alert.alert_id),
        timestamp=alert.data.quote_time,
    )


def _no_hedge(event: NoHedge) -> EmbedSpec:
    reasons = "\n".join(f"- {escape_markdown(reason)}" for reason in event.reasons)
    return EmbedSpec(
        kind="no_hedge",
        title=f"No hedge decision | {_time_et(event.asof)}",
        description=f"**Because:**\n{reasons}",
        colour=COLOURS["no_hedge"],
        footer=_footer(event.data, event.rule_version, event.alert_id),
        timestamp=event.data.quote_time,
    )


def _exit(event: ExitAlert) -> EmbedSpec:
    return EmbedSpec(
        kind="exit",
        title=f"Exit | {event.rule} | {_time_et(event.asof)}",
        description=f"{escape_markdown(event.detail)}.",
        colour=COLOURS["exit"],
        fields=(
            _field("Close at about", f"{_points(event.debit_to_close)} debit", inline=True),
            _field("P&L", _usd(event.pnl_usd), inline=True),
        ),
        footer=_footer(event.data, event.rule_version, event.alert_id),
        timestamp=event.data.quote_time,
    )


def _result(event: DailyResult) -> EmbedSpec:
    return EmbedSpec(
        kind="day_result",
        title=f"Day result | {_time_et(event.asof)}",
        description=escape_markdown(event.detail),
        colour=COLOURS["day_result"],
        fields=(
            _field("Held to settlement", _usd(event.pnl_usd_unhedged), inline=True),
            _field("Managed by the rules", _usd(event.pnl_usd_managed), inline=True),
            _field("Hedges", _usd(event.hedge_pnl_usd), inline=True),
            _field("Managed + hedged", _usd(event.pnl_usd_hedged), inline=True),
        ),
        footer=_footer(event.data, event.rule_version, event.result_id),
        timestamp=event.data.quote_time,
    )


def text_embed(text: str, *, title: str | None = None) -> EmbedSpec:
    """Wrap a plain-text card or notice in an embed (first line the title), within the limits.

    The plain-text card is monospace-aligned, so its body goes in a code block.
    """
    head, _, body = text.partition("\n")
    if title is None:
        title, body = head, body
    else:
        body = text
    lines = body.splitlines() or ["-"]
    # Leave room for the fence and the ellipsis line when the card is cut.
    kept: list[str] = []
    size = 0
    for line in lines:
        line = line.replace("```", "'''")
        if size + len(line) + 1 > DESCRIPTION_MAX - 20:
            kept.append(_ELLIPSIS)
            break
        kept.append(line)
        size += len(line) + 1
    return _fit(
        EmbedSpec(
            kind="text",
            title=title or "condorbot",
            description=_code(kept),
            colour=COLOURS["text"],
        )
    )


def message_payload(spec: EmbedSpec, *, content: str | None = None) -> str:
    """Return a create-message body carrying `spec`, as JSON text (what an outbox entry holds)."""
    body: dict[str, object] = {"embeds": [spec.to_dict()]}
    if content:
        body["content"] = _cut(content, CONTENT_MAX)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def render_message(event: Event) -> str:
    """Render an event as a Discord create-message body (JSON text, one embed)."""
    return message_payload(render_embed(event))


def discord_chart(event: Event) -> tuple[str, str] | None:
    """Return a signal's payoff-chart attachment and its one-line caption; None otherwise.

    The notifier queues it as its own delivery (key suffix ``:chart``) just before the card;
    `DiscordPublisher.send_attachment` draws the PNG and uploads it with the caption as the
    message content. The figures stay on the card that follows.
    """
    if not isinstance(event, CondorSignal):
        return None
    lp, sp, sc, lc = event.legs
    caption = (
        f"Payoff at expiry: {event.root} {event.expiry:%Y-%m-%d} {_strike(lp.strike)}/"
        f"{_strike(sp.strike)} puts, {_strike(sc.strike)}/{_strike(lc.strike)} calls, "
        f"{event.track} {event.risk} (the card follows)"
    )
    return PAYOFF_PREFIX + Payoff.of(event).to_json(), _cut(caption, CONTENT_MAX)
