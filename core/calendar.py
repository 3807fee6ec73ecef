"""Trading days, session times, SPX/SPXW expirations and VIX settlements, in New York time.

Holidays and early closes are data passed in. The defaults below are the NYSE schedule: full-day
closures for 2007-2027 (checked against every trading date of the S&P 500 daily history
2007-01-01 ... 2026-07-08: no holiday has a print and every other weekday has one) and 13:00
closes for 2019-2027. Outside those years every weekday counts as a trading day. Nothing here
reads the clock.

**Which exchange's holidays.** Cboe Options (SPX, SPXW, VIX options) follows the NYSE holiday
schedule. The VIX settlement is computed from SPX option prices at the open, so it depends on
Cboe Options being open; Cboe Futures Exchange (VX, VXM) also follows the NYSE full-day
closures for its regular session: the CFE daily files of every VX contract 2008-01 ... 2015-12
(`tests/data/vix_contract_expirations_2008_2015.csv` is derived from them) have a trade date on
every NYSE trading day and on no NYSE holiday. CFE and Cboe have at times kept their overnight
sessions (Global Trading Hours) open on an NYSE holiday (on the 2025-01-09 national day of
mourning, per Cboe's notice of 2024-12-30); such a session does not settle anything and changes
no date below.

**Expirations** (`spx_monthly_expiration`, `spxw_expirations`, `vix_monthly_settlement`,
`vix_weekly_expirations`) follow the rules in Cboe's contract specifications, stated on each
function. Closures announced at short notice (2012-10-29/30, 2018-12-05, 2025-01-09) were
handled by exchange notices, not by the rules; the rules are applied to them as if they had been
scheduled, which may not match what the exchange did (the Cboe chain captured on 2025-01-06
still lists SPXW 2025-01-09).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from core.types import Settlement

NEW_YORK = ZoneInfo("America/New_York")

SESSION_OPEN = time(9, 30)
SESSION_CLOSE = time(16, 0)
EARLY_CLOSE = time(13, 0)


#: NYSE full-day closures, from NYSE's published holiday calendars.
def _days(text: str) -> frozenset[date]:
    return frozenset(date.fromisoformat(day) for day in text.split())


NYSE_HOLIDAYS: frozenset[date] = _days(
    # 2007 (2007-01-02: national day of mourning for President Ford)
    "2007-01-01 2007-01-02 2007-01-15 2007-02-19 2007-04-06 2007-05-28 2007-07-04 "
    "2007-09-03 2007-11-22 2007-12-25 "
    # 2008
    "2008-01-01 2008-01-21 2008-02-18 2008-03-21 2008-05-26 2008-07-04 2008-09-01 "
    "2008-11-27 2008-12-25 "
    # 2009
    "2009-01-01 2009-01-19 2009-02-16 2009-04-10 2009-05-25 2009-07-03 2009-09-07 "
    "2009-11-26 2009-12-25 "
    # 2010 (2011-01-01 fell on a Saturday and was not observed)
    "2010-01-01 2010-01-18 2010-02-15 2010-04-02 2010-05-31 2010-07-05 2010-09-06 "
    "2010-11-25 2010-12-24 "
    # 2011
    "2011-01-17 2011-02-21 2011-04-22 2011-05-30 2011-07-04 2011-09-05 2011-11-24 "
    "2011-12-26 "
    # 2012 (2012-10-29/30: Hurricane Sandy)
    "2012-01-02 2012-01-16 2012-02-20 2012-04-06 2012-05-28 2012-07-04 2012-09-03 "
    "2012-10-29 2012-10-30 2012-11-22 2012-12-25 "
    # 2013
    "2013-01-01 2013-01-21 2013-02-18 2013-03-29 2013-05-27 2013-07-04 2013-09-02 "
    "2013-11-28 2013-12-25 "
    # 2014
    "2014-01-01 2014-01-20 2014-02-17 2014-04-18 2014-05-26 2014-07-04 2014-09-01 "
    "2014-11-27 2014-12-25 "
    # 2015
    "2015-01-01 2015-01-19 2015-02-16 2015-04-03 2015-05-25 2015-07-03 2015-09-07 "
    "2015-11-26 2015-12-25 "
    # 2016
    "2016-01-01 2016-01-18 2016-02-15 2016-03-25 2016-05-30 2016-07-04 2016-09-05 "
    "2016-11-24 2016-12-26 "
    # 2017
    "2017-01-02 2017-01-16 2017-02-20 2017-04-14 2017-05-29 2017-07-04 2017-09-04 "
    "2017-11-23 2017-12-25 "
    # 2018 (2018-12-05: national day of mourning for President George H. W. Bush)
    "2018-01-01 2018-01-15 2018-02-19 2018-03-30 2018-05-28 2018-07-04 2018-09-03 "
    "2018-11-22 2018-12-05 2018-12-25 "
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
    "2007-07-03 2007-11-23 2007-12-24 2008-07-03 2008-11-28 2008-12-24 2009-11-27 2009-12-24 "
    "2010-11-26 2011-11-25 2012-07-03 2012-11-23 2012-12-24 2013-07-03 2013-11-29 2013-12-24 "
    "2014-07-03 2014-11-28 2014-12-24 2015-11-27 2015-12-24 2016-11-25 2017-07-03 2017-11-24 "
    "2018-07-03 2018-11-23 2018-12-24 "
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


@lru_cache(maxsize=8)
def _business_days(holidays: frozenset[date]) -> np.busdaycalendar:
    # The trading days (weekdays less `holidays`) as a numpy business-day calendar.
    return np.busdaycalendar(holidays=np.array(sorted(holidays), dtype="datetime64[D]"))


#: The NYSE trading days as a numpy business-day calendar (weekdays less `NYSE_HOLIDAYS`).
NYSE_BUSINESS_DAYS = _business_days(NYSE_HOLIDAYS)


def trading_days_between(start: date, end: date, holidays: Collection[date] = NYSE_HOLIDAYS) -> int:
    """Count trading days in the half-open interval (start, end]."""
    if end <= start:
        return 0
    one = timedelta(days=1)
    calendar = (
        NYSE_BUSINESS_DAYS if holidays is NYSE_HOLIDAYS else _business_days(frozenset(holidays))
    )
    return int(np.busday_count(start + one, end + one, busdaycal=calendar))


def elapsed_seconds(start: datetime, end: datetime) -> float:
    """Seconds elapsed from `start` to `end` (both aware; negative if `end` is earlier).

    Python's ``end - start`` ignores the UTC offsets when both moments share one tzinfo object,
    as every New York moment here does: across a daylight-saving change it gives wall-clock
    time, an hour off (Friday 15:45 to Monday 16:00 around the March change is 71.25 hours,
    not 72.25). This subtracts the offsets too; without a change the result is ``end - start``'s
    to the bit.
    """
    wall = end - start
    if start.tzinfo is end.tzinfo:
        start_offset, end_offset = start.utcoffset(), end.utcoffset()
        if start_offset != end_offset and start_offset is not None and end_offset is not None:
            wall -= end_offset - start_offset
    return wall.total_seconds()


def posix_stamps(moments: Sequence[datetime], name: str = "moments") -> NDArray[np.float64]:
    """Each aware moment as POSIX seconds (``moment.timestamp()``), as an array.

    Exact for moments on whole seconds, so differences of them are `elapsed_seconds` to the
    bit.

    Raises:
        ValueError: If a moment is naive (naming `name` and the moment).
    """
    for moment in moments:
        if moment.tzinfo is None:
            raise ValueError(f"{name} must be timezone-aware, had {moment!r}")
    return np.array([moment.timestamp() for moment in moments], dtype=np.float64)


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


# --- Expirations: SPX monthlies (AM), SPXW (PM), VIX settlements ----------------------------------

_FRIDAY = 4
_WEDNESDAY = 2
_DAYS_TO_VIX_REFERENCE_FRIDAY = timedelta(days=30)

#: First expiration of each SPXW weekday series, Monday=0 ... Friday=4 (Cboe announcements):
#: Wednesdays listed from 2016-02-23, first expiring 2016-03-02 (Cboe Options Hub, 2016-02-22);
#: Mondays listed from 2016-08-15, first expiring 2016-08-22 (Cboe press release, 2016-07-12);
#: Tuesdays listed from 2022-04-18, first expiring 2022-04-26 (the first batch was 04-26 and
#: 05-03); Thursdays listed from 2022-05-11, first expiring 2022-05-19 (assumed: the first
#: listing "likely targeting May 19th and 26th"; the 2022-06-10 chain has every Thursday). Friday
#: Weeklys date from October 2005 (the exact first date is not needed: it is long before
#: `SPXW_SCHEDULE_START`).
SPXW_FIRST_EXPIRY_BY_WEEKDAY: dict[int, date] = {
    0: date(2016, 8, 22),
    1: date(2022, 4, 26),
    2: date(2016, 3, 2),
    3: date(2022, 5, 19),
    4: date(2005, 10, 28),
}

#: First S&P 500 End-of-Month (PM-settled, last trading day of the month) expiration: the
#: product launched in July 2014 (Cboe Options Hub, 2014-08-05).
SPXW_FIRST_END_OF_MONTH = date(2014, 7, 31)

#: `spxw_expirations` covers dates from here on (Friday Weeklys and End-of-Month expirations).
SPXW_SCHEDULE_START = SPXW_FIRST_END_OF_MONTH

#: First expiration of VIX Weeklys futures: listed on CFE from 2015-07-23, with the 2015-08-05
#: and 2015-08-12 expirations (Cboe Options Hub, 2015-07-24). VIX Weeklys options followed on
#: Cboe Options from 2015-10-08.
VX_WEEKLY_FIRST_EXPIRY = date(2015, 8, 5)
VIX_WEEKLY_OPTIONS_LISTED = date(2015, 10, 8)


def third_friday(year: int, month: int) -> date:
    """Return the third Friday of a month, holiday or not."""
    first = date(year, month, 1)
    return first + timedelta(days=(_FRIDAY - first.weekday()) % 7 + 14)


def spx_monthly_expiration(
    year: int, month: int, holidays: Collection[date] = NYSE_HOLIDAYS
) -> date:
    """Return the expiration date of the standard AM-settled SPX options of a month.

    The third Friday; if that is an exchange holiday (Good Friday 2014-04-18, 2022-04-15,
    2025-04-18; Juneteenth 2026-06-19 and, observed, 2027-06-18), the preceding business day.
    The options settle on the Special Opening Quotation of that day and stop trading the
    business day before (see `settlement_of`).
    """
    friday = third_friday(year, month)
    return friday if is_trading_day(friday, holidays) else previous_trading_day(friday, holidays)


def is_spx_monthly_expiration(day: date, holidays: Collection[date] = NYSE_HOLIDAYS) -> bool:
    """Return whether standard AM-settled SPX monthly options expire on `day`."""
    return day == spx_monthly_expiration(day.year, day.month, holidays)


def _spxw_weekday_expiry(scheduled: date, holidays: Collection[date]) -> date:
    if is_trading_day(scheduled, holidays):
        return scheduled
    # Cboe: a Monday expiration on a holiday moves to the next business day (2022-01-18,
    # 2022-02-22 in the shipped chains); other Weeklys move to the business day before
    # (Good Friday 2020-04-10 -> Thursday 2020-04-09).
    if scheduled.weekday() == 0:
        return next_trading_day(scheduled, holidays)
    return previous_trading_day(scheduled, holidays)


def _last_trading_day_of_month(year: int, month: int, holidays: Collection[date]) -> date:
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return previous_trading_day(first_of_next, holidays)


def spxw_expirations(
    start: date, end: date, holidays: Collection[date] = NYSE_HOLIDAYS
) -> tuple[date, ...]:
    """Return the dates in [start, end] on which PM-settled SPX options (SPXW) expire.

    The schedule (each weekday series from its first expiry in `SPXW_FIRST_EXPIRY_BY_WEEKDAY`):
    Friday Weeklys throughout; End-of-Month options on the last trading day of each month from
    `SPXW_FIRST_END_OF_MONTH`; Wednesdays from 2016-03-02; Mondays from 2016-08-22; Tuesdays
    from 2022-04-26; Thursdays from 2022-05-19. From then on every trading day is an expiration.
    A scheduled day that is a holiday moves: Mondays to the next business day, other days to
    the business day before. On third Fridays the PM-settled series traded as root SPXPM until
    2017-05-01 and as SPXW since; both are included. Quarterly (SPXQ) expirations before 2014
    are not modelled, hence `SPXW_SCHEDULE_START`.

    Raises:
        ValueError: If `start` is before `SPXW_SCHEDULE_START` or after `end`.
    """
    if start < SPXW_SCHEDULE_START:
        raise ValueError(
            f"spxw_expirations covers {SPXW_SCHEDULE_START} onwards, start was {start}"
        )
    if start > end:
        raise ValueError(f"start must not be after end, was {start} > {end}")
    found: set[date] = set()
    # Moved expiries shift by a few days at most: scan a margin on each side.
    day = start - timedelta(days=7)
    while day <= end + timedelta(days=7):
        first = SPXW_FIRST_EXPIRY_BY_WEEKDAY.get(day.weekday())
        if first is not None and day >= first:
            found.add(_spxw_weekday_expiry(day, holidays))
        day += timedelta(days=1)
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        end_of_month = _last_trading_day_of_month(year, month, holidays)
        if end_of_month >= SPXW_FIRST_END_OF_MONTH:
            found.add(end_of_month)
        year, month = year + month // 12, month % 12 + 1
    return tuple(sorted(d for d in found if start <= d <= end))


def is_spxw_expiration(day: date, holidays: Collection[date] = NYSE_HOLIDAYS) -> bool:
    """Return whether PM-settled SPXW options expire on `day` (see `spxw_expirations`)."""
    return day in spxw_expirations(day, day, holidays)


def _vix_adjusted(wednesday: date, holidays: Collection[date]) -> date:
    # CFE/Cboe rule: if the Wednesday, or the Friday 30 days after it (whose SPX options the
    # settlement prices), is a holiday, settle on the business day before the Wednesday.
    reference_friday = wednesday + _DAYS_TO_VIX_REFERENCE_FRIDAY
    if is_trading_day(wednesday, holidays) and is_trading_day(reference_friday, holidays):
        return wednesday
    return previous_trading_day(wednesday, holidays)


def vix_monthly_settlement(
    year: int, month: int, holidays: Collection[date] = NYSE_HOLIDAYS
) -> date:
    """Return the final settlement date of the VIX future and option of a contract month.

    Cboe's rule (VX contract specifications; VIX option rules): the Wednesday 30 days before
    the third Friday of the following calendar month; if that Wednesday or that Friday is a
    Cboe Options holiday, the business day immediately before the Wednesday. The 30 days are
    counted from the third Friday itself, not from the holiday-adjusted SPX expiration. The
    settlement value is the Special Opening Quotation (SOQ) of VIX at that morning's open.

    Examples: 2014-03-18 (Tuesday: Good Friday 2014-04-18 is April's third Friday), 2024-06-18
    (Juneteenth on the Wednesday), 2026-05-19 (Juneteenth on June's third Friday).

    Args:
        year: Contract year.
        month: Contract month (the month the contract settles in: "Mar 14" settles in March).
        holidays: Exchange closures.

    Returns:
        The settlement date, always within the contract month.
    """
    following = third_friday(year + month // 12, month % 12 + 1)
    return _vix_adjusted(following - _DAYS_TO_VIX_REFERENCE_FRIDAY, holidays)


def vix_settlements_between(
    start: date, end: date, holidays: Collection[date] = NYSE_HOLIDAYS
) -> tuple[date, ...]:
    """Return the monthly VIX settlement dates in [start, end] (both inclusive), in order."""
    found: list[date] = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        settlement = vix_monthly_settlement(year, month, holidays)
        if start <= settlement <= end:
            found.append(settlement)
        year, month = year + month // 12, month % 12 + 1
    return tuple(found)


def vix_last_trading_day(settlement: date, holidays: Collection[date] = NYSE_HOLIDAYS) -> date:
    """Return the last trading day of a VIX series settling on `settlement`.

    The business day before: VIX options stop trading then, and so did the regular session of
    the expiring VX future. Since late 2014 an expiring VX future also trades in the CFE
    session that ends at 08:00 Chicago time on the settlement date itself (the CFE files show
    volume on the settlement date from the November 2014 contract on); a hedge cannot count on
    that session, so this returns the day before.
    """
    return previous_trading_day(settlement, holidays)


def vix_weekly_expirations(
    start: date, end: date, holidays: Collection[date] = NYSE_HOLIDAYS
) -> tuple[date, ...]:
    """Return the VIX Weeklys expirations in [start, end] (both inclusive), in order.

    Every Wednesday whose week has no monthly settlement, moved to the business day before
    under the same holiday rule as the monthlies (the Wednesday or the Friday 30 days later is
    a holiday: e.g. 2020-11-24, because 2020-12-25 is a Friday). This is the rule-based
    schedule; it starts at `VX_WEEKLY_FIRST_EXPIRY` (2015-08-05), the first weekly VX
    expiration. VIX Weeklys options were listed from `VIX_WEEKLY_OPTIONS_LISTED` (2015-10-08).
    """
    found: list[date] = []
    wednesday = start - timedelta(days=(start.weekday() - _WEDNESDAY) % 7)
    while wednesday <= end:
        reference_friday = wednesday + _DAYS_TO_VIX_REFERENCE_FRIDAY
        is_monthly_week = reference_friday == third_friday(
            reference_friday.year, reference_friday.month
        )
        if not is_monthly_week:
            expiry = _vix_adjusted(wednesday, holidays)
            if max(start, VX_WEEKLY_FIRST_EXPIRY) <= expiry <= end:
                found.append(expiry)
        wednesday += timedelta(days=7)
    return tuple(found)


def next_vix_expiration(
    day: date, *, weekly: bool = True, holidays: Collection[date] = NYSE_HOLIDAYS
) -> date:
    """Return the first VIX expiration strictly after `day`.

    Strictly after: a series settling on `day` was settled at that morning's open and stopped
    trading the day before, so it can no longer hedge anything. On 2023-03-22 (the March 2023
    settlement) this is the weekly of 2023-03-29 with `weekly=True`, and 2023-04-19 without.

    Args:
        day: The trading date asked about.
        weekly: Include VIX Weeklys (which exist from `VX_WEEKLY_FIRST_EXPIRY`).
        holidays: Exchange closures.
    """
    # Monthly settlements are at most six weeks apart (a moved one plus a long month).
    horizon = day + timedelta(days=45)
    candidates = list(vix_settlements_between(day + timedelta(days=1), horizon, holidays))
    if weekly:
        candidates += vix_weekly_expirations(day + timedelta(days=1), horizon, holidays)
    return min(candidates)


def business_days_to(day: date, target: date, holidays: Collection[date] = NYSE_HOLIDAYS) -> int:
    """Return the trading days from `day` to `target`: those in (day, target], negative if past.

    On the day before an expiration this is 1; on the expiration day, 0.
    """
    if target >= day:
        return trading_days_between(day, target, holidays)
    return -trading_days_between(target, day, holidays)
