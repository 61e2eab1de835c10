"""The command line on a NeMo Gym 0.7 run directory: results of every type, failed attempts,
health verdicts and the side files; convert, validate, upload --dry-run and summary agree."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cli_helpers import run_cli
from parity import SPEC_EXAMPLES, zero_point_seven_corpus_files

NG07 = SPEC_EXAMPLES / "ng07"


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """The spec's 0.7 examples as one run directory (the single objects as JSON Lines)."""
    if not NG07.is_dir():
        pytest.skip("../shared/spec/examples/ng07 is not present")
    folder = tmp_path / "run"
    folder.mkdir()
    for path in NG07.iterdir():
        if path.suffix == ".jsonl":
            (folder / path.name).write_bytes(path.read_bytes())
        elif path.suffix == ".json":
            row = json.loads(path.read_text("utf-8"))
            (folder / f"{path.stem}.jsonl").write_text(json.dumps(row) + "\n", "utf-8")
    return folder


def count(stderr: str, label: str) -> int:
    found = re.search(rf"^\s*{label}\s+([\d,]+)", stderr, re.MULTILINE)
    assert found is not None, stderr
    return int(found.group(1).replace(",", ""))


def test_the_commands_agree_on_the_counts(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs.jsonl"
    for failures, expected in (([], 5), (["--failures"], 7)):
        convert = run_cli(
            ["convert", str(run_dir), "--lenient", "--detail", "full", "-o", str(out), *failures]
        )
        assert convert.exit_code == 0, convert.stderr
        assert count(convert.stderr, "runs") == expected
        assert count(convert.stderr, "failed records") == 0
        assert len(out.read_bytes().splitlines()) == expected
        validate = run_cli(["validate", str(run_dir), "--lenient", *failures])
        assert validate.exit_code == 0, validate.stdout
        assert count(validate.stderr, "valid records") == expected
        upload = run_cli(
            ["upload", str(run_dir), "--dry-run", "--lenient", "--collection-name", "x", *failures]
        )
        assert upload.exit_code == 0, upload.stderr
        assert count(upload.stderr, "runs") == expected
        summary = run_cli(["summary", str(run_dir), "--format", "json", *failures])
        assert summary.exit_code == 0, summary.stderr
        total = json.loads(summary.stdout)["total"]
        standing = (total["failures"] or {}).get("rollouts", 0)
        assert total["rollouts"] + standing == expected
    skipped = run_cli(["convert", str(run_dir), "--lenient", "-o", str(out)]).stderr
    assert f"skipped {run_dir / 'rollouts_failures.jsonl'}: NeMo Gym failed attempts" in skipped
    assert f"skipped {run_dir / 'rollout_verdicts.jsonl'}: NeMo Gym rollout health" in skipped
    assert f"skipped {run_dir / 'rollouts_materialized_inputs.jsonl'}" in skipped


def test_a_failures_file_named_on_its_own_gives_one_run_per_standing_attempt(
    run_dir: Path,
) -> None:
    result = run_cli(["convert", str(run_dir / "rollouts_failures.jsonl"), "--lenient"])
    assert result.exit_code == 0, result.stderr
    runs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [run["metadata"]["failure"]["class"] for run in runs] == [
        "environment_server_failed",
        "judge_failed",
    ]
    assert runs[0]["metadata"]["failure"]["attempts"] == 3
    assert "2 earlier failed attempts of the same rollouts" in result.stderr
    strict = run_cli(["convert", str(run_dir / "rollouts_failures.jsonl")])
    assert strict.exit_code == 1
    assert "with --lenient, one run per standing attempt" in strict.stderr


def test_full_detail_joins_the_health_verdict_of_the_run_directory(run_dir: Path) -> None:
    result = run_cli(["convert", str(run_dir), "--lenient", "--detail", "full", "--failures", "-q"])
    assert result.exit_code == 0, result.stderr
    health = {
        run["name"]: run["metadata"]["nemogym"].get("health", {}).get("verdict")
        for run in map(json.loads, result.stdout.splitlines())
    }
    assert health["dates_repair_agent/task/7/rollout/1@dates_repair_agent_environment_server"] == (
        "healthy"
    )
    failed = "dates_repair_agent_environment_server/task/codex_tasks:train:hello-py/rollout/0"
    assert health[f"{failed}/attempt/2"] == "unhealthy"
    docent = run_cli(["convert", str(run_dir), "--lenient", "-q"])
    assert "health" not in docent.stdout


@pytest.mark.parametrize(
    ("name", "content"),
    [("quality_summary.json", "{}"), ("r_repeat_level_metrics.json", "[]")],
)
def test_a_side_file_of_json_named_on_its_own_is_refused(
    tmp_path: Path, name: str, content: str
) -> None:
    path = tmp_path / name
    path.write_text(content, "utf-8")
    result = run_cli(["convert", str(path)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {path} holds NeMo Gym ")
    assert result.stderr.rstrip().endswith("not rollouts")


def test_side_rows_named_on_their_own_say_what_they_are(run_dir: Path) -> None:
    verdicts = run_cli(["convert", str(run_dir / "rollout_verdicts.jsonl"), "--lenient"])
    assert verdicts.exit_code == 1
    assert "a NeMo Gym health verdict (rollout_verdicts.jsonl), not a result" in verdicts.stderr
    tasks = run_cli(["convert", str(run_dir / "rollouts_materialized_inputs.jsonl"), "--lenient"])
    assert tasks.exit_code == 1
    assert "a NeMo Gym materialized task (task_id, task_input), not a result" in tasks.stderr


def test_every_zero_point_seven_corpus_file_converts_leniently_in_full_detail() -> None:
    files = [
        path
        for path in zero_point_seven_corpus_files()
        if not path.name.endswith("_materialized_inputs.jsonl")
    ]
    if not files:
        pytest.skip("../shared/corpus is not present")
    args = ["--lenient", "--detail", "full", "-q"]
    result = run_cli(["convert", *map(str, files), *args])
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 5 * len(files)
