"""Price bars and daily market breadth as immutable columns, with checks for bad data.

`Bars` holds OHLC bars of one instrument in columns of read-only numpy arrays. Times are bar
*starts*, stored as ``datetime64[m]`` in **UTC** (unambiguous across daylight-saving changes and
cheap to compare); `Bars.starts` and `Bars.start_at` give them back as aware New York
datetimes and `Bars.local_times` as New York wall-clock ``datetime64[m]``. A bar stamped 10:00
with ``interval_minutes=1`` covers 10:00:00-10:00:59 and is complete at 10:01, so at a moment
``asof`` the bars one may use are ``bars.until(asof)``.

`Bars` may hold bad data (NaN prices, gaps, duplicates, bars out of order) so that
`check_bars` can report it as `BarIssue` records; the engine decides what to do with each.

`Breadth` holds daily NYSE advancing and declining issue counts with their source and whether
they are official exchange counts; `Breadth.ad_line` is the cumulative advance-decline line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from core.calendar import NEW_YORK, SESSION_OPEN
from core.chain import Severity

FloatArray = NDArray[np.float64]
TimeArray = NDArray[np.datetime64]
IntArray = NDArray[np.int64]

__all__ = [
    "BarIssue",
    "BarIssueCode",
    "Bars",
    "Breadth",
    "Severity",
    "check_bars",
    "choose_breadth",
]

_PRICE_FIELDS: Final = ("open", "high", "low", "close")
_MINUTE: Final = np.timedelta64(1, "m")
_MINUTES_PER_DAY: Final = 24 * 60
#: Minutes of the epoch well inside what `datetime` holds (NaT, the least int64, is outside).
_FIRST_MINUTE: Final = int(np.datetime64("0002-01-01T00:00", "m").astype(np.int64))
_LAST_MINUTE: Final = int(np.datetime64("9998-12-31T00:00", "m").astype(np.int64))


def _readonly(array: NDArray[Any]) -> NDArray[Any]:
    array.flags.writeable = False
    return array


def _utc64(moment: datetime, name: str) -> np.datetime64:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware, was {moment!r}")
    return np.datetime64(moment.astimezone(UTC).replace(tzinfo=None), "us")


def _aware(utc_minute: np.datetime64) -> datetime:
    # datetime64[m] -> naive datetime (via microseconds), read as UTC, shown in New York.
    naive: datetime = utc_minute.astype("datetime64[us]").item()
    return naive.replace(tzinfo=UTC).astimezone(NEW_YORK)


def _ny_offsets(times: TimeArray) -> NDArray[np.timedelta64]:
    """New York UTC offset of each UTC minute, looked up once per distinct UTC hour."""
    if times.shape[0] == 0:
        return np.zeros(0, dtype="timedelta64[m]")
    stamps = times.view(np.int64)  # minutes since the epoch; NaT is the least int64
    earliest, latest = int(stamps.min()), int(stamps.max())
    in_range = earliest >= _FIRST_MINUTE and latest <= _LAST_MINUTE
    if in_range and latest - earliest <= _MINUTES_PER_DAY:
        # New York's offset changes months apart, so within a day it changes at most once:
        # equal offsets at both ends (the usual one-session case) hold throughout.
        first, last = _hour_offset(earliest), _hour_offset(latest)
        if first == last:
            same: NDArray[np.timedelta64] = np.full(times.shape[0], first, dtype=np.int64).astype(
                "timedelta64[m]"
            )
            return same
    hours, inverse = np.unique(times.astype("datetime64[h]"), return_inverse=True)
    # Daylight-saving changes happen on the hour, so one offset per UTC hour is exact.
    minutes = [_offset_minutes(_aware(h.astype("datetime64[m]"))) for h in hours]
    offsets = np.array(minutes, dtype=np.int64).astype("timedelta64[m]")
    result: NDArray[np.timedelta64] = offsets[inverse.reshape(-1)]
    return result


def _hour_offset(utc_minute: int) -> int:
    # The New York offset, in minutes, of the UTC hour holding minute `utc_minute` of the epoch.
    hour = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(minutes=utc_minute - utc_minute % 60)
    return _offset_minutes(hour.astimezone(NEW_YORK))


def _offset_minutes(moment: datetime) -> int:
    offset = moment.utcoffset()
    if offset is None:  # pragma: no cover - _aware always returns an aware datetime
        raise ValueError(f"{moment!r} has no UTC offset")
    return offset // timedelta(minutes=1)


def _fmt(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} ET"


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Bars:
    """OHLC bars of one instrument in read-only columns, oldest first.

    Attributes:
        symbol: Instrument, e.g. "SPX".
        source: Where the bars came from, e.g. "FirstRate Data SPX_1min_....txt".
        interval_minutes: Length of each bar in minutes (1, 5, ...).
        times: Bar starts as ``datetime64[m]`` in UTC.
        open: Opening price of each bar, in index points.
        high: Highest price of each bar.
        low: Lowest price of each bar.
        close: Last price of each bar.
    """

    symbol: str
    source: str
    interval_minutes: int
    times: TimeArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    #: Bar ends as ``datetime64[us]`` when no bar starts before the one ahead of it (then
    #: `until` and `within` pick a slice by binary search), worked out on first use.
    _ordered_ends: TimeArray | None = field(default=None, init=False, repr=False)
    #: Whether the times never decrease (None: not looked at yet).
    _ordered: bool | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.interval_minutes < 1:
            raise ValueError(f"interval_minutes must be at least 1, was {self.interval_minutes}")
        times = np.array(self.times)  # a copy: the caller's array stays the caller's
        if times.ndim != 1:
            raise ValueError(f"times must be 1-D, had shape {times.shape}")
        if times.size and not np.issubdtype(times.dtype, np.datetime64):
            raise ValueError(f"times must be numpy datetime64 values in UTC, were {times.dtype}")
        object.__setattr__(self, "times", _readonly(times.astype("datetime64[m]", copy=False)))
        n = times.shape[0]
        for name in _PRICE_FIELDS:
            column = np.array(getattr(self, name), dtype=np.float64)
            if column.shape != (n,):
                raise ValueError(
                    f"{name} must be 1-D with one value per time ({n}), had shape {column.shape}"
                )
            object.__setattr__(self, name, _readonly(column))

    @classmethod
    def from_starts(
        cls,
        starts: Sequence[datetime],
        open: ArrayLike,
        high: ArrayLike,
        low: ArrayLike,
        close: ArrayLike,
        *,
        symbol: str,
        source: str,
        interval_minutes: int,
    ) -> Bars:
        """Build bars from aware bar-start datetimes (any time zone).

        Raises:
            ValueError: If a start is naive or columns differ in length.
        """
        times = np.array([_utc64(s, "bar start") for s in starts], dtype="datetime64[m]")
        return cls(
            symbol=symbol,
            source=source,
            interval_minutes=interval_minutes,
            times=times,
            open=np.asarray(open, dtype=np.float64),
            high=np.asarray(high, dtype=np.float64),
            low=np.asarray(low, dtype=np.float64),
            close=np.asarray(close, dtype=np.float64),
        )

    def __len__(self) -> int:
        return int(self.times.shape[0])

    @property
    def interval(self) -> timedelta:
        """Length of one bar."""
        return timedelta(minutes=self.interval_minutes)

    def start_at(self, index: int) -> datetime:
        """Return the start of bar ``index`` as an aware New York datetime."""
        return _aware(self.times[index])

    def end_at(self, index: int) -> datetime:
        """Return the moment bar ``index`` is complete (its start plus one interval)."""
        return self.start_at(index) + self.interval

    def starts(self) -> tuple[datetime, ...]:
        """Return every bar start as an aware New York datetime."""
        return tuple(self.start_at(i) for i in range(len(self)))

    def local_times(self) -> TimeArray:
        """Return bar starts as New York wall-clock ``datetime64[m]`` (naive)."""
        local: TimeArray = self.times + _ny_offsets(self.times)
        return local

    @property
    def days(self) -> tuple[date, ...]:
        """The New York dates the bars fall on, ascending."""
        unique = np.unique(self.local_times().astype("datetime64[D]"))
        return tuple(d.item() for d in unique)

    @property
    def session_day(self) -> date:
        """The New York date of the bars.

        Raises:
            ValueError: If there are no bars or they span several days.
        """
        days = self.days
        if len(days) != 1:
            shown = ", ".join(d.isoformat() for d in days) or "none"
            raise ValueError(f"bars must cover exactly one day for session_day, covered {shown}")
        return days[0]

    @property
    def last_close(self) -> float:
        """Close of the last bar, in index points.

        Raises:
            ValueError: If there are no bars.
        """
        if not len(self):
            raise ValueError(f"no {self.symbol} bars, so no last close")
        return float(self.close[-1])

    def take(self, selection: NDArray[np.bool_] | NDArray[np.intp] | slice) -> Bars:
        """Return the bars picked by a boolean mask, an index array or a slice.

        A slice gives read-only views of these bars' columns, anything else read-only copies.
        """
        times = self.times[selection]
        if times.ndim != 1:  # e.g. an integer or a 2-D index array: the constructor says why
            return Bars(
                symbol=self.symbol,
                source=self.source,
                interval_minutes=self.interval_minutes,
                times=times,
                open=self.open[selection],
                high=self.high[selection],
                low=self.low[selection],
                close=self.close[selection],
            )
        # Picked from columns already checked: same dtypes, one value per time.
        return _checked_bars(
            symbol=self.symbol,
            source=self.source,
            interval_minutes=self.interval_minutes,
            times=_readonly(times),
            open=_readonly(self.open[selection]),
            high=_readonly(self.high[selection]),
            low=_readonly(self.low[selection]),
            close=_readonly(self.close[selection]),
        )

    def _ends_if_ordered(self) -> TimeArray | None:
        # The bar ends in microseconds (the unit `_utc64` gives moments in) when the times
        # never decrease, else None. NaT compares false both ways, so it counts as disorder.
        if self._ordered is None:
            ends = (self.times + np.timedelta64(self.interval_minutes, "m")).astype(
                "datetime64[us]"
            )
            ordered = not np.isnat(ends).any() and not (ends[1:] < ends[:-1]).any()
            object.__setattr__(self, "_ordered", ordered)
            object.__setattr__(self, "_ordered_ends", _readonly(ends) if ordered else None)
        return self._ordered_ends

    @property
    def in_order(self) -> bool:
        """Whether every bar starts at or after the bar ahead of it (a NaT start counts as not).

        Then `until` gives a head of the bars and `within` a run of them.
        """
        return self._ends_if_ordered() is not None

    def _slice(self, start: int, stop: int, ends: TimeArray) -> Bars:
        # Bars start:stop of ordered bars as views (of read-only columns, so read-only): they
        # are ordered too, with those ends.
        return _checked_bars(
            symbol=self.symbol,
            source=self.source,
            interval_minutes=self.interval_minutes,
            times=self.times[start:stop],
            open=self.open[start:stop],
            high=self.high[start:stop],
            low=self.low[start:stop],
            close=self.close[start:stop],
            ordered_ends=ends[start:stop],
        )

    def on(self, day: date) -> Bars:
        """Return the bars whose start falls on New York date ``day``."""
        return self.take(self.local_times().astype("datetime64[D]") == np.datetime64(day, "D"))

    def until(self, moment: datetime) -> Bars:
        """Return the bars complete by ``moment``: those with ``start + interval <= moment``.

        A 1-minute bar stamped 10:00 is included from 10:01:00 on.

        Raises:
            ValueError: If ``moment`` is naive.
        """
        cutoff = _utc64(moment, "moment")
        ends = self._ends_if_ordered()
        if ends is None:
            return self.take(self.times + np.timedelta64(self.interval_minutes, "m") <= cutoff)
        # In time order the bars complete by the cutoff are a head.
        return self._slice(0, int(ends.searchsorted(cutoff, side="right")), ends)

    def within(self, start: datetime, end: datetime) -> Bars:
        """Return the bars lying wholly in ``[start, end]``: ``start <= bar start``, bar end <= end.

        ``bars.within(session_open(day), session_close(day))`` drops pre-market bars and the
        settlement prints some vendors stamp after 16:00.

        Raises:
            ValueError: If ``start`` or ``end`` is naive.
        """
        lo = _utc64(start, "start")
        hi = _utc64(end, "end")
        step = np.timedelta64(self.interval_minutes, "m")
        ordered = self._ends_if_ordered()
        if ordered is None:
            ends = self.times + step
            return self.take((self.times >= lo) & (ends <= hi))
        # In time order, starting at or after `lo` (ending at or after `lo + step`) picks a
        # tail and ending by `hi` a head: the bars in both are one run.
        first = int(ordered.searchsorted(lo + step, side="left"))
        stop = int(ordered.searchsorted(hi, side="right"))
        return self._slice(first, max(first, stop), ordered)

    def resample(self, minutes: int, *, anchor: time = SESSION_OPEN) -> Bars:
        """Aggregate into ``minutes``-long bars on buckets aligned to ``anchor`` (09:30 ET).

        Buckets are ``anchor + k * minutes`` in New York time on each day, so 5-minute bars
        start 09:30, 09:35, ... and a 16:05 settlement print falls in its own 16:05 bucket.
        Open is the first bar's open, close the last bar's close, high and low the extremes
        (NaN propagates). A bucket missing some source bars still forms a bar: run `check_bars`
        on the source bars to find gaps. To use only 5-minute bars that have closed at a
        moment, resample the whole day first and then call `until`.

        Raises:
            ValueError: If ``minutes`` is not a positive multiple of ``interval_minutes``, or
                times are not strictly increasing (naming the first offending bar).
        """
        if minutes < 1 or minutes % self.interval_minutes:
            raise ValueError(
                f"resample needs a positive multiple of {self.interval_minutes} minutes, "
                f"was {minutes}"
            )
        n = len(self)
        if n:
            # A bar not after the bar ahead of it (NaT compares false, as its step would).
            stuck = self.times[1:] <= self.times[:-1]
            if stuck.any():
                i = int(np.argmax(stuck)) + 1
                raise ValueError(
                    f"resample needs strictly increasing times; bar {i} ({_fmt(self.start_at(i))})"
                    f" does not follow bar {i - 1} ({_fmt(self.start_at(i - 1))})"
                )
        if minutes == self.interval_minutes or n == 0:
            return self
        offsets = _ny_offsets(self.times)
        local = self.times + offsets
        day = local.astype("datetime64[D]").astype("datetime64[m]")
        anchor_minute = anchor.hour * 60 + anchor.minute
        minute_of_day = (local - day).astype(np.int64)
        bucket = (minute_of_day - anchor_minute) // minutes
        key = day + (anchor_minute + bucket * minutes).astype("timedelta64[m]")
        first = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
        last = np.concatenate((first[1:] - 1, [n - 1]))
        # New columns of the checked dtypes and lengths: no need to check them again.
        return _checked_bars(
            symbol=self.symbol,
            source=self.source,
            interval_minutes=minutes,
            times=_readonly(key[first] - offsets[first]),
            open=_readonly(self.open[first]),
            high=_readonly(np.maximum.reduceat(self.high, first)),
            low=_readonly(np.minimum.reduceat(self.low, first)),
            close=_readonly(self.close[last]),
        )


def _checked_bars(
    *,
    symbol: str,
    source: str,
    interval_minutes: int,
    times: TimeArray,
    open: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    ordered_ends: TimeArray | None = None,
) -> Bars:
    # `Bars` from columns known to pass `Bars.__post_init__` as they are (read-only, 1-D,
    # ``datetime64[m]`` and float64 of one length): built without checking or copying them.
    # `ordered_ends`: the bars' ends when they are known to be in time order (as
    # `Bars._ends_if_ordered` gives them); None leaves that to be looked at on first use.
    bars: Bars = object.__new__(Bars)
    for name, value in (
        ("symbol", symbol),
        ("source", source),
        ("interval_minutes", interval_minutes),
        ("times", times),
        ("open", open),
        ("high", high),
        ("low", low),
        ("close", close),
        ("_ordered_ends", ordered_ends),
        ("_ordered", None if ordered_ends is None else True),
    ):
        object.__setattr__(bars, name, value)
    return bars


class BarIssueCode(StrEnum):
    """What `check_bars` found."""

    EMPTY = "empty"
    """No bars at all in the session."""
    GAP = "gap"
    """Bars missing inside the session (including at its start or end)."""
    NAN_PRICE = "nan_price"
    """A NaN open, high, low or close."""
    NON_POSITIVE_PRICE = "non_positive_price"
    """A price at or below zero."""
    HIGH_BELOW_LOW = "high_below_low"
    """A bar whose high is below its low."""
    OUTSIDE_RANGE = "outside_range"
    """Open or close outside the bar's [low, high]."""
    OUT_OF_ORDER = "out_of_order"
    """A bar stamped earlier than the bar before it."""
    DUPLICATE = "duplicate"
    """Several bars with the same start."""
    OFF_GRID = "off_grid"
    """A bar starting between the session's interval boundaries (e.g. a 5-minute bar at 09:32)."""
    OUTSIDE_SESSION = "outside_session"
    """Bars before the open or ending after the close (pre-market, settlement prints)."""


