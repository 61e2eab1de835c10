"""The charts of the reports, as Altair (Vega-Lite) charts built from the numbers of
``summary --format json`` and ``compare --format json``.

Each function returns an ``altair.Chart`` (or a layered chart) that a notebook shows as it is;
``reports.html`` renders them to SVG with ``vl-convert`` (no browser, no network).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Final

import altair as alt

from nemogym_docent.analysis.compare import Comparison
from nemogym_docent.analysis.summary import ExportSummary

PASS_THRESHOLD: Final = 0.5
GRID_TASKS: Final = 60
"""Rows of the per-task grid: past this, tasks evenly spaced in mean-reward order."""
GRID_ROLLOUTS: Final = 32
"""Columns of the per-task grid: each task's first rollouts, in rollout order."""
WIDTH: Final = 420
UNMEASURED: Final = "#c8c8c8"
REWARD_SCHEME: Final = "redyellowgreen"


@dataclass(frozen=True)
class TaskRow:
    """One task of the grid: its name, its rollouts' rewards (``None``: not measured), and
    where its run is in Docent, per rollout, when known."""

    task: str
    rewards: list[float | None]
    links: list[str | None] | None = None

    @property
    def measured(self) -> list[float]:
        return [reward for reward in self.rewards if reward is not None]

    @property
    def mean(self) -> float | None:
        measured = self.measured
        return sum(measured) / len(measured) if measured else None

    @property
    def solved(self) -> str:
        """``always``, ``sometimes`` or ``never`` solved (a rollout solves above 0.5, compare's
        pass rule: reward 1 when rewards are 0 or 1), or ``unmeasured``."""
        measured = self.measured
        if not measured:
            return "unmeasured"
        passes = sum(1 for reward in measured if reward > PASS_THRESHOLD)
        return "always" if passes == len(measured) else "sometimes" if passes else "never"


def task_rows(
    rewards: Mapping[Hashable, Sequence[float | None]],
    links: Mapping[Hashable, Sequence[str | None]] | None = None,
) -> list[TaskRow]:
    """Tasks (from ``MetricsGroup.task_rewards``) by mean reward, highest first; unmeasured
    tasks last."""
    rows = [
        TaskRow(
            _task_text(task), list(values), list(links[task]) if links and task in links else None
        )
        for task, values in rewards.items()
    ]
    return sorted(rows, key=lambda row: (row.mean is None, -(row.mean or 0.0), row.task))


def _task_text(task: Hashable) -> str:
    """A task key (``(agent, index)`` in a summary) as the grid names it: its index."""
    return str(task[-1]) if isinstance(task, tuple) and task else str(task)


def solved_counts(rows: Sequence[TaskRow]) -> dict[str, int]:
    """Tasks always, sometimes and never solved (and unmeasured, when any)."""
    counts = {"always": 0, "sometimes": 0, "never": 0}
    for row in rows:
        counts[row.solved] = counts.get(row.solved, 0) + 1
    return counts


def shown_rows(rows: Sequence[TaskRow]) -> list[TaskRow]:
    """At most ``GRID_TASKS`` rows, evenly spaced in the given order (first and last kept)."""
    if len(rows) <= GRID_TASKS:
        return list(rows)
    step = (len(rows) - 1) / (GRID_TASKS - 1)
    return [rows[round(i * step)] for i in range(GRID_TASKS)]


def reward_distribution(histogram: Sequence[Mapping[str, float]]) -> alt.Chart:
    """The measured rewards: a bar per distinct value (few values) or per equal bin."""
    values = [
        {
            "reward": _bin_label(row["low"], row["high"]),
            "low": row["low"],
            "count": row["count"],
        }
        for row in histogram
    ]
    return (
        alt.Chart(alt.Data(values=values), title="Reward distribution (measured rollouts)")
        .mark_bar(color="#4c78a8")
        .encode(
            x=alt.X("reward:N", sort=alt.EncodingSortField("low"), title="reward"),
            y=alt.Y("count:Q", title="rollouts"),
            tooltip=["reward:N", "count:Q"],
        )
        .properties(width=WIDTH, height=180)
    )


