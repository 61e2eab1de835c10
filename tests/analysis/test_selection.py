"""Selecting rollouts: conditions, per-task caps, contrasting tasks and the seeded sample."""

from __future__ import annotations

import json
import random
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from builders import rollout

from nemogym_docent.analysis.selection import (
    Selection,
    TaskGroup,
    collect_line_task_rewards,
    collect_task_rewards,
    sample_in_order,
    select_jsonl_lines,
    select_rollouts,
)
from nemogym_docent.analysis.where import WhereError
from nemogym_docent.identity import task_key
from nemogym_docent.jsonl.parsing import iter_json_lines


def _group(task: int, rewards: list[Any], agent: str = "agent") -> list[dict[str, Any]]:
    return [
        rollout(
            reward=reward, _ng_task_index=task, _ng_rollout_index=index, agent_ref={"name": agent}
        )
        for index, reward in enumerate(rewards)
    ]


def _ids(rollouts: list[dict[str, Any]]) -> list[tuple[int, int]]:
    return [(r["_ng_task_index"], r["_ng_rollout_index"]) for r in rollouts]


def test_the_task_key_follows_nemo_gym() -> None:
    assert task_key(rollout(_ng_task_index=4)) == "agent/task/4"
    assert task_key(rollout(_ng_task_index=4, problem_id="p-9")) == "agent/task/p-9"
    assert task_key(rollout(_ng_task_index=4, task_id=None, instance_id="i")) == "agent/task/i"
    assert task_key(rollout(_ng_task_index=4, agent_ref=None)) == "task/4"
    assert task_key(rollout(_ng_task_index=True)) is None
    assert task_key({"reward": 1}) is None
    assert task_key([1]) is None


def test_no_selection_keeps_everything_in_order() -> None:
    rollouts = _group(0, [1, 0]) + _group(1, [0.5])
    assert list(select_rollouts(iter(rollouts), Selection())) == rollouts
    assert not Selection().selects


def test_every_condition_must_hold() -> None:
    rollouts = _group(0, [1, 0, 0.5]) + _group(1, [0, 1], agent="other")
    selection = Selection(where=("reward < 1", 'agent_ref.name == "agent"'))
    kept = list(select_rollouts(rollouts, selection))
    assert _ids(kept) == [(0, 1), (0, 2)]


def test_a_malformed_condition_fails_when_the_selection_is_made() -> None:
    with pytest.raises(WhereError):
        Selection(where=("reward <",))


def test_per_task_keeps_the_first_rollouts_of_each_task() -> None:
    rollouts = _group(0, [1, 0, 0.5]) + _group(1, [0, 1, 1]) + [{"reward": 1}, {"reward": 0}]
    random.Random(3).shuffle(rollouts)
    kept = list(select_rollouts(rollouts, Selection(per_task=2)))
    per_task = Counter(task_key(r) for r in kept)
    assert per_task == {"agent/task/0": 2, "agent/task/1": 2, None: 2}
    # The first two of each task in input order, and the input order kept.
    expected = [
        r
        for i, r in enumerate(rollouts)
        if sum(task_key(o) == task_key(r) for o in rollouts[:i]) < 2 or task_key(r) is None
    ]
    assert kept == expected


def test_contrast_keeps_tasks_whose_rewards_disagree() -> None:
    rollouts = (
        _group(0, [1, 1, 1])
        + _group(1, [0, 1, 0])
        + _group(2, [0.25])
        + _group(3, [None, 0.5, "high"])
        + _group(4, [0.5, 0.75])
        + [{"reward": 0}, {"reward": 1}]
    )
    kept = list(select_rollouts(rollouts, Selection(contrast=True)))
    assert {r["_ng_task_index"] for r in kept} == {1, 4}
    assert kept == [r for r in rollouts if r.get("_ng_task_index") in {1, 4}]


