"""NeMo Gym's own numbers (``gym eval profile``), under NeMo Gym's names and by its formulas.

A task is the list of its measured rollouts in rollout order; each rollout is a dict of named
scores (``accuracy`` is the reward) and, when an answer field is known, its answer. Masked
rollouts are left out before anything here runs, and reported as ``coverage/*``.

- ``pass@{k}/{score}``: a task whose values are all 0 or 1 scores ``1 - C(n-c, k) / C(n, k)``
  (n values, c of them 1); any other task scores the max of its first k values; a task with
  fewer than k values is left out. The mean over tasks, as a percentage.
- ``pass@1[avg-of-{k}]/{score}``: the mean of each task's first k values, averaged over tasks.
- ``majority@{k}/{score}``: per task, the most common (answer, score) pairs among the first k
  rollouts that have an answer, the mean score of the pairs tied at the top (0 when no rollout
  has an answer), averaged over tasks. With an answer field, ``no_answer`` (1 when the answer is
  missing) is a score like the others.
- ``pass@1[avg-of-{k}]/{score}/std_dev_across_runs`` and ``…/std_err_across_runs``: run i is the
  i-th rollout of every task that has one; the sample standard deviation of the first k runs'
  mean scores (as percentages), and that divided by the square root of their number.
- ``mean/{metric}``: the mean of each per-rollout metric over the measured rollouts that have it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Self

from nemogym_docent.identity import (
    is_masked,
    number_of,
    numeric_reward,
    read_failed_attempt,
    read_identity,
)

ACCURACY: Final = "accuracy"
NO_ANSWER: Final = "no_answer"
DEFAULT_ANSWER_KEY: Final = "extracted_answer"
MASK: Final = "mask_sample"
PERF: Final = "ng_perf"
PERF_TOKENS: Final = (
    "prompt_tokens",
    "cached_prompt_tokens",
    "completion_tokens",
    "reasoning_tokens",
)
PERF_LATENCY: Final = "total_latency_ms"
NO_AGENT: Final = "(no agent)"


@dataclass(frozen=True)
class ScoredRollout:
    """One measured rollout as the metrics see it: its scores and, if known, its answer."""

    scores: Mapping[str, float]
    answer: Hashable | None = None


def unbiased_pass_at_k(n: int, passed: int, k: int) -> float:
    """``1 - C(n - passed, k) / C(n, k)``: the chance that k of n draws hold a pass."""
    failed = n - passed
    if failed < k:
        return 1.0
    return 1.0 - math.comb(failed, k) / math.comb(n, k)


def pass_majority_metrics(
    tasks: Sequence[Sequence[ScoredRollout]], *, with_answers: bool = False
) -> dict[str, float]:
    """``pass@k``, ``pass@1[avg-of-k]``, ``majority@k`` (``with_answers``) and the spread across
    runs, for every k from 1 to the largest number of rollouts of a task.

    One pass over each task's rollouts per score gives its value at every k (running counts,
    sums, maxima and votes), so the cost is linear in the rollouts of a task."""
    if not tasks:
        return {}
    scores = [[_with_no_answer(r, with_answers) for r in task] for task in tasks]
    names = sorted({name for task in scores for rollout in task for name in rollout})
    max_k = max(len(task) for task in tasks)
    sums = {name: _score_sums(tasks, scores, name, max_k, with_answers) for name in names}
    metrics: dict[str, float] = {}
    for k in range(1, max_k + 1):
        for name in names:
            passes, averages, majorities = sums[name]
            passes.put(metrics, f"pass@{k}/{name}", k)
            averages.put(metrics, f"pass@1[avg-of-{k}]/{name}", k)
            if with_answers:
                majorities.put(metrics, f"majority@{k}/{name}", k)
    for name in names:
        # The first k runs (fewer when fewer runs have this score): 2, 3, …, then all of them.
        stds = _running_std(_run_means(scores, name, max_k))
        for k in range(2, max_k + 1) if stds else ():
            runs = min(k, len(stds) + 1)
            prefix = f"pass@1[avg-of-{k}]/{name}"
            metrics[f"{prefix}/std_dev_across_runs"] = stds[runs - 2]
            metrics[f"{prefix}/std_err_across_runs"] = stds[runs - 2] / math.sqrt(runs)
    return metrics


def _score_sums(
    tasks: Sequence[Sequence[ScoredRollout]],
    scores: list[list[dict[str, float]]],
    name: str,
    max_k: int,
    with_answers: bool,
) -> tuple[_KSums, _KSums, _KSums]:
    """One score's pass@k, pass@1[avg-of-k] and majority@k sums over tasks, for every k."""
    passes, averages, majorities = _KSums(max_k), _KSums(max_k), _KSums(max_k)
    for task, task_scores in zip(tasks, scores, strict=True):
        passes.add_prefix(_pass_by_k(task_scores, name))
        averages.add_all(_first_k_means(task_scores, name))
        if with_answers:
            majorities.add_all(_majority_by_k(task, task_scores, name))
    return passes, averages, majorities


