"""Flips by ``gym eval compare``'s rule, on task rewards whose outcome is worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nemogym_docent.analysis.compare import (
    compare_exports,
    compare_rollouts,
    flip_direction,
    flip_summary,
    metric_rows,
)


def test_binary_flips_ties_and_one_sided_tasks() -> None:
    baseline = {"a": [1, 1], "b": [0, 0], "c": [1, 0], "d": [1, 1], "g": [1, 1], "e": [0]}
    candidate = {"a": [0, 0], "b": [1, 1], "c": [1, 1], "d": [1, 1], "g": [1, 0, 0], "f": [1]}
    summary = flip_summary(baseline, candidate)
    # a 1 -> 0 and g 1 -> 1/3 regress; b 0 -> 1 improves; c is 0.5 on one side: tied; d same.
    assert summary.mode == "binary"
    assert (summary.pass_to_fail_count, summary.fail_to_pass_count) == (2, 1)
    assert (summary.tied_count, summary.unchanged_count, summary.net) == (1, 1, -1)
    assert (summary.common_task_count, summary.baseline_only_task_count) == (5, 1)
    assert summary.candidate_only_task_count == 1
    # Regressions first, the largest change first: a (-1), g (-2/3), then b.
    assert [(f.task, f.direction) for f in summary.flips] == [
        ("a", "pass_to_fail"),
        ("g", "pass_to_fail"),
        ("b", "fail_to_pass"),
    ]
    assert summary.flips[1].delta == pytest.approx(1 / 3 - 1)
    assert [flip.task for flip in summary.regressions] == ["a", "g"]
    data = summary.as_dict()
    assert data["field"] == "reward"
    assert data["flips"][0] == {
        "task": "a",
        "baseline_score": 1.0,
        "candidate_score": 0.0,
        "delta": -1.0,
        "direction": "pass_to_fail",
    }


def test_binary_is_judged_by_each_tasks_lowest_and_highest_reward() -> None:
    # [0, 0.5, 1] has min 0 and max 1: still binary, and its mean 0.5 is a tie.
    summary = flip_summary({"a": [0, 0.5, 1], "b": [1]}, {"a": [1], "b": [0]})
    assert summary.mode == "binary"
    assert (summary.tied_count, summary.pass_to_fail_count) == (1, 1)


def test_continuous_flips_are_every_change() -> None:
    baseline = {"a": [0.2, 0.4], "b": [0.5], "c": [0.9], "d": [0.1]}
    candidate = {"a": [0.6], "b": [0.5], "c": [0.1], "d": [0.15]}
    summary = flip_summary(baseline, candidate)
    assert summary.mode == "continuous"
    assert summary.unchanged_count == 1
    assert summary.pass_to_fail_count is None
    assert summary.net is None
    # c falls by 0.8 (a regression, first); a rises by 0.3, d by 0.05.
    assert [(f.task, f.direction) for f in summary.flips] == [
        ("c", "changed"),
        ("a", "changed"),
        ("d", "changed"),
    ]
    assert summary.flips[1].baseline_score == pytest.approx(0.3)
    assert summary.flips[1].delta == pytest.approx(0.3)
    assert [flip.task for flip in summary.regressions] == ["c"]


def test_no_common_task() -> None:
    summary = flip_summary({"a": [1]}, {"b": [1]})
    assert summary.mode == "unavailable"
    assert summary.reason == "no task in common (baseline has 1, candidate has 1)"
    assert flip_summary({}, {"b": [1]}).mode == "unavailable"


def test_flip_direction_around_one_half() -> None:
    assert flip_direction(0.75, 0.25) == "pass_to_fail"
    assert flip_direction(0.25, 0.75) == "fail_to_pass"
    assert flip_direction(0.5, 1.0) is None
    assert flip_direction(0.6, 0.9) is None


def test_metric_rows() -> None:
    rows = metric_rows(
        {"pass@1/accuracy": 50.0, "pass@1[avg-of-2]/accuracy/std_dev_across_runs": 3.0},
        {"pass@1/accuracy": 75.0, "pass@2/accuracy": 80.0},
    )
    assert [(r.metric, r.baseline, r.candidate, r.delta) for r in rows] == [
        ("pass@1/accuracy", 50.0, 75.0, 25.0),
        ("pass@2/accuracy", None, 80.0, None),
    ]


def rollout(task: int, reward: float, **extra: object) -> dict[str, object]:
    return {"agent_ref": {"name": "math"}, "_ng_task_index": task, "reward": reward, **extra}


def test_rollouts_join_by_task_index_when_a_side_lacks_task_ids() -> None:
    baseline = [rollout(0, 1), rollout(1, 0), rollout(2, 1, mask_sample=True), rollout(2, 0)]
    candidate = [rollout(0, 0, _ng_task_id={"taskset": "m:t", "task_id": "a"}), rollout(1, 1)]
    comparison = compare_rollouts(baseline, candidate)
    assert comparison.join_key == "task_key"
    (math,) = comparison.agents
    # Task 2 (measured reward 0) is on the baseline side only.
    assert (math.baseline_task_count, math.candidate_task_count) == (3, 2)
    assert [(f.task, f.direction) for f in math.flips.flips] == [
        ("math/task/0", "pass_to_fail"),
        ("math/task/1", "fail_to_pass"),
    ]
    assert math.flips.baseline_only_task_count == 1
    assert comparison.regressed
    rows = {row.metric: row for row in math.metrics}
    # Baseline: tasks [1], [0], [0] (masked one out): pass@1 1/3; candidate [0], [1]: 1/2.
    assert rows["pass@1/accuracy"].baseline == pytest.approx(100 / 3)
    assert rows["pass@1/accuracy"].delta == pytest.approx(50 - 100 / 3)
    assert rows["coverage/masked_rollouts"].baseline == 1
    assert rows["coverage/masked_rollouts"].candidate is None


def test_rollouts_join_by_task_id_when_both_sides_have_it() -> None:
    def with_id(index: int, task: str, reward: float) -> dict[str, object]:
        return rollout(index, reward, _ng_task_id={"taskset": "m:t", "task_id": task})

    # The candidate ran the tasks in another order: by index, a and b would swap.
    baseline = [with_id(0, "a", 1), with_id(1, "b", 0)]
    candidate = [with_id(0, "b", 0), with_id(1, "a", 1), {"agent_ref": {"name": "other"}}]
    comparison = compare_rollouts(baseline, candidate)
    assert comparison.join_key == "_ng_task_id"
    (math,) = comparison.agents
    assert math.flips.unchanged_count == 2
    assert math.flips.flips == []
    assert not comparison.regressed
    assert comparison.candidate_only_agents == ["other"]
    assert comparison.as_dict()["agents"][0]["flips"]["mode"] == "binary"


def test_lines_that_are_not_rollouts_are_counted_in_a_note(tmp_path: Path) -> None:
    row = {"reward": 1.0, "_ng_task_index": 0, "_ng_rollout_index": 0}
    export = tmp_path / "a.jsonl"
    export.write_text(json.dumps(row) + '\n{"cut": [1, 2\n[1, 2]\n\n', "utf-8")
    notes: list[str] = []
    comparison = compare_exports(export, export, note=notes.append)
    assert notes == [f"note: {export}: 2 lines are not JSON objects; left out"] * 2
    assert comparison.as_dict()["agents"]


def _asked(task: int, question: str, reward: float) -> dict:
    return {
        "agent_ref": {"name": "a"},
        "_ng_task_index": task,
        "_ng_rollout_index": 0,
        "reward": reward,
        "responses_create_params": {"input": [{"role": "user", "content": question}]},
    }


def test_a_joined_task_with_another_question_is_no_flip() -> None:
    # The candidate holds 5 other questions under the same 5 indices, and 5 the same.
    baseline = [_asked(task, f"q{task}", 1.0) for task in range(10)]
    candidate = [
        _asked(task, f"q{task}" if task >= 5 else f"other{task}", 0.0) for task in range(10)
    ]
    flips = compare_rollouts(baseline, candidate).agents[0].flips
    assert flips.input_mismatch_count == 5
    assert flips.input_mismatches == [f"a/task/{task}" for task in range(5)]
    assert [flip.task for flip in flips.flips] == [f"a/task/{task}" for task in range(5, 10)]
    assert (flips.common_task_count, flips.pass_to_fail_count) == (5, 5)
    # Key order inside the input does not make another question; rows without a request do
    # not count as different.
    reordered = [dict(row) for row in baseline]
    reordered[0]["responses_create_params"] = {"input": [{"content": "q0", "role": "user"}]}
    del reordered[1]["responses_create_params"]
    assert compare_rollouts(baseline, reordered).agents[0].flips.input_mismatch_count == 0
