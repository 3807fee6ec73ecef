"""Trading sessions in New York time, from pandas-market-calendars (NYSE and Cboe index options).

A day has a session when both the NYSE (whose closing prints make the SPX close that PM-settled
SPXW options settle on) and Cboe's index-options market (where SPX, SPXW and VIX options trade)
are open. The session runs from the NYSE open to the NYSE close; SPX options trade on for 15
minutes after it (16:15, or 13:15 on a 13:00 half day). A half day on either calendar makes it an
early close: pandas-market-calendars 5.x lists the 13:00 NYSE closes of 24 December but not
Cboe's, and the earlier of the two closes wins.

Everything is computed locally from the library's rules (no network), one calendar year at a
time, and cached. Examples: 2025-01-09 has no session (national day of mourning for President
Carter); 2025-11-28 closes at 13:00.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import pandas_market_calendars as mcal

from core.calendar import NEW_YORK

#: The equity calendar: the session's open and close.
EQUITY_CALENDAR = "NYSE"
#: The index-options calendar: SPX/SPXW/VIX options must trade too.
INDEX_OPTIONS_CALENDAR = "CBOE_Index_Options"
#: SPX options trade this long past the equity close (16:15 against 16:00).
INDEX_OPTIONS_LAG = timedelta(minutes=15)


@dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    """One trading session.

    Attributes:
        day: The trading date.
        open: The open, aware, in New York time (09:30).
        close: The close, aware, in New York time (16:00, or 13:00 on a half day).
        early_close: Whether the session closes before its regular time.
    """

    day: date
    open: datetime
    close: datetime
    early_close: bool

    def __post_init__(self) -> None:
        for name in ("open", "close"):
            moment: datetime = getattr(self, name)
            if moment.tzinfo is None or moment.utcoffset() is None:
                raise ValueError(f"session {name} must be timezone-aware, was {moment!r}")
        if not self.open < self.close:
            raise ValueError(f"session must open before it closes, was {self.open} >= {self.close}")

    def contains(self, moment: datetime) -> bool:
        """Return whether `moment` (aware) falls in [open, close)."""
        return self.open <= moment < self.close


class SessionCalendar(Protocol):
    """Where the job rules look up a day's session (a `MarketCalendar`, or a fake in tests)."""

    def session(self, day: date) -> Session | None:
        """Return the session of `day`, or None if the market is closed."""
        ...


@contextmanager
def _library_warnings_silenced() -> Iterator[None]:
    # pandas-market-calendars 5.x still calls pandas APIs that pandas 3 deprecates (for example
    # Series.dt.weekday). Those warnings are the library's to fix, not ours, and pytest's
    # filterwarnings = error would turn them into failures; silence only them, only here.
    with warnings.catch_warnings():
        for category in (DeprecationWarning, FutureWarning):
            warnings.filterwarnings(
                "ignore", category=category, module=r"pandas_market_calendars(\.|$)"
            )
        yield


def _schedule(calendar: Any, year: int) -> tuple[dict[date, tuple[datetime, datetime]], set[date]]:
    with _library_warnings_silenced():
        frame = calendar.schedule(start_date=f"{year}-01-01", end_date=f"{year}-12-31")
        early = {stamp.date() for stamp in calendar.early_closes(frame).index}
        times = {
            stamp.date(): (
                opened.to_pydatetime().astimezone(NEW_YORK),
                closed.to_pydatetime().astimezone(NEW_YORK),
            )
            for stamp, opened, closed in zip(
                frame.index, frame["market_open"], frame["market_close"], strict=True
            )
        }
    return times, early


class MarketCalendar:
    """Trading sessions, holidays and early closes from pandas-market-calendars.

    Args:
        equity: The pandas-market-calendars name of the equity calendar.
        index_options: The name of the index-options calendar.
    """

    def __init__(
        self, equity: str = EQUITY_CALENDAR, index_options: str = INDEX_OPTIONS_CALENDAR
    ) -> None:
        with _library_warnings_silenced():
            self._equity = mcal.get_calendar(equity)
            self._options = mcal.get_calendar(index_options)
        self._years: dict[int, Mapping[date, Session]] = {}

    def _year(self, year: int) -> Mapping[date, Session]:
        cached = self._years.get(year)
        if cached is not None:
            return cached
        equity, equity_early = _schedule(self._equity, year)
        options, options_early = _schedule(self._options, year)
        sessions: dict[date, Session] = {}
        for day in sorted(equity.keys() & options.keys()):
            (equity_open, equity_close), (options_open, options_close) = equity[day], options[day]
            sessions[day] = Session(
                day=day,
                open=max(equity_open, options_open),
                close=min(equity_close, options_close - INDEX_OPTIONS_LAG),
                early_close=day in equity_early or day in options_early,
            )
        self._years[year] = sessions
        return sessions

    def session(self, day: date) -> Session | None:
        """Return the session of `day`, or None on a weekend or holiday."""
        return self._year(day.year).get(day)

    def is_trading_day(self, day: date) -> bool:
        """Return whether `day` has a session."""
        return self.session(day) is not None

    def is_open(self, moment: datetime) -> bool:
        """Return whether the session is open at `moment` (aware): open <= moment < close."""
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"moment must be timezone-aware, was {moment!r}")
        session = self.session(moment.astimezone(NEW_YORK).date())
        return session is not None and session.contains(moment)

    def sessions(self, start: date, end: date) -> tuple[Session, ...]:
        """Return the sessions of the days in [start, end], in order."""
        return tuple(
            session for day in _days(start, end) if (session := self.session(day)) is not None
        )

    def holidays(self, start: date, end: date) -> tuple[date, ...]:
        """Return the weekdays in [start, end] without a session (the exchange holidays).

        The result can be passed as `holidays` to the functions of `core.calendar`.
        """
        return tuple(
            day for day in _days(start, end) if day.weekday() < 5 and not self.is_trading_day(day)
        )

    def early_closes(self, start: date, end: date) -> tuple[date, ...]:
        """Return the days in [start, end] whose session closes early."""
        return tuple(session.day for session in self.sessions(start, end) if session.early_close)


def _days(start: date, end: date) -> Iterator[date]:
    if start > end:
        raise ValueError(f"start must not be after end, was {start} > {end}")
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)
