"""The published backtest reports: written and read back, compared, and held to the README."""

from __future__ import annotations

import copy
import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.market_data.index_history import load_index_history
from bot.backtest import SPX_DAILY_FILE
from bot.cli import main
from bot.published import (
    ABS_TOLERANCE,
    Difference,
    PublishedReportError,
    defence_cells,
    defence_draws_row,
    differences,
    draws_row,
    headline_rows,
    load_report,
    risk_row,
    write_report,
)
from tests.conftest import ROOT
from tests.readme import dollars, readme_words

REPORTS = ROOT / "docs" / "backtest" / "reports"
#: The reports whose figures are the README's headline table.
HEADLINE = ("0dte", "1dte", "45dte")
#: A short run: three 0DTE days (one without an SPXW expiration), a trade on each other.
SHORT_RUN = ["backtest", "--track", "0dte", "--from", "2022-03-21", "--to", "2022-03-23"]


def _report() -> dict[str, Any]:
    stats = {
        "trades": 2,
        "win_rate": 0.5,
        "avg_credit_usd": 1218.4874,
        "expectancy_usd": -201.0816,
        "expectancy_ci95_usd": [-634.7364, 202.6093],
        "profit_factor": None,
        "total_usd": -47857.43,
        "max_drawdown_usd": 74021.98,
        "worst_day_usd": -9016.0,
        "cvar5_usd": -8924.3367,
        "sharpe": -0.9482,
        "sortino": -1.005,
    }
    return {
        "track": "0dte",
        "risk": "balanced",
        "from": "2025-01-01",
        "to": "2025-12-31",
        "overall": {"held": stats, "hedged": dict(stats, total_usd=-1.5)},
        "trade_list": [
            {"day": "2025-01-02", "held_usd": 1224.0, "exit": None, "modelled_chain": True},
            {"day": "2025-01-03", "held_usd": -612.5, "exit": "stop", "modelled_chain": True},
        ],
    }


def test_identical_reports_do_not_differ_and_rounding_noise_is_absorbed():
    published = _report()
    assert list(differences(published, copy.deepcopy(published))) == []
    now = copy.deepcopy(published)
    # Last-digit rounding flips of the fourth decimal (as binary, a few ulps over 1e-4).
    now["overall"]["held"]["cvar5_usd"] = -8924.3368
    now["overall"]["held"]["win_rate"] = 0.5001
    now["overall"]["held"]["total_usd"] *= 1 + 1e-12
    assert list(differences(published, now)) == []
    now["overall"]["held"]["cvar5_usd"] = -8924.3369  # two units: a real difference
    assert [d.where for d in differences(published, now)] == ["overall.held.cvar5_usd"]
    assert ABS_TOLERANCE < 2e-4


def test_every_difference_is_named_with_both_values():
    published = _report()
    now = copy.deepcopy(published)
    now["overall"]["held"]["total_usd"] = -47857.13  # 30 cents
    now["overall"]["held"]["trades"] = 3
    now["overall"]["hedged"]["profit_factor"] = 0.83  # None published (no losing trade)
    now["trade_list"][1]["exit"] = None
    now["trade_list"][0]["modelled_chain"] = 1  # a count is not a flag
    del now["overall"]["hedged"]["sortino"]
    now["by_year"] = {}
    found = list(differences(published, now))
    assert [str(d) for d in found] == [
        "overall.held.trades: published 2, now 3",
        "overall.held.total_usd: published -47857.43, now -47857.13",
        "overall.hedged.profit_factor: published null, now 0.83",
        "overall.hedged.sortino: published -1.005, now (missing)",
        "trade_list[2025-01-02].modelled_chain: published true, now 1",
        "trade_list[2025-01-03].exit: published stop, now null",
        "by_year: published (missing), now {}",
    ]


