"""VX futures history: the CFE daily settles of the nearest monthly contracts, by trade date.

Reads the continuous ``VX1 ... VX8`` file shipped in ``data/vix_futures/`` (see
``data/SOURCES.md``): a header ``,DATE,VIX,VX1,...,VX8,SP500`` (the first column an unnamed row
index), dates ``YYYY-MM-DD`` strictly ascending, values positive numbers. VXn on a trade date is
the n-th monthly contract settling strictly after it (`core.vix.VxCurve.from_nearest`; checked
against the raw CFE files, see ``data/SOURCES.md``). Files may be gzipped.

`VxHistory.known_at` gives the curve known at a moment without looking ahead: a trade date's
settles only from `SETTLE_DELAY` after that day's close (CFE computes the daily settlement
around 15:15 Chicago time, 16:15 New York), the previous trading day's before.
"""

from __future__ import annotations

import csv
import io
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Final

from bot.adapters.market_data.common import (
    DataFileError,
    parse_positive,
    read_text_as,
)
from bot.adapters.market_data.index_history import IndexHistory, VolIndices
from core.calendar import NEW_YORK, session_close, vix_settlements_between
from core.vix import VxCurve, estimate_vix_future

__all__ = [
    "SETTLE_DELAY",
    "VX_HISTORY_FILE",
    "VX_RECENT_FILE",
    "VxFileError",
    "VxHistory",
    "estimate_gaps",
    "load_vx_history",
    "load_vx_recent",
]

#: The shipped file, relative to the data directory.
VX_HISTORY_FILE: Final = "vix_futures/vix_futures_continuous_VX1-VX8_2007_2021.csv.gz"
#: A trade date's settles are known this long after its close (16:15 ET on a normal day).
SETTLE_DELAY: Final = timedelta(minutes=15)
#: Daily VX1 and VX2 prices of 2026-02-24 ... 04-16, closes rather than CFE settles (see
#: ``data/SOURCES.md``): the only VX prices after 2021 shipped, an out-of-sample check on the
#: estimate the backtest uses there (`estimate_gaps`); the backtest does not read them.
VX_RECENT_FILE: Final = "vix_futures/vx1_vx2_2026-02_2026-04.csv.gz"
_RECENT_HEADER: Final = ("date", "vx1", "vx2", "vx1_volume", "vx2_volume", "spread", "volume")
_CONTRACTS: Final = tuple(f"VX{n}" for n in range(1, 9))
_HEADER: Final = ("", "DATE", "VIX", *_CONTRACTS, "SP500")


