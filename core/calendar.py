"""Trading days, session times and SPX/SPXW settlement times, in New York time.

Holidays and early closes are data passed in (defaults below: the NYSE schedule as published by
NYSE for 2019-2027, and Cboe follows it for SPX options). Nothing here reads the clock.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.types import Settlement

NEW_YORK = ZoneInfo("America/New_York")

SESSION_OPEN = time(9, 30)
SESSION_CLOSE = time(16, 0)
EARLY_CLOSE = time(13, 0)


#: NYSE full-day closures, from NYSE's published holiday calendars.
def _days(text: str) -> frozenset[date]:
    return frozenset(date.fromisoformat(day) for day in text.split())


NYSE_HOLIDAYS: frozenset[date] = _days(
    # 2019
    "2019-01-01 2019-01-21 2019-02-18 2019-04-19 2019-05-27 2019-07-04 2019-09-02 "
    "2019-11-28 2019-12-25 "
    # 2020
    "2020-01-01 2020-01-20 2020-02-17 2020-04-10 2020-05-25 2020-07-03 2020-09-07 "
    "2020-11-26 2020-12-25 "
    # 2021
    "2021-01-01 2021-01-18 2021-02-15 2021-04-02 2021-05-31 2021-07-05 2021-09-06 "
    "2021-11-25 2021-12-24 "
    # 2022
    "2022-01-17 2022-02-21 2022-04-15 2022-05-30 2022-06-20 2022-07-04 2022-09-05 "
    "2022-11-24 2022-12-26 "
    # 2023
    "2023-01-02 2023-01-16 2023-02-20 2023-04-07 2023-05-29 2023-06-19 2023-07-04 "
    "2023-09-04 2023-11-23 2023-12-25 "
    # 2024
    "2024-01-01 2024-01-15 2024-02-19 2024-03-29 2024-05-27 2024-06-19 2024-07-04 "
    "2024-09-02 2024-11-28 2024-12-25 "
    # 2025 (2025-01-09: national day of mourning for President Carter)
    "2025-01-01 2025-01-09 2025-01-20 2025-02-17 2025-04-18 2025-05-26 2025-06-19 "
    "2025-07-04 2025-09-01 2025-11-27 2025-12-25 "
    # 2026
    "2026-01-01 2026-01-19 2026-02-16 2026-04-03 2026-05-25 2026-06-19 2026-07-03 "
    "2026-09-07 2026-11-26 2026-12-25 "
    # 2027
    "2027-01-01 2027-01-18 2027-02-15 2027-03-26 2027-05-31 2027-06-18 2027-07-05 "
    "2027-09-06 2027-11-25 2027-12-24"
)

#: NYSE 13:00 closes (SPXW PM settlement moves with them).
NYSE_EARLY_CLOSES: frozenset[date] = _days(
    "2019-07-03 2019-11-29 2019-12-24 2020-11-27 2020-12-24 2021-11-26 2022-11-25 2023-07-03 "
    "2023-11-24 2024-07-03 2024-11-29 2024-12-24 2025-07-03 2025-11-28 2025-12-24 2026-11-27 "
    "2026-12-24 2027-11-26"
)

#: Roots that settle AM on the opening print; every other SPX-family root settles PM.
AM_SETTLED_ROOTS = frozenset({"SPX"})


def is_trading_day(day: date, holidays: Collection[date] = NYSE_HOLIDAYS) -> bool:
    """Return whether the exchange is open on `day` (a weekday that is not a holiday)."""
    return day.weekday() < 5 and day not in holidays


def next_trading_day(day: date, holidays: Collection[date] = NYSE_HOLIDAYS) -> date:
    """Return the first trading day strictly after `day`."""
    candidate = day + timedelta(days=1)
    while not is_trading_day(candidate, holidays):
        candidate += timedelta(days=1)
    return candidate


def previous_trading_day(day: date, holidays: Collection[date] = NYSE_HOLIDAYS) -> date:
    """Return the last trading day strictly before `day`."""
    candidate = day - timedelta(days=1)
    while not is_trading_day(candidate, holidays):
        candidate -= timedelta(days=1)
    return candidate


def trading_days_between(start: date, end: date, holidays: Collection[date] = NYSE_HOLIDAYS) -> int:
    """Count trading days in the half-open interval (start, end]."""
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        count += is_trading_day(day, holidays)
    return count


def session_open(day: date) -> datetime:
    """Return the 09:30 New York open of `day` as an aware datetime."""
    return datetime.combine(day, SESSION_OPEN, tzinfo=NEW_YORK)


def session_close(day: date, early_closes: Collection[date] = NYSE_EARLY_CLOSES) -> datetime:
    """Return the New York close of `day` (16:00, or 13:00 on an early-close day)."""
    return datetime.combine(
        day, EARLY_CLOSE if day in early_closes else SESSION_CLOSE, tzinfo=NEW_YORK
    )


def last_close_at_or_before(
    moment: datetime,
    holidays: Collection[date] = NYSE_HOLIDAYS,
    early_closes: Collection[date] = NYSE_EARLY_CLOSES,
) -> datetime:
    """Return the most recent session close at or before `moment` (which must be aware).

    A snapshot captured on a Saturday morning holds Friday's closing quotes: this is the time they
    were true.
    """
    if moment.tzinfo is None:
        raise ValueError(f"moment must be timezone-aware, was {moment!r}")
    local = moment.astimezone(NEW_YORK)
    day = local.date()
    if is_trading_day(day, holidays) and session_close(day, early_closes) <= local:
        return session_close(day, early_closes)
    return session_close(previous_trading_day(day, holidays), early_closes)


def is_session_open(
    moment: datetime,
    holidays: Collection[date] = NYSE_HOLIDAYS,
    early_closes: Collection[date] = NYSE_EARLY_CLOSES,
) -> bool:
    """Return whether the regular session is open at `moment` (aware)."""
    local = moment.astimezone(NEW_YORK)
    day = local.date()
    return is_trading_day(day, holidays) and session_open(day) <= local < session_close(
        day, early_closes
    )


def settlement_of(
    root: str, expiry: date, early_closes: Collection[date] = NYSE_EARLY_CLOSES
) -> tuple[Settlement, datetime]:
    """Return how and when an SPX-family expiry settles.

    SPX monthlies are AM-settled on the Special Opening Quotation, so their last moment of value
    is the 09:30 open of the expiry date. SPXW (and XSP, and other PM roots) settle on the close.

    Args:
        root: The OCC root, e.g. "SPX" or "SPXW".
        expiry: The expiration date printed in the symbol.
        early_closes: Days the session ends at 13:00.

    Returns:
        The settlement style and the aware New York datetime at which the option's time value ends.
    """
    if root.upper() in AM_SETTLED_ROOTS:
        return Settlement.AM, session_open(expiry)
    return Settlement.PM, session_close(expiry, early_closes)
