"""The convert, validate and schema commands, run in-process through typer's CliRunner."""

from __future__ import annotations

import gzip
import json
import os
import stat
import threading
from pathlib import Path

import orjson
import pytest
import zstandard
from cli_helpers import (
    jsonl,
    orphan_output,
    output_lines,
    run_cli,
    summary_rows,
    valid_rollouts,
    without_agent_ref,
    write_export,
)
from docent.data_models.agent_run import AgentRun
from parity import EXAMPLES, comparable

import nemogym_docent
from nemogym_docent.jsonl import chunks
from nemogym_docent.validation.schemas import schema_names, schema_path


def library_lines(records: list[dict[str, object]]) -> list[dict[str, object]]:
    """What the library makes of each record, ids left out."""
    return [comparable(nemogym_docent.convert_nemogym_rollout_to_agent_run(r)) for r in records]


# convert: input forms


def test_convert_file_matches_the_library_record_for_record() -> None:
    result = run_cli(["convert", str(EXAMPLES)])
    assert result.exit_code == 0, result.stderr
    expected = [
        comparable(run) for run in nemogym_docent.convert_nemogym_jsonl_file_to_agent_runs(EXAMPLES)
    ]
    assert output_lines(result.stdout_bytes) == expected


def test_convert_lines_rebuild_as_agent_runs_with_fresh_ids() -> None:
    result = run_cli(["convert", str(EXAMPLES)])
    first, second = (
        AgentRun.model_validate(orjson.loads(line)) for line in result.stdout_bytes.splitlines()[:2]
    )
    assert "id" not in orjson.loads(result.stdout_bytes.splitlines()[0])
    assert "id" not in first.model_fields_set
    assert first.id != second.id
    assert first.transcripts[0].id != second.transcripts[0].id


def test_convert_is_byte_identical_across_runs(tmp_path: Path) -> None:
    outputs = []
    for name in ("a.jsonl", "b.jsonl"):
        result = run_cli(["convert", str(EXAMPLES), "-o", str(tmp_path / name), "--quiet"])
        assert result.exit_code == 0
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0].count(b"\n") == len(EXAMPLES.read_text().splitlines())


def test_convert_directory_reads_rollout_files_sorted_and_says_what_it_skipped(
    tmp_path: Path,
) -> None:
    records = valid_rollouts(4)
    write_export(tmp_path / "b" / "results.jsonl", records[2:])
    write_export(tmp_path / "a.jsonl.gz", records[:2])
    write_export(tmp_path / "a_materialized_inputs.jsonl", [{"responses_create_params": {}}])
    write_export(tmp_path / "a_reward_profiling.jsonl", [{"mean/reward": 0.5}])
    write_export(tmp_path / "a_failures.jsonl", [{"_ng_failure_class": "x"}])
    (tmp_path / "a_aggregate_metrics.json").write_text("[]")
    (tmp_path / "notes.txt").write_text("not an export")

    result = run_cli(["convert", str(tmp_path)])

    assert result.exit_code == 0, result.stderr
    assert output_lines(result.stdout_bytes) == library_lines(records)
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped ")]
    assert [line.split(":")[0].split("/")[-1] for line in skipped] == [
        "a_aggregate_metrics.json",
        "a_failures.jsonl",
        "a_materialized_inputs.jsonl",
        "a_reward_profiling.jsonl",
    ]
    assert "materialized inputs" in skipped[2]
    assert "notes.txt" not in result.stderr


