"""The use cases behind the chat commands, shared by every front end.

A front end parses its platform's command, calls one of these with the platform name and the
user's id, and renders the `Reply`. They speak only to ports, so Telegram and Discord give the
same answer to the same question.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.ports import (
    Delivery,
    Ledger,
    LedgerRecord,
    NoticeLevel,
    Outbox,
    Subscriber,
    SubscriberStatus,
    SubscriberStore,
)
from core.calendar import NEW_YORK
from core.performance import TradeOutcome, by_track_and_risk
from core.types import Risk, Track

HELP = (
    "SPX iron-condor signals on three tracks (0DTE, 1DTE, 45DTE) and three risk levels, "
    "with expiration-day hedge alerts.\n"
    "/start or /trial: start your free trial\n"
    "/status: your subscription\n"
    "/today: today's signals\n"
    "/settings: tracks, risk levels, alert levels\n"
    "/whatif PRICE: today's condor's P&L per contract if SPX settles at PRICE\n"
    "/stop: stop all messages"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """What a command answers: a title and plain-text lines."""

    title: str
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        """The reply as one plain-text block, title first."""
        return "\n".join((self.title, *self.lines))


@dataclass(slots=True)
class Commands:
    """The command use cases over the stores of one process."""

    subscribers: SubscriberStore
    ledger: Ledger
    outbox: Outbox
    trial_days: int

    async def start(self, platform: str, user_id: str, now: datetime) -> Reply:
        """Subscribe a new user on a free trial; tell a known one where they stand."""
        found = await self.subscribers.get(platform, user_id)
        if found is not None and found.status is not SubscriberStatus.UNSUBSCRIBED:
            return await self.status(platform, user_id, now)
        return await self.trial(platform, user_id, now)

    async def trial(self, platform: str, user_id: str, now: datetime) -> Reply:
        """Start the one free trial a user gets (resubscribing does not start another)."""
        found = await self.subscribers.get(platform, user_id)
        if found is not None and found.trial_start is not None:
            if found.status is SubscriberStatus.UNSUBSCRIBED:
                expired = found.trial_end is not None and found.trial_end <= now
                status = SubscriberStatus.EXPIRED if expired else SubscriberStatus.TRIAL
                await self.subscribers.put(replace(found, status=status))
            return Reply(
                title="Trial already used",
                lines=(f"Your trial started {found.trial_start.astimezone(NEW_YORK):%Y-%m-%d}.",),
            )
        end = now + timedelta(days=self.trial_days)
        base = found or Subscriber(platform=platform, user_id=user_id)
        await self.subscribers.put(
            replace(base, status=SubscriberStatus.TRIAL, trial_start=now, trial_end=end)
        )
        return Reply(
            title="Welcome to condorbot",
            lines=(
                f"Your free trial runs until {end.astimezone(NEW_YORK):%Y-%m-%d %H:%M} ET.",
                "You get every track's balanced signals; change that with /settings.",
            ),
        )

    async def stop(self, platform: str, user_id: str) -> Reply:
        """Unsubscribe: no more messages until /start."""
        found = await self.subscribers.get(platform, user_id)
        if found is None:
            return Reply(title="Not subscribed", lines=("Nothing to stop.",))
        await self.subscribers.put(replace(found, status=SubscriberStatus.UNSUBSCRIBED))
        return Reply(title="Unsubscribed", lines=("No more messages. /start to come back.",))

    async def status(self, platform: str, user_id: str, now: datetime) -> Reply:
        """Describe the user's subscription."""
        found = await self.subscribers.get(platform, user_id)
        if found is None:
            return Reply(title="Not subscribed", lines=("/start to begin a free trial.",))
        lines = [f"Status: {found.status}"]
        if found.status is SubscriberStatus.TRIAL and found.trial_end is not None:
            left = max(found.trial_end - now, timedelta(0))
            lines.append(
                f"Trial ends {found.trial_end.astimezone(NEW_YORK):%Y-%m-%d %H:%M} ET "
                f"({left.days} days left)"
            )
        lines.append(f"Tracks: {', '.join(found.tracks) or 'none'}")
        lines.append(f"Risk levels: {', '.join(found.risks) or 'none'}")
        lines.append(f"Delivery: {'direct message' if found.delivery == 'dm' else 'channel'}")
        levels = ", ".join(f"{k} {v}" for k, v in sorted(found.levels.items()))
        lines.append(f"Alert levels: {levels or 'all on'}")
        return Reply(title="Your subscription", lines=tuple(lines))

    async def settings(
        self,
        platform: str,
        user_id: str,
        now: datetime,
        *,
        tracks: Sequence[str] | None = None,
        risks: Sequence[str] | None = None,
        level: tuple[str, NoticeLevel] | None = None,
    ) -> Reply:
        """Change tracks, risk levels or one event kind's notice level."""
        found = await self.subscribers.get(platform, user_id)
        if found is None:
            return Reply(title="Not subscribed", lines=("/start first.",))
        valid_tracks = {str(t) for t in Track}
        valid_risks = {str(r) for r in Risk}
        if tracks is not None and not set(tracks) <= valid_tracks:
            raise ValueError(f"tracks must be among {sorted(valid_tracks)}, were {list(tracks)}")
        if risks is not None and not set(risks) <= valid_risks:
            raise ValueError(f"risks must be among {sorted(valid_risks)}, were {list(risks)}")
        changed = found
        if tracks is not None:
            changed = replace(changed, tracks=tuple(tracks))
        if risks is not None:
            changed = replace(changed, risks=tuple(risks))
        if level is not None:
            changed = replace(changed, levels={**changed.levels, level[0]: level[1]})
        await self.subscribers.put(changed)
        return await self.status(platform, user_id, now)

    async def _today(self, now: datetime) -> list[dict[str, Any]]:
        day = now.astimezone(NEW_YORK).date()
        found = []
        for record in await self.ledger.records():
            at = datetime.fromisoformat(record.at)
            if at.astimezone(NEW_YORK).date() == day and record.kind in {"condor", "no_trade"}:
                body = json.loads(record.payload)
                body["_at"] = at
                found.append(body)
        return found

    async def today(self, now: datetime) -> Reply:
        """List today's signals from the ledger (condors and no-trade cards)."""
        lines = []
        for body in await self._today(now):
            head = f"{str(body['track']).upper()} {body['risk']}"
            if body["kind"] == "condor":
                legs = body["legs"]
                strikes = "/".join(f"{leg['strike']}" for leg in legs)
                lines.append(f"{head}: {strikes}, credit {body['credit_mid']} ({body['expiry']})")
            else:
                reasons = body.get("reasons") or []
                lines.append(f"{head}: no trade ({'; '.join(str(r) for r in reasons)})")
        return Reply(
            title=f"Signals {now.astimezone(NEW_YORK):%Y-%m-%d}",
            lines=tuple(lines) or ("No signals yet today.",),
        )

    async def whatif(self, price: Decimal, now: datetime, risk: str = "balanced") -> Reply:
        """P&L per contract at expiry of today's condors if SPX settles at `price`."""
        lines = []
        for body in await self._today(now):
            if body["kind"] != "condor" or body["risk"] != risk:
                continue
            legs = body["legs"]
            lp, sp, sc, lc = (Decimal(str(leg["strike"])) for leg in legs)
            credit = Decimal(str(body["credit_mid"]))
            put_loss = min(max(sp - price, Decimal(0)), sp - lp)
            call_loss = min(max(price - sc, Decimal(0)), lc - sc)
            pnl = (credit - put_loss - call_loss) * 100
            lines.append(f"{str(body['track']).upper()} {risk}: ${pnl:,.2f} per contract")
        return Reply(
            title=f"If SPX settles at {price:,}",
            lines=tuple(lines) or (f"No {risk} condor today.",),
        )

    async def health(self) -> Reply:
        """Ledger chain check and dead letters, for the admins."""
        check = await self.ledger.verify()
        dead = await self.outbox.dead_letters()
        lines = [
            f"Ledger: {'ok' if check.ok else 'BROKEN at ' + str(check.broken_seq)}, "
            f"{check.records} records, head {check.head[:12]}",
            f"Dead letters: {len(dead)}",
            *(f"- {d.key}: {error}" for d, error in list(dead)[-5:]),
        ]
        return Reply(title="Health", lines=tuple(lines))

    async def subscriber_counts(self) -> Reply:
        """Subscribers per platform and status, for the admins."""
        counts: dict[tuple[str, str], int] = {}
        for sub in await self.subscribers.all():
            key = (sub.platform, str(sub.status))
            counts[key] = counts.get(key, 0) + 1
        lines = tuple(f"{p} {s}: {n}" for (p, s), n in sorted(counts.items()))
        return Reply(title="Subscribers", lines=lines or ("None yet.",))

    async def broadcast(self, notice_id: str, text: str, platforms: Sequence[str]) -> Reply:
        """Queue a message to every receiving subscriber, through the outbox (exactly once)."""
        queued = 0
        for sub in await self.subscribers.all():
            if sub.platform not in platforms or sub.status not in {
                SubscriberStatus.TRIAL,
                SubscriberStatus.ACTIVE,
            }:
                continue
            target = sub.user_id if sub.delivery == "dm" else sub.delivery
            queued += await self.outbox.enqueue(
                Delivery(
                    key=f"{notice_id}:{sub.platform}:{target}",
                    platform=sub.platform,
                    target=target,
                    event_id=notice_id,
                    text=text,
                )
            )
        return Reply(title="Broadcast queued", lines=(f"{queued} deliveries queued.",))


