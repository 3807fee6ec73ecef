"""Yahoo Finance (yfinance) option dumps with one row per option and many capture days.

Read: ``contractSymbol`` (root, expiry, right and strike come from it, cross-checked against
``strike`` and ``option_type`` when present), ``bid``, ``ask``, ``volume``, ``openInterest``,
``date`` (the capture date) and ``spx_close`` (the index close joined by the collector).

``date`` is when the file was captured, not when the quotes were made: captures on weekends and
holidays repeat the last session's quotes. Each row is therefore assigned to its *session*, the
last trading day on or before the capture date, and the quotes are taken as the closing quotes of
that session (16:15 ET, when SPX options stop trading; captures were made after the close). Rows
repeated by several captures of one session are dropped; the same contract quoted differently
within one session is an error. Yahoo's own ``impliedVolatility`` is not kept: it is not Cboe's
and is unreliable near expiry.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Final

from bot.adapters.market_data.common import (
    ChainFileError,
    dedupe,
    options_close,
    parse_number,
    parse_occ_symbol,
    read_text,
)
from core.calendar import NEW_YORK, is_trading_day, previous_trading_day
from core.chain import DEFAULT_MAX_QUOTE_AGE, OptionChain, OptionQuotes, QuoteRecord, build_chain

SOURCE_NAME: Final = "Yahoo Finance option CSV"
_REQUIRED: Final = ("contractSymbol", "bid", "ask", "date", "spx_close")
_RIGHTS: Final = {"call": True, "c": True, "put": False, "p": False}


def sniff(head: Sequence[str]) -> bool:
    """Return whether the first lines of a file look like a Yahoo option dump."""
    first = next((line for line in head if line.strip()), "")
    return "contractSymbol" in first.split(",")


def session_of(captured: date) -> date:
    """Return the trading session whose closing quotes a capture on ``captured`` holds."""
    return captured if is_trading_day(captured) else previous_trading_day(captured)


def quote_dates(path: Path) -> tuple[date, ...]:
    """Return the trading days whose quotes the file holds, ascending."""
    return tuple(sorted(_read(path).sessions))


def load(
    path: Path,
    *,
    quote_date: date | None = None,
    asof: datetime | None = None,
    max_quote_age: timedelta = DEFAULT_MAX_QUOTE_AGE,
) -> OptionChain:
    """Load one trading day of a Yahoo dump as an `OptionChain`.

    Args:
        path: A ``.csv`` or ``.csv.gz`` file.
        quote_date: The trading day to load. Without it, ``asof`` picks the latest day whose
            closing quotes exist at ``asof``; a file holding a single day needs neither.
        asof: The moment the chain is used at (also used for the staleness check).
        max_quote_age: Staleness limit at ``asof``.

    Raises:
        ChainFileError: If the file cannot be read, or the day is ambiguous or not in the file.
    """
    parsed = _read(path)
    days = sorted(parsed.sessions)
    listed = _listed(days)
    if quote_date is not None:
        day = quote_date
        if day not in parsed.sessions:
            raise ChainFileError(path.name, f"holds no quotes of {day:%Y-%m-%d} ({listed})")
    elif asof is not None:
        usable = [d for d in days if options_close(d) <= asof]
        if not usable:
            raise ChainFileError(
                path.name,
                f"holds no quotes closed by {asof.astimezone(NEW_YORK):%Y-%m-%d %H:%M}"
                f" ET ({listed})",
            )
        day = usable[-1]
    elif len(days) == 1:
        day = days[0]
    else:
        raise ChainFileError(
            path.name, f"{listed}: pass quote_date (or asof) to pick one trading day"
        )
    records = dedupe(parsed.sessions[day], file=path.name)
    spots = parsed.spots[day]
    if len(spots) != 1:
        raise ChainFileError(
            path.name, f"gives several index closes for {day:%Y-%m-%d}: {sorted(spots)}"
        )
    quote_time = options_close(day)
    source = f"{SOURCE_NAME} {path.name} (closing quotes of {day:%Y-%m-%d})"
    try:
        return build_chain(
            OptionQuotes.from_records(records),
            spots.pop(),
            quote_time,
            source,
            underlying="SPX",
            asof=asof,
            max_quote_age=max_quote_age,
        )
    except ValueError as exc:
        raise ChainFileError(path.name, str(exc)) from None


def _listed(days: Sequence[date]) -> str:
    if len(days) == 1:
        return f"holds quotes of {days[0]:%Y-%m-%d}"
    return f"holds quotes of {len(days)} trading days ({days[0]:%Y-%m-%d} to {days[-1]:%Y-%m-%d})"


class _Parsed:
    def __init__(self) -> None:
        self.sessions: dict[date, list[QuoteRecord]] = defaultdict(list)
        self.spots: dict[date, set[float]] = defaultdict(set)


def _read(path: Path) -> _Parsed:
    name = path.name
    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    try:
        header = next(reader, None)
        while header is not None and not any(c.strip() for c in header):
            header = next(reader, None)
        if header is None:
            raise ChainFileError(name, "has no header line", line=1)
        header_line = reader.line_num
        columns = {c.strip(): i for i, c in enumerate(header) if c.strip()}
        missing = [c for c in _REQUIRED if c not in columns]
        if missing:
            raise ChainFileError(
                name,
                f"header lacks {', '.join(repr(m) for m in missing)}; expected a Yahoo option "
                f"dump with {', '.join(_REQUIRED)}",
                line=header_line,
                field=missing[0],
            )
        width = max(columns.values()) + 1
        parsed = _Parsed()
        for row in reader:
            line = reader.line_num
            if not any(c.strip() for c in row):
                continue
            if len(row) < width:
                raise ChainFileError(
                    name, f"expected {width} fields, got {len(row)}: truncated file?", line=line
                )
            session, spot, record = _record(row, columns, name, line)
            parsed.sessions[session].append(record)
            parsed.spots[session].add(spot)
    except csv.Error as exc:
        raise ChainFileError(name, f"is not valid CSV: {exc}", line=reader.line_num) from None
    if not parsed.sessions:
        raise ChainFileError(name, "holds no option rows after the header", line=header_line + 1)
    return parsed


def _record(
    row: list[str], columns: dict[str, int], file: str, line: int
) -> tuple[date, float, QuoteRecord]:
    def text(column: str) -> str:
        return row[columns[column]].strip()

    def number(column: str) -> float:
        if column not in columns:
            return math.nan
        return parse_number(text(column), file=file, line=line, field=column)

    symbol = parse_occ_symbol(text("contractSymbol"), file=file, line=line, field="contractSymbol")
    if "strike" in columns:
        strike = number("strike")
        if strike != symbol.strike:
            raise ChainFileError(
                file,
                f"strike {text('strike')!r} does not match the symbol's {symbol.strike:g}",
                line=line,
                field="strike",
                value=text("strike"),
            )
    if "option_type" in columns and text("option_type"):
        right = _RIGHTS.get(text("option_type").lower())
        if right is None or right != symbol.is_call:
            raise ChainFileError(
                file,
                f"expected {'call' if symbol.is_call else 'put'} to match the symbol, got "
                f"{text('option_type')!r}",
                line=line,
                field="option_type",
                value=text("option_type"),
            )
    try:
        captured = date.fromisoformat(text("date")[:10])
    except ValueError:
        raise ChainFileError(
            file,
            f"expected a date like 2025-03-14, got {text('date')!r}",
            line=line,
            field="date",
            value=text("date"),
        ) from None
    spot = number("spx_close")
    if math.isnan(spot) or spot <= 0:
        raise ChainFileError(
            file,
            f"expected a positive index close, got {text('spx_close')!r}",
            line=line,
            field="spx_close",
            value=text("spx_close"),
        )
    record = QuoteRecord(
        root=symbol.root,
        expiry=symbol.expiry,
        strike=symbol.strike,
        is_call=symbol.is_call,
        bid=number("bid"),
        ask=number("ask"),
        volume=number("volume"),
        open_interest=number("openInterest"),
        line=line,
    )
    return session_of(captured), spot, record