class VxFileError(DataFileError):
    """A VX history file that cannot be read, naming the file, line, field and value."""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class VxHistory:
    """The VX curve of every trade date in a file.

    Attributes:
        source: Where the settles came from, for people (the file name).
        curves: Trade date -> that day's curve.
    """

    source: str
    curves: dict[date, VxCurve]
    _dates: tuple[date, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_dates", tuple(sorted(self.curves)))

    @property
    def first(self) -> date:
        """The first trade date of the file."""
        return self._dates[0]

    @property
    def last(self) -> date:
        """The last trade date of the file."""
        return self._dates[-1]

    def curve_on(self, day: date) -> VxCurve | None:
        """The settles of trade date `day` (None if the file has none that day)."""
        return self.curves.get(day)

    def known_at(self, when: datetime) -> VxCurve | None:
        """The latest curve whose settles were published by `when` (aware), without look-ahead.

        During a session (and before `SETTLE_DELAY` after its close) that is the previous
        trading day's curve; from 16:15 ET (close + 15 minutes) the day's own. None when
        `when` falls outside the file's dates (before its first trade date's settles, or on a
        day after its last trade date).

        Raises:
            ValueError: If `when` is naive.
        """
        if when.tzinfo is None:
            raise ValueError(f"when must be timezone-aware, was {when!r}")
        local = when.astimezone(NEW_YORK)
        day = local.date()
        if not self._dates or day > self._dates[-1]:
            return None
        own = self.curves.get(day)
        if own is not None and local >= session_close(day) + SETTLE_DELAY:
            return own
        i = bisect_right(self._dates, day - timedelta(days=1)) - 1
        return self.curves[self._dates[i]] if i >= 0 else None


def load_vx_history(path: Path | str) -> VxHistory:
    """Read the continuous VX1 ... VX8 settles file (``.csv`` or ``.csv.gz``).

    Raises:
        VxFileError: Naming file, line, field and value of the first problem: a missing file,
            an unknown header, a bad date, a non-positive or non-numeric value, a date out of
            order or repeated.
    """
    file = Path(path).name
    curves: dict[date, VxCurve] = {}
    for line_no, day, cells in _dated_rows(Path(path), _HEADER, date_column=1):
        vix = _parse_value(cells[2], file=file, line=line_no, field="VIX")
        settles = [
            _parse_value(cell, file=file, line=line_no, field=name)
            for cell, name in zip(cells[3:11], _CONTRACTS, strict=True)
        ]
        curves[day] = VxCurve.from_nearest(day, vix, settles, source=f"CFE settles ({file})")
    if not curves:
        raise VxFileError(file, "has a header but no values")
    return VxHistory(source=file, curves=curves)


def load_vx_recent(path: Path | str, vix: IndexHistory) -> VxHistory:
    """Read the 2026 VX1/VX2 closes file (`VX_RECENT_FILE`) as curves of two contracts.

    `vix` gives each trade date's spot VIX close (the curve's t = 0 end); a date without one is
    an error. A VIX settlement day is left out: which contract the file calls VX1 then
    is not stable (on 2026-04-15 the expiring one, with no volume; on 2026-03-18 the next).

    Raises:
        VxFileError: Naming file, line, field and value of the first problem, as
            `load_vx_history`.
    """
    file = Path(path).name
    curves: dict[date, VxCurve] = {}
    for line_no, day, cells in _dated_rows(Path(path), _RECENT_HEADER, date_column=0):
        prices = [_parse_value(cells[n], file=file, line=line_no, field=f"vx{n}") for n in (1, 2)]
        if vix_settlements_between(day, day):
            continue
        if day not in vix:
            raise VxFileError(
                file, f"no spot VIX close for {day}", line=line_no, field="date", value=cells[0]
            )
        curves[day] = VxCurve.from_nearest(
            day, vix.close_on(day), prices, source=f"VX closes ({file})"
        )
    if not curves:
        raise VxFileError(file, "has a header but no values")
    return VxHistory(source=file, curves=curves)


def estimate_gaps(
    vx: VxHistory, indices: VolIndices, contracts: int = 2
) -> list[tuple[date, date, float, float]]:
    """The term-structure estimate against each curve's first `contracts` prices.

    Each estimate (`core.vix.estimate_vix_future`) is made from the day's VIX, VIX9D, VIX3M and
    VVIX closes at the curve's close (16:00 ET plus `SETTLE_DELAY`) for the contract's
    settlement at 09:30 ET. Returns (trade date, settlement, price, estimate) for every contract
    priced, skipping days one of those indices has no close for (VIX9D starts 2011-01-04) and
    days whose term structure admits no consistent forward (the estimate's own error).
    """
    series = (indices.vix, indices.vix9d, indices.vix3m, indices.vvix)
    gaps: list[tuple[date, date, float, float]] = []
    for day, curve in sorted(vx.curves.items()):
        if not all(day in s for s in series):
            continue
        vix, vix9d, vix3m, vvix = (s.close_on(day) for s in series)
        close = session_close(day) + SETTLE_DELAY
        for settlement, price in curve.points[:contracts]:
            settles_at = datetime.combine(settlement, time(9, 30), NEW_YORK)
            t_years = (settles_at - close).total_seconds() / (365.0 * 24 * 3600)
            try:
                estimate = estimate_vix_future(vix, vix9d, vix3m, t_years, vvix=vvix).price
            except ValueError:
                continue
            gaps.append((day, settlement, price, estimate))
    return gaps


def _dated_rows(
    path: Path, header: tuple[str, ...], *, date_column: int
) -> Iterator[tuple[int, date, list[str]]]:
    # The file's rows after `header` as (line number, date, cells), blank lines skipped; a wrong
    # header, field count, date or order raises `VxFileError` naming the line.
    file = path.name
    rows = csv.reader(io.StringIO(read_text_as(path, VxFileError)))
    found = tuple(h.strip() for h in next(rows, []))
    if found != header:
        raise VxFileError(
            file, f"expected the header {','.join(header)!r}, got {','.join(found)!r}", line=1
        )
    field = header[date_column]
    previous: date | None = None
    for line_no, row in enumerate(rows, start=2):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        if len(cells) != len(header):
            raise VxFileError(
                file,
                f"expected {len(header)} fields, got {len(cells)}",
                line=line_no,
                value=",".join(row),
            )
        text = cells[date_column]
        day = _parse_date(text, file=file, line=line_no, field=field)
        if previous is not None and day <= previous:
            order = "repeats" if day == previous else "comes before"
            raise VxFileError(
                file,
                f"dates must be strictly ascending; {day} {order} {previous} on the line above",
                line=line_no,
                field=field,
                value=text,
            )
        previous = day
        yield line_no, day, cells


def _parse_date(text: str, *, file: str, line: int, field: str = "DATE") -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise VxFileError(
            file, f"expected a date YYYY-MM-DD, got {text!r}", line=line, field=field, value=text
        ) from None


def _parse_value(text: str, *, file: str, line: int, field: str) -> float:
    return parse_positive(text, error=VxFileError, file=file, line=line, field=field)
