"""``--where``, ``--sample``, ``--per-task``, ``--contrast`` and ``--group-by task`` on the
command line: what they keep is what converting only those records gives."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

from builders import rollout
from cli_helpers import output_lines, run_cli, write_export
from fake_docent import COLLECTION, FakeDocent, urls, without_ids

from nemogym_docent.identity import task_key


def _groups(seed: int, tasks: int = 8, per_task: int = 4) -> list[dict[str, Any]]:
    """GRPO-like rollouts: several per task, in shuffled order, rewards 0, 0.5 or 1."""
    rng = random.Random(seed)
    records = [
        rollout(
            reward=rng.choice([0.0, 0.5, 1.0]) if task % 2 else 1.0,
            _ng_task_index=task,
            _ng_rollout_index=index,
            agent_ref={"name": "math_agent" if task < tasks // 2 else "code_agent"},
            reward_components={"format": rng.choice([0.0, 1.0])},
        )
        for task in range(tasks)
        for index in range(per_task)
    ]
    rng.shuffle(records)
    return records


def _convert(*args: str) -> list[dict[str, Any]]:
    result = run_cli(["convert", *args, "-q"])
    assert result.exit_code == 0, result.stderr
    return output_lines(result.stdout_bytes)


def test_where_keeps_what_converting_only_those_records_gives(tmp_path: Path) -> None:
    records = _groups(1)
    first = write_export(tmp_path / "a.jsonl", records[:15])
    second = write_export(tmp_path / "b.jsonl.gz", records[15:])
    kept = [
        r
        for r in records
        if r["reward"] < 1
        and r["agent_ref"]["name"] == "math_agent"
        and r["reward_components"]["format"] >= 0.5
    ]
    assert kept
    only = write_export(tmp_path / "only.jsonl", kept)
    where = [
        "--where", "reward < 1",
        "--where", 'agent_ref.name == "math_agent"',
        "--where", "reward_components.format >= 0.5",
    ]  # fmt: skip
    assert _convert(str(first), str(second), *where) == _convert(str(only))
    result = run_cli(["convert", str(first), str(second), *where, "-o", str(tmp_path / "o")])
    assert result.stderr.splitlines()[1].split() == [
        "selected",
        str(len(kept)),
        "of",
        "32",
        "records",
    ]


def test_a_missing_path_selects_nothing_and_a_malformed_one_stops_before_reading(
    tmp_path: Path,
) -> None:
    export = write_export(tmp_path / "a.jsonl", _groups(2))
    assert _convert(str(export), "--where", "judge_evaluations[0].verdict_label != 'x'") == []
    result = run_cli(["convert", str(export), "--where", "reward <= = 1"])
    assert result.exit_code == 2
    assert result.stderr == "error: --where: invalid syntax at column 11: reward <= = 1\n"
    assert result.stdout == ""


def test_the_sample_is_deterministic_in_input_order_and_of_the_selected(tmp_path: Path) -> None:
    records = _groups(3, tasks=20)
    export = write_export(tmp_path / "a.jsonl", records)
    everything = _convert(str(export))
    sample = _convert(str(export), "--sample", "7", "--seed", "11", "--where", "reward > 0")
    assert sample == _convert(str(export), "--where", "reward > 0", "--seed", "11", "--sample", "7")
    assert len(sample) == 7
    positions = [everything.index(run) for run in sample]
    assert positions == sorted(positions)
    assert all(run["metadata"]["scores"]["reward"] > 0 for run in sample)
    assert sample != _convert(str(export), "--sample", "7", "--seed", "12", "--where", "reward > 0")


def test_per_task_and_contrast_keep_the_groups_worth_reading(tmp_path: Path) -> None:
    records = _groups(4)
    export = write_export(tmp_path / "a.jsonl", records)
    rewards: dict[str | None, set[float]] = {}
    for r in records:
        rewards.setdefault(task_key(r), set()).add(r["reward"])
    contrasting = {task for task, values in rewards.items() if len(values) > 1}
    assert 0 < len(contrasting) < len(rewards)
    seen: dict[str | None, int] = {}
    expected = []
    for r in records:
        if task_key(r) in contrasting and seen.get(task_key(r), 0) < 2:
            seen[task_key(r)] = seen.get(task_key(r), 0) + 1
            expected.append(r)
    only = write_export(tmp_path / "only.jsonl", expected)
    assert _convert(str(export), "--contrast", "--per-task", "2") == _convert(str(only))


def test_contrast_and_group_by_need_files_they_can_read_twice(tmp_path: Path) -> None:
    data = (write_export(tmp_path / "a.jsonl", _groups(5))).read_bytes()
    for option in (["--contrast"], ["--group-by", "task"]):
        result = run_cli(["convert", "-", *option], stdin=data)
        assert result.exit_code == 2
        assert "reads the inputs twice, and standard input can be read once" in result.stderr


def test_group_by_task_gives_the_runs_of_a_task_the_same_group(tmp_path: Path) -> None:
    records = _groups(6)
    export = write_export(tmp_path / "a.jsonl", records)
    plain = _convert(str(export))
    grouped = _convert(str(export), "--group-by", "task")
    assert len(grouped) == len(records)
    for record, before, after in zip(records, plain, grouped, strict=True):
        nemogym = after["metadata"]["nemogym"]
        group = after["metadata"].pop("task_group")
        assert nemogym.pop("task_key") == task_key(record)
        assert after == before  # nothing else changes
        same_task = [r["reward"] for r in records if task_key(r) == task_key(record)]
        assert group == {
            "size": len(same_task),
            "reward_min": min(same_task),
            "reward_max": max(same_task),
            "reward_spread": max(same_task) - min(same_task),
        }


def test_the_corpus_selected_is_the_corpus_converted_then_filtered(corpus_dir: Path) -> None:
    everything = _convert(str(corpus_dir), "--skip-invalid")
    failing = _convert(str(corpus_dir), "--skip-invalid", "--where", "reward < 1")
    scores = [run["metadata"].get("scores", {}) for run in everything]
    expected = [
        run
        for run, score in zip(everything, scores, strict=True)
        if isinstance(score.get("reward"), int | float) and score["reward"] < 1
    ]
    assert failing == expected
    assert 0 < len(failing) < len(everything)


def test_upload_sends_the_selected_runs_with_their_groups(
    docent: FakeDocent, tmp_path: Path
) -> None:
    export = write_export(tmp_path / "a.jsonl", _groups(7))
    options = ["--where", "reward < 1", "--group-by", "task"]
    result = run_cli(
        ["upload", str(export), *options, "--collection-id", COLLECTION, *urls(docent.server)]
    )
    assert result.exit_code == 0, result.stderr
    stored = [without_ids(run) for run in docent.runs]
    assert stored == _convert(str(export), *options)
    spreads = {
        run["metadata"]["nemogym"]["task_key"]: run["metadata"]["task_group"] for run in stored
    }
    widest = max(group["reward_spread"] for group in spreads.values())
    assert widest > 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("http://127.0.0.1:1/web/dashboard/")
    shown = re.fullmatch(
        r"the runs of one task: enter in the run list's filter bar "
        r"metadata.nemogym.task_key == (.+)",
        lines[1],
    )
    assert shown is not None
    assert spreads[shown[1]]["reward_spread"] == widest


def test_validate_checks_only_the_selected_records_and_every_broken_line(tmp_path: Path) -> None:
    records = _groups(9)
    bad = rollout(reward=0.0, agent_ref={"name": "math_agent"}, _ng_task_index="7")
    export = write_export(tmp_path / "a.jsonl", [*records, bad, "not json"])
    result = run_cli(["validate", str(export), "--where", 'agent_ref.name == "code_agent"'])
    assert result.exit_code == 1  # the line that is not JSON is never selected away
    line = len(records) + 2
    assert result.stdout == f"{export}:{line}: invalid JSON (Expecting value, column 1)\n"
    selected = sum(1 for r in records if r["agent_ref"]["name"] == "code_agent")
    summary = result.stderr.splitlines()[1].split()
    assert summary == ["selected", str(selected + 1), "of", str(len(records) + 2), "records"]
    math = run_cli(["validate", str(export), "-q", "--where", 'agent_ref.name == "math_agent"'])
    assert f"{export}:{len(records) + 1}: _ng_task_index:" in math.stdout


def test_group_by_task_changes_nothing_else_on_the_corpus(corpus_dir: Path) -> None:
    options = ["--skip-invalid", "--lenient"]
    plain = _convert(str(corpus_dir), *options)
    grouped = _convert(str(corpus_dir), *options, "--group-by", "task")
    assert len(grouped) == len(plain)
    marked = 0
    for before, after in zip(plain, grouped, strict=True):
        nemogym = after["metadata"].get("nemogym", {})
        if "task_key" in nemogym:
            marked += 1
            del nemogym["task_key"], after["metadata"]["task_group"]
            if not nemogym:
                del after["metadata"]["nemogym"]
        assert after == before
    assert marked > 0
