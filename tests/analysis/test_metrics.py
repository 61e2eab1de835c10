"""NeMo Gym's metrics on small cases, each expected value worked out by hand from the formulas."""

from __future__ import annotations

import math

import metrics_by_definition as by_definition
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nemogym_docent.analysis.metrics import (
    FailureCounts,
    MetricsGroup,
    ScoredRollout,
    pass_majority_metrics,
    percentile,
    perf_summary,
    rollout_metrics,
    unbiased_pass_at_k,
)


def tasks_of(*rewards: list[float]) -> list[list[ScoredRollout]]:
    return [[ScoredRollout({"accuracy": value}) for value in task] for task in rewards]


def test_unbiased_estimator() -> None:
    # 1 - C(n-c, k) / C(n, k)
    assert unbiased_pass_at_k(3, 2, 1) == pytest.approx(1 - 1 / 3)
    assert unbiased_pass_at_k(5, 1, 2) == pytest.approx(1 - 6 / 10)
    assert unbiased_pass_at_k(3, 2, 2) == 1.0  # one failure cannot fill two draws
    assert unbiased_pass_at_k(4, 0, 2) == 0.0


def test_binary_rewards_with_unequal_k_per_task() -> None:
    # T1 = [1, 0, 1] (n 3, c 2), T2 = [0, 0, 0], T3 = [1, 1] (only two rollouts).
    metrics = pass_majority_metrics(tasks_of([1, 0, 1], [0, 0, 0], [1, 1]))
    # pass@1: T1 1 - C(1,1)/C(3,1) = 2/3, T2 0, T3 1.
    assert metrics["pass@1/accuracy"] == pytest.approx(100 * (2 / 3 + 0 + 1) / 3)
    # pass@2: T1 1 (one failure), T2 1 - C(3,2)/C(3,2) = 0, T3 1.
    assert metrics["pass@2/accuracy"] == pytest.approx(100 * 2 / 3)
    # pass@3: T3 has fewer than 3 rollouts and is left out: (1 + 0) / 2.
    assert metrics["pass@3/accuracy"] == pytest.approx(50.0)
    # pass@1[avg-of-k]: means of the first k values; T3 keeps its two.
    assert metrics["pass@1[avg-of-1]/accuracy"] == pytest.approx(100 * 2 / 3)
    assert metrics["pass@1[avg-of-2]/accuracy"] == pytest.approx(100 * (0.5 + 0 + 1) / 3)
    assert metrics["pass@1[avg-of-3]/accuracy"] == pytest.approx(100 * (2 / 3 + 0 + 1) / 3)
    # Runs: run 0 = (1, 0, 1) -> 200/3; run 1 = (0, 0, 1) -> 100/3; run 2 = (1, 0) -> 50.
    # k = 2: [200/3, 100/3], mean 50, deviations +-50/3: sample std sqrt(2) * 50/3.
    std2 = math.sqrt(2) * 50 / 3
    assert metrics["pass@1[avg-of-2]/accuracy/std_dev_across_runs"] == pytest.approx(std2)
    assert metrics["pass@1[avg-of-2]/accuracy/std_err_across_runs"] == pytest.approx(50 / 3)
    # k = 3: [200/3, 100/3, 50], mean 50, deviations 50/3, -50/3, 0: std 50/3.
    assert metrics["pass@1[avg-of-3]/accuracy/std_dev_across_runs"] == pytest.approx(50 / 3)
    assert metrics["pass@1[avg-of-3]/accuracy/std_err_across_runs"] == pytest.approx(
        50 / 3 / math.sqrt(3)
    )
    assert "pass@1[avg-of-1]/accuracy/std_dev_across_runs" not in metrics
    assert not any(name.startswith("majority@") for name in metrics)


def test_all_zero_rewards_pass_nothing() -> None:
    metrics = pass_majority_metrics(tasks_of([0, 0], [0]))
    assert metrics["pass@1/accuracy"] == 0.0
    assert metrics["pass@2/accuracy"] == 0.0


