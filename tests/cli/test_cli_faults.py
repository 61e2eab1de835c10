"""What a user of the command line meets when something is wrong: no data lost without a word,
no traceback, and a message that says what to do next."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import zstandard
from cli_helpers import (
    SCRIPT,
    assert_no_traceback,
    jsonl,
    orphan_output,
    output_lines,
    run_cli,
    run_process,
    summary_rows,
    valid_rollouts,
    without_agent_ref,
    write_export,
)
from parity import EXAMPLES, comparable

import nemogym_docent

# Data lost or overwritten without a word


@pytest.mark.parametrize(
    "outputs",
    [["-o", "{input}"], ["--errors", "{input}"], ["-o", "{other}", "--errors", "{other}"]],
    ids=["-o is an input", "--errors is an input", "-o is --errors"],
)
def test_an_output_that_is_an_input_is_refused_before_reading(
    tmp_path: Path, outputs: list[str]
) -> None:
    export = write_export(tmp_path / "a.jsonl", valid_rollouts(2))
    before = export.read_bytes()
    names = {"input": str(export), "other": str(tmp_path / "out.jsonl")}
    arguments = [argument.format(**names) for argument in outputs]
    for command in (["convert"], ["upload", "--dry-run"]):
        if command[0] == "upload" and "-o" in arguments:
            continue
        result = run_cli([*command, str(tmp_path), "--skip-invalid", *arguments])
        assert result.exit_code == 2, result.stderr
        assert result.stderr.startswith("error: ")
        assert "records" not in result.stderr  # stopped before reading
        assert export.read_bytes() == before
        assert sorted(path.name for path in tmp_path.iterdir()) == ["a.jsonl"]


def test_the_same_file_through_a_symlink_is_refused_as_output(tmp_path: Path) -> None:
    export = write_export(tmp_path / "a.jsonl", valid_rollouts(1))
    (tmp_path / "link.jsonl").symlink_to(export)
    result = run_cli(["convert", str(export), "-o", str(tmp_path / "link.jsonl")])
    assert result.exit_code == 2
    assert "-o names an input file" in result.stderr


@pytest.mark.parametrize("kept", [0.3, 0.98], ids=["early", "near the end"])
@pytest.mark.parametrize("compression", ["zstandard", "gzip"])
def test_a_truncated_compressed_file_fails_and_never_reads_as_fewer_records(
    tmp_path: Path, kept: float, compression: str
) -> None:
    data = jsonl(valid_rollouts(300))
    packed = gzip.compress(data) if compression == "gzip" else _zstd(data)
    suffix = ".gz" if compression == "gzip" else ".zst"
    cut = int(len(packed) * kept)
    broken = tmp_path / f"t.jsonl{suffix}"
    broken.write_bytes(packed[:cut])
    for command in ("convert", "validate"):
        from_file = run_cli([command, str(broken), "-q"])
        assert from_file.exit_code == 2
        assert from_file.stderr.splitlines()[-1] == (
            f"error: {broken}: the compressed stream ends early"
        )
        from_stdin = run_cli([command, "-", "-q"], stdin=packed[:cut])
        assert from_stdin.exit_code == 2
        assert from_stdin.stderr.splitlines()[-1] == (
            "error: <stdin>: the compressed stream ends early"
        )


def test_several_zstandard_frames_are_all_read(tmp_path: Path) -> None:
    records = valid_rollouts(4)
    path = tmp_path / "frames.jsonl.zst"
    path.write_bytes(_zstd(jsonl(records[:2])) + _zstd(jsonl(records[2:])))
    result = run_cli(["convert", str(path)])
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout_bytes.splitlines()) == 4


def _zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


@pytest.mark.parametrize(
    "command", [["convert"], ["upload", "--dry-run"]], ids=["convert", "upload"]
)
def test_quiet_never_hides_skipped_records(tmp_path: Path, command: list[str]) -> None:
    export = write_export(
        tmp_path / "a.jsonl", [*valid_rollouts(2), without_agent_ref(), orphan_output()]
    )
    quiet = run_cli([*command, str(export), "--skip-invalid", "-q"])
    assert quiet.exit_code == 0
    assert quiet.stderr == "skipped 2 invalid records\n"
    errors = tmp_path / "errors.jsonl"
    with_errors = run_cli([*command, str(export), "--skip-invalid", "-q", "--errors", str(errors)])
    assert with_errors.stderr == f"skipped 2 invalid records; details in {errors}\n"


@pytest.mark.parametrize("kind", ["empty file", "empty stdin", "directory without rollouts"])
def test_an_empty_input_says_no_records_and_fails_validate(tmp_path: Path, kind: str) -> None:
    if kind == "empty file":
        arguments, stdin = [str(write_export(tmp_path / "empty.jsonl", []))], None
    elif kind == "empty stdin":
        arguments, stdin = ["-"], b""
    else:
        write_export(tmp_path / "results" / "r_aggregate_metrics.json", [])
        arguments, stdin = [str(tmp_path / "results")], None
    validated = run_cli(["validate", *arguments], stdin=stdin)
    assert validated.exit_code == 1
    assert "error: no records to validate" in validated.stderr
    assert run_cli(["validate", *arguments, "--allow-empty"], stdin=stdin).exit_code == 0
    converted = run_cli(["convert", *arguments], stdin=stdin)
    assert converted.exit_code == 0
    assert "no records in the input" in converted.stderr


# Tracebacks (none may reach a user)


def test_an_unwritable_errors_path_is_one_line_and_exit_2(tmp_path: Path) -> None:
    export = write_export(tmp_path / "a.jsonl", [without_agent_ref()])
    for option in ("--errors", "-o"):
        target = tmp_path / "missing" / "out.jsonl"
        result = run_process("convert", str(export), "--skip-invalid", option, str(target))
        assert result.returncode == 2
        assert (
            result.stderr == f"error: {target}: cannot write (No such file or directory)\n".encode()
        )
    out = tmp_path / "runs.jsonl"
    result = run_process("convert", str(export), "-o", str(out), "--errors", str(target))
    assert result.returncode == 2
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.jsonl"]  # no temporary -o


def _big_export(tmp_path: Path, copies: int = 600) -> Path:
    lines = EXAMPLES.read_bytes().splitlines(keepends=True)
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"".join(lines * copies) + jsonl([without_agent_ref()]))
    return path


def _start_converting(tmp_path: Path, *, moment: str = "converting") -> subprocess.Popen[bytes]:
    """``convert --workers 2`` on a big export, in its own process group as a terminal's
    foreground job, once it has started (imports done) or is converting (output begun)."""
    export = _big_export(tmp_path, copies=1200)
    temporary = tmp_path / "tmp"  # where the workers leave their output for the parent
    temporary.mkdir()
    process = subprocess.Popen(
        [
            *(str(SCRIPT), "convert", str(export), "--workers", "2", "--skip-invalid"),
            *("-o", str(tmp_path / "runs.jsonl"), "--errors", str(tmp_path / "errors.jsonl")),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env={**os.environ, "TMPDIR": str(temporary)},
    )
    if moment == "starting":
        time.sleep(0.3)  # importing the command and the converter
    else:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob(".runs.jsonl.*.tmp")) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
    assert process.poll() is None, "the command ended before it was stopped"
    return process


def _assert_nothing_left(tmp_path: Path) -> None:
    assert sorted(path.name for path in tmp_path.iterdir()) == ["big.jsonl", "tmp"]
    assert list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.parametrize(
    ("stop", "said", "code"),
    [
        ("ctrl-c", b"interrupted\n", 130),  # SIGINT to the process group, as a terminal sends
        ("sigterm", b"terminated\n", 143),  # SIGTERM to the command alone, as `timeout` sends
        ("sigterm-group", b"terminated\n", 143),  # to every process, as `kill -TERM -pgid`
    ],
)
@pytest.mark.parametrize("moment", ["starting", "converting"])
def test_stopping_two_workers_is_one_line_and_leaves_nothing(
    tmp_path: Path, moment: str, stop: str, said: bytes, code: int
) -> None:
    process = _start_converting(tmp_path, moment=moment)
    if stop == "ctrl-c":
        os.killpg(process.pid, signal.SIGINT)
    elif stop == "sigterm":
        process.send_signal(signal.SIGTERM)
    else:
        os.killpg(process.pid, signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    assert_no_traceback(stderr)
    assert (process.returncode, stderr, stdout) == (code, said, b"")
    _assert_nothing_left(tmp_path)
    assert not _children_alive(process.pid)


def test_a_worker_killed_is_one_error_line_and_leaves_nothing(tmp_path: Path) -> None:
    process = _start_converting(tmp_path)
    os.kill(_children(process.pid)[0], signal.SIGKILL)  # as the kernel's out-of-memory killer
    stdout, stderr = process.communicate(timeout=120)
    assert_no_traceback(stderr)
    assert process.returncode == 2
    assert stderr.decode().splitlines()[0] == (
        "error: a worker process stopped unexpectedly (killed, or out of memory?)"
    )
    assert stdout == b""
    _assert_nothing_left(tmp_path)


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(child) for child in found.stdout.split()]


def _children_alive(pid: int) -> bool:
    """Whether a process of the stopped command's group still runs (a worker left behind)."""
    time.sleep(0.2)
    found = subprocess.run(["pgrep", "-g", str(pid)], capture_output=True, check=False)
    return bool(found.stdout.strip())