def test_a_trade_gained_or_lost_is_named_once_by_its_day():
    published = _report()
    now = copy.deepcopy(published)
    lost = now["trade_list"].pop(0)  # the first: the one after it has not moved
    assert list(differences(published, now)) == [
        Difference("trade_list[2025-01-02]", lost, "(missing)")
    ]
    gained = dict(lost, day="2024-12-31")
    now["trade_list"].insert(0, gained)
    assert [d.where for d in differences(published, now)] == [
        "trade_list[2025-01-02]",
        "trade_list[2024-12-31]",
    ]
    # No trades now: the count says so.
    assert list(differences(published, dict(published, trade_list=[]))) == [
        Difference("trade_list (entries)", 2, 0)
    ]


def test_a_long_value_is_cut_where_it_is_shown():
    shown = str(Difference("path_model", "x" * 300, "y"))
    assert shown.startswith("path_model: published xxx")
    assert len(shown) < 160


def test_a_report_is_written_gzipped_byte_for_byte_the_same_and_read_back(tmp_path: Path):
    path = tmp_path / "reports" / "r.json.gz"
    write_report(_report(), path)
    first = path.read_bytes()
    write_report(_report(), path)
    assert path.read_bytes() == first  # no time or name in the gzip header
    assert json.loads(gzip.decompress(first)) == _report()
    assert load_report(path) == _report()
    plain = write_report(_report(), tmp_path / "r.json")
    assert load_report(plain) == _report()


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("gone.json.gz", None, "no such file"),
        ("plain.json.gz", b'{"track": "0dte"}', "not a readable report"),
        ("broken.json", b'{"track": ', "not a readable report"),
        ("list.json", b"[1, 2]", "expected a JSON object, found list"),
        ("other.json", b'{"track": "0dte", "risk": "balanced"}', "not a backtest report, no from"),
    ],
)
def test_a_bad_published_report_names_the_file_and_why(
    tmp_path: Path, name: str, content: bytes | None, reason: str
):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(PublishedReportError) as caught:
        load_report(path)
    assert str(caught.value).startswith(f"{path}: {reason}")


def test_cli_check_reproduces_a_report_and_names_what_differs(tmp_path: Path, capsys):
    path = tmp_path / "short.json.gz"
    assert main([*SHORT_RUN, "--report", str(path)]) == 0
    capsys.readouterr()
    assert main([*SHORT_RUN, "--check", str(path)]) == 0
    published = load_report(path)
    trades = len(published["trade_list"])
    assert trades == 2
    assert f"check: reproduces {path}: every figure and all 2 trades" in capsys.readouterr().out
    # A figure and a trade edited in the published file: both are named, and the run fails.
    held = published["overall"]["held"]["total_usd"]
    published["overall"]["held"]["total_usd"] = held + 100
    published["trade_list"][0]["hedged_usd"] += 1
    write_report(published, path)
    assert main([*SHORT_RUN, "--json", "--check", str(path)]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["overall"]["held"]["total_usd"] == held  # JSON untouched
    lines = captured.err.splitlines()
    assert f"check: 2 figure(s) differ from {path}:" in lines
    assert f"  overall.held.total_usd: published {held + 100}, now {held}" in lines
    day = published["trade_list"][0]["day"]
    assert any(line.startswith(f"  trade_list[{day}].hedged_usd: published ") for line in lines)


def test_cli_check_says_when_the_run_is_not_the_published_one(tmp_path: Path, capsys):
    path = tmp_path / "short.json"
    assert main([*SHORT_RUN, "--report", str(path)]) == 0
    capsys.readouterr()
    other = [*SHORT_RUN[:-1], "2022-03-22", "--defence", "close", "--check", str(path)]
    assert main(other) == 1
    out = capsys.readouterr().out
    assert f"check: this run is not the one published in {path}:" in out
    assert "  to: published 2022-03-23, now 2022-03-22" in out
    assert "  defence: published cheapest, now close" in out
    assert "overall" not in out.split("check:")[1]  # no figure-by-figure noise
    assert main([*SHORT_RUN, "--check", str(tmp_path / "gone.json.gz")]) == 2
    assert f"--check: {tmp_path / 'gone.json.gz'}: no such file" in capsys.readouterr().err


def test_the_readme_headline_table_is_the_published_reports():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = [line for line in readme.splitlines() if re.match(r"^\| (0|1|45)dte \| \d{4}-", line)]
    expected = [row for name in HEADLINE for row in headline_rows(load_report(_published(name)))]
    assert table == expected


def test_the_readme_risk_table_is_the_published_reports():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = [
        line
        for line in readme.splitlines()
        if re.match(r"^\| (0|1|45)dte \| (conservative|balanced|aggressive) \| \d+ \| ", line)
    ]
    expected = [
        risk_row(load_report(_published(name if risk == "balanced" else f"{name}_{risk}")))
        for name in HEADLINE
        for risk in ("conservative", "balanced", "aggressive")
    ]
    assert table == expected


def test_the_readme_draws_table_is_the_published_reports():
    # Five draws of the modelled paths (`--path-seed 0` ... `4`): the range of each figure.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = [
        line for line in readme.splitlines() if re.match(r"^\| (0|1|45)dte \| 0, 1, .* % \|$", line)
    ]
    expected = [draws_row(_draws(name)) for name in HEADLINE]
    assert table == expected


