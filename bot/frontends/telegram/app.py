"""The Telegram `Application`: subscriber and admin commands, and its manual lifecycle.

Each command is a method of `TelegramCommands` whose docstring's first line is the description
`setMyCommands` publishes and `/help` prints. Admin commands answer anyone else with a polite
refusal. The application runs inside the service's task group (`run_telegram`): never
`run_polling()`, which would own the event loop.

`/settings` is one inline keyboard over tracks, risk levels, delivery (DM or the track channel),
quiet hours and on / silent / off per event kind. Each button's `callback_data` is a short key,
``s:<8 hex>`` (10 bytes, Telegram allows 64), naming an action kept in the `KeyValueStore`
(Redis: ``<prefix>:kv:tgcb:<8 hex>``, 30 days) with the user it was drawn for; a press by
anyone else, or of an expired key, changes nothing. The subscriber's state itself lives in the
subscriber store.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from urllib.parse import urlsplit

from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatJoinRequestHandler,
    CommandHandler,
    ContextTypes,
)

from bot.commands import performance_reply
from bot.ports import (
    Clock,
    Delivery,
    KeyValueStore,
    Ledger,
    NoticeLevel,
    Outbox,
    Subscriber,
    SubscriberStatus,
    SubscriberStore,
)
from bot.render.chart import pnl_at_expiry_usd, render_payoff_png
from bot.render.telegram_html import (
    render_notice_html,
    render_signal_caption,
    render_telegram_html,
)
from bot.render.text import render_text
from bot.services import Services
from bot.settings import quiet_http_logs
from core.calendar import NEW_YORK
from core.types import CondorSignal, Event, NoTradeDay, Track

logger = logging.getLogger(__name__)

PLATFORM: Final = "telegram"
TRACKS: Final = ("0dte", "1dte", "45dte")
#: Event kinds a subscriber can set to on / silent / off, with their button labels.
LEVEL_KINDS: Final = {
    "condor": "Signals",
    "no_trade": "No-trade days",
    "hedge": "Hedge alerts",
    "exit": "Exits",
    "day_result": "Day results",
}
_NEXT_LEVEL: Final = {
    NoticeLevel.ON: NoticeLevel.SILENT,
    NoticeLevel.SILENT: NoticeLevel.OFF,
    NoticeLevel.OFF: NoticeLevel.ON,
}
RISKS: Final = ("conservative", "balanced", "aggressive")
#: Quiet-hour presets offered by /settings: (start, end) in the subscriber's time zone, or off.
QUIET_PRESETS: Final = (None, ("22:00", "07:00"), ("21:00", "08:00"), ("23:00", "06:00"))
#: `callback_data` of a settings button: this prefix and 8 hex digits.
CALLBACK_PREFIX: Final = "s:"
CALLBACK_TTL_S: Final = 30 * 24 * 3600
_REFUSED: Final = "Sorry, that command is for the bot's admins."
_RECEIVING: Final = frozenset({SubscriberStatus.TRIAL, SubscriberStatus.ACTIVE})

#: Replays one day (`bot.replay.replay_day` as the composition root binds it): its events.
ReplayDay = Callable[[date], Awaitable[Sequence[Event]]]

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


@dataclass(slots=True, kw_only=True)
class TelegramDeps:
    """What the commands need: ports and use cases, never storage or adapters.

    Attributes:
        subscribers: The subscriber store.
        clock: The time.
        admin_user_ids: Telegram user ids allowed to run the admin commands.
        trial_days: Length of the free trial `/start` begins.
        services: Today's cards and open signals (None: the commands say none yet).
        outbox: For `/broadcast` and the dead-letter count in `/health`.
        ledger: For `/performance` (None: the services' notifier's ledger).
        replay: For `/replay DATE` (None: the command says replays are off).
        gate_joins: Answer join requests to the bot's private channels: approved for active
            trials and subscriptions, declined for anyone else.
        kv: Where the settings buttons' callback keys live (None: a dict in this process,
            which a restart forgets).
        channels: Track value -> its channel, offered by /settings as "in the channel".
    """

    subscribers: SubscriberStore
    clock: Clock
    admin_user_ids: frozenset[int] = frozenset()
    trial_days: int = 14
    services: Services | None = None
    outbox: Outbox | None = None
    ledger: Ledger | None = None
    replay: ReplayDay | None = None
    gate_joins: bool = False
    kv: KeyValueStore | None = None
    channels: Mapping[str, str] = field(default_factory=dict)

    def the_ledger(self) -> Ledger | None:
        """The ledger `/performance` reads."""
        if self.ledger is not None:
            return self.ledger
        return None if self.services is None else self.services.notifier.ledger


class _LocalKeyValue:
    """A `KeyValueStore` in a dict (no TTL): the fallback when no store is given."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def get(self, name: str) -> str | None:
        return self.values.get(name)

    async def put(self, name: str, value: str, *, ttl_seconds: int | None = None) -> None:
        self.values[name] = value


