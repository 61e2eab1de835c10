"""NeMo Gym's pass@k, pass@1[avg-of-k] and majority@k as their definitions read: each k
recomputed from the first k rollouts (quadratic in a task's rollouts). The reference that
``analysis.metrics.pass_majority_metrics`` (linear) must equal."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from nemogym_docent.analysis.metrics import (
    NO_ANSWER,
    ScoredRollout,
    unbiased_pass_at_k,
)


def pass_majority_metrics(
    tasks: Sequence[Sequence[ScoredRollout]], *, with_answers: bool = False
) -> dict[str, float]:
    """``pass@k``, ``pass@1[avg-of-k]``, ``majority@k`` (``with_answers``) and the spread across
    runs, for every k from 1 to the largest number of rollouts of a task."""
    if not tasks:
        return {}
    scores = [[_with_no_answer(r, with_answers) for r in task] for task in tasks]
    names = sorted({name for task in scores for rollout in task for name in rollout})
    max_k = max(len(task) for task in tasks)
    metrics: dict[str, float] = {}
    for k in range(1, max_k + 1):
        for name in names:
            _put_mean(metrics, f"pass@{k}/{name}", _pass_values(scores, name, k))
            firsts = [[r[name] for r in task[:k] if name in r] for task in scores]
            _put_mean(metrics, f"pass@1[avg-of-{k}]/{name}", [_mean(v) for v in firsts if v])
            if with_answers:
                majority = [_majority(task[:k], name) for task in tasks]
                _put_mean(metrics, f"majority@{k}/{name}", majority)
    for name in names:
        runs = _run_means(scores, name, max_k)
        for k in range(2, max_k + 1):
            first_runs = runs[:k]
            if len(first_runs) >= 2:
                std_dev = _sample_std(first_runs)
                prefix = f"pass@1[avg-of-{k}]/{name}"
                metrics[f"{prefix}/std_dev_across_runs"] = std_dev
                metrics[f"{prefix}/std_err_across_runs"] = std_dev / math.sqrt(len(first_runs))
    return metrics


def _with_no_answer(rollout: ScoredRollout, with_answers: bool) -> dict[str, float]:
    scores = dict(rollout.scores)
    if with_answers:
        scores[NO_ANSWER] = 1 if rollout.answer is None else 0
    return scores


def _pass_values(scores: list[list[dict[str, float]]], name: str, k: int) -> list[float]:
    values = []
    for task in scores:
        task_values = [rollout[name] for rollout in task if name in rollout]
        if not task_values or k > len(task_values):
            continue
        if all(value in (0, 1) for value in task_values):
            passed = sum(1 for value in task_values if value)
            values.append(unbiased_pass_at_k(len(task_values), passed, k))
        else:
            values.append(max(task_values[:k]))
    return values


def _majority(rollouts: Sequence[ScoredRollout], name: str) -> float:
    with_name = [
        (r.answer, _with_no_answer(r, True)[name])
        for r in rollouts
        if r.answer is not None and (name in r.scores or name == NO_ANSWER)
    ]
    if not with_name:
        return 0.0
    counts = Counter(with_name)
    top = max(counts.values())
    tied = [score for (_, score), count in counts.items() if count == top]
    return _mean(tied)


def _run_means(scores: list[list[dict[str, float]]], name: str, max_k: int) -> list[float]:
    means = []
    for index in range(max_k):
        run = [task[index][name] for task in scores if index < len(task) and name in task[index]]
        if run:
            means.append(100.0 * _mean(run))
    return means


def _put_mean(metrics: dict[str, float], name: str, values: list[float]) -> None:
    if values:
        metrics[name] = 100.0 * _mean(values)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _sample_std(values: Sequence[float]) -> float:
    mean = _mean(values)
    return math.sqrt(sum((value - mean) ** 2 for value in values) / (len(values) - 1))
