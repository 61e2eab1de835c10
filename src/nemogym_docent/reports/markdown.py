"""GitHub-flavoured markdown of ``summary`` and ``compare`` for CI: a job summary
(``$GITHUB_STEP_SUMMARY``) or a PR comment.

GitHub renders tables and Mermaid code blocks there; it does not show images given as data URIs,
so the picture is a Mermaid ``xychart-beta`` (pass@k against k). A PR comment holds at most
65,536 characters: the flips listed are the first ``FLIPS_LISTED``, and the HTML report has
every one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from nemogym_docent.analysis.compare import Comparison
from nemogym_docent.analysis.summary import ExportSummary
from nemogym_docent.reports.html import headline_names, number

FLIPS_LISTED: Final = 50
HEADLINE: Final = ("pass@1/accuracy", "mean/reward")


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _ks(metrics: Mapping[str, Any]) -> list[int]:
    """The k of the picture: 1, 2, 4, … and the largest (at most a dozen points)."""
    top = 0
    while f"pass@{top + 1}/accuracy" in metrics:
        top += 1
    ks = [k for k in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024) if k < top]
    return [*ks, top] if top else []


def pass_chart(lines: Sequence[tuple[str, Mapping[str, Any]]], *, avg: bool) -> str:
    """A Mermaid xychart: pass@k (and pass@1[avg-of-k] when ``avg``) of each named metrics."""
    ks = _ks(lines[0][1]) if lines else []
    if not ks:
        return ""
    series = []
    for _, metrics in lines:
        series.append([metrics.get(f"pass@{k}/accuracy") for k in ks])
        if avg:
            series.append([metrics.get(f"pass@1[avg-of-{k}]/accuracy") for k in ks])
    names = " · ".join(
        f"{name}: pass@k" + (", pass@1[avg-of-k]" if avg else "") for name, _ in lines
    )
    title = f"{names} (accuracy, %)".replace('"', "'")
    out = ["```mermaid", "xychart-beta", f'    title "{title}"']
    out.append(f'    x-axis "k" [{", ".join(str(k) for k in ks)}]')
    out.append('    y-axis "%" 0 --> 100')
    for values in series:
        out.append(f"    line [{', '.join(f'{v or 0:.4g}' for v in values)}]")
    out.append("```")
    return "\n".join(out)


def summary_markdown(summary: ExportSummary, *, inputs: Sequence[str]) -> str:
    data = summary.as_dict()
    total = data["total"]
    out = [
        "## nemogym-docent summary",
        "",
        f"{', '.join(f'`{path}`' for path in inputs)}: {number(total['rollouts'])} rollouts, "
        f"{number(total['tasks'])} tasks.",
        "",
        "| agent | rollouts | tasks | metric | value |",
        "|---|---:|---:|---|---:|",
    ]
    for name, group in data["agents"].items():
        metrics = group["metrics"]
        for index, metric in enumerate(headline_names(metrics)):
            first = index == 0
            lead = (
                [_cell(name), number(group["rollouts"]), number(group["tasks"])]
                if first
                else ["", "", ""]
            )
            out.append("| " + " | ".join([*lead, metric, number(metrics[metric])]) + " |")
    for name, group in data["agents"].items():
        chart = pass_chart([(name, group["metrics"])], avg=True)
        if chart:
            out += ["", f"**{_cell(name)}**", "", chart]
    return "\n".join(out) + "\n"


def comparison_markdown(comparison: Comparison, *, baseline: str, candidate: str) -> str:
    data = comparison.as_dict()
    out = [
        "## nemogym-docent compare",
        "",
        f"Baseline `{baseline}`, candidate `{candidate}`; tasks joined by `{data['join_key']}`."
        + (" **A task regressed.**" if data["regressed"] else ""),
    ]
    for agent in data["agents"]:
        rows = {row["metric"]: row for row in agent["metrics"]}
        flips = agent["flips"]
        out += [
            "",
            f"### {_cell(agent['agent'])}",
            "",
            "| metric | baseline | candidate | delta | Δ 95% CI |",
            "|---|---:|---:|---:|---|",
        ]
        for name in headline_names(dict.fromkeys(rows)):
            row = rows[name]
            interval = (
                f"[{number(row['delta_ci_low'])}, {number(row['delta_ci_high'])}]"
                if row.get("delta_ci_low") is not None
                else ""
            )
            out.append(
                f"| {name} | {number(row['baseline'])} | {number(row['candidate'])} "
                f"| {number(row['delta'])} | {interval} |"
            )
        out += ["", _flip_line(flips)]
        if flips["input_mismatch_count"]:
            out.append(
                f"\n**{flips['input_mismatch_count']:,} joined tasks hold another question on "
                "each side** (their request inputs differ): left out of the flips."
            )
        if flips["flips"]:
            out += [
                "",
                "| task | direction | baseline | candidate | delta |",
                "|---|---|---:|---:|---:|",
            ]
            for flip in flips["flips"][:FLIPS_LISTED]:
                cells = [
                    _cell(flip["task"]),
                    flip["direction"],
                    number(flip["baseline_score"]),
                    number(flip["candidate_score"]),
                    number(flip["delta"]),
                ]
                out.append("| " + " | ".join(cells) + " |")
            if len(flips["flips"]) > FLIPS_LISTED:
                out.append(
                    f"\n{len(flips['flips']) - FLIPS_LISTED:,} more flips: the HTML report "
                    "(`--html`) and `--format json` list every one."
                )
        before = {row["metric"]: row["baseline"] for row in agent["metrics"]}
        after = {row["metric"]: row["candidate"] for row in agent["metrics"]}
        chart = pass_chart([("baseline", before), ("candidate", after)], avg=False)
        if chart:
            out += ["", chart]
    return "\n".join(out) + "\n"


def _flip_line(flips: Mapping[str, Any]) -> str:
    if flips["mode"] == "binary":
        return (
            f"Flips: **{flips['pass_to_fail_count']:,} pass_to_fail**, "
            f"{flips['fail_to_pass_count']:,} fail_to_pass (net {flips['net']:+,}), "
            f"{flips['tied_count']:,} tied, {flips['unchanged_count']:,} unchanged."
        )
    if flips["mode"] == "continuous":
        return (
            f"Flips (continuous): {len(flips['flips']):,} tasks changed, "
            f"{flips['unchanged_count']:,} unchanged."
        )
    return f"Flips: not available ({flips['reason']})."
