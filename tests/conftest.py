"""Shared fixtures: the shipped chain snapshots, each loaded once per session."""

from __future__ import annotations

import dataclasses
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from bot.adapters.market_data import load_chain
from core.chain import ExpirySlice, OptionChain

ROOT = Path(__file__).resolve().parent.parent
CHAINS = ROOT / "data" / "chains"
TEST_DATA = Path(__file__).resolve().parent / "data"

#: Every shipped Cboe SPX snapshot (the Yahoo file holds many days and is tested on its own).
SPX_SNAPSHOTS = sorted(p.name for p in CHAINS.glob("spx_cboe_*.csv*"))


@cache
def load_snapshot(name: str) -> OptionChain:
    """Load a shipped snapshot once per test session."""
    return load_chain(CHAINS / name)


def assert_same_chain(got: OptionChain, expected: OptionChain) -> None:
    """Every field of two chains is equal, arrays to the bit (NaN where the other has NaN)."""
    for field in dataclasses.fields(OptionChain):
        a, b = getattr(got, field.name), getattr(expected, field.name)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype, field.name
            np.testing.assert_array_equal(a, b, err_msg=field.name, strict=True)
        elif field.name == "_slices":
            assert a.keys() == b.keys()
            for key in a:
                for part in dataclasses.fields(ExpirySlice):
                    x, y = getattr(a[key], part.name), getattr(b[key], part.name)
                    if isinstance(x, np.ndarray):
                        np.testing.assert_array_equal(x, y, err_msg=f"{key} {part.name}")
                    else:
                        assert x == y, (key, part.name)
        else:
            assert a == b, field.name


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