def trade_outcomes(records: Sequence[LedgerRecord]) -> list[TradeOutcome]:
    """Join each ledger `day_result` to its card: track, risk, entry day, credit (or skip it)."""
    signals: dict[str, tuple[dict[str, Any], date]] = {}
    outcomes = []
    for record in records:
        if record.kind == "condor":
            entry_day = datetime.fromisoformat(record.at).astimezone(NEW_YORK).date()
            signals[record.event_id] = (json.loads(record.payload), entry_day)
        elif record.kind == "day_result":
            body = json.loads(record.payload)
            found = signals.get(str(body.get("signal_id")))
            if found is None:
                continue
            signal, entry_day = found
            outcomes.append(
                TradeOutcome(
                    track=str(signal["track"]),
                    risk=str(signal["risk"]),
                    entry_day=entry_day,
                    closed_at=datetime.fromisoformat(record.at),
                    credit_points=Decimal(str(signal["credit_mid"])),
                    pnl_usd=Decimal(str(body["pnl_usd_hedged"])),
                    hedge_pnl_usd=Decimal(str(body["hedge_pnl_usd"])),
                )
            )
    return outcomes


async def performance_reply(
    ledger: Ledger, now: datetime, track: str | None = None, days: int | None = None
) -> Reply:
    """The track record from the ledger, per track and risk level: `/performance [track] [days]`.

    Args:
        ledger: Where the settled results are.
        now: The end of the window.
        track: One track value, or None for every track.
        days: Only results settled in the last `days` days (None: all of them).
    """
    outcomes = trade_outcomes(await ledger.records())
    if days is not None:
        outcomes = [o for o in outcomes if o.closed_at >= now - timedelta(days=days)]
    if track is not None:
        outcomes = [o for o in outcomes if o.track == track]
    window = f"last {days} days" if days is not None else "all time"
    lines = []
    for (name, risk), record in by_track_and_risk(outcomes).items():
        low, high = record.expectancy_ci95_usd
        trades = f"{record.trades} trade{'' if record.trades == 1 else 's'}"
        lines.append(
            f"{name.upper()} {risk}: {trades}, win rate {record.win_rate:.0%}, "
            f"avg credit {record.average_credit_points:,f}, "
            f"expectancy {_usd(record.expectancy_usd)}/trade "
            f"(95% CI {_usd(low)} to {_usd(high)}), "
            f"total {_usd(record.total_pnl_usd)}, "
            f"profit factor {_ratio(record.profit_factor)}, "
            f"max drawdown {_usd(record.max_drawdown_usd)}, "
            f"worst day {_usd(record.worst_day_usd)}, CVaR 5% {_usd(record.cvar5_usd)}, "
            f"Sharpe {_ratio(record.sharpe)}, Sortino {_ratio(record.sortino)} (per trade, "
            f"annualised), hedge cost {_usd(record.hedge_cost_usd)}"
        )
    return Reply(
        title=f"Performance ({track or 'all tracks'}, {window}; per contract)",
        lines=tuple(lines) or ("No settled trades in that window.",),
    )


def _usd(amount: Decimal) -> str:
    # Dollars with the sign in front: -$40.00, $12.50.
    return f"-${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"


def _ratio(value: float) -> str:
    # A statistic that may be undefined (NaN: too few trades) or unbounded (no losing trade).
    if math.isnan(value):
        return "n/a"
    return "no loss" if math.isinf(value) else f"{value:.2f}"
