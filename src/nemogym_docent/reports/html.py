"""One self-contained HTML file for ``summary`` or ``compare``: the numbers of ``--format json``
(embedded whole, and shown in tables), the charts of ``reports.charts`` as inline SVG, no script
and no request leaving the page."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import altair as alt
import jinja2
import orjson
import vl_convert

from nemogym_docent.analysis.compare import Comparison
from nemogym_docent.analysis.summary import ExportSummary
from nemogym_docent.reports import charts
from nemogym_docent.reports.links import RunLinks

TEMPLATE: Final = "report.html.j2"

_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.PackageLoader("nemogym_docent.reports", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def svg(chart: alt.TopLevelMixin | None) -> str:
    """A chart as inline SVG, rendered by ``vl-convert`` with no external data allowed."""
    if chart is None:
        return ""
    return str(vl_convert.vegalite_to_svg(chart.to_dict(), allowed_base_urls=[]))


def number(value: Any) -> str:
    """A number as the tables show it: 4 significant digits, thousands separated."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return f"{value:,.4g}"


def exact(value: Any) -> str:
    """A number as ``--format json`` writes it (the ``data-value`` of a table cell)."""
    return json.dumps(value)


_ENVIRONMENT.filters["number"] = number
_ENVIRONMENT.filters["exact"] = exact


_PER_K = re.compile(r"(pass@|pass@1\[avg-of-|majority@)(\d+)\]?/accuracy")


def _highest(metrics: Mapping[str, Any], prefix: str) -> str | None:
    """The name of the ``prefix`` metric of accuracy with the largest k, if any."""
    ks = [
        int(found.group(2))
        for name in metrics
        if (found := _PER_K.fullmatch(name)) and found.group(1) == prefix
    ]
    if not ks:
        return None
    return f"{prefix}{max(ks)}{']' if prefix.endswith('-') else ''}/accuracy"


def headline_names(metrics: Mapping[str, Any]) -> list[str]:
    """pass@1, the highest pass@k, pass@1[avg-of-k] and majority@k, mean/reward, coverage."""
    names = ["pass@1/accuracy"]
    for prefix in ("pass@", "pass@1[avg-of-", "majority@"):
        found = _highest(metrics, prefix)
        if found:
            names.append(found)
    names += [name for name in metrics if name.startswith(("mean/reward", "coverage/"))]
    return [name for name in dict.fromkeys(names) if name in metrics]


def agent_section(
    name: str,
    group: Mapping[str, Any],
    rewards: Mapping[Hashable, Sequence[float | None]],
    links: RunLinks,
) -> dict[str, Any]:
    """What the page shows of one agent: its numbers, its charts as SVG, its grid's counts."""
    rows = charts.task_rows(rewards, links.for_tasks(rewards) if links.known else None)
    counts = charts.solved_counts(rows)
    metrics = group.get("metrics") or {}
    return {
        "name": name,
        "group": group,
        "headline": headline_names(metrics),
        "solved": counts,
        "tasks": len(rows),
        "shown_tasks": min(len(rows), charts.GRID_TASKS),
        "max_rollouts": max((len(row.rewards) for row in rows), default=0),
        "grid_rollouts": charts.GRID_ROLLOUTS,
        "charts": [svg(chart) for chart in charts.agent_charts(group, rows).values()],
    }


def summary_html(
    summary: ExportSummary, *, inputs: Sequence[str], links: RunLinks | None = None
) -> str:
    """The summary report of ``summary``, read from ``inputs``."""
    data = summary.as_dict()
    links = links or RunLinks.none(inputs)
    agents = [
        agent_section(name, data["agents"][name], group.metrics.task_rewards(), links)
        for name, group in sorted(summary.agents.items())
    ]
    return _ENVIRONMENT.get_template(TEMPLATE).render(
        kind="summary",
        title="nemogym-docent summary",
        inputs=inputs,
        data=data,
        data_json=_script_json(data),
        agents=agents,
        links=links,
        grid_tasks=charts.GRID_TASKS,
    )


def comparison_html(
    comparison: Comparison, *, baseline: str, candidate: str, links: RunLinks | None = None
) -> str:
    """The compare report of two runs."""
    data = comparison.as_dict()
    links = links or RunLinks.none([baseline, candidate])
    found = charts.comparison_charts(comparison)
    agents = []
    for agent, agent_data in zip(comparison.agents, data["agents"], strict=True):
        flips = {flip.task: flip.direction for flip in agent.flips.flips}
        rows = {row["metric"]: row for row in agent_data["metrics"]}
        agents.append(
            {
                "data": agent_data,
                "headline_rows": [rows[name] for name in headline_names(rows)],
                "flip_links": {task: links.for_flip(agent.agent, task) for task in flips},
                "charts": [svg(chart) for chart in found[agent.agent].values()],
            }
        )
    return _ENVIRONMENT.get_template(TEMPLATE).render(
        kind="compare",
        title="nemogym-docent compare",
        inputs=[baseline, candidate],
        baseline=baseline,
        candidate=candidate,
        data=data,
        data_json=_script_json(data),
        agents=agents,
        links=links,
        grid_tasks=charts.GRID_TASKS,
    )


def _script_json(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">`` (no ``</`` can close it)."""
    return orjson.dumps(data).decode().replace("</", "<\\/")


def write(path: str | Path, text: str) -> None:
    Path(path).write_text(text, encoding="utf-8")
