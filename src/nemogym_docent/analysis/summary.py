"""What an export holds, per file and per agent, read in one pass with bounded memory.

For each group: rollouts, tasks, rollouts per task, reward mean/min/max and a histogram, pass@k
over tasks, the mean of each NeMo Gym metric, and why the strict mode refuses what it refuses.
Memory grows with the number of tasks (two numbers each), metric names and refusal reasons,
never with the number of rollouts: the histogram keeps at most ``HISTOGRAM_VALUES`` distinct
rewards, rounding them more coarsely when there are more.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from nemogym_docent.analysis.selection import numeric_reward, task_key
from nemogym_docent.analysis.where import Where, matches_all
from nemogym_docent.convert import convert_nemogym_rollout_to_agent_run
from nemogym_docent.errors import ConversionError
from nemogym_docent.jsonl.discovery import Source, discover, read_lines
from nemogym_docent.jsonl.parsing import BLANK, parse_line, split_lines
from nemogym_docent.mapping.full.scores import REWARD, rollout_scores

HISTOGRAM_VALUES: Final = 512
HISTOGRAM_BINS: Final = 10
NO_AGENT: Final = "(no agent)"
_INDEX = re.compile(r"\[\d+\]")
_MORE = re.compile(r" \(and \d+ more\)\Z")


def rollout_metrics(rollout: dict[str, Any]) -> dict[str, float]:
    """NeMo Gym's per-rollout metrics, named as full detail names its scores
    (``rollout_scores``), without ``reward``. Booleans count as 0 and 1."""
    fields = {key: value for key, value in rollout.items() if key != REWARD}
    metrics: dict[str, float] = {}
    for name, value in rollout_scores(None, fields).scores.items():
        number = _number(value)
        if name != REWARD and number is not None:
            metrics[name] = number
    return metrics


def _number(value: Any) -> float | None:
    if not isinstance(value, int | float):
        return None
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else number


def refusal_reason(json_path: str, message: str) -> str:
    """A strict refusal as a reason to count: array indices generalised, "(and N more)" cut."""
    path = _INDEX.sub("[*]", json_path)
    message = _MORE.sub("", message)
    return f"{path}: {message}" if path else message


def strict_refusal(record: Any) -> str | None:
    """Why the strict mode refuses a record (``refusal_reason``), or ``None`` if it converts."""
    try:
        convert_nemogym_rollout_to_agent_run(record)
    except ConversionError as exc:
        return refusal_reason(exc.json_path, exc.message)
    return None


@dataclass
class RewardHistogram:
    """Counts of reward values, at most ``HISTOGRAM_VALUES`` distinct ones."""

    counts: Counter[float] = field(default_factory=Counter)
    digits: int = 6
    """Significant digits values are rounded to; fewer each time the distinct values overflow."""

    def add(self, value: float) -> None:
        self.counts[_round(value, self.digits)] += 1
        while len(self.counts) > HISTOGRAM_VALUES and self.digits > 1:
            self.digits -= 1
            coarser: Counter[float] = Counter()
            for old, count in self.counts.items():
                coarser[_round(old, self.digits)] += count
            self.counts = coarser

    def bins(self) -> list[dict[str, float | int]]:
        """Each distinct value when there are few, else ``HISTOGRAM_BINS`` equal bins."""
        if not self.counts:
            return []
        values = sorted(self.counts)
        if len(values) <= HISTOGRAM_BINS:
            return [{"low": v, "high": v, "count": self.counts[v]} for v in values]
        low, high = values[0], values[-1]
        width = (high - low) / HISTOGRAM_BINS
        counts = [0] * HISTOGRAM_BINS
        for value, count in self.counts.items():
            counts[min(int((value - low) / width), HISTOGRAM_BINS - 1)] += count
        return [
            {"low": low + i * width, "high": low + (i + 1) * width, "count": count}
            for i, count in enumerate(counts)
        ]


def _round(value: float, digits: int) -> float:
    return float(f"{value:.{digits}g}")


@dataclass
class GroupSummary:
    """The summary of one file, one agent, or everything."""

    records: int = 0
    """Non-blank lines read."""
    rollouts: int = 0
    """Records that are JSON objects."""
    unreadable: int = 0
    """Lines that are not JSON, and JSON values that are not objects."""
    strict_refusals: Counter[str] = field(default_factory=Counter)
    _rewards: list[float] = field(default_factory=lambda: [0, 0.0, math.inf, -math.inf])
    _histogram: RewardHistogram = field(default_factory=RewardHistogram)
    _tasks: dict[Hashable, list[Any]] = field(default_factory=dict)
    """Per task: rollouts, best reward, agent."""
    _top_rewards: dict[str, float] = field(default_factory=dict)
    """Per agent: the highest reward."""
    _metrics: dict[str, list[float]] = field(default_factory=dict)
    """Per metric: rollouts that have it, sum."""

    def add(
        self, rollout: dict[str, Any], *, refusal: str | None, task: Hashable | None, agent: str
    ) -> None:
        self.records += 1
        self.rollouts += 1
        if refusal is not None:
            self.strict_refusals[refusal] += 1
        reward = numeric_reward(rollout)
        if reward is not None and math.isinf(reward):
            reward = None
        if reward is not None:
            totals = self._rewards
            totals[0] += 1
            totals[1] += reward
            totals[2] = min(totals[2], reward)
            totals[3] = max(totals[3], reward)
            self._histogram.add(reward)
            top = self._top_rewards.get(agent)
            if top is None or reward > top:
                self._top_rewards[agent] = reward
        if task is not None:
            found = self._tasks.get(task)
            if found is None:
                self._tasks[task] = [1, reward, agent]
            else:
                found[0] += 1
                if reward is not None and (found[1] is None or reward > found[1]):
                    found[1] = reward
        for name, value in rollout_metrics(rollout).items():
            totals = self._metrics.setdefault(name, [0, 0.0])
            totals[0] += 1
            totals[1] += value

    def add_unreadable(self, reason: str) -> None:
        self.records += 1
        self.unreadable += 1
        self.strict_refusals[reason] += 1

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``--format json``."""
        count, total, low, high = self._rewards
        sizes = [found[0] for found in self._tasks.values()]
        return {
            "records": self.records,
            "rollouts": self.rollouts,
            "unreadable": self.unreadable,
            "tasks": len(self._tasks),
            "rollouts_per_task": (
                {"mean": sum(sizes) / len(sizes), "min": min(sizes), "max": max(sizes)}
                if sizes
                else None
            ),
            "reward": (
                {
                    "count": int(count),
                    "mean": total / count,
                    "min": low,
                    "max": high,
                    "histogram": self._histogram.bins(),
                }
                if count
                else None
            ),
            "pass_at_k": self._pass_at_k(max(sizes, default=0)),
            "metrics": {
                name: {"count": int(n), "mean": total / n}
                for name, (n, total) in sorted(self._metrics.items())
            },
            "strict_refusals": dict(self.strict_refusals.most_common()),
        }

    def _pass_at_k(self, k: int) -> dict[str, Any] | None:
        """The share of tasks with a rollout at the top reward of the task's agent in the group.

        ``k`` is the largest number of rollouts of a task.
        """
        tops = self._top_rewards
        judged = [(best, agent) for _, best, agent in self._tasks.values() if agent in tops]
        if not judged:
            return None
        passed = sum(1 for best, agent in judged if best is not None and best >= tops[agent])
        return {
            "k": k,
            "tasks_passed": passed,
            "rate": passed / len(judged),
            "top_reward": dict(sorted(tops.items())),
        }