def test_draws_of_two_tracks_are_refused():
    with pytest.raises(ValueError, match=r"draws must be of one track, were of \['0dte', '1dte'\]"):
        draws_row([load_report(_published("0dte")), load_report(_published("1dte"))])


def _draws(name: str) -> list[dict[str, Any]]:
    # A run's five path draws: draw 0 is the run's own report, 1-4 its `_seed` reports.
    return [load_report(_published(name))] + [
        load_report(_published(f"{name}_seed{seed}")) for seed in range(1, 5)
    ]


def test_the_readme_defence_draws_table_is_the_published_reports():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = [
        line for line in readme.splitlines() if re.match(r"^\| (0|1|45)dte \| 0, 1, .* of 5", line)
    ]
    expected = [defence_draws_row(_draws(name), _draws(f"{name}_close")) for name in HEADLINE]
    assert table == expected


def test_a_defence_comparison_of_mismatched_runs_is_refused():
    alvh, close = _draws("0dte"), _draws("0dte_close")
    with pytest.raises(ValueError, match="same track's reports over the same draws"):
        defence_draws_row(alvh, close[::-1])
    with pytest.raises(ValueError, match="same track's reports over the same draws"):
        defence_draws_row(alvh, _draws("1dte_close"))
    with pytest.raises(ValueError, match="close must be --defence close runs"):
        defence_draws_row(close, alvh)


def test_the_readme_defence_table_is_the_published_reports():
    # ALVH in full (the headline run's hedged series) against the close-when-tested baseline.
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    for name in HEADLINE:
        alvh = defence_cells(load_report(_published(name)))
        close = defence_cells(load_report(_published(f"{name}_close")))
        row = f"| {name} | {alvh} | {close}"
        assert [line for line in readme if line.startswith(row)], row


def test_the_readme_hedge_cost_and_payoff_are_the_published_reports():
    readme = readme_words()
    parts = []
    for name in HEADLINE:
        hedge = load_report(_published(name))["hedge"]
        taken, cost, paid = hedge["hedges_taken"], hedge["cost_usd"], hedge["payoff_usd"]
        parts.append(f"{name.upper()} {taken:,} cost ${cost:,.0f} and paid ${paid:,.0f}")
    # "0DTE 1,478 hedges cost $615,653 and paid $639,135; 1DTE 589 cost ..."
    assert "; ".join(parts).replace(" cost", " hedges cost", 1) in readme


