"""The export summary: counts, rewards, pass@k, metrics and strict refusals, in one pass."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path
from typing import Any

import pytest
import zstandard
from builders import call_output, rollout
from nemo_gym_oracle import expected_metrics
from parity import docent_converts

from nemogym_docent.analysis.summary import (
    HISTOGRAM_VALUES,
    RewardHistogram,
    summarize_jsonl_files,
    summarize_rollouts,
)
from nemogym_docent.jsonl.parsing import BLANK, parse_line


def _export(path: Path, records: list[Any], extra_lines: tuple[str, ...] = ()) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + "".join(extra_lines))
    return path


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
    # NeMo Gym's metrics, as the oracle computes them from the same rollouts.
    expected = expected_metrics(rollouts)
    for agent, metrics in expected.items():
        assert summary["agents"][agent]["metrics"] == pytest.approx(metrics, abs=1e-9)
    correct = [r["correct"] for r in rollouts if "correct" in r]
    assert total["metrics"]["mean/correct"] == sum(correct) / 24
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
    # Task 0 is [0, 0, 1] over both files: pass@1 1 - C(2,1)/C(3,1) = 1/3; task 1 is [1].
    assert total["metrics"]["pass@1/accuracy"] == pytest.approx(100 * (1 / 3 + 1) / 2)
    assert summary["files"][str(first)]["metrics"]["pass@1/accuracy"] == 0.0
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


def test_compressed_exports_read_as_the_plain_one(tmp_path: Path) -> None:
    records = [rollout(reward=value, _ng_rollout_index=i) for i, value in enumerate([1, 0, 1])]
    plain = _export(tmp_path / "run.jsonl", records)
    packed = tmp_path / "run.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    squeezed = tmp_path / "run.jsonl.zst"
    squeezed.write_bytes(zstandard.ZstdCompressor().compress(plain.read_bytes()))
    expected = summarize_jsonl_files([plain]).as_dict()["total"]
    for path in (packed, squeezed):
        total = summarize_jsonl_files([path]).as_dict()["total"]
        assert total == expected
        assert (total["rollouts"], total["unreadable"]) == (3, 0)


def test_a_folder_skips_its_side_files(tmp_path: Path) -> None:
    _export(tmp_path / "run.jsonl", [rollout(reward=1)])
    _export(tmp_path / "run_materialized_inputs.jsonl", [{"responses_create_params": {}}])
    summary = summarize_jsonl_files([tmp_path])
    assert list(summary.as_dict()["files"]) == [str(tmp_path / "run.jsonl")]


def test_rollouts_summarize_as_their_file_does(tmp_path: Path) -> None:
    records = [rollout(reward=1), rollout(reward=0, mask_sample=True), "x"]
    from_file = summarize_jsonl_files([_export(tmp_path / "run.jsonl", records)]).as_dict()
    assert summarize_rollouts(records).as_dict()["total"] == from_file["total"]


def test_failed_attempts_and_masked_rollouts_are_reported_not_measured() -> None:
    failure = {"_ng_failure_class": "agent_request_failed", "_ng_task_index": 1}
    records = [rollout(reward=1), rollout(reward=0, mask_sample=True), failure, failure]
    total = summarize_rollouts(records).as_dict()["total"]
    assert (total["records"], total["rollouts"]) == (4, 2)
    assert total["reward"]["count"] == 1
    assert total["metrics"]["pass@1/accuracy"] == 100.0
    assert total["metrics"]["coverage/masked_rollouts"] == 1
    assert total["failures"] == {
        "attempts": 2,
        "rollouts": 1,
        "by_class": {"agent_request_failed": 1},
        "by_stage": {},
    }


def test_every_corpus_file_gives_nemo_gyms_numbers(corpus_dir: Path) -> None:
    for path in sorted(corpus_dir.glob("*.jsonl")):
        rows = []
        for line in path.read_bytes().splitlines():
            try:
                record = parse_line(line)
            except ValueError:
                continue
            if isinstance(record, dict) and "_ng_failure_class" not in record:
                rows.append(record)
        agents = summarize_jsonl_files([path]).as_dict()["agents"]
        expected = expected_metrics(rows)
        assert set(agents) == set(expected), path.name
        for agent, metrics in expected.items():
            assert agents[agent]["metrics"] == pytest.approx(metrics, abs=1e-9), path.name
