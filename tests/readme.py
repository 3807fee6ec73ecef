"""The README as tests read it: its words, and its way of writing dollars."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_words() -> str:
    """The README with every run of whitespace one space, so a sentence matches across lines."""
    return " ".join(README.read_text(encoding="utf-8").split())


def dollars(value: float) -> str:
    """As the README's prose writes dollars: a minus sign (U+2212) before "$4,634", "$23,482"."""
    return f"\u2212${-value:,.0f}" if value < 0 else f"${value:,.0f}"
