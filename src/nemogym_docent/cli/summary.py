"""``nemogym-docent summary``: what an export holds, per file and per agent, in one pass."""

from __future__ import annotations

import os
import sys
from collections.abc import Container
from typing import Any

import orjson
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nemogym_docent.analysis.summary import ExportSummary, summarize_sources
from nemogym_docent.analysis.where import WhereError, compile_conditions
from nemogym_docent.cli.reporting import fail, say
from nemogym_docent.cli.reports import Reports
from nemogym_docent.jsonl.discovery import InputError, discover

REFUSALS_SHOWN = 10
_BARS = " ▁▂▃▄▅▆▇█"


def run_summary(
    inputs: list[str],
    *,
    output_format: str,
    where: list[str],
    answer_key: str | None,
    failures: bool,
    quiet: bool,
    reports: Reports | None = None,
) -> None:
    """Read every input once and print the summary (tables or JSON) on stdout; write the
    reports asked for."""
    try:
        conditions = compile_conditions(where)
    except WhereError as exc:
        fail(f"--where: {exc}")
    try:
        found = discover(inputs, skip_unreadable=False, failures=failures)
    except InputError as exc:
        fail(str(exc), hints=[exc.hint] if exc.hint else [])
    if not quiet:
        say(*found.notes)
    try:
        summary = summarize_sources(
            found.sources, conditions=conditions, answer_key=answer_key, note=say
        )
    except InputError as exc:
        fail(str(exc), hints=[exc.hint] if exc.hint else [])
    if output_format == "json":
        sys.stdout.buffer.write(orjson.dumps(summary.as_dict(), option=orjson.OPT_INDENT_2))
        sys.stdout.buffer.write(b"\n")
    else:
        console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
        print_export_summary(summary, console)
    if reports is not None and reports.asked:
        _write_reports(summary, inputs, reports, quiet=quiet)


def _write_reports(
    summary: ExportSummary, inputs: list[str], reports: Reports, *, quiet: bool
) -> None:
    from nemogym_docent.cli.links import docent_runs  # noqa: PLC0415
    from nemogym_docent.reports import html, markdown  # noqa: PLC0415 (Altair loads slowly)
    from nemogym_docent.reports.links import task_links  # noqa: PLC0415

    links = None
    if reports.docent_collection:
        origins = {
            task: found
            for group in summary.agents.values()
            for task, found in group.metrics.task_origins().items()
        }
        lines = [line for found in origins.values() for line in found if line is not None]
        runs = docent_runs(inputs, reports.docent_collection, lines, quiet=quiet)
        links = task_links(inputs, reports.docent_collection, origins, runs)
    reports.write(
        lambda: html.summary_html(summary, inputs=inputs, links=links),
        lambda: markdown.summary_markdown(summary, inputs=inputs),
        quiet=quiet,
    )


def print_export_summary(summary: ExportSummary, console: Console) -> None:
    """Tables by file and by agent, then the metrics and the strict refusals of everything."""
    data = summary.as_dict()
    files = data["files"]
    folder = os.path.commonpath(list(files)) if len(files) > 1 else ""
    if folder and folder in files:
        folder = ""
    for title, groups in (
        (f"by file in {folder}" if folder else "by file", files),
        ("by agent", data["agents"]),
    ):
        names = {
            name: os.path.relpath(name, folder) if folder and groups is files else name
            for name in groups
        }
        table = _group_table(title, max(map(len, names.values()), default=0))
        for name, group in groups.items():
            _add_group(table, names[name], group)
        if len(groups) > 1:
            _add_group(table, "all", data["total"], style="bold")
        console.print(table)
    total = data["total"]
    agents = data["agents"]
    for name, group in agents.items():
        if group["metrics"]:
            console.print(metrics_table(f"NeMo Gym metrics of {escape(name)}", group["metrics"]))
    for title, key in (("ng_perf", "ng_perf"), ("failed attempts", "failures")):
        extra = _by_agent_table(title, {name: group[key] for name, group in agents.items()})
        if extra is not None:
            console.print(extra)
    if total["strict_refusals"]:
        refusals = Table(title="refused by strict mode", box=box.SIMPLE, title_justify="left")
        refusals.add_column("records", justify="right")
        refusals.add_column("reason", overflow="fold")
        reasons = list(total["strict_refusals"].items())
        for reason, count in reasons[:REFUSALS_SHOWN]:
            refusals.add_row(f"{count:,}", reason)
        if len(reasons) > REFUSALS_SHOWN:
            rest = sum(count for _, count in reasons[REFUSALS_SHOWN:])
            refusals.add_row(f"{rest:,}", f"({len(reasons) - REFUSALS_SHOWN} other reasons)")
        console.print(refusals)


