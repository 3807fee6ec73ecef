"""Fan one event out to every subscriber who wants it: ledger first, then the outbox.

`Notifier.publish` appends the event to the ledger (idempotent on its id), then queues one
delivery per (platform, target) with the key `event_id:platform:target`, applying each
subscriber's notice level (on / silent / off, per event kind) and quiet hours. Nothing is sent
here: the delivery workers drain the outbox, one per platform, so one broken channel never
blocks another.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo

from bot.ports import (
    Clock,
    Delivery,
    Ledger,
    NoticeLevel,
    Outbox,
    Subscriber,
    SubscriberStatus,
    SubscriberStore,
)
from bot.render.json_card import event_to_json
from bot.render.text import render_text
from core.types import (
    CondorSignal,
    DailyResult,
    Event,
    ExitAlert,
    HedgeAlert,
    NoHedge,
    NoTradeDay,
)

logger = logging.getLogger(__name__)

_RECEIVING = frozenset({SubscriberStatus.TRIAL, SubscriberStatus.ACTIVE})


@dataclass(frozen=True, slots=True, kw_only=True)
class Audience:
    """Who an event is for: the subscribers of one track and risk level."""

    track: str
    risk: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PublishReport:
    """What one `publish` did."""

    event_id: str
    ledger_seq: int
    queued: int
    skipped_off: int
    already_queued: int


def event_id_of(event: Event) -> str:
    """The event's stable id: the one the ledger and the idempotency keys use."""
    match event:
        case CondorSignal() | NoTradeDay():
            return event.signal_id
        case HedgeAlert() | NoHedge() | ExitAlert():
            return event.alert_id
        case DailyResult():
            return event.result_id


def _in_quiet_hours(subscriber: Subscriber, moment: datetime) -> bool:
    if subscriber.quiet_start is None or subscriber.quiet_end is None:
        return False
    local = moment.astimezone(ZoneInfo(subscriber.time_zone)).time()
    start = time.fromisoformat(subscriber.quiet_start)
    end = time.fromisoformat(subscriber.quiet_end)
    return start <= local < end if start <= end else local >= start or local < end


@dataclass(frozen=True, slots=True, kw_only=True)
class Rendering:
    """How one platform words its messages: events and operational notices.

    The default is the plain-text card; Telegram registers its HTML renderer, so a delivery's
    text is ready for its platform when it is queued. `chart` (None: no charts) returns, for an
    event that has one, the delivery's `attachment` and its caption: it is queued as its own
    delivery (key suffix ``:chart``) just before the card.
    """

    event: Callable[[Event], str] = render_text
    notice: Callable[[str], str] = str
    chart: Callable[[Event], tuple[str, str] | None] | None = None


_PLAIN = Rendering()


@dataclass(slots=True)
class Notifier:
    """Ledger, then outbox: the only way an event reaches a subscriber."""

    subscribers: SubscriberStore
    ledger: Ledger
    outbox: Outbox
    clock: Clock
    platforms: Sequence[str]
    renderings: Mapping[str, Rendering] = field(default_factory=dict)

    def _rendering(self, platform: str) -> Rendering:
        return self.renderings.get(platform, _PLAIN)

    async def publish(self, event: Event, audience: Audience) -> PublishReport:
        """Record `event` in the ledger, then queue it for every subscriber of `audience`."""
        body = event_to_json(event)
        kind = str(body["kind"])
        event_id = event_id_of(event)
        payload = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
        record = await self.ledger.append(event_id, kind, event.asof.isoformat(), payload)
        texts: dict[str, str] = {}
        charts: dict[str, tuple[str, str] | None] = {}
        queued = skipped = already = 0
        now = self.clock.now()
        for subscriber in await self.subscribers.all():
            if subscriber.platform not in self.platforms or subscriber.status not in _RECEIVING:
                continue
            if audience.track not in subscriber.tracks or audience.risk not in subscriber.risks:
                continue
            level = subscriber.levels.get(kind, NoticeLevel.ON)
            if level is NoticeLevel.OFF:
                skipped += 1
                continue
            silent = level is NoticeLevel.SILENT or _in_quiet_hours(subscriber, now)
            target = subscriber.user_id if subscriber.delivery == "dm" else subscriber.delivery
            if subscriber.platform not in texts:
                rendering = self._rendering(subscriber.platform)
                texts[subscriber.platform] = rendering.event(event)
                charts[subscriber.platform] = (
                    None if rendering.chart is None else rendering.chart(event)
                )
            chart = charts[subscriber.platform]
            if chart is not None:
                await self.outbox.enqueue(
                    Delivery(
                        key=f"{event_id}:{subscriber.platform}:{target}:chart",
                        platform=subscriber.platform,
                        target=target,
                        event_id=event_id,
                        text=chart[1],
                        silent=silent,
                        attachment=chart[0],
                    )
                )
            delivery = Delivery(
                key=f"{event_id}:{subscriber.platform}:{target}",
                platform=subscriber.platform,
                target=target,
                event_id=event_id,
                text=texts[subscriber.platform],
                silent=silent,
            )
            if await self.outbox.enqueue(delivery):
                queued += 1
            else:
                already += 1
        logger.info("published %s %s: %d queued, %d off", kind, event_id, queued, skipped)
        return PublishReport(
            event_id=event_id,
            ledger_seq=record.seq,
            queued=queued,
            skipped_off=skipped,
            already_queued=already,
        )

    async def notify_subscriber(self, subscriber: Subscriber, notice_id: str, text: str) -> bool:
        """Queue a personal notice (a trial reminder) to one subscriber, once per `notice_id`."""
        if subscriber.platform not in self.platforms:
            return False
        target = subscriber.user_id if subscriber.delivery == "dm" else subscriber.delivery
        delivery = Delivery(
            key=f"{notice_id}:{subscriber.platform}:{target}",
            platform=subscriber.platform,
            target=target,
            event_id=notice_id,
            text=text,
        )
        return await self.outbox.enqueue(delivery)

    async def notify_admins(self, notice_id: str, text: str) -> int:
        """Queue an operational notice (health, stale data, dead letters) to every admin.

        Admin notices are not signals: they go through the outbox (so they are not lost or
        doubled) but not into the track record.
        """
        queued = 0
        for subscriber in await self.subscribers.all():
            if not subscriber.admin or subscriber.platform not in self.platforms:
                continue
            target = subscriber.user_id if subscriber.delivery == "dm" else subscriber.delivery
            delivery = Delivery(
                key=f"{notice_id}:{subscriber.platform}:{target}",
                platform=subscriber.platform,
                target=target,
                event_id=notice_id,
                text=self._rendering(subscriber.platform).notice(f"[admin] {text} ({notice_id})"),
            )
            queued += await self.outbox.enqueue(delivery)
        return queued
