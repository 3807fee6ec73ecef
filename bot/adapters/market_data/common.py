"""What every chain-file reader shares: errors, file reading, numbers, symbols, quote times.

The error type names file, line, field and value; files may be gzipped; OCC symbols carry root,
expiry, right and strike; `quote_time_at` says when Cboe's SPX option quotes were current.
"""

from __future__ import annotations

import gzip
import math
import re
import zlib
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Final

from core.calendar import (
    NEW_YORK,
    NYSE_EARLY_CLOSES,
    NYSE_HOLIDAYS,
    is_trading_day,
    session_close,
    session_open,
)
from core.chain import QuoteRecord

#: Field values read as "no value" (NaN) in numeric columns.
MISSING_TOKENS: Final = frozenset({"", "nan", "n/a", "na", "-", "--", "null", "none"})
#: SPX options trade 15 minutes past the index close (16:15 ET, 13:15 on early-close days).
OPTIONS_CLOSE_LAG: Final = timedelta(minutes=15)
#: Cboe's delayed-quotes pages show quotes 15 minutes old.
CBOE_QUOTE_DELAY: Final = timedelta(minutes=15)
#: Global Trading Hours sessions (SPX/SPXW) end at 09:15 ET on the trading day they belong to.
GTH_END: Final = time(9, 15)
#: From this trading day on, GTH starts at 20:15 ET the evening before; earlier it began 03:00.
GTH_EVENING_START_FROM: Final = date(2021, 11, 22)
GTH_EVENING_START: Final = time(20, 15)
GTH_EARLY_START: Final = time(3, 0)

_OCC = re.compile(r"^([A-Z]{1,6})(\d{2})(\d{2})(\d{2})([CP])(\d{8})$")


class DataFileError(ValueError):
    """A market-data file that cannot be read, with the file, line, field and value at fault.

    The message reads like ``spx.csv line 57, field 'Bid': expected a number, got 'abc'``.

    Attributes:
        file: File name (no directories).
        line: 1-based line number, or None when the problem is not on one line.
        field: Column or header field at fault, or None.
        value: The offending text, or None.
        problem: What was expected and what was found.
    """

    def __init__(
        self,
        file: str,
        problem: str,
        *,
        line: int | None = None,
        field: str | None = None,
        value: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.value = value
        self.problem = problem
        where = file
        if line is not None:
            where += f" line {line}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {problem}")


class ChainFileError(DataFileError):
    """An option-chain file that cannot be read."""


def read_text(path: Path) -> str:
    """Return the text of a chain file, gunzipping ``.gz`` (or gzip-magic) files transparently.

    Raises:
        ChainFileError: If the file is missing, a corrupt or truncated gzip, or not UTF-8.
    """
    name = path.name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ChainFileError(name, f"no such file: {path}") from None
    except IsADirectoryError:
        raise ChainFileError(name, f"is a directory, not a file: {path}") from None
    except OSError as exc:
        raise ChainFileError(name, f"cannot be read: {exc.strerror or exc}") from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as exc:
            raise ChainFileError(
                name, f"is a truncated or corrupt gzip file ({exc or type(exc).__name__})"
            ) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ChainFileError(
            name,
            f"is not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})",
            line=line,
        ) from None
    if not text.strip():
        raise ChainFileError(name, "is empty")
    return text


def read_head(path: Path, size: int = 4096) -> str:
    """Return roughly the first ``size`` characters of a chain file, gunzipped if need be.

    Enough to tell formats apart without reading the whole file; a file that fails here fails
    `read_text` with the full explanation, so this one only reports the file as unreadable.

    Raises:
        ChainFileError: If the file is missing or unreadable.
    """
    try:
        with path.open("rb") as raw:
            magic = raw.read(2)
            raw.seek(0)
            if magic == b"\x1f\x8b":
                with gzip.open(raw) as unzipped:
                    data = unzipped.read(size)
            else:
                data = raw.read(size)
    except FileNotFoundError:
        raise ChainFileError(path.name, f"no such file: {path}") from None
    except (EOFError, OSError, zlib.error):
        return read_text(path)  # raises the precise error
    return data.decode("utf-8-sig", errors="replace")


def parse_number(text: str, *, file: str, line: int, field: str, where: str = "") -> float:
    """Parse a numeric field; blank and NaN-like tokens give NaN.

    Raises:
        ChainFileError: If the text is neither a finite number nor a missing-value token.
    """
    token = text.strip()
    if token.lower() in MISSING_TOKENS:
        return math.nan
    try:
        value = float(token)
    except ValueError:
        value = math.inf
    if not math.isfinite(value):
        raise ChainFileError(
            file, f"expected a number, got {text!r}{where}", line=line, field=field, value=text
        )
    return value


@dataclass(frozen=True, slots=True)
class OccSymbol:
    """An OCC option symbol without padding, e.g. ``SPXW240105C04700000``."""

    root: str
    expiry: date
    is_call: bool
    strike: float


