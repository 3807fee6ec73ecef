"""The `condorbot` command: the composition root for the command line.

Subcommands:
    signal        the condor card for one track and risk level on a chain snapshot
    chain-greeks  IV and greeks recomputed for every row of a chain snapshot
    demo          a recorded day through scheduler, services, ledger, outbox and console
    cards         every track x risk card on the shipped snapshot
    ledger        verify the hash chain, or export it
    admin         list subscribers, add an admin, grant a trial
    health        exit 0 when Redis answers (the container healthcheck)
    live-check    ask Cboe's delayed quotes for everything the live feed polls, once
    discord sync  register the Discord slash commands with the configured guilds
    run           the production service: scheduler, services and delivery workers
    replay        a real trading day through the condor selector and the ALVH hedge engine
    backtest      the rules and the ALVH hedge over history (core.backtest)
    backtest-snapshots  the backtest's selection on every real snapshot against the surface model
    calendar vix  VIX monthly settlement dates
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import logging
import math
import os
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from redis.asyncio import Redis

from bot.adapters.event_calendar import EventCalendarError, load_event_days
from bot.adapters.market_data import load_chain
from bot.adapters.market_data.common import DataFileError
from bot.demo import DEFAULT_SPEED, DEMO_DAY, run_demo
from bot.live import CheckLine, check_source
from bot.ports import Subscriber, SubscriberStatus
from bot.published import PublishedReportError, differences, load_report, write_report
from bot.render.calendar_json import vix_settlements_json
from bot.render.chain_json import chain_greeks_rows
from bot.render.json_card import event_to_json, event_to_json_rows
from bot.render.text import render_text
from bot.replay import ReplayError, replay_day, replay_days
from bot.service_main import ServiceConfigError, cboe_quotes, run_service
from bot.settings import Settings, SettingsError, load_settings
from bot.storage.embedded import connect
from bot.storage.ledger_tools import export_records
from bot.storage.redis_store import RedisLedger, RedisSubscriberStore
from core.calendar import NEW_YORK
from core.chain import OptionChain
from core.condor import CondorProfile, select_condor
from core.rules import CondorRules, Defence, HedgeRules
from core.types import Event, Risk, Track

#: Shipped data, next to the packages in a clone or an editable install.
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEMO_CHAIN = "spx_cboe_2022-03-23_intraday_1011ET"
EXIT_USAGE = 2


class CliError(Exception):
    """A problem the user can fix; printed as one line, never as a traceback."""


def _parse_asof(text: str) -> date | datetime:
    try:
        if len(text) == len("YYYY-MM-DD"):
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(
            f"--asof: expected YYYY-MM-DD or an ISO time like 2022-03-23T10:15-04:00, got {text!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=NEW_YORK)


def _resolve_asof(asof: date | datetime | None, chain: OptionChain) -> datetime:
    """A bare date means "that day, at the snapshot's time of day"; nothing means the snapshot."""
    quoted = chain.quote_time.astimezone(NEW_YORK)
    if asof is None:
        return quoted
    if isinstance(asof, datetime):
        return asof
    return datetime.combine(asof, quoted.timetz())


def _chain_path(text: str) -> Path:
    path = Path(text)
    if path.exists():
        return path
    for candidate in (DATA_DIR / "chains" / text, DATA_DIR / "chains" / f"{text}.csv.gz"):
        if candidate.exists():
            return candidate
    raise CliError(f"--chain: no such file {text!r}")


def _load(path_text: str, asof: date | datetime | None) -> OptionChain:
    path = _chain_path(path_text)
    day = asof if isinstance(asof, date) and not isinstance(asof, datetime) else None
    if isinstance(asof, datetime):
        day = asof.astimezone(NEW_YORK).date()
    return load_chain(path, quote_date=day)


def _rules(events: str | None) -> CondorRules:
    path = Path(events) if events else DATA_DIR / "events.csv"
    return CondorRules().with_event_days(load_event_days(path))


def _signal(args: argparse.Namespace) -> int:
    asof_arg = _parse_asof(args.asof) if args.asof else None
    chain = _load(args.chain, asof_arg)
    profile = CondorProfile.of(_rules(args.events), Track(args.track), Risk(args.risk))
    event = select_condor(chain, profile, _resolve_asof(asof_arg, chain))
    _print_event(event, as_json=args.json)
    return 0


def _print_event(event: Event, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(event_to_json(event), indent=2))
    else:
        print(render_text(event))


def _chain_greeks(args: argparse.Namespace) -> int:
    asof_arg = _parse_asof(args.asof) if args.asof else None
    chain = _load(args.chain, asof_arg)
    rows = chain_greeks_rows(chain)
    if args.json:
        print(json.dumps(rows, allow_nan=False))
    else:
        for row in rows:
            print(" ".join(f"{key}={value}" for key, value in row.items()))
    return 0


def _cards(args: argparse.Namespace) -> int:
    chain = _load(args.chain, None)
    rules = _rules(args.events)
    asof = chain.quote_time.astimezone(NEW_YORK)
    print(
        f"condorbot demo: replaying {chain.source} at its quote time {asof:%Y-%m-%d %H:%M} ET "
        f"(SPX {chain.spot:,.2f}); rules {rules.rule_version}\n"
    )
    for track in Track:
        for risk in Risk:
            event = select_condor(chain, CondorProfile.of(rules, track, risk), asof)
            print(render_text(event))
            print()
    return 0


def _parse_day(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CliError(f"{flag}: expected YYYY-MM-DD, got {text!r}") from None


def _replay(args: argparse.Namespace) -> int:
    day = _parse_day(args.date, "--date")
    if args.contracts < 1:
        raise CliError(f"--contracts must be at least 1, got {args.contracts}")
    replay = replay_day(
        day,
        Track(args.track),
        Risk(args.risk),
        data_dir=DATA_DIR,
        rules=_rules(args.events),
        hedge_rules=HedgeRules(contracts=args.contracts),
        respect_event_days=args.respect_event_days,
    )
    if args.json:
        rows = [row for event in replay.events for row in event_to_json_rows(event)]
        print(json.dumps(rows, indent=1))
        return 0
    print(f"condorbot replay: {day:%a %Y-%m-%d}, {replay.track} {replay.risk}")
    for note in replay.notes:
        print(f"  note: {note}")
    for event in replay.events:
        print()
        print(render_text(event))
    return 0


def _backtest(args: argparse.Namespace) -> int:
    from bot import backtest  # keeps matplotlib and rich off other commands
    from core.backtest import Costs

    track, risk = Track(args.track), Risk(args.risk)
    start, end = _parse_day(args.start, "--from"), _parse_day(args.end, "--to")
    if args.contracts < 1:
        raise CliError(f"--contracts must be at least 1, got {args.contracts}")
    for flag, value in (("--commission", args.commission), ("--slippage", args.slippage)):
        if not (math.isfinite(value) and value >= 0):
            raise CliError(f"{flag} must be a non-negative number, got {value}")
    costs = Costs(
        commission_per_contract_usd=args.commission,
        slippage_short_dated=args.slippage,
        slippage_long_dated=min(args.slippage, Costs().slippage_long_dated),
    )
    series = {"none": ("held",), "alvh": ("hedged",), "both": ("held", "managed", "hedged")}
    defence = Defence(args.defence)
    # Where the results go is checked before the run (a long one takes minutes).
    published = _published_report(Path(args.check)) if args.check else None
    out_dir = _writable_dir(Path(args.out), "--out") if args.out else None
    if args.report:
        _writable_dir(Path(args.report).parent, "--report")
    try:
        report = backtest.run_with_progress(
            track,
            risk,
            start,
            end,
            data_dir=DATA_DIR,
            rules=_rules(args.events),
            hedge_rules=HedgeRules(contracts=args.contracts, defence=defence),
            costs=costs,
            series=series[args.hedge],
            jobs=args.jobs,
            path_seed=args.path_seed,
            model_term_structure=args.model_term_structure,
        )
    except backtest.BacktestError as error:
        raise CliError(str(error)) from None
    described = {
        "track": track,
        "risk": risk,
        "start": start,
        "end": end,
        "costs": costs,
        "defence": defence,
        "path_seed": args.path_seed,
        "model_term_structure": args.model_term_structure,
    }
    figures = backtest.report_json(report, **described)
    if args.json:
        print(backtest.dumps(figures))
    else:
        print(backtest.report_text(report, **described))
    if args.report:
        with _writing(Path(args.report), "--report"):
            print(f"wrote {write_report(figures, Path(args.report))}", file=sys.stderr)
    if out_dir is not None:
        title = f"{track} {risk}" + (
            " (VIX9D/VIX3M modelled before Cboe published them)"
            if args.model_term_structure
            else ""
        )
        with _writing(out_dir, "--out"):
            for path in backtest.write_charts(report, out_dir, title):
                print(f"wrote {path}", file=sys.stderr)
    if published is not None:
        out = sys.stderr if args.json else sys.stdout
        return _check_published(figures, published, Path(args.check), out)
    return 0


def _published_report(path: Path) -> dict[str, Any]:
    # `--check`'s report, read before the run.
    try:
        return load_report(path)
    except PublishedReportError as error:
        raise CliError(f"--check: {error}") from None


def _writable_dir(path: Path, flag: str) -> Path:
    # `path` as a directory the run's files can be written to (made if missing), else the
    # flag's error naming it and why.
    with _writing(path, flag):
        path.mkdir(parents=True, exist_ok=True)
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, "not writable", str(path))
    return path


@contextmanager
def _writing(path: Path, flag: str) -> Iterator[None]:
    # An OS error while writing `path` as the flag's error, naming the path and why.
    try:
        yield
    except OSError as error:
        raise CliError(
            f"{flag}: cannot write to {error.filename or path} ({error.strerror or error})"
        ) from None


#: The report fields that say which run it is (`--track`, `--risk`, `--from`, `--to`, `--hedge`,
#: `--defence`, the costs, `--path-seed`, `--model-term-structure`): `--check` compares them
#: first.
RUN_SETTINGS = (
    "track",
    "risk",
    "from",
    "to",
    "series",
    "defence",
    "costs",
    "path_seed",
    "term_structure",
)
#: How many differing figures `--check` lists (the count is always given).
CHECK_SHOWN = 25


def _check_published(
    report: dict[str, Any], published: dict[str, Any], path: Path, out: TextIO
) -> int:
    # `backtest --check`: 0 when the run reproduces the report published at `path`, else 1
    # with the differences named (field, published value, value now).
    asked = [
        d for key in RUN_SETTINGS for d in differences(published.get(key), report.get(key), key)
    ]
    if asked:
        # Another run than the published one: its figures would all differ, for no news.
        print(f"check: this run is not the one published in {path}:", file=out)
        for difference in asked:
            print(f"  {difference}", file=out)
        return 1
    found = list(differences(published, report))
    if not found:
        trades = len(report.get("trade_list", []))
        print(f"check: reproduces {path}: every figure and all {trades} trades", file=out)
        return 0
    print(f"check: {len(found)} figure(s) differ from {path}:", file=out)
    for difference in found[:CHECK_SHOWN]:
        print(f"  {difference}", file=out)
    if len(found) > CHECK_SHOWN:
        print(f"  ... and {len(found) - CHECK_SHOWN} more", file=out)
    return 1


def _backtest_snapshots(args: argparse.Namespace) -> int:
    from bot import snapshot_compare

    tracks = [Track(t) for t in args.track] if args.track else list(Track)
    risks = [Risk(r) for r in args.risk] if args.risk else list(Risk)
    refs = (
        [ref for text in args.chain for ref in snapshot_compare.snapshot_refs(_chain_path(text))]
        if args.chain
        else None
    )
    report = snapshot_compare.compare_snapshots(
        DATA_DIR, _rules(args.events), tracks=tracks, risks=risks, snapshots=refs
    )
    if args.json:
        print(snapshot_compare.dumps(snapshot_compare.report_json(report)))
    else:
        print(snapshot_compare.report_text(report))
    return 0


def _calendar(args: argparse.Namespace) -> int:
    start = _parse_day(args.start, "--from")
    end = _parse_day(args.end, "--to")
    if end < start:
        raise CliError(f"--to {end} is before --from {start}")
    days = vix_settlements_json(start, end)
    if args.json:
        print(json.dumps(days))
    else:
        print("\n".join(days))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the `condorbot` command."""
    parser = argparse.ArgumentParser(
        prog="condorbot", description="SPX iron-condor signals from real option chains."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    signal = sub.add_parser("signal", help="the condor card for one track and risk level")
    signal.add_argument("--chain", required=True, help="Cboe or Yahoo chain CSV (.csv or .csv.gz)")
    signal.add_argument("--track", required=True, choices=[t.value for t in Track])
    signal.add_argument("--risk", required=True, choices=[r.value for r in Risk])
    signal.add_argument("--asof", help="signal time (ISO, New York if no offset); default: quotes")
    signal.add_argument("--events", help="event-day CSV (date,label); default: data/events.csv")
    signal.add_argument("--json", action="store_true", help="print one JSON object")
    signal.set_defaults(run=_signal)

    greeks = sub.add_parser("chain-greeks", help="IV and greeks recomputed for every row")
    greeks.add_argument("--chain", required=True, help="Cboe or Yahoo chain CSV (.csv or .csv.gz)")
    greeks.add_argument("--asof", help="quote date to take from a multi-day file (YYYY-MM-DD)")
    greeks.add_argument("--json", action="store_true", help="print a JSON array")
    greeks.set_defaults(run=_chain_greeks)

    cards = sub.add_parser("cards", help="all nine track x risk cards on the shipped snapshot")
    cards.add_argument("--chain", default=DEMO_CHAIN, help="chain to replay")
    cards.add_argument("--events", help="event-day CSV (date,label); default: data/events.csv")
    cards.set_defaults(run=_cards)

    demo = sub.add_parser("demo", help="a recorded day through the whole runtime, accelerated")
    demo.add_argument("--date", default=DEMO_DAY.isoformat(), help="a day of the shipped bars")
    demo.add_argument(
        "--speed",
        type=float,
        default=DEFAULT_SPEED,
        help="virtual seconds per real second (0: no waiting)",
    )
    demo.add_argument("--state-dir", default="state/demo", help="embedded Redis data directory")
    demo.add_argument(
        "--telegram",
        action="store_true",
        help="also deliver through a fake Telegram Bot API server on 127.0.0.1 (no token): "
        "print what it received, write its charts to STATE_DIR/telegram",
    )
    demo.set_defaults(run=_demo)

    ledger = sub.add_parser("ledger", help="the hash-chained record of every event")
    ledger_sub = ledger.add_subparsers(dest="ledger", required=True)
    verify = ledger_sub.add_parser("verify", help="walk the chain; name the first broken record")
    verify.set_defaults(run=_ledger_verify)
    export = ledger_sub.add_parser("export", help="print every record")
    export.add_argument("--json", action="store_true", help="print a JSON array")
    export.set_defaults(run=_ledger_export)

    admin = sub.add_parser("admin", help="subscriber administration")
    admin_sub = admin.add_subparsers(dest="admin", required=True)
    listing = admin_sub.add_parser("subscribers", help="list subscribers")
    listing.set_defaults(run=_admin_subscribers)
    add_admin = admin_sub.add_parser("add-admin", help="make a subscriber an admin")
    add_admin.add_argument("platform")
    add_admin.add_argument("user_id")
    add_admin.set_defaults(run=_admin_add)
    grant = admin_sub.add_parser("grant-trial", help="start or extend a free trial")
    grant.add_argument("platform")
    grant.add_argument("user_id")
    grant.add_argument("--days", type=int, default=7, help="trial length in days")
    grant.set_defaults(run=_admin_grant)

    run = sub.add_parser("run", help="the production service (reads .env)")
    run.add_argument("--events", help="event-day CSV (date,label); default: data/events.csv")
    run.set_defaults(run=_run)

    discord_cmd = sub.add_parser("discord", help="the Discord application")
    discord_sub = discord_cmd.add_subparsers(dest="discord", required=True)
    discord_sync = discord_sub.add_parser(
        "sync", help="register the slash commands (the configured guilds, else globally)"
    )
    discord_sync.add_argument(
        "--guild",
        type=int,
        action="append",
        help="guild id (repeatable); default: DISCORD__GUILD_ID(S)",
    )
    discord_sync.set_defaults(run=_discord_sync)

    health = sub.add_parser("health", help="exit 0 when Redis answers")
    health.set_defaults(run=_health)

    live_check = sub.add_parser(
        "live-check", help="ask Cboe's delayed quotes for what the live feed polls, once"
    )
    live_check.add_argument(
        "--asof", help="judge the answers' ages as of this ISO time (New York if naive; now)"
    )
    live_check.set_defaults(run=_live_check)
    replay = sub.add_parser("replay", help="a real day through the condor and the hedge engine")
    replay.add_argument("--date", required=True, help="trading day, YYYY-MM-DD")
    replay.add_argument("--track", default=Track.ZERO_DTE.value, choices=[Track.ZERO_DTE.value])
    replay.add_argument("--risk", default=Risk.BALANCED.value, choices=[r.value for r in Risk])
    replay.add_argument("--contracts", type=int, default=10, help="condor contracts to size for")
    replay.add_argument("--events", help="event-day CSV (date,label); default: data/events.csv")
    replay.add_argument(
        "--respect-event-days",
        action="store_true",
        help="stop at the no-trade card on an event day instead of replaying the condor",
    )
    replay.add_argument("--json", action="store_true", help="print one JSON array of events")
    replay.set_defaults(run=_replay)

    backtest = sub.add_parser("backtest", help="the rules and the ALVH hedge over history")
    backtest.add_argument("--track", required=True, choices=[t.value for t in Track])
    backtest.add_argument("--risk", default=Risk.BALANCED.value, choices=[r.value for r in Risk])
    backtest.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
    backtest.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD")
    backtest.add_argument("--hedge", default="both", choices=["alvh", "none", "both"])
    backtest.add_argument(
        "--defence",
        default=Defence.CHEAPEST.value,
        choices=[d.value for d in Defence],
        help="the answer recommended to a tested side: ALVH's cheapest (default), or a baseline "
        "that closes the tested wing whenever a close is priced",
    )
    backtest.add_argument("--contracts", type=int, default=10, help="condor contracts per trade")
    backtest.add_argument("--commission", type=float, default=0.65, help="$ per contract per leg")
    backtest.add_argument(
        "--slippage", type=float, default=0.25, help="fraction of bid/ask per leg, <= 1 DTE"
    )
    backtest.add_argument("--events", help="event-day CSV (date,label); default: data/events.csv")
    backtest.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="processes for the 0dte and 1dte tracks (same figures; 45dte runs in one)",
    )
    backtest.add_argument(
        "--path-seed",
        type=int,
        default=0,
        help="seed of the modelled intraday paths (0 in the published figures); another seed "
        "draws other paths through the same daily OHLC",
    )
    backtest.add_argument(
        "--model-term-structure",
        action="store_true",
        help="model VIX3M and VIX9D from VIX and VIX6M on the days before Cboe published them "
        "(from 2008; labelled on every card) instead of skipping those days",
    )
    backtest.add_argument("--json", action="store_true", help="print one JSON object")
    backtest.add_argument("--out", help="directory for the PNG charts")
    backtest.add_argument(
        "--report",
        metavar="FILE",
        help="also write the --json report to FILE (gzipped if it ends in .gz)",
    )
    backtest.add_argument(
        "--check",
        metavar="FILE",
        help="compare the run with a published report (docs/backtest/reports); exit 1 and name "
        "every figure that differs",
    )
    backtest.set_defaults(run=_backtest)

    snapshots = sub.add_parser(
        "backtest-snapshots",
        help="the backtest's selection on every real snapshot against the surface model",
    )
    snapshots.add_argument(
        "--track", action="append", choices=[t.value for t in Track], help="repeatable"
    )
    snapshots.add_argument(
        "--risk", action="append", choices=[r.value for r in Risk], help="repeatable"
    )
    snapshots.add_argument(
        "--chain", action="append", help="one snapshot file or directory (repeatable); default: all"
    )
    snapshots.add_argument("--events", help="event-day CSV (date,label); default: data/events.csv")
    snapshots.add_argument("--json", action="store_true", help="print one JSON object")
    snapshots.set_defaults(run=_backtest_snapshots)

    calendar = sub.add_parser("calendar", help="exchange calendars")
    which = calendar.add_subparsers(dest="calendar", required=True)
    vix = which.add_parser("vix", help="VIX monthly settlement dates")
    vix.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
    vix.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD")
    vix.add_argument("--json", action="store_true", help="print a JSON array of dates")
    vix.set_defaults(run=_calendar)
    return parser


