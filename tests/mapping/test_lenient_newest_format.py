"""The lenient mode on what NeMo Gym writes since August 2026: token-only output items, indices
kept as the caller gave them, empty call ids and token fields on any item."""

from __future__ import annotations

import json
from typing import Any

import pytest
from builders import assistant, call, call_output, rollout
from parity import SPEC_EXAMPLES, comparable

import nemogym_docent
from nemogym_docent import ConversionError, Verdict, check_nemogym_rollout, validate_nemogym_rollout

TOKENS = {"prompt_token_ids": [1, 2], "generation_token_ids": [3, 4, 5]}
TOKENS["generation_log_probs"] = [-0.1, -0.2, -0.3]


def lenient(row: dict[str, Any]) -> dict[str, Any]:
    """The lenient run of a rollout that the strict mode refuses."""
    with pytest.raises(ConversionError):
        nemogym_docent.convert_nemogym_rollout_to_agent_run(row)
    return comparable(nemogym_docent.convert_nemogym_rollout_to_agent_run(row, strict=False))


def losses(run: dict[str, Any]) -> list[tuple[str, str]]:
    return [(loss["json_path"], loss["kind"]) for loss in run["metadata"]["conversion"]["losses"]]


def contents(run: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(message["role"], message["content"]) for message in run["transcripts"][0]["messages"]]


def test_a_token_only_item_is_left_out_as_a_declared_loss() -> None:
    token_only = {"type": "message", **TOKENS}
    run = lenient(rollout(output=[call("call_1"), token_only, assistant("Done.")]))
    assert contents(run)[-1] == ("assistant", "Done.")
    assert len(contents(run)) == 2
    assert ("response.output[1]", "token_only_item") in losses(run)
    assert validate_nemogym_rollout(rollout(output=[token_only]), strict=False) == []


@pytest.mark.parametrize(
    ("item", "path"),
    [
        ({"type": "message", "content": "hi"}, "response.output[0].role"),
        ({"type": "message", "role": "assistant", **TOKENS}, "response.output[0].content"),
        ({"type": "message"}, "response.output[0].role"),
    ],
)
def test_a_message_without_role_or_content_is_not_token_only(
    item: dict[str, Any], path: str
) -> None:
    row = rollout(output=[item])
    with pytest.raises(ConversionError) as refused:
        nemogym_docent.convert_nemogym_rollout_to_agent_run(row, strict=False)
    assert refused.value.json_path == path
    assert validate_nemogym_rollout(row, strict=False)[0].json_path == path


@pytest.mark.parametrize(
    ("task", "repeat", "name"),
    [("7", 0, "agent/task/7/rollout/0"), (1.0, True, "agent/task/1.0/rollout/true")],
)
def test_indices_that_are_not_integers_are_kept_as_given(task: Any, repeat: Any, name: str) -> None:
    run = lenient(rollout(_ng_task_index=task, _ng_rollout_index=repeat))
    assert run["name"] == name
    assert run["metadata"]["nemogym"]["task_index"] == task
    kinds = losses(run)
    assert ("_ng_task_index", "non_integer_index") in kinds
    assert (("_ng_rollout_index", "non_integer_index") in kinds) == (type(repeat) is not int)


def test_empty_call_ids_pair_in_order() -> None:
    row = rollout(
        output=[call("", "first"), call("", "second"), call_output("", "1"), call_output("", "2")]
    )
    run = lenient(row)
    calls = run["transcripts"][0]["messages"][1]["tool_calls"]
    assert [tool_call["id"] for tool_call in calls] == ["response.output[0]", "response.output[1]"]
    results = run["transcripts"][0]["messages"][2:]
    assert [(result["tool_call_id"], result["function"]) for result in results] == [
        ("response.output[0]", "first"),
        ("response.output[1]", "second"),
    ]
    assert {kind for _, kind in losses(run)} == {"empty_call_id"}


def test_an_output_with_an_empty_call_id_and_no_call_to_answer_is_orphaned() -> None:
    run = lenient(rollout(output=[call_output("", "result")]))
    assert losses(run) == [("response.output[0].call_id", "orphaned_tool_output")]


def test_token_fields_on_any_item_are_a_declared_loss() -> None:
    row = rollout(output=[call("call_1"), {**call_output("call_1"), **TOKENS}], agent_ref={})
    assert ("response.output[1]", "training_fields_dropped") in losses(lenient(row))
    hosted = {"type": "web_search_call", "id": "ws_1", "action": {"query": "x"}, "status": "done"}
    run = lenient(rollout(output=[{**hosted, **TOKENS}, assistant("ok")]))
    assert ("response.output[0]", "training_fields_dropped") in losses(run)
    details = run["transcripts"][0]["metadata"]["message_details"][1]["source_items"][0]
    assert set(details["item_fields"]) == {"id", "action", "status"}


@pytest.mark.skipif(not SPEC_EXAMPLES.is_dir(), reason="../shared/spec is not present")
def test_the_token_only_example_converts_leniently() -> None:
    row = json.loads((SPEC_EXAMPLES / "token_only_item.json").read_text("utf-8"))
    check = check_nemogym_rollout(row)
    assert check.verdict == Verdict.LENIENT_ONLY
    assert [issue.json_path for issue in check.strict_issues] == [
        "response.output[1].role",
        "response.output[1].content",
    ]
    kinds = {issue.loss_kind for issue in check.losses}
    assert kinds == {"token_only_item", "training_fields_dropped"}
