"""``compare --upload``: both sides of each flipped task land once in one collection, marked with
their side and flip, and the command links to them (or prints the conditions to enter)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from builders import rollout
from cli_helpers import run_cli, write_export
from fake_docent import COLLECTION, FakeDocent, urls


def _rows(rewards: dict[int, list[float]]) -> list[dict[str, Any]]:
    return [
        rollout(reward=value, _ng_task_index=task, _ng_rollout_index=index)
        for task, values in rewards.items()
        for index, value in enumerate(values)
    ]


def _sides(tmp_path: Path) -> list[str]:
    # Task 0 regresses (mean 2/3 -> 0), task 1 improves (0 -> 1), task 2 stays. Task 0's third
    # rollout is the same line on both sides: two runs, one per side.
    before = _rows({0: [1, 1, 0], 1: [0, 0], 2: [1]})
    after = _rows({0: [0, 0, 0], 1: [1, 1], 2: [1]})
    return [
        str(write_export(tmp_path / "base.jsonl", before)),
        str(write_export(tmp_path / "cand.jsonl", after)),
    ]


def test_both_sides_of_each_flip_land_once_with_links(docent: FakeDocent, tmp_path: Path) -> None:
    docent.saves_filters = True
    sides = _sides(tmp_path)
    command = ["compare", *sides, "--upload", "--collection-id", COLLECTION, *urls(docent.server)]
    result = run_cli(command)
    assert result.exit_code == 0, result.stderr
    marks = sorted(
        (run["metadata"]["compare"]["side"], run["metadata"]["nemogym"]["task_key"])
        for run in docent.runs
    )
    assert marks == sorted(
        [("baseline", "agent/task/0")] * 3
        + [("baseline", "agent/task/1")] * 2
        + [("candidate", "agent/task/0")] * 3
        + [("candidate", "agent/task/1")] * 2
    )
    first = next(r for r in docent.runs if r["metadata"]["nemogym"]["task_key"] == "agent/task/0")
    task_0 = [r for r in docent.runs if r["metadata"]["nemogym"]["task_key"] == "agent/task/0"]
    assert sorted(run["name"] for run in task_0) == [  # the sides told apart by name
        f"{side}: agent/task/0/rollout/{index}"
        for side in ("baseline", "candidate")
        for index in range(3)
    ]
    assert all(run["metadata"]["title"] == run["name"] for run in task_0)
    assert first["metadata"]["compare"] == {
        "side": first["metadata"]["compare"]["side"],
        "task": "agent/task/0",
        "join_key": "task_key",
        "direction": "pass_to_fail",
        "delta": pytest.approx(-2 / 3),
        "baseline_score": pytest.approx(2 / 3),
        "candidate_score": 0.0,
        "regressed": True,
    }
    keys = [run["metadata"]["upload_key"] for run in docent.runs]
    assert len(set(keys)) == len(keys)
    assert [entry["filter"]["filters"][0]["key_path"] for entry in docent.saved_filters] == [
        ["metadata", "compare", "regressed"],
        ["metadata", "compare", "delta"],
    ]
    lines = result.stdout.splitlines()
    assert any(line.startswith("regressions") and "filter=filter-1" in line for line in lines)
    again = run_cli([*command, "--resume"])
    assert again.exit_code == 0, again.stderr
    assert len(docent.runs) == 10  # the second upload found every key and sent nothing


def test_a_server_without_saved_filters_gets_the_conditions_to_enter(
    docent: FakeDocent, tmp_path: Path
) -> None:
    command = ["compare", *_sides(tmp_path), "--upload", "--collection-id", COLLECTION]
    result = run_cli([*command, *urls(docent.server)])
    assert result.exit_code == 0, result.stderr
    assert "this Docent server saves no filters (HTTP 404 to create_saved_filter)" in result.stdout
    assert "enter a view in the run list's filter bar (field, operator, value)" in result.stdout
    assert (
        "regressions (both sides of each task that got worse): metadata.compare.regressed == true"
        in result.stdout
    )
    assert "DQL" not in result.stdout


def test_upload_options_need_upload(tmp_path: Path) -> None:
    result = run_cli(["compare", *_sides(tmp_path), "--collection-id", "x"])
    assert result.exit_code == 2
    assert "go with --upload" in result.stderr


def test_upload_with_contrast_links_to_its_views(docent: FakeDocent, tmp_path: Path) -> None:
    docent.saves_filters = True
    export = write_export(tmp_path / "run.jsonl", _rows({0: [1, 0], 1: [1, 1]}))
    result = run_cli(
        ["upload", str(export), "--contrast", "--collection-id", COLLECTION, *urls(docent.server)]
    )
    assert result.exit_code == 0, result.stderr
    dashboard = f"http://127.0.0.1:1/web/dashboard/{COLLECTION}"
    assert result.stdout.splitlines() == [
        dashboard,
        f"failures (reward below 1): {dashboard}/agent_run?filter=filter-1",
        f"failed attempts: {dashboard}/agent_run?filter=filter-2",
        "contrasting task groups (rollouts of a task disagree on reward): "
        f"{dashboard}/agent_run?filter=filter-3",
    ]
    assert len(docent.runs) == 2  # the contrasting task only