@pytest.mark.parametrize("workers", ["1", "2"])
def test_stdout_closed_early_is_not_reported_as_invalid(tmp_path: Path, workers: str) -> None:
    export = _big_export(tmp_path)
    process = subprocess.Popen(
        [str(SCRIPT), "convert", str(export), "--skip-invalid", "--workers", workers],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stdout.readline().startswith(b'{"name":')
    process.stdout.close()  # as `| head -1` does
    assert process.stderr is not None
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 141
    assert_no_traceback(stderr)
    assert b"invalid" not in stderr
    assert stderr == b""


# Messages that say what to do next


def test_a_strict_failure_suggests_lenient_and_validate(tmp_path: Path) -> None:
    bad = without_agent_ref()
    del bad["_ng_task_index"]
    export = write_export(tmp_path / "a.jsonl", [bad, {"responses_create_params": 1}])
    errors = tmp_path / "errors.jsonl"
    result = run_cli(["convert", str(export), "--errors", str(errors)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {export}:1: agent_ref: is required (and 1 more)",
        "hint: it converts with --lenient, which approximates what Docent refuses",
        f"hint: see every issue with: nemogym-docent validate {export}; "
        "--skip-invalid goes on with the other records",
    ]
    written = [json.loads(line) for line in errors.read_text().splitlines()]
    assert [(issue["line"], issue["json_path"], issue["message"]) for issue in written] == [
        (1, "agent_ref", "is required"),
        (1, "_ng_task_index", "is required"),
    ]
    not_a_rollout = run_cli(["convert", str(export), "--lenient"])
    assert "converts with --lenient" not in not_a_rollout.stderr


def test_a_compressed_file_named_jsonl_and_a_plain_file_named_gz_are_read_with_a_note(
    tmp_path: Path,
) -> None:
    records = valid_rollouts(2)
    packed = tmp_path / "packed.jsonl"
    packed.write_bytes(gzip.compress(jsonl(records)))
    plain = write_export(tmp_path / "plain.jsonl", records).rename(tmp_path / "plain.jsonl.gz")
    result = run_cli(["convert", str(packed), str(plain)])
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout_bytes.splitlines()) == 4
    assert f"note: {packed}: looks like gzip data; read decompressed" in result.stderr
    assert f"note: {plain}: not gzip data; read as plain JSON Lines" in result.stderr


@pytest.mark.parametrize("indent", [2, None], ids=["pretty", "one line"])
@pytest.mark.parametrize("shape", ["array", "object"])
def test_json_that_is_not_json_lines_says_so(
    tmp_path: Path, indent: int | None, shape: str
) -> None:
    records = valid_rollouts(2)
    document = records if shape == "array" else records[0]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document, indent=indent))
    result = run_cli(["convert", str(path)])
    if indent is None and shape == "object":  # one object on one line is JSON Lines
        assert result.exit_code == 0
        return
    if indent is None:
        assert result.exit_code == 1
        assert "hint: this line is a JSON array; JSON Lines holds one object a line" in (
            result.stderr
        )
        return
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {path}: this is JSON ({'an ' + shape} over several lines), not JSON Lines "
        "(one record a line)",
        f"hint: jq -c '{'.[]' if shape == 'array' else '.'}' {path} > records.jsonl "
        "writes it as JSON Lines",
    ]