def test_continuous_rewards_take_the_max_of_the_first_k() -> None:
    # T1 = [0.2, 0.8, 0.5], T2 = [0.4]; T3 = [1, 0] is all 0/1, so it is judged as binary.
    metrics = pass_majority_metrics(tasks_of([0.2, 0.8, 0.5], [0.4], [1, 0]))
    # pass@1: T1 0.2, T2 0.4, T3 1 - C(1,1)/C(2,1) = 0.5.
    assert metrics["pass@1/accuracy"] == pytest.approx(100 * (0.2 + 0.4 + 0.5) / 3)
    # pass@2: T1 max(0.2, 0.8), T2 left out, T3 1 (one failure).
    assert metrics["pass@2/accuracy"] == pytest.approx(100 * (0.8 + 1) / 2)
    assert metrics["pass@3/accuracy"] == pytest.approx(80.0)
    assert metrics["pass@1[avg-of-2]/accuracy"] == pytest.approx(100 * (0.5 + 0.4 + 0.5) / 3)
    assert metrics["pass@1[avg-of-3]/accuracy"] == pytest.approx(100 * (0.5 + 0.4 + 0.5) / 3)


def test_majority_and_no_answer() -> None:
    x = [ScoredRollout({"accuracy": 1}, "4"), ScoredRollout({"accuracy": 0}, "5")]
    x.append(ScoredRollout({"accuracy": 1}, "4"))
    y = [ScoredRollout({"accuracy": 0}, None), ScoredRollout({"accuracy": 0}, "7")]
    y.append(ScoredRollout({"accuracy": 1}, "8"))
    metrics = pass_majority_metrics([x, y], with_answers=True)
    # X: @1 ("4",1) -> 1; @2 ("4",1) and ("5",0) tie -> 0.5; @3 ("4",1) twice -> 1.
    # Y: @1 no answer -> 0; @2 ("7",0) -> 0; @3 ("7",0) and ("8",1) tie -> 0.5.
    assert metrics["majority@1/accuracy"] == pytest.approx(100 * (1 + 0) / 2)
    assert metrics["majority@2/accuracy"] == pytest.approx(100 * (0.5 + 0) / 2)
    assert metrics["majority@3/accuracy"] == pytest.approx(100 * (1 + 0.5) / 2)
    # no_answer is a binary score: X [0, 0, 0], Y [1, 0, 0] -> pass@1 (0 + 1/3) / 2.
    assert metrics["pass@1/no_answer"] == pytest.approx(100 * (1 / 3) / 2)
    assert metrics["pass@1[avg-of-3]/no_answer"] == pytest.approx(100 * (0 + 1 / 3) / 2)
    assert metrics["majority@3/no_answer"] == 0.0


def test_masked_rollouts_are_left_out_and_reported() -> None:
    group = MetricsGroup()
    rows = [
        ("a", {"reward": 1.0, "mask_sample": True, "_ng_rollout_index": 0, "score": 9}),
        ("a", {"reward": 1.0, "mask_sample": False, "_ng_rollout_index": 2, "score": 2}),
        ("a", {"reward": 0.0, "_ng_rollout_index": 1, "score": 4}),
        ("b", {"reward": 1.0, "mask_sample": True}),
    ]
    for task, row in rows:
        group.add(row, task)
    metrics = group.metrics()
    # Task a keeps [0 (rollout 1), 1 (rollout 2)]; task b is masked entirely.
    assert metrics["pass@1/accuracy"] == pytest.approx(50.0)
    assert metrics["pass@1[avg-of-1]/accuracy"] == 0.0  # rollout 1 comes first
    assert metrics["pass@2/accuracy"] == 100.0
    assert metrics["mean/reward"] == pytest.approx(0.5)
    assert metrics["mean/score"] == pytest.approx(3.0)
    assert "mean/mask_sample" not in metrics
    assert metrics["coverage/measured_rollouts"] == 2
    assert metrics["coverage/masked_rollouts"] == 2
    assert metrics["coverage/measured_tasks"] == 1
    assert metrics["coverage/fully_masked_tasks"] == 1


def test_a_clean_run_has_no_coverage_keys() -> None:
    group = MetricsGroup()
    group.add({"reward": 1}, 0)
    assert not any(name.startswith("coverage/") for name in group.metrics())


def test_one_task_under_two_agents_is_two_tasks() -> None:
    group = MetricsGroup()
    group.add({"reward": 1, "_ng_task_index": 0}, ("a", 0))
    group.add({"reward": 0, "_ng_task_index": 0}, ("b", 0))
    group.add({"reward": 0, "_ng_task_index": 0, "_ng_rollout_index": 1}, ("b", 0))
    metrics = group.metrics()
    # Tasks (a, 0) = [1] and (b, 0) = [0, 0]: pass@1 (1 + 0) / 2, pass@2 only (b, 0).
    # As one task [1, 0, 0] it would be 1/3 and 2/3.
    assert metrics["pass@1/accuracy"] == pytest.approx(50.0)
    assert metrics["pass@2/accuracy"] == 0.0


