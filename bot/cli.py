"""The `condorbot` command: the composition root for the command line.

Subcommands:
    signal        the condor card for one track and risk level on a chain snapshot
    chain-greeks  IV and greeks recomputed for every row of a chain snapshot
    demo          every track x risk card on the shipped snapshot
    replay        a real trading day through the condor selector and the ALVH hedge engine
    calendar vix  VIX monthly settlement dates
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from bot.adapters.event_calendar import EventCalendarError, load_event_days
from bot.adapters.market_data import load_chain
from bot.adapters.market_data.common import DataFileError
from bot.render.calendar_json import vix_settlements_json
from bot.render.chain_json import chain_greeks_rows
from bot.render.json_card import event_to_json, event_to_json_rows
from bot.render.text import render_text
from bot.replay import ReplayError, replay_day
from core.calendar import NEW_YORK
from core.chain import OptionChain
from core.condor import CondorProfile, select_condor
from core.rules import CondorRules, HedgeRules
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


def _demo(args: argparse.Namespace) -> int:
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

    demo = sub.add_parser("demo", help="all nine track x risk cards on the shipped snapshot")
    demo.add_argument("--chain", default=DEMO_CHAIN, help="chain to replay")
    demo.add_argument("--events", help="event-day CSV (date,label); default: data/events.csv")
    demo.set_defaults(run=_demo)

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

    calendar = sub.add_parser("calendar", help="exchange calendars")
    which = calendar.add_subparsers(dest="calendar", required=True)
    vix = which.add_parser("vix", help="VIX monthly settlement dates")
    vix.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
    vix.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD")
    vix.add_argument("--json", action="store_true", help="print a JSON array of dates")
    vix.set_defaults(run=_calendar)
    return parser


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