def test_a_truncated_last_line_says_so(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl"
    path.write_bytes(jsonl(valid_rollouts(2))[:-40])
    result = run_cli(["convert", str(path)])
    assert result.exit_code == 1
    assert "hint: the last line looks truncated: was the file cut short?" in result.stderr
    whole_but_broken = write_export(tmp_path / "broken.jsonl", ["{oops"])
    assert "hint: the last line" not in run_cli(["convert", str(whole_but_broken)]).stderr


def test_agent_runs_and_rollouts_given_to_the_wrong_command_say_so(tmp_path: Path) -> None:
    export = write_export(tmp_path / "a.jsonl", valid_rollouts(1))
    runs = tmp_path / "runs.jsonl"
    assert run_cli(["convert", str(export), "-o", str(runs), "-q"]).exit_code == 0
    upload_runs = run_cli(["upload", str(runs), "--dry-run"])
    assert upload_runs.exit_code == 1
    assert "hint: this line is a Docent AgentRun; upload such lines with --from-agent-runs" in (
        upload_runs.stderr
    )
    convert_runs = run_cli(["convert", str(runs)])
    assert "hint: this line is already a Docent AgentRun (as convert writes)" in (
        convert_runs.stderr
    )
    rollouts_as_runs = run_cli(["upload", str(export), "--dry-run", "--from-agent-runs"])
    assert rollouts_as_runs.exit_code == 1
    lines = rollouts_as_runs.stderr.splitlines()
    assert lines[0] == f"error: {export}:1: transcripts: is required"
    assert (
        "hint: this line is a NeMo Gym rollout; leave out --from-agent-runs to upload it" in lines
    )
    assert "Field required" not in rollouts_as_runs.stderr  # pydantic's words never reach a user


def test_a_side_file_named_explicitly_says_what_it_holds(tmp_path: Path) -> None:
    side = write_export(tmp_path / "r_materialized_inputs.jsonl", [{"responses_create_params": {}}])
    result = run_cli(["convert", str(side)])
    assert result.exit_code == 1
    assert f"hint: {side} holds NeMo Gym materialized inputs (" in result.stderr


# Conveniences


def test_version_short_help_and_flags_without_placeholders() -> None:
    version = run_process("--version")
    assert version.returncode == 0
    assert version.stdout.decode().startswith("nemogym-docent ")
    assert run_process("-h").stdout == run_process("--help").stdout
    for command in ("convert", "validate", "upload", "schema"):
        shown = run_cli([command, "-h"])
        assert shown.exit_code == 0
        assert "<bool>" not in shown.stdout
        examples = shown.stdout.split("Examples:\n")[1].splitlines()
        assert 2 <= len(examples) <= 3
        assert all(f"nemogym-docent {command} " in line for line in examples)
    assert "writes no runs" in " ".join(run_cli(["validate", "-h"]).stdout.split())


def test_an_invalid_format_lists_the_choices_in_plain_words() -> None:
    result = run_cli(["validate", "--format", "xml", str(EXAMPLES)])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: Invalid value for '--format' / '-f': 'xml' is not a format; "
        "choose text, json or github"
    )


