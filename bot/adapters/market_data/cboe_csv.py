"""Cboe delayed-quotes "Download CSV" files: one snapshot of the whole chain.

Layouts read (all seen in real downloads):

* line 1, the index: ``S&P 500 INDEX,Last: 4697.2402,Change:  8.5602`` or, in the 2020 layout,
  ``^SPX (Standard & Poors 500 Index),2304.92,-104.4701``;
* line 2, the download time in the browser's locale: ``"Date: January 7, 2024 at 10:52 AM
  EST"``, ``February 5 2022, 8:09 PM EST``, ``14 March 2026 at 07:34 GMT-4``, Spanish
  ``23 de marzo de 2022, 10:11 GMT-4``, Russian ``9 декабря 2023 ... в 13:49 GMT-5``, or the 2020
  ``Mar 22 2020 @ 18:24 ET``;
* line 3, the header: ``Expiration Date,Calls,<call fields>,Strike,Puts,<put fields>`` with
  ``Volume``/``Open Interest`` or ``Vol``/``Open Int``, with or without ``IV,Delta,Gamma``;
* one row per (expiry, strike): the call on the left, the put on the right; expiries as
  ``Fri Jan 05 2024`` or ``03/23/2020``.

Blank or all-comma lines before line 1, trailing empty cells (spreadsheet round trips), CRLF
line ends, a UTF-8 BOM and gzip compression are accepted. The root, expiry, right and strike are
read from each OCC symbol and cross-checked against the ``Expiration Date`` and ``Strike``
columns.

The quote time is derived from the download time by `common.quote_time_at`. A directory of such
files taken from the same page state (e.g. one file per expiry) loads as one chain.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Final

from bot.adapters.market_data.common import (
    ChainFileError,
    dedupe,
    parse_number,
    parse_occ_symbol,
    quote_time_at,
    read_text,
)
from core.calendar import NEW_YORK
from core.chain import DEFAULT_MAX_QUOTE_AGE, OptionChain, OptionQuotes, QuoteRecord, build_chain

SOURCE_NAME: Final = "Cboe delayed quotes CSV"

#: Header spellings of each per-side field, mapped to our names.
_FIELDS: Final[dict[str, str]] = {
    "last sale": "last",
    "net": "net",
    "bid": "bid",
    "ask": "ask",
    "volume": "volume",
    "vol": "volume",
    "iv": "iv",
    "delta": "delta",
    "gamma": "gamma",
    "open interest": "open_interest",
    "open int": "open_interest",
}
_REQUIRED: Final = ("bid", "ask")

_MONTHS: Final[dict[str, int]] = {
    **{
        name: i + 1
        for i, names in enumerate(
            (
                ("january", "jan"),
                ("february", "feb"),
                ("march", "mar"),
                ("april", "apr"),
                ("may",),
                ("june", "jun"),
                ("july", "jul"),
                ("august", "aug"),
                ("september", "sep", "sept"),
                ("october", "oct"),
                ("november", "nov"),
                ("december", "dec"),
            )
        )
        for name in names
    },
    # Spanish
    **{
        name: i + 1
        for i, name in enumerate(
            (
                "enero",
                "febrero",
                "marzo",
                "abril",
                "mayo",
                "junio",
                "julio",
                "agosto",
                "septiembre",
                "octubre",
                "noviembre",
                "diciembre",
            )
        )
    },
    "setiembre": 9,
    # Russian, genitive ("9 декабря 2023") and nominative
    **{
        name: i + 1
        for i, name in enumerate(
            (
                "января",
                "февраля",
                "марта",
                "апреля",
                "мая",
                "июня",
                "июля",
                "августа",
                "сентября",
                "октября",
                "ноября",
                "декабря",
            )
        )
    },
    **{
        name: i + 1
        for i, name in enumerate(
            (
                "январь",
                "февраль",
                "март",
                "апрель",
                "май",
                "июнь",
                "июль",
                "август",
                "сентябрь",
                "октябрь",
                "ноябрь",
                "декабрь",
            )
        )
    },
}

#: Named zones printed by Cboe's page; "ET" follows New York's daylight saving.
_ZONES: Final[dict[str, tzinfo]] = {
    "et": NEW_YORK,
    "est": timezone(timedelta(hours=-5)),
    "edt": timezone(timedelta(hours=-4)),
    "cst": timezone(timedelta(hours=-6)),
    "cdt": timezone(timedelta(hours=-5)),
    "mst": timezone(timedelta(hours=-7)),
    "mdt": timezone(timedelta(hours=-6)),
    "pst": timezone(timedelta(hours=-8)),
    "pdt": timezone(timedelta(hours=-7)),
    "utc": UTC,
    "gmt": UTC,
    "z": UTC,
}

_TIME = re.compile(
    r"(?<!\d)(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([ap])\.?\s?m\b\.?)?", re.IGNORECASE
)
_OFFSET = re.compile(r"\b(?:gmt|utc)\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?(?!\d)", re.IGNORECASE)
_ZONE = re.compile(r"\b(" + "|".join(_ZONES) + r")\b", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_DAY = re.compile(r"(?<![\d:])(\d{1,2})(?![\d:])")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_NUMERIC_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_LAST = re.compile(r"^\s*last:\s*(.*)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True, kw_only=True)
class CboeSnapshot:
    """What one Cboe CSV holds before any maths.

    Attributes:
        file: File name.
        title: The index name on line 1, e.g. "S&P 500 INDEX".
        spot: The index "Last" on line 1.
        captured_at: The download time printed on line 2 (aware).
        quotes: One record per option.
        has_greeks: Whether the layout carries Cboe's IV and delta.
    """

    file: str
    title: str
    spot: float
    captured_at: datetime
    quotes: tuple[QuoteRecord, ...]
    has_greeks: bool

    @property
    def quote_time(self) -> datetime:
        """When the quotes were current (see `common.quote_time_at`)."""
        return quote_time_at(self.captured_at)


def sniff(head: Sequence[str]) -> bool:
    """Return whether the first lines of a file look like a Cboe quotes CSV."""
    return any(line.lstrip('"').lower().startswith("expiration date") for line in head)


def quote_dates(path: Path) -> tuple[date, ...]:
    """Return the quote date of a Cboe CSV (or directory of them): a one-element tuple."""
    return (read_snapshots(path)[0].quote_time.date(),)


def load(
    path: Path,
    *,
    quote_date: date | None = None,
    asof: datetime | None = None,
    max_quote_age: timedelta = DEFAULT_MAX_QUOTE_AGE,
) -> OptionChain:
    """Load a Cboe CSV, or a directory of CSVs of one snapshot, as an `OptionChain`.

    Args:
        path: A ``.csv`` or ``.csv.gz`` file, or a directory of them.
        quote_date: If given, the New York date the quotes must be from.
        asof: The moment the chain is used at, for the staleness check.
        max_quote_age: Staleness limit at ``asof``.

    Raises:
        ChainFileError: If the file cannot be read as a Cboe quotes CSV, holds no options, or is
            not from ``quote_date``.
    """
    snapshots = read_snapshots(path)
    first = snapshots[0]
    quote_time = first.quote_time
    if quote_date is not None and quote_time.date() != quote_date:
        raise ChainFileError(
            path.name,
            f"holds quotes of {quote_time:%Y-%m-%d} ({quote_time:%H:%M} ET) only, "
            f"not of {quote_date:%Y-%m-%d}",
        )
    records = dedupe((r for s in snapshots for r in s.quotes), file=path.name)
    captured = sorted(s.captured_at.astimezone(NEW_YORK) for s in snapshots)
    when = f"{captured[0]:%Y-%m-%d %H:%M %Z}"
    if len(snapshots) > 1:
        when += f" to {captured[-1]:%H:%M %Z}, {len(snapshots)} files"
    source = f"{SOURCE_NAME} {path.name} (downloaded {when})"
    try:
        return build_chain(
            OptionQuotes.from_records(records),
            first.spot,
            quote_time,
            source,
            underlying=_underlying({r.root for r in records}, path.name),
            asof=asof,
            max_quote_age=max_quote_age,
        )
    except ValueError as exc:
        raise ChainFileError(path.name, str(exc)) from None


def _underlying(roots: set[str], file: str) -> str:
    names = {root[:-1] if root.endswith("W") and len(root) > 3 else root for root in roots}
    if len(names) != 1:
        raise ChainFileError(file, f"mixes option roots of different indexes: {sorted(roots)}")
    return names.pop()


def read_snapshots(path: Path) -> list[CboeSnapshot]:
    """Parse a Cboe CSV, or every CSV of a one-snapshot directory, checking they agree.

    Raises:
        ChainFileError: If a file cannot be read or the files are not one snapshot.
    """
    if not path.is_dir():
        return [read_cboe_csv(path)]
    files = sorted(
        p for p in path.iterdir() if p.is_file() and p.name.lower().endswith((".csv", ".csv.gz"))
    )
    if not files:
        raise ChainFileError(path.name, "is a directory with no .csv or .csv.gz files")
    snapshots = [read_cboe_csv(p) for p in files]
    first = snapshots[0]
    for other in snapshots[1:]:
        if other.quote_time != first.quote_time:
            raise ChainFileError(
                other.file,
                f"quotes are from {other.quote_time:%Y-%m-%d %H:%M} ET but {first.file} holds "
                f"quotes from {first.quote_time:%Y-%m-%d %H:%M} ET: not one snapshot",
            )
        if abs(other.spot - first.spot) > 0.005:
            raise ChainFileError(
                other.file,
                f"index last {other.spot} differs from {first.file}'s {first.spot}: "
                "not one snapshot",
                line=None,
            )
    return snapshots


def read_cboe_csv(path: Path) -> CboeSnapshot:
    """Parse one Cboe quotes CSV (plain or gzip) without any pricing.

    Raises:
        ChainFileError: Naming the line, field and value of the first problem.
    """
    name = path.name
    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    rows = ((reader.line_num, [c.strip() for c in row]) for row in reader)
    try:
        title_line, title_row = _next_filled(rows, name, "the index line ('... INDEX,Last: ...')")
        title, spot = _parse_title(title_row, name, title_line)
        date_line, date_row = _next_filled(rows, name, "the date line ('Date: ...')")
        captured_at = parse_cboe_timestamp(date_row[0], file=name, line=date_line)
        header_line, header = _next_filled(rows, name, "the header ('Expiration Date,Calls,...')")
        layout = _Layout.parse(header, name, header_line)
        quotes: list[QuoteRecord] = []
        for line, row in rows:
            if not any(row):
                continue
            quotes.extend(layout.records(row, name, line))
    except csv.Error as exc:
        raise ChainFileError(name, f"is not valid CSV: {exc}", line=reader.line_num) from None
    if not quotes:
        raise ChainFileError(name, "holds no option rows after the header", line=header_line + 1)
    return CboeSnapshot(
        file=name,
        title=title,
        spot=spot,
        captured_at=captured_at,
        quotes=tuple(quotes),
        has_greeks=layout.has_greeks,
    )


def _next_filled(
    rows: Iterator[tuple[int, list[str]]], file: str, wanted: str
) -> tuple[int, list[str]]:
    last = 0
    for line, row in rows:
        last = line
        if any(row):
            return line, row
    raise ChainFileError(file, f"ends before {wanted}: truncated file?", line=last + 1)


def _parse_title(row: list[str], file: str, line: int) -> tuple[str, float]:
    title = row[0]
    if len(row) < 2:
        raise ChainFileError(
            file,
            f"expected the index line ('S&P 500 INDEX,Last: 4697.24,...'), got {','.join(row)!r}",
            line=line,
        )
    match = _LAST.match(row[1])
    text = match.group(1) if match else row[1]
    spot = parse_number(text, file=file, line=line, field="Last")
    if math.isnan(spot) or spot <= 0:
        raise ChainFileError(
            file, f"expected a positive index level, got {row[1]!r}", line=line, field="Last"
        )
    return title, spot


def parse_cboe_timestamp(text: str, *, file: str = "<text>", line: int = 0) -> datetime:
    """Parse the download time Cboe prints on line 2, in any of the locales seen.

    Handles English (``January 7, 2024 at 10:52 AM EST``, ``14 March 2026 at 07:34 GMT-4``,
    ``Mar 22 2020 @ 18:24 ET``), Spanish (``23 de marzo de 2022, 10:11 GMT-4``) and Russian
    (``9 декабря 2023 ... в 13:49 GMT-5``), with an optional ``Date:`` prefix.

    Returns:
        The aware moment, in New York time.

    Raises:
        ChainFileError: If the day, month, year, time or time zone cannot be found.
    """
    raw = text.strip().strip('"')
    body = re.sub(r"^\s*date\s*:\s*", "", raw, flags=re.IGNORECASE)

    def fail(problem: str) -> ChainFileError:
        return ChainFileError(
            file,
            f"{problem} in the download date {raw!r} (expected e.g. "
            "'Date: January 7, 2024 at 10:52 AM EST')",
            line=line or None,
            field="Date",
            value=raw,
        )

    clock = _TIME.search(body)
    if clock is None:
        raise fail("no time of day (HH:MM)")
    hour, minute = int(clock.group(1)), int(clock.group(2))
    second = int(clock.group(3) or 0)
    meridiem = (clock.group(4) or "").lower()
    if meridiem:
        if not 1 <= hour <= 12:
            raise fail(f"hour {hour} with AM/PM")
        hour = hour % 12 + (12 if meridiem == "p" else 0)
    rest = body[: clock.start()] + " " + body[clock.end() :]

    zone: tzinfo
    offset = _OFFSET.search(rest)
    if offset is not None:
        sign = -1 if offset.group(1) == "-" else 1
        delta = timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3) or 0))
        zone = timezone(sign * delta)
        rest = rest[: offset.start()] + " " + rest[offset.end() :]
    else:
        named = _ZONE.search(rest)
        if named is None:
            raise fail("no time zone (EST, EDT, ET or GMT-5)")
        zone = _ZONES[named.group(1).lower()]
        rest = rest[: named.start()] + " " + rest[named.end() :]

    year_match = _YEAR.search(rest)
    if year_match is None:
        raise fail("no year")
    year = int(year_match.group(1))
    rest = rest[: year_match.start()] + " " + rest[year_match.end() :]
    month = next((_MONTHS[w] for w in _WORD.findall(rest.lower()) if w in _MONTHS), None)
    if month is None:
        raise fail("no month name")
    day_match = _DAY.search(rest)
    if day_match is None:
        raise fail("no day of the month")
    try:
        local = datetime(year, month, int(day_match.group(1)), hour, minute, second, tzinfo=zone)
    except ValueError as exc:
        raise fail(f"an impossible date or time ({exc})") from None
    return local.astimezone(NEW_YORK)


def parse_expiration(text: str, *, file: str, line: int) -> date:
    """Parse the ``Expiration Date`` column: ``Fri Jan 05 2024``, ``03/23/2020`` or ISO.

    Raises:
        ChainFileError: If the text is none of those.
    """
    token = text.strip()
    try:
        if m := _NUMERIC_DATE.match(token):
            return date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
        if m := _ISO_DATE.match(token):
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        parts = token.split()
        if len(parts) == 4:  # Fri Jan 05 2024
            parts = parts[1:]
        if len(parts) == 3 and parts[0].lower() in _MONTHS:
            return date(int(parts[2]), _MONTHS[parts[0].lower()], int(parts[1]))
    except ValueError:
        pass
    raise ChainFileError(
        file,
        f"expected a date like 'Fri Jan 05 2024' or '01/05/2024', got {text!r}",
        line=line,
        field="Expiration Date",
        value=text,
    )


@dataclass(frozen=True, slots=True)
class _Layout:
    width: int
    strike: int
    calls: int
    puts: int
    call_cols: dict[str, tuple[int, str]]  # our name -> (column, header spelling)
    put_cols: dict[str, tuple[int, str]]

    @property
    def has_greeks(self) -> bool:
        return "iv" in self.call_cols and "delta" in self.call_cols

    @classmethod
    def parse(cls, header: list[str], file: str, line: int) -> _Layout:
        cells = list(header)
        while cells and not cells[-1]:
            cells.pop()
        lowered = [c.lower() for c in cells]
        shown = ",".join(cells)
        expected = "'Expiration Date,Calls,...,Strike,Puts,...'"
        if not lowered or lowered[0] != "expiration date":
            raise ChainFileError(
                file, f"expected the header {expected}, got {shown!r}", line=line, field=cells[0]
            )
        for needed in ("calls", "strike", "puts"):
            if lowered.count(needed) != 1:
                raise ChainFileError(
                    file,
                    f"header must name {needed.title()!r} exactly once, got {shown!r}",
                    line=line,
                    field=needed.title(),
                )
        calls, strike, puts = (lowered.index(n) for n in ("calls", "strike", "puts"))
        if not (calls == 1 and calls < strike < puts):
            raise ChainFileError(file, f"expected the header {expected}, got {shown!r}", line=line)

        call_cols = _side_columns(cells, calls + 1, strike, file, line)
        put_cols = _side_columns(cells, puts + 1, len(cells), file, line)
        for cols, which in ((call_cols, "call"), (put_cols, "put")):
            for needed in _REQUIRED:
                if needed not in cols:
                    raise ChainFileError(
                        file,
                        f"header has no {needed.title()!r} column for the {which}s: {shown!r}",
                        line=line,
                        field=needed.title(),
                    )
        if set(call_cols) != set(put_cols):
            raise ChainFileError(
                file, f"call and put columns differ in the header {shown!r}", line=line
            )
        return cls(len(cells), strike, calls, puts, call_cols, put_cols)

    def records(self, row: list[str], file: str, line: int) -> tuple[QuoteRecord, QuoteRecord]:
        cells = list(row)
        if len(cells) < self.width:
            raise ChainFileError(
                file,
                f"expected {self.width} fields, got {len(cells)}: truncated file?",
                line=line,
            )
        extra = [c for c in cells[self.width :] if c]
        if extra:
            raise ChainFileError(
                file,
                f"expected {self.width} fields, got {len(cells)} with extra values {extra[:3]}",
                line=line,
            )
        expiry = parse_expiration(cells[0], file=file, line=line)
        strike = parse_number(cells[self.strike], file=file, line=line, field="Strike")
        if math.isnan(strike) or strike <= 0:
            raise ChainFileError(
                file,
                f"expected a positive strike, got {cells[self.strike]!r}",
                line=line,
                field="Strike",
                value=cells[self.strike],
            )
        out: list[QuoteRecord] = []
        for col, cols, is_call, label in (
            (self.calls, self.call_cols, True, "Calls"),
            (self.puts, self.put_cols, False, "Puts"),
        ):
            symbol = parse_occ_symbol(cells[col], file=file, line=line, field=label)
            if symbol.is_call != is_call or symbol.expiry != expiry or symbol.strike != strike:
                raise ChainFileError(
                    file,
                    f"symbol {cells[col]!r} does not match the row "
                    f"({'call' if is_call else 'put'}, expiry {expiry}, strike {strike:g})",
                    line=line,
                    field=label,
                    value=cells[col],
                )
            side = "call" if is_call else "put"

            def number(
                name: str, cols: dict[str, tuple[int, str]] = cols, side: str = side
            ) -> float:
                if name not in cols:
                    return math.nan
                index, spelled = cols[name]
                return parse_number(
                    cells[index],
                    file=file,
                    line=line,
                    field=spelled,
                    where=f" ({side} side, column {index + 1})",
                )

            out.append(
                QuoteRecord(
                    root=symbol.root,
                    expiry=expiry,
                    strike=strike,
                    is_call=is_call,
                    bid=number("bid"),
                    ask=number("ask"),
                    volume=number("volume"),
                    open_interest=number("open_interest"),
                    cboe_iv=number("iv"),
                    cboe_delta=number("delta"),
                    line=line,
                )
            )
            # Parsed for validation only: a garbled Last Sale, Net or Gamma is a broken file.
            for name in ("last", "net", "gamma"):
                number(name)
        return out[0], out[1]


def _side_columns(
    cells: list[str], lo: int, hi: int, file: str, line: int
) -> dict[str, tuple[int, str]]:
    out: dict[str, tuple[int, str]] = {}
    for col in range(lo, hi):
        ours = _FIELDS.get(cells[col].lower())
        if ours is None or ours in out:
            problem = "unknown column" if ours is None else "repeated column"
            raise ChainFileError(
                file,
                f"{problem} {cells[col]!r} (known: {', '.join(sorted(set(_FIELDS)))})",
                line=line,
                field=cells[col],
                value=cells[col],
            )
        out[ours] = (col, cells[col])
    return out
