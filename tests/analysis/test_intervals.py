"""The 95% intervals of ``compare``, against NeMo Gym 0.7's formulas computed with scipy.

NeMo Gym (``reward_profile.py``, ``_compute_repeat_level_metrics`` and
``_aggregate_repeat_level_metrics``; ``comparison/diff.py``, ``_welch_delta_confidence_interval``):
a repeat is one rollout index and its estimate the mean over the tasks present in it; each side
gets ``scipy.stats.t.interval(0.95, n - 1, loc=mean, scale=se)`` across its repeats, the delta
``scipy.stats.ttest_ind(candidate, baseline, equal_var=False).confidence_interval(0.95)``.
"""

from __future__ import annotations

import random
import statistics
from typing import Any

import pytest
from scipy import stats

from nemogym_docent.analysis.compare import compare_rollouts
from nemogym_docent.analysis.intervals import across_repeats, welch_interval


def export(seed: int, *, tasks: int, repeats: int, skill: float, agent: str = "a") -> list[dict]:
    draw = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for task in range(tasks):
        for repeat in range(repeats):
            rows.append(
                {
                    "agent_ref": {"name": agent},
                    "_ng_task_index": task,
                    "_ng_rollout_index": repeat,
                    "reward": float(draw.random() < skill),
                    "score": draw.random(),
                    "responses_create_params": {"input": f"question {task}"},
                }
            )
    return rows


def repeat_estimates(rows: list[dict], field: str) -> list[float]:
    by_repeat: dict[int, list[float]] = {}
    for row in rows:
        if not row.get("mask_sample"):
            by_repeat.setdefault(row["_ng_rollout_index"], []).append(row[field])
    return [statistics.fmean(values) for _, values in sorted(by_repeat.items())]


def nemo_gym_side(estimates: list[float]) -> tuple[float, float]:
    mean, se = statistics.fmean(estimates), statistics.stdev(estimates) / len(estimates) ** 0.5
    low, high = stats.t.interval(0.95, len(estimates) - 1, loc=mean, scale=se)
    return float(low), float(high)


def nemo_gym_delta(baseline: list[float], candidate: list[float]) -> tuple[float, float]:
    interval = stats.ttest_ind(candidate, baseline, equal_var=False).confidence_interval(0.95)
    return float(interval.low), float(interval.high)


@pytest.mark.parametrize(("repeats_b", "repeats_c"), [(4, 4), (3, 8), (2, 2)])
def test_each_side_and_the_delta_match_nemo_gyms_intervals(repeats_b: int, repeats_c: int) -> None:
    baseline = export(1, tasks=30, repeats=repeats_b, skill=0.4)
    candidate = export(2, tasks=30, repeats=repeats_c, skill=0.6)
    baseline[0]["mask_sample"] = True  # masked rollouts are in no repeat's estimate
    comparison = compare_rollouts(baseline, candidate)
    rows = {row.metric: row for row in comparison.agents[0].metrics}
    for field in ("reward", "score"):
        row = rows[f"mean/{field}"]
        before, after = repeat_estimates(baseline, field), repeat_estimates(candidate, field)
        assert (row.baseline_ci_low, row.baseline_ci_high) == pytest.approx(nemo_gym_side(before))
        assert (row.candidate_ci_low, row.candidate_ci_high) == pytest.approx(nemo_gym_side(after))
        assert (row.delta_ci_low, row.delta_ci_high) == pytest.approx(nemo_gym_delta(before, after))
    # pass@k rows carry the two values and their delta, no interval (as in NeMo Gym).
    assert rows["pass@1/accuracy"].delta_ci_low is None
    assert rows["pass@1/accuracy"].baseline_ci_low is None


def test_one_repeat_gives_no_interval_and_a_constant_side_its_point() -> None:
    assert across_repeats([0.5]) is None
    constant = across_repeats([0.5, 0.5, 0.5])
    assert constant is not None
    assert (constant.ci_low, constant.ci_high) == (0.5, 0.5)
    assert welch_interval([0.5], [0.1, 0.2]) is None
    comparison = compare_rollouts(
        export(1, tasks=5, repeats=1, skill=0.5), export(2, tasks=5, repeats=3, skill=0.5)
    )
    row = next(row for row in comparison.agents[0].metrics if row.metric == "mean/reward")
    assert row.baseline_ci_low is None
    assert row.candidate_ci_low is not None
    assert row.delta_ci_low is None


def test_the_intervals_are_in_the_json() -> None:
    comparison = compare_rollouts(
        export(1, tasks=10, repeats=3, skill=0.3), export(2, tasks=10, repeats=3, skill=0.7)
    )
    row = next(
        r for r in comparison.as_dict()["agents"][0]["metrics"] if r["metric"] == "mean/reward"
    )
    assert row["baseline_ci_low"] <= row["baseline"] <= row["baseline_ci_high"]
    assert row["delta_ci_low"] <= row["delta"] <= row["delta_ci_high"]