def test_contrast_is_judged_on_the_rollouts_that_meet_the_conditions() -> None:
    rollouts = _group(0, [1, 0]) + _group(0, [1, 1], agent="other") + _group(1, [0, 1], "other")
    selection = Selection(where=('agent_ref.name == "other"',), contrast=True)
    assert _ids(list(select_rollouts(rollouts, selection))) == [(1, 0), (1, 1)]


def test_contrast_over_an_iterator_needs_a_first_pass() -> None:
    rollouts = _group(0, [1, 0]) + _group(1, [1, 1])
    selection = Selection(contrast=True)
    with pytest.raises(ValueError, match="reads the input twice"):
        list(select_rollouts(iter(rollouts), selection))
    tasks = collect_task_rewards(iter(rollouts), selection)
    assert tasks.group("agent/task/0") == TaskGroup(2, 0.0, 1.0)
    assert tasks.group("agent/task/1") == TaskGroup(2, 1.0, 1.0)
    kept = select_rollouts(iter(rollouts), selection, tasks=tasks)
    assert _ids(list(kept)) == [(0, 0), (0, 1)]


def test_items_that_hold_rollouts_and_tasks_of_ones_own() -> None:
    items = [(f"file{n % 2}", r) for n, r in enumerate(_group(0, [0, 1, 1, 0]))]
    selection = Selection(per_task=1)
    kept = select_rollouts(items, selection, rollout_of=lambda item: item[1], task_of=id)
    assert len(list(kept)) == 4  # every item is a task of its own
    by_file = select_rollouts(
        items,
        selection,
        rollout_of=lambda item: item[1],
        task_of=lambda item: (item[0], task_key(item[1])),
    )
    assert [file for file, _ in by_file] == ["file0", "file1"]


def test_the_sample_is_of_what_the_conditions_keep_in_input_order() -> None:
    rollouts = [rollout(reward=n % 3, _ng_rollout_index=n) for n in range(300)]
    selection = Selection(where=("reward == 0",), sample=10, seed=7)
    kept = list(select_rollouts(rollouts, selection))
    indexes = [r["_ng_rollout_index"] for r in kept]
    assert len(kept) == 10
    assert indexes == sorted(indexes)
    assert all(index % 3 == 0 for index in indexes)
    assert kept == list(select_rollouts(iter(rollouts), selection))
    assert kept != list(select_rollouts(rollouts, Selection(where=selection.where, sample=10)))


def test_a_sample_larger_than_the_input_is_the_input() -> None:
    assert sample_in_order(range(5), 10) == [0, 1, 2, 3, 4]
    assert sample_in_order(range(5), 0) == []


def test_the_sample_is_uniform() -> None:
    population, size, seeds = 20, 5, 4000
    counts = Counter(
        item
        for seed in range(seeds)
        for item in sample_in_order(range(population), size, seed=seed)
    )
    expected = seeds * size / population  # 1000 each
    deviation = (seeds * (size / population) * (1 - size / population)) ** 0.5  # about 27
    assert set(counts) == set(range(population))
    assert all(abs(count - expected) < 5 * deviation for count in counts.values()), counts
    # Every pair is drawn as often as the others, too: no position is favoured with another.
    pairs = Counter(
        (sample[0], sample[-1])
        for seed in range(seeds)
        for sample in [sample_in_order(range(4), 2, seed=seed)]
    )
    assert len(pairs) == 6
    assert all(abs(count - seeds / 6) < 5 * (seeds / 6 * 5 / 6) ** 0.5 for count in pairs.values())


def _write_big_export(path: Path, *, tasks: int, per_task: int, padding: int) -> int:
    rng = random.Random(0)
    with path.open("w") as out:
        for _ in range(per_task):
            for task in range(tasks):
                reward = 1.0 if task % 3 else rng.choice([0.0, 1.0, 0.5])
                record = rollout(reward=reward, _ng_task_index=task, padding="x" * padding)
                out.write(json.dumps(record) + "\n")
    return path.stat().st_size


