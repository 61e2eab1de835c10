"""The JSON Schemas: well-formed, fully reported, and in step with the generated models."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from builders import call, rollout
from jsonschema import Draft202012Validator
from parity import EXAMPLES, FIXTURES, REPO, corpus_files, jsonl_records
from pydantic import ValidationError

from nemogym_docent import Issue, validate_nemogym_rollout
from nemogym_docent.models import StrictRollout

SCHEMA_FILES = sorted((REPO / "schemas").glob("*.json"))


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda path: path.name)
def test_schema_file_is_a_valid_described_schema(path: Path) -> None:
    schema = json.loads(path.read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$id"].endswith(f"/{path.name}")
    assert schema["title"].strip()
    assert schema["description"].strip()


def test_the_built_wheel_ships_every_schema_unchanged(tmp_path: Path) -> None:
    """The schemas reach users through the wheel, so check the wheel, not the source folder."""
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = {
            PurePosixPath(name).name: archive.read(name)
            for name in archive.namelist()
            if name.startswith("nemogym_docent/schemas/")
        }
    assert SCHEMA_FILES
    assert shipped == {path.name: path.read_bytes() for path in SCHEMA_FILES}


def models_accept(row: Any) -> bool:
    try:
        StrictRollout.model_validate(row)
    except ValidationError:
        return False
    return True


def test_valid_rollout_has_no_issues() -> None:
    assert validate_nemogym_rollout(rollout()) == []


def test_every_violation_is_listed_with_its_path() -> None:
    row = rollout(
        [{"role": "tool", "content": "x"}, {"type": "message", "content": None}],
        [call("", name=""), {"type": "function_call_output", "call_id": "c1"}],
        agent_ref={},
        _ng_task_index=1.0,
    )
    del row["_ng_rollout_index"]
    issues = validate_nemogym_rollout(row)
    assert all(isinstance(issue, Issue) for issue in issues)
    assert {issue.json_path for issue in issues} == {
        "responses_create_params.input[0].role",
        "responses_create_params.input[1].role",
        "responses_create_params.input[1].content",
        "response.output[0].call_id",
        "response.output[0].name",
        "response.output[1].output",
        "agent_ref.name",
        "_ng_task_index",
        "_ng_rollout_index",
    }
    assert len(issues) == len({issue.json_path for issue in issues})


def test_issue_messages_say_what_is_wrong() -> None:
    row = rollout(output=[call("", name="lookup")], _ng_task_index=True)
    del row["agent_ref"]
    assert {str(issue) for issue in validate_nemogym_rollout(row)} == {
        "response.output[0].call_id: must not be empty",
        "agent_ref: is required",
        "_ng_task_index: expected integer, got boolean",
    }


def test_non_object_rollout_is_one_issue_for_the_whole_rollout() -> None:
    issues = validate_nemogym_rollout(["not", "a", "rollout"])
    assert issues == [Issue("", "expected object, got array")]
    assert str(issues[0]) == "expected object, got array"


@pytest.mark.parametrize("value", [1.0, 0.0, True, False, "1", None, [1]], ids=repr)
@pytest.mark.parametrize("key", ["_ng_task_index", "_ng_rollout_index"])
def test_indices_must_be_json_integers(key: str, value: Any) -> None:
    row = rollout(**{key: value})
    assert [issue.json_path for issue in validate_nemogym_rollout(row)] == [key]
    assert not models_accept(row)


@pytest.mark.parametrize("value", [0, -3, 2**64, 10**30], ids=repr)
def test_any_integer_is_an_index(value: int) -> None:
    row = rollout(_ng_task_index=value, _ng_rollout_index=value)
    assert validate_nemogym_rollout(row) == []
    assert models_accept(row)


def schema_agrees_with_models(row: Any) -> None:
    issues = validate_nemogym_rollout(row)
    assert models_accept(row) == (not issues), issues


@pytest.mark.parametrize(
    "path", [EXAMPLES, *sorted(FIXTURES.glob("*.jsonl"))], ids=lambda path: path.name
)
def test_schemas_agree_with_models_on_fixtures(path: Path) -> None:
    for _, row in jsonl_records(path):
        schema_agrees_with_models(row)


@pytest.mark.parametrize("path", corpus_files(), ids=lambda path: path.name)
def test_schemas_agree_with_models_on_corpus(path: Path) -> None:
    for number, row in jsonl_records(path):
        try:
            schema_agrees_with_models(row)
        except AssertionError as exc:
            raise AssertionError(f"{path.name} line {number}: {exc}") from exc


@pytest.mark.parametrize(
    "row",
    [
        rollout(output=[{"type": "reasoning", "summary": [], "encrypted_content": "blob"}]),
        rollout(output=[{"type": "reasoning", "summary": [], "encrypted_content": {}}]),
        rollout(output=[{"type": "reasoning", "summary": [], "encrypted_content": 0}]),
        rollout(output=[{"type": "reasoning", "summary": [], "encrypted_content": False}]),
        rollout(output=[{"role": "user", "content": [{"type": "input_image"}]}]),
        rollout(output=[{"type": None, "role": "user", "content": "x"}]),
        rollout(output=[{"type": "message", "role": "assistant", "content": "x"}]),
        rollout(output=[{"type": "computer_call", "id": "c"}]),
        rollout(output=[call("\ud800", name="\udfff")]),
        rollout(output=[call("c1", arguments={})]),
        rollout(output=[call("c1", arguments=[])]),
        rollout(output=[{"type": "function_call_output", "call_id": "c1", "output": None}]),
        rollout(reward=None),
        rollout("plain text input"),
    ],
    ids=[
        "encrypted-string",
        "encrypted-empty-object",
        "encrypted-zero",
        "encrypted-false",
        "image-part",
        "null-type-message",
        "typed-message",
        "unsupported-item",
        "lone-surrogate-ids",
        "object-arguments",
        "array-arguments",
        "null-output",
        "null-reward",
        "string-input",
    ],
)
def test_schemas_agree_with_models_on_edge_cases(row: dict[str, Any]) -> None:
    schema_agrees_with_models(row)


def test_schemas_agree_with_models_on_nan_encrypted_content() -> None:
    row = rollout(output=[{"type": "reasoning", "summary": [], "encrypted_content": float("nan")}])
    schema_agrees_with_models(row)