class _KSums:
    """Per k: the running sum and count of the tasks' values, added in task order."""

    def __init__(self, max_k: int) -> None:
        self.sums = [0.0] * (max_k + 1)
        self.counts = [0] * (max_k + 1)

    def add_prefix(self, values: list[float]) -> None:
        """A task's values for k = 1 … len(values) (the task has no value past that)."""
        for k, value in enumerate(values, start=1):
            self.sums[k] += value
            self.counts[k] += 1

    def add_all(self, values: Sequence[float | None]) -> None:
        """A task's values for k = 1 … len(values), and past that its last value (a task of
        no rollouts has no value; ``None`` is no value at that k)."""
        if not values:
            return
        for k in range(1, len(self.sums)):
            value = values[min(k, len(values)) - 1]
            if value is not None:
                self.sums[k] += value
                self.counts[k] += 1

    def put(self, metrics: dict[str, float], name: str, k: int) -> None:
        if self.counts[k]:
            metrics[name] = 100.0 * (self.sums[k] / self.counts[k])


def _with_no_answer(rollout: ScoredRollout, with_answers: bool) -> dict[str, float]:
    scores = dict(rollout.scores)
    if with_answers:
        scores[NO_ANSWER] = 1 if rollout.answer is None else 0
    return scores


def _pass_by_k(task: list[dict[str, float]], name: str) -> list[float]:
    """pass@k of one task for k = 1 … its number of values of ``name``."""
    values = [rollout[name] for rollout in task if name in rollout]
    if all(value in (0, 1) for value in values):
        return _unbiased_by_k(len(values), sum(1 for value in values if value))
    best: list[float] = []
    for value in values:
        best.append(value if not best or value > best[-1] else best[-1])
    return best


def _unbiased_by_k(n: int, passed: int) -> list[float]:
    """``unbiased_pass_at_k(n, passed, k)`` for k = 1 … n, each ratio of binomials from the last:
    C(n-c, k) / C(n, k) = C(n-c, k-1) / C(n, k-1) · (n-c-k+1) / (n-k+1)."""
    failed = n - passed
    ratio, values = 1.0, []
    for k in range(1, n + 1):
        ratio = ratio * (failed - k + 1) / (n - k + 1) if failed >= k else 0.0
        values.append(1.0 - ratio)
    return values


def _first_k_means(task: list[dict[str, float]], name: str) -> list[float | None]:
    """The mean of ``name`` over the task's first k rollouts, k = 1 … its rollouts (``None``
    where none of the first k has it)."""
    means: list[float | None] = []
    total, count = 0.0, 0
    for rollout in task:
        if name in rollout:
            total += rollout[name]
            count += 1
        means.append(total / count if count else None)
    return means


def _majority_by_k(
    task: Sequence[ScoredRollout], scores: list[dict[str, float]], name: str
) -> list[float]:
    """majority@k of one task for k = 1 … its rollouts: the mean score of the (answer, score)
    pairs tied for the most votes among the first k rollouts with an answer (0 when none)."""
    if not task:
        return [0.0]
    votes: Counter[tuple[Hashable, float]] = Counter()
    top, tied_sum, tied_count = 0, 0.0, 0
    values = []
    for rollout, rollout_scores in zip(task, scores, strict=True):
        if rollout.answer is not None and name in rollout_scores:
            pair = (rollout.answer, rollout_scores[name])
            votes[pair] += 1
            count = votes[pair]
            if count > top:
                top, tied_sum, tied_count = count, pair[1], 1
            elif count == top:
                tied_sum += pair[1]
                tied_count += 1
        values.append(tied_sum / tied_count if tied_count else 0.0)
    return values


