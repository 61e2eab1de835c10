"""Two runs side by side, by ``gym eval compare``'s rules: metric rows and per-task flips.

A task's score is the mean of its measured rewards. When every common task's lowest and highest
reward, on both sides, is 0 or 1, the comparison is ``binary``: a task passes above 0.5, a task
at exactly 0.5 on either side is ``tied``, and a flip is ``pass_to_fail`` or ``fail_to_pass``.
Otherwise it is ``continuous`` and every task whose score changed is a flip (``changed``).
Regressions (``pass_to_fail``, or a fall in continuous mode) come first, then the largest
changes, then the task.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Final, Literal, NamedTuple

from nemogym_docent.analysis.intervals import RepeatMeans, welch_interval
from nemogym_docent.analysis.metrics import (
    MetricsGroup,
    agent_label,
    rollout_index,
    rollout_metrics,
)
from nemogym_docent.identity import (
    FAILURE_CLASS,
    TASK_ID,
    TASK_KEY,
    JoinKey,
    Task,
    input_digest,
    is_masked,
    numeric_reward,
    read_task,
)
from nemogym_docent.jsonl.discovery import discover, read_lines
from nemogym_docent.jsonl.parsing import BLANK, parse_line, split_lines

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
    input_mismatch_count: int = 0
    """Joined tasks whose two sides hold different request inputs: not compared."""
    input_mismatches: list[str] = field(default_factory=list)

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


Inputs = Mapping[str, set[str]]


def input_mismatches(
    baseline: Mapping[str, Sequence[float]],
    candidate: Mapping[str, Sequence[float]],
    inputs: tuple[Inputs, Inputs],
) -> list[str]:
    """The joined tasks whose sides hold different request inputs (both digests known)."""
    before, after = inputs
    common = sorted(set(baseline) & set(candidate))
    return [
        task
        for task in common
        if before.get(task) and after.get(task) and before[task] != after[task]
    ]


def flip_summary(
    baseline: Mapping[str, Sequence[float]],
    candidate: Mapping[str, Sequence[float]],
    inputs: tuple[Inputs, Inputs] | None = None,
) -> FlipSummary:
    """The flips between two runs, each given as its tasks' measured rewards; with both sides'
    ``inputs`` (digests by task), a joined task whose inputs differ is counted apart and left
    out of the flips and of every count of common tasks."""
    mismatched = input_mismatches(baseline, candidate, inputs) if inputs else []
    summary = _flip_summary(
        {task: v for task, v in baseline.items() if task not in mismatched},
        {task: v for task, v in candidate.items() if task not in mismatched},
    )
    if not mismatched:
        return summary
    return replace(summary, input_mismatch_count=len(mismatched), input_mismatches=mismatched)


def _flip_summary(
    baseline: Mapping[str, Sequence[float]], candidate: Mapping[str, Sequence[float]]
) -> FlipSummary:
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
    """One metric on both sides; ``delta`` is candidate minus baseline. ``mean/*`` rows carry
    ``gym eval compare``'s 95% intervals (``analysis.intervals``) when the repeats allow them."""

    metric: str
    baseline: float | None
    candidate: float | None
    delta: float | None
    baseline_ci_low: float | None = None
    baseline_ci_high: float | None = None
    candidate_ci_low: float | None = None
    candidate_ci_high: float | None = None
    delta_ci_low: float | None = None
    delta_ci_high: float | None = None


def metric_rows(
    baseline: Mapping[str, float],
    candidate: Mapping[str, float],
    repeats: tuple[RepeatMeans, RepeatMeans] | None = None,
) -> list[MetricRow]:
    """A row per metric of either side (baseline order first), spreads across runs left out;
    with both sides' ``repeats``, each ``mean/{f}`` row with its intervals."""
    names = list(baseline) + [name for name in candidate if name not in baseline]
    rows = []
    for name in names:
        if name.endswith(STAT_SUFFIXES):
            continue
        before, after = baseline.get(name), candidate.get(name)
        delta = None if before is None or after is None else after - before
        row = MetricRow(name, before, after, delta)
        if repeats is not None and name.startswith(MEAN_PREFIX):
            row = _with_intervals(row, name.removeprefix(MEAN_PREFIX), *repeats)
        rows.append(row)
    return rows


MEAN_PREFIX: Final = "mean/"


def _with_intervals(
    row: MetricRow, field: str, baseline: RepeatMeans, candidate: RepeatMeans
) -> MetricRow:
    before, after = baseline.estimates(field), candidate.estimates(field)
    sides = baseline.across(field), candidate.across(field)
    delta = welch_interval(before, after)
    return replace(
        row,
        baseline_ci_low=sides[0].ci_low if sides[0] else None,
        baseline_ci_high=sides[0].ci_high if sides[0] else None,
        candidate_ci_low=sides[1].ci_low if sides[1] else None,
        candidate_ci_high=sides[1].ci_high if sides[1] else None,
        delta_ci_low=delta[0] if delta else None,
        delta_ci_high=delta[1] if delta else None,
    )


@dataclass(frozen=True)
class _Measured:
    task: Task
    order: tuple[int, int]
    reward: float
    digest: str | None
    origin: str | None = None


@dataclass
class RunSide:
    """One side of a comparison: NeMo Gym's metrics per agent, and each measured reward with
    the two keys a task can be joined by."""

    answer_key: str | None = None
    metrics: dict[str, MetricsGroup] = field(default_factory=dict)
    repeats: dict[str, RepeatMeans] = field(default_factory=dict)
    rewards: dict[str, list[_Measured]] = field(default_factory=dict)
    without_task: int = 0
    """Measured rollouts that name no task, so cannot be joined."""
    _arrivals: int = 0

    def add(self, rollout: Mapping[str, Any], origin: str | None = None) -> None:
        """Count one rollout (a failed attempt counts for nothing here)."""
        if FAILURE_CLASS in rollout:
            return
        agent, task = agent_label(rollout), read_task(rollout)
        self.metrics.setdefault(agent, MetricsGroup(self.answer_key)).add(
            rollout, (agent, task.group)
        )
        if is_masked(rollout):
            return
        repeats = self.repeats.setdefault(agent, RepeatMeans())
        repeats.add(rollout_index(rollout), rollout_metrics(rollout))
        reward = numeric_reward(rollout)
        if reward is None:
            return
        if task.key is None and task.task_id is None:
            self.without_task += 1
            return
        self._arrivals += 1
        order = (rollout_index(rollout), self._arrivals)
        measured = _Measured(task, order, reward, input_digest(rollout), origin)
        self.rewards.setdefault(agent, []).append(measured)

    def has_task_ids(self) -> bool:
        return all(m.task.task_id is not None for found in self.rewards.values() for m in found)

    def tasks(self, agent: str, join: JoinKey) -> dict[str, list[float]]:
        """Each task's measured rewards in rollout order, by the join key."""
        found: dict[str, list[float]] = {}
        for measured in sorted(self.rewards.get(agent, []), key=lambda m: m.order):
            task = measured.task.joined(join)
            if task is not None:
                found.setdefault(task, []).append(measured.reward)
        return found

    def origins(self, agent: str, join: JoinKey) -> dict[str, list[str]]:
        """Each task's measured rollouts' lines (``"{file}:{line}"``) in rollout order, by the
        join key, where known."""
        found: dict[str, list[str]] = {}
        for measured in sorted(self.rewards.get(agent, []), key=lambda m: m.order):
            task = measured.task.joined(join)
            if task is not None and measured.origin is not None:
                found.setdefault(task, []).append(measured.origin)
        return found

    def inputs(self, agent: str, join: JoinKey) -> dict[str, set[str]]:
        """Each task's request input digests (``identity.input_digest``), by the join key."""
        found: dict[str, set[str]] = {}
        for measured in self.rewards.get(agent, []):
            task = measured.task.joined(join)
            if task is not None and measured.digest is not None:
                found.setdefault(task, set()).add(measured.digest)
        return found


@dataclass(frozen=True)
class AgentComparison:
    """One agent on both sides: its metric rows and its flips."""

    agent: str
    baseline_task_count: int
    candidate_task_count: int
    metrics: list[MetricRow]
    flips: FlipSummary
    task_scores: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Each compared task's mean reward on both sides (the tasks whose inputs match); for the
    reports' per-task picture, not in ``as_dict``."""
    flip_origins: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)
    """Each flipped task's lines on both sides (``"{file}:{line}"``, when read from files), for
    the reports' links; not in ``as_dict``."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "baseline_task_count": self.baseline_task_count,
            "candidate_task_count": self.candidate_task_count,
            "metrics": [asdict(row) for row in self.metrics],
            "flips": self.flips.as_dict(),
        }


@dataclass(frozen=True)
class Comparison:
    """Two runs compared agent by agent; ``join_key`` says how tasks were matched."""

    join_key: JoinKey
    agents: list[AgentComparison]
    baseline_only_agents: list[str]
    candidate_only_agents: list[str]
    unjoinable_rollouts: dict[str, int]

    @property
    def regressed(self) -> bool:
        """Whether any task regressed, for any agent."""
        return any(agent.flips.regressions for agent in self.agents)

    def flipped(self) -> dict[tuple[str, str], TaskFlip]:
        """Every flip, by (agent, task)."""
        return {
            (agent.agent, flip.task): flip for agent in self.agents for flip in agent.flips.flips
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "join_key": self.join_key,
            "agents": [agent.as_dict() for agent in self.agents],
            "baseline_only_agents": self.baseline_only_agents,
            "candidate_only_agents": self.candidate_only_agents,
            "unjoinable_rollouts": self.unjoinable_rollouts,
            "regressed": self.regressed,
        }


def compare_sides(baseline: RunSide, candidate: RunSide) -> Comparison:
    """Compare two sides read in full: by ``_ng_task_id`` when every measured rollout of both
    has one, else by the task key (``identity.Task``)."""
    join: JoinKey = TASK_ID if baseline.has_task_ids() and candidate.has_task_ids() else TASK_KEY
    common = [agent for agent in baseline.metrics if agent in candidate.metrics]
    agents = []
    for agent in sorted(common):
        before, after = baseline.tasks(agent, join), candidate.tasks(agent, join)
        flips = flip_summary(
            before, after, (baseline.inputs(agent, join), candidate.inputs(agent, join))
        )
        compared = sorted(set(before) & set(after) - set(flips.input_mismatches))
        agents.append(
            AgentComparison(
                agent,
                len(before),
                len(after),
                metric_rows(
                    baseline.metrics[agent].metrics(),
                    candidate.metrics[agent].metrics(),
                    (
                        baseline.repeats.get(agent, RepeatMeans()),
                        candidate.repeats.get(agent, RepeatMeans()),
                    ),
                ),
                flips,
                {task: (_mean(before[task]), _mean(after[task])) for task in compared},
                _flip_origins(flips, baseline.origins(agent, join), candidate.origins(agent, join)),
            )
        )
    return Comparison(
        join,
        agents,
        sorted(set(baseline.metrics) - set(candidate.metrics)),
        sorted(set(candidate.metrics) - set(baseline.metrics)),
        {"baseline": baseline.without_task, "candidate": candidate.without_task},
    )


def _flip_origins(
    flips: FlipSummary, before: Mapping[str, list[str]], after: Mapping[str, list[str]]
) -> dict[str, tuple[list[str], list[str]]]:
    return {
        flip.task: (before.get(flip.task, []), after.get(flip.task, [])) for flip in flips.flips
    }


def compare_rollouts(
    baseline: Iterable[Any], candidate: Iterable[Any], *, answer_key: str | None = None
) -> Comparison:
    """Compare two runs given as their rollouts (anything but a JSON object is left out)."""
    sides = RunSide(answer_key), RunSide(answer_key)
    for side, rollouts in zip(sides, (baseline, candidate), strict=True):
        for rollout in rollouts:
            if isinstance(rollout, Mapping):
                side.add(rollout)
    return compare_sides(*sides)


def _quiet(_text: str) -> None:
    pass


def _ignore(_size: int) -> None:
    pass


def read_side(
    path: str | Path, *, answer_key: str | None = None, note: Callable[[str], None] = _quiet
) -> RunSide:
    """One side of a comparison from an export file, or a folder holding one, read through the
    one reader; lines that are not JSON objects are left out, each file's count told to ``note``.
    ``InputError`` when unreadable."""
    found = discover([str(path)], skip_unreadable=False)
    for text in found.notes:
        note(text)
    side = RunSide(answer_key)
    for source in found.sources:
        left_out = 0
        lines = split_lines(read_lines(source, count_bytes=_ignore, note=note))
        for line, raw in enumerate(lines, start=1):
            try:
                record = parse_line(raw)
            except (ValueError, RecursionError):
                left_out += 1
                continue
            if isinstance(record, Mapping):
                side.add(record, f"{source.name}:{line}")
            elif record is not BLANK:
                left_out += 1
        if left_out:
            note(f"note: {source.name}: {left_out:,} lines are not JSON objects; left out")
    return side


def compare_exports(
    baseline: str | Path,
    candidate: str | Path,
    *,
    answer_key: str | None = None,
    note: Callable[[str], None] = _quiet,
) -> Comparison:
    """Compare two exports (files, or folders holding one export each)."""
    return compare_sides(
        read_side(baseline, answer_key=answer_key, note=note),
        read_side(candidate, answer_key=answer_key, note=note),
    )
