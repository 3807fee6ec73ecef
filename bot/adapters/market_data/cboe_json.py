"""Cboe's free delayed-quotes JSON API: the live SPX chain and index quotes, 15 minutes delayed.

Two resources under ``https://cdn.cboe.com/api/global/delayed_quotes``:

* ``options/_SPX.json``: the whole SPX/SPXW chain (about 14 MB, some 30,000 rows). Root keys
  ``timestamp`` (UTC, ``YYYY-MM-DD HH:MM:SS``: when the response was made), ``symbol``
  (``"_SPX"``) and ``data``: the index quote (``symbol`` ``"^SPX"``, ``current_price``,
  ``last_trade_time`` as a naive New York ISO time, ...) plus ``options``, one object per
  contract: ``option`` (OCC symbol without spaces, ``SPXW260904C07710000``), ``bid``, ``ask``,
  ``iv`` (a fraction; 0.0 means "not computed"), ``delta``, ``volume``, ``open_interest``, ...
* ``quotes/_SPX.json``, ``quotes/_VIX.json``: one index quote, the same ``data`` keys without
  ``options``.

See ``data/SOURCES.md`` (live_samples) for the recorded responses these readers are tested on and
the fields' units. The quotes are those of `common.quote_time_at` of the response time: 15
minutes old during a session, frozen at its end outside sessions.

A response that cannot be used raises `MarketDataError` naming the resource and the problem:
HTTP errors and timeouts (after retries), malformed JSON or fields, a response time-stamped
after ``asof`` (clock skew) or older than the age limit (a stale CDN copy), quotes older than the
limit (the market is closed), no options or none quoted two-sided. Row-level trouble (crossed or
NaN quotes, missing strikes) is not an error: it is reported in the chain's quality issues.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Final, Self

import httpx
import numpy as np

from bot.adapters.market_data.common import (
    CBOE_QUOTE_DELAY,
    ChainFileError,
    dedupe,
    parse_occ_symbol,
    quote_time_at,
)
from bot.adapters.market_data.errors import MarketDataError, MarketDataProblem
from core.calendar import NEW_YORK, is_session_open
from core.chain import (
    DEFAULT_MAX_QUOTE_AGE,
    OptionChain,
    OptionQuotes,
    QuoteRecord,
    build_chain,
)

__all__ = [
    "CLOCK_SKEW",
    "DEFAULT_BASE_URL",
    "SOURCE_NAME",
    "CboeDelayedQuotes",
    "CboeOptionsSnapshot",
    "IndexQuote",
    "parse_options_json",
    "parse_quote_json",
    "snapshot_chain",
]

logger = logging.getLogger(__name__)

SOURCE_NAME: Final = "Cboe delayed quotes"
DEFAULT_BASE_URL: Final = "https://cdn.cboe.com/api/global/delayed_quotes"
#: A response may be time-stamped this far after ``asof`` (our clock against Cboe's).
CLOCK_SKEW: Final = timedelta(minutes=2)
#: Longest ``Retry-After`` honoured; a longer one fails the request at once.
MAX_RETRY_AFTER_SECONDS: Final = 60.0
USER_AGENT: Final = "condorbot/0.1 (delayed-quotes reader)"

#: Index roots and the option roots that belong to them.
_OPTION_ROOTS: Final[dict[str, frozenset[str]]] = {
    "SPX": frozenset({"SPX", "SPXW"}),
    "XSP": frozenset({"XSP"}),
    "NDX": frozenset({"NDX", "NDXP"}),
    "RUT": frozenset({"RUT", "RUTW"}),
    "VIX": frozenset({"VIX", "VIXW"}),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexQuote:
    """One index quote from the delayed-quotes API.

    Attributes:
        symbol: Index symbol without decoration, e.g. "SPX".
        price: ``current_price``, in index points.
        at: When that price was printed (``last_trade_time``, aware New York; the delayed quote
            time when the response has none).
        captured_at: The response's ``timestamp`` (aware New York).
        source: The resource, for people.
        open: The session's opening print (``open``; None when the response has none: null,
            or 0 before the day's first print).
    """

    symbol: str
    price: float
    at: datetime
    captured_at: datetime
    source: str
    open: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class CboeOptionsSnapshot:
    """What one ``options/_SPX.json`` response holds before any maths.

    Attributes:
        index: The index quote in ``data``.
        quotes: One record per option, ``line`` = 1-based position in ``data.options``.
        source: The resource, for people.
    """

    index: IndexQuote
    quotes: tuple[QuoteRecord, ...]
    source: str

    @property
    def quote_time(self) -> datetime:
        """When the option quotes were current (see `common.quote_time_at`)."""
        return quote_time_at(self.index.captured_at)


# ---------------------------------------------------------------------------------------------
# Parsing (pure)


def _malformed(source: str, problem: str) -> MarketDataError:
    return MarketDataError(source, problem, MarketDataProblem.MALFORMED)


def _load_json(payload: bytes | str, source: str) -> Mapping[str, Any]:
    try:
        document = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        text = payload[:60] if isinstance(payload, str) else payload[:60].decode("utf-8", "replace")
        raise _malformed(source, f"is not JSON ({exc}); it starts with {text!r}") from None
    if not isinstance(document, dict):
        raise _malformed(source, f"expected a JSON object, got {type(document).__name__}")
    return document


def _number(value: object, source: str, where: str, *, positive: bool = False) -> float:
    if value is None:
        if positive:
            raise _malformed(source, f"{where}: expected a positive number, got null")
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _malformed(source, f"{where}: expected a number or null, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or (positive and number <= 0):
        wanted = "a positive number" if positive else "a finite number"
        raise _malformed(source, f"{where}: expected {wanted}, got {value!r}")
    return number


def _utc_timestamp(value: object, source: str) -> datetime:
    if not isinstance(value, str):
        raise _malformed(
            source, f"'timestamp': expected a UTC time like '2026-09-04 18:18:34', got {value!r}"
        )
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _malformed(
            source, f"'timestamp': expected a UTC time like '2026-09-04 18:18:34', got {value!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(NEW_YORK)


def _new_york_time(value: object, source: str, where: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            # Cboe prints trade times as naive New York wall-clock times.
            return moment.replace(tzinfo=NEW_YORK) if moment.tzinfo is None else moment
    raise _malformed(
        source, f"{where}: expected a New York time like '2026-09-04T14:03:32', got {value!r}"
    )


def _index_symbol(document: Mapping[str, Any], data: Mapping[str, Any], source: str) -> str:
    printed = data.get("symbol", document.get("symbol"))
    if not isinstance(printed, str) or not printed.strip("^_"):
        raise _malformed(source, f"'data.symbol': expected an index like '^SPX', got {printed!r}")
    return printed.strip("^_").upper()


def _index_quote(document: Mapping[str, Any], source: str) -> IndexQuote:
    data = document.get("data")
    if not isinstance(data, dict):
        raise _malformed(source, f"'data': expected an object, got {type(data).__name__}")
    captured_at = _utc_timestamp(document.get("timestamp"), source)
    symbol = _index_symbol(document, data, source)
    price = _number(data.get("current_price"), source, "'data.current_price'", positive=True)
    traded = _new_york_time(data.get("last_trade_time"), source, "'data.last_trade_time'")
    opened = _number(data.get("open"), source, "'data.open'")
    return IndexQuote(
        symbol=symbol,
        price=price,
        at=traded if traded is not None else quote_time_at(captured_at),
        captured_at=captured_at,
        source=source,
        open=opened if opened > 0 else None,
    )


def parse_quote_json(payload: bytes | str, *, source: str) -> IndexQuote:
    """Parse a ``quotes/_VIX.json``-style response (or the index part of an options response).

    Raises:
        MarketDataError: MALFORMED, naming the field and value at fault.
    """
    return _index_quote(_load_json(payload, source), source)


def _option_row(row: object, index: int, source: str) -> QuoteRecord:
    where = f"option row {index}"
    if not isinstance(row, dict):
        raise _malformed(source, f"{where}: expected an object, got {row!r:.60}")
    symbol = row.get("option")
    if not isinstance(symbol, str):
        raise _malformed(source, f"{where}, field 'option': expected an OCC symbol, got {symbol!r}")
    try:
        occ = parse_occ_symbol(symbol, file=source, line=index, field="option")
    except ChainFileError as exc:
        raise _malformed(source, f"{where}, field 'option': {exc.problem}") from None
    where = f"{where} ({symbol})"

    def number(name: str) -> float:
        return _number(row.get(name), source, f"{where}, field {name!r}")

    return QuoteRecord(
        root=occ.root,
        expiry=occ.expiry,
        strike=occ.strike,
        is_call=occ.is_call,
        bid=number("bid"),
        ask=number("ask"),
        volume=number("volume"),
        open_interest=number("open_interest"),
        cboe_iv=number("iv"),
        cboe_delta=number("delta"),
        line=index,
    )


def parse_options_json(payload: bytes | str, *, source: str) -> CboeOptionsSnapshot:
    """Parse an ``options/_SPX.json`` response into the index quote and one record per option.

    Raises:
        MarketDataError: MALFORMED naming the row, field and value at fault (or a contract quoted
            twice differently, or options of another index); EMPTY if there are no options.
    """
    document = _load_json(payload, source)
    index = _index_quote(document, source)
    options = document["data"].get("options")
    if not isinstance(options, list):
        raise _malformed(
            source, f"'data.options': expected a list of options, got {type(options).__name__}"
        )
    if not options:
        raise MarketDataError(source, "'data.options' is empty", MarketDataProblem.EMPTY)
    records = [_option_row(row, i, source) for i, row in enumerate(options, start=1)]
    roots = {r.root for r in records}
    wanted = _OPTION_ROOTS.get(index.symbol, frozenset({index.symbol}))
    if not roots <= wanted:
        raise _malformed(
            source,
            f"options of {index.symbol} must have roots {sorted(wanted)}, got {sorted(roots)}",
        )
    try:
        unique = dedupe(records, file=source)
    except ChainFileError as exc:
        raise _malformed(source, exc.problem.replace("line", "row")) from None
    return CboeOptionsSnapshot(index=index, quotes=tuple(unique), source=source)


def _age(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes / 60
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def _check_response_time(
    captured_at: datetime, asof: datetime, max_age: timedelta, source: str
) -> None:
    asof_ny = asof.astimezone(NEW_YORK)
    if captured_at - asof > CLOCK_SKEW:
        raise MarketDataError(
            source,
            f"response time-stamped {captured_at:%Y-%m-%d %H:%M:%S} ET is after asof "
            f"{asof_ny:%Y-%m-%d %H:%M:%S} ET by {_age(captured_at - asof)}: clock skew?",
            MarketDataProblem.FUTURE,
        )
    if asof - captured_at > max_age:
        raise MarketDataError(
            source,
            f"response time-stamped {captured_at:%Y-%m-%d %H:%M} ET is {_age(asof - captured_at)} "
            f"old at {asof_ny:%Y-%m-%d %H:%M} ET (limit {_age(max_age)}): a stale cached copy?",
            MarketDataProblem.STALE,
        )


def snapshot_chain(
    snapshot: CboeOptionsSnapshot, *, asof: datetime, max_age: timedelta = DEFAULT_MAX_QUOTE_AGE
) -> OptionChain:
    """Check a parsed snapshot's times at ``asof`` and build its `OptionChain`.

    Raises:
        MarketDataError: FUTURE or STALE for the response or quote time, EMPTY when no option is
            quoted two-sided, MALFORMED when the quotes cannot describe a chain.
        ValueError: If ``asof`` is naive.
    """
    if asof.tzinfo is None:
        raise ValueError(f"asof must be timezone-aware, was {asof!r}")
    source = snapshot.source
    _check_response_time(snapshot.index.captured_at, asof, max_age, source)
    quote_time = snapshot.quote_time
    if asof - quote_time > max_age:
        frozen = snapshot.index.captured_at - quote_time > CBOE_QUOTE_DELAY + timedelta(minutes=1)
        why = (
            "they froze at the end of the last session: the market is closed"
            if frozen
            else f"Cboe's quotes are {_age(CBOE_QUOTE_DELAY)} delayed: is the limit below that?"
        )
        raise MarketDataError(
            source,
            f"option quotes from {quote_time:%Y-%m-%d %H:%M} ET are {_age(asof - quote_time)} "
            f"old at {asof.astimezone(NEW_YORK):%H:%M} ET (limit {_age(max_age)}); {why}",
            MarketDataProblem.STALE,
        )
    quotes = OptionQuotes.from_records(snapshot.quotes)
    with np.errstate(invalid="ignore"):
        two_sided = (quotes.bid > 0) & (quotes.ask >= quotes.bid)
    if not two_sided.any():
        raise MarketDataError(
            source,
            f"none of the {len(quotes)} options is quoted two-sided (bid > 0, ask >= bid)",
            MarketDataProblem.EMPTY,
        )
    captured = snapshot.index.captured_at
    try:
        return build_chain(
            quotes,
            snapshot.index.price,
            quote_time,
            f"{source} (response {captured:%Y-%m-%d %H:%M:%S %Z})",
            underlying=snapshot.index.symbol,
            asof=asof,
            max_quote_age=max_age,
        )
    except ValueError as exc:
        raise _malformed(source, str(exc)) from None


# ---------------------------------------------------------------------------------------------
# Fetching


Sleep = Callable[[float], Awaitable[None]]


class CboeDelayedQuotes:
    """The live market-data source: Cboe's delayed-quotes JSON over HTTPS.

    Use as an async context manager (or call `aclose`) when it creates its own client. Each
    request has a timeout and is retried on timeouts, connection errors, HTTP 5xx and 429 (with
    its ``Retry-After``), with exponential backoff; other HTTP errors fail at once.

    Args:
        client: An ``httpx.AsyncClient`` to use (tests pass one on ``httpx.MockTransport``); None
            creates one, closed by `aclose`.
        base_url: The API's base URL.
        timeout_seconds: Timeout of one request (connect, read, write, pool).
        retries: Further attempts after a failed one.
        backoff_seconds: Delay before the first retry; doubles per retry.
        max_age: Age limit of the response and of the quotes at ``asof``.
        symbol: The index whose chain `chain` fetches.
        sleep: Awaited between attempts (tests pass a recorder).
    """

    name: str = SOURCE_NAME

    def __init__(
        self,
        *,
        client: httpx.AsyncClient | None = None,
        base_url: str = DEFAULT_BASE_URL,
        timeout_seconds: float = 20.0,
        retries: int = 2,
        backoff_seconds: float = 1.0,
        max_age: timedelta = DEFAULT_MAX_QUOTE_AGE,
        symbol: str = "SPX",
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if retries < 0:
            raise ValueError(f"retries must be 0 or more, was {retries}")
        if not timeout_seconds > 0:
            raise ValueError(f"timeout_seconds must be positive, was {timeout_seconds}")
        self._timeout = httpx.Timeout(timeout_seconds)
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(
            timeout=self._timeout,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=True,
        )
        self._base_url = base_url.rstrip("/")
        self._retries = retries
        self._backoff = backoff_seconds
        self._max_age = max_age
        self._symbol = symbol.upper()
        self._sleep = sleep

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this source created it."""
        if self._owns_client:
            await self._client.aclose()

    async def chain(self, asof: datetime) -> OptionChain:
        """Fetch the index's option chain and build it as of ``asof``.

        Raises:
            MarketDataError: If the request fails after its retries, or the response is
                malformed, stale, from the future or empty (see the module docstring).
            ValueError: If ``asof`` is naive.
        """
        _aware(asof)
        path = f"options/_{self._symbol}.json"
        content = await self._get(path)
        source = f"{SOURCE_NAME} {path}"
        snapshot = await asyncio.to_thread(parse_options_json, content, source=source)
        return await asyncio.to_thread(snapshot_chain, snapshot, asof=asof, max_age=self._max_age)

    async def index_last(self, symbol: str, asof: datetime) -> IndexQuote:
        """Fetch an index's last price (``quotes/_VIX.json`` for "VIX").

        During a regular session a price older than the age limit is stale; outside sessions the
        last print is returned as it is (its time says how old it is).

        Raises:
            MarketDataError: If the request fails, or the response is malformed, names another
                index, or is stale or from the future.
            ValueError: If ``asof`` is naive.
        """
        _aware(asof)
        path = f"quotes/_{symbol.upper()}.json"
        source = f"{SOURCE_NAME} {path}"
        quote = parse_quote_json(await self._get(path), source=source)
        if quote.symbol != symbol.upper():
            raise _malformed(source, f"expected a quote of {symbol.upper()}, got {quote.symbol}")
        _check_response_time(quote.captured_at, asof, self._max_age, source)
        if is_session_open(asof) and asof - quote.at > self._max_age:
            raise MarketDataError(
                source,
                f"last {quote.symbol} print {quote.price:g} at {quote.at:%H:%M} ET is "
                f"{_age(asof - quote.at)} old during the session (limit {_age(self._max_age)})",
                MarketDataProblem.STALE,
            )
        return quote

    async def spx_last(self, asof: datetime) -> tuple[float, datetime]:
        """Return the last SPX print and when it was printed (aware New York).

        Raises:
            MarketDataError: As `index_last`.
            ValueError: If ``asof`` is naive.
        """
        quote = await self.index_last("SPX", asof)
        return quote.price, quote.at

    async def _get(self, path: str) -> bytes:
        url = f"{self._base_url}/{path}"
        source = f"{SOURCE_NAME} {path}"
        attempts = self._retries + 1
        problem = ""
        for attempt in range(1, attempts + 1):
            delay = self._backoff * 2 ** (attempt - 1)
            try:
                response = await self._client.get(url, timeout=self._timeout)
            except httpx.TimeoutException:
                problem = f"timed out after {self._timeout.read:g} s"
            except httpx.TransportError as exc:
                problem = f"connection failed ({type(exc).__name__}: {exc})"
            else:
                status = response.status_code
                if status == httpx.codes.OK:
                    return response.content
                problem = f"HTTP {status} {response.reason_phrase}".rstrip()
                if status != httpx.codes.TOO_MANY_REQUESTS and status < 500:
                    raise MarketDataError(
                        source, f"{problem} from {url}", MarketDataProblem.UNAVAILABLE
                    )
                retry_after = _retry_after(response)
                if retry_after is not None:
                    if retry_after > MAX_RETRY_AFTER_SECONDS:
                        raise MarketDataError(
                            source,
                            f"{problem} with Retry-After {retry_after:g} s "
                            f"(over {MAX_RETRY_AFTER_SECONDS:g} s)",
                            MarketDataProblem.UNAVAILABLE,
                        )
                    delay = max(delay, retry_after)
            if attempt < attempts:
                logger.warning(
                    "%s: %s (attempt %d of %d); retrying in %.1f s",
                    source,
                    problem,
                    attempt,
                    attempts,
                    delay,
                )
                await self._sleep(delay)
        raise MarketDataError(
            source,
            f"{problem} ({attempts} attempt{'s' if attempts > 1 else ''})",
            MarketDataProblem.UNAVAILABLE,
        )


def _retry_after(response: httpx.Response) -> float | None:
    header = response.headers.get("Retry-After")
    if header is None:
        return None
    try:
        seconds = float(header)
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _aware(asof: datetime) -> None:
    if asof.tzinfo is None:
        raise ValueError(f"asof must be timezone-aware, was {asof!r}")
