"""The live feed: Cboe's delayed quotes polled onto a tape in Redis and served to the services.

The fake Cboe (`RecordedCboe`, behind `httpx.MockTransport`; the network is never touched)
answers each request as the real API would have at the test clock's time, 15 minutes delayed,
from shipped real data: SPX prints are the closes of the real 1-minute bars of 2023-03-21/22
(`data/intraday`), the VIX family the day's real opening values (Cboe's daily history; there is
no intraday VIX), and the chain the real Cboe snapshot of 2022-03-23 10:11 ET turned into
``options/_SPX.json`` rows (same quotes, IVs and deltas).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest

from bot.adapters.market_data.bars_csv import load_bars
from bot.adapters.market_data.cboe_csv import read_cboe_csv
from bot.adapters.market_data.cboe_json import CboeDelayedQuotes
from bot.adapters.market_data.index_history import load_vol_indices
from bot.delivery import DeliveryWorker
from bot.live import (
    CHAIN_EVERY,
    CboePoller,
    LiveFeedError,
    LiveTape,
    Print,
)
from bot.notify import Notifier
from bot.ports import Subscriber
from bot.replay import RecordedDayFeed
from bot.services import Services
from bot.storage.tape import RedisTapeStore
from core.bars import Bars
from core.calendar import NEW_YORK, session_close, session_open
from core.chain import OptionChain
from core.rules import CondorRules, HedgeRules
from core.types import CondorSignal, DailyResult, NoTradeCode, NoTradeDay, Track
from tests.conftest import ROOT, load_snapshot
from tests.fakes import (
    FixedClock,
    InMemoryDayStore,
    InMemoryLedger,
    InMemoryOutbox,
    InMemorySubscriberStore,
    RecordingPublisher,
)

DATA = ROOT / "data"
BARS = DATA / "intraday" / "SPX_1min_2023-03-16_2023-03-31.txt.gz"
DAY = date(2023, 3, 22)
BEFORE = date(2023, 3, 21)
DELAY = timedelta(minutes=15)


def ny(day: date, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=NEW_YORK)


def _naive_ny(moment: datetime) -> str:
    return moment.astimezone(NEW_YORK).replace(tzinfo=None).isoformat()


def _utc_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def quote_json(symbol: str, price: float, printed: datetime, captured: datetime, opened: float):
    data = {
        "symbol": f"^{symbol}",
        "security_type": "index",
        "current_price": price,
        "open": opened,
        "close": price,
        "last_trade_time": _naive_ny(printed),
    }
    return {"timestamp": _utc_stamp(captured), "symbol": f"_{symbol}", "data": data}


@dataclass
class RecordedCboe:
    """Answers quotes/_SPX.json, the VIX family's quotes and options/_SPX.json at the clock.

    SPX: the close of the newest real 1-minute bar over 15 minutes before now, printed in the
    last second of its minute (before the open: the previous session's last). `down` holds the
    resources that answer 503 for now.
    """

    clock: FixedClock
    bars: dict[date, Bars]
    vol: dict[str, float]
    options: bytes | None = None
    down: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        name = request.url.path.rsplit("/", 2)
        resource = f"{name[-2]}/{name[-1].removesuffix('.json')}"
        self.requests.append(resource)
        if resource in self.down:
            return httpx.Response(503, text="unavailable")
        now = self.clock.now()
        symbol = resource.split("_", 1)[1]
        if resource == "options/_SPX":
            if self.options is None:
                return httpx.Response(404)
            return httpx.Response(200, content=self.options)
        if symbol == "SPX":
            price, printed, opened = self._spx(now - DELAY)
        else:
            price, printed, opened = self.vol[symbol], now - DELAY, self.vol[symbol]
        return httpx.Response(200, json=quote_json(symbol, price, printed, now, opened))

    def _spx(self, quote_time: datetime) -> tuple[float, datetime, float]:
        day = quote_time.astimezone(NEW_YORK).date()
        days = sorted(d for d in self.bars if d <= day)
        for d in reversed(days):
            session = self.bars[d].within(session_open(d), session_close(d))
            seen = session.until(quote_time)
            if len(seen):
                last = len(seen) - 1
                printed = seen.end_at(last) - timedelta(seconds=1)
                return float(seen.close[last]), printed, float(session.open[0])
        raise AssertionError(f"no bar before {quote_time}")


def session_bars(day: date) -> Bars:
    return load_bars(BARS, day=day)


def vol_opening(day: date) -> dict[str, float]:
    """The VIX family's real opening values of `day` (Cboe daily history)."""
    indices = load_vol_indices(DATA / "vix")
    return {
        "VIX": indices.vix.open_on(day),
        "VIX9D": indices.vix9d.open_on(day),
        "VIX3M": indices.vix3m.open_on(day),
        "VVIX": indices.vvix.latest_at_or_before(day - timedelta(days=1))[1],
    }


@dataclass
class Live:
    clock: FixedClock
    cboe: RecordedCboe
    poller: CboePoller
    client: httpx.AsyncClient
    problems: list[tuple[str, str]]

    async def poll_until(self, end: datetime, every: timedelta = timedelta(seconds=60)) -> None:
        """Poll from the clock's time to `end` (inclusive) at `every`, when in the window."""
        while self.clock.now() <= end:
            if self.poller.polling(self.clock.now()):
                await self.poller.poll(self.clock.now())
            self.clock.advance(every)


@pytest.fixture
async def live(redis_client) -> AsyncIterator[Live]:
    clocks = FixedClock(ny(BEFORE, 9, 25, 1))
    cboe = RecordedCboe(
        clock=clocks,
        bars={d: session_bars(d) for d in (date(2023, 3, 20), BEFORE, DAY)},
        vol=vol_opening(DAY),
    )
    client = httpx.AsyncClient(transport=httpx.MockTransport(cboe))
    problems: list[tuple[str, str]] = []

    async def told(event_id: str, text: str) -> None:
        problems.append((event_id, text))

    poller = make_poller(client, RedisTapeStore(redis_client), clocks, told)
    yield Live(clock=clocks, cboe=cboe, poller=poller, client=client, problems=problems)
    await client.aclose()


def make_poller(client, store, clock, told=None) -> CboePoller:
    source = CboeDelayedQuotes(client=client, retries=0)
    return CboePoller(
        source=source,
        store=store,
        clock=clock,
        data_dir=DATA,
        on_problem=told,
    )


async def poll_two_days(live: Live, end: datetime) -> None:
    await live.poll_until(ny(BEFORE, 16, 40))
    live.clock.set(ny(DAY, 9, 25, 1))
    await live.poll_until(end)


def recorded_feed() -> RecordedDayFeed:
    return RecordedDayFeed.load(DAY, DATA, HedgeRules())


# --- the tape, served as the engine's market ----------------------------------------------------


async def test_live_market_is_the_recorded_day_15_minutes_late(live):
    await poll_two_days(live, ny(DAY, 12, 0, 1))
    feed = live.poller.feed_for(DAY)
    recorded = recorded_feed()
    chain = make_chain_stub()
    for hour, minute in ((9, 50), (10, 20), (11, 0), (12, 0)):
        moment = ny(DAY, hour, minute, 1)  # just after the poll of that minute
        got = feed.market_at(moment, chain)
        want = recorded.market_at(moment - DELAY, chain)
        np.testing.assert_array_equal(got.closes_5m, want.closes_5m)
        assert got.spot == want.spot
        assert got.data_issues == ()
        # The newest print: the last second of the minute that ended 15 minutes earlier.
        assert got.data.quote_time == ny(DAY, hour, minute) - DELAY - timedelta(seconds=1)
        assert "15 min delayed" in got.data.source
        assert got.vol.vix == pytest.approx(vol_opening(DAY)["VIX"])
        assert got.vol.modelled == ""  # observed prints, not the replay's modelled intraday VIX


def make_chain_stub() -> OptionChain:
    """The real 2022-03-23 snapshot as a chain (the market's `chain` argument names a source)."""
    return load_snapshot("spx_cboe_2022-03-23_intraday_1011ET.csv.gz")


async def test_a_failed_poll_leaves_a_reported_gap_never_filled(live):
    await poll_two_days(live, ny(DAY, 11, 14, 1))
    live.cboe.down.add("quotes/_SPX")
    await live.poll_until(ny(DAY, 11, 17, 1))  # the 10:59, 11:00 and 11:01 bars are missed
    live.cboe.down.discard("quotes/_SPX")
    await live.poll_until(ny(DAY, 11, 40, 1))
    feed = live.poller.feed_for(DAY)
    chain = make_chain_stub()
    recent = feed.market_at(ny(DAY, 11, 25, 1), chain)
    assert recent.data_issues == (
        "SPX bars: 3 1-minute SPX bar(s) missing, 2023-03-22 10:59 ET to 11:02 ET",
    )
    # Once the gap is older than the recent-issue window it no longer blocks.
    assert feed.market_at(ny(DAY, 11, 40, 1), chain).data_issues == ()
    minutes = {p.at.replace(second=0) for p in live.poller.tape(DAY).prints["SPX"]}
    assert ny(DAY, 11, 0) not in minutes  # nothing was made up for the missed minutes
    # The admins heard once that polling failed, and once that it came back.
    told = [text for _, text in live.problems if "quotes/_SPX" in text]
    assert len(told) == 2
    assert "failing" in told[0]
    assert "503" in told[0]
    assert "back" in told[1]


async def test_the_last_sessions_close_polled_before_the_open_is_not_todays_data(live):
    await poll_two_days(live, ny(DAY, 9, 44, 1))
    feed = live.poller.feed_for(DAY)
    assert live.poller.tape(DAY).prints["SPX"][0].at < session_open(DAY)  # polled at 09:25
    assert feed.last_data_at(ny(DAY, 9, 44, 1)) is None  # the watchdog waits for today's
    issues = feed.market_at(ny(DAY, 9, 44, 1), make_chain_stub()).data_issues
    assert issues == (
        "SPX: no print from today's session polled by 09:44 ET (Cboe's quotes are 15 min "
        "delayed: the first is due at 09:45 ET)",
    )
    assert not [t for _, t in live.problems if "quotes/_" in t]  # stale at 09:30: no failure
    await live.poll_until(ny(DAY, 9, 47, 1))
    assert feed.last_data_at(ny(DAY, 9, 47, 1)) == ny(DAY, 9, 32) - timedelta(seconds=1)


async def test_polls_that_stop_make_the_market_stale(live):
    await poll_two_days(live, ny(DAY, 11, 0, 1))
    feed = live.poller.feed_for(DAY)
    chain = make_chain_stub()
    late = ny(DAY, 11, 10, 1)  # no poll since 11:00
    issues = feed.market_at(late, chain).data_issues
    assert any("lags" in issue and "beyond Cboe's 15-minute delay" in issue for issue in issues)
    assert feed.last_data_at(late) == ny(DAY, 10, 45) - timedelta(seconds=1)
    with pytest.raises(LiveFeedError, match=r"VIX print .* lags"):
        feed.vol_at(ny(DAY, 11, 20, 1))


async def test_a_restart_restores_the_tape_and_the_warm_up_from_redis(live, redis_client):
    await poll_two_days(live, ny(DAY, 11, 0, 1))
    moment = ny(DAY, 11, 0, 1)
    chain = make_chain_stub()
    before = live.poller.feed_for(DAY).market_at(moment, chain)
    restarted = make_poller(live.client, RedisTapeStore(redis_client), live.clock)
    feed = restarted.feed_for(DAY)  # asked before the restore: a live view, filled in place
    await restarted.restore(DAY)
    after = feed.market_at(moment, chain)
    np.testing.assert_array_equal(after.closes_5m, before.closes_5m)
    assert after.spot == before.spot
    assert restarted.tape(DAY).warmup.size == 78  # 2023-03-21's whole session, 5-minute closes
    # Polling on after the restart appends to the restored tape; nothing is polled twice.
    await restarted.poll(ny(DAY, 11, 1, 1))
    lines = await RedisTapeStore(redis_client).lines(DAY)
    assert len(lines) == len(set(lines))


async def test_the_market_at_a_moment_uses_only_what_was_polled_by_then(live):
    await poll_two_days(live, ny(DAY, 13, 0, 1))
    moment = ny(DAY, 10, 30, 1)
    chain = make_chain_stub()
    later = live.poller.feed_for(DAY).market_at(moment, chain)
    # A second tape polled only up to `moment`.
    cut = LiveTape(day=DAY)
    cut.warmup = live.poller.tape(DAY).warmup
    for rows in live.poller.tape(DAY).prints.values():
        for printed in rows:
            if printed.captured_at <= moment:
                cut.add(printed)
    poller = live.poller
    poller._tapes[DAY], poller._feeds = cut, {}  # the same feed code over the cut tape
    early = poller.feed_for(DAY).market_at(moment, chain)
    np.testing.assert_array_equal(early.closes_5m, later.closes_5m)
    assert (early.spot, early.data_issues, early.vol) == (later.spot, later.data_issues, later.vol)


def test_a_tape_line_that_cannot_be_read_names_the_field_and_value():
    good = Print(
        symbol="SPX",
        price=3950.5,
        at=ny(DAY, 10, 0),
        captured_at=ny(DAY, 10, 15),
        open=3940.0,
    )
    assert Print.from_line(good.to_line()) == good
    line = json.loads(good.to_line())
    for name, value, words in (
        ("price", "3950.5", "'price' is '3950.5', not a number"),
        ("price", -1.0, "'price' is -1.0, not positive"),
        ("at", "10:00", "'at' is '10:00', not an ISO time"),
        ("captured_at", "2023-03-22T10:15:00", "with no UTC offset"),
    ):
        with pytest.raises(LiveFeedError, match=words):
            Print.from_line(json.dumps({**line, name: value}))
    with pytest.raises(LiveFeedError, match="not JSON"):
        Print.from_line("{")


def test_the_tape_keeps_each_print_once_and_never_goes_back():
    tape = LiveTape(day=DAY)
    first = Print(symbol="SPX", price=3950.0, at=ny(DAY, 10, 0, 59), captured_at=ny(DAY, 10, 16))
    assert tape.add(first)
    assert not tape.add(first)  # the same print polled again
    stale = Print(symbol="SPX", price=3949.0, at=ny(DAY, 9, 59, 59), captured_at=ny(DAY, 10, 17))
    assert not tape.add(stale)  # an older print (a stale CDN copy)
    assert tape.known("SPX", ny(DAY, 10, 15)) == []
    assert tape.latest("SPX", ny(DAY, 10, 16)) == first


# --- chains, and the services end to end on a live day --------------------------------------------

SNAPSHOT = DATA / "chains" / "spx_cboe_2022-03-23_intraday_1011ET.csv.gz"
CHAIN_DAY = date(2022, 3, 23)


def _number_or_null(value: float) -> float | None:
    return None if value != value else value


def options_json(path: Path, opened: float) -> bytes:
    """The Cboe CSV snapshot as the ``options/_SPX.json`` response made when it was saved."""
    snapshot = read_cboe_csv(path)
    rows = [
        {
            "option": f"{q.root}{q.expiry:%y%m%d}{'C' if q.is_call else 'P'}"
            f"{round(q.strike * 1000):08d}",
            "bid": _number_or_null(q.bid),
            "ask": _number_or_null(q.ask),
            "iv": _number_or_null(q.cboe_iv),
            "delta": _number_or_null(q.cboe_delta),
            "volume": _number_or_null(q.volume),
            "open_interest": _number_or_null(q.open_interest),
        }
        for q in snapshot.quotes
    ]
    document = quote_json("SPX", snapshot.spot, snapshot.quote_time, snapshot.captured_at, opened)
    document["data"]["options"] = rows
    return json.dumps(document).encode()


@dataclass
class SnapshotDayCboe:
    """2022-03-23 as Cboe showed it: the 10:11 snapshot (its chain and SPX), then the close.

    Before the delayed close: SPX is the snapshot's index price (09:56 ET) and the VIX family
    the day's opening values; from 16:15 ET the day's closing values (Cboe's daily history),
    SPX printed at 16:00.
    """

    clock: FixedClock
    options: bytes
    spot: float
    printed: datetime
    opening: dict[str, float]
    closing: dict[str, float]
    down: set[str] = field(default_factory=set)  # indices that answer 503

    def __call__(self, request: httpx.Request) -> httpx.Response:
        name = request.url.path.rsplit("/", 1)[-1].removesuffix(".json").lstrip("_")
        now = self.clock.now()
        if name in self.down and "quotes/" in request.url.path:
            return httpx.Response(503, text="unavailable")
        if request.url.path.endswith("options/_SPX.json"):
            return httpx.Response(200, content=self.options)
        closed = now - DELAY >= session_close(CHAIN_DAY)
        if name == "SPX":
            price = self.closing["SPX"] if closed else self.spot
            printed = session_close(CHAIN_DAY) if closed else self.printed
        else:
            price = (self.closing if closed else self.opening)[name]
            printed = now - DELAY
        return httpx.Response(
            200, json=quote_json(name, price, printed, now, self.opening.get("SPX", price))
        )


def snapshot_day_cboe(clock: FixedClock) -> SnapshotDayCboe:
    from bot.backtest import History

    history = History.load(DATA)
    spx, row = history.spx, history.spx_rows[CHAIN_DAY]
    indices = history.indices
    snapshot = read_cboe_csv(SNAPSHOT)
    vvix = indices.vvix.latest_at_or_before(CHAIN_DAY - timedelta(days=1))[1]
    return SnapshotDayCboe(
        clock=clock,
        options=options_json(SNAPSHOT, float(spx.open[row])),
        spot=snapshot.spot,
        printed=snapshot.quote_time,
        opening={
            "SPX": float(spx.open[row]),
            "VIX": indices.vix.open_on(CHAIN_DAY),
            "VIX9D": indices.vix9d.open_on(CHAIN_DAY),
            "VIX3M": indices.vix3m.open_on(CHAIN_DAY),
            "VVIX": vvix,
        },
        closing={
            "SPX": float(spx.close[row]),
            "VIX": indices.vix.close_on(CHAIN_DAY),
            "VIX9D": indices.vix9d.close_on(CHAIN_DAY),
            "VIX3M": indices.vix3m.close_on(CHAIN_DAY),
            "VVIX": vvix,
        },
    )


@pytest.fixture
async def snapshot_day(redis_client):
    captured = read_cboe_csv(SNAPSHOT).captured_at
    clock = FixedClock(captured + timedelta(seconds=5))
    cboe = snapshot_day_cboe(clock)
    client = httpx.AsyncClient(transport=httpx.MockTransport(cboe))
    poller = make_poller(client, RedisTapeStore(redis_client), clock)
    yield clock, cboe, poller
    await client.aclose()


async def test_the_chain_served_is_the_newest_fetched_within_the_age_limit(snapshot_day):
    clock, cboe, poller = snapshot_day
    fetched_at = clock.now()
    await poller.poll(fetched_at)
    feed = poller.feed_for(CHAIN_DAY)
    chain, note = feed.chain_at(fetched_at + timedelta(seconds=30))
    assert note is None  # a real chain: nothing modelled
    assert chain.quote_time == read_cboe_csv(SNAPSHOT).quote_time
    assert chain.spot == cboe.spot
    with pytest.raises(LiveFeedError, match=r"no SPX chain fetched .* by 10:10 ET"):
        feed.chain_at(fetched_at - timedelta(minutes=1))
    with pytest.raises(LiveFeedError, match=r"31 min old at 10:27 ET \(limit 30"):
        feed.chain_at(chain.quote_time + timedelta(minutes=31))
    # The next chain is due CHAIN_EVERY later, or CHAIN_LEAD before a publish time.
    assert not poller._chain_due(poller.tape(CHAIN_DAY), fetched_at + timedelta(minutes=5))
    assert poller._chain_due(poller.tape(CHAIN_DAY), fetched_at + CHAIN_EVERY)
    poller.chain_moments = lambda day: [ny(day, 10, 18)]
    assert poller._chain_due(poller.tape(CHAIN_DAY), ny(CHAIN_DAY, 10, 16, 30))


@dataclass
class World:
    """The services over a live poller, delivering to a console trader and an admin."""

    services: Services
    worker: DeliveryWorker
    publisher: RecordingPublisher


async def make_world(clock: FixedClock, poller: CboePoller, days=None) -> World:
    subscribers = InMemorySubscriberStore()
    await subscribers.put(Subscriber(platform="console", user_id="admin", admin=True))
    await subscribers.put(
        Subscriber(platform="console", user_id="trader", tracks=("0dte",), risks=("balanced",))
    )
    outbox = InMemoryOutbox(clock)
    notifier = Notifier(
        subscribers=subscribers,
        ledger=InMemoryLedger(),
        outbox=outbox,
        clock=clock,
        platforms=("console",),
    )
    publisher = RecordingPublisher(platform="console")
    services = Services(
        notifier=notifier,
        subscribers=subscribers,
        feed_for=poller.feed_for,
        rules=CondorRules(),
        hedge_rules=HedgeRules(),
        clock=clock,
        days=days,
    )
    worker = DeliveryWorker(outbox=outbox, publisher=publisher, clock=clock, consumer="t")
    return World(services=services, worker=worker, publisher=publisher)


async def test_services_publish_hedge_and_settle_on_the_live_feed(snapshot_day):
    clock, cboe, poller = snapshot_day
    world = await make_world(clock, poller)
    services = world.services
    await poller.poll(clock.now())
    entry = clock.advance(seconds=25)
    await services.publish_signals(Track.ZERO_DTE, entry)
    events = services.day_reports[CHAIN_DAY].events
    signals = [e for e in events if isinstance(e, CondorSignal)]
    assert len(signals) == 3, events  # one per risk level, off the live chain
    assert all("Cboe delayed quotes options/_SPX.json" in s.data.source for s in signals)
    await services.check_hedges(ny(CHAIN_DAY, 10, 15))  # runs the engine on the live market

    clock.set(ny(CHAIN_DAY, 16, 15))
    await poller.poll(clock.now())
    await services.settle_day(clock.now())
    assert not [e for e in services.day_reports[CHAIN_DAY].events if isinstance(e, DailyResult)]
    await world.worker.drain()
    notices = [m.text for m in world.publisher.sent if m.target == "admin"]
    assert any("closing print is not in yet" in text for text in notices), notices

    clock.set(ny(CHAIN_DAY, 16, 21))
    await poller.poll(clock.now())
    clock.set(ny(CHAIN_DAY, 16, 30))
    recap = await services.recap(clock.now())
    results = [e for e in services.day_reports[CHAIN_DAY].events if isinstance(e, DailyResult)]
    assert len(results) == 3
    assert {float(r.settlement_price) for r in results} == {cboe.closing["SPX"]}
    assert all("closing SPX print" in r.data.source for r in results)
    assert "NOT settled" not in recap
    await world.worker.drain()
    assert world.publisher.received("trader") >= 2  # the balanced signal and its result


async def test_after_a_restart_the_open_condors_come_back_on_a_fresh_chain(
    snapshot_day, redis_client
):
    clock, cboe, poller = snapshot_day
    days = InMemoryDayStore()
    first = await make_world(clock, poller, days)
    await poller.poll(clock.now())
    await first.services.publish_signals(Track.ZERO_DTE, clock.advance(seconds=25))
    # Restart at 10:15: the tape's prints come back from Redis, its chains do not.
    clock.set(ny(CHAIN_DAY, 10, 15))
    client = httpx.AsyncClient(transport=httpx.MockTransport(cboe))
    restarted = make_poller(client, RedisTapeStore(redis_client), clock)
    await restarted.restore(CHAIN_DAY)
    second = await make_world(clock, restarted, days)
    await second.services.check_hedges(clock.now())  # no chain yet: nothing restored ...
    assert second.services.open_positions(clock.now()) == []
    await restarted.poll(clock.now())  # ... until the poller fetches one
    await second.services.check_hedges(clock.advance(minutes=5))
    views = second.services.open_positions(clock.now())
    assert sorted(str(v.signal.risk) for v in views) == ["aggressive", "balanced", "conservative"]
    await client.aclose()


async def test_missing_live_data_is_told_to_the_admins_never_silent(snapshot_day):
    clock, _, poller = snapshot_day
    world = await make_world(clock, poller)
    services = world.services
    services.stale_after = timedelta(minutes=5) + DELAY  # as `condorbot run` sets it live
    await poller.poll(clock.now())
    await services.publish_signals(Track.ZERO_DTE, clock.advance(seconds=25))
    # No poll since 10:11: the newest SPX print (09:56) is 24 min old at 10:20, 4 beyond the
    # delay plus 5 minutes; the VIX prints lag 9 min beyond the delay.
    await services.watch_stale_data(ny(CHAIN_DAY, 10, 20))
    await services.check_hedges(ny(CHAIN_DAY, 10, 35))  # VIX lags 24 min: no market at all
    # The close never comes in: the recap says so.
    clock.set(ny(CHAIN_DAY, 16, 30))
    recap = await services.recap(clock.now())
    assert "3 condors expiring today NOT settled (no settlement data)" in recap
    await world.worker.drain()
    notices = [m.text for m in world.publisher.sent if m.target == "admin"]
    assert any("market data stale: newest SPX bar ended 09:56 ET" in n for n in notices), notices
    assert any("hedge check at 10:35 ET skipped" in n and "VIX print" in n for n in notices)
    assert any("settlement at 16:30 ET skipped" in n for n in notices)


async def test_a_fresh_delayed_feed_is_not_stale(snapshot_day):
    clock, _, poller = snapshot_day
    world = await make_world(clock, poller)
    world.services.stale_after = timedelta(minutes=5) + DELAY
    await poller.poll(clock.now())
    await world.services.watch_stale_data(ny(CHAIN_DAY, 10, 12))  # 16 min: the delay, no more
    await world.worker.drain()
    assert [m.text for m in world.publisher.sent if m.target == "admin"] == []


async def test_live_check_asks_every_resource_once_through_a_local_server(
    tmp_path, monkeypatch, capsys
):
    from aiohttp import web

    from bot.cli import main

    clock = FixedClock(read_cboe_csv(SNAPSHOT).captured_at + timedelta(seconds=5))
    cboe = snapshot_day_cboe(clock)
    down: set[str] = set()

    async def handle(request: web.Request) -> web.Response:
        if request.path.rsplit("/", 1)[-1] in down:
            return web.Response(status=503, text="unavailable")
        reply = cboe(httpx.Request("GET", str(request.url)))
        return web.Response(status=reply.status_code, body=reply.content)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("MARKET_DATA__CBOE_URL", f"http://127.0.0.1:{port}/api/delayed_quotes")
    monkeypatch.setenv("MARKET_DATA__RETRIES", "0")
    check = ["live-check", "--asof", clock.now().isoformat()]
    try:
        assert await asyncio.to_thread(main, check) == 0
        out = capsys.readouterr().out
        assert "ok   SPX: 4479.09, printed 2022-03-23 09:56:00 ET, shown 15 min later" in out
        assert f"ok   VIX: {cboe.opening['VIX']:g}" in out
        assert "ok   chain: 19002 options in 41 expiries (2022-03-23 ... 2026-12-18)" in out
        down.add("_VIX3M.json")
        assert await asyncio.to_thread(main, check) == 1
        assert "FAIL VIX3M: FAILED: Cboe delayed quotes quotes/_VIX3M.json: HTTP 503" in (
            capsys.readouterr().out
        )
        assert await asyncio.to_thread(main, ["live-check", "--asof", "2022-03-23"]) == 2
        assert "live-check needs a time, not only a date, got '2022-03-23'" in (
            capsys.readouterr().err
        )
    finally:
        await runner.cleanup()


async def test_no_signal_goes_out_that_the_engine_could_not_manage(snapshot_day):
    clock, cboe, poller = snapshot_day
    cboe.down.add("VIX")  # the chain and SPX answer; VIX does not
    world = await make_world(clock, poller)
    await poller.poll(clock.now())
    await world.services.publish_signals(Track.ZERO_DTE, clock.advance(seconds=25))
    events = world.services.day_reports[CHAIN_DAY].events
    cards = [e for e in events if isinstance(e, NoTradeDay)]
    assert len(cards) == len(events) == 3
    assert all(c.reasons[0].code is NoTradeCode.BAD_DATA for c in cards)
    assert all("no VIX print polled" in c.reasons[0].detail for c in cards)
    assert world.services.open_positions(clock.now()) == []
