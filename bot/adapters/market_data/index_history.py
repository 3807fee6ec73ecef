"""Cboe index history CSVs (VIX, VIX9D, VIX3M, VIX6M, VVIX, SKEW): daily values by trading day.

Two layouts, both as Cboe publishes them (``cdn.cboe.com/api/global/us_indices/daily_prices``):

* ``DATE,OPEN,HIGH,LOW,CLOSE`` (VIX, VIX9D, VIX3M, VIX6M);
* ``DATE,<NAME>`` with one closing value (SKEW, VVIX).

Dates are ``MM/DD/YYYY`` (ISO ``YYYY-MM-DD`` is accepted too) and must be strictly ascending;
values must be positive numbers. Index levels are printed to the cent, so every value is rounded
to the cent on reading: the SPX daily file (Yahoo's ``^GSPC``, read here too) stores 32-bit
renderings of the prints (4697.240234375 for 4697.24), and a trade settles on the print itself.
Cboe's files carry a few bars whose open or close lies outside the high-low range (47 in VIX's
1990-2026 file): they are kept as printed. Files may be gzipped.

`VolIndices.levels_at` turns the series into the `core.surface.IndexLevels` of one moment
without looking ahead: before a session opens the previous close, during it the day's open (the
close-only SKEW from the previous day), after the 16:00 close the close.
"""

from __future__ import annotations

import csv
import io
import math
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray

from bot.adapters.market_data.common import ChainFileError, parse_positive, read_text_as
from core.calendar import NEW_YORK, session_close, session_open
from core.surface import IndexLevels
from core.vix import TERM_MODEL_VERSION, modelled_vix3m, modelled_vix9d

__all__ = [
    "IndexFileError",
    "IndexHistory",
    "VolIndices",
    "load_index_history",
    "load_vol_indices",
]

_OHLC: Final = ("OPEN", "HIGH", "LOW", "CLOSE")
#: File name of each series in a data directory, plain or gzipped.
_FILES: Final = {
    "VIX": "VIX_History.csv",
    "VIX9D": "VIX9D_History.csv",
    "VIX3M": "VIX3M_History.csv",
    "SKEW": "SKEW_History.csv",
    "VVIX": "VVIX_History.csv",
}