def _group_table(title: str, longest_name: int) -> Table:
    table = Table(title=title, box=box.SIMPLE, title_justify="left")
    table.add_column(
        title.removeprefix("by ").split()[0], overflow="fold", min_width=min(longest_name, 40)
    )
    for column in ("rollouts", "tasks", "per task", "reward mean (min–max)"):
        table.add_column(column, justify="right")
    table.add_column("histogram", no_wrap=True)
    for column in ("pass@1", "pass@k", "masked", "failed", "refused"):
        table.add_column(column, justify="right")
    return table


def _add_group(table: Table, name: str, group: dict[str, Any], style: str = "") -> None:
    reward = group["reward"]
    per_task = group["rollouts_per_task"]
    metrics = group["metrics"]
    top_k = highest_k(metrics, "pass@{k}/accuracy")
    failures = group["failures"]
    table.add_row(
        escape(name),
        f"{group['rollouts']:,}",
        f"{group['tasks']:,}",
        f"{per_task['mean']:.3g}" if per_task else "",
        f"{reward['mean']:.3g} ({reward['min']:.3g}–{reward['max']:.3g})" if reward else "",
        _sparkline(reward["histogram"]) if reward else "",
        _percent(metrics.get("pass@1/accuracy")),
        f"{_percent(metrics[top_k])} @{top_k.split('/')[0][5:]}" if top_k else "",
        f"{metrics.get('coverage/masked_rollouts', 0):,}",
        f"{failures['rollouts']:,}" if failures else "0",
        f"{sum(group['strict_refusals'].values()):,}",
        style=style,
    )


def _sparkline(histogram: list[dict[str, Any]]) -> str:
    """One bar per bin, from the lowest reward to the highest."""
    top = max(entry["count"] for entry in histogram)
    levels = len(_BARS) - 1
    return "".join(
        _BARS[max(1, round(entry["count"] / top * levels)) if entry["count"] else 0]
        for entry in histogram
    )


def highest_k(names: Container[str], pattern: str) -> str | None:
    """The name of ``pattern`` (with ``{k}``) at the largest k among ``names``, if any."""
    k = 1
    while pattern.format(k=k + 1) in names:
        k += 1
    name = pattern.format(k=k)
    return name if name in names else None


def metrics_table(title: str, metrics: dict[str, float]) -> Table:
    """The headline metrics: pass@1, those at the largest k, coverage and every mean."""
    table = Table(title=title, box=box.SIMPLE, title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    shown: list[str] = []
    for score in sorted({name.rsplit("/", 1)[1] for name in metrics if name.startswith("pass@1/")}):
        shown.append(f"pass@1/{score}")
        for pattern in ("pass@{k}", "pass@1[avg-of-{k}]", "majority@{k}"):
            found = highest_k(metrics, f"{pattern}/{score}")
            if found is not None and found not in shown:
                shown.append(found)
    for name in shown:
        spread = metrics.get(f"{name}/std_err_across_runs")
        text = _percent(metrics.get(name))
        table.add_row(escape(name), f"{text} ± {spread:.1f}" if spread is not None else text)
    for name, value in metrics.items():
        if name.startswith(("coverage/", "mean/")):
            table.add_row(escape(name), f"{value:,.4g}")
    return table


def _by_agent_table(title: str, values: dict[str, dict[str, Any] | None]) -> Table | None:
    """One row per agent and nested key (``prompt_tokens mean``, ``by_class judge_failed``)."""
    rows = [
        (agent, f"{key} {inner}" if isinstance(found, dict) else key, found_inner)
        for agent, value in values.items()
        if value
        for key, found in value.items()
        for inner, found_inner in (found.items() if isinstance(found, dict) else [("", found)])
    ]
    if not rows:
        return None
    table = Table(title=title, box=box.SIMPLE, title_justify="left")
    for column in ("agent", "what", "value"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for agent, what, value in rows:
        table.add_row(escape(agent), escape(what.strip()), f"{value:,.4g}")
    return table


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}%"