def _bin_label(low: float, high: float) -> str:
    return f"{low:.4g}" if low == high else f"{low:.3g}–{high:.3g}"


def pass_at_k(metrics: Mapping[str, float], score: str = "accuracy") -> alt.Chart:
    """``pass@k`` and ``pass@1[avg-of-k]`` of ``score`` against k."""
    values = []
    for name, value in metrics.items():
        kind, _, rest = name.partition("/")
        if rest != score:
            continue
        if kind.startswith("pass@1[avg-of-"):
            values.append({"k": int(kind[14:-1]), "metric": "pass@1[avg-of-k]", "percent": value})
        elif kind.startswith("pass@"):
            values.append({"k": int(kind[5:]), "metric": "pass@k", "percent": value})
    return (
        alt.Chart(alt.Data(values=values), title=f"pass@k and pass@1[avg-of-k] ({score})")
        .mark_line(point=True)
        .encode(
            x=alt.X("k:Q", title="k", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("percent:Q", title="%", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("metric:N", title=None),
            tooltip=["metric:N", "k:Q", "percent:Q"],
        )
        .properties(width=WIDTH, height=200)
    )


def task_grid(rows: Sequence[TaskRow]) -> alt.TopLevelMixin:
    """Tasks by mean reward (``shown_rows`` of them), each rollout a cell coloured by its reward
    (grey: not measured); a cell links to its run when the row knows it."""
    shown = shown_rows(rows)
    values = []
    for position, row in enumerate(shown):
        for rollout, reward in enumerate(row.rewards[:GRID_ROLLOUTS]):
            cell: dict[str, Any] = {
                "task": row.task,
                "position": position,
                "rollout": rollout,
                "reward": reward,
            }
            if row.links and rollout < len(row.links) and row.links[rollout]:
                cell["href"] = row.links[rollout]
            values.append(cell)
    base = alt.Chart(alt.Data(values=values)).encode(
        x=alt.X("rollout:O", title="rollout (in rollout order)"),
        y=alt.Y(
            "task:N",
            sort=alt.EncodingSortField("position"),
            title="task (by mean reward)",
            axis=alt.Axis(labelLimit=120, labelFontSize=8),
        ),
        tooltip=["task:N", "rollout:O", "reward:Q"],
    )
    if any("href" in cell for cell in values):
        base = base.encode(href=alt.Href("href:N"))
    measured = (
        base.transform_filter("datum.reward !== null")
        .mark_rect(stroke="white", strokeWidth=0.5)
        .encode(color=alt.Color("reward:Q", scale=alt.Scale(scheme=REWARD_SCHEME), title="reward"))
    )
    unmeasured = base.transform_filter("datum.reward === null").mark_rect(
        stroke="white", strokeWidth=0.5, color=UNMEASURED
    )
    height = max(60, min(9 * len(shown), 560))
    return alt.layer(measured, unmeasured, title="Per-task grid").properties(
        width=WIDTH, height=height
    )


def solved_bars(counts: Mapping[str, int]) -> alt.Chart:
    """Tasks always, sometimes and never solved."""
    values = [{"solved": name, "tasks": count} for name, count in counts.items()]
    return (
        alt.Chart(alt.Data(values=values), title="Tasks solved")
        .mark_bar()
        .encode(
            x=alt.X("tasks:Q", title="tasks"),
            y=alt.Y("solved:N", sort=list(counts), title=None),
            color=alt.Color(
                "solved:N",
                scale=alt.Scale(
                    domain=["always", "sometimes", "never", "unmeasured"],
                    range=["#1a9850", "#fdae61", "#d73027", UNMEASURED],
                ),
                legend=None,
            ),
            tooltip=["solved:N", "tasks:Q"],
        )
        .properties(width=WIDTH, height=90)
    )


def coverage(group: Mapping[str, Any]) -> alt.Chart:
    """Measured and masked rollouts, and failed attempts by failure class."""
    metrics = group.get("metrics") or {}
    reward = group.get("reward") or {}
    masked = int(metrics.get("coverage/masked_rollouts", 0))
    values = [
        {"what": "measured rollouts", "count": int(reward.get("count", 0)), "kind": "rollouts"},
        {"what": "masked rollouts", "count": masked, "kind": "rollouts"},
    ]
    failures = group.get("failures") or {}
    for failure_class, count in (failures.get("by_class") or {}).items():
        values.append({"what": f"failed: {failure_class}", "count": count, "kind": "failed"})
    return (
        alt.Chart(alt.Data(values=values), title="Coverage")
        .mark_bar()
        .encode(
            x=alt.X("count:Q", title="rollouts (failed: standing attempts)"),
            y=alt.Y("what:N", sort=None, title=None, axis=alt.Axis(labelLimit=260)),
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(domain=["rollouts", "failed"], range=["#4c78a8", "#e45756"]),
                legend=None,
            ),
            tooltip=["what:N", "count:Q"],
        )
        .properties(width=WIDTH - 100, height=22 * len(values))
    )


def perf(ng_perf: Mapping[str, Mapping[str, float]]) -> alt.Chart | None:
    """``ng_perf``: latency percentiles and the mean tokens, or ``None`` when absent."""
    values = [
        {"measure": f"latency {stat}", "value": value, "unit": "ms"}
        for stat, value in (ng_perf.get("total_latency_ms") or {}).items()
    ]
    values += [
        {"measure": f"{name} (mean)", "value": stats["mean"], "unit": "tokens"}
        for name, stats in ng_perf.items()
        if name != "total_latency_ms"
    ]
    if not values:
        return None
    return (
        alt.Chart(alt.Data(values=values), title="ng_perf")
        .mark_bar(color="#72b7b2")
        .encode(
            x=alt.X("value:Q", title=None),
            y=alt.Y("measure:N", sort=None, title=None, axis=alt.Axis(labelLimit=260)),
            row=alt.Row("unit:N", title=None),
            tooltip=["measure:N", "value:Q"],
        )
        .resolve_scale(x="independent", y="independent")
        .properties(width=WIDTH - 100, height=alt.Step(18))
    )


def metric_intervals(rows: Sequence[Mapping[str, Any]]) -> alt.LayerChart | None:
    """Each ``mean/*`` metric with an interval on both sides: the value and the 95% interval."""
    values = []
    for row in rows:
        for side in ("baseline", "candidate"):
            low, high = row.get(f"{side}_ci_low"), row.get(f"{side}_ci_high")
            if row.get(side) is not None and low is not None and high is not None:
                values.append(
                    {
                        "metric": row["metric"],
                        "side": side,
                        "value": row[side],
                        "low": low,
                        "high": high,
                    }
                )
    if not values:
        return None
    base = alt.Chart(alt.Data(values=values)).encode(
        y=alt.Y("side:N", title=None),
        color=alt.Color("side:N", scale=alt.Scale(range=["#4c78a8", "#f58518"]), legend=None),
    )
    layers = alt.layer(
        base.mark_rule(strokeWidth=2).encode(x=alt.X("low:Q", title=None), x2="high:Q"),
        base.mark_point(filled=True, size=60).encode(
            x="value:Q", tooltip=["side:N", "value:Q", "low:Q", "high:Q"]
        ),
    )
    return (
        layers.properties(width=WIDTH - 100, height=40)
        .facet(
            row=alt.Row("metric:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left"))
        )
        .resolve_scale(x="independent")
        .properties(title="Metrics with 95% intervals across repeats")
    )