def _demo(args: argparse.Namespace) -> int:
    day = _parse_day(args.date, "--date")
    if args.speed < 0:
        raise CliError(f"--speed must be 0 or more, got {args.speed}")
    days = replay_days(DATA_DIR)
    if day not in days:
        shown = ", ".join(f"{d}" for d in days)
        raise CliError(
            f"--date {day}: no recorded bars for that day; the shipped bars hold {shown}"
        )
    summary = asyncio.run(
        run_demo(
            day=day,
            speed=args.speed,
            data_dir=DATA_DIR,
            state_dir=Path(args.state_dir),
            out=sys.stdout,
            rules=CondorRules(),
            telegram=args.telegram,
        )
    )
    print("=" * 72)
    print(
        f"condorbot demo {summary.day}: {summary.runs} scheduled runs in "
        f"{summary.wall_seconds:.1f} s (event calendar off, so FOMC day trades)"
    )
    kinds = ", ".join(f"{n} {k}" for k, n in summary.events_by_kind.items())
    print(f"events: {summary.events} ({kinds})")
    print(
        f"deliveries: {summary.delivered} delivered ({summary.queued} signal/alert deliveries "
        f"queued, the rest admin notices); duplicates {summary.duplicates}; lost {summary.lost}; "
        f"dead letters {summary.dead_letters}"
    )
    if args.telegram:
        where = summary.telegram_charts[0].parent if summary.telegram_charts else args.state_dir
        print(
            f"telegram: {summary.telegram_sent} messages through the fake Bot API "
            f"({summary.telegram_rejected} rejected), {len(summary.telegram_charts)} charts "
            f"in {where}"
        )
    state = "verified" if summary.ledger_ok else "BROKEN"
    print(f"ledger: {summary.ledger_records} records, chain {state}, head {summary.ledger_head}")
    sound = summary.ledger_ok and summary.lost == 0 and summary.duplicates == 0
    return 0 if sound and summary.telegram_rejected == 0 else 1


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        raise CliError(str(error)) from None


