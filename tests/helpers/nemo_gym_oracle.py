"""NeMo Gym's metrics computed another way, to check ``summary`` on whole files.

pass@k on 0/1 values is counted over every k-subset of a task's rollouts (the estimator
``1 - C(n-c, k) / C(n, k)`` is the share of k-subsets holding a pass); the spreads use
``statistics``. Nothing here calls the code under test.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import Counter
from typing import Any


def _label(row: dict[str, Any]) -> str:
    ref = row.get("agent_ref")
    name = ref.get("name") if isinstance(ref, dict) else None
    return name or row.get("_ng_environment_server") or "(no agent)"


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not math.isnan(value) else None


def expected_metrics(rows: list[dict[str, Any]], answer_key: str = "extracted_answer") -> dict:
    """Per agent label: NeMo Gym's metrics of these rows (no failed attempts among them)."""
    by_agent: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_agent.setdefault(_label(row), []).append(row)
    return {agent: _agent_metrics(agent_rows, answer_key) for agent, agent_rows in by_agent.items()}


def _agent_metrics(rows: list[dict[str, Any]], answer_key: str) -> dict[str, float]:
    measured = [row for row in rows if row.get("mask_sample") is not True]
    tasks: dict[Any, list[dict[str, Any]]] = {}
    for row in sorted(measured, key=lambda r: r.get("_ng_rollout_index", 0)):
        if _number(row.get("reward")) is not None:
            tasks.setdefault(row.get("_ng_task_index", 0), []).append(row)
    answers = any(answer_key in row for row in measured)
    scores = {"accuracy": lambda r: _number(r["reward"])}
    if answers:
        scores["no_answer"] = lambda r: 1.0 if r.get(answer_key) is None else 0.0
    out: dict[str, float] = {}
    groups = list(tasks.values())
    max_k = max((len(task) for task in groups), default=0)
    for k in range(1, max_k + 1):
        for name, score in scores.items():
            passes = []
            for task in groups:
                values = [score(r) for r in task]
                if len(values) < k:
                    continue
                if set(values) <= {0.0, 1.0}:
                    subsets = list(itertools.combinations(values, k))
                    passes.append(sum(1 for s in subsets if 1.0 in s) / len(subsets))
                else:
                    passes.append(max(values[:k]))
            if passes:
                out[f"pass@{k}/{name}"] = 100 * statistics.fmean(passes)
            out[f"pass@1[avg-of-{k}]/{name}"] = 100 * statistics.fmean(
                statistics.fmean(score(r) for r in task[:k]) for task in groups
            )
            if answers:
                out[f"majority@{k}/{name}"] = 100 * statistics.fmean(
                    _vote(task[:k], score, answer_key) for task in groups
                )
            runs = [
                100 * statistics.fmean(score(task[i]) for task in groups if len(task) > i)
                for i in range(k)
            ]
            if k >= 2:
                spread = statistics.stdev(runs)
                out[f"pass@1[avg-of-{k}]/{name}/std_dev_across_runs"] = spread
                out[f"pass@1[avg-of-{k}]/{name}/std_err_across_runs"] = spread / len(runs) ** 0.5
    for key in sorted({k for row in measured for k in row}):
        if key.startswith("_") or key == "mask_sample":
            continue
        values = [row[key] for row in measured if key in row]
        numbers = [float(v) for v in values if isinstance(v, int | float) and not math.isnan(v)]
        if numbers:
            out[f"mean/{key}"] = statistics.fmean(numbers)
    masked = len(rows) - len(measured)
    if masked:
        all_tasks = Counter(row.get("_ng_task_index", 0) for row in rows)
        kept = Counter(row.get("_ng_task_index", 0) for row in measured)
        out["coverage/measured_rollouts"] = len(measured)
        out["coverage/masked_rollouts"] = masked
        out["coverage/measured_tasks"] = len(kept)
        out["coverage/fully_masked_tasks"] = len(set(all_tasks) - set(kept))
    return out


def _vote(rollouts: list[dict[str, Any]], score: Any, answer_key: str) -> float:
    pairs = [(repr(r[answer_key]), score(r)) for r in rollouts if r.get(answer_key) is not None]
    if not pairs:
        return 0.0
    counts = Counter(pairs)
    top = max(counts.values())
    return statistics.fmean(s for (_, s), c in counts.items() if c == top)