@dataclass
class ExportSummary:
    """Summaries of everything read, by file and by agent (``agent_ref.name``)."""

    total: GroupSummary = field(default_factory=GroupSummary)
    files: dict[str, GroupSummary] = field(default_factory=dict)
    agents: dict[str, GroupSummary] = field(default_factory=dict)

    def add(self, file: str, record: Any, *, refusal: str | None) -> None:
        """Count one parsed record of ``file``; ``refusal`` is why strict refuses it, if it does."""
        file_summary = self.files.setdefault(file, GroupSummary())
        if not isinstance(record, dict):
            reason = refusal or "not a JSON object"
            for group in (self.total, file_summary):
                group.add_unreadable(reason)
            return
        agent_ref = record.get("agent_ref")
        agent = agent_ref.get("name") if isinstance(agent_ref, dict) else None
        agent_name = agent if isinstance(agent, str) and agent else NO_AGENT
        agent_summary = self.agents.setdefault(agent_name, GroupSummary())
        key = task_key(record)
        task = key
        for group in (self.total, file_summary, agent_summary):
            group.add(record, refusal=refusal, task=task, agent=agent_name)

    def add_unreadable(self, file: str, reason: str) -> None:
        """Count a line that is not JSON."""
        for group in (self.total, self.files.setdefault(file, GroupSummary())):
            group.add_unreadable(reason)

    def add_line(self, file: str, raw: bytes, *, conditions: tuple[Where, ...] = ()) -> None:
        """Parse, check and count one line of ``file``, if it meets the conditions.

        A blank line counts for nothing; a line that is not JSON always counts.
        """
        try:
            record = parse_line(raw)
        except (ValueError, RecursionError):  # not UTF-8, not JSON, too deep, too long a number
            self.add_unreadable(file, "not JSON")
            return
        if record is not BLANK and (not conditions or matches_all(conditions, record)):
            self.add(file, record, refusal=strict_refusal(record))

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total.as_dict(),
            "files": {name: group.as_dict() for name, group in self.files.items()},
            "agents": {name: group.as_dict() for name, group in sorted(self.agents.items())},
        }


def summarize_jsonl_files(
    paths: Iterable[str | Path], *, conditions: tuple[Where, ...] = ()
) -> ExportSummary:
    """Summarize JSONL exports (files, folders, globs; plain, ``.gz`` or ``.zst``), one line at a
    time, read as every command reads them (side files in folders left out).

    An input that cannot be found or read raises ``ConversionError`` (an ``InputError``).
    """
    found = discover([str(path) for path in paths], skip_unreadable=False)
    return summarize_sources(found.sources, conditions=conditions)


def summarize_sources(
    sources: Iterable[Source],
    *,
    conditions: tuple[Where, ...] = (),
    note: Callable[[str], None] = lambda _: None,
) -> ExportSummary:
    """Summarize found inputs; ``note`` hears when a name and its content disagree about
    compression."""
    summary = ExportSummary()
    for source in sources:
        for raw in split_lines(read_lines(source, count_bytes=lambda _: None, note=note)):
            summary.add_line(source.name, raw, conditions=conditions)
    return summary
