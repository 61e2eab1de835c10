"""The converter's fast explanation of a refusal lists exactly what the full schema walk lists.

``explain_refusal`` trusts the generated models on the request, the response, items and content
parts they accept; ``validate_nemogym_rollout`` walks everything with jsonschema. Where models and
schemas agree (as the agreement tests check), the two give the same issues in the same order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from builders import assistant, call, reasoning, rollout, user
from hypothesis import given, settings
from hypothesis import strategies as st
from parity import EXAMPLES, FIXTURES, corpus_files, jsonl_records
from strategies import Mutation, examples, mutations, one_value_nulled

from nemogym_docent import validate_nemogym_rollout
from nemogym_docent.validation.refusal import explain_refusal, refs_to_models, trusted_models


def assert_same_explanation(row: Any) -> None:
    for strict in (True, False):
        expected = validate_nemogym_rollout(row, strict=strict)
        assert explain_refusal(row, strict=strict) == expected, (strict, expected)


def test_every_trusted_model_is_reached_by_a_reference() -> None:
    assert set(refs_to_models().values()) == set(trusted_models())


def test_faults_inside_accepted_neighbours_are_all_listed() -> None:
    row = rollout(
        [{"role": "tool", "content": "x"}, {"role": "user", "content": "fine"}],
        [
            call("", name="lookup"),
            {"type": "message", "role": "assistant", "content": [{"type": "input_image"}]},
            [],
        ],
        agent_ref={},
        _ng_task_index=1.0,
    )
    assert_same_explanation(row)
    assert [issue.json_path for issue in explain_refusal(row)] == [
        "responses_create_params.input[0].role",
        "response.output[0].call_id",
        "response.output[1].content[0]",
        "response.output[2]",
        "agent_ref.name",
        "_ng_task_index",
    ]


TOKENS = {"prompt_token_ids": [1], "generation_token_ids": [2], "generation_log_probs": [-0.1]}


@pytest.mark.parametrize(
    "item",
    [
        {"type": "message", **TOKENS},
        {"type": "message", "content": "hi", **TOKENS},
        {"type": "message", "role": "assistant", **TOKENS},
        {"type": "message", "role": "assistant"},
        {"type": "message"},
        {"role": "user", "content": [{"type": "input_image", "image_url": "x"}], **TOKENS},
        {"type": None, "call_id": "0", "name": "0", "arguments": "{}"},
    ],
    ids=repr,
)
def test_items_near_a_token_only_item(item: dict[str, Any]) -> None:
    """Messages and token-only items: the models tell them apart as the schemas do."""
    row = rollout(output=[item])
    del row["agent_ref"]
    assert_same_explanation(row)


def nested_list(depth: int) -> Any:
    value: Any = None
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "output",
    [
        [[assistant("fine")], [{"type": "message"}], []],
        [[assistant("fine")], "text", 3],
        [None, True, 1, 1.5, "text", {}],
        [{"type": 5}, {"type": None, "role": "user", "content": "x"}, {"role": "assistant"}],
        [{"type": "function_call", "call_id": 5}, {"type": "mcp_call"}, {"type": "unknown"}],
        [{"type": "message", "role": "user", "content": [{"type": "input_image"}, {}, 3]}],
        [{"type": "message", "role": "user", "content": [{"type": "output_text"}, []]}],
        [reasoning("x", encrypted_content=value) for value in ("", "blob", 0, 0.5, [], [1], {})],
        [{"type": "reasoning", "summary": [{"type": "summary_text"}], "encrypted_content": "x"}],
    ],
    ids=repr,
)
def test_unions_whose_branches_are_skipped_by_kind(output: list[Any]) -> None:
    """Branches refused by the instance's JSON type or ``type`` tag, read or never read."""
    assert_same_explanation(rollout([user("Hi"), *output[:1]], output))


@pytest.mark.parametrize("depth", [300, 5_000])
def test_deep_nesting_is_explained_by_the_full_walk(depth: int) -> None:
    """Past orjson's 254 levels the full walk explains: where deep recursion fails depends on
    how many frames a walk takes, so the same walk gives the same issues."""
    row = rollout(
        output=[assistant("fine", content=[{"type": "input_text", "x": nested_list(depth)}])]
    )
    assert_same_explanation(row)


@pytest.mark.parametrize(
    "path", [EXAMPLES, *sorted(FIXTURES.glob("*.jsonl"))], ids=lambda path: path.name
)
def test_same_explanation_on_fixtures(path: Path) -> None:
    for _, row in jsonl_records(path):
        assert_same_explanation(row)


@pytest.mark.parametrize("path", corpus_files(), ids=lambda path: path.name)
def test_same_explanation_on_corpus(path: Path) -> None:
    for number, row in jsonl_records(path):
        try:
            assert_same_explanation(row)
        except AssertionError as exc:
            raise AssertionError(f"{path.name} line {number}: {exc}") from exc


@st.composite
def twice_faulty(draw: st.DrawFn) -> dict[str, Any]:
    """A rollout with one generated fault, and any other value (at any depth) set to null."""
    return one_value_nulled(draw, draw(mutations()).rollout)


@settings(max_examples=examples(200))
@given(mutations())
def test_same_explanation_on_faults(mutation: Mutation) -> None:
    assert_same_explanation(mutation.rollout)


@settings(max_examples=examples(100))
@given(twice_faulty())
def test_same_explanation_on_two_faults(row: dict[str, Any]) -> None:
    assert_same_explanation(row)