def _run_means(scores: list[list[dict[str, float]]], name: str, max_k: int) -> list[float]:
    """Per run i: the mean i-th score over the tasks that have one, as a percentage."""
    means = []
    for index in range(max_k):
        run = [task[index][name] for task in scores if index < len(task) and name in task[index]]
        if run:
            means.append(100.0 * _mean(run))
    return means


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _running_std(values: Sequence[float]) -> list[float]:
    """The sample standard deviation of the first 2, 3, … values (Welford's update)."""
    stds = []
    mean = squares = 0.0
    for count, value in enumerate(values, start=1):
        delta = value - mean
        mean += delta / count
        squares += delta * (value - mean)
        if count >= 2:
            stds.append(math.sqrt(max(squares, 0.0) / (count - 1)))
    return stds


def agent_label(rollout: Mapping[str, Any]) -> str:
    """NeMo Gym's agent label: ``agent_ref.name``, else ``_ng_environment_server``."""
    return read_identity(rollout).agent or NO_AGENT


def rollout_index(rollout: Mapping[str, Any]) -> int:
    """``_ng_rollout_index``, 0 when it has none (rollouts keep their order within a task)."""
    index = rollout.get("_ng_rollout_index")
    return index if type(index) is int else 0


def rollout_metrics(rollout: Mapping[str, Any]) -> dict[str, float]:
    """NeMo Gym's per-rollout metrics: every top-level number or boolean (as 0 or 1) whose key
    does not start with ``_``, except the ``mask_sample`` verdict."""
    metrics: dict[str, float] = {}
    for key, value in rollout.items():
        number = number_of(value)
        if number is not None and not key.startswith("_") and key != MASK:
            metrics[key] = number
    return metrics


