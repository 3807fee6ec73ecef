"""Shared fixtures: the shipped chain snapshots, each loaded once per session."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from bot.adapters.market_data import load_chain
from core.chain import OptionChain

ROOT = Path(__file__).resolve().parent.parent
CHAINS = ROOT / "data" / "chains"
TEST_DATA = Path(__file__).resolve().parent / "data"

#: Every shipped Cboe SPX snapshot (the Yahoo file holds many days and is tested on its own).
SPX_SNAPSHOTS = sorted(p.name for p in CHAINS.glob("spx_cboe_*.csv*"))


@cache
def load_snapshot(name: str) -> OptionChain:
    """Load a shipped snapshot once per test session."""
    return load_chain(CHAINS / name)


@pytest.fixture(scope="session")
def chains_dir() -> Path:
    return CHAINS


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/* from the current output instead of comparing",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