def test_the_readme_prose_on_series_and_regimes_is_the_published_reports():
    # The paragraph after the RSI trigger: what the hedge instruments added on top of the
    # managed series, what the exits cost, and the signs of each track's VIX regimes.
    readme = readme_words()
    reports = {name: load_report(_published(name)) for name in HEADLINE}

    def figure(name: str, series: str, key: str) -> float:
        value: float = reports[name]["overall"][series][key]
        return value

    def added(name: str) -> float:
        return figure(name, "hedged", "total_usd") - figure(name, "managed", "total_usd")

    def change(name: str, key: str) -> str:
        managed, hedged = figure(name, "managed", key), figure(name, "hedged", key)
        return f"{dollars(managed)} \u2192 {dollars(hedged)}"

    assert added("0dte") > 0
    assert added("1dte") > 0
    assert added("45dte") < 0
    assert (
        f"on 0DTE they added {dollars(added('0dte'))} (expectancy "
        f"{change('0dte', 'expectancy_usd')} a trade; CVaR {change('0dte', 'cvar5_usd')}), on "
        f"1DTE {dollars(added('1dte'))} (CVaR {change('1dte', 'cvar5_usd')}); on 45DTE they "
        f"cost {dollars(-added('45dte'))} (CVaR {change('45dte', 'cvar5_usd')})"
    ) in readme
    assert (
        f"on 0DTE the managed series ends at {dollars(figure('0dte', 'managed', 'total_usd'))} "
        f"against {dollars(figure('0dte', 'held', 'total_usd'))} held, on 1DTE at "
        f"{dollars(figure('1dte', 'managed', 'total_usd'))} against "
        f"{dollars(figure('1dte', 'held', 'total_usd'))}."
    ) in readme

    def regimes(name: str, series: str) -> dict[str, dict[str, Any]]:
        return {label: cell[series] for label, cell in reports[name]["by_vix_regime"].items()}

    def earning(name: str, series: str) -> list[str]:
        return [label for label, s in regimes(name, series).items() if s["total_usd"] > 0]

    assert earning("0dte", "held") == ["VIX < 15"]
    assert sorted(set(regimes("1dte", "held")) - set(earning("1dte", "held"))) == ["VIX 15-20"]
    assert earning("0dte", "hedged") == ["VIX < 15"]
    assert earning("1dte", "hedged") == []
    low_0, mid_1 = regimes("0dte", "held")["VIX < 15"], regimes("1dte", "held")["VIX 15-20"]
    assert (
        f"held to settlement 0DTE makes money only below VIX 15 ({dollars(low_0['total_usd'])} "
        f"over {low_0['trades']} trades) and 1DTE in every regime but VIX 15\u201320 "
        f"({dollars(mid_1['total_usd'])} over {mid_1['trades']} trades); with ALVH, 0DTE "
        f"makes money only below VIX 15 "
        f"({dollars(regimes('0dte', 'hedged')['VIX < 15']['total_usd'])}) and 1DTE loses in "
        f"every regime ({dollars(regimes('1dte', 'hedged')['VIX < 15']['total_usd'])} even "
        "below VIX 15)"
    ) in readme


def test_the_readme_45dte_draws_sentence_is_the_published_reports():
    readme = readme_words()
    held = [report["overall"]["held"] for report in _draws("45dte")]
    totals = [s["total_usd"] for s in held]
    cvars = [s["cvar5_usd"] for s in held]
    assert (
        f"across five draws of the paths it ranges {dollars(min(totals))}\u2013"
        f"{dollars(max(totals))} while the held CVaR stays within {dollars(max(cvars))} to "
        f"{dollars(min(cvars))}"
    ) in readme