def answer_of(value: Any) -> Hashable | None:
    """An answer field's value as something to count: a JSON array or object by its text."""
    if value is None or isinstance(value, Hashable):
        return value
    return repr(value)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between order statistics."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def perf_summary(perfs: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """``ng_perf`` over rollouts: tokens (mean, median, total) and latency (p50, p90, p99, mean)."""
    tokens: dict[str, list[float]] = {name: [] for name in PERF_TOKENS}
    latencies: list[float] = []
    for perf in perfs:
        for name in PERF_TOKENS:
            value = number_of(perf.get(name))
            if value is not None:
                tokens[name].append(value)
        latency = number_of(perf.get(PERF_LATENCY))
        if latency is not None:
            latencies.append(latency)
    summary = {
        name: {"mean": _mean(values), "median": percentile(values, 50), "total": sum(values)}
        for name, values in tokens.items()
        if values
    }
    if latencies:
        summary[PERF_LATENCY] = {
            "p50": percentile(latencies, 50),
            "p90": percentile(latencies, 90),
            "p99": percentile(latencies, 99),
            "mean": _mean(latencies),
        }
    return summary


@dataclass(frozen=True, slots=True)
class RolloutEntry:
    """What the metrics keep of one rollout."""

    order: tuple[int, int]
    """``_ng_rollout_index``, then the order it was read in."""
    reward: float | None
    answer: Hashable | None
    has_answer: bool
    masked: bool
    origin: str | None = None
    """``"{file}:{line}"`` it was read from, when known (as the upload ledger names it)."""

    @classmethod
    def read(
        cls,
        rollout: Mapping[str, Any],
        *,
        answer_key: str | None,
        arrival: int,
        origin: str | None = None,
    ) -> Self:
        key = answer_key or DEFAULT_ANSWER_KEY
        return cls(
            order=(rollout_index(rollout), arrival),
            reward=numeric_reward(rollout),
            answer=answer_of(rollout.get(key)),
            has_answer=key in rollout,
            masked=is_masked(rollout),
            origin=origin,
        )


@dataclass
class MetricsGroup:
    """NeMo Gym's metrics of one group of rollouts (a file, an agent, everything), by task.

    ``answer_key`` names the answer field; ``None`` means ``extracted_answer``, used only when a
    measured rollout of the group has it.
    """

    answer_key: str | None = None
    _tasks: dict[Hashable, list[RolloutEntry]] = field(default_factory=dict)
    _metric_sums: dict[str, list[float]] = field(default_factory=dict)
    _answer_seen: bool = False
    _perfs: list[Mapping[str, Any]] = field(default_factory=list)
    _arrivals: int = 0

    def add(self, rollout: Mapping[str, Any], task: Hashable) -> None:
        """Count one rollout of ``task`` (masked or not)."""
        self._arrivals += 1
        entry = RolloutEntry.read(rollout, answer_key=self.answer_key, arrival=self._arrivals)
        self.add_entry(entry, task, rollout_metrics(rollout), rollout.get(PERF))

    def add_entry(
        self, entry: RolloutEntry, task: Hashable, metrics: Mapping[str, float], perf: Any
    ) -> None:
        """Count a rollout already read, with its ``rollout_metrics`` and its ``ng_perf``."""
        self._tasks.setdefault(task, []).append(entry)
        if isinstance(perf, Mapping):
            self._perfs.append(perf)
        if entry.masked:
            return
        self._answer_seen = self._answer_seen or entry.has_answer
        for name, value in metrics.items():
            sums = self._metric_sums.setdefault(name, [0.0, 0.0])
            sums[0] += 1
            sums[1] += value

    def task_rewards(self) -> dict[Hashable, list[float | None]]:
        """Each task's rollouts in rollout order: the reward, or ``None`` when the rollout is
        masked or has no numeric reward."""
        return {
            task: [
                None if entry.masked else entry.reward
                for entry in sorted(entries, key=lambda entry: entry.order)
            ]
            for task, entries in self._tasks.items()
        }

    def task_origins(self) -> dict[Hashable, list[str | None]]:
        """Each task's rollouts in rollout order (as ``task_rewards``): where each was read."""
        return {
            task: [entry.origin for entry in sorted(entries, key=lambda entry: entry.order)]
            for task, entries in self._tasks.items()
        }

    def task_sizes(self) -> list[int]:
        """The number of rollouts of each task, masked ones included."""
        return [len(entries) for entries in self._tasks.values()]

    def metrics(self) -> dict[str, float]:
        """The metrics, ``mean/*`` and, when a rollout was masked, ``coverage/*``."""
        with_answers = self.answer_key is not None or self._answer_seen
        tasks: list[list[ScoredRollout]] = []
        masked = measured_tasks = fully_masked = 0
        for rollouts in self._tasks.values():
            kept = sorted((r for r in rollouts if not r.masked), key=lambda r: r.order)
            masked += len(rollouts) - len(kept)
            if kept:
                measured_tasks += 1
            else:
                fully_masked += 1
            scored = [
                ScoredRollout({ACCURACY: r.reward}, r.answer) for r in kept if r.reward is not None
            ]
            if scored:
                tasks.append(scored)
        metrics = pass_majority_metrics(tasks, with_answers=with_answers)
        for name, (count, total) in sorted(self._metric_sums.items()):
            metrics[f"mean/{name}"] = total / count
        if masked:
            total = sum(len(found) for found in self._tasks.values())
            metrics["coverage/measured_rollouts"] = total - masked
            metrics["coverage/masked_rollouts"] = masked
            metrics["coverage/measured_tasks"] = measured_tasks
            metrics["coverage/fully_masked_tasks"] = fully_masked
        return metrics

    def perf(self) -> dict[str, dict[str, float]]:
        """``perf_summary`` of the group's ``ng_perf`` values, masked rollouts included."""
        return perf_summary(self._perfs)


@dataclass
class FailureCounts:
    """Failed attempts (rows of ``*_failures.jsonl``): the attempt that stands for each key
    (``identity.Identity.attempt_key``) is the last line for it, counted by class and stage."""

    attempts: int = 0
    _standing: dict[tuple[Any, ...], tuple[str, str | None]] = field(default_factory=dict)

    def add(self, row: Mapping[str, Any]) -> None:
        attempt = read_failed_attempt(row)
        if attempt is None:
            return
        self.attempts += 1
        self._standing[read_identity(row).attempt_key] = (attempt.failure_class, attempt.stage)

    def as_dict(self) -> dict[str, Any] | None:
        if not self.attempts:
            return None
        classes = Counter(kind for kind, _ in self._standing.values())
        stages = Counter(stage for _, stage in self._standing.values() if stage is not None)
        return {
            "attempts": self.attempts,
            "rollouts": len(self._standing),
            "by_class": dict(classes.most_common()),
            "by_stage": dict(stages.most_common()),
        }
