"""The ports: what the services need from the world, as Protocols.

Services (`bot/services.py`) and the notifier speak only to these; adapters (`bot/storage/`,
`bot/adapters/`, `bot/frontends/`) implement them; tests use the in-memory fakes in
`tests/fakes.py`, and one contract suite runs against both the fakes and real Redis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from core.chain import OptionChain
from core.hedge import MarketState, VolIndexLevels


class Clock(Protocol):
    """Where the time comes from (a `FixedClock` in tests, an accelerated one in the demo)."""

    def now(self) -> datetime:
        """Return the current aware time."""
        ...


class SubscriberStatus(StrEnum):
    """Where a subscriber stands."""

    TRIAL = "trial"
    ACTIVE = "active"
    EXPIRED = "expired"
    BLOCKED = "blocked"
    UNSUBSCRIBED = "unsubscribed"


class NoticeLevel(StrEnum):
    """How one kind of event reaches a subscriber (freqtrade's on / silent / off)."""

    ON = "on"
    SILENT = "silent"
    OFF = "off"


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscriber:
    """One subscriber on one platform.

    Attributes:
        platform: "telegram", "discord", "console", ...
        user_id: The platform's user id, as text.
        status: Trial, active, expired, blocked, unsubscribed.
        trial_start: When the free trial began (None: never on trial).
        trial_end: When it ends.
        tracks: Track values subscribed to ("0dte", "1dte", "45dte").
        risks: Risk levels subscribed to.
        delivery: "dm", or a channel id to deliver into.
        levels: Notice level per event kind ("condor", "no_trade", "hedge", "exit", ...);
            kinds not listed are ON.
        quiet_start: Start of quiet hours, "HH:MM" in `time_zone` (None: no quiet hours).
        quiet_end: End of quiet hours.
        time_zone: IANA zone of the quiet hours.
        admin: Whether the subscriber is an admin.
    """

    platform: str
    user_id: str
    status: SubscriberStatus = SubscriberStatus.TRIAL
    trial_start: datetime | None = None
    trial_end: datetime | None = None
    tracks: tuple[str, ...] = ("0dte", "1dte", "45dte")
    risks: tuple[str, ...] = ("balanced",)
    delivery: str = "dm"
    levels: Mapping[str, NoticeLevel] = field(default_factory=dict)
    quiet_start: str | None = None
    quiet_end: str | None = None
    time_zone: str = "America/New_York"
    admin: bool = False

    @property
    def key(self) -> str:
        """`platform:user_id`, the subscriber's identity."""
        return f"{self.platform}:{self.user_id}"


class SubscriberStore(Protocol):
    """Subscribers, by platform and user id."""

    async def get(self, platform: str, user_id: str) -> Subscriber | None:
        """Return one subscriber, or None."""
        ...

    async def put(self, subscriber: Subscriber) -> None:
        """Create or replace a subscriber."""
        ...

    async def all(self) -> Sequence[Subscriber]:
        """Return every subscriber, in a stable order."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerRecord:
    """One ledger entry: an event, chained to the one before by SHA-256.

    Attributes:
        seq: 1-based position in the ledger.
        event_id: The event's id (signal id, alert id, ...): appending it twice is a no-op.
        kind: Event kind ("condor", "no_trade", "hedge", "no_hedge", "exit", "day_result", ...).
        at: When the event speaks for (its `asof`), ISO 8601.
        payload: The event as JSON text (canonical: sorted keys, no spaces).
        prev_hash: `hash` of the record before (64 zeros for the first).
        hash: SHA-256 over seq, event_id, kind, at, payload and prev_hash.
    """

    seq: int
    event_id: str
    kind: str
    at: str
    payload: str
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LedgerCheck:
    """The result of walking the ledger: ok, or the first broken record and why."""

    ok: bool
    records: int
    head: str
    broken_seq: int | None = None
    problem: str = ""


class KeyValueStore(Protocol):
    """Small short-lived values by name (the Telegram settings buttons' callback keys)."""

    async def get(self, name: str) -> str | None:
        """Return the value stored under `name`, or None (never set, or expired)."""
        ...

    async def put(self, name: str, value: str, *, ttl_seconds: int | None = None) -> None:
        """Store `value` under `name`, replacing any, expiring after `ttl_seconds` if given."""
        ...


class Ledger(Protocol):
    """The append-only, hash-chained record of every event, written before it is sent."""

    async def append(self, event_id: str, kind: str, at: str, payload: str) -> LedgerRecord:
        """Append an event; if `event_id` is already recorded, return that record unchanged."""
        ...

    async def records(self) -> Sequence[LedgerRecord]:
        """Return every record in order."""
        ...

    async def verify(self) -> LedgerCheck:
        """Walk the chain and report the first broken link."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """One message to one target on one platform, as the outbox holds it.

    Attributes:
        key: Idempotency key: `event_id:platform:target`.
        platform: Where it goes.
        target: Chat, channel or user id.
        event_id: The ledger event it carries.
        text: The rendered message.
        attempts: Sends tried so far.
        entry_id: The outbox's own id for the entry (a Redis stream id), for acknowledging.
        silent: Deliver without a notification sound (the subscriber's "silent" level or
            quiet hours).
        attachment: What to send with the text, rendered at send time ("" for none; e.g.
            ``payoff:{spec}`` for a payoff chart, the text then being its caption).
    """

    key: str
    platform: str
    target: str
    event_id: str
    text: str
    attempts: int = 0
    entry_id: str = ""
    silent: bool = False
    attachment: str = ""


class Outbox(Protocol):
    """Deliveries waiting to be sent, per platform, each sent at most once and never lost."""

    async def enqueue(self, delivery: Delivery) -> bool:
        """Queue a delivery; False (and nothing queued) if its key was queued before."""
        ...

    async def claim(self, platform: str, consumer: str, count: int) -> Sequence[Delivery]:
        """Claim up to `count` deliveries for `consumer`: new ones, and ones whose consumer died.

        A claimed delivery stays pending until `done`, `retry` or `dead_letter`.
        """
        ...

    async def is_sent(self, key: str) -> bool:
        """Whether the delivery with this key was recorded as sent."""
        ...

    async def done(self, delivery: Delivery) -> None:
        """Record the delivery as sent and acknowledge it."""
        ...

    async def retry(self, delivery: Delivery, not_before: datetime, error: str) -> None:
        """Put the delivery back to be tried again no earlier than `not_before`."""
        ...

    async def dead_letter(self, delivery: Delivery, error: str) -> None:
        """Give up on the delivery: move it to the dead-letter list (the admin is told)."""
        ...

    async def dead_letters(self) -> Sequence[tuple[Delivery, str]]:
        """Return the dead-lettered deliveries with their last error."""
        ...


class JobLocks(Protocol):
    """Cross-process job deduplication and scheduler leadership."""

    async def claim_run(self, job: str, scheduled_for: datetime) -> bool:
        """True for exactly one caller per (job, scheduled time), across processes."""
        ...

    async def lead(self, owner: str, ttl_seconds: int) -> bool:
        """Take or renew the scheduler leadership; True if `owner` leads."""
        ...


class SendOutcome(StrEnum):
    """What a platform said to one send."""

    SENT = "sent"
    RETRY = "retry"  # rate limited (429) or a transient failure: try again later
    BLOCKED = "blocked"  # 403: the user blocked the bot; deactivate the target
    FAILED = "failed"  # permanent: dead-letter


@dataclass(frozen=True, slots=True, kw_only=True)
class SendResult:
    """One send's outcome; `retry_after` in seconds for RETRY."""

    outcome: SendOutcome
    retry_after: float = 0.0
    detail: str = ""


class Publisher(Protocol):
    """One delivery channel (console, JSON-lines file, Telegram, Discord)."""

    platform: str

    async def send(self, target: str, text: str, *, silent: bool) -> SendResult:
        """Send one rendered message to one target."""
        ...


@runtime_checkable
class AttachmentPublisher(Publisher, Protocol):
    """A publisher that can also send a delivery's `attachment` (a chart) with its text."""

    async def send_attachment(
        self, target: str, text: str, attachment: str, *, silent: bool
    ) -> SendResult:
        """Send the rendered attachment with `text` (its caption) to one target."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class DayPositions:
    """What the store remembers of a trading day, per track (signals and open positions)."""

    day: date
    signals: Mapping[str, str] = field(default_factory=dict)  # "track:risk" -> ledger event id
    open_positions: Mapping[str, str] = field(default_factory=dict)  # "track:risk" -> JSON state


class DayStore(Protocol):
    """The day's signals and open positions (with their hedge-engine state), per track."""

    async def get_day(self, day: date) -> DayPositions:
        """Return what is stored for `day` (empty when nothing is)."""
        ...

    async def put_day(self, positions: DayPositions) -> None:
        """Replace what is stored for `positions.day`."""
        ...


class TapeStore(Protocol):
    """The index quotes polled from a live source, per trading day, kept across restarts."""

    async def append(self, day: date, lines: Sequence[str]) -> None:
        """Append the day's newly polled quotes (one JSON line each), in the order polled."""
        ...

    async def lines(self, day: date) -> Sequence[str]:
        """Return every quote kept for `day`, in the order appended (empty when none)."""
        ...


class DayFeed(Protocol):
    """Market data for one trading day, as of any moment of it (never looking ahead).

    Implemented by `bot.replay.RecordedDayFeed` over the shipped files, and by
    `bot.live.LiveDayFeed` over the quotes polled from Cboe's delayed-quotes API.
    """

    @property
    def day(self) -> date:
        """The trading day served."""
        ...

    def chain_at(
        self, moment: datetime, expiries: Sequence[tuple[str, date]] | None = None
    ) -> tuple[OptionChain, str | None]:
        """The chain at `moment` and a note when it is modelled."""
        ...

    def market_at(self, moment: datetime, chain: OptionChain) -> MarketState:
        """What the hedge engine sees at `moment`."""
        ...

    def vol_at(self, moment: datetime) -> VolIndexLevels:
        """VIX-family levels at `moment`."""
        ...

    def settlement(self) -> tuple[float, VolIndexLevels, str]:
        """The settlement print, the closing VIX levels and what they are."""
        ...

    def opening_print(self) -> tuple[float, str]:
        """The day's opening SPX print (AM settlement) and what it is."""
        ...

    def last_data_at(self, moment: datetime) -> datetime | None:
        """When the newest market data known at `moment` was current (None: none yet)."""
        ...