async def _with_redis(work: Callable[[Redis], Awaitable[int]]) -> int:
    settings = _settings()
    url = settings.redis_url.get_secret_value() if settings.redis_url else None
    async with connect(url, settings.state_dir) as redis:
        return await work(redis)


def _ledger_verify(args: argparse.Namespace) -> int:
    async def work(redis: Redis) -> int:
        check = await RedisLedger(redis).verify()
        if check.ok:
            print(f"ledger ok: {check.records} records, head {check.head}")
            return 0
        print(f"ledger BROKEN at record {check.broken_seq}: {check.problem}")
        return 1

    return asyncio.run(_with_redis(work))


def _ledger_export(args: argparse.Namespace) -> int:
    async def work(redis: Redis) -> int:
        rows = export_records(await RedisLedger(redis).records())
        if args.json:
            print(json.dumps(rows, indent=1))
        else:
            for row in rows:
                print(f"{row['seq']:>6} {row['at']} {row['kind']:<10} {row['event_id']}")
        return 0

    return asyncio.run(_with_redis(work))


def _admin_subscribers(args: argparse.Namespace) -> int:
    async def work(redis: Redis) -> int:
        for sub in await RedisSubscriberStore(redis).all():
            trial = f" trial ends {sub.trial_end:%Y-%m-%d}" if sub.trial_end else ""
            admin = " admin" if sub.admin else ""
            print(f"{sub.key} {sub.status}{trial}{admin} tracks={','.join(sub.tracks)}")
        return 0

    return asyncio.run(_with_redis(work))


