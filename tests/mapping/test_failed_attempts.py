"""Failed attempts (``*_failures.jsonl``): one run per standing attempt, marked failed."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from parity import SPEC_EXAMPLES, comparable

from nemogym_docent import (
    convert_nemogym_failed_attempt_to_agent_run,
    convert_nemogym_failures_file_to_agent_runs,
)

FAILURES = SPEC_EXAMPLES / "ng07" / "rollouts_failures.jsonl"


@pytest.fixture
def failures() -> Path:
    if not FAILURES.is_file():
        pytest.skip("../shared/spec/examples/ng07 is not present")
    return FAILURES


def failure(run: dict[str, Any]) -> dict[str, Any]:
    return run["metadata"]["failure"]


@pytest.mark.parametrize("detail", ["docent", "full"])
def test_one_run_per_standing_attempt(failures: Path, detail: str) -> None:
    runs = [
        comparable(run)
        for run in convert_nemogym_failures_file_to_agent_runs(failures, detail=detail)
    ]
    assert [run["name"] for run in runs] == [
        "dates_repair_agent_environment_server/task/codex_tasks:train:hello-py/rollout/0/attempt/2",
        "dates_repair_agent/task/5/rollout/0@dates_repair_agent_environment_server",
    ]
    server_failed, judge_failed = runs
    assert failure(server_failed) == {
        "class": "environment_server_failed",
        "stage": "verification",
        "message": "verifier timed out after 600 s",
        "terminal": True,
        "attempt_index": 2,
        "attempts": 3,
        "final": True,
    }
    assert [m["content"] for m in server_failed["transcripts"][0]["messages"]] == [
        "Patched the leap-year check."
    ]
    assert "scores" not in server_failed["metadata"]
    assert failure(judge_failed)["class"] == "judge_failed"
    assert failure(judge_failed)["judge_error"] == "judge returned no score"
    assert "reward" not in judge_failed["metadata"].get("scores", {})
    assert judge_failed["metadata"]["nemogym"]["verdict"] == {
        "mask_sample": True,
        "failure_kind": "judge_failed",
        "failure_reason": "judge returned no score",
        "masked_reward": 0.0,
    }
    assert [m["role"] for m in judge_failed["transcripts"][0]["messages"]] == ["user", "assistant"]


def test_a_key_failing_five_times_is_one_run_with_five_attempts(tmp_path: Path) -> None:
    row = {
        "_ng_failure_class": "agent_request_failed",
        "_ng_failure_type": "ClientResponseError",
        "_ng_failure_http_status": 502,
        "_ng_task_index": 4,
        "_ng_rollout_index": 1,
        "agent_ref": {"name": "flaky_agent"},
        "_ng_environment_server": "flaky_agent_environment_server",
        "_ng_result_type": "legacy_agent",
    }
    lines = [
        {**row, "_ng_failure_message": f"try {n}", **({"_ng_attempt_index": n} if n else {})}
        for n in range(5)
    ]
    path = tmp_path / "rollouts_failures.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), "utf-8")
    (run,) = convert_nemogym_failures_file_to_agent_runs(path)
    assert run.name == "flaky_agent/task/4/rollout/1/attempt/4@flaky_agent_environment_server"
    assert run.metadata["failure"] == {
        "class": "agent_request_failed",
        "message": "try 4",
        "http_status": 502,
        "type": "ClientResponseError",
        "terminal": False,
        "attempt_index": 4,
        "attempts": 5,
        "final": True,
    }
    assert run.transcripts[0].messages == []


def test_one_failed_attempt_converts_on_its_own(failures: Path) -> None:
    rows = [json.loads(line) for line in failures.read_text("utf-8").splitlines()]
    for row in rows:
        before = copy.deepcopy(row)
        convert_nemogym_failed_attempt_to_agent_run(row, detail="full")
        assert row == before
    run = convert_nemogym_failed_attempt_to_agent_run(rows[0])
    assert run.metadata["failure"]["class"] == "agent_request_failed"
    assert "attempts" not in run.metadata["failure"]
    assert run.metadata["conversion"]["mode"] == "lenient"
