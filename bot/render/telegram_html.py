"""Telegram cards: events as HTML (parse mode "HTML"), escaped and within the Bot API's limits.

The cards say what the plain-text cards say (`bot.render.text`), laid out for Telegram: the
title in bold, legs in monospace, the footer (data time and source, "modelled" inputs, rule
version, disclaimer) in italics. Every piece of text is escaped with `html.escape`, so a detail
string holding ``<`` or ``&`` cannot break the markup.

Limits (https://core.telegram.org/bots/api#sendmessage): a message holds at most 4096
characters and a caption 1024, counted in UTF-16 code units of the text *after* entity parsing.
We count the raw HTML instead, which is never shorter, so a card within our count is within
Telegram's. A card that would be longer is shortened deliberately: body lines are dropped from
the end (the footer is always kept) and a "shortened" line says so; no line is ever cut inside
a tag or an entity.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from decimal import Decimal
from typing import Final

from bot.render.chart import PAYOFF_PREFIX, Payoff
from bot.render.text import DISCLAIMER, render_text
from core.calendar import NEW_YORK
from core.types import CondorSignal, Event

#: Longest message text the Bot API accepts (UTF-16 code units).
MESSAGE_LIMIT: Final = 4096
#: Longest photo caption the Bot API accepts (UTF-16 code units).
CAPTION_LIMIT: Final = 1024
#: Longest single line kept (before escaping); longer lines end in an ellipsis.
LINE_LIMIT: Final = 600

_SHORTENED: Final = "<i>… card shortened to fit Telegram; the full card is in the ledger.</i>"
_FOOTER_PREFIXES: Final = ("Data:", "Modelled input:", "Rules ", DISCLAIMER)


def telegram_length(text: str) -> int:
    """Return the length of `text` as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _clip(line: str, limit: int = LINE_LIMIT) -> str:
    # A lone surrogate cannot travel as UTF-8 JSON: replace it rather than fail the send.
    line = line.encode("utf-8", "replace").decode("utf-8")
    if len(line) <= limit:
        return line
    return line[: limit - 1] + "…"


def _styled(line: str, index: int) -> str:
    escaped = html.escape(_clip(line), quote=False)
    if index == 0:
        return f"<b>{escaped}</b>"
    if line.startswith(_FOOTER_PREFIXES):
        return f"<i>{escaped}</i>"
    if line.startswith(("  BUY", "  SELL")):
        return f"<code>{escaped.strip()}</code>"
    return escaped


def fit_lines(head: Sequence[str], body: Sequence[str], foot: Sequence[str], limit: int) -> str:
    """Join HTML lines, dropping body lines from the end until the card fits in `limit`.

    Each line must be balanced HTML on its own; the head and foot are always kept (clipped
    line by line if even they do not fit).

    Args:
        head: The title lines.
        body: The lines that may be dropped.
        foot: The footer lines.
        limit: Most UTF-16 code units allowed (4096 for a message, 1024 for a caption).

    Returns:
        The card, within `limit`.
    """
    kept = list(body)
    card = "\n".join([*head, *kept, *foot])
    if telegram_length(card) <= limit:
        return card
    while kept:
        kept.pop()
        card = "\n".join([*head, *kept, _SHORTENED, *foot])
        if telegram_length(card) <= limit:
            return card
    # Even head and foot are too long (a huge source or detail string): keep what fits whole.
    lines: list[str] = []
    for line in [*head, _SHORTENED, *foot]:
        if telegram_length("\n".join([*lines, line])) <= limit:
            lines.append(line)
    return "\n".join(lines)


def _split(event: Event) -> tuple[list[str], list[str], list[str]]:
    lines = render_text(event).split("\n")
    styled = [_styled(line, i) for i, line in enumerate(lines)]
    first_foot = next(
        (i for i, line in enumerate(lines) if i > 0 and line.startswith("Data:")), len(lines)
    )
    return styled[:1], styled[1:first_foot], styled[first_foot:]


def render_telegram_html(event: Event) -> str:
    """Render any event as a Telegram HTML message, escaped and at most 4096 characters."""
    head, body, foot = _split(event)
    return fit_lines(head, body, foot, MESSAGE_LIMIT)


def _points(value: Decimal) -> str:
    return f"{value:,f}"


def render_signal_caption(signal: CondorSignal) -> str:
    """Render the short caption sent under a signal's payoff chart (at most 1024 characters).

    The caption holds what a reader acts on (the four strikes, credit, limit, break-evens, the
    stop) and the footer; the full card follows as its own message.
    """
    lp, sp, sc, lc = signal.legs
    quoted = signal.data.quote_time.astimezone(NEW_YORK)
    e = html.escape
    head = [f"<b>{e(_clip(render_text(signal).split(chr(10), 1)[0]))}</b>"]
    body = [
        e(
            f"{signal.root} {signal.expiry:%Y-%m-%d}: {lp.strike:f}/{sp.strike:f} puts, "
            f"{sc.strike:f}/{lc.strike:f} calls",
            quote=False,
        ),
        e(
            f"Credit {_points(signal.credit_mid)} mid; limit {_points(signal.limit_price)}; "
            f"break-evens {_points(signal.break_even_low)} / {_points(signal.break_even_high)}",
            quote=False,
        ),
        e(f"Stop at {_points(signal.management.stop_debit)} debit", quote=False),
    ]
    modelled = " (modelled inputs)" if signal.data.modelled else ""
    foot = [
        f"<i>{e(_clip(f'Data: {signal.data.source}, {quoted:%Y-%m-%d %H:%M} ET{modelled}', 300))}"
        f" | rules {e(_clip(signal.rule_version, 60))}</i>",
        f"<i>{e(DISCLAIMER)}</i>",
    ]
    return fit_lines(head, body, foot, CAPTION_LIMIT)


def telegram_chart(event: Event) -> tuple[str, str] | None:
    """Return a signal's payoff-chart attachment and its caption; None for other events.

    The notifier queues it as a photo delivery just before the full card (photo, then text).
    """
    if not isinstance(event, CondorSignal):
        return None
    return PAYOFF_PREFIX + Payoff.of(event).to_json(), render_signal_caption(event)


def render_notice_html(text: str) -> str:
    """Render an operational notice (admin channel, broadcast) as escaped HTML within limits."""
    lines = [html.escape(_clip(line), quote=False) for line in text.split("\n")]
    return fit_lines(lines[:1], lines[1:], [], MESSAGE_LIMIT)
