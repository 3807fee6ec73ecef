"""The notifier and the services over the in-memory fakes and a recorded day."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from bot.delivery import DeliveryWorker
from bot.notify import Notifier
from bot.ports import NoticeLevel, Subscriber, SubscriberStatus
from bot.replay import RecordedDayFeed
from bot.services import Services
from core.calendar import NEW_YORK
from core.rules import CondorRules, HedgeRules
from core.types import Track
from tests.conftest import ROOT
from tests.fakes import (
    FixedClock,
    InMemoryDayStore,
    InMemoryLedger,
    InMemoryOutbox,
    InMemorySubscriberStore,
    RecordingPublisher,
)

DAY = date(2023, 3, 22)
AT_10 = datetime(2023, 3, 22, 10, 0, tzinfo=NEW_YORK)


class World:
    def __init__(self) -> None:
        self.clock = FixedClock(AT_10)
        self.subscribers = InMemorySubscriberStore()
        self.ledger = InMemoryLedger()
        self.outbox = InMemoryOutbox(self.clock)
        self.publisher = RecordingPublisher(platform="console")
        self.notifier = Notifier(
            subscribers=self.subscribers,
            ledger=self.ledger,
            outbox=self.outbox,
            clock=self.clock,
            platforms=("console",),
        )
        self.worker = DeliveryWorker(
            outbox=self.outbox, publisher=self.publisher, clock=self.clock, consumer="test"
        )

    def services(self, feed_for=None) -> Services:
        return Services(
            notifier=self.notifier,
            subscribers=self.subscribers,
            feed_for=feed_for or (lambda d: RecordedDayFeed.load(d, ROOT / "data", HedgeRules())),
            rules=CondorRules(),
            hedge_rules=HedgeRules(),
            clock=self.clock,
        )


def _sub(user: str, **kw) -> Subscriber:
    base = {"platform": "console", "user_id": user, "tracks": ("0dte",), "risks": ("balanced",)}
    return Subscriber(**{**base, **kw})


@pytest.fixture
def world() -> World:
    return World()


async def test_publish_writes_the_ledger_first_and_queues_once_per_target(world):
    await world.subscribers.put(_sub("a"))
    await world.subscribers.put(_sub("b", risks=("aggressive",)))  # another audience
    await world.subscribers.put(_sub("c", status=SubscriberStatus.EXPIRED))
    services = world.services()
    await services.publish_signals(Track.ZERO_DTE, AT_10)
    records = await world.ledger.records()
    assert [r.kind for r in records] == ["condor", "condor", "condor"]  # one per risk level
    await world.worker.drain()
    assert world.publisher.received("a") == 1
    assert world.publisher.received("b") == 1
    assert world.publisher.received("c") == 0
    # Running the same job again publishes nothing new: ids are deterministic.
    await services.publish_signals(Track.ZERO_DTE, AT_10)
    await world.worker.drain()
    assert len(await world.ledger.records()) == 3
    assert world.publisher.received("a") == 1
    assert (await world.ledger.verify()).ok


async def test_notice_levels_and_quiet_hours(world):
    await world.subscribers.put(_sub("loud"))
    await world.subscribers.put(_sub("quiet", levels={"condor": NoticeLevel.SILENT}))
    await world.subscribers.put(_sub("off", levels={"condor": NoticeLevel.OFF}))
    await world.subscribers.put(_sub("night", quiet_start="09:30", quiet_end="11:00"))
    await world.services().publish_signals(Track.ZERO_DTE, AT_10)
    await world.worker.drain()
    by_target = {m.target: m for m in world.publisher.sent}
    assert by_target["loud"].silent is False
    assert by_target["quiet"].silent is True
    assert by_target["night"].silent is True  # within its quiet hours
    assert "off" not in by_target


async def test_a_day_without_data_gives_no_trade_cards_and_an_admin_alert(world):
    await world.subscribers.put(_sub("trader"))
    await world.subscribers.put(_sub("boss", tracks=(), risks=(), admin=True))

    def missing(day: date) -> RecordedDayFeed:
        raise ValueError(f"no bars for {day}")

    services = world.services(feed_for=missing)
    await services.publish_signals(Track.ZERO_DTE, AT_10)
    await world.worker.drain()
    trader = [m.text for m in world.publisher.sent if m.target == "trader"]
    assert len(trader) == 1
    assert "NO TRADE TODAY" in trader[0]
    assert "no bars for 2023-03-22" in trader[0]
    admin = [m.text for m in world.publisher.sent if m.target == "boss"]
    assert any("no bars for 2023-03-22" in t for t in admin)


async def test_hedge_checks_settle_and_recap_over_the_recorded_day(world):
    await world.subscribers.put(_sub("trader"))
    await world.subscribers.put(_sub("boss", tracks=(), risks=(), admin=True))
    services = world.services()
    await services.publish_signals(Track.ZERO_DTE, AT_10)
    moment = AT_10
    while moment < datetime(2023, 3, 22, 16, 0, tzinfo=NEW_YORK):
        moment += timedelta(minutes=5)
        world.clock.set(moment)
        await services.check_hedges(moment)
    await services.settle_day(datetime(2023, 3, 22, 16, 15, tzinfo=NEW_YORK))
    text = await services.recap(datetime(2023, 3, 22, 16, 30, tzinfo=NEW_YORK))
    await world.worker.drain()
    kinds = [r.kind for r in await world.ledger.records()]
    assert kinds[:3] == ["condor"] * 3
    assert "hedge" in kinds
    assert kinds.count("day_result") == 3
    assert "DailyResult" in text
    received = [m.text for m in world.publisher.sent if m.target == "trader"]
    assert any(t.startswith("HEDGE ALERT") for t in received)
    assert any(t.startswith("DAY RESULT") for t in received)


async def test_trial_sweep_reminds_once_then_expires(world):
    end = AT_10 + timedelta(days=1)
    await world.subscribers.put(_sub("trial", trial_start=AT_10 - timedelta(days=6), trial_end=end))
    services = world.services()
    await services.trial_sweep(AT_10)
    await services.trial_sweep(AT_10 + timedelta(hours=1))
    await world.worker.drain()
    reminders = [m for m in world.publisher.sent if m.target == "trial"]
    assert len(reminders) == 1
    assert "trial ends" in reminders[0].text
    await services.trial_sweep(end + timedelta(minutes=1))
    swept = await world.subscribers.get("console", "trial")
    assert swept is not None
    assert swept.status is SubscriberStatus.EXPIRED


async def test_admin_notice_goes_to_admins_only(world):
    await world.subscribers.put(_sub("trader"))
    await world.subscribers.put(_sub("boss", admin=True))
    assert await world.notifier.notify_admins("n-1", "hello") == 1
    assert await world.notifier.notify_admins("n-1", "hello") == 0  # once per id
    await world.worker.drain()
    assert [m.target for m in world.publisher.sent] == ["boss"]


async def test_publish_report_counts_what_was_queued_and_skipped(world):
    await world.subscribers.put(_sub("on"))
    await world.subscribers.put(_sub("off", levels={"condor": NoticeLevel.OFF}))
    services = world.services()
    await services.publish_signals(Track.ZERO_DTE, AT_10)
    day = services.day_reports[DAY]
    balanced = next(
        i for i, e in enumerate(day.events) if str(getattr(e, "risk", "")) == "balanced"
    )
    report = day.reports[balanced]
    assert (report.queued, report.skipped_off, report.already_queued) == (1, 1, 0)
    assert report.ledger_seq == balanced + 1


async def test_a_restart_mid_day_resumes_the_positions_without_repeating_alerts(world):
    days = InMemoryDayStore()
    await world.subscribers.put(_sub("trader"))
    first = world.services()
    first.days = days
    await first.publish_signals(Track.ZERO_DTE, AT_10)
    moment = AT_10
    while moment < datetime(2023, 3, 22, 14, 50, tzinfo=NEW_YORK):
        moment += timedelta(minutes=5)
        await first.check_hedges(moment)
    before = [r.event_id for r in await world.ledger.records()]
    # The process dies; a new one starts with the same stores and picks the day up.
    second = world.services()
    second.days = days
    again = moment
    await second.check_hedges(again)  # the same bar again: nothing new
    assert [r.event_id for r in await world.ledger.records()] == before
    while moment < datetime(2023, 3, 22, 16, 0, tzinfo=NEW_YORK):
        moment += timedelta(minutes=5)
        await second.check_hedges(moment)
    await second.settle_day(datetime(2023, 3, 22, 16, 15, tzinfo=NEW_YORK))
    kinds = [r.kind for r in await world.ledger.records()]
    assert kinds.count("day_result") == 3
    assert "exit" in kinds  # the put wing's close after 15:50, decided by the restarted process
    ids = [r.event_id for r in await world.ledger.records()]
    assert len(ids) == len(set(ids))


async def test_open_positions_are_marked_to_market_with_their_hedge_state(world):
    await world.subscribers.put(_sub("trader"))
    services = world.services()
    await services.publish_signals(Track.ZERO_DTE, AT_10)
    at_ten = services.open_positions(AT_10 + timedelta(minutes=1))
    assert len(at_ten) == 3
    assert all(v.mark is not None and v.hedge_state == "no action yet" for v in at_ten)
    moment = AT_10
    while moment < datetime(2023, 3, 22, 15, 55, tzinfo=NEW_YORK):
        moment += timedelta(minutes=5)
        await services.check_hedges(moment)
    views = {str(v.signal.risk): v for v in services.open_positions(moment)}
    balanced = views["balanced"]
    assert balanced.mark is not None
    assert balanced.mark.spot == pytest.approx(3951.89, abs=0.01)  # the 15:54 bar's close
    assert "put wing bought back" in balanced.hedge_state
    assert balanced.mark.put_distance_points == float("inf")  # that wing is closed