def _admin_add(args: argparse.Namespace) -> int:
    async def work(redis: Redis) -> int:
        store = RedisSubscriberStore(redis)
        current = await store.get(args.platform, args.user_id)
        base = current or Subscriber(platform=args.platform, user_id=args.user_id)
        await store.put(replace(base, admin=True))
        print(f"{base.key} is an admin")
        return 0

    return asyncio.run(_with_redis(work))


def _admin_grant(args: argparse.Namespace) -> int:
    if args.days < 1:
        raise CliError(f"--days must be at least 1, got {args.days}")

    async def work(redis: Redis) -> int:
        store = RedisSubscriberStore(redis)
        now = datetime.now(NEW_YORK)
        current = await store.get(args.platform, args.user_id)
        base = current or Subscriber(platform=args.platform, user_id=args.user_id)
        end = now + timedelta(days=args.days)
        await store.put(
            replace(base, status=SubscriberStatus.TRIAL, trial_start=now, trial_end=end)
        )
        print(f"{base.key}: trial until {end:%Y-%m-%d %H:%M} ET")
        return 0

    return asyncio.run(_with_redis(work))


def _run(args: argparse.Namespace) -> int:
    settings = _settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        asyncio.run(run_service(settings, _rules(args.events)))
    except ServiceConfigError as error:
        raise CliError(str(error)) from None
    return 0


