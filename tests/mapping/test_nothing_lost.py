"""Every value of an accepted rollout reaches its AgentRun, except what the mapping declares lost.

A value is found when it is a value or key of the AgentRun (message text, tool-call arguments,
metadata), or a piece of one of its strings (joined texts, tool output written as JSON).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from builders import call, call_output
from builders import rollout as build_rollout
from declared_losses import declared_loss, is_empty, is_schema_key
from docent.data_models.agent_run import AgentRun
from hypothesis import given, settings
from parity import EXAMPLES, FIXTURES, corpus_files, jsonl_records, spec_examples
from strategies import examples, full_rollouts, nodes, rollouts

import nemogym_docent
from nemogym_docent import ConversionError
from nemogym_docent.mapping.full.scores import score_name


class RunValues:
    """The values, keys and strings of one AgentRun, for looking input values up."""

    def __init__(self, run: AgentRun) -> None:
        self.strings: set[str] = set()
        self.scalars: set[tuple[str, Any]] = set()
        for _, value in nodes(run.model_dump()):
            if isinstance(value, dict):
                self.strings.update(key for key in value if isinstance(key, str))
            elif isinstance(value, str):
                self.strings.add(value)
            elif value is not None and not isinstance(value, list):
                self.scalars.add(_scalar_key(value))
        self._text = "\x00".join(self.strings)

    def has_string(self, text: str) -> bool:
        if text in self.strings or text in self._text:
            return True
        escaped = json.dumps(text)[1:-1]  # as a tool output written as ASCII JSON holds it
        return escaped in self._text

    def has_scalar(self, value: Any) -> bool:
        return _scalar_key(value) in self.scalars or json.dumps(value) in self._text


def _scalar_key(value: Any) -> tuple[str, Any]:
    return ("bool" if isinstance(value, bool) else "number", value)


def lost_values(
    rollout: dict[str, Any],
    convert: Callable[[dict[str, Any]], AgentRun] | None = None,
    *,
    detail: str = "docent",
) -> list[str]:
    """The paths of the rollout's values that its AgentRun lacks without a declared reason."""
    if convert is None:
        run = nemogym_docent.convert_nemogym_rollout_to_agent_run(rollout, detail=detail)
    else:
        run = convert(rollout)
    found = RunValues(run)
    lost = []
    for path, value in nodes(rollout):
        if not path or is_empty(value) or declared_loss(rollout, path, detail) is not None:
            continue
        key = path[-1]
        if (
            isinstance(key, str)
            and not is_schema_key(rollout, path, detail)
            and not found.has_string(key)
            and not (is_metric_name(path, detail) and found.has_string(score_name(key)))
        ):
            lost.append(f"key {path}")
        if isinstance(value, str):
            if not found.has_string(value):
                lost.append(f"{path}: {value[:60]!r}")
        elif not isinstance(value, (dict, list)) and not found.has_scalar(value):
            lost.append(f"{path}: {value!r}")
    return lost


def is_metric_name(path: tuple[Any, ...], detail: str) -> bool:
    """Whether the key at ``path`` may name a score (full detail names it with ``/`` for dots)."""
    return detail == "full" and (
        len(path) == 1 or (len(path) == 2 and path[0] == "reward_components")
    )


@settings(max_examples=examples(150))
@given(rollouts())
def test_generated_rollouts_lose_only_declared_values(rollout: dict[str, Any]) -> None:
    assert lost_values(rollout) == []


@settings(max_examples=examples(150))
@given(full_rollouts())
def test_generated_rollouts_lose_only_declared_values_in_full_detail(
    rollout: dict[str, Any],
) -> None:
    assert lost_values(rollout, detail="full") == []


ACCEPTED_SOURCES = [EXAMPLES, *sorted(FIXTURES.glob("*.jsonl")), *corpus_files()]


@pytest.mark.parametrize("detail", ["docent", "full"])
@pytest.mark.parametrize("path", ACCEPTED_SOURCES, ids=lambda path: path.name)
def test_real_rollouts_lose_only_declared_values(path: Path, detail: str) -> None:
    for number, record in jsonl_records(path):
        try:
            lost = lost_values(record, detail=detail)
        except ConversionError:
            continue  # refused records are the parity tests' concern
        assert lost == [], f"{path.name} line {number}"


@pytest.mark.parametrize("path", spec_examples(), ids=lambda path: path.name)
def test_spec_examples_lose_only_declared_values_in_full_detail(path: Path) -> None:
    record = json.loads(path.read_text("utf-8"))
    try:
        lost = lost_values(record, detail="full")
    except ConversionError:  # converts only leniently; its token fields are declared losses
        lost = lost_values(
            record,
            lambda row: nemogym_docent.convert_nemogym_rollout_to_agent_run(
                row, strict=False, detail="full"
            ),
        )
    assert lost == []


def test_a_value_the_run_lacks_is_reported() -> None:
    row = build_rollout(
        output=[call("call_1", arguments={"city": "Lyon"}), call_output("call_1", {"rain": 0.7})],
        expected_answer="forty-two",
    )
    assert lost_values(row) == []

    def forgetful(row: dict[str, Any]) -> AgentRun:
        run = nemogym_docent.convert_nemogym_rollout_to_agent_run(row)
        del run.metadata["source"]["rollout_non_trace"]["benchmark_fields"]
        run.transcripts[0].messages[-1].content = "{}"
        return run

    assert lost_values(row, forgetful) == [
        "key ('response', 'output', 1, 'output', 'rain')",
        "('response', 'output', 1, 'output', 'rain'): 0.7",
        "key ('expected_answer',)",
        "('expected_answer',): 'forty-two'",
    ]


ITEMS_SCHEMA = json.loads(
    (Path(nemogym_docent.__file__).parent / "schemas" / "items.schema.json").read_text("utf-8")
)
LENIENT_ONLY_ITEMS = {
    name: definition
    for name, definition in ITEMS_SCHEMA["$defs"].items()
    if "Lenient mode only" in definition.get("description", "")
}


def _marked(name: str, key: str, schema: dict[str, Any]) -> Any:
    """A value for ``key`` that the schema accepts and that only this key holds."""
    marker = f"{name}.{key}.value"
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object":
        return {"marker": marker}
    if kind == "array":
        return [marker]
    if kind == "boolean":
        return True
    return marker


@pytest.mark.parametrize("name", sorted(LENIENT_ONLY_ITEMS))
def test_every_key_of_a_lenient_only_item_is_kept(name: str) -> None:
    """Each such item says every key is kept in its message details: check every listed key."""
    definition = LENIENT_ONLY_ITEMS[name]
    promise = "every key of the item but type and its training fields is also kept"
    assert promise in definition["description"].lower()
    properties = {
        key: schema
        for part in [definition, *definition.get("allOf", [])]
        for key, schema in part.get("properties", {}).items()
    }
    item = {key: _marked(name, key, schema) for key, schema in properties.items()}
    run = RunValues(
        nemogym_docent.convert_nemogym_rollout_to_agent_run(
            build_rollout(output=[item]), strict=False
        )
    )
    missing = [key for key, value in item.items() if key != "type" and not _found(run, value)]
    assert missing == []


def _found(run: RunValues, value: Any) -> bool:
    texts = [leaf for _, leaf in nodes(value) if isinstance(leaf, str)]
    return all(run.has_string(text) for text in texts) if texts else run.has_scalar(value)