def test_answer_field_is_used_when_present_or_named() -> None:
    plain = MetricsGroup()
    plain.add({"reward": 1}, 0)
    assert "majority@1/accuracy" not in plain.metrics()
    found = MetricsGroup()
    found.add({"reward": 1, "extracted_answer": ["x"]}, 0)
    found.add({"reward": 0, "extracted_answer": None, "_ng_rollout_index": 1}, 0)
    metrics = found.metrics()
    assert metrics["majority@2/accuracy"] == 100.0  # one answered rollout, score 1
    assert metrics["pass@1/no_answer"] == pytest.approx(50.0)  # 1 - C(1,1)/C(2,1)
    named = MetricsGroup(answer_key="choice")
    named.add({"reward": 1, "extracted_answer": "A"}, 0)
    assert named.metrics()["majority@1/accuracy"] == 0.0  # no rollout has "choice"


def test_rollout_metrics_follow_nemo_gyms_rule() -> None:
    row = {"reward": 0.5, "ok": True, "_ng_task_index": 3, "_private": 1, "mask_sample": False}
    row |= {"name": "x", "nested": {"n": 1}, "tokens": 12}
    assert rollout_metrics(row) == {"reward": 0.5, "ok": 1.0, "tokens": 12.0}


def test_perf_summary() -> None:
    perfs = [{"total_latency_ms": value, "prompt_tokens": value // 10} for value in (40, 10, 30)]
    perfs.append({"total_latency_ms": 20, "completion_tokens": 7})
    summary = perf_summary(perfs)
    # Latencies sorted 10, 20, 30, 40: p50 at position 1.5 -> 25; p90 at 2.7 -> 37; p99 39.7.
    assert summary["total_latency_ms"] == pytest.approx(
        {"p50": 25.0, "p90": 37.0, "p99": 39.7, "mean": 25.0}
    )
    assert summary["prompt_tokens"] == {"mean": 8 / 3, "median": 3.0, "total": 8.0}
    assert summary["completion_tokens"] == {"mean": 7.0, "median": 7.0, "total": 7.0}
    assert "reasoning_tokens" not in summary
    assert percentile([5.0], 99) == 5.0


def test_failures_count_the_standing_attempt_of_each_rollout() -> None:
    counts = FailureCounts()
    for attempt in range(5):  # one key, five attempts: the last one stands
        kind = "agent_request_failed" if attempt < 4 else "environment_server_failed"
        counts.add(
            {
                "_ng_failure_class": kind,
                "_ng_task_index": 0,
                "_ng_rollout_index": 0,
                "_ng_environment_server": "env",
                "_ng_failure_stage": "agent",
            }
        )
    counts.add(
        {
            "_ng_failure_class": "judge_failed",
            "_ng_task_index": 1,
            "_ng_rollout_index": 0,
            "agent_ref": {"name": "math"},
            "mask_sample": True,
            "reward": 0.0,
        }
    )
    assert counts.as_dict() == {
        "attempts": 6,
        "rollouts": 2,
        "by_class": {"environment_server_failed": 1, "judge_failed": 1},
        "by_stage": {"agent": 1},
    }
    assert FailureCounts().as_dict() is None


_SCORE = st.one_of(st.sampled_from([0, 1, 0.0, 1.0]), st.floats(0, 1, allow_nan=False))
_ROLLOUT = st.builds(
    ScoredRollout,
    st.one_of(st.just({}), st.fixed_dictionaries({"accuracy": _SCORE})),
    st.one_of(st.none(), st.sampled_from(["4", "5", 6])),
)
_TASKS = st.lists(st.lists(_ROLLOUT, max_size=9), min_size=1, max_size=5)


@given(tasks=_TASKS, with_answers=st.booleans(), binary=st.booleans())
def test_one_pass_per_task_equals_the_definition_at_every_k(
    tasks: list[list[ScoredRollout]], with_answers: bool, binary: bool
) -> None:
    # The linear pass over each task gives what recomputing every k from the first k rollouts
    # gives (tests/helpers/metrics_by_definition.py), tasks of unequal sizes included.
    if binary:
        tasks = [
            [ScoredRollout({k: float(v >= 0.5) for k, v in r.scores.items()}, r.answer) for r in t]
            for t in tasks
        ]
    fast = pass_majority_metrics(tasks, with_answers=with_answers)
    slow = by_definition.pass_majority_metrics(tasks, with_answers=with_answers)
    assert list(fast) == list(slow)
    assert fast == pytest.approx(slow, rel=1e-12, abs=1e-12)
