"""What an export holds, per file, per agent and in total, read in one pass.

For each group: rollouts, tasks, rollouts per task, the measured rewards' mean, range and
histogram, NeMo Gym's own metrics (``analysis.metrics``), ``ng_perf``, failed attempts, and why
the strict mode refuses what it refuses. Memory grows with the number of rollouts by a few
numbers each (NeMo Gym's metrics need every task's rewards in order); the histogram keeps at
most ``HISTOGRAM_VALUES`` distinct rewards, rounding them more coarsely when there are more.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from nemogym_docent.analysis.metrics import (
    PERF,
    FailureCounts,
    MetricsGroup,
    RolloutEntry,
    agent_label,
    rollout_metrics,
)
from nemogym_docent.analysis.where import Where, matches_all
from nemogym_docent.convert import convert_nemogym_rollout_to_agent_run
from nemogym_docent.errors import ConversionError, problem_kind
from nemogym_docent.identity import FAILURE_CLASS, read_task
from nemogym_docent.jsonl.discovery import Source, discover, read_lines
from nemogym_docent.jsonl.parsing import BLANK, parse_line, split_lines

HISTOGRAM_VALUES: Final = 512
HISTOGRAM_BINS: Final = 10


def strict_refusal(record: Any) -> str | None:
    """Why the strict mode refuses a record (``errors.problem_kind``), or ``None`` if it
    converts."""
    try:
        convert_nemogym_rollout_to_agent_run(record)
    except ConversionError as exc:
        return problem_kind(exc.json_path, exc.message)
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

    answer_key: str | None = None
    records: int = 0
    """Non-blank lines read."""
    rollouts: int = 0
    """Records that are rollouts (JSON objects that are not failed attempts)."""
    unreadable: int = 0
    """Lines that are not JSON, and JSON values that are not objects."""
    strict_refusals: Counter[str] = field(default_factory=Counter)
    metrics: MetricsGroup = field(init=False)
    failures: FailureCounts = field(default_factory=FailureCounts)
    _rewards: list[float] = field(default_factory=lambda: [0, 0.0, math.inf, -math.inf])
    _histogram: RewardHistogram = field(default_factory=RewardHistogram)

    def __post_init__(self) -> None:
        self.metrics = MetricsGroup(self.answer_key)

    def add(self, rollout: ReadRollout, *, refusal: str | None) -> None:
        self.records += 1
        self.rollouts += 1
        if refusal is not None:
            self.strict_refusals[refusal] += 1
        entry = rollout.entry
        reward = entry.reward
        if reward is not None and not math.isinf(reward) and not entry.masked:
            totals = self._rewards
            totals[0] += 1
            totals[1] += reward
            totals[2] = min(totals[2], reward)
            totals[3] = max(totals[3], reward)
            self._histogram.add(reward)
        self.metrics.add_entry(entry, rollout.task, rollout.metrics, rollout.perf)

    def add_failure(self, row: dict[str, Any]) -> None:
        self.records += 1
        self.failures.add(row)

    def add_unreadable(self, reason: str) -> None:
        self.records += 1
        self.unreadable += 1
        self.strict_refusals[reason] += 1

    def as_dict(self) -> dict[str, Any]:
        """Plain data for ``--format json``."""
        count, total, low, high = self._rewards
        sizes = self.metrics.task_sizes()
        return {
            "records": self.records,
            "rollouts": self.rollouts,
            "unreadable": self.unreadable,
            "tasks": len(sizes),
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
            "metrics": self.metrics.metrics(),
            "ng_perf": self.metrics.perf() or None,
            "failures": self.failures.as_dict(),
            "strict_refusals": dict(self.strict_refusals.most_common()),
        }


@dataclass(frozen=True)
class ReadRollout:
    """One rollout as every group that holds it counts it."""

    entry: RolloutEntry
    task: Hashable
    metrics: dict[str, float]
    perf: Any


@dataclass
class ExportSummary:
    """Summaries of everything read, by file and by agent (NeMo Gym's agent label).

    ``answer_key`` names the answer field of ``majority@k`` (``None``: ``extracted_answer``
    where a rollout has it).
    """

    answer_key: str | None = None
    total: GroupSummary = field(init=False)
    files: dict[str, GroupSummary] = field(default_factory=dict)
    agents: dict[str, GroupSummary] = field(default_factory=dict)
    _read: int = 0

    def __post_init__(self) -> None:
        self.total = GroupSummary(self.answer_key)

    def _group(self, groups: dict[str, GroupSummary], name: str) -> GroupSummary:
        found = groups.get(name)
        if found is None:
            found = groups[name] = GroupSummary(self.answer_key)
        return found

    def add(self, file: str, record: Any, *, refusal: str | None, line: int | None = None) -> None:
        """Count one parsed record of ``file`` (at ``line``, when known); ``refusal`` is why
        strict refuses it, if it does."""
        file_summary = self._group(self.files, file)
        if not isinstance(record, dict):
            reason = refusal or "not a JSON object"
            for group in (self.total, file_summary):
                group.add_unreadable(reason)
            return
        agent = agent_label(record)
        groups = (self.total, file_summary, self._group(self.agents, agent))
        if FAILURE_CLASS in record:
            for group in groups:
                group.add_failure(record)
            return
        self._read += 1
        rollout = ReadRollout(
            RolloutEntry.read(
                record,
                answer_key=self.answer_key,
                arrival=self._read,
                origin=None if line is None else f"{file}:{line}",
            ),
            (agent, read_task(record).group),
            rollout_metrics(record),
            record.get(PERF),
        )
        for group in groups:
            group.add(rollout, refusal=refusal)

    def add_unreadable(self, file: str, reason: str) -> None:
        """Count a line that is not JSON."""
        for group in (self.total, self._group(self.files, file)):
            group.add_unreadable(reason)

    def add_line(
        self,
        file: str,
        raw: bytes,
        *,
        conditions: tuple[Where, ...] = (),
        line: int | None = None,
    ) -> None:
        """Parse, check and count one line of ``file`` (number ``line``, when known), if it
        meets the conditions.

        A blank line counts for nothing; a line that is not JSON always counts.
        """
        try:
            record = parse_line(raw)
        except (ValueError, RecursionError):  # not UTF-8, not JSON, too deep, too long a number
            self.add_unreadable(file, "not JSON")
            return
        if record is not BLANK and (not conditions or matches_all(conditions, record)):
            self.add(file, record, refusal=strict_refusal(record), line=line)

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total.as_dict(),
            "files": {name: group.as_dict() for name, group in self.files.items()},
            "agents": {name: group.as_dict() for name, group in sorted(self.agents.items())},
        }


def summarize_jsonl_files(
    paths: Iterable[str | Path],
    *,
    conditions: tuple[Where, ...] = (),
    answer_key: str | None = None,
) -> ExportSummary:
    """Summarize JSONL exports (files, folders, globs; plain, ``.gz`` or ``.zst``), one line at a
    time, read as every command reads them (side files in folders left out). ``answer_key``
    names the answer field of ``majority@k``.

    An input that cannot be found or read raises ``ConversionError`` (an ``InputError``).
    """
    found = discover([str(path) for path in paths], skip_unreadable=False)
    return summarize_sources(found.sources, conditions=conditions, answer_key=answer_key)


def summarize_sources(
    sources: Iterable[Source],
    *,
    conditions: tuple[Where, ...] = (),
    answer_key: str | None = None,
    note: Callable[[str], None] = lambda _: None,
) -> ExportSummary:
    """Summarize found inputs; ``note`` hears when a name and its content disagree about
    compression."""
    summary = ExportSummary(answer_key)
    for source in sources:
        lines = split_lines(read_lines(source, count_bytes=lambda _: None, note=note))
        for line, raw in enumerate(lines, start=1):
            summary.add_line(source.name, raw, conditions=conditions, line=line)
    return summary


def summarize_rollouts(
    rollouts: Iterable[Any], *, answer_key: str | None = None, name: str = "<rollouts>"
) -> ExportSummary:
    """Summarize parsed rollouts (one JSON value each) as if they were the file ``name``."""
    summary = ExportSummary(answer_key)
    for rollout in rollouts:
        summary.add(name, rollout, refusal=strict_refusal(rollout))
    return summary
