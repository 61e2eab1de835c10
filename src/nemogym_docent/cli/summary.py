"""``nemogym-docent summary``: what an export holds, per file and per agent, in one pass."""

from __future__ import annotations

import os
import sys
from typing import Any

import orjson
from rich import box
from rich.console import Console
from rich.table import Table

from nemogym_docent.analysis.summary import ExportSummary, summarize_sources
from nemogym_docent.analysis.where import WhereError, compile_conditions
from nemogym_docent.cli.reporting import fail, say
from nemogym_docent.jsonl.discovery import InputError, discover

REFUSALS_SHOWN = 10
_BARS = " ▁▂▃▄▅▆▇█"


def run_summary(inputs: list[str], *, output_format: str, where: list[str], quiet: bool) -> None:
    """Read every input once and print the summary (tables or JSON) on stdout."""
    try:
        conditions = compile_conditions(where)
    except WhereError as exc:
        fail(f"--where: {exc}")
    try:
        found = discover(inputs, skip_unreadable=False)
    except InputError as exc:
        fail(str(exc), hints=[exc.hint] if exc.hint else [])
    if not quiet:
        say(*found.notes)
    try:
        summary = summarize_sources(found.sources, conditions=conditions, note=say)
    except InputError as exc:
        fail(str(exc), hints=[exc.hint] if exc.hint else [])
    if output_format == "json":
        sys.stdout.buffer.write(orjson.dumps(summary.as_dict(), option=orjson.OPT_INDENT_2))
        sys.stdout.buffer.write(b"\n")
        return
    print_summary(summary, Console(highlight=False, width=None if sys.stdout.isatty() else 160))


def print_summary(summary: ExportSummary, console: Console) -> None:
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
    if total["metrics"]:
        metrics = Table(title="metrics (all rollouts)", box=box.SIMPLE, title_justify="left")
        metrics.add_column("metric")
        metrics.add_column("rollouts", justify="right")
        metrics.add_column("mean", justify="right")
        for name, metric in total["metrics"].items():
            metrics.add_row(name, f"{metric['count']:,}", f"{metric['mean']:.4g}")
        console.print(metrics)
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
        title.removeprefix("by ").split()[0], overflow="fold", min_width=min(longest_name, 60)
    )
    for column in ("rollouts", "tasks", "per task", "reward mean (min–max)"):
        table.add_column(column, justify="right")
    table.add_column("histogram", no_wrap=True)
    table.add_column("pass@k", justify="right")
    table.add_column("refused", justify="right")
    return table


def _add_group(table: Table, name: str, group: dict[str, Any], style: str = "") -> None:
    reward = group["reward"]
    per_task = group["rollouts_per_task"]
    pass_at_k = group["pass_at_k"]
    table.add_row(
        name,
        f"{group['rollouts']:,}",
        f"{group['tasks']:,}",
        f"{per_task['mean']:.3g}" if per_task else "",
        f"{reward['mean']:.3g} ({reward['min']:.3g}–{reward['max']:.3g})" if reward else "",
        _sparkline(reward["histogram"]) if reward else "",
        f"{pass_at_k['rate']:.0%} @{pass_at_k['k']}" if pass_at_k else "",
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