def test_a_file_named_twice_is_read_once_with_a_note(tmp_path: Path) -> None:
    export = write_export(tmp_path / "a.jsonl", valid_rollouts(2))
    result = run_cli(["convert", str(export), str(tmp_path), str(tmp_path / "*.jsonl")])
    assert result.exit_code == 0
    assert len(result.stdout_bytes.splitlines()) == 2
    assert result.stderr.count(f"note: {export} is named more than once; read once") == 2


def test_an_unreadable_file_in_a_directory_stops_before_reading_or_is_skipped(
    tmp_path: Path,
) -> None:
    write_export(tmp_path / "a.jsonl", valid_rollouts(2))
    (tmp_path / "b.jsonl").symlink_to(tmp_path / "gone.jsonl")  # cannot be opened
    out = tmp_path / "runs.jsonl"
    stopped = run_cli(["convert", str(tmp_path), "-o", str(out)])
    assert stopped.exit_code == 2
    assert stopped.stderr == f"error: {tmp_path / 'b.jsonl'}: no such file or directory\n"
    assert not out.exists()
    skipped = run_cli(["convert", str(tmp_path), "-o", str(out), "--skip-invalid"])
    assert skipped.exit_code == 0
    assert f"skipped {tmp_path / 'b.jsonl'}: no such file or directory" in skipped.stderr
    assert len(out.read_bytes().splitlines()) == 2


