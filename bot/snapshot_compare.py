"""The backtest's condor selection on every real chain snapshot, against the surface model.

The backtest (`bot.backtest`) selects its condors on chains modelled by `core.surface.model_chain`
from the day's VIX, VIX9D, VIX3M and SKEW. Where a real snapshot exists (`data/chains/`: each
Cboe file or directory, each day of the Yahoo dump), this module selects the card of every track
and risk level twice at the snapshot's own quote time:

* on the **real** chain, exactly as `condorbot signal --chain FILE --track T --risk R` does (the
  same loader, rules, event calendar and `asof`), and
* on a **modelled** chain of the same moment, built for the expiry the real selection chose, with
  the real chain's printed spot, its parity forward and its rate (the dividend yield is solved so
  the modelled forward equals the real one): only the volatility surface differs. The index
  levels are `VolIndices.levels_at(quote time)`, as in the backtest and in
  `bench/surface_calibration.py`.

The backtest itself uses a 4.5 % rate and a 1.6 % dividend yield (`bot.replay.MODEL_RATE`,
`MODEL_DIVIDEND_YIELD`); each row reports how far that carry would have put the forward from the
real one, which this comparison deliberately leaves out.

A snapshot whose chain lists no expiry the track can trade gives a "no comparable expiry" row
with the real chain's card, never silence. `bench/surface_calibration.py` measures the model's
IV error over all out-of-the-money strikes; this module measures what the backtest consumes: the
selected card, and the IV error at its strikes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np

from bot.adapters.market_data import list_quote_dates, load_chain
from bot.adapters.market_data.index_history import VolIndices, load_vol_indices
from bot.replay import MODEL_DIVIDEND_YIELD, MODEL_RATE
from core.calendar import NEW_YORK
from core.chain import OptionChain
from core.compare import (
    Agreement,
    CompareSummary,
    SelectionDiff,
    carry_dividend_yield,
    compare_selections,
    covers_condor,
    summarize,
)
from core.condor import CondorProfile, select_condor
from core.rules import CondorRules
from core.surface import IndexLevels, model_chain, model_iv
from core.types import CondorSignal, NoTradeCode, NoTradeDay, Right, Risk, Track

__all__ = [
    "ComparisonRow",
    "IvPoint",
    "SnapshotRef",
    "SnapshotReport",
    "compare_chain",
    "compare_snapshots",
    "find_snapshots",
    "report_json",
    "report_text",
    "snapshot_refs",
]

NO_COMPARABLE_EXPIRY = "no comparable expiry"


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotRef:
    """One real snapshot: a file or directory, and the day for a file of many days."""

    path: Path
    quote_date: date | None = None

    @property
    def label(self) -> str:
        """The file name, with the day for a file of many days."""
        return f"{self.path.name}@{self.quote_date}" if self.quote_date else self.path.name

    def load(self) -> OptionChain:
        """Load the chain as `condorbot signal --chain PATH [--asof DAY]` does."""
        return load_chain(self.path, quote_date=self.quote_date)


@dataclass(frozen=True, slots=True, kw_only=True)
class IvPoint:
    """Model and real IV at one selected strike (fractions; real is NaN if not quoted)."""

    right: Right
    strike: Decimal
    real_iv: float
    model_iv: float

    @property
    def error(self) -> float:
        """Model minus real IV."""
        return self.model_iv - self.real_iv


@dataclass(frozen=True, slots=True, kw_only=True)
class ComparisonRow:
    """One snapshot, track and risk level: the real card, the modelled card and their diff.

    Attributes:
        snapshot: The snapshot's label (file name, @day for the Yahoo dump).
        quote_time: The snapshot's quote time; both cards are selected at it.
        spot: The real chain's printed index level, also the modelled chain's spot.
        levels: The VIX-family levels the model used (empty if none was built).
        real: The card `condorbot signal` prints for this file, track and risk.
        model: The card on the modelled chain; None when there is no comparable expiry.
        diff: Model minus real; None when there is no comparable expiry.
        root, expiry: The expiry both sides selected on (None: no comparable expiry).
        forward: The real chain's parity forward of that expiry (the modelled chain's too).
        backtest_forward_diff_points: The backtest's carry (rate 4.5 %, dividend 1.6 %) forward
            minus the real forward, index points: what this comparison leaves out.
        iv_points: Model and real IV at every strike either card selected.
        real_covers_condor: Whether the real file quotes far enough out for the rule's condor
            (`core.compare.covers_condor`: the short delta and a wing beyond it, both sides;
            False for files cut to a few strikes around the money); None without a comparable
            expiry.
        note: Why there is no comparison, when there is none.
    """

    snapshot: str
    quote_time: datetime
    spot: float
    levels: str
    real: CondorSignal | NoTradeDay
    model: CondorSignal | NoTradeDay | None
    diff: SelectionDiff | None
    root: str | None
    expiry: date | None
    forward: float | None
    backtest_forward_diff_points: float | None
    iv_points: tuple[IvPoint, ...]
    real_covers_condor: bool | None
    note: str | None

    @property
    def comparable(self) -> bool:
        """Whether both sides were selected on the same expiry."""
        return self.diff is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotReport:
    """Every comparison row, and summaries over the comparable ones.

    Attributes:
        rows: Every snapshot x track x risk.
        summary: Over every comparable row.
        summary_covered: Over the comparable rows whose real file quotes far enough out for
            the rule's condor (`ComparisonRow.real_covers_condor`).
    """

    rows: tuple[ComparisonRow, ...]
    summary: CompareSummary
    summary_covered: CompareSummary

    @property
    def not_comparable(self) -> int:
        """Rows without a comparable expiry."""
        return sum(1 for row in self.rows if not row.comparable)

    def model_only_by_real_reason(self) -> dict[str, int]:
        """Where only the model traded: how often each reason code stopped the real chain."""
        counts: dict[str, int] = {}
        for row in self.rows:
            if row.diff is None or row.diff.agreement is not Agreement.MODEL_ONLY:
                continue
            if isinstance(row.real, NoTradeDay):
                for code in sorted({str(reason.code) for reason in row.real.reasons}):
                    counts[code] = counts.get(code, 0) + 1
        return dict(sorted(counts.items()))


def snapshot_refs(path: Path) -> list[SnapshotRef]:
    """The snapshots one chain file or directory holds: one, or one per day of a dump."""
    if path.is_dir():
        return [SnapshotRef(path=path)]
    days = list_quote_dates(path)
    if len(days) > 1:
        return [SnapshotRef(path=path, quote_date=day) for day in days]
    return [SnapshotRef(path=path)]


def find_snapshots(chains_dir: Path) -> list[SnapshotRef]:
    """Every real snapshot under `chains_dir`: each file or directory, each day of a dump."""
    return [
        ref
        for path in sorted(chains_dir.iterdir())
        if not path.name.startswith(".")
        for ref in snapshot_refs(path)
    ]


def _real_iv(chain: OptionChain, root: str, expiry: date, right: Right, strike: Decimal) -> float:
    sl = chain.expiry_slice(root, expiry)
    hit = np.flatnonzero(sl.strikes == float(strike))
    if hit.size == 0:
        return math.nan
    values = sl.call_iv if right is Right.CALL else sl.put_iv
    return float(values[hit[0]])


def _iv_points(
    chain: OptionChain,
    cards: Iterable[CondorSignal | NoTradeDay | None],
    root: str,
    expiry: date,
    levels: IndexLevels,
) -> tuple[IvPoint, ...]:
    terms = chain.terms_for(root, expiry)
    wanted = sorted(
        {
            (leg.right, leg.strike)
            for card in cards
            if isinstance(card, CondorSignal)
            for leg in card.legs
        }
    )
    if not wanted:
        return ()
    modelled = model_iv(
        [float(strike) for _, strike in wanted],
        terms.forward,
        terms.t_years,
        levels,
        quote_time=chain.quote_time,
    )
    return tuple(
        IvPoint(
            right=right,
            strike=strike,
            real_iv=_real_iv(chain, root, expiry, right, strike),
            model_iv=float(iv),
        )
        for (right, strike), iv in zip(wanted, modelled, strict=True)
    )


def _no_comparison(
    label: str, chain: OptionChain, real: CondorSignal | NoTradeDay, note: str
) -> ComparisonRow:
    return ComparisonRow(
        snapshot=label,
        quote_time=chain.quote_time,
        spot=chain.spot,
        levels="",
        real=real,
        model=None,
        diff=None,
        root=None,
        expiry=None,
        forward=None,
        backtest_forward_diff_points=None,
        iv_points=(),
        real_covers_condor=None,
        note=note,
    )


def _chosen(
    chain: OptionChain, profile: CondorProfile, real: CondorSignal | NoTradeDay
) -> tuple[str, date] | None:
    """The (root, expiry) the real selection settled on, if it got that far."""
    if isinstance(real, CondorSignal):
        return real.root, real.expiry
    if real.expiry is None:
        return None
    listed = set(chain.expiries())
    roots = [r for r in profile.track_rules.roots if (r, real.expiry) in listed]
    return (roots[0], real.expiry) if roots else None


def compare_chain(
    label: str,
    chain: OptionChain,
    profile: CondorProfile,
    indices: VolIndices,
    *,
    model_cache: dict[tuple[str, date], OptionChain] | None = None,
) -> ComparisonRow:
    """Select one profile's card on the real chain and on its modelled twin, and compare.

    Args:
        label: The snapshot's name for the report.
        chain: The real chain.
        profile: Track, risk and rules (with the event calendar `condorbot signal` uses).
        indices: VIX, VIX9D, VIX3M and SKEW histories.
        model_cache: Modelled chains of this snapshot by (root, expiry), shared across risks.
    """
    asof = chain.quote_time.astimezone(NEW_YORK)
    real = select_condor(chain, profile, asof)
    chosen = _chosen(chain, profile, real)
    if chosen is None:
        codes = {reason.code for reason in real.reasons} if isinstance(real, NoTradeDay) else set()
        why = (
            f"the chain lists no expiry the {profile.track} track can trade at "
            f"{asof:%Y-%m-%d %H:%M} ET"
            if NoTradeCode.NO_EXPIRY in codes
            else "the real chain was refused before an expiry was chosen"
        )
        return _no_comparison(label, chain, real, f"{NO_COMPARABLE_EXPIRY}: {why}")
    root, expiry = chosen
    terms = chain.terms_for(root, expiry)
    try:
        levels = indices.levels_at(chain.quote_time)
    except KeyError as error:
        return _no_comparison(label, chain, real, f"no index levels: {error.args[0]}")
    cache = model_cache if model_cache is not None else {}
    modelled = cache.get(chosen)
    if modelled is None:
        modelled = model_chain(
            chain.spot,
            chain.quote_time,
            [chosen],
            levels,
            rate=terms.rate,
            dividend_yield=carry_dividend_yield(
                chain.spot, terms.forward, terms.t_years, terms.rate
            ),
        )
        cache[chosen] = modelled
    model = select_condor(modelled, profile, asof)
    backtest_forward = chain.spot * math.exp((MODEL_RATE - MODEL_DIVIDEND_YIELD) * terms.t_years)
    return ComparisonRow(
        snapshot=label,
        quote_time=chain.quote_time,
        spot=chain.spot,
        levels=levels.observed,
        real=real,
        model=model,
        diff=compare_selections(real, model),
        root=root,
        expiry=expiry,
        forward=terms.forward,
        backtest_forward_diff_points=backtest_forward - terms.forward,
        iv_points=_iv_points(chain, (real, model), root, expiry, levels),
        real_covers_condor=covers_condor(
            chain.expiry_slice(root, expiry),
            profile.risk_rules.short_delta,
            float(profile.risk_rules.wing_width_points),
        ),
        note=None,
    )


def _rows(
    refs: Sequence[SnapshotRef],
    rules: CondorRules,
    indices: VolIndices,
    tracks: Sequence[Track],
    risks: Sequence[Risk],
) -> Iterator[ComparisonRow]:
    for ref in refs:
        chain = ref.load()
        cache: dict[tuple[str, date], OptionChain] = {}
        for track in tracks:
            for risk in risks:
                profile = CondorProfile.of(rules, track, risk)
                yield compare_chain(ref.label, chain, profile, indices, model_cache=cache)


def compare_snapshots(
    data_dir: Path,
    rules: CondorRules,
    *,
    tracks: Sequence[Track] = tuple(Track),
    risks: Sequence[Risk] = tuple(Risk),
    snapshots: Sequence[SnapshotRef] | None = None,
) -> SnapshotReport:
    """Compare real and modelled selections on every snapshot in `data_dir/chains`.

    Args:
        data_dir: The data directory (`chains/` and `vix/` under it).
        rules: The condor rules with their event calendar.
        tracks: Tracks to compare.
        risks: Risk levels to compare.
        snapshots: Snapshots to compare; default every one in `data_dir/chains`.
    """
    refs = list(snapshots) if snapshots is not None else find_snapshots(data_dir / "chains")
    indices = load_vol_indices(data_dir / "vix")
    rows = tuple(_rows(refs, rules, indices, tracks, risks))
    covered = [row for row in rows if row.real_covers_condor]
    return SnapshotReport(rows=rows, summary=_summary(rows), summary_covered=_summary(covered))


def _summary(rows: Iterable[ComparisonRow]) -> CompareSummary:
    compared = [row for row in rows if row.diff is not None]
    diffs = [row.diff for row in compared if row.diff is not None]
    errors = [point.error for row in compared for point in row.iv_points]
    return summarize(diffs, errors)


# ---------------------------------------------------------------------------------------------
# Output


def _num(value: Decimal | float | None, digits: int = 2) -> float | None:
    if value is None:
        return None
    number = float(value)
    return round(number, digits) if math.isfinite(number) else None


def _side(card: CondorSignal | NoTradeDay | None) -> dict[str, object] | None:
    if card is None:
        return None
    if isinstance(card, NoTradeDay):
        return {
            "kind": "no_trade",
            "signal_id": card.signal_id,
            "expiry": card.expiry.isoformat() if card.expiry else None,
            "reason_codes": [str(reason.code) for reason in card.reasons],
            "reasons": [reason.detail for reason in card.reasons],
            "modelled": list(card.data.modelled),
            "data_source": card.data.source,
        }
    return {
        "kind": "condor",
        "signal_id": card.signal_id,
        "expiry": card.expiry.isoformat(),
        "strikes": [_num(leg.strike) for leg in card.legs],
        "credit_mid": _num(card.credit_mid),
        "pop": _num(card.pop, 4),
        "expected_move_points": _num(card.expected_move_points),
        "short_iv": [_num(card.short_put.iv, 4), _num(card.short_call.iv, 4)],
        "modelled": list(card.data.modelled),
        "data_source": card.data.source,
    }


def _diff(diff: SelectionDiff | None) -> dict[str, object] | None:
    if diff is None:
        return None
    return {
        "agreement": str(diff.agreement),
        "strike_diff_points": (
            [_num(d) for d in diff.strike_diff_points] if diff.strike_diff_points else None
        ),
        "short_strike_distance_points": _num(diff.short_strike_distance_points),
        "credit_diff_points": _num(diff.credit_diff_points),
        "credit_diff_pct": _num(diff.credit_diff_pct, 1),
        "pop_diff": _num(diff.pop_diff, 4),
        "expected_move_diff_points": _num(diff.expected_move_diff_points),
        "same_reasons": diff.same_reasons,
    }


def _row_json(row: ComparisonRow) -> dict[str, object]:
    return {
        "snapshot": row.snapshot,
        "quote_time": row.quote_time.astimezone(NEW_YORK).isoformat(),
        "track": str(row.real.track),
        "risk": str(row.real.risk),
        "spot": _num(row.spot),
        "root": row.root,
        "expiry": row.expiry.isoformat() if row.expiry else None,
        "forward": _num(row.forward),
        "backtest_forward_diff_points": _num(row.backtest_forward_diff_points),
        "levels": row.levels,
        "real": _side(row.real),
        "model": _side(row.model),
        "diff": _diff(row.diff),
        "real_covers_condor": row.real_covers_condor,
        "iv_at_strikes": [
            {
                "right": str(p.right),
                "strike": _num(p.strike),
                "real_iv": _num(p.real_iv, 4),
                "model_iv": _num(p.model_iv, 4),
                "error": _num(p.error, 4),
            }
            for p in row.iv_points
        ],
        "note": row.note,
    }


def _summary_json(s: CompareSummary) -> dict[str, object]:
    return {
        "comparisons": s.comparisons,
        "both_traded": s.both,
        "model_only": s.model_only,
        "real_only": s.real_only,
        "neither": s.neither,
        "neither_same_reasons": s.neither_same_reasons,
        "credit_abs_diff_pct_median": _num(s.credit_abs_pct_median, 1),
        "credit_abs_diff_pct_p90": _num(s.credit_abs_pct_p90, 1),
        "credit_diff_pct_median": _num(s.credit_pct_median, 1),
        "model_credit_higher": s.model_credit_higher,
        "short_strike_distance_median_points": _num(s.short_strike_distance_median, 1),
        "pop_diff_median": _num(s.pop_diff_median, 4),
        "expected_move_diff_median_points": _num(s.expected_move_diff_median, 2),
        "iv_error_abs_median": _num(s.iv_error_median, 4),
        "iv_error_abs_p90": _num(s.iv_error_p90, 4),
        "iv_error_median": _num(s.iv_error_signed_median, 4),
        "iv_points": s.iv_points,
        "model_only_share": _num(s.model_only_share, 3),
        "real_only_share": _num(s.real_only_share, 3),
    }


def report_json(report: SnapshotReport) -> dict[str, object]:
    """The whole report as one JSON-ready object: `summary` and `rows`."""
    return {
        "method": (
            "each card selected at the snapshot's quote time on the real chain (as `condorbot "
            "signal`) and on core.surface.model_chain with the real spot, parity forward and "
            "rate; differences are model minus real"
        ),
        "rows_total": len(report.rows),
        "no_comparable_expiry": report.not_comparable,
        "summary": _summary_json(report.summary),
        "summary_real_covers_condor": _summary_json(report.summary_covered),
        "model_only_by_real_reason": report.model_only_by_real_reason(),
        "rows": [_row_json(row) for row in report.rows],
    }


def dumps(obj: object) -> str:
    """JSON text without NaN (NaN figures are already None)."""
    return json.dumps(obj, indent=1, allow_nan=False)


def _strikes(card: CondorSignal | NoTradeDay | None) -> str:
    if isinstance(card, CondorSignal):
        return "/".join(f"{float(leg.strike):g}" for leg in card.legs)
    if isinstance(card, NoTradeDay):
        return "no trade: " + ",".join(sorted({str(r.code) for r in card.reasons}))
    return "-"


def _credit(card: CondorSignal | NoTradeDay | None) -> str:
    return f"{card.credit_mid:.2f}" if isinstance(card, CondorSignal) else ""


def _short_ivs(card: CondorSignal | NoTradeDay | None) -> str:
    if isinstance(card, CondorSignal):
        return f"{card.short_put.iv:.3f}/{card.short_call.iv:.3f}"
    return ""


def _pct(value: float | None, fmt: str = "+.1f") -> str:
    return "" if value is None or not math.isfinite(value) else format(value, fmt)


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def table_lines(report: SnapshotReport) -> list[str]:
    """One line per comparison row (markdown-friendly, pipe separated)."""
    head = (
        "| snapshot | quote (ET) | track | risk | expiry | real strikes | real credit | "
        "model strikes | model credit | Δcredit % | Δshort pts | short IV real | short IV model "
        "| real file covers | outcome |"
    )
    lines = [head, "|" + "---|" * 15]
    for row in report.rows:
        diff = row.diff
        outcome = str(diff.agreement) if diff else NO_COMPARABLE_EXPIRY
        if diff and diff.agreement is Agreement.NEITHER:
            outcome += " (same reasons)" if diff.same_reasons else " (different reasons)"
        lines.append(
            f"| {row.snapshot} | {row.quote_time.astimezone(NEW_YORK):%Y-%m-%d %H:%M} "
            f"| {row.real.track} | {row.real.risk} "
            f"| {row.expiry or ''} | {_strikes(row.real)} | {_credit(row.real)} "
            f"| {_strikes(row.model)} | {_credit(row.model)} "
            f"| {_pct(diff.credit_diff_pct if diff else None)} "
            f"| {_num(diff.short_strike_distance_points) if diff and diff.short_strike_distance_points is not None else ''} "  # noqa: E501
            f"| {_short_ivs(row.real)} | {_short_ivs(row.model)} "
            f"| {_yes_no(row.real_covers_condor)} | {outcome} |"
        )
    return lines


def _summary_sentences(s: CompareSummary) -> list[str]:
    share = {
        "model": _pct(s.model_only_share * 100, ".0f"),
        "real": _pct(s.real_only_share * 100, ".0f"),
    }
    return [
        f"comparisons {s.comparisons}: both traded {s.both}, model only {s.model_only} "
        f"({share['model']}%), real only {s.real_only} ({share['real']}%), neither {s.neither} "
        f"({s.neither_same_reasons} for the same reasons)",
        f"|credit difference| in % of the real credit, where both traded: median "
        f"{_pct(s.credit_abs_pct_median, '.1f')}%, p90 {_pct(s.credit_abs_pct_p90, '.1f')}%; "
        f"signed median {_pct(s.credit_pct_median)}%; model credit higher in "
        f"{s.model_credit_higher} of {s.both}",
        f"median short-strike distance {_pct(s.short_strike_distance_median, '.1f')} points; "
        f"signed median chance-of-profit difference {_pct(s.pop_diff_median * 100, '+.1f')} "
        f"points; signed median expected-move difference "
        f"{_pct(s.expected_move_diff_median, '+.2f')} points",
        f"model IV - real IV at the selected strikes ({s.iv_points} points): |median| "
        f"{_pct(s.iv_error_median, '.4f')}, |p90| {_pct(s.iv_error_p90, '.4f')}, signed median "
        f"{_pct(s.iv_error_signed_median, '+.4f')}",
    ]


def summary_lines(report: SnapshotReport) -> list[str]:
    """The summary figures as sentences."""
    reasons = ", ".join(f"{code} {n}" for code, n in report.model_only_by_real_reason().items())
    return [
        f"rows: {len(report.rows)} (snapshot x track x risk); no comparable expiry: "
        f"{report.not_comparable}",
        "all comparable rows:",
        *(f"  {line}" for line in _summary_sentences(report.summary)),
        f"  model only, by the real chain's reason: {reasons or 'none'}",
        "rows whose real file quotes out to the rule's short delta and wing on both sides:",
        *(f"  {line}" for line in _summary_sentences(report.summary_covered)),
    ]


def report_text(report: SnapshotReport) -> str:
    """The table and the summary as text."""
    return "\n".join([*table_lines(report), "", *summary_lines(report)])