def test_the_readme_schedules_sentence_is_the_published_reports():
    # The 45DTE track started on each of the first 20 trading days with VIX9D (2011).
    readme = readme_words()
    schedules = [load_report(path) for path in sorted(REPORTS.glob("45dte_start_*.json.gz"))]
    assert len(schedules) == 20
    assert schedules[0]["from"] == "2011-01-04"

    def values(series: str, key: str) -> list[float]:
        return [report["overall"][series][key] for report in schedules]

    held, hedged = values("held", "total_usd"), values("hedged", "total_usd")
    assert (
        f"held totals range {dollars(min(held))}\u2013{dollars(max(held))} and hedged "
        f"{dollars(min(hedged))} to {dollars(max(hedged))}"
    ) in readme
    same = {
        (series, key): set(values(series, key))
        for series in ("held", "managed", "hedged")
        for key in ("cvar5_usd", "max_drawdown_usd")
    }
    assert all(len(found) == 1 for found in same.values()), same
    held_cvar, hedged_cvar = same["held", "cvar5_usd"].pop(), same["hedged", "cvar5_usd"].pop()
    assert (
        f"the CVaR and drawdowns are the same in all 20 (held {dollars(held_cvar)}, hedged "
        f"{dollars(hedged_cvar)})"
    ) in readme


def _overall(name: str, series: str) -> dict[str, Any]:
    stats: dict[str, Any] = load_report(_published(name))["overall"][series]
    return stats


def _cut(name: str, key: str) -> str:
    # How much following ALVH in full took off the held figure, as the README writes it: "48 %".
    held, hedged = _overall(name, "held")[key], _overall(name, "hedged")[key]
    return f"{1 - hedged / held:.0%}".replace("%", " %")


def test_the_readme_in_short_is_the_published_reports():
    readme = readme_words()
    h45, a45 = _overall("45dte", "held"), _overall("45dte", "hedged")
    assert (
        f"**45DTE** (2011\u20132026, {h45['trades']} trades) held to settlement made "
        f"{dollars(h45['total_usd'])}, with a 5 % CVaR of {dollars(h45['cvar5_usd'])} a trade. "
        f"Following ALVH cut that tail by {_cut('45dte', 'cvar5_usd')} and turned the total into "
        f"{dollars(a45['total_usd'])}."
    ) in readme
    trades = load_report(_published("45dte"))["trade_list"]
    assert (trades[0]["day"][:4], trades[-1]["day"][:4]) == ("2011", "2026")
    for name in ("1dte", "0dte"):
        held, hedged = _overall(name, "held"), _overall(name, "hedged")
        assert held["total_usd"] < 0
        assert held["expectancy_ci95_usd"][0] < 0 < held["expectancy_ci95_usd"][1]  # no edge
        lost = f"**{name.upper()}** (2014\u20132026, {held['trades']:,} trades) held lost "
        assert lost + dollars(-held["total_usd"]) in readme
        assert f"ALVH{':' if name == '1dte' else ''} {dollars(hedged['total_usd'])}." in readme
    # By risk level: only 45DTE conservative's held interval is above zero; ALVH always loses,
    # from the least (the first run named) to the most.
    edges = []
    alvh: dict[str, float] = {}
    for name in HEADLINE:
        for risk in ("conservative", "balanced", "aggressive"):
            run = name if risk == "balanced" else f"{name}_{risk}"
            if _overall(run, "held")["expectancy_ci95_usd"][0] > 0:
                edges.append(run)
            alvh[f"{name.upper()} {risk}"] = _overall(run, "hedged")["total_usd"]
            assert alvh[f"{name.upper()} {risk}"] < 0, run
    assert edges == ["45dte_conservative"]
    least, most = max(alvh, key=alvh.__getitem__), min(alvh, key=alvh.__getitem__)
    assert (
        f"Following ALVH in full loses money at every level of every track, from "
        f"{dollars(alvh[least])} ({least}) to {dollars(alvh[most])} ({most})"
    ) in readme
    conservative = _overall("45dte_conservative", "held")
    assert (
        f"({dollars(conservative['total_usd'])} over {conservative['trades']} trades); ALVH "
        "loses at every level of every track"
    ) in readme


