"""Live market data: Cboe's delayed quotes polled onto a day's tape and served as a `DayFeed`.

Cboe's free API has no intraday bars to download, so `CboePoller` builds them: during the
session it polls the SPX index quote every `POLL_SECONDS` (VIX, VIX9D, VIX3M and VVIX every
`VOL_EVERY`-th poll), keeps each new print on the day's tape, in memory and in Redis
(`TapeStore`, so a restart loses none), and fetches the SPX chain ahead of each publish time and
every `CHAIN_EVERY` in between. `LiveDayFeed` serves the tape to the services as of any moment,
as `bot.replay.RecordedDayFeed` serves the shipped files, from what had been polled by then:

* **SPX bars**: 1-minute bars from the prints, by the minute printed (first, highest, lowest
  and last print of the minute); the engine's 5-minute closes are resampled from the minutes
  completed, warmed up on the previous session's tape. A minute without a print is a gap,
  reported by `core.bars.check_bars` and never filled.
* **Delay**: Cboe's quotes are 15 minutes behind (`CBOE_QUOTE_DELAY`); every card's data stamp
  carries the print time, and data counts as stale only when it lags beyond that delay.
* **VIX family**: the polled prints, observed (not modelled); the VX futures are estimated
  from their term structure (the engine labels it on the cards).
* **A/D line**: the shipped daily breadth when it is recent enough, else the trigger is off and
  every alert says so (as in the replay).
* **Parity scan**: the newest chain polled, while its quotes are within the age limit.
* **Settlement**: the closing SPX print, once a poll at least `CLOSE_SETTLES_AFTER` past the
  delayed close has seen it; until then `settlement` says what it waits for.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from bisect import bisect_right
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bot.adapters.market_data.cboe_json import SOURCE_NAME, CboeDelayedQuotes, IndexQuote
from bot.adapters.market_data.common import CBOE_QUOTE_DELAY
from bot.adapters.market_data.errors import MarketDataError, MarketDataProblem
from bot.ports import Clock, TapeStore
from bot.replay import RECENT_ISSUE, ad_line_for, recent_bar_issues
from core.bars import Bars
from core.calendar import (
    NEW_YORK,
    is_trading_day,
    previous_trading_day,
    session_close,
    session_open,
)
from core.chain import DEFAULT_MAX_QUOTE_AGE, OptionChain
from core.hedge import MarketState, VolIndexLevels
from core.types import DataStamp

logger = logging.getLogger(__name__)

#: Seconds between polls of the SPX quote. Cboe updates the index every 15 seconds; three polls
#: a minute leave a minute without a print (a reported gap) only when polls fail.
POLL_SECONDS = 20.0
#: The VIX family is polled on every this-many-th poll (once a minute at 20 s).
VOL_EVERY = 3
#: The VIX-family indices polled: VIX, VIX9D and VIX3M are required, VVIX is optional.
VOL_SYMBOLS = ("VIX", "VIX9D", "VIX3M", "VVIX")
#: A fresh chain is fetched this often during the session (the parity scan reads it) ...
CHAIN_EVERY = timedelta(minutes=10)
#: ... and this long before each publish time, so that a signal is built on a fresh chain.
CHAIN_LEAD = timedelta(minutes=2)
#: A chain fetch that failed is tried again after this long (not at every poll: it is large).
CHAIN_RETRY = timedelta(minutes=1)
#: Chains kept in memory (about 14 MB of JSON each on the wire, far less as arrays).
CHAINS_KEPT = 3
#: Polling starts this long before the open ...
POLL_BEFORE_OPEN = timedelta(minutes=5)
#: ... and ends this long after the close: Cboe shows the closing print 15 minutes late, and
#: the index's official close can print a few minutes after the bell.
POLL_AFTER_CLOSE = CBOE_QUOTE_DELAY + timedelta(minutes=20)
#: The closing print is taken as the settlement once a poll this long after the delayed close
#: has seen it (the official close is disseminated minutes after the bell).
CLOSE_SETTLES_AFTER = timedelta(minutes=5)
#: Market data lagging beyond Cboe's delay by more than this blocks a hedge decision.
MAX_LAG = timedelta(minutes=5)


class LiveFeedError(ValueError):
    """The live tape cannot answer (nothing polled yet, stale, a print not in yet)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Print:
    """One polled index print.

    Attributes:
        symbol: The index ("SPX", "VIX", ...).
        price: The print, in index points.
        at: When it was printed (aware New York): 15 minutes before it was polled.
        captured_at: When Cboe made the response that showed it (aware New York).
        open: The session's opening print as the response gave it (None: none).
    """

    symbol: str
    price: float
    at: datetime
    captured_at: datetime
    open: float | None = None

    @classmethod
    def of(cls, quote: IndexQuote) -> Print:
        """The print an index quote shows."""
        return cls(
            symbol=quote.symbol,
            price=quote.price,
            at=quote.at,
            captured_at=quote.captured_at,
            open=quote.open,
        )

    def to_line(self) -> str:
        """One JSON line for the tape store."""
        return json.dumps(
            {
                "symbol": self.symbol,
                "price": self.price,
                "at": self.at.isoformat(),
                "captured_at": self.captured_at.isoformat(),
                "open": self.open,
            },
            sort_keys=True,
        )

    @classmethod
    def from_line(cls, line: str) -> Print:
        """Read a line `to_line` wrote.

        Raises:
            LiveFeedError: Naming the field and the value at fault.
        """
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            raise LiveFeedError(f"tape line {line[:80]!r} is not JSON ({error})") from None
        if not isinstance(data, dict):
            raise LiveFeedError(f"tape line {line[:80]!r}: expected an object")
        symbol = data.get("symbol")
        if not isinstance(symbol, str) or not symbol:
            raise LiveFeedError(f"tape line {line[:80]!r}: 'symbol' is {symbol!r}")
        price = _positive(data.get("price"), "price", line)
        opened = data.get("open")
        return cls(
            symbol=symbol,
            price=price,
            at=_aware(data.get("at"), "at", line),
            captured_at=_aware(data.get("captured_at"), "captured_at", line),
            open=None if opened is None else _positive(opened, "open", line),
        )


