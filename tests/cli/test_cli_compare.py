"""``nemogym-docent compare``: flips on exports made by changing rewards, text, JSON, exit codes."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import pytest
from builders import rollout
from cli_helpers import run_cli, write_export

from nemogym_docent.analysis.compare import compare_exports
from nemogym_docent.jsonl.parsing import parse_line


def _rows(rewards: dict[int, list[float]], **extra: Any) -> list[dict[str, Any]]:
    return [
        rollout(reward=value, _ng_task_index=task, _ng_rollout_index=index, **extra)
        for task, values in rewards.items()
        for index, value in enumerate(values)
    ]


def _pair(
    tmp_path: Path, before: dict[int, list[float]], after: dict[int, list[float]]
) -> list[str]:
    baseline = write_export(tmp_path / "base" / "rollouts.jsonl", _rows(before))
    candidate = write_export(tmp_path / "cand" / "rollouts.jsonl.gz", _rows(after))
    return [str(baseline.parent), str(candidate)]


def test_binary_flips_ties_and_one_sided_tasks(tmp_path: Path) -> None:
    # Task 0 1 -> 0 regresses, 1 0 -> 1 improves, 2 0.5 -> 1 is tied, 3 stays, 4 and 5 one-sided.
    before = {0: [1, 1], 1: [0, 0], 2: [1, 0], 3: [1], 4: [0]}
    after = {0: [0, 0], 1: [1, 1], 2: [1, 1], 3: [1], 5: [1]}
    sides = _pair(tmp_path, before, after)
    result = run_cli(["compare", *sides, "--format", "json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["join_key"] == "task_key"
    (agent,) = data["agents"]
    flips = agent["flips"]
    counts = {key: flips[key] for key in ("mode", "pass_to_fail_count", "fail_to_pass_count")}
    assert counts == {"mode": "binary", "pass_to_fail_count": 1, "fail_to_pass_count": 1}
    assert (flips["tied_count"], flips["unchanged_count"], flips["net"]) == (1, 1, 0)
    assert (flips["baseline_only_task_count"], flips["candidate_only_task_count"]) == (1, 1)
    assert flips["flips"] == [
        {
            "task": "agent/task/0",
            "baseline_score": 1.0,
            "candidate_score": 0.0,
            "delta": -1.0,
            "direction": "pass_to_fail",
        },
        {
            "task": "agent/task/1",
            "baseline_score": 0.0,
            "candidate_score": 1.0,
            "delta": 1.0,
            "direction": "fail_to_pass",
        },
    ]
    rows = {row["metric"]: row for row in agent["metrics"]}
    # Baseline tasks [1,1], [0,0], [1,0], [1], [0]: pass@1 (1 + 0 + 1/2 + 1 + 0) / 5.
    assert rows["pass@1/accuracy"]["baseline"] == pytest.approx(100 * 2.5 / 5)
    assert rows["pass@1/accuracy"]["candidate"] == pytest.approx(100 * 4 / 5)
    failed = run_cli(["compare", *sides, "--fail-on-regression"])
    assert failed.exit_code == 1
    assert "error: a task regressed (--fail-on-regression)" in failed.stderr
    text = failed.stdout
    assert "tasks joined by task_key" in text
    assert "1 pass_to_fail, 1 fail_to_pass, net +0; 1 tied, 1 unchanged" in text
    assert text.index("pass_to_fail ") < text.index("fail_to_pass ")


def test_continuous_changes_fall_first(tmp_path: Path) -> None:
    sides = _pair(tmp_path, {0: [0.2, 0.4], 1: [0.5], 2: [0.9]}, {0: [0.6], 1: [0.5], 2: [0.1]})
    result = run_cli(["compare", *sides, "--format", "json", "--fail-on-regression"])
    assert result.exit_code == 1
    flips = json.loads(result.stdout)["agents"][0]["flips"]
    assert flips["mode"] == "continuous"
    assert flips["pass_to_fail_count"] is None
    assert flips["unchanged_count"] == 1
    assert [(f["task"], f["direction"]) for f in flips["flips"]] == [
        ("agent/task/2", "changed"),
        ("agent/task/0", "changed"),
    ]
    assert flips["flips"][0]["delta"] == pytest.approx(0.1 - 0.9)
    assert flips["flips"][1]["delta"] == pytest.approx(0.6 - 0.3)


def test_tasks_join_by_task_id_when_both_sides_have_it(tmp_path: Path) -> None:
    def run(order: list[tuple[str, float]]) -> list[dict[str, Any]]:
        return [
            rollout(
                reward=reward, _ng_task_index=index, _ng_task_id={"taskset": "m:t", "task_id": t}
            )
            for index, (t, reward) in enumerate(order)
        ]

    # The candidate ran the same tasks in another order; by index every task would flip.
    baseline = write_export(tmp_path / "a.jsonl", run([("x", 1), ("y", 0)]))
    candidate = write_export(tmp_path / "b.jsonl", run([("y", 0), ("x", 1)]))
    comparison = compare_exports(baseline, candidate)
    assert comparison.join_key == "_ng_task_id"
    assert comparison.agents[0].flips.unchanged_count == 2
    assert not comparison.regressed
    result = run_cli(["compare", str(baseline), str(candidate)])
    assert result.exit_code == 0
    assert "tasks joined by _ng_task_id" in result.stdout


def test_a_missing_side_is_an_input_error(tmp_path: Path) -> None:
    result = run_cli(["compare", str(tmp_path / "nope.jsonl"), str(tmp_path / "nope2.jsonl")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")


def _task(row: dict[str, Any]) -> str | None:
    """The task key of ``--per-task``, written out again: agent, then the first task id."""
    for key in ("task_id", "problem_id", "instance_id", "_ng_task_index"):
        value = row.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool):
            return (
                f"{row['agent_ref']['name']}/task/{value}"
                if "agent_ref" in row
                else f"task/{value}"
            )
    return None


def test_changed_copies_of_the_corpus_give_nemo_gyms_flips(
    corpus_dir: Path, tmp_path: Path
) -> None:
    checked = 0
    for path in sorted(corpus_dir.glob("*.jsonl")):
        rows = [
            parse_line(line) for line in path.read_bytes().splitlines() if line.startswith(b"{")
        ]
        rows = [r for r in rows if isinstance(r.get("reward"), int | float) and _task(r)]
        if not rows:
            continue
        changed = []
        for number, row in enumerate(rows):
            reward = row["reward"]
            if number % 2 == 0:  # flip 0/1 rewards, move others by 0.25
                reward = 1 - reward if reward in (0, 1) else reward + 0.25
            changed.append({**row, "reward": reward})
        candidate = write_export(tmp_path / path.name, changed)
        comparison = compare_exports(path, candidate)
        assert comparison.join_key == "task_key"
        before: dict[str, list[float]] = {}
        after: dict[str, list[float]] = {}
        for row, new in zip(rows, changed, strict=True):
            before.setdefault(_task(row), []).append(row["reward"])
            after.setdefault(_task(new), []).append(new["reward"])
        binary = all(set(v) <= {0, 1} for side in (before, after) for v in side.values())
        expected = set()
        for task, rewards in before.items():
            old, new_mean = statistics.fmean(rewards), statistics.fmean(after[task])
            if binary and 0.5 not in (old, new_mean) and (old > 0.5) != (new_mean > 0.5):
                expected.add((task, "pass_to_fail" if old > 0.5 else "fail_to_pass"))
            elif not binary and old != new_mean:
                expected.add((task, "changed"))
        found = {
            (flip.task, flip.direction) for agent in comparison.agents for flip in agent.flips.flips
        }
        assert found == expected, path.name
        modes = {agent.flips.mode for agent in comparison.agents}
        assert modes == {"binary" if binary else "continuous"}, path.name
        checked += 1
    assert checked > 40
