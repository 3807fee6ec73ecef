"""The published backtest reports: written, read back, and checked against a new run.

The README's figures come from `condorbot backtest` runs whose whole `--json` report (every
figure and every trade) is committed under `docs/backtest/reports/`. Anyone can re-run a
configuration with ``--check FILE`` (`make reproduce` runs them all): the new report is compared
figure by figure with the published one, and every difference is named with both values. The
README's backtest tables are the same figures as the reports, row for row (`headline_rows`,
`risk_row`, `draws_row`, `defence_draws_row`, `defence_cells`; tests hold them together).
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Two numbers agree when within this much of each other: the reports round to 4 decimals
#: (money in dollars, ratios as fractions), so this absorbs a last-digit rounding flip from
#: floating-point differences between machines (one unit of the fourth decimal, whose binary
#: difference can be a few ulps over 1e-4), and nothing a rule or model change would move.
ABS_TOLERANCE = 1.5e-4
#: ... or within this fraction of the published value (large dollar totals).
REL_TOLERANCE = 1e-9


class PublishedReportError(Exception):
    """A published report that cannot be read, with the file and the reason."""


@dataclass(frozen=True, slots=True)
class Difference:
    """One figure that differs: where in the report, as published, and as run now."""

    where: str
    published: Any
    now: Any

    def __str__(self) -> str:
        return f"{self.where}: published {_shown(self.published)}, now {_shown(self.now)}"


def write_report(report: Mapping[str, Any], path: Path) -> Path:
    """Write a report's JSON to `path`, gzipped when it ends in ``.gz``.

    The bytes depend only on the report (the gzip header carries no time or name), so
    re-publishing an unchanged report leaves the file as it was.
    """
    text = (json.dumps(report, indent=1) + "\n").encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        with (
            path.open("wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as packed,
        ):
            packed.write(text)
    else:
        path.write_bytes(text)
    return path


def load_report(path: Path) -> dict[str, Any]:
    """Read a report written by `write_report` (``.json`` or ``.json.gz``).

    Raises:
        PublishedReportError: If the file is missing, not gzip when named so, not JSON, or not
            a report (an object with the run's track, span and figures).
    """
    try:
        data = path.read_bytes()
        text = gzip.decompress(data) if path.suffix == ".gz" else data
        report = json.loads(text)
    except FileNotFoundError:
        raise PublishedReportError(f"{path}: no such file") from None
    except (OSError, EOFError, ValueError) as error:
        raise PublishedReportError(f"{path}: not a readable report ({error})") from None
    if not isinstance(report, dict):
        raise PublishedReportError(f"{path}: expected a JSON object, found {type(report).__name__}")
    missing = [key for key in ("track", "risk", "from", "to", "overall") if key not in report]
    if missing:
        raise PublishedReportError(f"{path}: not a backtest report, no {', '.join(missing)}")
    return report


def differences(published: Any, now: Any, where: str = "") -> Iterator[Difference]:
    """Every place two reports differ, in the published report's order.

    Lists of records with a "day" each (trades, skipped and no-trade days) are matched by day
    (``trade_list[2025-01-02].held_usd``), other lists by position. Numbers agree within
    `ABS_TOLERANCE` or `REL_TOLERANCE`; everything else (text, counts, booleans, nulls, the keys
    of an object, the length of a list) must be equal. Integers are compared exactly.
    """
    if isinstance(published, dict) and isinstance(now, dict):
        for key, value in published.items():
            inner = _join(where, key)
            if key not in now:
                yield Difference(inner, value, "(missing)")
            else:
                yield from differences(value, now[key], inner)
        for key in now:
            if key not in published:
                yield Difference(_join(where, key), "(missing)", now[key])
        return
    if isinstance(published, list) and isinstance(now, list):
        by_day = _by_day(published), _by_day(now)
        if by_day[0] is not None and by_day[1] is not None:
            # Trades, skipped and no-trade days: matched by their day, so a trade gained or
            # lost is named once and the trades after it are not all reported as moved.
            yield from differences(by_day[0], by_day[1], where)
            return
        if len(published) != len(now):
            yield Difference(f"{where} (entries)", len(published), len(now))
        for i, (a, b) in enumerate(zip(published, now, strict=False)):
            yield from differences(a, b, f"{where}[{i}]")
        return
    if _agree(published, now):
        return
    yield Difference(where or "(report)", published, now)


def _join(where: str, key: object) -> str:
    # "overall.held", or "trade_list[2025-01-02]" for a record matched by its day.
    text = str(key)
    return text if not where else f"{where}{text}" if text.startswith("[") else f"{where}.{text}"


def _by_day(entries: list[Any]) -> dict[str, Any] | None:
    # A list of records each with its own "day" (a report's trades and days), keyed by day;
    # None for any other list.
    days = [e.get("day") if isinstance(e, dict) else None for e in entries]
    if not entries or not all(isinstance(d, str) for d in days) or len(set(days)) < len(days):
        return None
    return {f"[{day}]": e for day, e in zip(days, entries, strict=True)}


def _agree(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=REL_TOLERANCE, abs_tol=ABS_TOLERANCE)
    return bool(type(a) is type(b) and a == b)


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 120 else text[:117] + "..."


def headline_rows(report: Mapping[str, Any]) -> list[str]:
    """The README's headline-table rows of a report: one per series, as the table prints them.

    Columns: track, span, series, trades, win rate, average credit, expectancy with its 95 %
    interval, profit factor, total, max drawdown, worst day, 5 % CVaR, Sharpe, Sortino.
    """
    span = f"{report['from']} … {report['to']}"
    rows = []
    for series, s in report["overall"].items():
        cells = [
            report["track"],
            span,
            series,
            str(s["trades"]),
            "n/a" if s["win_rate"] is None else f"{s['win_rate']:.0%}",
            _money(s["avg_credit_usd"]),
            _expectancy(s),
            _ratio(s["profit_factor"]),
            _money(s["total_usd"]),
            _money(s["max_drawdown_usd"]),
            _money(s["worst_day_usd"]),
            _money(s["cvar5_usd"]),
            _ratio(s["sharpe"]),
            _ratio(s["sortino"]),
        ]
        rows.append(_row(cells))
    return rows


def risk_row(report: Mapping[str, Any]) -> str:
    """The README's row of a report in the every-risk-level table (held, and ALVH in full).

    Columns: track, risk, trades, average credit, then for held and for ALVH (the hedged
    series): total, expectancy with its 95 % interval and, for both, the 5 % CVaR.
    """
    held, alvh = report["overall"]["held"], report["overall"]["hedged"]
    cells = [
        report["track"],
        report["risk"],
        str(held["trades"]),
        _money(held["avg_credit_usd"]),
        _money(held["total_usd"]),
        _expectancy(held),
        _money(held["cvar5_usd"]),
        _money(alvh["total_usd"]),
        _expectancy(alvh),
        _money(alvh["cvar5_usd"]),
    ]
    return _row(cells)


def draws_row(draws: Sequence[Mapping[str, Any]]) -> str:
    """The README's row of one track over several path draws (`--path-seed`): the range of each.

    Columns: track, draws, held total, ALVH total (the hedged series), held 5 % CVaR, ALVH 5 %
    CVaR (each "lowest to highest"), and the range of the CVaR cut, in whole per cent.
    """
    track = _track_of(draws, "draws must be of one track")
    held = [d["overall"]["held"] for d in draws]
    alvh = [d["overall"]["hedged"] for d in draws]
    cuts = [100 * (1 - a["cvar5_usd"] / h["cvar5_usd"]) for h, a in zip(held, alvh, strict=True)]
    cells = [
        track,
        ", ".join(str(d["path_seed"]) for d in draws),
        _span([s["total_usd"] for s in held]),
        _span([s["total_usd"] for s in alvh]),
        _span([s["cvar5_usd"] for s in held]),
        _span([s["cvar5_usd"] for s in alvh]),
        f"{min(cuts):.0f} to {max(cuts):.0f} %",
    ]
    return _row(cells)


def defence_draws_row(alvh: Sequence[Mapping[str, Any]], close: Sequence[Mapping[str, Any]]) -> str:
    """The README's row comparing ALVH with closing a tested wing over the same path draws.

    `alvh` and `close` are one track's reports draw by draw (the default defence, and
    ``--defence close``). Columns: track, draws, each defence's 5 % CVaR (lowest to highest),
    and in how many draws the close had the better tail and the better total (naming the
    draws where it did not).
    """
    same = "alvh and close must be the same track's reports over the same draws"
    seeds = [d["path_seed"] for d in alvh]
    track = _track_of([*alvh, *close], same)
    if [d["path_seed"] for d in close] != seeds:
        raise ValueError(same)
    if any(d["defence"] != "close" for d in close) or any(d["defence"] == "close" for d in alvh):
        raise ValueError("close must be --defence close runs, alvh the default defence's")
    ours = [d["overall"]["hedged"] for d in alvh]
    theirs = [d["overall"]["hedged"] for d in close]

    def better(figure: str) -> str:
        worse = [
            str(seed)
            for seed, a, c in zip(seeds, ours, theirs, strict=True)
            if c[figure] <= a[figure]
        ]
        told = f"{len(seeds) - len(worse)} of {len(seeds)}"
        return told + (
            f" (not draw{'s' if len(worse) > 1 else ''} {', '.join(worse)})" if worse else ""
        )

    cells = [
        track,
        ", ".join(str(seed) for seed in seeds),
        _span([s["cvar5_usd"] for s in ours]),
        _span([s["cvar5_usd"] for s in theirs]),
        better("cvar5_usd"),
        better("total_usd"),
    ]
    return _row(cells)


def defence_cells(report: Mapping[str, Any], series: str = "hedged") -> str:
    """The README's cell for one series in the defence comparison: total / CVaR / max DD / Sharpe.

    Dollars whole, Sharpe to two places, minus signs typeset (U+2212) as the README prints them.
    """
    s = report["overall"][series]
    cells = [
        _money(s["total_usd"]),
        _money(s["cvar5_usd"]),
        _money(s["max_drawdown_usd"]),
        _ratio(s["sharpe"]),
    ]
    return " / ".join(cells).replace("-", "\u2212")


def _track_of(reports: Sequence[Mapping[str, Any]], refusal: str) -> str:
    # The one track every report is of; ValueError(refusal, and the tracks found) otherwise.
    tracks = sorted({str(r["track"]) for r in reports})
    if len(tracks) != 1:
        raise ValueError(f"{refusal}, were of {tracks}")
    return tracks[0]


def _row(cells: Sequence[str]) -> str:
    # A Markdown table row.
    return "| " + " | ".join(cells) + " |"


def _span(values: list[float]) -> str:
    # "-4,634 to -4,363": a figure's lowest to highest over several runs.
    return f"{_money(min(values))} to {_money(max(values))}"


def _expectancy(stats: Mapping[str, Any]) -> str:
    # "-35 [-181, 97]": the expectancy a trade and its 95 % bootstrap interval.
    low, high = stats["expectancy_ci95_usd"]
    return f"{_money(stats['expectancy_usd'])} [{_money(low)}, {_money(high)}]"


def _money(value: float | None) -> str:
    # As `condorbot backtest` prints dollars (`bot.backtest._fmt`); None is a figure the
    # report could not compute (e.g. a profit factor without a losing trade).
    return "n/a" if value is None else f"{value:,.0f}"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


__all__ = [
    "ABS_TOLERANCE",
    "REL_TOLERANCE",
    "Difference",
    "PublishedReportError",
    "defence_cells",
    "defence_draws_row",
    "differences",
    "draws_row",
    "headline_rows",
    "load_report",
    "risk_row",
    "write_report",
]
