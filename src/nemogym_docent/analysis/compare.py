"""Two runs side by side, by ``gym eval compare``'s rules: metric rows and per-task flips.

A task's score is the mean of its measured rewards. When every common task's lowest and highest
reward, on both sides, is 0 or 1, the comparison is ``binary``: a task passes above 0.5, a task
at exactly 0.5 on either side is ``tied``, and a flip is ``pass_to_fail`` or ``fail_to_pass``.
Otherwise it is ``continuous`` and every task whose score changed is a flip (``changed``).
Regressions (``pass_to_fail``, or a fall in continuous mode) come first, then the largest
changes, then the task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal, NamedTuple

PASS_THRESHOLD: Final = 0.5
STAT_SUFFIXES: Final = ("/std_dev_across_runs", "/std_err_across_runs")

Mode = Literal["binary", "continuous", "unavailable"]
Direction = Literal["pass_to_fail", "fail_to_pass", "changed"]


@dataclass(frozen=True)
class TaskFlip:
    """One task that moved between the runs."""

    task: str
    baseline_score: float
    candidate_score: float
    delta: float
    direction: Direction

    @property
    def regressed(self) -> bool:
        return self.direction == "pass_to_fail" or (self.direction == "changed" and self.delta < 0)


@dataclass(frozen=True)
class FlipSummary:
    """Per-task movement between two runs, under ``gym eval compare``'s field names."""

    mode: Mode
    common_task_count: int = 0
    baseline_only_task_count: int = 0
    candidate_only_task_count: int = 0
    pass_to_fail_count: int | None = None
    fail_to_pass_count: int | None = None
    tied_count: int | None = None
    unchanged_count: int | None = None
    net: int | None = None
    flips: list[TaskFlip] = field(default_factory=list)
    reason: str | None = None

    @property
    def regressions(self) -> list[TaskFlip]:
        return [flip for flip in self.flips if flip.regressed]

    def as_dict(self) -> dict[str, Any]:
        """Plain data, with the field the scores come from (``reward``)."""
        return {"field": "reward", **asdict(self)}


class _TaskCounts(NamedTuple):
    common: int
    baseline_only: int
    candidate_only: int


def flip_direction(baseline_score: float, candidate_score: float) -> Direction | None:
    """The binary flip between two task means, or ``None`` (unchanged, or tied at 0.5)."""
    if PASS_THRESHOLD in (baseline_score, candidate_score):
        return None
    baseline_passed = baseline_score > PASS_THRESHOLD
    candidate_passed = candidate_score > PASS_THRESHOLD
    if baseline_passed and not candidate_passed:
        return "pass_to_fail"
    if candidate_passed and not baseline_passed:
        return "fail_to_pass"
    return None


def flip_summary(
    baseline: Mapping[str, Sequence[float]], candidate: Mapping[str, Sequence[float]]
) -> FlipSummary:
    """The flips between two runs, each given as its tasks' measured rewards."""
    common = sorted(set(baseline) & set(candidate))
    counts = _TaskCounts(
        len(common), len(set(baseline) - set(candidate)), len(set(candidate) - set(baseline))
    )
    if not common:
        reason = (
            f"no task in common (baseline has {len(baseline)}, candidate has {len(candidate)})"
            if baseline and candidate
            else "one run has no task with a measured reward"
        )
        return FlipSummary("unavailable", *counts, reason=reason)
    scored = [(task, _mean(baseline[task]), _mean(candidate[task])) for task in common]
    if not _binary(common, baseline, candidate):
        movers = [
            TaskFlip(task, before, after, after - before, "changed")
            for task, before, after in scored
            if after != before
        ]
        return FlipSummary(
            "continuous", *counts, unchanged_count=len(scored) - len(movers), flips=_ordered(movers)
        )
    flips: list[TaskFlip] = []
    tied = unchanged = 0
    for task, before, after in scored:
        direction = flip_direction(before, after)
        if direction is not None:
            flips.append(TaskFlip(task, before, after, after - before, direction))
        elif PASS_THRESHOLD in (before, after):
            tied += 1
        else:
            unchanged += 1
    pass_to_fail = sum(1 for flip in flips if flip.direction == "pass_to_fail")
    fail_to_pass = len(flips) - pass_to_fail
    return FlipSummary(
        "binary",
        *counts,
        pass_to_fail_count=pass_to_fail,
        fail_to_pass_count=fail_to_pass,
        tied_count=tied,
        unchanged_count=unchanged,
        net=fail_to_pass - pass_to_fail,
        flips=_ordered(flips),
    )


def _binary(
    tasks: Sequence[str],
    baseline: Mapping[str, Sequence[float]],
    candidate: Mapping[str, Sequence[float]],
) -> bool:
    return all(
        min(side[task]) in (0, 1) and max(side[task]) in (0, 1)
        for task in tasks
        for side in (baseline, candidate)
    )


def _ordered(flips: list[TaskFlip]) -> list[TaskFlip]:
    return sorted(flips, key=lambda flip: (not flip.regressed, -abs(flip.delta), flip.task))


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


@dataclass(frozen=True)
class MetricRow:
    """One metric on both sides; ``delta`` is candidate minus baseline."""

    metric: str
    baseline: float | None
    candidate: float | None
    delta: float | None


def metric_rows(baseline: Mapping[str, float], candidate: Mapping[str, float]) -> list[MetricRow]:
    """A row per metric of either side (baseline order first), spreads across runs left out."""
    names = list(baseline) + [name for name in candidate if name not in baseline]
    rows = []
    for name in names:
        if name.endswith(STAT_SUFFIXES):
            continue
        before, after = baseline.get(name), candidate.get(name)
        delta = None if before is None or after is None else after - before
        rows.append(MetricRow(name, before, after, delta))
    return rows