def test_the_readme_answer_on_tail_loss_and_cost_is_the_published_reports():
    # "Did ALVH reduce tail loss, and at what cost?"
    readme = readme_words()
    zero, one, forty_five = (
        f"{dollars(_overall(name, 'held')['cvar5_usd'])} to "
        f"{dollars(_overall(name, 'hedged')['cvar5_usd'])} ({name.upper()}, "
        f"\u2212{_cut(name, 'cvar5_usd')})"
        for name in HEADLINE
    )
    assert f"cut the 5 % CVaR per trade from {zero}, {one} and {forty_five}" in readme
    # The summary at the top of the README: the cuts, and "costs more than it saves on every
    # track".
    assert f"({', '.join(_cut(name, 'cvar5_usd') for name in HEADLINE)})" in readme
    for name in HEADLINE:
        assert _overall(name, "hedged")["total_usd"] < _overall(name, "held")["total_usd"]
    dd = {name: (_overall(name, "held"), _overall(name, "hedged")) for name in HEADLINE}
    assert (
        f"fell by {_cut('45dte', 'max_drawdown_usd')} on 45DTE "
        f"({dollars(dd['45dte'][0]['max_drawdown_usd'])} \u2192 "
        f"{dollars(dd['45dte'][1]['max_drawdown_usd'])};"
    ) in readme
    for name in ("1dte", "0dte"):
        held, hedged = dd[name]
        assert hedged["max_drawdown_usd"] > held["max_drawdown_usd"]  # "a deeper one"
        assert (
            f"{name.upper()} ({dollars(held['max_drawdown_usd'])} held, "
            f"{dollars(hedged['max_drawdown_usd'])} with ALVH)"
        ) in readme
        # "on the two break-even short tracks is a loss of $200,000-$300,000"
        assert 200_000 <= held["total_usd"] - hedged["total_usd"] <= 300_000
        low, high = held["expectancy_ci95_usd"]
        assert (
            f"it loses {dollars(-held['total_usd'])} over {held['trades']:,} trades (expectancy "
            f"{dollars(held['expectancy_usd'])}"
        ) in readme
        assert f"95 % interval {dollars(low)} to {dollars(high)}" in readme
        assert (
            f"(Sharpe {hedged['sharpe']:.2f} against {held['sharpe']:.2f})".replace("-", "\u2212")
            in readme
        )
    assert (
        f"45DTE: {dollars(dd['45dte'][0]['total_usd'])} held against "
        f"{dollars(dd['45dte'][1]['total_usd'])} with ALVH over {dd['45dte'][0]['trades']} trades"
    ) in readme


def test_the_readme_vix_hedges_on_real_settles_are_the_published_reports():
    readme = readme_words()
    hedges = {name: load_report(_published(name))["hedge"] for name in HEADLINE}
    real = {name: h["vix_hedges_on_real_vx"] for name, h in hedges.items()}
    every = {name: h["vix_hedges"] for name, h in hedges.items()}
    assert all(h["vix_hedges_on_estimated_vx"] == every[n] - real[n] for n, h in hedges.items())
    assert (
        f"In the runs below {sum(real.values())} of the {sum(every.values())} VIX hedges were "
        f"priced off real settles (0DTE {real['0dte']} of {every['0dte']}, 1DTE {real['1dte']} "
        f"of {every['1dte']}, 45DTE {real['45dte']} of {every['45dte']})"
    ) in readme


def test_the_readme_0dte_exits_are_the_published_report():
    # "Why closing a tested wing costs what it does": the 0DTE run's exits.
    exits = load_report(_published("0dte"))["exits"]
    closed = exits["1 wing(s) bought back"] + exits["2 wing(s) bought back"]
    assert (
        f"on 0DTE it bought back a wing on {closed} condors, and {exits['stop']} ran on to the stop"
    ) in readme_words()