def test_a_side_file_named_explicitly_is_read_and_fails_as_a_rollout(tmp_path: Path) -> None:
    side = write_export(
        tmp_path / "run_materialized_inputs.jsonl", [{"responses_create_params": {"input": "x"}}]
    )
    result = run_cli(["convert", str(side)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {side}:1: ")
    assert "skipped" not in result.stderr


def test_convert_glob(tmp_path: Path) -> None:
    records = valid_rollouts(3)
    write_export(tmp_path / "part-1.jsonl", records[:1])
    write_export(tmp_path / "part-2.jsonl", records[1:])
    write_export(tmp_path / "part-2_materialized_inputs.jsonl", [{}])
    write_export(tmp_path / "other.jsonl", valid_rollouts(1, agent="other"))
    result = run_cli(["convert", str(tmp_path / "part-*.jsonl")])
    assert result.exit_code == 0, result.stderr
    assert output_lines(result.stdout_bytes) == library_lines(records)
    assert "skipped" in result.stderr


def test_convert_stdin_plain_and_gzip() -> None:
    records = valid_rollouts(3)
    for data in (jsonl(records), gzip.compress(jsonl(records))):
        result = run_cli(["convert", "-"], stdin=data)
        assert result.exit_code == 0, result.stderr
        assert output_lines(result.stdout_bytes) == library_lines(records)


def test_convert_gzip_and_zstandard_files(tmp_path: Path) -> None:
    records = valid_rollouts(3)
    gz = write_export(tmp_path / "export.jsonl.gz", records)
    zst = tmp_path / "export.jsonl.zst"
    zst.write_bytes(zstandard.ZstdCompressor().compress(jsonl(records)))
    for path in (gz, zst):
        result = run_cli(["convert", str(path)])
        assert result.exit_code == 0, result.stderr
        assert output_lines(result.stdout_bytes) == library_lines(records)


def test_convert_numbers_lines_as_the_library_does(tmp_path: Path) -> None:
    records = valid_rollouts(2)
    data = b"\n" + jsonl(records[:1]) + b"\r\n   \n" + jsonl(records[1:]) + b"not json\n"
    path = tmp_path / "export.jsonl"
    path.write_bytes(data)
    result = run_cli(
        ["convert", str(path), "--skip-invalid", "--errors", str(tmp_path / "e.jsonl")]
    )
    assert result.exit_code == 0
    assert output_lines(result.stdout_bytes) == library_lines(records)
    with pytest.raises(nemogym_docent.ConversionError) as raised:
        nemogym_docent.convert_nemogym_jsonl_file_to_agent_runs(path)
    error = json.loads((tmp_path / "e.jsonl").read_text())
    assert error["line"] == raised.value.line == 6


# convert: failures


def test_convert_stops_at_the_first_invalid_rollout(tmp_path: Path) -> None:
    path = write_export(
        tmp_path / "export.jsonl", [*valid_rollouts(1), without_agent_ref(), orphan_output()]
    )
    out = tmp_path / "runs.jsonl"
    result = run_cli(["convert", str(path), "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"error: {path}:2: agent_ref: is required"
    assert all(line.startswith("hint: ") for line in result.stderr.splitlines()[1:])
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [path]


def test_convert_skip_invalid_writes_an_errors_file(tmp_path: Path) -> None:
    good = valid_rollouts(2)
    path = write_export(
        tmp_path / "export.jsonl", [good[0], without_agent_ref(), "{oops", orphan_output(), good[1]]
    )
    out, errors = tmp_path / "runs.jsonl", tmp_path / "errors.jsonl"
    result = run_cli(
        ["convert", str(path), "-o", str(out), "--skip-invalid", "--errors", str(errors)]
    )
    assert result.exit_code == 0
    assert output_lines(out.read_bytes()) == library_lines(good)
    failures = [json.loads(line) for line in errors.read_text().splitlines()]
    assert [(f["file"], f["line"], f["json_path"]) for f in failures] == [
        (str(path), 2, "agent_ref"),
        (str(path), 3, ""),
        (str(path), 4, "response.output[0].call_id"),
    ]
    assert failures[1]["message"].startswith("invalid JSON")
    assert "call_missing" in failures[2]["message"]
    assert summary_rows(result.stderr)["failed records"] == "3"


def test_convert_without_skip_invalid_writes_the_failure_to_the_errors_file(tmp_path: Path) -> None:
    path = write_export(tmp_path / "export.jsonl", [orphan_output()])
    errors = tmp_path / "errors.jsonl"
    result = run_cli(["convert", str(path), "--errors", str(errors)])
    assert result.exit_code == 1
    assert json.loads(errors.read_text())["json_path"] == "response.output[0].call_id"


def test_convert_workers_give_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chunks, "CHUNK_LINES", 3)  # many chunks from a small input
    records = [*valid_rollouts(20), without_agent_ref(), *valid_rollouts(5, agent="b")]
    path = write_export(tmp_path / "export.jsonl.gz", records)
    outputs = []
    for workers in ("1", "2"):
        out = tmp_path / f"runs-{workers}.jsonl"
        result = run_cli(
            ["convert", str(path), "-o", str(out), "--skip-invalid", "--workers", workers]
        )
        assert result.exit_code == 0, result.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert len(output_lines(outputs[0])) == 25


def test_convert_quiet_prints_nothing_on_stderr(tmp_path: Path) -> None:
    write_export(tmp_path / "x_materialized_inputs.jsonl", [{}])
    write_export(tmp_path / "x.jsonl", valid_rollouts(1))
    result = run_cli(["convert", str(tmp_path), "--quiet"])
    assert result.exit_code == 0
    assert result.stderr == ""
    assert len(output_lines(result.stdout_bytes)) == 1


def test_convert_summary_counts_runs_messages_and_rewards() -> None:
    result = run_cli(["convert", str(EXAMPLES), "-o", "-"])
    runs = [
        AgentRun.model_validate(orjson.loads(line)) for line in result.stdout_bytes.splitlines()
    ]
    rewards = [run.metadata["scores"]["reward"] for run in runs]
    rows = summary_rows(result.stderr)
    assert rows["runs"] == str(len(runs))
    assert rows["messages"] == str(sum(len(run.transcripts[0].messages) for run in runs))
    assert rows["reward"] == f"mean {sum(rewards) / len(rewards):.3g}, min {min(rewards):.3g}, " + (
        f"max {max(rewards):.3g}"
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["missing.jsonl"], "missing.jsonl: no such file or directory"),
        (["nothing-*.jsonl"], "nothing-*.jsonl: no file matches this pattern"),
    ],
)
def test_missing_inputs_exit_2(
    arguments: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for command in ("convert", "validate"):
        result = run_cli([command, *arguments])
        assert result.exit_code == 2
        assert result.stderr == f"error: {message}\n"


def test_a_directory_without_rollout_files_has_no_records(tmp_path: Path) -> None:
    write_export(tmp_path / "x_materialized_inputs.jsonl", [{}])
    converted = run_cli(["convert", str(tmp_path)])
    assert converted.exit_code == 0
    assert f"note: {tmp_path}: no rollout file inside" in converted.stderr
    assert "no records in the input" in converted.stderr
    validated = run_cli(["validate", str(tmp_path), "-q"])
    assert validated.exit_code == 1
    assert validated.stderr.splitlines() == [
        "error: no records to validate",
        "hint: --allow-empty accepts that",
    ]


def test_a_broken_gzip_file_exits_2(tmp_path: Path) -> None:
    broken = tmp_path / "export.jsonl.gz"
    broken.write_bytes(gzip.compress(jsonl(valid_rollouts(50)))[:-40])
    for command in ("convert", "validate"):
        result = run_cli([command, str(broken)])
        assert result.exit_code == 2
        assert result.stderr.splitlines()[-1] == (
            f"error: {broken}: the compressed stream ends early"
        )
    garbage = tmp_path / "garbage.jsonl.gz"
    garbage.write_bytes(b"\x00\x01 not gzip at all\n")
    result = run_cli(["validate", str(garbage)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {garbage}: not gzip data (")


# validate


def test_validate_reports_every_error_of_every_record(tmp_path: Path) -> None:
    bad = without_agent_ref()
    del bad["_ng_task_index"]
    path = write_export(
        tmp_path / "export.jsonl", [*valid_rollouts(1), bad, orphan_output(), "[1, 2"]
    )
    result = run_cli(["validate", str(path)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    assert lines[:2] == [
        f"{path}:2: agent_ref: is required",
        f"{path}:2: _ng_task_index: is required",
    ]
    assert lines[2].startswith(f"{path}:3: response.output[0].call_id: ")
    assert "'call_missing'" in lines[2]
    assert lines[3] == f"{path}:4: invalid JSON (Expecting ',' delimiter, column 6)"
    summary = summary_rows(result.stderr.split("most common")[0])
    assert summary == {
        "files read": "1",
        "records": "4",
        "valid records": "1",
        "invalid records": "3",
        "errors": "4",
        "invalid records that convert with --lenient": "2",
    }
    assert "agent_ref: is required" in result.stderr.split("most common errors")[1]


def test_validate_lenient_counts_lenient_only_records_and_their_losses(tmp_path: Path) -> None:
    bad = without_agent_ref()
    path = write_export(tmp_path / "export.jsonl", [*valid_rollouts(1), bad, orphan_output()])
    result = run_cli(["validate", "--lenient", str(path)])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        f"{path}:2: agent_ref: lenient: missing_identity: absent; the agent is named 'export'",
        f"{path}:3: response.output[0].call_id: lenient: orphaned_tool_output: "
        "no call with call_id 'call_missing' comes before this output",
    ]
    summary = summary_rows(result.stderr)
    assert summary["valid records"] == "3"
    assert summary["records lenient only"] == "2"
    assert summary["approximations"] == "2"
    assert summary["missing_identity"] == "1"
    assert summary["orphaned_tool_output"] == "1"


def test_validate_lenient_warnings_in_json_and_github_formats(tmp_path: Path) -> None:
    path = write_export(tmp_path / "export.jsonl", [without_agent_ref()])
    as_json = run_cli(["validate", "--lenient", "--format", "json", "--quiet", str(path)])
    assert [json.loads(line) for line in as_json.stdout.splitlines()] == [
        {
            "file": str(path),
            "line": 1,
            "json_path": "agent_ref",
            "message": "lenient: missing_identity: absent; the agent is named 'export'",
            "severity": "warning",
        }
    ]
    github = run_cli(["validate", "--lenient", "--format", "github", "--quiet", str(path)])
    assert github.stdout.startswith(f"::warning file={path},line=1,title=agent_ref::lenient: ")
    assert (as_json.exit_code, github.exit_code) == (0, 0)


def test_convert_lenient_summary_counts_losses(tmp_path: Path) -> None:
    path = write_export(tmp_path / "export.jsonl", [*valid_rollouts(2), without_agent_ref()])
    result = run_cli(["convert", "--lenient", str(path), "-o", str(tmp_path / "runs.jsonl")])
    assert result.exit_code == 0
    summary = summary_rows(result.stderr)
    assert (summary["runs"], summary["records lenient only"], summary["missing_identity"]) == (
        "3",
        "1",
        "1",
    )


def test_validate_valid_input_exits_0() -> None:
    result = run_cli(["validate", str(EXAMPLES)])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "invalid" in result.stderr


def test_validate_json_format(tmp_path: Path) -> None:
    path = write_export(tmp_path / "export.jsonl", [without_agent_ref()])
    result = run_cli(["validate", str(path), "--format", "json"])
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"file": str(path), "line": 1, "json_path": "agent_ref", "message": "is required"}
    ]


def test_validate_github_annotations(tmp_path: Path) -> None:
    path = write_export(tmp_path / "a,b:c.jsonl", [without_agent_ref(), "{"])
    result = run_cli(["validate", str(path), "--format", "github"])
    assert result.exit_code == 1
    escaped = str(path).replace(":", "%3A").replace(",", "%2C")
    assert result.stdout.splitlines() == [
        f"::error file={escaped},line=1,title=agent_ref::is required",
        f"::error file={escaped},line=2::invalid JSON "
        "(Expecting property name enclosed in double quotes, column 2)",
    ]


def test_validate_max_errors_stops_early(tmp_path: Path) -> None:
    path = write_export(tmp_path / "export.jsonl", [without_agent_ref()] * 5)
    result = run_cli(["validate", str(path), "--max-errors", "3"])
    assert result.exit_code == 1
    assert [line.split(":")[1] for line in result.stdout.splitlines()] == ["1", "2", "3"]
    assert "stopped after 3 errors" in result.stderr


def test_validate_workers_and_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chunks, "CHUNK_LINES", 2)
    data = gzip.compress(jsonl([*valid_rollouts(5), without_agent_ref(), *valid_rollouts(3)]))
    one = run_cli(["validate", "-", "--workers", "1"], stdin=data)
    two = run_cli(["validate", "-", "--workers", "2"], stdin=data)
    assert one.exit_code == two.exit_code == 1
    assert one.stdout == two.stdout == "<stdin>:6: agent_ref: is required\n"


def test_validate_and_convert_agree_on_the_corpus(corpus_dir: Path, tmp_path: Path) -> None:
    errors = tmp_path / "errors.jsonl"
    converted = run_cli(
        [
            "convert",
            str(corpus_dir),
            "--skip-invalid",
            "-q",
            "--errors",
            str(errors),
            "-o",
            str(tmp_path / "runs.jsonl"),
        ]
    )
    validated = run_cli(["validate", str(corpus_dir), "-q", "--format", "json"])
    assert converted.exit_code == 0
    assert validated.exit_code == 1
    invalid_by_convert = {
        (e["file"], e["line"]) for e in map(json.loads, errors.read_text().splitlines())
    }
    invalid_by_validate = {
        (e["file"], e["line"]) for e in map(json.loads, validated.stdout.splitlines())
    }
    assert invalid_by_convert == invalid_by_validate
    assert invalid_by_convert


@pytest.mark.parametrize("lenient", [False, True], ids=["strict", "lenient"])
def test_convert_agrees_with_the_library_on_the_corpus(corpus_dir: Path, lenient: bool) -> None:
    mode = ["--lenient"] if lenient else []
    for path in sorted(corpus_dir.glob("*.jsonl")):
        result = run_cli(["convert", str(path), "--skip-invalid", "-q", *mode])
        expected = []
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            try:
                record = json.loads(line)
                run = nemogym_docent.convert.convert_nemogym_rollout_to_agent_run(
                    record,
                    strict=not lenient,
                    origin=nemogym_docent.convert.RecordOrigin(path.stem, number),
                )
            except (json.JSONDecodeError, nemogym_docent.ConversionError):
                continue
            expected.append(comparable(run))
        assert output_lines(result.stdout_bytes) == expected, path.name


# schema


def test_schema_prints_each_packaged_schema() -> None:
    assert "strict-rollout" in schema_names()
    for name in schema_names():
        result = run_cli(["schema", name])
        assert result.exit_code == 0
        assert json.loads(result.stdout) == json.loads(schema_path(name).read_text())
    default = run_cli(["schema"])
    assert (
        json.loads(default.stdout)["$id"]
        == json.loads(schema_path("strict-rollout").read_text())["$id"]
    )


def test_schema_path_and_unknown_names() -> None:
    result = run_cli(["schema", "items", "--path"])
    assert result.exit_code == 0
    printed = Path(result.stdout.strip())
    assert printed.is_file()
    assert printed.read_bytes() == schema_path("items").read_bytes()
    unknown = run_cli(["schema", "nope"])
    assert unknown.exit_code == 2
    assert unknown.stderr.startswith("error: unknown schema 'nope'; choose one of: ")


def test_no_arguments_prints_help() -> None:
    result = run_cli([])
    assert result.exit_code == 2
    for command in ("convert", "validate", "upload", "schema"):
        assert command in result.stdout + result.stderr


def test_convert_writes_into_a_pipe_without_replacing_it(tmp_path: Path) -> None:
    fifo = tmp_path / "runs.pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    result = run_cli(["convert", str(EXAMPLES), "-o", str(fifo), "-q"])
    reader.join(timeout=60)
    assert result.exit_code == 0
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.pipe"]
    assert output_lines(received[0]) == output_lines(
        run_cli(["convert", str(EXAMPLES)]).stdout_bytes
    )


def test_validate_for_github_writes_the_step_summary_and_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    bad = write_export(tmp_path / "bad.jsonl", [*valid_rollouts(2), without_agent_ref()])
    result = run_cli(["validate", str(bad), "--format", "github", "--quiet"])
    assert result.exit_code == 1
    assert outputs.read_text() == "files=1\nrecords=3\nvalid=2\ninvalid=1\nerrors=1\n"
    text = summary.read_text()
    assert text.startswith("### nemogym-docent validate\n\n| | |\n| --- | ---: |\n")
    assert "| invalid records | 1 |\n" in text
    assert "| 1 | agent_ref: is required |\n" in text
    monkeypatch.delenv("GITHUB_OUTPUT")
    assert run_cli(["validate", str(bad), "--quiet"]).exit_code == 1
    assert summary.read_text() == text


def test_a_selection_that_keeps_nothing_says_so(tmp_path: Path) -> None:
    export = write_export(tmp_path / "run.jsonl", valid_rollouts(3))
    result = run_cli(
        ["convert", str(export), "-o", str(tmp_path / "out.jsonl"), "--where", "reward > 5"]
    )
    assert result.exit_code == 0
    assert "the selection kept none of the 3 records read\n" in result.stderr
    assert "no records in the input" not in result.stderr
    result = run_cli(["validate", str(export), "--where", "reward > 5", "--quiet"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: the selection kept none of the 3 records read\n")


def test_option_and_input_messages_say_what_is_wrong(tmp_path: Path) -> None:
    export = write_export(tmp_path / "run.jsonl", valid_rollouts(1))
    detail = run_cli(["convert", str(export), "--detail", "ful"])
    assert detail.exit_code == 2
    assert "'ful' is not a detail level; choose docent or full" in detail.stderr
    assert "Value error" not in detail.stderr
    follow = run_cli(
        ["upload", "--follow", str(tmp_path / "nosuch"), "--collection-id", "x", "--dry-run"]
    )
    assert follow.exit_code == 2
    assert follow.stderr == f"error: {tmp_path / 'nosuch'}: no such file or directory\n"
    table = tmp_path / "table.csv"
    table.write_text("a,b\n1,2\n")
    csv = run_cli(["convert", str(table)])
    assert csv.exit_code == 1
    assert "nemogym-docent validate" not in csv.stderr
    side = write_export(tmp_path / "run_materialized_inputs.jsonl", [{"task": 1}])
    validated = run_cli(["validate", str(side)])
    assert validated.exit_code == 1
    assert f"hint: {side} holds NeMo Gym materialized inputs" in validated.stderr
