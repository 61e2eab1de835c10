"""``nemogym-docent summary``: the tables, the JSON, conditions and faults."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pytest
from builders import rollout
from cli_helpers import orphan_output, run_cli, without_agent_ref, write_export

from nemogym_docent.analysis.summary import summarize_jsonl_files


def _export(tmp_path: Path) -> Path:
    records = [
        rollout(reward=reward, _ng_task_index=task, _ng_rollout_index=index, correct=reward == 1)
        for task, rewards in enumerate([[1.0, 0.0], [0.0, 0.0], [0.5, 1.0]])
        for index, reward in enumerate(rewards)
    ]
    return write_export(tmp_path / "math.jsonl", [*records, without_agent_ref(), orphan_output()])


def test_json_is_the_library_summary_of_the_same_files(tmp_path: Path) -> None:
    path = _export(tmp_path)
    result = run_cli(["summary", str(path), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == json.loads(
        json.dumps(summarize_jsonl_files([path]).as_dict())
    )


def test_text_shows_each_group_the_metrics_and_the_refusals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _export(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = run_cli(["summary", "math.jsonl"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    file_row = next(line for line in lines if line.strip().startswith("math.jsonl"))
    # 8 rollouts; 4 tasks: the orphan output is task 0 of "agent" again, and the record without
    # an agent is task 0 of no agent. pass@1: task 0 [1, 0, 1] 1 - C(1,1)/C(3,1) = 2/3, task 1
    # [0, 0] 0, task 2 [0.5, 1] (not binary: the first value) 0.5, no agent's [1] 1.
    assert file_row.split()[1:4] == ["8", "4", "2"]
    assert f"{100 * (2 / 3 + 0 + 0.5 + 1) / 4:.1f}%   100.0% @3" in file_row
    assert any(line.split() == ["mean/correct", "0.3333"] for line in lines)
    # Agent "agent": tasks [1, 1, 0] (rollout order), [0, 0], [0.5, 1]. avg-of-3: (2/3 + 0 +
    # 0.75) / 3; runs 0..2: 50, 200/3, 0, whose sample std over sqrt(3) is the error.
    runs = [50, 200 / 3, 0]
    spread = statistics.stdev(runs) / math.sqrt(3)
    average = 100 * (2 / 3 + 0 + 0.75) / 3
    row = ["pass@1[avg-of-3]/accuracy", f"{average:.1f}%", "±", f"{spread:.1f}"]
    assert row in [line.split() for line in lines]
    assert any("agent_ref: is required" in line for line in lines)
    assert any("response.output[*].call_id: no call with call_id" in line for line in lines)


def test_where_limits_what_is_summarized(tmp_path: Path) -> None:
    path = _export(tmp_path)
    result = run_cli(["summary", str(path), "--format", "json", "--where", "reward < 1"])
    total = json.loads(result.stdout)["total"]
    assert total["rollouts"] == 4
    assert total["reward"]["max"] == 0.5


def test_a_malformed_condition_is_a_usage_error_with_its_column(tmp_path: Path) -> None:
    result = run_cli(["summary", str(_export(tmp_path)), "--where", "reward < < 1"])
    assert result.exit_code == 2
    assert result.stderr == "error: --where: invalid syntax at column 10: reward < < 1\n"


def test_the_corpus_summary_runs(corpus_dir: Path) -> None:
    result = run_cli(["summary", str(corpus_dir), "-q"])
    assert result.exit_code == 0, result.stderr
    assert "by agent" in result.stdout
    assert "refused by strict mode" in result.stdout
