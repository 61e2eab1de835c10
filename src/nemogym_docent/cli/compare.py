"""``nemogym-docent compare``: two runs agent by agent, by ``gym eval compare``'s rules."""

from __future__ import annotations

import sys
from typing import Any, cast

import orjson
import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nemogym_docent.analysis.compare import Comparison, compare_exports
from nemogym_docent.analysis.selection import Selection
from nemogym_docent.cli.reporting import ExitCode, fail, say
from nemogym_docent.cli.reports import Reports
from nemogym_docent.cli.summary import highest_k
from nemogym_docent.cli.upload import UploadOptions, run_upload
from nemogym_docent.engine.compare_upload import CompareStage, Side
from nemogym_docent.jsonl.discovery import InputError, discover
from nemogym_docent.upload.links import compare_views

FLIPS_SHOWN = 20


def run_compare(
    baseline: str,
    candidate: str,
    *,
    output_format: str,
    answer_key: str | None,
    fail_on_regression: bool,
    quiet: bool,
    upload: UploadOptions | None = None,
    reports: Reports | None = None,
) -> None:
    """Compare and print the comparison; with ``upload``, send both sides of every flipped task
    to one collection and print links to them. Exits 1 on a regression when asked."""
    try:
        comparison = compare_exports(
            baseline, candidate, answer_key=answer_key, note=_ignore if quiet else say
        )
    except InputError as exc:
        fail(str(exc), hints=[exc.hint] if exc.hint else [])
    if output_format == "json":
        sys.stdout.buffer.write(orjson.dumps(comparison.as_dict(), option=orjson.OPT_INDENT_2))
        sys.stdout.buffer.write(b"\n")
    else:
        console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
        print_comparison(comparison, console)
    if reports is not None and reports.asked:
        _write_reports(comparison, baseline, candidate, reports, quiet=quiet)
    if upload is not None:
        _upload_flips(comparison, baseline, candidate, upload)
    if fail_on_regression and comparison.regressed:
        say("error: a task regressed (--fail-on-regression)")
        raise SystemExit(ExitCode.INVALID)


def _write_reports(
    comparison: Comparison, baseline: str, candidate: str, reports: Reports, *, quiet: bool
) -> None:
    from nemogym_docent.cli.links import docent_runs  # noqa: PLC0415
    from nemogym_docent.reports import html, markdown  # noqa: PLC0415 (Altair loads slowly)
    from nemogym_docent.reports.links import comparison_links  # noqa: PLC0415

    links = None
    if reports.docent_collection:
        lines = [
            line
            for agent in comparison.agents
            for sides in agent.flip_origins.values()
            for side in sides
            for line in side
        ]
        sides = [baseline, candidate]
        runs = docent_runs(sides, reports.docent_collection, lines, quiet=quiet)
        links = comparison_links(sides, reports.docent_collection, comparison, runs)
    reports.write(
        lambda: html.comparison_html(
            comparison, baseline=baseline, candidate=candidate, links=links
        ),
        lambda: markdown.comparison_markdown(comparison, baseline=baseline, candidate=candidate),
        quiet=quiet,
    )


def _upload_flips(
    comparison: Comparison, baseline: str, candidate: str, options: UploadOptions
) -> None:
    """Send the runs of the flipped tasks of both sides, each marked with its side and flip."""
    if not comparison.flipped():
        say("no task flipped: nothing to upload")
        return
    sides: dict[str, Side] = {}
    try:
        for path, side in ((baseline, "baseline"), (candidate, "candidate")):
            for source in discover([path], skip_unreadable=False).sources:
                sides[source.name] = cast("Side", side)
    except InputError as exc:
        fail(str(exc), hints=[exc.hint] if exc.hint else [])
    stage = CompareStage(Selection(), comparison=comparison, sides=sides)
    try:
        run_upload(options, stage=stage, views=compare_views())
    except typer.Exit as done:
        if done.exit_code:
            raise


def _ignore(_text: str) -> None:
    pass