def _years(report: dict[str, Any], series: str, years: range) -> float:
    # A series' total over some years of a report (`by_year`).
    return sum(float(report["by_year"][str(year)][series]["total_usd"]) for year in years)


def _worst(report: dict[str, Any], series: str, before: str) -> float:
    # The worst trade of a series among those entered before a day.
    return min(float(t[f"{series}_usd"]) for t in report["trade_list"] if t["day"] < before)


def test_the_readme_2008_paragraph_is_the_published_reports():
    readme = readme_words()
    crisis = range(2008, 2011)
    draws = [load_report(_published("45dte_from_2008"))] + [
        load_report(_published(f"45dte_from_2008_seed{seed}")) for seed in range(1, 5)
    ]
    run, close = draws[0], load_report(_published("45dte_from_2008_close"))
    trades = run["trade_list"]
    early = [t for t in trades if t["day"] < "2011"]
    assert trades[0]["day"] == "2008-01-03"
    assert (
        f"The 45DTE run then trades from 2008-01-03 (VIX6M's first day has no previous close for "
        f"the open): {len(trades)} trades to 2026-07-08, {len(early)} of them before 2011."
    ) in readme
    held, hedged = _years(run, "held", crisis), _years(run, "hedged", crisis)
    assert held > 0
    assert hedged > 0
    assert (
        f"Over 2008\u20132010 the condor held to settlement made +{dollars(held)} and with ALVH "
        f"+{dollars(hedged)}; the worst trade was {dollars(_worst(run, 'held', '2011'))} held "
        f"and {dollars(_worst(run, 'hedged', '2011'))} with ALVH. In 2008 alone: held "
        f"{dollars(_years(run, 'held', range(2008, 2009)))}, ALVH "
        f"{dollars(_years(run, 'hedged', range(2008, 2009)))} "
        f"({run['by_year']['2008']['held']['trades']} trades)."
    ) in readme
    overall = run["overall"]
    cut = 1 - overall["hedged"]["cvar5_usd"] / overall["held"]["cvar5_usd"]
    assert (
        f"Over 2008\u20132026 the 5 % CVaR per trade fell from "
        f"{dollars(overall['held']['cvar5_usd'])} held to "
        f"{dollars(overall['hedged']['cvar5_usd'])} with ALVH (\u2212{cut:.0%}), for a total of "
        f"{dollars(overall['held']['total_usd'])} held against "
        f"{dollars(overall['hedged']['total_usd'])} with ALVH; closing when tested instead: "
        f"+{dollars(close['overall']['hedged']['total_usd'])}, CVaR "
        f"{dollars(close['overall']['hedged']['cvar5_usd'])}."
    ).replace("%)", " %)") in readme

    def span(values: list[float], sign: str = "") -> str:
        return f"{sign}{dollars(min(values))} to {sign}{dollars(max(values))}"

    assert (
        f"Over five draws of the paths, 2008\u20132010 held ranges "
        f"{span([_years(d, 'held', crisis) for d in draws], '+')} and with ALVH "
        f"{span([_years(d, 'hedged', crisis) for d in draws], '+')}, the worst trade "
        f"{dollars(max(_worst(d, 'held', '2011') for d in draws))} to "
        f"{dollars(min(_worst(d, 'held', '2011') for d in draws))} held and "
        f"{dollars(max(_worst(d, 'hedged', '2011') for d in draws))} to "
        f"{dollars(min(_worst(d, 'hedged', '2011') for d in draws))} with ALVH."
    ) in readme


