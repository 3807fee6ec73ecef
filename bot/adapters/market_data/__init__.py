"""Option-chain files: one module per source, all the same shape, and a dispatcher.

Each source module exposes ``SOURCE_NAME``, ``sniff(first_lines) -> bool``,
``quote_dates(path) -> tuple[date, ...]`` and ``load(path, *, quote_date, asof, max_quote_age)
-> OptionChain``. `load_chain` detects the format from the file's first lines, so callers never
name it. Plain ``.csv`` and gzipped ``.csv.gz`` files are read alike; a directory of Cboe CSVs of
one snapshot loads as one chain.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from types import ModuleType

from bot.adapters.market_data import cboe_csv, yahoo_csv
from bot.adapters.market_data.common import ChainFileError, read_head
from core.chain import DEFAULT_MAX_QUOTE_AGE, OptionChain

__all__ = ["ChainFileError", "list_quote_dates", "load_chain", "source_of"]

_SOURCES: tuple[ModuleType, ...] = (cboe_csv, yahoo_csv)
_SNIFF_LINES = 8


def source_of(path: Path) -> ModuleType:
    """Return the source module that reads ``path`` (a directory is read as Cboe CSVs).

    Raises:
        ChainFileError: If no source recognises the file.
    """
    if path.is_dir():
        return cboe_csv
    head = read_head(path).splitlines()[:_SNIFF_LINES]
    for module in _SOURCES:
        if module.sniff(head):
            return module
    first = next((line for line in head if line.strip(",\r\n \t")), "")
    raise ChainFileError(
        path.name,
        f"is not a known chain format (Cboe quotes CSV or Yahoo option dump); it starts with "
        f"{first[:80]!r}",
        line=1,
    )


def list_quote_dates(path: Path | str) -> tuple[date, ...]:
    """Return the trading days whose quotes a chain file holds, ascending.

    Raises:
        ChainFileError: If the file cannot be read.
    """
    path = Path(path)
    dates: tuple[date, ...] = source_of(path).quote_dates(path)
    return dates


def load_chain(
    path: Path | str,
    *,
    asof: datetime | None = None,
    quote_date: date | None = None,
    max_quote_age: timedelta = DEFAULT_MAX_QUOTE_AGE,
) -> OptionChain:
    """Load a chain file of any supported format as an `OptionChain`.

    Args:
        path: A Cboe quotes CSV or Yahoo option dump (``.csv`` or ``.csv.gz``), or a directory of
            Cboe CSVs of one snapshot.
        asof: The moment the chain is used at: quotes older than ``max_quote_age`` then are
            flagged stale; in a file of many days it also picks the latest day closed by then.
        quote_date: The trading day wanted. Files of many days (Yahoo dumps) need it or
            ``asof``; a single-day file must be from that day.
        max_quote_age: Staleness limit at ``asof``.

    Raises:
        ChainFileError: Naming file, line, field and value of the first problem.
        ValueError: If ``asof`` is naive.
    """
    if asof is not None and asof.tzinfo is None:
        raise ValueError(f"asof must be timezone-aware, was {asof!r}")
    path = Path(path)
    chain: OptionChain = source_of(path).load(
        path, quote_date=quote_date, asof=asof, max_quote_age=max_quote_age
    )
    return chain
