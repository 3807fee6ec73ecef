"""Intraday index bars in FirstRate Data's text layout, one bar a line, no header.

Each line is ``YYYY-MM-DD HH:MM:SS,open,high,low,close`` (an index has no volume). Timestamps
are naive **New York** wall-clock times of the bar's **start**: the 1-minute bar stamped
09:30:00 covers 09:30:00-09:30:59 and carries the opening print (checked on the March 2023 SPX
sample: the 09:30 bar opens at the day's official open, each 5-minute bar is exactly the
aggregate of the 1-minute bars starting at and after its stamp, and a day's bars span its
official high and low). FirstRate's SPX files run 09:30-16:05: bars stamped 16:00 and later
hold the closing and settlement prints, and the last bar's close is the official close (the
16:00 bar's close is not always). Only bars with activity are included, so a quiet minute may
be missing: run `core.bars.check_bars` to find gaps.

Files may be plain text or gzipped (``.txt.gz``). Problems raise `BarsFileError` naming the
file, line, field and value. A NaN or blank price is an error, not a missing value: a bar
without a price is no bar.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Final

import numpy as np

from bot.adapters.market_data.common import DataFileError, read_text_as
from core.bars import Bars
from core.calendar import NEW_YORK

__all__ = ["FIELDS", "SOURCE_NAME", "BarsFileError", "list_days", "load_bars"]

SOURCE_NAME: Final = "FirstRate Data bars"
#: Field names, in file order, used in error messages.
FIELDS: Final = ("time", "open", "high", "low", "close")
_INTERVAL_IN_NAME = re.compile(r"(\d+)\s*min", re.IGNORECASE)


class BarsFileError(DataFileError):
    """A bars file that cannot be read, with the file, line, field and value at fault.

    The message reads like ``SPX_1min.txt line 57, field 'high': expected a number, got 'abc'``.

    Attributes:
        file: File name (no directories).
        line: 1-based line number, or None when the problem is not on one line.
        field: Field at fault (``time``, ``open``, ``high``, ``low``, ``close``), or None.
        value: The offending text, or None.
        problem: What was expected and what was found.
    """


def _read(path: Path) -> str:
    return read_text_as(path, BarsFileError)


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    for number, raw in enumerate(_read(path).splitlines(), start=1):
        if raw.strip():
            yield number, raw


def _parse_time(text: str, *, file: str, line: int) -> datetime:
    token = text.strip()
    try:
        naive = datetime.strptime(token, "%Y-%m-%d %H:%M:%S")  # noqa: DTZ007 - New York, below
    except ValueError:
        try:
            naive = datetime.strptime(token, "%Y-%m-%d %H:%M")  # noqa: DTZ007 - New York, below
        except ValueError:
            raise BarsFileError(
                file,
                f"expected a time like '2023-03-22 09:30:00' (New York), got {text!r}",
                line=line,
                field="time",
                value=text,
            ) from None
    if naive.second:
        raise BarsFileError(
            file,
            f"expected a bar start on a whole minute, got {text!r}",
            line=line,
            field="time",
            value=text,
        )
    local = naive.replace(tzinfo=NEW_YORK)
    back = local.astimezone(UTC).astimezone(NEW_YORK).replace(tzinfo=None)
    if back != naive or local.utcoffset() != naive.replace(tzinfo=NEW_YORK, fold=1).utcoffset():
        raise BarsFileError(
            file,
            f"{text.strip()} does not name one moment in New York time (daylight-saving change)",
            line=line,
            field="time",
            value=text,
        )
    return local


def _parse_price(text: str, *, file: str, line: int, field: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise BarsFileError(
            file, f"expected a number, got {text!r}", line=line, field=field, value=text
        ) from None
    if not math.isfinite(value):
        raise BarsFileError(
            file,
            f"expected a finite price, got {text.strip()!r}: a bar without a price is no bar",
            line=line,
            field=field,
            value=text,
        )
    return value


def _parse(path: Path) -> list[tuple[int, datetime, tuple[float, float, float, float]]]:
    name = path.name
    rows = []
    for number, raw in _lines(path):
        fields = raw.split(",")
        if len(fields) != len(FIELDS):
            raise BarsFileError(
                name,
                f"expected {len(FIELDS)} comma-separated fields ({', '.join(FIELDS)}), "
                f"got {len(fields)}",
                line=number,
                value=raw,
            )
        start = _parse_time(fields[0], file=name, line=number)
        o, h, lo, c = (
            _parse_price(text, file=name, line=number, field=field)
            for text, field in zip(fields[1:], FIELDS[1:], strict=True)
        )
        rows.append((number, start, (o, h, lo, c)))
    if not rows:
        raise BarsFileError(name, "has no bars")
    return rows


def _interval(starts: list[datetime], path: Path) -> int:
    steps: Counter[int] = Counter()
    for before, after in itertools.pairwise(starts):
        step = (after - before) // timedelta(minutes=1)
        if 0 < step < 60 and before.date() == after.date():
            steps[step] += 1
    if steps:
        return steps.most_common(1)[0][0]
    match = _INTERVAL_IN_NAME.search(path.name)
    return int(match.group(1)) if match else 1


def list_days(path: Path | str) -> tuple[date, ...]:
    """Return the New York dates a bars file holds, ascending.

    Raises:
        BarsFileError: If the file cannot be read or a line is malformed.
    """
    path = Path(path)
    return tuple(sorted({start.date() for _, start, _ in _parse(path)}))


def load_bars(
    path: Path | str,
    *,
    day: date | None = None,
    symbol: str = "SPX",
    interval_minutes: int | None = None,
) -> Bars:
    """Load a FirstRate-style bars file (plain or gzipped) as `Bars`, in file order.

    Args:
        path: The file, e.g. ``data/intraday/SPX_1min_2023-03-16_2023-03-31.txt.gz``.
        day: The New York session date wanted; None loads every day in the file.
        symbol: Instrument the file holds (the format does not say).
        interval_minutes: Bar length; None infers it from the most common step between
            consecutive bars of a day (or the ``1min``/``5min`` in the file name).

    Raises:
        BarsFileError: Naming file, line, field and value of the first malformed line; or the
            days present when ``day`` is not in the file.
    """
    path = Path(path)
    rows = _parse(path)
    starts = [start for _, start, _ in rows]
    interval = interval_minutes or _interval(starts, path)
    if day is not None:
        picked = [row for row in rows if row[1].date() == day]
        if not picked:
            days = sorted({start.date() for start in starts})
            raise BarsFileError(
                path.name,
                f"has no bars for {day.isoformat()}; it holds {len(days)} day(s): "
                f"{', '.join(d.isoformat() for d in days)}",
            )
        rows = picked
    prices = np.array([p for _, _, p in rows], dtype=np.float64).reshape(-1, 4)
    times = np.array(
        [np.datetime64(s.astimezone(UTC).replace(tzinfo=None), "m") for _, s, _ in rows],
        dtype="datetime64[m]",
    )
    return Bars(
        symbol=symbol,
        source=f"{SOURCE_NAME} {path.name}",
        interval_minutes=interval,
        times=times,
        open=prices[:, 0],
        high=prices[:, 1],
        low=prices[:, 2],
        close=prices[:, 3],
    )