def _first_line(handler: Handler) -> str:
    return (handler.__doc__ or "").strip().split("\n")[0].rstrip(".")


class TelegramCommands:
    """The command handlers over `TelegramDeps`."""

    def __init__(self, deps: TelegramDeps) -> None:
        self.deps = deps
        self.kv: KeyValueStore = deps.kv if deps.kv is not None else _LocalKeyValue()
        self.public: dict[str, Handler] = {
            "start": self.start,
            "help": self.help,
            "today": self.today,
            "status": self.status,
            "performance": self.performance,
            "settings": self.settings,
            "whatif": self.whatif,
            "trial": self.trial,
            "stop": self.stop,
        }
        self.admin: dict[str, Handler] = {
            "health": self.health,
            "subscribers": self.subscribers,
            "broadcast": self.broadcast,
            "skip": self.skip,
            "replay": self.replay,
        }

    def bot_commands(self) -> list[BotCommand]:
        """Return the public commands for `setMyCommands`, each with its description."""
        return [BotCommand(name, _first_line(h)) for name, h in self.public.items()]

    def install(self, application: Application[Any, Any, Any, Any, Any, Any]) -> None:
        """Register every command, the settings buttons and the error handler."""
        for name, handler in self.public.items():
            application.add_handler(CommandHandler(name, handler))
        for name, handler in self.admin.items():
            application.add_handler(CommandHandler(name, self._admin_only(handler)))
        application.add_handler(CallbackQueryHandler(self.on_button, pattern=r"^s:[0-9a-f]{8}$"))
        if self.deps.gate_joins:
            application.add_handler(ChatJoinRequestHandler(self.on_join_request))
        application.add_error_handler(self.on_error)

    # -- helpers ------------------------------------------------------------------------

    @staticmethod
    async def _reply(update: Update, html: str, **kwargs: Any) -> None:
        if update.effective_message is None:
            return
        await update.effective_message.reply_text(
            html,
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
            **kwargs,
        )

    @staticmethod
    def _user_id(update: Update) -> str | None:
        user = update.effective_user
        return None if user is None else str(user.id)

    async def _me(self, update: Update) -> Subscriber | None:
        user_id = self._user_id(update)
        if user_id is None:
            return None
        return await self.deps.subscribers.get(PLATFORM, user_id)

    def _admin_only(self, handler: Handler) -> Handler:
        async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            user = update.effective_user
            if user is None or user.id not in self.deps.admin_user_ids:
                logger.info("admin command refused for user %s", user.id if user else None)
                await self._reply(update, _REFUSED)
                return
            await handler(update, context)

        guarded.__doc__ = handler.__doc__
        return guarded

    def _today_events(self) -> list[Event]:
        services = self.deps.services
        if services is None:
            return []
        day = self.deps.clock.now().astimezone(NEW_YORK).date()
        report = services.day_reports.get(day)
        return [] if report is None else list(report.events)

    def _todays_card(self, track: str, risks: Sequence[str]) -> CondorSignal | NoTradeDay | None:
        cards = [
            e
            for e in self._today_events()
            if isinstance(e, CondorSignal | NoTradeDay) and str(e.track) == track
        ]
        preferred = [e for e in cards if str(e.risk) in risks] or cards
        signals = [e for e in preferred if isinstance(e, CondorSignal)]
        return (signals or preferred or [None])[-1]

    # -- subscriber commands ---------------------------------------------------------------

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Subscribe and start your free trial (once per user)."""
        user_id = self._user_id(update)
        if user_id is None:
            return
        now = self.deps.clock.now()
        me = await self.deps.subscribers.get(PLATFORM, user_id)
        days = self.deps.trial_days
        if me is None:
            me = Subscriber(
                platform=PLATFORM,
                user_id=user_id,
                status=SubscriberStatus.TRIAL,
                trial_start=now,
                trial_end=now + timedelta(days=days),
            )
            text = (
                f"<b>Welcome!</b> Your free {days}-day trial has started: you will get the SPX "
                "iron-condor cards and hedge alerts here. /help lists the commands."
            )
        elif me.status in _RECEIVING:
            text = "You are already subscribed. /trial shows the days left, /help the commands."
        elif me.trial_end is not None and me.trial_end > now:
            me = replace(me, status=SubscriberStatus.TRIAL)
            text = "Welcome back: your trial continues. /trial shows the days left."
        elif me.status is SubscriberStatus.ACTIVE:
            text = "Welcome back."
        else:
            me = replace(me, status=SubscriberStatus.EXPIRED)
            text = "Your free trial has already been used. Ask the admins about a subscription."
        await self.deps.subscribers.put(me)
        await self._reply(update, text)

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """List the commands."""
        lines = ["<b>Commands</b>"]
        lines += [f"/{name} - {html.escape(_first_line(h))}" for name, h in self.public.items()]
        user = update.effective_user
        if user is not None and user.id in self.deps.admin_user_ids:
            lines += ["<b>Admin</b>"]
            lines += [f"/{name} - {html.escape(_first_line(h))}" for name, h in self.admin.items()]
        await self._reply(update, "\n".join(lines))

    async def today(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Show today's card for a track (/today 0dte), or why there is no trade."""
        args = context.args or []
        track = args[0].lower() if args else "0dte"
        if track not in TRACKS:
            await self._reply(update, f"Tracks: {', '.join(TRACKS)}. Try /today 0dte.")
            return
        me = await self._me(update)
        card = self._todays_card(track, me.risks if me else ("balanced",))
        if card is None:
            await self._reply(update, f"No {track} card yet today.")
            return
        await self._reply(update, render_telegram_html(card))

    async def status(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Show the open signals marked to market, their hedge state, and today's events."""
        services = self.deps.services
        now = self.deps.clock.now()
        lines: list[str] = []
        for view in services.open_positions(now) if services is not None else []:
            legs = "/".join(f"{leg.strike}" for leg in view.signal.legs)
            head = f"<b>{view.signal.track} {view.signal.risk}</b> {html.escape(legs)}"
            if view.mark is None:
                lines.append(f"{head}: no price right now; {html.escape(view.hedge_state)}")
                continue
            m = view.mark
            lines.append(
                f"{head}: SPX {m.spot:,.2f}, worth {m.value_points:.2f} to close, "
                f"P&amp;L ${m.pnl_usd:+,.0f}, delta ${m.delta_usd_per_point:+,.0f}/pt; "
                f"{html.escape(view.hedge_state)}"
            )
        events = self._today_events()
        if events:
            counts: dict[str, int] = {}
            for event in events:
                counts[type(event).__name__] = counts.get(type(event).__name__, 0) + 1
            lines += ["<b>Today so far</b>", *(f"{k}: {n}" for k, n in sorted(counts.items()))]
        await self._reply(
            update, "\n".join(lines) or "No open signals and nothing published yet today."
        )

    async def performance(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Track record from the ledger (/performance [track] [days])."""
        track: str | None = None
        days: int | None = None
        for arg in context.args or []:
            word = arg.lower()
            if word in TRACKS and track is None:
                track = word
            elif word.isdigit() and days is None and 0 < int(word) <= 3650:
                days = int(word)
            else:
                await self._reply(update, "Usage: /performance [0dte|1dte|45dte] [days]")
                return
        ledger = self.deps.the_ledger()
        if ledger is None:
            await self._reply(update, "No track record yet.")
            return
        reply = await performance_reply(ledger, self.deps.clock.now(), track, days)
        await self._reply(update, render_notice_html(reply.text))

    async def whatif(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """P&L of today's condor if SPX settles at PRICE (/whatif 4000 [track])."""
        args = context.args or []
        try:
            price = Decimal(args[0].replace(",", "")) if args else None
        except InvalidOperation:
            price = None
        if price is None or not price.is_finite() or not 0 < price < 100_000:
            await self._reply(update, "Usage: /whatif PRICE [track], e.g. /whatif 4000 0dte")
            return
        track = args[1].lower() if len(args) > 1 else "0dte"
        if track not in TRACKS:
            await self._reply(update, f"Tracks: {', '.join(TRACKS)}. e.g. /whatif 4000 0dte")
            return
        me = await self._me(update)
        card = self._todays_card(track, me.risks if me else ("balanced",))
        if not isinstance(card, CondorSignal) or update.effective_chat is None:
            await self._reply(update, f"No {track} condor today to test.")
            return
        pnl = pnl_at_expiry_usd(card, float(price))
        caption = render_signal_caption(card)
        head = f"<b>If SPX settles at {price:,f}: P&amp;L ${pnl:+,.0f} per contract</b>\n"
        await context.bot.send_photo(
            update.effective_chat.id,
            render_payoff_png(card, price=float(price)),
            caption=head + caption if len(head) + len(caption) <= 1024 else head,
            parse_mode=ParseMode.HTML,
        )

    async def trial(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Show the days left in your free trial."""
        me = await self._me(update)
        if me is None or me.trial_end is None:
            await self._reply(update, "You have no trial yet: /start begins one.")
            return
        left = me.trial_end - self.deps.clock.now()
        if me.status is SubscriberStatus.TRIAL and left.total_seconds() > 0:
            days = left.days + (1 if left.seconds else 0)
            end = me.trial_end.astimezone(NEW_YORK)
            await self._reply(update, f"{days} days left in your trial (ends {end:%Y-%m-%d}).")
        else:
            await self._reply(update, "Your trial has ended.")

    async def stop(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Unsubscribe (your track record stays in the ledger)."""
        me = await self._me(update)
        if me is None:
            await self._reply(update, "You are not subscribed.")
            return
        await self.deps.subscribers.put(replace(me, status=SubscriberStatus.UNSUBSCRIBED))
        await self._reply(update, "Unsubscribed. /start brings you back.")

    async def _button(self, me: Subscriber, label: str, action: str, value: str) -> Any:
        """One settings button; its action is kept under a short key (same action, same key)."""
        digest = hashlib.sha256(f"{me.user_id}|{action}|{value}".encode()).hexdigest()[:8]
        payload = json.dumps({"u": me.user_id, "a": action, "v": value}, separators=(",", ":"))
        await self.kv.put(f"tgcb:{digest}", payload, ttl_seconds=CALLBACK_TTL_S)
        return InlineKeyboardButton(label, callback_data=f"{CALLBACK_PREFIX}{digest}")

    def _my_channel(self, me: Subscriber) -> str | None:
        return next((self.deps.channels[t] for t in me.tracks if t in self.deps.channels), None)

    async def _keyboard(self, me: Subscriber) -> InlineKeyboardMarkup:
        def tick(on: bool, label: str) -> str:
            return f"✅ {label}" if on else label

        rows = [
            [await self._button(me, tick(t in me.tracks, t.upper()), "track", t) for t in TRACKS],
            [await self._button(me, tick(r in me.risks, r), "risk", r) for r in RISKS],
        ]
        delivery = [await self._button(me, tick(me.delivery == "dm", "By DM"), "delivery", "dm")]
        if self._my_channel(me) is not None:
            in_channel = me.delivery != "dm"
            delivery.append(
                await self._button(me, tick(in_channel, "In the channel"), "delivery", "channel")
            )
        rows.append(delivery)
        quiet = []
        for preset in QUIET_PRESETS:
            current = (me.quiet_start, me.quiet_end) if me.quiet_start else None
            label = "No quiet hours" if preset is None else f"{preset[0][:2]}-{preset[1][:2]}"
            value = "off" if preset is None else f"{preset[0]}-{preset[1]}"
            quiet.append(await self._button(me, tick(current == preset, label), "quiet", value))
        rows.append(quiet)
        for kind, label in LEVEL_KINDS.items():
            level = me.levels.get(kind, NoticeLevel.ON)
            rows.append([await self._button(me, f"{label}: {level}", "level", kind)])
        return InlineKeyboardMarkup(rows)

    @staticmethod
    def _settings_text(me: Subscriber) -> str:
        quiet = f"{me.quiet_start}-{me.quiet_end} ({me.time_zone})" if me.quiet_start else "off"
        delivery = "by DM" if me.delivery == "dm" else f"in the channel {me.delivery}"
        lines = [
            f"Tracks: {', '.join(me.tracks) or 'none'}",
            f"Risk: {', '.join(me.risks) or 'none'}",
            f"Delivery: {delivery}",
            f"Quiet hours (silent): {quiet}",
            "Tap to change; the alert buttons cycle on, silent, off.",
        ]
        return "<b>Settings</b>\n" + html.escape("\n".join(lines), quote=False)

    async def settings(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Choose tracks, risk, delivery, quiet hours, and on/silent/off per message kind."""
        me = await self._me(update)
        if me is None:
            await self._reply(update, "You are not subscribed: /start first.")
            return
        await self._reply(update, self._settings_text(me), reply_markup=await self._keyboard(me))

    def _apply(self, me: Subscriber, action: str, value: str) -> Subscriber | str:
        """Return the changed subscriber, or why the change is refused."""
        match action:
            case "track" if value in TRACKS:
                tracks = tuple(t for t in TRACKS if (t in me.tracks) != (t == value))
                return replace(me, tracks=tracks) if tracks else "Keep at least one track."
            case "risk" if value in RISKS:
                risks = tuple(r for r in RISKS if (r in me.risks) != (r == value))
                return replace(me, risks=risks) if risks else "Keep at least one risk level."
            case "delivery" if value == "dm":
                return replace(me, delivery="dm")
            case "delivery" if value == "channel":
                channel = self._my_channel(me)
                return (
                    "No channel for your tracks."
                    if channel is None
                    else replace(me, delivery=channel)
                )
            case "quiet" if value == "off":
                return replace(me, quiet_start=None, quiet_end=None)
            case "quiet" if any(p is not None and value == f"{p[0]}-{p[1]}" for p in QUIET_PRESETS):
                start, end = value.split("-")
                return replace(me, quiet_start=start, quiet_end=end)
            case "level" if value in LEVEL_KINDS:
                levels = dict(me.levels)
                levels[value] = _NEXT_LEVEL[levels.get(value, NoticeLevel.ON)]
                return replace(me, levels=levels)
        return "Unknown setting."

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Apply one settings button (looked up by its short key) and redraw the keyboard."""
        query = update.callback_query
        if query is None:
            return
        user_id = str(query.from_user.id)
        stored = await self.kv.get(f"tgcb:{(query.data or '').removeprefix(CALLBACK_PREFIX)}")
        try:
            action = json.loads(stored) if stored else {}
        except ValueError:
            action = {}
        me = await self.deps.subscribers.get(PLATFORM, user_id)
        if me is None or not isinstance(action, dict) or action.get("u") != user_id:
            await query.answer("This button has expired: send /settings again.")
            return
        changed = self._apply(me, str(action.get("a")), str(action.get("v")))
        if isinstance(changed, str):
            await query.answer(changed)
            return
        await self.deps.subscribers.put(changed)
        await query.answer("Saved.")
        await query.edit_message_text(
            self._settings_text(changed),
            parse_mode=ParseMode.HTML,
            reply_markup=await self._keyboard(changed),
        )

    # -- admin commands -----------------------------------------------------------------

    async def health(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Show the bot's health: time, subscribers, dead letters, today's events."""
        subscribers = await self.deps.subscribers.all()
        dead = len(await self.deps.outbox.dead_letters()) if self.deps.outbox else 0
        now = self.deps.clock.now().astimezone(NEW_YORK)
        text = (
            f"alive at {now:%Y-%m-%d %H:%M} ET\nsubscribers: {len(subscribers)}\n"
            f"dead letters: {dead}\nevents today: {len(self._today_events())}"
        )
        await self._reply(update, render_notice_html(text))

    async def subscribers(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Count the Telegram subscribers by status."""
        counts: dict[str, int] = {}
        for sub in await self.deps.subscribers.all():
            if sub.platform == PLATFORM:
                counts[str(sub.status)] = counts.get(str(sub.status), 0) + 1
        lines = [f"{k}: {n}" for k, n in sorted(counts.items())] or ["none"]
        await self._reply(update, render_notice_html("subscribers\n" + "\n".join(lines)))

    async def broadcast(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Send TEXT to every active and trial subscriber through the outbox."""
        text = " ".join(context.args or []).strip()
        if not text or self.deps.outbox is None:
            await self._reply(update, "Usage: /broadcast TEXT")
            return
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        queued = 0
        for sub in await self.deps.subscribers.all():
            if sub.platform != PLATFORM or sub.status not in _RECEIVING:
                continue
            queued += await self.deps.outbox.enqueue(
                Delivery(
                    key=f"broadcast-{digest}:{PLATFORM}:{sub.user_id}",
                    platform=PLATFORM,
                    target=sub.user_id,
                    event_id=f"broadcast-{digest}",
                    text=render_notice_html(text),
                )
            )
        await self._reply(update, f"Broadcast queued to {queued} subscribers.")

    async def skip(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Publish a no-trade card for a track today (/skip TRACK REASON)."""
        args = context.args or []
        track = args[0].lower() if args else ""
        reason = " ".join(args[1:]).strip()
        if track not in TRACKS or not reason:
            await self._reply(update, "Usage: /skip 0dte|1dte|45dte REASON")
            return
        if self.deps.services is None:
            await self._reply(update, "The services are not running here.")
            return
        events = await self.deps.services.skip(Track(track), reason, self.deps.clock.now())
        await self._reply(
            update,
            render_notice_html(f"{track} skipped today: {len(events)} no-trade cards published."),
        )

    async def replay(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Replay a recorded day and show its timeline (/replay 2023-03-22)."""
        args = context.args or []
        try:
            day = date.fromisoformat(args[0]) if len(args) == 1 else None
        except ValueError:
            day = None
        if day is None:
            await self._reply(update, "Usage: /replay YYYY-MM-DD")
            return
        if self.deps.replay is None:
            await self._reply(update, "Replays are not available here.")
            return
        try:
            events = await self.deps.replay(day)
        except (ValueError, KeyError, OSError) as error:  # no data for that day, and the like
            await self._reply(update, render_notice_html(f"No replay for {day}: {error}"))
            return
        lines = [f"replay {day} (0dte balanced): {len(events)} events"]
        for event in events:
            first = render_text(event).split("\n", 1)[0]
            lines.append(f"{event.asof.astimezone(NEW_YORK):%H:%M} {first}")
        await self._reply(update, render_notice_html("\n".join(lines)))

    async def on_join_request(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Let into a private channel only users whose trial or subscription is running."""
        request = update.chat_join_request
        if request is None:
            return
        me = await self.deps.subscribers.get(PLATFORM, str(request.from_user.id))
        now = self.deps.clock.now()
        running = me is not None and (
            me.status is SubscriberStatus.ACTIVE
            or (
                me.status is SubscriberStatus.TRIAL and (me.trial_end is None or me.trial_end > now)
            )
        )
        if running:
            await request.approve()
        else:
            await request.decline()
        logger.info(
            "join request to %s: %s", request.chat.id, "approved" if running else "declined"
        )

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log a handler's error (type and message only: never the request URL)."""
        error = context.error
        logger.error("telegram handler failed: %s: %s", type(error).__name__, str(error)[:300])


async def ensure_telegram_channels(subscribers: SubscriberStore, channels: dict[str, str]) -> None:
    """Keep one always-active subscriber per track channel, so the notifier posts there.

    Args:
        subscribers: The store.
        channels: Track value -> channel id or @name (tracks without a channel left out).
    """
    for track, channel in channels.items():
        await subscribers.put(
            Subscriber(
                platform=PLATFORM,
                user_id=f"channel-{track}",
                status=SubscriberStatus.ACTIVE,
                tracks=(track,),
                risks=("balanced",),
                delivery=channel,
            )
        )


async def remove_from_channels(bot: Bot, channels: Sequence[str], subscriber: Subscriber) -> None:
    """Remove a Telegram user from the private channels (ban, then unban: they may rejoin)."""
    if subscriber.platform != PLATFORM or not subscriber.user_id.lstrip("-").isdigit():
        return
    user_id = int(subscriber.user_id)
    for channel in channels:
        try:
            await bot.ban_chat_member(channel, user_id)
            await bot.unban_chat_member(channel, user_id, only_if_banned=True)
        except TelegramError as error:
            logger.warning("removing %s from %s failed: %s", user_id, channel, error.message)


def build_application(
    token: str, *, base_url: str = "https://api.telegram.org/bot"
) -> Application[Any, Any, Any, Any, Any, Any]:
    """Build the `Application` with the rate limiter, retries on (install commands after).

    Args:
        token: The bot token (a secret: never logged).
        base_url: The Bot API base, ending in ``/bot`` (the token is appended).

    Returns:
        The application, not yet initialised; its `bot` can back a `TelegramPublisher` at once.
    """
    quiet_http_logs()  # httpx logs every request URL at INFO, and the URL holds the token
    return (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .rate_limiter(AIORateLimiter(max_retries=2))
        .build()
    )


def install_commands(
    application: Application[Any, Any, Any, Any, Any, Any], deps: TelegramDeps
) -> TelegramCommands:
    """Install every command handler over `deps` and return them."""
    commands = TelegramCommands(deps)
    commands.install(application)
    return commands


@dataclass(frozen=True, slots=True)
class Webhook:
    """Where Telegram posts updates when the bot runs on a webhook instead of polling.

    Attributes:
        url: The public HTTPS URL given to `setWebhook` (its path is the path listened on).
        port: The local port PTB's webhook server listens on.
        listen: The local address it binds.
        secret: The `secret_token` Telegram sends with every update; other posts are refused.
    """

    url: str
    port: int
    listen: str
    secret: str

    @property
    def path(self) -> str:
        """The URL's path, which the local server answers on."""
        return urlsplit(self.url).path.lstrip("/")


def webhook_secret(token: str) -> str:
    """A stable `secret_token` derived from the bot token (Telegram allows [A-Za-z0-9_-])."""
    return hashlib.sha256(f"webhook:{token}".encode()).hexdigest()[:32]


async def run_telegram(
    application: Application[Any, Any, Any, Any, Any, Any],
    commands: TelegramCommands,
    stop: asyncio.Event,
    *,
    poll_timeout_s: int = 10,
    webhook: Webhook | None = None,
) -> None:
    """Run the application until `stop` is set: initialise, publish commands, receive, shut down.

    Updates come by long polling, or, with `webhook`, from PTB's webhook server
    (`updater.start_webhook`, which also calls `setWebhook`).
    """
    async with application:
        await application.bot.set_my_commands(commands.bot_commands())
        await application.start()
        updater = application.updater
        if updater is not None and webhook is not None:
            await updater.start_webhook(
                listen=webhook.listen,
                port=webhook.port,
                url_path=webhook.path,
                webhook_url=webhook.url,
                secret_token=webhook.secret,
            )
            logger.info(
                "telegram bot @%s on a webhook, port %d", application.bot.username, webhook.port
            )
        elif updater is not None:
            await updater.start_polling(poll_interval=0.0, timeout=poll_timeout_s)
            logger.info("telegram bot @%s polling", application.bot.username)
        try:
            await stop.wait()
        finally:
            if updater is not None and updater.running:
                await updater.stop()
            await application.stop()