def task_scatter(
    task_scores: Mapping[str, tuple[float, float]], flips: Mapping[str, str]
) -> alt.TopLevelMixin:
    """Each compared task: baseline mean reward against candidate mean reward, counted in a
    10 × 10 grid over the rewards' range (so that any number of tasks reads the same), with the
    diagonal where nothing moved."""
    scores = [value for pair in task_scores.values() for value in pair]
    low, high = min(0.0, *scores), max(1.0, *scores)
    width = (high - low) / 10
    cells: dict[tuple[int, int], dict[str, Any]] = {}
    for task, (before, after) in task_scores.items():
        key = (_bin(before, low, width), _bin(after, low, width))
        cell = cells.setdefault(
            key,
            {
                "baseline": low + key[0] * width,
                "baseline_end": low + (key[0] + 1) * width,
                "candidate": low + key[1] * width,
                "candidate_end": low + (key[1] + 1) * width,
                "tasks": 0,
                "flipped": 0,
            },
        )
        cell["tasks"] += 1
        cell["flipped"] += task in flips
    scale = alt.Scale(domain=[low, high])
    counts = (
        alt.Chart(alt.Data(values=list(cells.values())))
        .mark_rect()
        .encode(
            x=alt.X("baseline:Q", scale=scale, title="baseline mean reward"),
            x2="baseline_end:Q",
            y=alt.Y("candidate:Q", scale=scale, title="candidate mean reward"),
            y2="candidate_end:Q",
            color=alt.Color("tasks:Q", scale=alt.Scale(scheme="blues"), title="tasks"),
            tooltip=["tasks:Q", "flipped:Q"],
        )
    )
    diagonal = (
        alt.Chart(alt.Data(values=[{"x": low, "y": low}, {"x": high, "y": high}]))
        .mark_line(color="#888", strokeDash=[4, 4])
        .encode(x="x:Q", y="y:Q")
    )
    return alt.layer(counts, diagonal, title="Per task: baseline against candidate").properties(
        width=300, height=300
    )


