"""The recorded market-data source: the shipped files, served as of a clock time.

The clock may be accelerated (the demo replays a day in two minutes): every method takes
``asof`` and answers with what was known then, never later:

* `chain`: the latest chain snapshot in ``data/chains/`` (Cboe CSVs named
  ``spx_cboe_<date>_...``, the Yahoo 0DTE dump) whose quote time is on ``asof``'s New York date,
  at or before ``asof`` and within the age limit; failing that, with ``model_missing``, a chain
  modelled by `core.surface.model_chain` from the last complete 1-minute SPX bar and the Cboe
  volatility indices known at ``asof`` (the chain says it is modelled, and what from);
* `spx_last`: the close of the last 1-minute bar complete by ``asof`` (``data/intraday/``), or a
  same-day snapshot's index level if that is later;
* `spx_bars`: the 1-minute bars complete by ``asof``;
* `vol_levels`: VIX, VIX9D, VIX3M and SKEW as known at ``asof``
  (`index_history.VolIndices.levels_at`: the day's opening values during the session).

Files are read once, in a worker thread, and kept. Problems raise `MarketDataError` naming the
source and what is missing or stale.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Final

from bot.adapters.market_data import ChainFileError, list_quote_dates, load_chain
from bot.adapters.market_data.bars_csv import BarsFileError, load_bars
from bot.adapters.market_data.errors import MarketDataError, MarketDataProblem
from bot.adapters.market_data.index_history import IndexFileError, VolIndices, load_vol_indices
from core.bars import Bars
from core.calendar import (
    NEW_YORK,
    NYSE_EARLY_CLOSES,
    is_session_open,
    session_open,
    settlement_of,
    spx_monthly_expiration,
    spxw_expirations,
)
from core.chain import DEFAULT_MAX_QUOTE_AGE, OptionChain
from core.surface import IndexLevels, model_chain

__all__ = [
    "MODEL_DIVIDEND_YIELD",
    "MODEL_RATE",
    "SOURCE_NAME",
    "RecordedMarketData",
    "default_model_expiries",
]

SOURCE_NAME: Final = "recorded data"
#: Carry inputs of a modelled chain (no rates data is shipped), as `bot.replay` uses.
MODEL_RATE: Final = 0.045
MODEL_DIVIDEND_YIELD: Final = 0.016
_DATED = re.compile(r"^spx_cboe_(\d{4}-\d{2}-\d{2})_")
_MULTI_DAY = "spx_0dte_yahoo_*.csv*"

ModelExpiries = Callable[[date], Sequence[tuple[str, date]]]


def default_model_expiries(day: date) -> tuple[tuple[str, date], ...]:
    """Return the expiries a modelled chain of ``day`` lists: what the default tracks choose from.

    Same-day SPXW (0DTE), SPXW expiring in 1-4 days (1DTE), and in 30-60 days the SPXW Friday
    expirations and the AM-settled SPX monthlies (45DTE). Days before the SPXW schedule is known
    (`core.calendar.SPXW_SCHEDULE_START`) get the SPX monthlies only.
    """
    out: set[tuple[str, date]] = set()
    try:
        weeklies = spxw_expirations(day, day + timedelta(days=60))
    except ValueError:
        weeklies = ()
    for expiry in weeklies:
        dte = (expiry - day).days
        if dte <= 4 or (dte >= 30 and expiry.weekday() == 4):
            out.add(("SPXW", expiry))
    month = date(day.year, day.month, 1)
    for _ in range(4):
        expiry = spx_monthly_expiration(month.year, month.month)
        if 30 <= (expiry - day).days <= 60:
            out.add(("SPX", expiry))
        month = (month + timedelta(days=32)).replace(day=1)
    return tuple(sorted(out, key=lambda p: (p[1], p[0])))


@dataclass(frozen=True, slots=True)
class _Snapshot:
    path: Path
    day: date


def _age(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes / 60
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def _ny(moment: datetime) -> str:
    return f"{moment.astimezone(NEW_YORK):%Y-%m-%d %H:%M} ET"


class RecordedMarketData:
    """The shipped files as a market-data source, answering as of any (accelerated) clock time.

    Args:
        data_dir: The ``data/`` folder (``chains/``, ``intraday/``, ``vix/``).
        max_age: A chain older than this at ``asof`` is not served; a price older than this
            during the session is stale.
        model_missing: Model a chain from the bars and volatility indices when no fresh
            snapshot exists (False: raise instead).
        model_expiries: The (root, expiry) pairs a modelled chain of a day lists.
        rate: Discount rate of a modelled chain (an input, not market data).
        dividend_yield: Dividend yield of a modelled chain (an input, not market data).
    """

    name: str = SOURCE_NAME

    def __init__(
        self,
        data_dir: Path,
        *,
        max_age: timedelta = DEFAULT_MAX_QUOTE_AGE,
        model_missing: bool = True,
        model_expiries: ModelExpiries = default_model_expiries,
        rate: float = MODEL_RATE,
        dividend_yield: float = MODEL_DIVIDEND_YIELD,
    ) -> None:
        self._dir = Path(data_dir)
        self._max_age = max_age
        self._model_missing = model_missing
        self._model_expiries = model_expiries
        self._rate = rate
        self._dividend_yield = dividend_yield
        self._lock = asyncio.Lock()
        self._bars: Bars | None = None
        self._bars_error: MarketDataError | None = None
        self._vol: VolIndices | None = None
        self._index: dict[date, list[_Snapshot]] | None = None
        self._chains: dict[tuple[Path, date], OptionChain] = {}
        self._modelled: tuple[datetime, OptionChain] | None = None

    # --- the port ------------------------------------------------------------------------------

    async def chain(self, asof: datetime) -> OptionChain:
        """Return the chain known at ``asof``: the latest fresh snapshot, or a modelled one.

        Raises:
            MarketDataError: UNAVAILABLE if no snapshot of the day exists by ``asof`` and none
                can be modelled; STALE if the latest is older than the age limit and modelling
                is off or impossible; MALFORMED if a file cannot be read.
            ValueError: If ``asof`` is naive.
        """
        _aware(asof)
        day = asof.astimezone(NEW_YORK).date()
        latest: OptionChain | None = None
        for snapshot in await self._snapshots_on(day):
            chain = await self._load(snapshot)
            if chain.quote_time.date() != day or chain.quote_time > asof:
                continue
            if latest is None or (chain.quote_time, len(chain)) > (latest.quote_time, len(latest)):
                latest = chain
        if latest is not None and asof - latest.quote_time <= self._max_age:
            return latest
        if self._model_missing:
            modelled = await self._modelled_chain(asof)
            if modelled is not None:
                return modelled
        if latest is not None:
            raise MarketDataError(
                SOURCE_NAME,
                f"the latest chain of {day:%Y-%m-%d} ({latest.source}) is from "
                f"{_ny(latest.quote_time)}, {_age(asof - latest.quote_time)} old at {_ny(asof)} "
                f"(limit {_age(self._max_age)})",
                MarketDataProblem.STALE,
            )
        index = await self._snapshot_index()
        nearest = sorted(sorted(index, key=lambda d: abs((d - day).days))[:4])
        days = ", ".join(f"{d:%Y-%m-%d}" for d in nearest) or "none"
        bars_days = await self._bars_days()
        raise MarketDataError(
            SOURCE_NAME,
            f"no chain snapshot of {day:%Y-%m-%d} by {_ny(asof)} under {self._dir / 'chains'} "
            f"(nearest snapshot days: {days})"
            + (
                f", and no 1-minute SPX bar within {_age(self._max_age)} to model one "
                f"(bars cover {bars_days})"
                if self._model_missing
                else " (modelling is off)"
            ),
            MarketDataProblem.UNAVAILABLE,
        )

    async def spx_last(self, asof: datetime) -> tuple[float, datetime]:
        """Return the last SPX level known at ``asof`` and when it was true (aware New York).

        The close of the last 1-minute bar complete by ``asof`` (at the bar's end), or the index
        level of a same-day snapshot taken later than that bar.

        Raises:
            MarketDataError: UNAVAILABLE if nothing is known by ``asof``; STALE if, during the
                session, the latest level is older than the age limit.
            ValueError: If ``asof`` is naive.
        """
        _aware(asof)
        found: tuple[float, datetime] | None = None
        bars = await self._all_bars()
        if bars is not None:
            seen = bars.until(asof)
            if len(seen):
                found = (seen.last_close, seen.end_at(len(seen) - 1))
        day = asof.astimezone(NEW_YORK).date()
        for snapshot in await self._snapshots_on(day):
            chain = await self._load(snapshot)
            if chain.quote_time <= asof and (found is None or chain.quote_time > found[1]):
                found = (chain.spot, chain.quote_time)
        if found is None:
            raise MarketDataError(
                SOURCE_NAME,
                f"no SPX level known by {_ny(asof)} (bars cover {await self._bars_days()})",
                MarketDataProblem.UNAVAILABLE,
            )
        price, at = found
        if is_session_open(asof) and asof - at > self._max_age:
            raise MarketDataError(
                SOURCE_NAME,
                f"the last SPX level {price:.2f} is from {_ny(at)}, {_age(asof - at)} old during "
                f"the session (limit {_age(self._max_age)})",
                MarketDataProblem.STALE,
            )
        return price, at.astimezone(NEW_YORK)

    # --- more than the port --------------------------------------------------------------------

    async def spx_bars(self, asof: datetime, since: datetime | None = None) -> Bars:
        """Return the 1-minute SPX bars complete by ``asof``, starting at or after ``since``.

        Args:
            asof: The clock time.
            since: The earliest bar start wanted; None: 09:30 ET of ``asof``'s date.

        Raises:
            MarketDataError: UNAVAILABLE if no bars file is shipped or it cannot be read.
            ValueError: If a time is naive.
        """
        _aware(asof)
        bars = await self._all_bars()
        if bars is None:
            raise self._bars_error or MarketDataError(
                SOURCE_NAME, "no SPX 1-minute bars", MarketDataProblem.UNAVAILABLE
            )
        start = since or session_open(asof.astimezone(NEW_YORK).date())
        return bars.within(start, asof)

    async def vol_levels(self, asof: datetime) -> IndexLevels:
        """Return VIX, VIX9D, VIX3M and SKEW as known at ``asof`` (no look-ahead).

        Raises:
            MarketDataError: UNAVAILABLE if the files do not cover ``asof``.
            ValueError: If ``asof`` is naive.
        """
        _aware(asof)
        vol = await self._vol_indices()
        try:
            return vol.levels_at(asof)
        except KeyError as exc:
            raise MarketDataError(
                SOURCE_NAME, str(exc.args[0]), MarketDataProblem.UNAVAILABLE
            ) from None

    async def days(self) -> tuple[date, ...]:
        """Return the New York dates the shipped 1-minute bars cover (the replayable days)."""
        bars = await self._all_bars()
        return () if bars is None else bars.days

    # --- loading -------------------------------------------------------------------------------

    async def _modelled_chain(self, asof: datetime) -> OptionChain | None:
        bars = await self._all_bars()
        if bars is None:
            return None
        seen = bars.until(asof)
        if not len(seen):
            return None
        quote_time = seen.end_at(len(seen) - 1)
        if (
            asof - quote_time > self._max_age
            or quote_time.date() != asof.astimezone(NEW_YORK).date()
        ):
            return None
        if self._modelled is not None and self._modelled[0] == quote_time:
            return self._modelled[1]
        levels = await self.vol_levels(quote_time)
        expiries = [
            (root, expiry)
            for root, expiry in self._model_expiries(quote_time.date())
            if settlement_of(root, expiry, NYSE_EARLY_CLOSES)[1] > quote_time
        ]
        if not expiries:
            return None
        spot = seen.last_close
        if not (math.isfinite(spot) and spot > 0):
            raise MarketDataError(
                SOURCE_NAME,
                f"the SPX bar ending {_ny(quote_time)} has no usable close ({spot})",
                MarketDataProblem.MALFORMED,
            )
        try:
            chain = await asyncio.to_thread(
                model_chain,
                spot,
                quote_time,
                expiries,
                levels,
                rate=self._rate,
                dividend_yield=self._dividend_yield,
            )
        except ValueError as exc:
            raise MarketDataError(
                SOURCE_NAME, f"cannot model a chain: {exc}", MarketDataProblem.MALFORMED
            ) from None
        self._modelled = (quote_time, chain)
        return chain

    async def _load(self, snapshot: _Snapshot) -> OptionChain:
        key = (snapshot.path, snapshot.day)
        if key not in self._chains:
            async with self._lock:
                if key not in self._chains:
                    self._chains[key] = await asyncio.to_thread(self._read_chain, snapshot)
        return self._chains[key]

    def _read_chain(self, snapshot: _Snapshot) -> OptionChain:
        try:
            return load_chain(snapshot.path, quote_date=snapshot.day)
        except ChainFileError as exc:
            raise MarketDataError(
                f"{SOURCE_NAME} {snapshot.path.name}", exc.problem, MarketDataProblem.MALFORMED
            ) from None

    async def _snapshots_on(self, day: date) -> list[_Snapshot]:
        return (await self._snapshot_index()).get(day, [])

    async def _snapshot_index(self) -> dict[date, list[_Snapshot]]:
        if self._index is None:
            async with self._lock:
                if self._index is None:
                    self._index = await asyncio.to_thread(self._scan_chains)
        return self._index

    def _scan_chains(self) -> dict[date, list[_Snapshot]]:
        index: dict[date, list[_Snapshot]] = {}
        folder = self._dir / "chains"
        if not folder.is_dir():
            return index
        for path in sorted(folder.iterdir()):
            match = _DATED.match(path.name)
            if match:
                day = date.fromisoformat(match.group(1))
                index.setdefault(day, []).append(_Snapshot(path, day))
        for path in sorted(folder.glob(_MULTI_DAY)):
            try:
                days = list_quote_dates(path)
            except ChainFileError as exc:
                raise MarketDataError(
                    f"{SOURCE_NAME} {path.name}", exc.problem, MarketDataProblem.MALFORMED
                ) from None
            for day in days:
                index.setdefault(day, []).append(_Snapshot(path, day))
        return index

    async def _all_bars(self) -> Bars | None:
        if self._bars is None and self._bars_error is None:
            async with self._lock:
                if self._bars is None and self._bars_error is None:
                    try:
                        self._bars = await asyncio.to_thread(self._read_bars)
                    except MarketDataError as exc:
                        self._bars_error = exc
        return self._bars

    def _read_bars(self) -> Bars:
        found = sorted((self._dir / "intraday").glob("SPX_1min_*"))
        if not found:
            raise MarketDataError(
                SOURCE_NAME,
                f"no SPX 1-minute bars (SPX_1min_*) under {self._dir / 'intraday'}",
                MarketDataProblem.UNAVAILABLE,
            )
        try:
            return load_bars(found[0])
        except BarsFileError as exc:
            raise MarketDataError(
                f"{SOURCE_NAME} {found[0].name}", str(exc), MarketDataProblem.MALFORMED
            ) from None

    async def _bars_days(self) -> str:
        days = await self.days()
        return f"{days[0]:%Y-%m-%d} to {days[-1]:%Y-%m-%d}" if days else "no days"

    async def _vol_indices(self) -> VolIndices:
        if self._vol is None:
            async with self._lock:
                if self._vol is None:
                    try:
                        self._vol = await asyncio.to_thread(load_vol_indices, self._dir / "vix")
                    except (IndexFileError, ChainFileError, OSError) as exc:
                        raise MarketDataError(
                            f"{SOURCE_NAME} {self._dir / 'vix'}",
                            str(exc),
                            MarketDataProblem.UNAVAILABLE,
                        ) from None
        return self._vol


def _aware(asof: datetime) -> None:
    if asof.tzinfo is None:
        raise ValueError(f"asof must be timezone-aware, was {asof!r}")