def test_every_published_trade_held_to_settlement_scores_by_hand_on_the_real_print():
    # What a reader can do with a report and a calculator: the condor's value at the print,
    # the fill, 100 dollars a point, four legs of commission. The print must be the shipped
    # SPX daily file's close (PM) or open (AM) for the expiry: public data, not the model's.
    spx = load_index_history(ROOT / "data" / SPX_DAILY_FILE, name="SPX")
    row = {f"{d:%Y-%m-%d}": i for i, d in enumerate(spx.dates)}
    scored = 0
    for path in sorted(REPORTS.iterdir()):
        report = load_report(path)
        commission = report["costs"]["commission_per_contract_usd"]
        for trade in report["trade_list"]:
            long_put, short_put, short_call, long_call = trade["strikes"]
            assert long_put < short_put < short_call < long_call, trade["signal_id"]
            price, n = trade["settlement_price"], trade["contracts"]
            print_ = spx.close if trade["settlement"] == "PM" else spx.open
            assert price == pytest.approx(float(print_[row[trade["expiry"]]]), abs=0.005)
            value = (
                max(short_put - price, 0.0)
                - max(long_put - price, 0.0)
                + max(price - short_call, 0.0)
                - max(price - long_call, 0.0)
            )
            held = (trade["fill_credit"] - value) * 100 * n - 4 * n * commission
            # Cents: the engine rounds the settlement P&L to the cent, the report the total.
            assert trade["held_usd"] == pytest.approx(held, abs=0.011), trade["signal_id"]
            scored += 1
    assert scored > 50_000  # 62 runs, every trade


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        # The crash of February-March 2020: stops, breaches, hedges bought on every track.
        ("0dte", "2020-02-18", "2020-03-06"),
        ("1dte", "2020-02-18", "2020-03-06"),
        ("1dte_close", "2020-02-18", "2020-03-06"),
        # One condor at a time: the slice starts on a published entry day with none open, so
        # its schedule is the published one from there.
        ("45dte", "2020-02-05", "2020-03-24"),
    ],
)
def test_published_trades_reproduce_from_the_code(
    name: str, start: str, end: str, capsys: pytest.CaptureFixture[str]
):
    # `make reproduce` re-runs the whole reports (minutes); this re-runs a slice of each in
    # the suite (the short tracks' days trade independently), so a change to the rules, the
    # models or the data that moves a published trade fails CI until it is re-published.
    published = load_report(_published(name))
    argv = ["backtest", "--track", published["track"], "--from", start, "--to", end, "--json"]
    if published["defence"] != "cheapest":
        argv += ["--defence", published["defence"]]
    assert main(argv) == 0
    now = json.loads(capsys.readouterr().out)
    for key in ("trade_list", "skipped", "no_trade"):
        within = [entry for entry in published[key] if start <= entry["day"] <= end]
        assert [str(d) for d in differences(within, now[key], key)] == []
    assert len(now["trade_list"]) >= 3


def test_make_reproduce_checks_every_published_report():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    checked = re.findall(r"--check docs/backtest/reports/([\w.-]+)", makefile)
    published = sorted(p.name for p in REPORTS.iterdir())
    assert sorted(checked) == published
    assert set(HEADLINE) <= {name.split(".")[0] for name in published}
    for name in published:
        report = load_report(REPORTS / name)
        track = name.split("_")[0].split(".")[0]
        assert report["track"] == track
        # Each is one of the README's runs: every series, balanced and path draw 0 unless the
        # name says another risk level or draw.
        risk = next((r for r in ("conservative", "aggressive") if r in name), "balanced")
        seed = re.search(r"_seed(\d)", name)
        assert (report["risk"], report["path_seed"]) == (risk, int(seed[1]) if seed else 0)
        start = re.search(r"_start_(\d{4}-\d\d-\d\d)", name)
        if start:  # a 45DTE entry schedule, from the day in its name
            assert report["from"] == start[1]
        assert report["defence"] == ("close" if "_close" in name else "cheapest")
        assert ("modelled" in report["term_structure"]) == ("from_2008" in name)
        assert report["series"] == ["held", "managed", "hedged"]
        assert len(report["trade_list"]) == report["trades"] > 0


def _published(name: str) -> Path:
    return REPORTS / f"{name}.json.gz"