def test_summaries_fit_80_columns_without_trailing_spaces(tmp_path: Path) -> None:
    deep = tmp_path / ("a-long-folder-name-" * 4) / "export-with-a-long-name.jsonl"
    export = write_export(deep, [*valid_rollouts(2), without_agent_ref()])
    out = deep.with_name("runs-with-a-long-name-too.jsonl")
    for arguments in (
        ["convert", str(export), "--skip-invalid", "--lenient", "-o", str(out)],
        ["validate", str(export)],
        ["upload", str(export), "--dry-run", "--skip-invalid"],
    ):
        result = run_cli(arguments)
        lines = result.stderr.splitlines()
        title = next(n for n, line in enumerate(lines) if line.startswith(arguments[0]))
        for line in lines[title:]:
            assert len(line) <= 80, line
            assert line == line.rstrip(), line
    rows = summary_rows(run_cli(["convert", str(export), "--lenient"]).stderr)
    assert (rows["records lenient only"], rows["approximations"]) == ("1", "1")


def test_max_errors_counts_the_files_actually_read(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        write_export(tmp_path / f"{name}.jsonl", [without_agent_ref()] * 3)
    result = run_cli(["validate", str(tmp_path), "--max-errors", "2"])
    assert summary_rows(result.stderr)["files read"] == "1"


def test_an_unknown_item_type_is_reported_once_with_one_list(tmp_path: Path) -> None:
    record = valid_rollouts(1)[0]
    record["response"]["output"][0]["type"] = "weird_item"
    export = write_export(tmp_path / "a.jsonl", [record])
    for mode in ([], ["--lenient"]):
        result = run_cli(["validate", str(export), "-q", *mode])
        assert result.exit_code == 1
        (line,) = result.stdout.splitlines()
        assert line.startswith(f'{export}:1: response.output[0]: unsupported type "weird_item"; ')
        assert line.count("expected one of") == 1


def test_the_library_reads_what_the_cli_reads_and_words_faults_alike(tmp_path: Path) -> None:
    data = jsonl(valid_rollouts(3))
    files = {
        "a.jsonl.gz": gzip.compress(data),
        "b.jsonl.zst": _zstd(data),
        "c.jsonl": gzip.compress(data),
    }
    for name, content in files.items():
        path = tmp_path / name
        path.write_bytes(content)
        runs = nemogym_docent.convert_nemogym_jsonl_file_to_agent_runs(path, strict=False)
        converted = run_cli(["convert", str(path), "-q", "--lenient"])
        assert [comparable(run) for run in runs] == output_lines(converted.stdout_bytes)
    cut = tmp_path / "cut.jsonl.zst"
    cut.write_bytes(files["b.jsonl.zst"][:-30])
    for path in (tmp_path / "missing.jsonl", cut):
        with pytest.raises(nemogym_docent.ConversionError) as raised:
            nemogym_docent.convert_nemogym_jsonl_file_to_agent_runs(path)
        assert run_cli(["convert", str(path), "-q"]).stderr == f"error: {raised.value}\n"
