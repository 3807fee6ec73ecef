"""Golden text cards: all nine profiles on three real snapshots, compared byte for byte.

A deliberate change to the rules or the card layout is reviewed by regenerating the files with
`pytest tests/bot/test_golden_cards.py --update-golden` and reading the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.render.text import render_text
from core.condor import CondorProfile, select_condor
from core.rules import CondorRules
from core.types import Risk, Track
from tests.conftest import load_snapshot

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
SNAPSHOTS = [
    "spx_cboe_2022-03-23_intraday_1011ET.csv.gz",
    "spx_cboe_2022-06-10_close.csv.gz",
    "spx_cboe_2024-01-05_close.csv.gz",
]


def _cards(name: str) -> str:
    chain = load_snapshot(name)
    rules = CondorRules()
    cards = [
        render_text(select_condor(chain, CondorProfile.of(rules, track, risk), chain.quote_time))
        for track in Track
        for risk in Risk
    ]
    return "\n\n".join(cards) + "\n"


@pytest.mark.parametrize("name", SNAPSHOTS)
def test_cards_match_the_golden_file(name, update_golden):
    path = GOLDEN / f"{name.removesuffix('.csv.gz')}.txt"
    text = _cards(name)
    if update_golden:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path.name}: run with --update-golden and review it"
    assert text == path.read_text(encoding="utf-8")