def _read(path: Path) -> Iterator[dict[str, Any]]:
    with path.open("rb") as stream:
        for _, value in iter_json_lines(stream, str(path)):
            yield value


def test_contrast_on_a_file_larger_than_its_memory_bound(tmp_path: Path) -> None:
    """Two passes hold per-task rewards and one record at a time, never the file."""
    path = tmp_path / "big.jsonl"
    size = _write_big_export(path, tasks=60, per_task=4, padding=40_000)
    bound = 2 << 20  # what the selection may hold: 2 MB, for a file of about 10 MB
    assert size > 4 * bound
    selection = Selection(contrast=True, where=("reward >= 0",))
    tracemalloc.start()
    try:
        tasks = collect_task_rewards(_read(path), selection)
        kept = 0
        contrasting: set[str | None] = set()
        for record in select_rollouts(_read(path), selection, tasks=tasks):
            kept += 1
            contrasting.add(task_key(record))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < bound
    expected = _contrasting_by_brute_force(path)
    assert contrasting == expected
    assert kept == 4 * len(expected)


def _contrasting_by_brute_force(path: Path) -> set[str | None]:
    rewards: dict[str | None, set[float]] = {}
    for record in _read(path):
        rewards.setdefault(task_key(record), set()).add(record["reward"])
    return {task for task, values in rewards.items() if len(values) > 1}


def test_selection_on_the_corpus(corpus_dir: Path) -> None:
    for path in sorted(corpus_dir.glob("*rollouts*.jsonl")):
        try:
            records = list(_read(path))
        except ValueError:
            continue  # a file with placeholder lines that are not JSON
        rollouts = [r for r in records if isinstance(r, dict)]
        failed = [
            r for r in rollouts if isinstance(r.get("reward"), int | float) and r["reward"] < 1
        ]
        assert list(select_rollouts(rollouts, Selection(where=("reward < 1",)))) == failed
        capped = list(select_rollouts(rollouts, Selection(per_task=1)))
        keyed = [task_key(r) for r in capped if task_key(r) is not None]
        assert len(keyed) == len(set(keyed)) == len({task_key(r) for r in rollouts} - {None})
        sample = list(select_rollouts(rollouts, Selection(sample=3, seed=1)))
        assert len(sample) == min(3, len(rollouts))
        assert all(any(s is r for r in rollouts) for s in sample)


def test_jsonl_lines_that_are_not_rollouts_pass_for_the_converter_to_report() -> None:
    lines = [
        (n, raw)
        for n, raw in enumerate(
            [
                json.dumps(rollout(reward=0, _ng_task_index=0)).encode(),
                b"not json",
                json.dumps(rollout(reward=1, _ng_task_index=0)).encode(),
                b"[1, 2]",
                b"   ",
                json.dumps(rollout(reward=0, _ng_task_index=1)).encode(),
            ],
            1,
        )
    ]
    kept = list(select_jsonl_lines(lines, Selection(where=("reward < 1",)), raw_of=_raw))
    assert [(line[0], task) for line, task in kept] == [
        (1, "agent/task/0"),
        (2, None),
        (4, None),
        (5, None),
        (6, "agent/task/1"),
    ]
    contrast = Selection(contrast=True)
    tasks = collect_line_task_rewards(lines, contrast, raw_of=_raw)
    kept = list(select_jsonl_lines(lines, contrast, raw_of=_raw, tasks=tasks))
    assert [line[0] for line, _ in kept] == [1, 2, 3, 4, 5]
    # With a sample, what is not a rollout comes at once; the sample at the end, in order.
    kept = list(select_jsonl_lines(lines, Selection(sample=2, seed=3), raw_of=_raw))
    assert [line[0] for line, _ in kept][:3] == [2, 4, 5]
    sampled = [line[0] for line, _ in kept][3:]
    assert len(sampled) == 2
    assert sampled == sorted(sampled)
    assert set(sampled) <= {1, 3, 6}


def _raw(line: tuple[int, bytes]) -> bytes:
    return line[1]