def _positive(value: Any, name: str, line: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LiveFeedError(f"tape line {line[:80]!r}: {name!r} is {value!r}, not a number")
    number = float(value)
    if not (math.isfinite(number) and number > 0):
        raise LiveFeedError(f"tape line {line[:80]!r}: {name!r} is {value!r}, not positive")
    return number


def _aware(value: Any, name: str, line: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise LiveFeedError(
            f"tape line {line[:80]!r}: {name!r} is {value!r}, not an ISO time"
        ) from None
    if moment.tzinfo is None:
        raise LiveFeedError(f"tape line {line[:80]!r}: {name!r} is {value!r}, with no UTC offset")
    return moment.astimezone(NEW_YORK)


@dataclass(slots=True, eq=False)
class LiveTape:
    """What has been polled on one trading day: prints per index, and the newest chains.

    Prints are kept in the order polled; a print already held, or older than the newest of its
    index (a stale copy from the CDN), is not kept again.
    """

    day: date
    prints: dict[str, list[Print]] = field(default_factory=dict)
    #: (when fetched, chain), oldest first, the newest `CHAINS_KEPT`.
    chains: list[tuple[datetime, OptionChain]] = field(default_factory=list)
    #: The previous session's 5-minute SPX closes (the indicators' warm-up), when polled.
    warmup: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    #: Whether the store's copy of the tape has been read into this one.
    restored: bool = False
    #: When each index's responses were made, oldest first (a response repeating the last
    #: print still says the data was current then).
    heard: dict[str, list[datetime]] = field(default_factory=dict)

    def add(self, printed: Print) -> bool:
        """Keep a polled print; False when it is not new (the same print, or an older one)."""
        rows = self.prints.setdefault(printed.symbol, [])
        if rows:
            last = rows[-1]
            if printed.at < last.at or (printed.at == last.at and printed.price == last.price):
                return False
            if printed.captured_at < last.captured_at:
                return False
        rows.append(printed)
        self.hear(printed.symbol, printed.captured_at)
        return True

    def hear(self, symbol: str, captured_at: datetime) -> None:
        """Note a response about `symbol` made at `captured_at` (new print or not)."""
        times = self.heard.setdefault(symbol, [])
        if not times or captured_at > times[-1]:
            times.append(captured_at)

    def last_heard(self, symbol: str, moment: datetime | None = None) -> datetime | None:
        """When the newest response about `symbol` made by `moment` (None: ever) was made."""
        times = self.heard.get(symbol, [])
        found = len(times) if moment is None else bisect_right(times, moment)
        return times[found - 1] if found else None

    def known(self, symbol: str, moment: datetime) -> list[Print]:
        """The index's prints polled by `moment`, oldest first."""
        rows = self.prints.get(symbol, [])
        return rows[: bisect_right(rows, moment, key=lambda p: p.captured_at)]

    def latest(self, symbol: str, moment: datetime) -> Print | None:
        """The index's newest print polled by `moment` (None: none)."""
        known = self.known(symbol, moment)
        return known[-1] if known else None

    def add_chain(self, fetched_at: datetime, chain: OptionChain) -> None:
        """Keep a fetched chain (the oldest beyond `CHAINS_KEPT` is dropped)."""
        self.chains.append((fetched_at, chain))
        del self.chains[:-CHAINS_KEPT]

    def chain_known(self, moment: datetime) -> tuple[datetime, OptionChain] | None:
        """The newest chain fetched by `moment` (None: none)."""
        held = [pair for pair in self.chains if pair[0] <= moment]
        return held[-1] if held else None

    def restore(self, lines: Sequence[str]) -> int:
        """Put the store's lines (polled before a restart) ahead of anything polled since.

        Returns:
            How many prints were restored.

        Raises:
            LiveFeedError: For a line that cannot be read (naming it).
        """
        since, heard = self.prints, self.heard
        self.prints, self.heard = {}, {}
        for line in lines:
            self.add(Print.from_line(line))
        restored = sum(len(rows) for rows in self.prints.values())
        for rows in since.values():
            for printed in rows:
                self.add(printed)
        for symbol, times in heard.items():  # responses that brought no new print
            self.heard[symbol] = sorted({*self.heard.get(symbol, []), *times})
        self.restored = True
        return restored


def minute_bars(prints: Sequence[Print], day: date) -> Bars:
    """The session's 1-minute SPX bars from `prints` (in the order polled), by minute printed."""
    opens, closes = session_open(day), session_close(day)
    minutes: list[np.datetime64] = []
    ohlc: list[list[float]] = []
    for printed in prints:
        if not opens <= printed.at < closes:
            continue
        minute = _utc_minute(printed.at)
        if minutes and minutes[-1] == minute:
            bar = ohlc[-1]
            bar[1] = max(bar[1], printed.price)
            bar[2] = min(bar[2], printed.price)
            bar[3] = printed.price
        else:
            minutes.append(minute)
            ohlc.append([printed.price] * 4)
    columns = np.array(ohlc, dtype=np.float64).reshape(-1, 4)
    return Bars(
        symbol="SPX",
        source=f"{SOURCE_NAME} quotes/_SPX.json as polled (15 min delayed)",
        interval_minutes=1,
        times=np.array(minutes, dtype="datetime64[m]"),
        open=columns[:, 0],
        high=columns[:, 1],
        low=columns[:, 2],
        close=columns[:, 3],
    )


def _utc_minute(moment: datetime) -> np.datetime64:
    return np.datetime64(int(moment.timestamp() // 60), "m")


def completed_bars(prints: Sequence[Print], day: date, clock: datetime) -> Bars:
    """The 1-minute bars over by the data clock `clock` (the newest response less the delay).

    A minute is over once the data clock has passed its end, whether or not a later print
    came: the last print polled in it is its close.
    """
    return minute_bars(prints, day).until(clock)


def five_minute_closes(completed: Bars, clock: datetime) -> NDArray[np.float64]:
    """The 5-minute closes (09:30-anchored) of `completed_bars` over by the data clock."""
    if len(completed) == 0:
        return np.empty(0)
    return np.asarray(completed.resample(5).until(clock).close, dtype=np.float64)


@dataclass(slots=True, kw_only=True, eq=False)
class LiveDayFeed:
    """One live trading day's tape, served as of any moment of it (`bot.ports.DayFeed`)."""

    tape: LiveTape
    ad_line: NDArray[np.float64] | None
    ad_note: str
    #: The age limit of a chain's quotes.
    max_age: timedelta = DEFAULT_MAX_QUOTE_AGE
    delay: timedelta = CBOE_QUOTE_DELAY
    #: How often the SPX quote is polled (said on the cards).
    poll_seconds: float = POLL_SECONDS

    @property
    def day(self) -> date:
        """The trading day served."""
        return self.tape.day

    def chain_at(
        self, moment: datetime, expiries: Sequence[tuple[str, date]] | None = None
    ) -> tuple[OptionChain, str | None]:
        """The newest chain fetched by `moment` (real: no note); `expiries` are what it lists.

        Raises:
            LiveFeedError: If none was fetched by then, or its quotes are past the age limit.
        """
        held = self.tape.chain_known(moment)
        if held is None:
            raise LiveFeedError(
                f"no SPX chain fetched from {SOURCE_NAME} by {_hm(moment)} ET on {self.day}"
            )
        _, chain = held
        age = moment - chain.quote_time
        if age > self.max_age:
            raise LiveFeedError(
                f"the newest SPX chain ({SOURCE_NAME}) holds quotes from {_hm(chain.quote_time)} "
                f"ET, {_minutes(age)} min old at {_hm(moment)} ET (limit {_minutes(self.max_age)})"
            )
        return chain, None

    def market_at(self, moment: datetime, chain: OptionChain) -> MarketState:
        """What the engine sees at `moment`: the prints polled by then (15 min delayed).

        `chain` (the position's entry chain) names the source; the parity scan reads the
        newest chain polled while its quotes are within the age limit.

        Raises:
            LiveFeedError: If no VIX, VIX9D or VIX3M print was polled by `moment`.
        """
        prints = [p for p in self.tape.known("SPX", moment) if p.at >= session_open(self.day)]
        newest = prints[-1] if prints else None
        vol = self.vol_at(moment)
        clock = self._data_clock(moment)
        completed = completed_bars(prints, self.day, clock)
        closes = np.concatenate([self.tape.warmup, five_minute_closes(completed, clock)])
        return MarketState(
            asof=moment,
            spot=newest.price if newest is not None else math.nan,
            closes_5m=closes[np.isfinite(closes)],
            ad_line=self.ad_line,
            ad_note=self.ad_note,
            vol=vol,
            chain=self._parity_chain(moment),
            data_issues=self._issues(prints, completed, moment, clock),
            data=DataStamp(
                quote_time=newest.at if newest is not None else moment,
                source=(
                    f"{SOURCE_NAME} ({_minutes(self.delay)} min delayed): SPX polled every "
                    f"{self.poll_seconds:g} s, VIX family every "
                    f"{self.poll_seconds * VOL_EVERY:g} s; {chain.source}"
                ),
                modelled=(*chain.modelled, "legs marked at their entry IVs scaled with VIX"),
            ),
        )

    def _parity_chain(self, moment: datetime) -> OptionChain | None:
        try:
            return self.chain_at(moment)[0]
        except LiveFeedError:
            return None  # none fetched, or too old: no scan

    def _data_clock(self, moment: datetime) -> datetime:
        # What time the newest SPX response heard by `moment` showed the market at.
        heard = self.tape.last_heard("SPX", moment)
        return (heard if heard is not None else moment) - self.delay

    def _issues(
        self, prints: Sequence[Print], completed: Bars, moment: datetime, clock: datetime
    ) -> tuple[str, ...]:
        day = self.day
        if not prints:
            first = session_open(day) + self.delay
            return (
                f"SPX: no print from today's session polled by {_hm(moment)} ET (Cboe's quotes "
                f"are {_minutes(self.delay)} min delayed: the first is due at {_hm(first)} ET)",
            )
        newest = prints[-1]
        issues = (
            recent_bar_issues(completed, day, min(clock, session_close(day)))
            if clock > session_open(day)
            else ()
        )
        lag = moment - newest.at - self.delay
        if lag > MAX_LAG and moment < session_close(day) + self.delay:
            issues = (
                *issues,
                f"SPX: the newest print ({newest.at:%H:%M:%S} ET) lags {_minutes(lag)} min "
                f"beyond Cboe's {_minutes(self.delay)}-minute delay at {_hm(moment)} ET",
            )
        return issues

    def vol_at(self, moment: datetime) -> VolIndexLevels:
        """The newest VIX-family prints polled by `moment` (observed, 15 min delayed).

        Raises:
            LiveFeedError: If VIX, VIX9D or VIX3M has no print by then, or (once the session's
                first delayed prints are due) the newest lags beyond the delay by more than
                `RECENT_ISSUE`.
        """
        latest = {symbol: self.tape.latest(symbol, moment) for symbol in VOL_SYMBOLS}
        missing = [s for s in ("VIX", "VIX9D", "VIX3M") if latest[s] is None]
        if missing:
            raise LiveFeedError(
                f"no {', '.join(missing)} print polled from {SOURCE_NAME} by {_hm(moment)} ET "
                f"on {self.day}"
            )
        required = {s: p for s, p in latest.items() if p is not None and s != "VVIX"}
        if first_print_due(self.day) <= moment <= session_close(self.day):
            for symbol, printed in required.items():
                lag = moment - printed.at - self.delay
                if lag > RECENT_ISSUE:
                    raise LiveFeedError(
                        f"the newest {symbol} print ({printed.at:%H:%M} ET) lags "
                        f"{_minutes(lag)} min beyond Cboe's delay at {_hm(moment)} ET"
                    )
        vvix = latest["VVIX"]
        return VolIndexLevels(
            vix=required["VIX"].price,
            vix9d=required["VIX9D"].price,
            vix3m=required["VIX3M"].price,
            vvix=vvix.price if vvix is not None else None,
        )

    def settlement(self) -> tuple[float, VolIndexLevels, str]:
        """The closing SPX print and the VIX family's closing prints, once they are in.

        Raises:
            LiveFeedError: Until a poll `CLOSE_SETTLES_AFTER` past the delayed close has seen
                the closing print, or when the tape has no print from the close.
        """
        close = session_close(self.day)
        due = close + self.delay + CLOSE_SETTLES_AFTER
        rows = self.tape.prints.get("SPX", [])
        heard = self.tape.last_heard("SPX")
        if not rows or heard is None or heard < due:
            newest = (
                f"SPX last polled at {_hm(heard)} ET" if heard is not None else "SPX not polled yet"
            )
            raise LiveFeedError(
                f"the {self.day} closing print is not in yet: Cboe shows it "
                f"{_minutes(self.delay)} min late, so it settles from {_hm(due)} ET ({newest})"
            )
        closing = rows[-1]
        if closing.at < close - timedelta(minutes=1):
            raise LiveFeedError(
                f"no SPX print from the {self.day} close was polled: the newest is from "
                f"{_hm(closing.at)} ET (polled {_hm(closing.captured_at)} ET)"
            )
        note = (
            f"settlement taken as the closing SPX print {closing.price:.2f} "
            f"({closing.at:%H:%M:%S} ET, {SOURCE_NAME}), the official close"
        )
        return closing.price, self.vol_at(heard), note

    def opening_print(self) -> tuple[float, str]:
        """The session's opening SPX print (a stand-in for the AM special opening quotation).

        Raises:
            LiveFeedError: If no print of the session carried its open.
        """
        for printed in self.tape.prints.get("SPX", []):
            if printed.open is not None and printed.at >= session_open(self.day):
                return printed.open, (
                    f"AM settlement taken as the day's opening SPX print {printed.open:.2f} "
                    f"({SOURCE_NAME} 'open'); the official SOQ is computed from each "
                    "component's opening trade"
                )
        raise LiveFeedError(f"no SPX opening print polled on {self.day}")

    def last_data_at(self, moment: datetime) -> datetime | None:
        """When the newest SPX print of the session polled by `moment` was printed.

        It is at least Cboe's 15-minute delay old: the watchdog allows for it. None before the
        session's first print (the last session's close, polled before the open, does not
        count); a source that never gives one is reported by the poller.
        """
        newest = self.tape.latest("SPX", moment)
        if newest is None or newest.at < session_open(self.day):
            return None
        return newest.at


def first_print_due(day: date) -> datetime:
    """When the session's first delayed print is surely out (a little after open + delay)."""
    return session_open(day) + CBOE_QUOTE_DELAY + timedelta(minutes=2)


def _hm(moment: datetime) -> str:
    return f"{moment.astimezone(NEW_YORK):%H:%M}"


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


#: Told of a polling problem and of its end: (event id, text) for the admin channel.
ProblemHook = Callable[[str, str], Awaitable[object]]


class CboePoller:
    """Polls Cboe's delayed quotes onto each trading day's tape, and serves the days' feeds.

    Args:
        source: The delayed-quotes client.
        store: Where the tapes are kept across restarts.
        clock: The time.
        data_dir: The shipped data (the NYSE breadth behind the A/D line).
        chain_moments: When chains are needed on a day (the publish times): each gets a chain
            fetched within `CHAIN_LEAD` before it.
        poll_seconds: Seconds between polls.
        max_age: The age limit of a chain's quotes.
        on_problem: Told (event id, text) when polling starts failing and when it recovers.
        leading: Whether this process polls: only the scheduler's leader does (the jobs that
            read the tape run there). A process that takes the lead reads the tape again
            from the store before it polls, so it holds what the last leader polled.
    """

    def __init__(
        self,
        *,
        source: CboeDelayedQuotes,
        store: TapeStore,
        clock: Clock,
        data_dir: Path,
        chain_moments: Callable[[date], Sequence[datetime]] = lambda day: (),
        poll_seconds: float = POLL_SECONDS,
        max_age: timedelta = DEFAULT_MAX_QUOTE_AGE,
        on_problem: ProblemHook | None = None,
        leading: Callable[[], bool] = lambda: True,
    ) -> None:
        if not poll_seconds > 0:
            raise ValueError(f"poll_seconds must be positive, was {poll_seconds}")
        self.source = source
        self.store = store
        self.clock = clock
        self.data_dir = data_dir
        self.chain_moments = chain_moments
        self.poll_seconds = poll_seconds
        self.max_age = max_age
        self.on_problem = on_problem
        self.leading = leading
        self.polls = 0
        self._tapes: dict[date, LiveTape] = {}
        self._feeds: dict[date, LiveDayFeed] = {}
        #: What is failing now, by resource (told once per episode).
        self._failing: dict[str, str] = {}
        #: When a chain was last asked for (fetched or not).
        self._chain_tried: datetime | None = None

    def tape(self, day: date) -> LiveTape:
        """The day's tape (empty until restored or polled)."""
        if day not in self._tapes:
            self._tapes[day] = LiveTape(day=day)
        return self._tapes[day]

    def feed_for(self, day: date) -> LiveDayFeed:
        """The day's feed, a live view of its tape (`Services.feed_for`)."""
        feed = self._feeds.get(day)
        if feed is None:
            ad_line, ad_note = ad_line_for(self.data_dir, day)
            feed = LiveDayFeed(
                tape=self.tape(day),
                ad_line=ad_line,
                ad_note=ad_note,
                max_age=self.max_age,
                poll_seconds=self.poll_seconds,
            )
            self._feeds[day] = feed
        return feed

    async def restore(self, day: date) -> None:
        """Read the day's tape from the store (once), and the warm-up from the session before.

        Raises:
            LiveFeedError: For a stored line that cannot be read.
        """
        tape = self.tape(day)
        if tape.restored:
            return
        restored = tape.restore(await self.store.lines(day))
        before = previous_trading_day(day)
        prior = LiveTape(day=before)
        prior.restore(await self.store.lines(before))
        closed = session_close(before)
        spx = prior.prints.get("SPX", [])
        tape.warmup = five_minute_closes(completed_bars(spx, before, closed), closed)
        logger.info(
            "live tape %s: %d prints restored; warm-up %d 5-minute closes from %s",
            day,
            restored,
            tape.warmup.size,
            before,
        )

    def polling(self, now: datetime) -> bool:
        """Whether `now` falls in the polling window of a trading day."""
        day = now.astimezone(NEW_YORK).date()
        if not is_trading_day(day):
            return False
        return session_open(day) - POLL_BEFORE_OPEN <= now <= session_close(day) + POLL_AFTER_CLOSE

    async def poll(self, now: datetime) -> list[Print]:
        """Poll once: SPX (the VIX family on every `VOL_EVERY`-th poll), and a chain if due.

        Failures are logged and told once per episode; nothing is filled in.

        Returns:
            The new prints kept.
        """
        day = now.astimezone(NEW_YORK).date()
        await self.restore(day)
        tape = self.tape(day)
        symbols = ("SPX", *VOL_SYMBOLS) if self.polls % VOL_EVERY == 0 else ("SPX",)
        self.polls += 1
        kept: list[Print] = []
        for symbol in symbols:
            try:
                quote = await self.source.index_last(symbol, now)
            except MarketDataError as error:
                if error.kind is MarketDataProblem.STALE and now < first_print_due(day):
                    logger.debug("live %s before its first print: %s", symbol, error)
                    continue  # the session's first delayed print is not out yet: no failure
                await self._failed(day, f"quotes/_{symbol}", str(error))
                continue
            await self._recovered(day, f"quotes/_{symbol}")
            printed = Print.of(quote)
            tape.hear(symbol, quote.captured_at)
            if tape.add(printed):
                kept.append(printed)
        await self.store.append(day, [p.to_line() for p in kept])
        if self._chain_due(tape, now):
            self._chain_tried = now
            try:
                chain = await self.source.chain(now)
            except MarketDataError as error:
                await self._failed(day, "options/_SPX", str(error))
            else:
                await self._recovered(day, "options/_SPX")
                tape.add_chain(now, chain)
        return kept

    def _chain_due(self, tape: LiveTape, now: datetime) -> bool:
        day = tape.day
        if not session_open(day) + CBOE_QUOTE_DELAY <= now <= session_close(day):
            return False  # before 09:45 the quotes are the last session's (or GTH)
        if self._chain_tried is not None and now - self._chain_tried < CHAIN_RETRY:
            return False
        fetched = tape.chains[-1][0] if tape.chains else None
        if fetched is None or now - fetched >= CHAIN_EVERY:
            return True
        return any(
            moment - CHAIN_LEAD <= now < moment and fetched < moment - CHAIN_LEAD
            for moment in self.chain_moments(day)
        )

    async def _failed(self, day: date, resource: str, problem: str) -> None:
        logger.warning("live %s: %s", resource, problem)
        if resource in self._failing:
            return
        self._failing[resource] = problem
        if self.on_problem is not None:
            stamp = f"{self.clock.now().astimezone(NEW_YORK):%H%M}"
            await self.on_problem(
                f"live-{day}-{resource}-{stamp}-failing", f"live market data failing: {problem}"
            )

    async def _recovered(self, day: date, resource: str) -> None:
        problem = self._failing.pop(resource, None)
        if problem is not None and self.on_problem is not None:
            stamp = f"{self.clock.now().astimezone(NEW_YORK):%H%M}"
            await self.on_problem(
                f"live-{day}-{resource}-{stamp}-recovered",
                f"live market data back: {SOURCE_NAME} {resource} answers again",
            )

    async def run(self, stop: asyncio.Event) -> None:
        """Poll in the window of every trading day until `stop` is set."""
        while not stop.is_set():
            now = self.clock.now()
            if not self.leading():
                for tape in self._tapes.values():
                    tape.restored = False  # another process polls: read its prints on taking over
            elif self.polling(now):
                try:
                    await self.poll(now)
                except Exception:  # the loop outlives any one round; the watchdog sees the gap
                    logger.exception("live poll at %s failed", now.isoformat())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.poll_seconds)


@dataclass(frozen=True, slots=True)
class CheckLine:
    """One resource's answer to `check_source`: whether it serves, and what it said."""

    ok: bool
    text: str


async def check_source(source: CboeDelayedQuotes, asof: datetime) -> list[CheckLine]:
    """Ask every resource the live feed polls once, as of `asof` (the admin's `live-check`).

    VVIX is optional (the rules fall back without it): its failure is shown, not counted.
    """
    lines: list[CheckLine] = []
    for symbol in ("SPX", *VOL_SYMBOLS):
        try:
            quote = await source.index_last(symbol, asof)
        except MarketDataError as error:
            lines.append(CheckLine(symbol == "VVIX", f"{symbol}: FAILED: {error}"))
            continue
        behind = _minutes(quote.captured_at - quote.at)
        lines.append(
            CheckLine(
                True,
                f"{symbol}: {quote.price:g}, printed {quote.at:%Y-%m-%d %H:%M:%S} ET, shown "
                f"{behind} min later (response {quote.captured_at:%H:%M:%S} ET)",
            )
        )
    try:
        chain = await source.chain(asof)
    except MarketDataError as error:
        lines.append(CheckLine(False, f"chain: FAILED: {error}"))
    else:
        expiries = sorted({term.expiry for term in chain.terms})
        lines.append(
            CheckLine(
                True,
                f"chain: {len(chain.strike)} options in {len(expiries)} expiries "
                f"({expiries[0]} ... {expiries[-1]}), quotes of "
                f"{chain.quote_time:%Y-%m-%d %H:%M} ET, spot {chain.spot:g}; "
                f"{len(chain.issues)} quality notes",
            )
        )
    return lines