class IndexFileError(ChainFileError):
    """An index history file that cannot be read, naming the file, line, field and value."""


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class IndexHistory:
    """One daily index series, ascending by date.

    Attributes:
        name: Series name, e.g. "VIX" (from the single value column, else the file name).
        source: Where the values came from, for people (the file name).
        dates: Trading days, strictly ascending.
        open, high, low: Daily values; NaN throughout for close-only series (SKEW, VVIX).
        close: Closing values.
    """

    name: str
    source: str
    dates: tuple[date, ...]
    open: NDArray[np.float64]
    high: NDArray[np.float64]
    low: NDArray[np.float64]
    close: NDArray[np.float64]
    _index: dict[date, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        n = len(self.dates)
        for name in ("open", "high", "low", "close"):
            if getattr(self, name).shape != (n,):
                raise ValueError(
                    f"{name} must have one value per date ({n}), has shape "
                    f"{getattr(self, name).shape}"
                )
        object.__setattr__(self, "_index", {d: i for i, d in enumerate(self.dates)})

    def __len__(self) -> int:
        return len(self.dates)

    def __contains__(self, day: object) -> bool:
        return day in self._index

    @property
    def has_open(self) -> bool:
        """Whether the series prints an open (OHLC layout) rather than a close only."""
        return bool(np.isfinite(self.open).any())

    def close_on(self, day: date) -> float:
        """Return the close of ``day``.

        Raises:
            KeyError: Naming the series and the day when the file has no value that day.
        """
        return float(self.close[self._row(day)])

    def open_on(self, day: date) -> float:
        """Return the open of ``day``.

        Raises:
            KeyError: When the file has no value that day, or the series prints closes only.
        """
        value = float(self.open[self._row(day)])
        if math.isnan(value):
            raise KeyError(f"{self.name} ({self.source}) prints closes only: no open on {day}")
        return value

    def latest_at_or_before(self, day: date) -> tuple[date, float]:
        """Return the last (date, close) on or before ``day``.

        Raises:
            KeyError: If the series starts after ``day``.
        """
        i = bisect_right(self.dates, day) - 1
        if i < 0:
            first = self.dates[0] if self.dates else None
            raise KeyError(
                f"{self.name} ({self.source}) has no value on or before {day} (first: {first})"
            )
        return self.dates[i], float(self.close[i])

    def _row(self, day: date) -> int:
        try:
            return self._index[day]
        except KeyError:
            span = f"{self.dates[0]} to {self.dates[-1]}" if self.dates else "no dates"
            raise KeyError(f"{self.name} ({self.source}) has no value on {day} ({span})") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class VolIndices:
    """The Cboe volatility indices that drive `core.surface`."""

    vix: IndexHistory
    vix9d: IndexHistory
    vix3m: IndexHistory
    skew: IndexHistory
    vvix: IndexHistory
    #: The first printed VIX3M and VIX9D when earlier days were modelled
    #: (`with_modelled_term_structure`); None: every value is Cboe's.
    vix3m_printed_from: date | None = None
    vix9d_printed_from: date | None = None

    def with_modelled_term_structure(self, vix6m: IndexHistory) -> VolIndices:
        """These indices with VIX3M and VIX9D modelled on the days before Cboe printed them.

        VIX3M from VIX and VIX6M (`core.vix.modelled_vix3m`) on days with both before its
        first print; VIX9D from VIX and that VIX3M (`core.vix.modelled_vix9d`) before its own.
        A close is modelled from the day's closes; an open from the day's VIX open and the
        previous VIX6M close, the latest known at the open (VIX6M's early rows print no
        open). `term_note` names the modelled series of a day; `levels_at` and `levels_on`
        add it to what they say was observed. Gaps after a series' first print stay gaps.
        """
        first3, first9 = self.vix3m.dates[0], self.vix9d.dates[0]
        previous = dict(zip(vix6m.dates[1:], vix6m.dates, strict=False))
        days3 = [d for d in vix6m.dates if d < first3 and d in self.vix and d in previous]
        vix_open = np.array([self.vix.open_on(d) for d in days3])
        vix_close = np.array([self.vix.close_on(d) for d in days3])
        vix3m = _prepended(
            self.vix3m,
            days3,
            modelled_vix3m(vix_open, [vix6m.close_on(previous[d]) for d in days3]),
            modelled_vix3m(vix_close, [vix6m.close_on(d) for d in days3]),
            f"modelled from VIX and VIX6M ({TERM_MODEL_VERSION}) before {first3}",
        )
        days9 = [d for d in vix3m.dates if d < first9 and d in self.vix]
        vix9d = _prepended(
            self.vix9d,
            days9,
            modelled_vix9d([self.vix.open_on(d) for d in days9], [vix3m.open_on(d) for d in days9]),
            modelled_vix9d(
                [self.vix.close_on(d) for d in days9], [vix3m.close_on(d) for d in days9]
            ),
            f"modelled from VIX and VIX3M ({TERM_MODEL_VERSION}) before {first9}",
        )
        return replace(
            self,
            vix3m=vix3m,
            vix9d=vix9d,
            vix3m_printed_from=first3,
            vix9d_printed_from=first9,
        )

    def term_note(self, day: date) -> str:
        """Which of VIX3M and VIX9D are modelled on `day`, in words ("": both are Cboe's)."""
        modelled = [
            name
            for name, first in (
                ("VIX3M", self.vix3m_printed_from),
                ("VIX9D", self.vix9d_printed_from),
            )
            if first is not None and day < first
        ]
        if not modelled:
            return ""
        return (
            f"{' and '.join(modelled)} of {day:%Y-%m-%d} modelled ({TERM_MODEL_VERSION}, "
            "core.vix: Cboe did not publish them yet)"
        )

    def _observed(self, text: str, day: date) -> str:
        note = self.term_note(day)
        return f"{text}; {note}" if note else text

    def levels_on(self, day: date) -> IndexLevels:
        """Return the closes of ``day`` as `IndexLevels`.

        Raises:
            KeyError: Naming the series and the day when one of them has no value that day.
        """
        return IndexLevels(
            vix=self.vix.close_on(day),
            vix9d=self.vix9d.close_on(day),
            vix3m=self.vix3m.close_on(day),
            skew=self.skew.close_on(day),
            observed=self._observed(f"VIX/VIX9D/VIX3M/SKEW closes of {day:%Y-%m-%d}", day),
        )

    def levels_at(self, when: datetime) -> IndexLevels:
        """Return the index levels known at ``when``, without looking ahead.

        Before the day's 09:30 open (or on a day without a value): the latest closes. From the
        open to the 16:00 close: the day's opening values of VIX, VIX9D and VIX3M, and the
        previous close of SKEW (Cboe prints SKEW's close only). From the close on: the day's
        closes (Cboe's indices settle at 16:15, so between 16:00 and 16:15 this looks up to 15
        minutes ahead; callers marking the close rely on it). Cboe's
        opening values are the first calculation of the day and can be noisy: a chain modelled
        from them says so in its ``observed`` text.

        Raises:
            ValueError: If ``when`` is naive.
            KeyError: If a series has no value on or before the day.
        """
        if when.tzinfo is None:
            raise ValueError(f"when must be timezone-aware, was {when!r}")
        local = when.astimezone(NEW_YORK)
        day = local.date()
        vix, vix9d, vix3m = self.vix, self.vix9d, self.vix3m
        listed = day in vix and day in vix9d and day in vix3m
        if listed and local >= session_open(day):
            if local >= session_close(day):
                return self.levels_on(day)
            skew_day, skew = self.skew.latest_at_or_before(_day_before(day))
            return IndexLevels(
                vix=vix.open_on(day),
                vix9d=vix9d.open_on(day),
                vix3m=vix3m.open_on(day),
                skew=skew,
                observed=self._observed(
                    f"VIX/VIX9D/VIX3M opening values of {day:%Y-%m-%d}, SKEW close of "
                    f"{skew_day:%Y-%m-%d}",
                    day,
                ),
            )
        before = _day_before(day)
        # Each series' latest close up to the day before, looked up once (in this order: a
        # series that starts later raises its own KeyError first).
        series = (vix, vix9d, vix3m, self.skew)
        latest = [s.latest_at_or_before(before) for s in series]
        days = {s.name: d for s, (d, _) in zip(series, latest, strict=True)}
        last = min(days.values())
        return IndexLevels(
            vix=latest[0][1],
            vix9d=latest[1][1],
            vix3m=latest[2][1],
            skew=latest[3][1],
            observed=self._observed(f"VIX/VIX9D/VIX3M/SKEW closes of {last:%Y-%m-%d}", last),
        )


def _prepended(
    series: IndexHistory,
    days: list[date],
    opens: NDArray[np.float64],
    closes: NDArray[np.float64],
    how: str,
) -> IndexHistory:
    # `series` with modelled rows on `days` (all before its first) in front; no high or low.
    if not days:
        return series
    nan = np.full(len(days), np.nan)
    return IndexHistory(
        name=series.name,
        source=f"{series.source}; {how}",
        dates=(*days, *series.dates),
        open=np.concatenate([opens, series.open]),
        high=np.concatenate([nan, series.high]),
        low=np.concatenate([nan, series.low]),
        close=np.concatenate([closes, series.close]),
    )


def _day_before(day: date) -> date:
    return date.fromordinal(day.toordinal() - 1)


def load_index_history(path: Path | str, *, name: str | None = None) -> IndexHistory:
    """Read one Cboe index history CSV (OHLC or single-value layout, ``.csv`` or ``.csv.gz``).

    Args:
        path: The file.
        name: Series name; default the single value column's header (SKEW, VVIX), else the file
            name up to ``_History`` (``VIX9D_History.csv`` -> "VIX9D").

    Raises:
        IndexFileError: Naming file, line, field and value of the first problem: a missing
            file, an unknown header, a bad date, a non-positive or non-numeric value, a date out
            of order or repeated.
    """
    path = Path(path)
    file = path.name
    text = read_text_as(path, IndexFileError)
    rows = csv.reader(io.StringIO(text))
    raw = [h.strip() for h in next(rows)]
    while raw and not raw[-1]:
        raw.pop()
    header = [h.upper() for h in raw]
    if len(header) == 5 and header[0] == "DATE" and tuple(header[1:]) == _OHLC:
        columns: tuple[str, ...] = tuple(raw[1:])
        series = name or _name_from_file(file)
    elif len(header) == 2 and header[0] == "DATE" and header[1]:
        columns = (raw[1],)
        series = name or header[1]
    else:
        raise IndexFileError(
            file,
            "expected a header 'DATE,OPEN,HIGH,LOW,CLOSE' or 'DATE,<NAME>', got "
            f"{','.join(header)!r}",
            line=1,
        )
    dates, values = _read_rows(rows, file=file, date_field=raw[0], columns=columns)
    if not dates:
        raise IndexFileError(file, "has a header but no values")
    table = np.array(values, dtype=np.float64)
    if len(columns) == 1:
        nan = np.full(len(dates), np.nan)
        o, h, lo, c = nan, nan.copy(), nan.copy(), table[:, 0]
    else:
        o, h, lo, c = table[:, 0], table[:, 1], table[:, 2], table[:, 3]
    arrays = []
    for a in (o, h, lo, c):
        frozen = np.ascontiguousarray(a)
        frozen.flags.writeable = False
        arrays.append(frozen)
    return IndexHistory(
        name=series,
        source=file,
        dates=tuple(dates),
        open=arrays[0],
        high=arrays[1],
        low=arrays[2],
        close=arrays[3],
    )


def load_vol_indices(data_dir: Path | str) -> VolIndices:
    """Load VIX, VIX9D, VIX3M, SKEW and VVIX from ``<data_dir>/<NAME>_History.csv[.gz]``.

    Raises:
        IndexFileError: If a file is missing or unreadable.
    """
    data_dir = Path(data_dir)
    loaded: dict[str, IndexHistory] = {}
    for series, file in _FILES.items():
        plain = data_dir / file
        gz = data_dir / f"{file}.gz"
        path = gz if gz.exists() or not plain.exists() else plain
        loaded[series] = load_index_history(path, name=series)
    return VolIndices(
        vix=loaded["VIX"],
        vix9d=loaded["VIX9D"],
        vix3m=loaded["VIX3M"],
        skew=loaded["SKEW"],
        vvix=loaded["VVIX"],
    )


def _read_rows(
    rows: Iterator[list[str]], *, file: str, date_field: str, columns: tuple[str, ...]
) -> tuple[list[date], list[list[float]]]:
    dates: list[date] = []
    values: list[list[float]] = []
    for line_no, row in enumerate(rows, start=2):
        cells = [c.strip() for c in row]
        while cells and not cells[-1]:
            cells.pop()
        if not cells:
            continue
        if len(cells) != 1 + len(columns):
            raise IndexFileError(
                file,
                f"expected {1 + len(columns)} fields, got {len(cells)}",
                line=line_no,
                value=",".join(row),
            )
        day = _parse_date(cells[0], file=file, line=line_no, field=date_field)
        if dates and day <= dates[-1]:
            order = "repeats" if day == dates[-1] else "comes before"
            raise IndexFileError(
                file,
                f"dates must be strictly ascending; {day} {order} {dates[-1]} on the line above",
                line=line_no,
                field=date_field,
                value=cells[0],
            )
        dates.append(day)
        values.append(
            [
                _parse_value(cell, file=file, line=line_no, field=col)
                for cell, col in zip(cells[1:], columns, strict=True)
            ]
        )
    return dates, values


def _name_from_file(file: str) -> str:
    stem = file.split(".", 1)[0]
    return stem.removesuffix("_History").upper() or stem


def _parse_date(text: str, *, file: str, line: int, field: str) -> date:
    try:
        if "/" in text:
            month, day, year = (int(p) for p in text.split("/"))
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        raise IndexFileError(
            file,
            f"expected a date MM/DD/YYYY or YYYY-MM-DD, got {text!r}",
            line=line,
            field=field,
            value=text,
        ) from None


def _parse_value(text: str, *, file: str, line: int, field: str) -> float:
    # To the cent (the module's docstring says why).
    cents = round(parse_positive(text, error=IndexFileError, file=file, line=line, field=field), 2)
    if cents <= 0:
        raise IndexFileError(
            file, f"expected at least 0.01, got {text!r}", line=line, field=field, value=text
        )
    return cents