def parse_occ_symbol(text: str, *, file: str, line: int, field: str) -> OccSymbol:
    """Parse ``ROOT`` + ``YYMMDD`` + ``C``/``P`` + strike x 1000 as 8 digits.

    Raises:
        ChainFileError: If the text is not such a symbol or its date does not exist.
    """
    match = _OCC.match(text.strip())
    if match is None:
        raise ChainFileError(
            file,
            f"expected an OCC option symbol like 'SPXW240105C04700000', got {text!r}",
            line=line,
            field=field,
            value=text,
        )
    root, yy, mm, dd, right, strike = match.groups()
    try:
        expiry = date(2000 + int(yy), int(mm), int(dd))
    except ValueError:
        raise ChainFileError(
            file,
            f"symbol {text!r} has an impossible expiry date 20{yy}-{mm}-{dd}",
            line=line,
            field=field,
            value=text,
        ) from None
    return OccSymbol(root, expiry, right == "C", int(strike) / 1000.0)


def dedupe(records: Iterable[QuoteRecord], *, file: str) -> list[QuoteRecord]:
    """Drop exact repeats of a contract's quote; a contract quoted twice differently is an error.

    Raises:
        ChainFileError: Naming both lines when one contract carries two different quotes.
    """
    seen: dict[tuple[str, date, float, bool], QuoteRecord] = {}
    for record in records:
        key = (record.root, record.expiry, record.strike, record.is_call)
        first = seen.get(key)
        if first is None:
            seen[key] = record
        elif not _same_quote(first, record):
            right = "C" if record.is_call else "P"
            raise ChainFileError(
                file,
                f"{record.root} {record.expiry} {record.strike:g}{right} is quoted twice with "
                f"different values (first on line {first.line}: {first.bid:g}/{first.ask:g}, "
                f"then {record.bid:g}/{record.ask:g})",
                line=record.line,
            )
    return list(seen.values())


def _same_quote(a: QuoteRecord, b: QuoteRecord) -> bool:
    return all(
        x == y or (math.isnan(x) and math.isnan(y))
        for x, y in zip(a[4:10], b[4:10], strict=True)
        if isinstance(x, float) and isinstance(y, float)
    )


def options_close(day: date, early_closes: Collection[date] = NYSE_EARLY_CLOSES) -> datetime:
    """Return when SPX options stop trading on ``day``: 15 minutes after the index close."""
    return session_close(day, early_closes) + OPTIONS_CLOSE_LAG


def quote_time_at(
    captured_at: datetime,
    *,
    delay: timedelta = CBOE_QUOTE_DELAY,
    holidays: Collection[date] = NYSE_HOLIDAYS,
    early_closes: Collection[date] = NYSE_EARLY_CLOSES,
) -> datetime:
    """Return when SPX option quotes shown at ``captured_at`` (with ``delay``) were current.

    While a session trades (regular hours 09:30 to 16:15 ET, or Global Trading Hours from 20:15
    ET the evening before to 09:15 ET, 03:00 to 09:15 before 2021-11-22) the quotes are
    ``delay`` old. Outside sessions they froze at the end of the last session: a Saturday
    download holds Friday's 16:15 closing quotes, an 08:02 Monday download holds GTH quotes from
    07:47. The post-close Curb session (16:15-17:00 since 2022-04-25) is not shown by Cboe's
    delayed pages and is treated as closed.

    Raises:
        ValueError: If ``captured_at`` is naive.
    """
    if captured_at.tzinfo is None:
        raise ValueError(f"captured_at must be timezone-aware, was {captured_at!r}")
    seen = captured_at.astimezone(NEW_YORK) - delay
    last_end: datetime | None = None
    for start, end in _sessions_around(seen.date(), holidays, early_closes):
        if start <= seen <= end:
            return seen
        if end <= seen and (last_end is None or end > last_end):
            last_end = end
    if last_end is None:  # pragma: no cover - a trading day always lies within ten days back
        raise ValueError(f"no trading session found before {seen:%Y-%m-%d %H:%M} ET")
    return last_end


def _sessions_around(
    day: date, holidays: Collection[date], early_closes: Collection[date]
) -> Iterator[tuple[datetime, datetime]]:
    for back in range(-1, 12):
        d = day - timedelta(days=back)
        if not is_trading_day(d, holidays):
            continue
        if d >= GTH_EVENING_START_FROM:
            gth_start = datetime.combine(d - timedelta(days=1), GTH_EVENING_START, NEW_YORK)
        else:
            gth_start = datetime.combine(d, GTH_EARLY_START, NEW_YORK)
        yield gth_start, datetime.combine(d, GTH_END, NEW_YORK)
        yield session_open(d), options_close(d, early_closes)


def parse_positive(
    text: str, *, error: type[DataFileError], file: str, line: int, field: str
) -> float:
    """Read a strictly positive finite number, or raise `error` naming file, line and field."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise error(
            file, f"expected a positive number, got {text!r}", line=line, field=field, value=text
        )
    return value


def read_text_as(path: Path, error: type[DataFileError]) -> str:
    """`read_text`, with a read failure raised as the reader's own `error` type."""
    try:
        return read_text(path)
    except ChainFileError as exc:
        raise error(
            exc.file, exc.problem, line=exc.line, field=exc.field, value=exc.value
        ) from None