def print_comparison(comparison: Comparison, console: Console) -> None:
    """Per agent: the headline metric rows, the flip counts, and the flips (regressions first)."""
    data = comparison.as_dict()
    console.print(f"tasks joined by {data['join_key']}")
    for side in ("baseline", "candidate"):
        agents = data[f"{side}_only_agents"]
        if agents:
            console.print(f"agents only in the {side}: {escape(', '.join(agents))}")
        unjoinable = data["unjoinable_rollouts"][side]
        if unjoinable:
            console.print(f"{unjoinable:,} measured {side} rollouts name no task and were left out")
    for agent in data["agents"]:
        console.print(_metrics_table(agent))
        console.print(_flip_line(agent["flips"]))
        mismatched = agent["flips"]["input_mismatch_count"]
        if mismatched:
            console.print(
                f"warning: {mismatched:,} joined tasks hold another question on each side "
                "(their request inputs differ): left out of the flips"
            )
        if agent["flips"]["flips"]:
            console.print(_flips_table(agent["flips"]["flips"]))


def _metrics_table(agent: dict[str, Any]) -> Table:
    title = (
        f"{escape(agent['agent'])}: {agent['baseline_task_count']:,} tasks in the baseline, "
        f"{agent['candidate_task_count']:,} in the candidate"
    )
    table = Table(title=title, box=box.SIMPLE, title_justify="left")
    for column in ("metric", "baseline", "candidate", "delta", "Δ 95% CI"):
        table.add_column(column, justify="left" if column == "metric" else "right")
    rows = {row["metric"]: row for row in agent["metrics"]}
    shown = ["pass@1/accuracy"]
    for pattern in ("pass@{k}/accuracy", "pass@1[avg-of-{k}]/accuracy", "majority@{k}/accuracy"):
        found = highest_k(rows, pattern)
        if found is not None:
            shown.append(found)
    shown += [name for name in rows if name.startswith(("coverage/", "mean/"))]
    for name in dict.fromkeys(name for name in shown if name in rows):
        row = rows[name]
        table.add_row(
            escape(name),
            _number(row["baseline"]),
            _number(row["candidate"]),
            _delta(row["delta"]),
            _interval(row["delta_ci_low"], row["delta_ci_high"]),
        )
    return table


def _flip_line(flips: dict[str, Any]) -> str:
    one_sided = (
        f"{flips['baseline_only_task_count']:,} tasks only in the baseline, "
        f"{flips['candidate_only_task_count']:,} only in the candidate"
    )
    if flips["mode"] == "unavailable":
        return f"flips: not available ({flips['reason']}); {one_sided}"
    if flips["mode"] == "continuous":
        return (
            f"flips (continuous rewards): {len(flips['flips']):,} tasks changed, "
            f"{flips['unchanged_count']:,} unchanged; {one_sided}"
        )
    return (
        f"flips (binary rewards): {flips['pass_to_fail_count']:,} pass_to_fail, "
        f"{flips['fail_to_pass_count']:,} fail_to_pass, net {flips['net']:+,}; "
        f"{flips['tied_count']:,} tied, {flips['unchanged_count']:,} unchanged; {one_sided}"
    )


def _flips_table(flips: list[dict[str, Any]]) -> Table:
    table = Table(box=box.SIMPLE)
    for column in ("task", "direction", "baseline", "candidate", "delta"):
        table.add_column(column, justify="right" if column not in ("task", "direction") else "left")
    for flip in flips[:FLIPS_SHOWN]:
        table.add_row(
            escape(flip["task"]),
            flip["direction"],
            f"{flip['baseline_score']:.4g}",
            f"{flip['candidate_score']:.4g}",
            _delta(flip["delta"]),
        )
    if len(flips) > FLIPS_SHOWN:
        table.add_row(
            f"({len(flips) - FLIPS_SHOWN:,} more: --format json lists them)", "", "", "", ""
        )
    return table


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:,.4g}"


def _interval(low: float | None, high: float | None) -> str:
    return "" if low is None or high is None else f"[{low:+,.4g}, {high:+,.4g}]"


def _delta(value: float | None) -> str:
    return "" if value is None else f"{value:+,.4g}"