def _bin(value: float, low: float, width: float) -> int:
    return min(max(int((value - low) / width), 0), 9)


def agent_charts(group: Mapping[str, Any], rows: Sequence[TaskRow]) -> dict[str, alt.TopLevelMixin]:
    """One agent's charts, by name, from its ``summary --format json`` group and its tasks."""
    found: dict[str, alt.TopLevelMixin | None] = {
        "reward_distribution": (
            reward_distribution(group["reward"]["histogram"]) if group.get("reward") else None
        ),
        "pass_at_k": pass_at_k(group["metrics"]) if group.get("metrics") else None,
        "solved": solved_bars(solved_counts(rows)),
        "task_grid": task_grid(rows) if rows else None,
        "coverage": coverage(group),
        "ng_perf": perf(group["ng_perf"]) if group.get("ng_perf") else None,
    }
    return {name: chart for name, chart in found.items() if chart is not None}


def summary_charts(summary: ExportSummary) -> dict[str, dict[str, alt.TopLevelMixin]]:
    """Every agent's charts, by agent and chart name: ``summary_charts(summary)["math_agent"]
    ["pass_at_k"]`` shows in a notebook as it is."""
    data = summary.as_dict()["agents"]
    return {
        name: agent_charts(data[name], task_rows(group.metrics.task_rewards()))
        for name, group in sorted(summary.agents.items())
    }


def comparison_charts(comparison: Comparison) -> dict[str, dict[str, alt.TopLevelMixin]]:
    """Every compared agent's charts: the metrics with intervals and the per-task picture."""
    charts: dict[str, dict[str, alt.TopLevelMixin]] = {}
    for agent in comparison.agents:
        rows = [asdict(row) for row in agent.metrics]
        flips = {flip.task: flip.direction for flip in agent.flips.flips}
        found = {
            "metric_intervals": metric_intervals(rows),
            "tasks": task_scatter(agent.task_scores, flips) if agent.task_scores else None,
        }
        charts[agent.agent] = {name: chart for name, chart in found.items() if chart is not None}
    return charts