#: How much each finding matters: ERROR means the bars cannot be trusted for a decision.
SEVERITY_OF: Final[dict[BarIssueCode, Severity]] = {
    BarIssueCode.EMPTY: Severity.ERROR,
    BarIssueCode.GAP: Severity.WARNING,
    BarIssueCode.NAN_PRICE: Severity.ERROR,
    BarIssueCode.NON_POSITIVE_PRICE: Severity.ERROR,
    BarIssueCode.HIGH_BELOW_LOW: Severity.ERROR,
    BarIssueCode.OUTSIDE_RANGE: Severity.WARNING,
    BarIssueCode.OUT_OF_ORDER: Severity.ERROR,
    BarIssueCode.DUPLICATE: Severity.ERROR,
    BarIssueCode.OFF_GRID: Severity.WARNING,
    BarIssueCode.OUTSIDE_SESSION: Severity.INFO,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class BarIssue:
    """One finding of `check_bars`.

    Attributes:
        code: What was found.
        severity: ERROR: do not decide on these bars; WARNING: degraded (missing bars); INFO:
            expected in real data (settlement prints after the close).
        detail: A sentence for people, naming times (New York) and values.
        start: First bar start concerned (for a gap: the first missing bar's start).
        end: When the span concerned ends (for a gap: the end of the last missing bar).
        count: Bars concerned (for a gap: bars missing).
        index: Position in the bars of a single offending bar, else None.
    """

    code: BarIssueCode
    severity: Severity
    detail: str
    start: datetime | None = None
    end: datetime | None = None
    count: int = 1
    index: int | None = None


def check_bars(bars: Bars, session_open: datetime, session_close: datetime) -> tuple[BarIssue, ...]:
    """Report gaps, bad prices, disorder and out-of-session bars for one session.

    To check the bars seen so far during the day, pass ``min(asof, close)`` as
    ``session_close``: missing bars are then only those that should already have closed.

    Args:
        bars: The bars to check (any number of days; bars of other days count as outside).
        session_open: Start of the session, aware (09:30 ET).
        session_close: End of the session, aware (16:00 ET, 13:00 on early-close days).

    Returns:
        The issues: errors, then warnings, then information, each group in bar order.

    Raises:
        ValueError: If the session bounds are naive or the close is not after the open.
    """
    lo = _utc64(session_open, "session_open")
    hi = _utc64(session_close, "session_close")
    if hi <= lo:
        raise ValueError(
            f"session_close must be after session_open, were {session_open} and {session_close}"
        )
    issues: list[BarIssue] = []
    issues += _price_issues(bars)
    issues += _order_issues(bars)
    issues += _session_issues(bars, lo, hi)
    rank = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
    return tuple(sorted(issues, key=lambda issue: rank[issue.severity]))


def _issue(code: BarIssueCode, detail: str, **kwargs: Any) -> BarIssue:
    return BarIssue(code=code, severity=SEVERITY_OF[code], detail=detail, **kwargs)


def _price_issues(bars: Bars) -> list[BarIssue]:
    issues: list[BarIssue] = []
    prices = np.stack([bars.open, bars.high, bars.low, bars.close], axis=1)
    nan = np.isnan(prices)
    for i in np.flatnonzero(nan.any(axis=1)):
        fields = [name for name, bad in zip(_PRICE_FIELDS, nan[i], strict=True) if bad]
        issues.append(
            _issue(
                BarIssueCode.NAN_PRICE,
                f"{bars.symbol} bar {_fmt(bars.start_at(int(i)))} has NaN {', '.join(fields)}",
                start=bars.start_at(int(i)),
                end=bars.end_at(int(i)),
                index=int(i),
            )
        )
    with np.errstate(invalid="ignore"):
        non_positive = prices <= 0.0
        crossed = bars.high < bars.low
        outside = ~crossed & (
            (prices[:, [0, 3]] > bars.high[:, None]) | (prices[:, [0, 3]] < bars.low[:, None])
        ).any(axis=1)
    for i in np.flatnonzero(non_positive.any(axis=1)):
        values = ", ".join(
            f"{name} {value:g}"
            for name, value, bad in zip(_PRICE_FIELDS, prices[i], non_positive[i], strict=True)
            if bad
        )
        issues.append(
            _issue(
                BarIssueCode.NON_POSITIVE_PRICE,
                f"{bars.symbol} bar {_fmt(bars.start_at(int(i)))} has a price <= 0: {values}",
                start=bars.start_at(int(i)),
                end=bars.end_at(int(i)),
                index=int(i),
            )
        )
    for code, mask, what in (
        (BarIssueCode.HIGH_BELOW_LOW, crossed, "high below low"),
        (BarIssueCode.OUTSIDE_RANGE, outside, "open or close outside [low, high]"),
    ):
        for i in np.flatnonzero(mask):
            o, h, lo, c = prices[i]
            issues.append(
                _issue(
                    code,
                    f"{bars.symbol} bar {_fmt(bars.start_at(int(i)))} has {what}: "
                    f"O {o:g} H {h:g} L {lo:g} C {c:g}",
                    start=bars.start_at(int(i)),
                    end=bars.end_at(int(i)),
                    index=int(i),
                )
            )
    return issues


def _order_issues(bars: Bars) -> list[BarIssue]:
    issues: list[BarIssue] = []
    times = bars.times
    for i in np.flatnonzero(times[1:] < times[:-1]) + 1:
        issues.append(
            _issue(
                BarIssueCode.OUT_OF_ORDER,
                f"{bars.symbol} bar {i} starts {_fmt(bars.start_at(int(i)))}, before the bar "
                f"ahead of it ({_fmt(bars.start_at(int(i) - 1))})",
                start=bars.start_at(int(i)),
                index=int(i),
            )
        )
    unique, first, counts = np.unique(times, return_index=True, return_counts=True)
    for t, i, count in zip(unique, first, counts, strict=True):
        if count > 1:
            moment = _aware(t)
            issues.append(
                _issue(
                    BarIssueCode.DUPLICATE,
                    f"{bars.symbol} bar {_fmt(moment)} appears {count} times",
                    start=moment,
                    end=moment + bars.interval,
                    count=int(count),
                    index=int(i),
                )
            )
    return issues


def _session_issues(bars: Bars, lo: np.datetime64, hi: np.datetime64) -> list[BarIssue]:
    issues: list[BarIssue] = []
    step = np.timedelta64(bars.interval_minutes, "m")
    opens = _aware(lo.astype("datetime64[m]"))
    closes = _aware(hi.astype("datetime64[m]"))
    times = bars.times
    before = times < lo
    after = ~before & (times + step > hi)
    for mask, where in ((before, f"before {opens:%H:%M} ET"), (after, f"after {closes:%H:%M} ET")):
        if mask.any():
            picked = times[mask]
            first, last = _aware(picked.min()), _aware(picked.max())
            issues.append(
                _issue(
                    BarIssueCode.OUTSIDE_SESSION,
                    f"{int(mask.sum())} {bars.symbol} bar(s) {where}, "
                    f"{_fmt(first)} to {_fmt(last)}",
                    start=first,
                    end=last + bars.interval,
                    count=int(mask.sum()),
                )
            )
    inside = np.unique(times[~before & ~after])
    slots = np.arange(lo.astype("datetime64[m]"), hi.astype("datetime64[m]"), step)
    slots = slots[slots + step <= hi]
    if len(bars) == 0 or (inside.size == 0 and slots.size):
        issues.append(
            _issue(
                BarIssueCode.EMPTY,
                f"no {bars.symbol} bars between {_fmt(opens)} and {_fmt(closes)}",
                start=opens,
                end=closes,
                count=int(slots.size),
            )
        )
        return issues
    off_grid = (
        inside[(inside - slots[0]) % step != np.timedelta64(0, "m")] if slots.size else inside
    )
    if off_grid.size:
        issues.append(
            _issue(
                BarIssueCode.OFF_GRID,
                f"{off_grid.size} {bars.symbol} bar(s) start off the {bars.interval_minutes}-minute"
                f" grid from {opens:%H:%M} ET, first at {_fmt(_aware(off_grid[0]))}",
                start=_aware(off_grid[0]),
                count=int(off_grid.size),
            )
        )
    missing = slots[~np.isin(slots, inside)]
    if missing.size:
        breaks = np.flatnonzero(np.diff(missing) != step) + 1
        for run in np.split(missing, breaks):
            first, end = _aware(run[0]), _aware(run[-1] + step)
            issues.append(
                _issue(
                    BarIssueCode.GAP,
                    f"{run.size} {bars.interval_minutes}-minute {bars.symbol} bar(s) missing, "
                    f"{_fmt(first)} to {end:%H:%M} ET",
                    start=first,
                    end=end,
                    count=int(run.size),
                )
            )
    return issues


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class Breadth:
    """Daily advancing and declining issue counts of one exchange, oldest first.

    Attributes:
        dates: Trading dates, ``datetime64[D]``, strictly increasing.
        advances: Issues that closed up on each date.
        declines: Issues that closed down on each date.
        source: Where the counts came from, in words.
        official: True for official exchange counts; False for counts a publisher computed from
            its own stock universe (levels differ; only the shape of the line is comparable).
    """

    dates: TimeArray
    advances: IntArray
    declines: IntArray
    source: str
    official: bool

    def __post_init__(self) -> None:
        dates = np.array(self.dates, dtype="datetime64[D]")
        if dates.ndim != 1:
            raise ValueError(f"dates must be 1-D, had shape {dates.shape}")
        n = dates.shape[0]
        if n > 1 and (np.diff(dates) <= np.timedelta64(0, "D")).any():
            i = int(np.argmax(np.diff(dates) <= np.timedelta64(0, "D"))) + 1
            raise ValueError(
                f"dates must be strictly increasing, row {i} ({dates[i]}) follows {dates[i - 1]}"
            )
        object.__setattr__(self, "dates", _readonly(dates))
        for name in ("advances", "declines"):
            column = np.array(getattr(self, name), dtype=np.int64)
            if column.shape != (n,):
                raise ValueError(f"{name} must have one count per date ({n}), had {column.shape}")
            if (column < 0).any():
                i = int(np.argmax(column < 0))
                raise ValueError(f"{name} must be >= 0, was {column[i]} on {dates[i]}")
            object.__setattr__(self, name, _readonly(column))

    def __len__(self) -> int:
        return int(self.dates.shape[0])

    def date_at(self, index: int) -> date:
        """Return the date of row ``index``."""
        result: date = self.dates[index].item()
        return result

    @property
    def first_date(self) -> date | None:
        """The first date with counts, or None when empty."""
        return self.date_at(0) if len(self) else None

    @property
    def last_date(self) -> date | None:
        """The last date with counts, or None when empty."""
        return self.date_at(-1) if len(self) else None

    def net(self) -> IntArray:
        """Return advances minus declines for each date."""
        result: IntArray = self.advances - self.declines
        return result

    def ad_line(self) -> FloatArray:
        """Return the advance-decline line: the running sum of advances minus declines.

        The line starts at the first row, so its level is arbitrary; indicators that only look
        at changes (MACD, which is unchanged by adding a constant) do not depend on it. Days
        the series lacks (a gap between files) are simply absent, not zero.
        """
        return np.cumsum(self.net()).astype(np.float64)

    def available_through(self, day: date) -> date | None:
        """Return the latest date with counts at or before ``day``, or None if there is none."""
        i = int(self.dates.searchsorted(np.datetime64(day, "D"), side="right"))
        return self.date_at(i - 1) if i else None

    def through(self, day: date) -> Breadth:
        """Return the rows dated at or before ``day``."""
        return self._head(int(self.dates.searchsorted(np.datetime64(day, "D"), side="right")))

    def before(self, day: date) -> Breadth:
        """Return the rows dated strictly before ``day`` (what is known during ``day``)."""
        return self._head(int(self.dates.searchsorted(np.datetime64(day, "D"), side="left")))

    def _head(self, stop: int) -> Breadth:
        # A head of checked rows passes the checks: read-only views, not checked again.
        head: Breadth = object.__new__(Breadth)
        for name, value in (
            ("dates", self.dates[:stop]),
            ("advances", self.advances[:stop]),
            ("declines", self.declines[:stop]),
            ("source", self.source),
            ("official", self.official),
        ):
            object.__setattr__(head, name, value)
        return head


def choose_breadth(series: Iterable[Breadth], day: date) -> Breadth | None:
    """Return the series with the most recent counts at or before ``day``.

    Ties go to official counts. None when no series has counts at or before ``day``.
    """
    best: tuple[date, bool] | None = None
    chosen: Breadth | None = None
    for candidate in series:
        latest = candidate.available_through(day)
        if latest is None:
            continue
        key = (latest, candidate.official)
        if best is None or key > best:
            best, chosen = key, candidate
    return chosen
