"""NYSE advancing and declining issues, daily, from two kinds of file.

* **Unicorn (official NYSE counts)**: a pair of header-less files, ``YYYYMMDD, count`` a line,
  one of advancing issues (``NYSE_advn_*.csv``) and one of declining issues
  (``NYSE_decln_*.csv``), with the same dates. Shipped: 1965-03-01 to 2015-11-11 and
  2017-01-03 to 2020-02-10 (nothing from 2015-11-12 to 2016-12-31, nothing after 2020-02-10).
  The files carry rows on days the NYSE was closed, repeating or nearly repeating the previous
  day's counts; `load_unicorn` drops weekend rows, rows in ``holidays`` and the closed days
  found by checking the files against the S&P 500 daily history (`UNICORN_CLOSED_DAYS`).
* **Publisher-computed** (``advance_decline_computed_*.csv``, 2023-06-21 to 2026-06-17): a CSV
  with a ``date`` column and ``<universe>_advancers`` / ``<universe>_decliners`` for the
  universes nyse, nyse_common, nasdaq, sp500, sp400 and sp600. These are **not official
  exchange counts**: the publisher counted its own list of about 1,550-1,700 NYSE names, about
  half the official count, so the line's shape is usable and its level is not.

There are no intraday breadth data and no data at all for 2020-02-11 to 2023-06-20 (so none
for the March 2023 replay days): callers ask `core.bars.Breadth.available_through` and say
which day they used.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Collection
from datetime import date
from pathlib import Path
from typing import Final

import numpy as np

from bot.adapters.market_data.common import DataFileError, read_text_as
from core.bars import Breadth, choose_breadth
from core.calendar import NYSE_HOLIDAYS

__all__ = [
    "COMPUTED_UNIVERSES",
    "UNICORN_CLOSED_DAYS",
    "BreadthFileError",
    "load_all_breadth",
    "load_breadth",
    "load_computed",
    "load_unicorn",
]

logger = logging.getLogger(__name__)

#: Universes in the publisher-computed file.
COMPUTED_UNIVERSES: Final = ("nyse", "nyse_common", "nasdaq", "sp500", "sp400", "sp600")


def _dates(text: str) -> frozenset[date]:
    return frozenset(date.fromisoformat(day) for day in text.split())


#: Rows of the shipped Unicorn files on days the NYSE did not trade (not in the S&P 500 daily
#: history), before 2019 where `core.calendar.NYSE_HOLIDAYS` begins. Includes 2007-01-02
#: (President Ford's funeral), 2018-12-05 (President G. H. W. Bush's) and a Saturday row.
UNICORN_CLOSED_DAYS: Final = _dates(
    "2002-07-04 2002-11-28 2004-04-09 2005-02-21 2005-05-30 2005-09-05 2005-11-24 "
    "2005-12-26 2006-01-02 2006-01-16 2006-02-20 2006-04-14 2006-05-29 2006-07-04 "
    "2006-09-04 2006-11-23 2006-12-25 2007-01-01 2007-01-02 2007-01-15 2007-02-19 "
    "2007-04-06 2007-05-28 2007-07-04 2007-12-25 2008-01-01 2008-02-18 2008-07-04 "
    "2008-11-27 2008-12-25 2009-10-24 2010-02-15 2015-07-03 2017-01-02 2018-01-15 "
    "2018-12-05"
)

UNICORN_SOURCE: Final = "Unicorn NYSE advances/declines (official exchange counts)"
COMPUTED_SOURCE: Final = (
    "publisher-computed advances/declines ({universe}), not official exchange counts"
)
#: File names `load_all_breadth` looks for (plain or ``.gz``).
_UNICORN_ADVANCES = "NYSE_advn_*.csv*"
_COMPUTED = "advance_decline_computed_*.csv*"


class BreadthFileError(DataFileError):
    """A breadth file that cannot be read, with the file, line, field and value at fault.

    Attributes:
        file: File name (no directories).
        line: 1-based line number, or None when the problem is not on one line.
        field: Column at fault, or None.
        value: The offending text, or None.
        problem: What was expected and what was found.
    """


def _read(path: Path) -> str:
    return read_text_as(path, BreadthFileError)


def _parse_date(text: str, *, file: str, line: int, field: str, example: str) -> date:
    try:
        # ISO 8601, basic (20200210, the Unicorn files) or extended (2023-06-21).
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BreadthFileError(
            file,
            f"expected a date like {example!r}, got {text!r}",
            line=line,
            field=field,
            value=text,
        ) from None


def _parse_count(text: str, *, file: str, line: int, field: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        value = -1
    if value < 0:
        raise BreadthFileError(
            file,
            f"expected a count of issues (a whole number >= 0), got {text!r}",
            line=line,
            field=field,
            value=text,
        )
    return value


def _read_counts(path: Path, field: str) -> dict[date, tuple[int, int]]:
    counts: dict[date, tuple[int, int]] = {}
    for number, raw in enumerate(_read(path).splitlines(), start=1):
        if not raw.strip():
            continue
        parts = raw.split(",")
        if len(parts) != 2:
            raise BreadthFileError(
                path.name,
                f"expected 2 fields (YYYYMMDD, count), got {len(parts)}",
                line=number,
                value=raw,
            )
        day = _parse_date(parts[0], file=path.name, line=number, field="date", example="20200210")
        count = _parse_count(parts[1], file=path.name, line=number, field=field)
        if day in counts:
            raise BreadthFileError(
                path.name,
                f"{day.isoformat()} appears twice (first on line {counts[day][0]})",
                line=number,
                field="date",
                value=parts[0],
            )
        counts[day] = (number, count)
    if not counts:
        raise BreadthFileError(path.name, "has no rows")
    return counts


def load_unicorn(
    *pairs: tuple[Path | str, Path | str],
    holidays: Collection[date] = NYSE_HOLIDAYS | UNICORN_CLOSED_DAYS,
) -> Breadth:
    """Load official NYSE counts from ``(advances, declines)`` Unicorn file pairs, as one series.

    Several pairs (different years) are merged; their dates must not overlap. Rows on weekends
    or in ``holidays`` are dropped.

    Raises:
        BreadthFileError: Naming file, line, field and value of a malformed line, or a date
            present in one file of a pair and not the other.
    """
    if not pairs:
        raise ValueError("load_unicorn needs at least one (advances, declines) pair of files")
    rows: dict[date, tuple[int, int]] = {}
    for adv_path, dec_path in pairs:
        adv_file, dec_file = Path(adv_path), Path(dec_path)
        adv = _read_counts(adv_file, "advances")
        dec = _read_counts(dec_file, "declines")
        for day in adv.keys() ^ dec.keys():
            in_adv = day in adv
            where, missing = (adv_file, dec_file) if in_adv else (dec_file, adv_file)
            raise BreadthFileError(
                where.name,
                f"{day.isoformat()} has no row in {missing.name}",
                line=(adv if in_adv else dec)[day][0],
                field="date",
                value=day.strftime("%Y%m%d"),
            )
        for day in adv:
            if day in rows:
                raise BreadthFileError(
                    adv_file.name,
                    f"{day.isoformat()} is also in an earlier file",
                    line=adv[day][0],
                    field="date",
                    value=day.strftime("%Y%m%d"),
                )
            rows[day] = (adv[day][1], dec[day][1])
    kept = sorted(day for day in rows if day.weekday() < 5 and day not in holidays)
    logger.debug("Unicorn breadth: dropped %d rows on closed days", len(rows) - len(kept))
    return Breadth(
        dates=np.array(kept, dtype="datetime64[D]"),
        advances=np.array([rows[d][0] for d in kept], dtype=np.int64),
        declines=np.array([rows[d][1] for d in kept], dtype=np.int64),
        source=UNICORN_SOURCE,
        official=True,
    )


def load_computed(path: Path | str, *, universe: str = "nyse") -> Breadth:
    """Load the publisher-computed counts of one universe (``official`` is False).

    Raises:
        BreadthFileError: If the universe's columns are missing or a line is malformed.
    """
    path = Path(path)
    if universe not in COMPUTED_UNIVERSES:
        raise ValueError(
            f"universe must be one of {', '.join(COMPUTED_UNIVERSES)}, was {universe!r}"
        )
    reader = csv.reader(_read(path).splitlines())
    header = next(reader, [])
    columns = ("date", f"{universe}_advancers", f"{universe}_decliners")
    missing = [c for c in columns if c not in header]
    if missing:
        raise BreadthFileError(
            path.name, f"header lacks column(s) {', '.join(missing)}", line=1, field=missing[0]
        )
    at = [header.index(c) for c in columns]
    days: list[date] = []
    advances: list[int] = []
    declines: list[int] = []
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise BreadthFileError(
                path.name,
                f"expected {len(header)} fields like the header, got {len(row)}",
                line=number,
            )
        days.append(
            _parse_date(row[at[0]], file=path.name, line=number, field="date", example="2023-06-21")
        )
        advances.append(_parse_count(row[at[1]], file=path.name, line=number, field=columns[1]))
        declines.append(_parse_count(row[at[2]], file=path.name, line=number, field=columns[2]))
    if not days:
        raise BreadthFileError(path.name, "has no rows")
    for i in range(1, len(days)):
        if days[i] <= days[i - 1]:
            raise BreadthFileError(
                path.name,
                f"dates must increase, {days[i].isoformat()} follows {days[i - 1].isoformat()}",
                line=i + 2,
                field="date",
                value=days[i].isoformat(),
            )
    return Breadth(
        dates=np.array(days, dtype="datetime64[D]"),
        advances=np.array(advances, dtype=np.int64),
        declines=np.array(declines, dtype=np.int64),
        source=COMPUTED_SOURCE.format(universe=universe),
        official=False,
    )


def load_all_breadth(directory: Path | str, *, universe: str = "nyse") -> tuple[Breadth, ...]:
    """Load every breadth series in ``directory``: the Unicorn pairs as one, the computed file.

    Raises:
        BreadthFileError: If a file is malformed or a Unicorn advances file has no declines
            file beside it.
        FileNotFoundError: If ``directory`` holds no breadth file.
    """
    directory = Path(directory)
    series: list[Breadth] = []
    pairs: list[tuple[Path, Path]] = []
    for adv in sorted(directory.glob(_UNICORN_ADVANCES)):
        dec = adv.with_name(adv.name.replace("_advn_", "_decln_"))
        if not dec.exists():
            raise BreadthFileError(adv.name, f"has no declines file {dec.name} beside it")
        pairs.append((adv, dec))
    if pairs:
        series.append(load_unicorn(*pairs))
    series.extend(load_computed(p, universe=universe) for p in sorted(directory.glob(_COMPUTED)))
    if not series:
        raise FileNotFoundError(f"no breadth files (NYSE_advn_*, advance_decline_*) in {directory}")
    return tuple(series)


def load_breadth(directory: Path | str, *, day: date, universe: str = "nyse") -> Breadth:
    """Return the series in ``directory`` with the most recent counts at or before ``day``.

    Official counts win ties. When no series reaches back to ``day``, the series that starts
    earliest is returned (its `Breadth.available_through` is then None), so a caller can always
    say "no data for <day>".

    Raises:
        BreadthFileError: If a file is malformed.
        FileNotFoundError: If ``directory`` holds no breadth file.
    """
    series = load_all_breadth(directory, universe=universe)
    chosen = choose_breadth(series, day)
    if chosen is None:
        return min(series, key=lambda s: s.first_date or date.max)
    return chosen
