"""Shared fixtures: one market calendar per test session (its years are cached inside)."""

from __future__ import annotations

import pytest

from bot.scheduling.market_calendar import MarketCalendar


@pytest.fixture(scope="session")
def calendar() -> MarketCalendar:
    return MarketCalendar()
