"""NeMo Gym 0.7's reading of a row: result type, identity, verdict and failed attempts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from builders import rollout
from parity import SPEC_EXAMPLES, corpus_files

from nemogym_docent.analysis.compare import compare_rollouts
from nemogym_docent.analysis.metrics import agent_label
from nemogym_docent.analysis.selection import Selection, collect_task_rewards
from nemogym_docent.analysis.summary import summarize_rollouts
from nemogym_docent.convert import convert_nemogym_rollout_to_agent_run
from nemogym_docent.engine.line_tasks import _converted
from nemogym_docent.identity import (
    FAILURE_CLASS,
    TASK_ID,
    TASK_KEY,
    FailedAttempt,
    RewardVerdict,
    is_final,
    is_masked,
    number_of,
    numeric_reward,
    read_failed_attempt,
    read_identity,
    read_task,
    read_verdict,
    result_type,
    standing_attempts,
    task_key,
)

NG07 = SPEC_EXAMPLES / "ng07"


def example(name: str) -> Any:
    path = NG07 / name
    if not path.is_file():
        pytest.skip("../shared/spec/examples/ng07 is not present")
    if name.endswith(".jsonl"):
        return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
    return json.loads(path.read_text("utf-8"))


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"_ng_result_type": "nemo_user_sim"}, "nemo_user_sim"),
        ({"_ng_result_type": "my_server:custom"}, "my_server:custom"),
        ({"responses_create_params": {}, "response": {}}, "legacy_agent"),
        ({"usersim_result": {}, "invocations": []}, "nemo_user_sim"),
        ({"_ng_result_type": "", "reward": 1}, ""),
    ],
)
def test_the_result_type_is_the_stamp_else_the_shape(row: dict[str, Any], expected: str) -> None:
    assert result_type(row) == expected


def test_the_agent_label_is_agent_ref_name_else_the_environment_server() -> None:
    single = read_identity(example("single_agent_turn.json"))
    assert single.agent == "codex_tasks_environment"
    assert single.task == "codex_tasks:train:hello-py"
    assert single.canonical_rollout_id == "0-3"
    legacy = read_identity(example("legacy_agent.json"))
    assert (legacy.agent, legacy.task) == ("dates_repair_agent", 7)
    assert legacy.environment_server == "dates_repair_agent_environment_server"


def test_merged_shards_differ_by_their_server() -> None:
    first, second = (read_identity(row) for row in example("merged_shards.jsonl"))
    assert (first.task_index, first.rollout_index) == (second.task_index, second.rollout_index)
    assert first.attempt_key != second.attempt_key


def test_the_canonical_rollout_id_names_the_attempt() -> None:
    row = {"_ng_task_index": 3, "_ng_rollout_index": 1, "_ng_attempt_index": 2}
    assert read_identity(row).canonical_rollout_id == "3-1-a2"
    assert read_identity({**row, "_ng_rollout_id": "r.7"}).canonical_rollout_id == "r.7"
    assert read_identity({}).canonical_rollout_id is None


def test_a_verdict_reads_its_three_keys_together() -> None:
    assert read_verdict({"reward": 1.0}) is None
    assert read_verdict(example("legacy_agent.json")) == RewardVerdict(masked=False)
    judged = example("rollouts_failures.jsonl")[3]
    verdict = read_verdict(judged)
    assert verdict == RewardVerdict(True, "judge_failed", "judge returned no score")
    assert verdict.as_metadata() == {
        "mask_sample": True,
        "failure_kind": "judge_failed",
        "failure_reason": "judge returned no score",
    }
    assert read_verdict({"mask_sample": "yes"}) == RewardVerdict(masked=False)


def test_a_failed_attempt_reads_class_stage_message_and_attempt() -> None:
    rows = example("rollouts_failures.jsonl")
    assert read_failed_attempt(example("legacy_agent.json")) is None
    first = read_failed_attempt(rows[0])
    assert first == FailedAttempt(
        "agent_request_failed",
        stage=None,
        message="503, message='Service Unavailable'",
        terminal=False,
        attempt_index=0,
        http_status=503,
        failure_type="ClientResponseError",
    )
    last = read_failed_attempt(rows[2])
    assert last is not None
    assert (last.failure_class, last.stage, last.terminal, last.attempt_index) == (
        "environment_server_failed",
        "verification",
        True,
        2,
    )
    assert last.as_metadata(attempts=3)["attempts"] == 3


def test_the_last_row_of_a_key_stands() -> None:
    rows = example("rollouts_failures.jsonl")
    standing = standing_attempts(enumerate(rows, start=1))
    assert sorted(standing) == [3, 4]
    assert standing[3].attempts == 3
    assert standing[4].attempts == 1


def test_a_key_repeated_five_times_stands_once_with_five_attempts() -> None:
    row = {"_ng_failure_class": "agent_request_failed", "_ng_task_index": 1}
    rows = [{**row, "_ng_rollout_index": 0, "_ng_attempt_index": n} for n in range(5)]
    other = {**row, "_ng_rollout_index": 1}
    standing = standing_attempts(enumerate([*rows[:2], other, *rows[2:]]))
    assert {position: s.attempts for position, s in standing.items()} == {5: 5, 2: 1}
    attempt = read_failed_attempt(rows[4])
    assert attempt is not None
    assert is_final(attempt, 5)
    assert not is_final(attempt, 2)


def test_one_reading_of_a_numeric_reward() -> None:
    # NeMo Gym's rule: booleans are 0 and 1; NaN is no value (its profiler drops it).
    assert numeric_reward({"reward": True}) == 1.0
    assert numeric_reward({"reward": False}) == 0.0
    assert numeric_reward({"reward": 0.25}) == 0.25
    assert numeric_reward({"reward": float("nan")}) is None
    assert numeric_reward({"reward": "1"}) is None
    assert numeric_reward({}) is None
    assert number_of(3) == 3.0


def test_summary_compare_selection_and_convert_read_rewards_alike() -> None:
    rows = [
        {"agent_ref": {"name": "a"}, "_ng_task_index": 0, "_ng_rollout_index": i, "reward": r}
        for i, r in enumerate([True, False, float("nan")])
    ]
    summary = summarize_rollouts(rows).as_dict()["agents"]["a"]
    assert summary["reward"]["count"] == 2
    assert summary["metrics"]["mean/reward"] == 0.5
    assert compare_rollouts(rows, rows).agents[0].task_scores == {"a/task/0": (0.5, 0.5)}
    group = collect_task_rewards(rows, Selection()).group("a/task/0")
    assert group is not None
    assert (group.reward_min, group.reward_max) == (0.0, 1.0)
    run = convert_nemogym_rollout_to_agent_run(rollout(reward=True))
    assert _converted(1, run, b"{}").reward == 1.0


def _task_rows() -> list[dict[str, Any]]:
    rows = [example("single_agent_turn.json"), example("legacy_agent.json")]
    rows += example("merged_shards.jsonl")
    for path in corpus_files():
        for line in path.read_text("utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return [row for row in rows if isinstance(row, dict)]


def test_summary_compare_selection_and_run_names_read_one_task() -> None:
    rows = _task_rows()
    tasks = [read_task(row) for row in rows]
    assert [read_identity(row).task for row in rows] == [task.name for task in tasks]
    assert [task_key(row) for row in rows] == [task.key for task in tasks]
    assert [task_key(row, TASK_ID) for row in rows] == [task.task_id for task in tasks]
    summary = summarize_rollouts(rows)
    grouped = set(summary.total.metrics.task_rewards())
    pairs = zip(rows, tasks, strict=True)
    assert grouped == {(agent_label(r), t.group) for r, t in pairs if FAILURE_CLASS not in r}
    comparison = compare_rollouts(rows, rows)
    measured = [
        (row, task)
        for row, task in zip(rows, tasks, strict=True)
        if FAILURE_CLASS not in row and not is_masked(row) and numeric_reward(row) is not None
    ]
    for agent in comparison.agents:
        expected = {
            t.joined(comparison.join_key) for r, t in measured if agent_label(r) == agent.agent
        }
        assert agent.baseline_task_count == len(expected - {None})


def test_a_task_is_read_by_each_rule() -> None:
    row = {
        "_ng_task_index": 4,
        "_ng_task_id": {"taskset": "env:train", "task_id": "q-9"},
        "agent_ref": {"name": "math"},
    }
    task = read_task(row)
    assert (task.group, task.task_id, task.key, task.name) == (
        4,
        "env:train:q-9",
        "math/task/4",
        "env:train:q-9",
    )
    assert task_key(row, TASK_KEY) == "math/task/4"
    assert task_key(row, TASK_ID) == "env:train:q-9"
    bare = read_task({"task_id": "t", "_ng_task_index": [1]})
    assert (bare.group, bare.key, bare.name) == (0, "task/t", [1])
    assert task_key(["not", "a", "row"]) is None
