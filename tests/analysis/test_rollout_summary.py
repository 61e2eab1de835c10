"""The export summary: counts, rewards, pass@k, metrics and strict refusals, in one pass."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from builders import call_output, rollout
from parity import docent_converts

from nemogym_docent.analysis.summary import (
    HISTOGRAM_VALUES,
    RewardHistogram,
    rollout_metrics,
    summarize_jsonl_files,
)
from nemogym_docent.jsonl.parsing import BLANK, parse_line


def _export(path: Path, records: list[Any], extra_lines: tuple[str, ...] = ()) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + "".join(extra_lines))
    return path


def test_rollout_metrics_follow_nemo_gym() -> None:
    record = rollout(
        reward=1.0,
        correct=True,
        accuracy=0.5,
        turns_used=3,
        label="x",
        nested={"a": 1},
        _ng_attempt_index=2,
        reward_components={"format": 0.25, "answer": False, "accuracy": 0.75, "note": "n"},
    )
    # Named as full detail names its scores: a component clashing with a metric is prefixed.
    assert rollout_metrics(record) == {
        "correct": 1.0,
        "accuracy": 0.5,
        "turns_used": 3.0,
        "format": 0.25,
        "answer": 0.0,
        "reward_components/accuracy": 0.75,
    }


def test_a_summary_of_generated_rollouts(tmp_path: Path) -> None:
    rng = random.Random(5)
    records = []
    for task in range(6):
        for index in range(4):
            reward = rng.choice([0.0, 0.5, 1.0])
            records.append(
                rollout(
                    reward=reward,
                    correct=reward == 1.0,
                    _ng_task_index=task,
                    _ng_rollout_index=index,
                    agent_ref={"name": "math" if task < 4 else "code"},
                )
            )
    records.append(rollout(_ng_task_index="7"))
    records.append(rollout(output=[call_output("call_9")], _ng_task_index=8))
    records.append([1, 2])
    path = _export(tmp_path / "run.jsonl", records, ("not json\n", "\n"))
    summary = summarize_jsonl_files([path]).as_dict()
    total = summary["total"]
    rollouts = [r for r in records if isinstance(r, dict)]
    rewards = [r["reward"] for r in rollouts]
    assert total["records"] == len(records) + 1
    assert total["rollouts"] == len(rollouts)
    assert total["unreadable"] == 2
    assert total["tasks"] == 8
    assert total["rollouts_per_task"] == {"mean": 26 / 8, "min": 1, "max": 4}
    assert total["reward"]["count"] == len(rewards)
    assert total["reward"]["mean"] == sum(rewards) / len(rewards)
    assert (total["reward"]["min"], total["reward"]["max"]) == (min(rewards), max(rewards))
    histogram = {entry["low"]: entry["count"] for entry in total["reward"]["histogram"]}
    assert histogram == {value: rewards.count(value) for value in set(rewards)}
    # pass@k: tasks with a rollout at the agent's top reward (1.0 for both agents here).
    best = {}
    for r in rollouts:
        best[r["_ng_task_index"]] = max(best.get(r["_ng_task_index"], 0), r["reward"])
    passed = sum(1 for value in best.values() if value == 1.0)
    assert total["pass_at_k"]["k"] == 4
    assert total["pass_at_k"]["tasks_passed"] == passed
    assert total["pass_at_k"]["rate"] == passed / 8
    correct = [r["correct"] for r in rollouts if "correct" in r]
    assert total["metrics"] == {"correct": {"count": 24, "mean": sum(correct) / 24}}
    assert total["strict_refusals"] == {
        "_ng_task_index: expected integer, got string": 1,
        "response.output[*].call_id: no call with call_id 'call_9' comes before this output": 1,
        "not JSON": 1,
        "a rollout must be a JSON object, not array": 1,
    }
    assert summary["files"][str(path)] == total
    math = summary["agents"]["math"]
    assert math["rollouts"] == 16
    assert math["tasks"] == 4
    assert sorted(summary["agents"]) == ["agent", "code", "math"]


def test_a_task_spread_over_shards_is_one_task(tmp_path: Path) -> None:
    first = _export(tmp_path / "a.jsonl", [rollout(reward=0), rollout(reward=0)])
    second = _export(tmp_path / "b.jsonl", [rollout(reward=1), rollout(_ng_task_index=1)])
    summary = summarize_jsonl_files([first, second]).as_dict()
    total = summary["total"]
    assert total["tasks"] == 2
    assert total["rollouts_per_task"] == {"mean": 2.0, "min": 1, "max": 3}
    assert total["pass_at_k"]["tasks_passed"] == 2
    assert summary["files"][str(first)]["pass_at_k"]["tasks_passed"] == 1
    assert summary["files"][str(first)]["tasks"] == 1


def test_the_histogram_stays_bounded() -> None:
    rng = random.Random(1)
    histogram = RewardHistogram()
    values = [rng.uniform(-5, 5) for _ in range(20_000)]
    for value in values:
        histogram.add(value)
    assert len(histogram.counts) <= HISTOGRAM_VALUES
    assert sum(histogram.counts.values()) == len(values)
    bins = histogram.bins()
    assert len(bins) == 10
    assert sum(entry["count"] for entry in bins) == len(values)
    # Rounded to a few digits, the bins still hold about a tenth of a uniform sample each.
    assert all(1500 < entry["count"] < 2500 for entry in bins)


def test_the_corpus_summary_counts_what_docent_refuses(corpus_dir: Path) -> None:
    paths = sorted(corpus_dir.glob("*.jsonl"))
    total = summarize_jsonl_files(paths).as_dict()["total"]
    records = refused = 0
    for path in paths:
        for line in path.read_bytes().splitlines():
            try:
                record = parse_line(line)
            except ValueError:
                records += 1
                refused += 1
                continue
            if record is BLANK:
                continue
            records += 1
            refused += docent_converts(record) is None
    assert total["records"] == records
    assert sum(total["strict_refusals"].values()) == refused
