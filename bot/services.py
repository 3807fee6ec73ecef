"""The use cases the scheduler runs: publish signals, check hedges, settle, recap, sweep, beat.

Services speak to the world only through ports (`bot/ports.py`) and the notifier. Each is an
async method taking the run's scheduled time; running one twice for the same time publishes
nothing new (event ids are deterministic and the ledger and outbox are idempotent on them).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from bot.codec import from_jsonable, to_jsonable
from bot.notify import Audience, Notifier, PublishReport
from bot.ports import Clock, DayFeed, DayStore, Subscriber, SubscriberStatus, SubscriberStore
from core.calendar import NEW_YORK, next_trading_day, spxw_expirations
from core.chain import OptionChain
from core.condor import CondorProfile, select_condor
from core.hedge import EngineState, OpenCondor, mark, settle, step
from core.rules import CondorRules, HedgeRules
from core.types import (
    CondorSignal,
    DailyResult,
    DataStamp,
    Event,
    NoTradeCode,
    NoTradeDay,
    NoTradeReason,
    PositionMark,
    Risk,
    Settlement,
    Track,
)

logger = logging.getLogger(__name__)


def service_table(services: Services) -> dict[str, Callable[[datetime], Awaitable[object]]]:
    """Map the job table's service names to the services' methods."""

    def publish(track: Track) -> Callable[[datetime], Awaitable[None]]:
        return lambda at: services.publish_signals(track, at)

    return {
        "publish_0dte": publish(Track.ZERO_DTE),
        "publish_1dte": publish(Track.ONE_DTE),
        "publish_45dte": publish(Track.DTE_45),
        "check_hedges": services.check_hedges,
        "watch_stale_data": services.watch_stale_data,
        "settle_day": services.settle_day,
        "recap": services.recap,
        "trial_sweep": services.trial_sweep,
        "heartbeat": services.heartbeat,
    }


#: A trial reminder goes out this long before the trial ends.
TRIAL_REMINDER = timedelta(days=2)


@dataclass(slots=True)
class _Open:
    position: OpenCondor
    chain: OptionChain
    state: EngineState
    audience: Audience
    result: DailyResult | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenView:
    """An open condor as `/status` shows it: the signal, its mark (None: no price) and state."""

    signal: CondorSignal
    mark: PositionMark | None
    hedge_state: str


@dataclass(slots=True)
class DayReport:
    """What the day produced, for the recap and the demo's summary."""

    events: list[Event] = field(default_factory=list)
    reports: list[PublishReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Services:
    """The bot's use cases over one market-data feed per day."""

    notifier: Notifier
    subscribers: SubscriberStore
    feed_for: Callable[[date], DayFeed]
    rules: CondorRules
    hedge_rules: HedgeRules
    clock: Clock
    stale_after: timedelta = timedelta(minutes=5)
    days: DayStore | None = None
    #: Told of each trial the sweep expires (the front ends take away channel access; what
    #: it returns is ignored).
    on_expired: Callable[[Subscriber], Awaitable[object]] | None = None
    _restored: set[date] = field(default_factory=set)
    _open: dict[tuple[date, Track, Risk], _Open] = field(default_factory=dict)
    _feeds: dict[date, DayFeed] = field(default_factory=dict)
    _feed_errors: dict[date, Exception] = field(default_factory=dict)
    day_reports: dict[date, DayReport] = field(default_factory=dict)

    def _feed(self, day: date) -> DayFeed:
        if day in self._feed_errors:
            raise self._feed_errors[day]
        if day not in self._feeds:
            try:
                self._feeds[day] = self.feed_for(day)
            except (ValueError, KeyError) as error:
                # Remember the failure: the watchdog asks every minute, the answer will not change.
                self._feed_errors[day] = error
                raise
        return self._feeds[day]

    def _report(self, day: date) -> DayReport:
        return self.day_reports.setdefault(day, DayReport())

    async def _publish(self, event: Event, audience: Audience) -> None:
        report = await self.notifier.publish(event, audience)
        day = event.asof.astimezone(NEW_YORK).date()
        self._report(day).events.append(event)
        self._report(day).reports.append(report)

    def _expiries(self, day: date) -> list[tuple[str, date]]:
        # Today's and the next trading day's SPXW, and the Fridays 30-60 days out.
        later = spxw_expirations(day + timedelta(days=30), day + timedelta(days=60))
        fridays = [d for d in later if d.weekday() == 4]
        return [("SPXW", day), ("SPXW", next_trading_day(day)), *(("SPXW", d) for d in fridays)]

    async def publish_signals(self, track: Track, scheduled_for: datetime) -> None:
        """Select and publish the track's condor for every risk level at its entry time."""
        day = scheduled_for.astimezone(NEW_YORK).date()
        try:
            feed = self._feed(day)
            chain, note = feed.chain_at(scheduled_for, self._expiries(day))
            # A signal is only sent if the engine can manage it: its marks need the entry VIX.
            entry_vix = feed.vol_at(scheduled_for).vix
        except (ValueError, KeyError) as error:
            await self._bad_data(track, scheduled_for, f"market data unavailable: {error}")
            return
        if note:
            self._report(day).notes.append(note)
        for risk in Risk:
            event = select_condor(chain, CondorProfile.of(self.rules, track, risk), scheduled_for)
            audience = Audience(track=str(track), risk=str(risk))
            await self._publish(event, audience)
            if isinstance(event, CondorSignal):
                self._remember(day, event, chain, audience, entry_vix)
                await self._save(self._open[(day, event.track, event.risk)])
            elif any(
                r.code in (NoTradeCode.BAD_DATA, NoTradeCode.STALE_DATA) for r in event.reasons
            ):
                reasons = "; ".join(r.detail for r in event.reasons)
                await self.notifier.notify_admins(
                    f"admin-nt-{event.signal_id}", f"{track} {risk}: no trade, {reasons}"
                )

    def _remember(
        self,
        day: date,
        signal: CondorSignal,
        chain: OptionChain,
        audience: Audience,
        entry_vix: float,
    ) -> None:
        position = OpenCondor.from_signal(signal, self.hedge_rules.contracts, entry_vix=entry_vix)
        self._open[(day, signal.track, signal.risk)] = _Open(
            position=position, chain=chain, state=EngineState(), audience=audience
        )

    async def _bad_data(self, track: Track, at: datetime, detail: str) -> None:
        stamp = DataStamp(quote_time=at, source="market data feed")
        for risk in Risk:
            day = at.astimezone(NEW_YORK).date()
            event = NoTradeDay(
                signal_id=f"nt-{day:%Y%m%d}-{track}-{risk}-nodata",
                track=track,
                risk=risk,
                reasons=(NoTradeReason(code=NoTradeCode.BAD_DATA, detail=detail),),
                data=stamp,
                rule_version=self.rules.rule_version,
                asof=at,
            )
            await self._publish(event, Audience(track=str(track), risk=str(risk)))
        await self.notifier.notify_admins(f"admin-nodata-{track}-{at:%Y%m%dT%H%M}", detail)

    async def skip(self, track: Track, reason: str, at: datetime) -> list[NoTradeDay]:
        """Stand `track` aside today by hand (an admin's `/skip`): a no-trade card per risk level.

        The cards go through the notifier (ledger, then outbox) like any other; skipping the same
        track twice on one day publishes nothing new (the ids are per day, track and risk).

        Raises:
            ValueError: If `reason` is blank.
        """
        detail = " ".join(reason.split())
        if not detail:
            raise ValueError("a skip needs a reason, got an empty one")
        day = at.astimezone(NEW_YORK).date()
        stamp = DataStamp(quote_time=at, source="admin decision")
        events = []
        for risk in Risk:
            event = NoTradeDay(
                signal_id=f"nt-{day:%Y%m%d}-{track}-{risk}-manual",
                track=track,
                risk=risk,
                reasons=(NoTradeReason(code=NoTradeCode.MANUAL, detail=f"skipped: {detail}"),),
                data=stamp,
                rule_version=self.rules.rule_version,
                asof=at,
            )
            await self._publish(event, Audience(track=str(track), risk=str(risk)))
            events.append(event)
        return events

    async def _save(self, held: _Open) -> None:
        # Open positions are kept under their expiry day: that is the day that must find them.
        if self.days is None:
            return
        signal = held.position.signal
        stored = await self.days.get_day(signal.expiry)
        key = f"{signal.track}:{signal.risk}"
        state = {
            "position": to_jsonable(held.position),
            "state": to_jsonable(held.state),
            "settled": held.result is not None,
        }
        positions = dict(stored.open_positions)
        positions[key] = json.dumps(state, sort_keys=True)
        await self.days.put_day(replace(stored, open_positions=positions))

    async def _restore(self, day: date, now: datetime) -> None:
        """After a restart, reload the condors expiring `day` and their engine state.

        Each position gets its entry chain back from the feed; a live feed keeps no chain
        across a restart, and the newest one (at `now`) serves instead. A position whose chain
        cannot be had is tried again at the next call.
        """
        if self.days is None or day in self._restored:
            return
        stored = await self.days.get_day(day)
        waiting = False
        for key, text in stored.open_positions.items():
            data = json.loads(text)
            position = from_jsonable(OpenCondor, data["position"])
            signal = position.signal
            opened = signal.asof.astimezone(NEW_YORK).date()
            if (opened, signal.track, signal.risk) in self._open or data.get("settled"):
                continue
            feed = self._feed(day)
            try:
                chain, _ = feed.chain_at(signal.asof, self._expiries(opened))
            except (ValueError, KeyError):
                try:
                    chain, _ = feed.chain_at(now, self._expiries(opened))
                except (ValueError, KeyError) as error:
                    logger.warning("cannot restore %s expiring %s yet: %s", key, day, error)
                    waiting = True
                    continue
                logger.info("restored %s with the chain of %s (entry chain gone)", key, now)
            track, risk = key.split(":")
            self._open[(opened, signal.track, signal.risk)] = _Open(
                position=position,
                chain=chain,
                state=from_jsonable(EngineState, data["state"]),
                audience=Audience(track=track, risk=risk),
            )
            logger.info("restored %s %s expiring %s", track, risk, day)
        if not waiting:
            self._restored.add(day)

    async def check_hedges(self, scheduled_for: datetime) -> None:
        """Run the hedge engine on every condor expiring today."""
        day = scheduled_for.astimezone(NEW_YORK).date()
        try:
            await self._restore(day, scheduled_for)
        except (ValueError, KeyError) as error:
            await self._no_data(day, scheduled_for, "hedge check", error)
            return
        for held in list(self._open.values()):
            if held.position.signal.expiry != day or held.result is not None:
                continue
            try:
                market = self._feed(day).market_at(scheduled_for, held.chain)
            except (ValueError, KeyError) as error:
                await self._no_data(day, scheduled_for, "hedge check", error)
                return
            held.state, events = step(
                held.position, held.state, market, self.hedge_rules, scheduled_for
            )
            for event in events:
                await self._publish(event, held.audience)
            if events:
                await self._save(held)

    async def settle_day(self, scheduled_for: datetime) -> None:
        """Score every condor that expired today against the settlement.

        When the feed cannot settle yet (a live closing print not in), the admins are told and
        the condors stay open: the recap tries again.
        """
        day = scheduled_for.astimezone(NEW_YORK).date()
        try:
            await self._restore(day, scheduled_for)
        except (ValueError, KeyError) as error:
            await self._no_data(day, scheduled_for, "settlement", error)
            return
        for held in self._open.values():
            signal = held.position.signal
            if signal.expiry != day or held.result is not None:
                continue
            try:
                settlement, vol, note = self._feed(day).settlement()
                if signal.settlement is Settlement.AM:
                    settlement, note = self._feed(day).opening_print()
            except (ValueError, KeyError) as error:
                await self._no_data(day, scheduled_for, "settlement", error)
                return
            self._report(day).notes.append(note)
            result = settle(
                held.position,
                held.state,
                settlement,
                vol,
                signal.settles_at,
                DataStamp(
                    quote_time=signal.settles_at,
                    source=f"{held.chain.source}; settlement: {note}",
                    modelled=held.chain.modelled,
                ),
                self.hedge_rules,
            )
            held.result = result
            await self._publish(result, held.audience)
            await self._save(held)

    async def recap(self, scheduled_for: datetime) -> str:
        """Settle what is still open (a late settlement print), then send the admins the recap."""
        day = scheduled_for.astimezone(NEW_YORK).date()
        await self.settle_day(scheduled_for)
        unsettled = sum(
            1
            for held in self._open.values()
            if held.position.signal.expiry == day and held.result is None
        )
        report = self._report(day)
        kinds: dict[str, int] = {}
        for event in report.events:
            kinds[type(event).__name__] = kinds.get(type(event).__name__, 0) + 1
        results = [e for e in report.events if isinstance(e, DailyResult)]
        pnl = sum(float(r.pnl_usd_hedged) for r in results)
        text = (
            f"recap {day}: "
            + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
            + f"; {sum(r.queued for r in report.reports)} deliveries queued; "
            f"settled P&L (managed + hedged) ${pnl:,.2f}"
            + (
                f"; {unsettled} condors expiring today NOT settled (no settlement data)"
                if unsettled
                else ""
            )
        )
        await self.notifier.notify_admins(f"recap-{day}", text)
        return text

    async def _no_data(self, day: date, at: datetime, what: str, error: Exception) -> None:
        # A job the market data cannot serve: the admins hear of it once an hour per job kind.
        logger.warning("%s at %s: no market data: %s", what, at.isoformat(), error)
        await self.notifier.notify_admins(
            f"nodata-{day}-{what.replace(' ', '-')}-{at.astimezone(NEW_YORK):%H}",
            f"{what} at {at.astimezone(NEW_YORK):%H:%M} ET skipped: {error}",
        )

    async def trial_sweep(self, scheduled_for: datetime) -> None:
        """Remind trials two days before they end; expire them at their end."""
        for subscriber in await self.subscribers.all():
            end = subscriber.trial_end
            if subscriber.status is not SubscriberStatus.TRIAL or end is None:
                continue
            if scheduled_for >= end:
                await self.subscribers.put(replace(subscriber, status=SubscriberStatus.EXPIRED))
                if self.on_expired is not None:
                    try:
                        await self.on_expired(subscriber)
                    except Exception:  # one failed removal never stops the sweep
                        logger.exception("removing expired trial %s failed", subscriber.key)
            elif end - scheduled_for <= TRIAL_REMINDER:
                local_end = end.astimezone(NEW_YORK)
                await self.notifier.notify_subscriber(
                    subscriber,
                    f"trial-reminder-{subscriber.key}-{end:%Y%m%d}",
                    f"Your free trial ends {local_end:%a %Y-%m-%d %H:%M} ET. "
                    "Subscribe to keep receiving the signals.",
                )

    def open_positions(self, now: datetime) -> list[OpenView]:
        """Every open condor marked to market at `now`, with its hedge-engine state in words."""
        views: list[OpenView] = []
        for held in self._open.values():
            if held.result is not None:
                continue
            signal = held.position.signal
            day = now.astimezone(NEW_YORK).date()
            try:
                feed = self._feed(day)
                spot = feed.market_at(now, held.chain).spot if day == feed.day else float("nan")
                vix = feed.vol_at(now).vix
            except (ValueError, KeyError):
                spot, vix = float("nan"), float("nan")
            position = held.position.with_closed(held.state.closed, held.state.realised_points).at(
                vix, now
            )
            marked = mark(position, spot, now) if spot == spot and spot > 0 else None
            state = held.state
            words = []
            if state.exit_rule is not None:
                words.append(f"closed by the {state.exit_rule} rule")
            words += [f"{side} wing bought back" for side in state.closed]
            words += [f"holding {h.contracts} {h.instrument}" for h in state.held]
            views.append(
                OpenView(
                    signal=signal, mark=marked, hedge_state="; ".join(words) or "no action yet"
                )
            )
        return views

    async def watch_stale_data(self, scheduled_for: datetime) -> None:
        """Tell the admins, once per episode, when market data goes stale during the session."""
        day = scheduled_for.astimezone(NEW_YORK).date()
        try:
            latest = self._feed(day).last_data_at(scheduled_for)
        except (ValueError, KeyError) as error:
            await self.notifier.notify_admins(f"stale-{day}-nofeed", f"no market data: {error}")
            return
        if latest is None:
            return
        age = scheduled_for - latest
        if age > self.stale_after:
            await self.notifier.notify_admins(
                f"stale-{day}-{latest:%H%M}",
                f"market data stale: newest SPX bar ended {latest.astimezone(NEW_YORK):%H:%M} ET, "
                f"{int(age.total_seconds() // 60)} min before "
                f"{scheduled_for.astimezone(NEW_YORK):%H:%M} ET",
            )

    async def heartbeat(self, scheduled_for: datetime) -> None:
        """Tell the admins the bot is alive, with what it holds."""
        open_now = sum(1 for held in self._open.values() if held.result is None)
        await self.notifier.notify_admins(
            f"heartbeat-{scheduled_for:%Y%m%dT%H%M}",
            f"alive at {scheduled_for.astimezone(NEW_YORK):%Y-%m-%d %H:%M} ET; "
            f"{open_now} open condors",
        )
