"""ConversionError: how it names file, line and JSON path; broken input raises nothing else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from builders import call, rollout
from pydantic import ValidationError

from nemogym_docent import (
    ConversionError,
    Issue,
    convert_nemogym_jsonl_file_to_agent_runs,
    convert_nemogym_rollout_to_agent_run,
    validate_nemogym_rollout,
)


@pytest.mark.parametrize(
    ("fields", "rendered"),
    [
        ({}, "no messages"),
        ({"json_path": "response.output[2].call_id"}, "response.output[2].call_id: no messages"),
        ({"file": "a.jsonl"}, "a.jsonl: no messages"),
        ({"file": "a.jsonl", "line": 7}, "a.jsonl:7: no messages"),
        (
            {"file": Path("dir/a.jsonl"), "line": 7, "json_path": "agent_ref.name"},
            "dir/a.jsonl:7: agent_ref.name: no messages",
        ),
    ],
    ids=["message", "path", "file", "file-line", "file-line-path"],
)
def test_rendering_names_file_line_and_path(fields: dict[str, Any], rendered: str) -> None:
    error = ConversionError("no messages", **fields)
    assert str(error) == rendered
    assert error.message == "no messages"
    assert isinstance(error, ValueError)


def test_at_returns_a_located_copy() -> None:
    error = ConversionError("is required", json_path="response.output")
    located = error.at(Path("runs.jsonl"), 4)
    assert (located.file, located.line, located.json_path, located.message) == (
        "runs.jsonl",
        4,
        "response.output",
        "is required",
    )
    assert (error.file, error.line) == (None, None)
    assert str(located) == "runs.jsonl:4: response.output: is required"


def write_lines(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "rollouts.jsonl"
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def file_error(path: Path) -> ConversionError:
    with pytest.raises(ConversionError) as raised:
        convert_nemogym_jsonl_file_to_agent_runs(path)
    return raised.value


def test_error_in_a_file_names_file_line_and_path(tmp_path: Path) -> None:
    path = write_lines(tmp_path, json.dumps(rollout()), json.dumps(rollout(_ng_task_index=2.0)))
    error = file_error(path)
    assert str(error) == f"{path}:2: _ng_task_index: expected integer, got number"


def test_invalid_json_names_file_line_and_column(tmp_path: Path) -> None:
    path = write_lines(tmp_path, json.dumps(rollout()), "", "{'reward': 1}")
    error = file_error(path)
    assert str(error) == (
        f"{path}:3: invalid JSON (Expecting property name enclosed in double quotes, column 2)"
    )


def test_unreadable_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.jsonl"
    assert str(file_error(path)) == f"{path}: no such file or directory"


def test_schema_fault_is_chained_to_the_models_error() -> None:
    with pytest.raises(ConversionError) as raised:
        convert_nemogym_rollout_to_agent_run(rollout(output=[{"role": "tool", "content": "x"}]))
    assert raised.value.json_path == "response.output[0].role"
    assert raised.value.message == (
        'must be one of "developer", "system", "user", "assistant"; got "tool"'
    )
    assert isinstance(raised.value.__cause__, ValidationError)


def test_arguments_fault_says_where_the_json_breaks() -> None:
    with pytest.raises(ConversionError) as raised:
        convert_nemogym_rollout_to_agent_run(rollout(output=[call("c1", arguments='{"q": }')]))
    assert raised.value.json_path == "response.output[0].arguments"
    assert raised.value.message == "not valid JSON (Expecting value, column 7)"


def nested_list(depth: int) -> Any:
    value: Any = None
    for _ in range(depth):
        value = [value]
    return value


def nested_object(depth: int) -> Any:
    value: Any = {}
    for _ in range(depth):
        value = {"a": value}
    return value


BROKEN_ROLLOUTS = {
    "null": None,
    "number": 1.5,
    "deep-reward": rollout(reward=nested_object(50_000)),
    "deep-invalid-input": rollout(nested_list(50_000)),
    "deep-object-arguments": rollout(output=[call("c1", arguments=nested_object(50_000))]),
    "deep-string-arguments": rollout(output=[call("c1", arguments="[" * 50_000 + "]" * 50_000)]),
    "long-integer-arguments": rollout(output=[call("c1", arguments='{"n": ' + "1" * 5000 + "}")]),
    "deep-task-index": rollout(_ng_task_index=nested_list(50_000)),
}


@pytest.mark.parametrize("row", BROKEN_ROLLOUTS.values(), ids=BROKEN_ROLLOUTS.keys())
def test_broken_rollout_raises_only_conversion_error(row: Any) -> None:
    with pytest.raises(ConversionError) as raised:
        convert_nemogym_rollout_to_agent_run(row)
    assert type(raised.value) is ConversionError


DEEP_INPUT = '{"responses_create_params": {"input": %s}, "response": {"output": []}}'

BROKEN_FILES = {
    "binary-noise": b"\x00\xff\xfe\x80garbage\n",
    "only-a-bom": b"\xef\xbb\xbf\n",
    "deeper-than-json-loads": b"[" * 5000 + b"]" * 5000 + b"\n",
    # Parsed by orjson (up to 1024 levels), then too deep to describe.
    "deep-invalid-input": (DEEP_INPUT % ("[" * 1000 + "]" * 1000)).encode(),
    "long-integer": b'{"reward": ' + b"1" * 5000 + b"}\n",
    "lone-closing-brace": b"}\n",
}


@pytest.mark.parametrize("data", BROKEN_FILES.values(), ids=BROKEN_FILES.keys())
def test_broken_file_raises_only_conversion_error(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_bytes(data)
    error = file_error(path)
    assert type(error) is ConversionError
    assert (error.file, error.line) == (str(path), 1)


@pytest.mark.parametrize("value", [None, [], "rollout", 3, True], ids=repr)
def test_validate_reports_a_non_object_instead_of_raising(value: Any) -> None:
    issues = validate_nemogym_rollout(value)
    assert len(issues) == 1
    assert isinstance(issues[0], Issue)
    assert issues[0].json_path == ""


def test_validate_reports_deep_nesting_instead_of_raising() -> None:
    issues = validate_nemogym_rollout(rollout(nested_list(50_000)))
    assert issues[-1] == Issue("", "nested too deeply to validate")