def _discord_sync(args: argparse.Namespace) -> int:
    import discord  # keeps discord.py off the other commands

    from bot.commands import Commands
    from bot.frontends.discord.bot import BotDeps, CondorBot, sync_app_commands
    from bot.service_main import SystemClock
    from bot.storage.redis_store import RedisOutbox

    settings = _settings()
    if settings.discord.token is None:
        raise CliError("DISCORD__TOKEN is not set: no Discord application to sync")
    token = settings.discord.token.get_secret_value()
    guilds = tuple(args.guild or ()) or settings.discord.all_guild_ids

    async def work(redis: Redis) -> int:
        clock = SystemClock()
        commands = Commands(
            subscribers=RedisSubscriberStore(redis),
            ledger=RedisLedger(redis),
            outbox=RedisOutbox(redis, clock=clock),
            trial_days=settings.trial_days,
        )
        bot = CondorBot(BotDeps(commands=commands, clock=clock, settings=settings.discord))
        synced = await sync_app_commands(bot, token, guilds)
        for guild, count in synced.items():
            where = f"guild {guild}" if guild else "global (shown within the hour)"
            print(f"synced {count} commands: {where}")
        return 0

    try:
        return asyncio.run(_with_redis(work))
    except discord.LoginFailure:
        raise CliError("DISCORD__TOKEN was refused by Discord (401)") from None
    except discord.HTTPException as error:
        raise CliError(
            f"Discord refused the sync: {error.status} code {error.code}: {error.text}"
        ) from None


def _health(args: argparse.Namespace) -> int:
    async def work(redis: Redis) -> int:
        return 0 if await redis.ping() else 1

    return asyncio.run(_with_redis(work))


def _live_check(args: argparse.Namespace) -> int:
    market = _settings().market_data
    asof = _parse_asof(args.asof) if args.asof else datetime.now(UTC)
    if not isinstance(asof, datetime):
        raise CliError(f"--asof: live-check needs a time, not only a date, got {args.asof!r}")

    async def work() -> list[CheckLine]:
        async with cboe_quotes(market) as source:
            return await check_source(source, asof)

    lines = asyncio.run(work())
    print(f"{market.cboe_url} as of {asof.astimezone(NEW_YORK):%Y-%m-%d %H:%M:%S} ET:")
    for line in lines:
        print(f"  {'ok  ' if line.ok else 'FAIL'} {line.text}")
    return 0 if all(line.ok for line in lines) else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `condorbot` command; return the process exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except (CliError, DataFileError, EventCalendarError, ReplayError) as error:
        print(f"condorbot: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # `condorbot ... | head` closed the pipe: not an error, and no traceback.
        sys.stderr.close()
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main())
