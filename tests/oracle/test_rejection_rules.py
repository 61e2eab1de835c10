"""One test per rejection rule: ConversionError at the exact JSON path, and Docent refuses too."""

from __future__ import annotations

from typing import Any

import pytest
from builders import assistant, call, call_output, reasoning, rollout, user
from parity import assert_parity, docent_converts

from nemogym_docent import ConversionError, convert_nemogym_rollout_to_agent_run


def without(row: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in row.items() if name != key}


def in_output(*items: Any) -> dict[str, Any]:
    return rollout(output=list(items))


def message_part(part: Any) -> dict[str, Any]:
    return in_output({"role": "user", "content": [part]})


def summary(*parts: Any) -> dict[str, Any]:
    return in_output({"type": "reasoning", "summary": list(parts)})


REJECTED: dict[str, tuple[Any, str]] = {
    # The rollout and its required members
    "rollout-array": ([], ""),
    "rollout-string": ("{}", ""),
    "rollout-null": (None, ""),
    "params-missing": (without(rollout(), "responses_create_params"), "responses_create_params"),
    "params-array": (rollout(responses_create_params=[]), "responses_create_params"),
    "params-null": (rollout(responses_create_params=None), "responses_create_params"),
    "input-missing": (rollout(responses_create_params={}), "responses_create_params.input"),
    "input-number": (rollout(7), "responses_create_params.input"),
    "input-null": (
        rollout(responses_create_params={"input": None}),
        "responses_create_params.input",
    ),
    "input-object": (rollout({"role": "user", "content": "Hi"}), "responses_create_params.input"),
    "response-missing": (without(rollout(), "response"), "response"),
    "response-string": (rollout(response="done"), "response"),
    "response-output-missing": (rollout(response={"id": "r"}), "response.output"),
    "output-object": (rollout(response={"output": {}}), "response.output"),
    "output-string": (rollout(response={"output": "Hello"}), "response.output"),
    "output-null": (rollout(response={"output": None}), "response.output"),
    "agent-ref-missing": (without(rollout(), "agent_ref"), "agent_ref"),
    "agent-ref-string": (rollout(agent_ref="agent"), "agent_ref"),
    "agent-ref-null": (rollout(agent_ref=None), "agent_ref"),
    "agent-name-missing": (rollout(agent_ref={"type": "x"}), "agent_ref.name"),
    "agent-name-number": (rollout(agent_ref={"name": 1}), "agent_ref.name"),
    "agent-name-null": (rollout(agent_ref={"name": None}), "agent_ref.name"),
    "task-index-missing": (without(rollout(), "_ng_task_index"), "_ng_task_index"),
    "task-index-true": (rollout(_ng_task_index=True), "_ng_task_index"),
    "task-index-float": (rollout(_ng_task_index=1.0), "_ng_task_index"),
    "task-index-string": (rollout(_ng_task_index="1"), "_ng_task_index"),
    "task-index-null": (rollout(_ng_task_index=None), "_ng_task_index"),
    "rollout-index-missing": (without(rollout(), "_ng_rollout_index"), "_ng_rollout_index"),
    "rollout-index-false": (rollout(_ng_rollout_index=False), "_ng_rollout_index"),
    "rollout-index-float": (rollout(_ng_rollout_index=0.0), "_ng_rollout_index"),
    "rollout-index-string": (rollout(_ng_rollout_index="0"), "_ng_rollout_index"),
    # Items
    "unknown-item-type": (in_output({"type": "web_search_call", "id": "ws"}), "response.output[0]"),
    "unknown-item-type-in-input": (
        rollout([user("Hi"), {"type": "mcp_list_tools"}]),
        "responses_create_params.input[1]",
    ),
    "item-type-number": (
        in_output({"type": 3, "role": "user", "content": "x"}),
        "response.output[0]",
    ),
    "item-number": (in_output(5), "response.output[0]"),
    "item-string": (in_output("Hello"), "response.output[0]"),
    "item-array": (in_output([assistant("Hello")]), "response.output[0]"),
    "item-null": (in_output(None), "response.output[0]"),
    # Messages
    "message-without-role": (
        in_output({"type": "message", "content": "x"}),
        "response.output[0].role",
    ),
    "item-without-type-or-role": (in_output({"content": "x"}), "response.output[0].role"),
    "role-tool": (in_output({"role": "tool", "content": "x"}), "response.output[0].role"),
    "role-number": (in_output({"role": 1, "content": "x"}), "response.output[0].role"),
    "content-missing": (in_output({"role": "user"}), "response.output[0].content"),
    "content-null": (in_output({"role": "user", "content": None}), "response.output[0].content"),
    "content-object": (
        in_output({"role": "user", "content": {"type": "input_text", "text": "x"}}),
        "response.output[0].content",
    ),
    "input-image-part": (
        message_part({"type": "input_image", "image_url": "data:image/png;base64,AAAA"}),
        "response.output[0].content[0]",
    ),
    "input-file-part": (
        message_part({"type": "input_file", "file_id": "f"}),
        "response.output[0].content[0]",
    ),
    "part-type-null": (message_part({"type": None, "text": "x"}), "response.output[0].content[0]"),
    "part-string": (message_part("x"), "response.output[0].content[0]"),
    "part-without-type": (message_part({"text": "x"}), "response.output[0].content[0].type"),
    "part-without-text": (
        message_part({"type": "input_text"}),
        "response.output[0].content[0].text",
    ),
    "part-text-null": (
        message_part({"type": "output_text", "text": None}),
        "response.output[0].content[0].text",
    ),
    "refusal-without-refusal": (
        message_part({"type": "refusal", "text": "No."}),
        "response.output[0].content[0].refusal",
    ),
    "refusal-number": (
        message_part({"type": "refusal", "refusal": 0}),
        "response.output[0].content[0].refusal",
    ),
    # Reasoning
    "summary-missing": (in_output({"type": "reasoning"}), "response.output[0].summary"),
    "summary-string": (
        in_output({"type": "reasoning", "summary": "x"}),
        "response.output[0].summary",
    ),
    "summary-part-type": (
        summary({"type": "reasoning_text", "text": "x"}),
        "response.output[0].summary[0].type",
    ),
    "summary-part-without-text": (
        summary({"type": "summary_text"}),
        "response.output[0].summary[0].text",
    ),
    "summary-part-string": (summary("x"), "response.output[0].summary[0]"),
    # Function calls
    "arguments-missing": (
        in_output(without(call("c1"), "arguments")),
        "response.output[0].arguments",
    ),
    "arguments-not-json": (
        in_output(call("c1", arguments="{city: Paris}")),
        "response.output[0].arguments",
    ),
    "arguments-empty-string": (in_output(call("c1", arguments="")), "response.output[0].arguments"),
    "arguments-json-array": (
        in_output(call("c1", arguments="[1, 2]")),
        "response.output[0].arguments",
    ),
    "arguments-json-string": (
        in_output(call("c1", arguments='"x"')),
        "response.output[0].arguments",
    ),
    "arguments-json-null": (
        in_output(call("c1", arguments="null")),
        "response.output[0].arguments",
    ),
    "arguments-array": (in_output(call("c1", arguments=[])), "response.output[0].arguments"),
    "arguments-number": (in_output(call("c1", arguments=1)), "response.output[0].arguments"),
    "call-id-empty": (in_output(call("")), "response.output[0].call_id"),
    "call-id-missing": (in_output(without(call("c1"), "call_id")), "response.output[0].call_id"),
    "call-id-number": (in_output({**call("c1"), "call_id": 1}), "response.output[0].call_id"),
    "name-empty": (in_output(call("c1", name="")), "response.output[0].name"),
    "name-missing": (in_output(without(call("c1"), "name")), "response.output[0].name"),
    # Function call outputs
    "output-unknown-call-id": (
        in_output(call("c1"), call_output("c2")),
        "response.output[1].call_id",
    ),
    "output-before-its-call": (
        in_output(call_output("c1"), call("c1")),
        "response.output[0].call_id",
    ),
    "output-in-input-before-call-in-output": (
        rollout([user("Hi"), call_output("c1")], [call("c1")]),
        "responses_create_params.input[1].call_id",
    ),
    "call-output-missing": (
        in_output(call("c1"), without(call_output("c1"), "output")),
        "response.output[1].output",
    ),
    "output-call-id-empty": (in_output(call("c1"), call_output("")), "response.output[1].call_id"),
    # The transcript
    "no-messages": (rollout([], []), ""),
}


# What each rejection says, word for word (its JSON path is in REJECTED).
MESSAGES: dict[str, str] = {
    "rollout-array": "a rollout must be a JSON object, not array",
    "rollout-string": "a rollout must be a JSON object, not string",
    "rollout-null": "a rollout must be a JSON object, not null",
    "params-missing": "is required",
    "params-array": "expected object, got array",
    "params-null": "expected object, got null",
    "input-missing": "is required",
    "input-number": "expected string or array, got integer",
    "input-null": "expected string or array, got null",
    "input-object": "expected string or array, got object",
    "response-missing": "is required",
    "response-string": "expected object, got string",
    "response-output-missing": "is required",
    "output-object": "expected array, got object",
    "output-string": "expected array, got string",
    "output-null": "expected array, got null",
    "agent-ref-missing": "is required",
    "agent-ref-string": "expected object, got string",
    "agent-ref-null": "expected object, got null",
    "agent-name-missing": "is required",
    "agent-name-number": "expected string, got integer",
    "agent-name-null": "expected string, got null",
    "task-index-missing": "is required",
    "task-index-true": "expected integer, got boolean",
    "task-index-float": "expected integer, got number",
    "task-index-string": "expected integer, got string",
    "task-index-null": "expected integer, got null",
    "rollout-index-missing": "is required",
    "rollout-index-false": "expected integer, got boolean",
    "rollout-index-float": "expected integer, got number",
    "rollout-index-string": "expected integer, got string",
    "unknown-item-type": 'unsupported type "web_search_call"; expected one of "message", "function_call", "function_call_output", "reasoning"',
    "unknown-item-type-in-input": 'unsupported type "mcp_list_tools"; expected one of "message", "function_call", "function_call_output", "reasoning"',
    "item-type-number": 'unsupported type 3; expected one of "message", "function_call", "function_call_output", "reasoning"',
    "item-number": "expected object, got integer",
    "item-string": "expected object, got string",
    "item-array": "expected object, got array",
    "item-null": "expected object, got null",
    "message-without-role": "is required",
    "item-without-type-or-role": "is required",
    "role-tool": 'must be one of "developer", "system", "user", "assistant"; got "tool"',
    "role-number": 'must be one of "developer", "system", "user", "assistant"; got 1',
    "content-missing": "is required",
    "content-null": "expected string or array, got null",
    "content-object": "expected string or array, got object",
    "input-image-part": 'unsupported type "input_image"; expected one of "input_text", "output_text", "refusal"',
    "input-file-part": 'unsupported type "input_file"; expected one of "input_text", "output_text", "refusal"',
    "part-type-null": 'unsupported type null; expected one of "input_text", "output_text", "refusal"',
    "part-string": "expected object, got string",
    "part-without-type": "is required",
    "part-without-text": "is required",
    "part-text-null": "expected string, got null",
    "refusal-without-refusal": "is required",
    "refusal-number": "expected string, got integer",
    "summary-missing": "is required",
    "summary-string": "expected array, got string",
    "summary-part-type": 'must be one of "summary_text", "text"; got "reasoning_text"',
    "summary-part-without-text": "is required",
    "summary-part-string": "expected object, got string",
    "arguments-missing": "is required",
    "arguments-not-json": "not valid JSON (Expecting property name enclosed in double quotes, column 2)",
    "arguments-empty-string": "not valid JSON (Expecting value, column 1)",
    "arguments-json-array": "must hold a JSON object, not array",
    "arguments-json-string": "must hold a JSON object, not string",
    "arguments-json-null": "must hold a JSON object, not null",
    "arguments-array": "expected object or string, got array",
    "arguments-number": "expected object or string, got integer",
    "call-id-empty": "must not be empty",
    "call-id-missing": "is required",
    "call-id-number": "expected string, got integer",
    "name-empty": "must not be empty",
    "name-missing": "is required",
    "output-unknown-call-id": "no call with call_id 'c2' comes before this output",
    "output-before-its-call": "no call with call_id 'c1' comes before this output",
    "output-in-input-before-call-in-output": "no call with call_id 'c1' comes before this output",
    "call-output-missing": "is required",
    "output-call-id-empty": "must not be empty",
    "no-messages": "no messages: responses_create_params.input and response.output are both empty",
}


@pytest.mark.parametrize("case", REJECTED, ids=REJECTED.keys())
def test_rejected_at_json_path_with_its_message(case: str) -> None:
    row, json_path = REJECTED[case]
    with pytest.raises(ConversionError) as raised:
        convert_nemogym_rollout_to_agent_run(row)
    assert type(raised.value) is ConversionError
    assert raised.value.json_path == json_path
    assert raised.value.message == MESSAGES[case]
    assert (raised.value.file, raised.value.line) == (None, None)
    assert docent_converts(row) is None, "Docent's converter accepts it"


TRUTHY_ENCRYPTED = [
    True,
    1,
    -1,
    0.5,
    float("nan"),
    "gAAAAB",
    " ",
    [0],
    [None],
    {"a": 1},
    {"": None},
]


@pytest.mark.parametrize("blob", TRUTHY_ENCRYPTED, ids=repr)
def test_reasoning_with_encrypted_content_is_rejected(blob: Any) -> None:
    row = in_output(reasoning("Visible.", encrypted_content=blob))
    with pytest.raises(ConversionError) as raised:
        convert_nemogym_rollout_to_agent_run(row)
    assert type(raised.value) is ConversionError
    assert raised.value.json_path == "response.output[0].encrypted_content"
    assert docent_converts(row) is None


@pytest.mark.parametrize("blob", [None, False, 0, 0.0, -0.0, "", [], {}], ids=repr)
def test_reasoning_with_empty_encrypted_content_is_accepted(blob: Any) -> None:
    run = assert_parity(in_output(reasoning("Visible.", encrypted_content=blob)))
    assert run is not None
    assert run["transcripts"][0]["messages"][1]["content"][0]["reasoning"] == "Visible."


def test_null_output_is_accepted_as_null_text() -> None:
    run = assert_parity(in_output(call("c1"), call_output("c1", None)))
    assert run is not None
    assert run["transcripts"][0]["messages"][2]["content"] == "null"


def test_empty_string_input_still_makes_a_message() -> None:
    run = assert_parity(rollout("", []))
    assert run is not None
    assert [message["content"] for message in run["transcripts"][0]["messages"]] == [""]


def test_every_fault_is_carried_and_counted_in_the_message() -> None:
    row = {"responses_create_params": {}, "response": {"output": [5]}, "_ng_task_index": "1"}
    with pytest.raises(ConversionError) as raised:
        convert_nemogym_rollout_to_agent_run(row)
    assert raised.value.json_path == "responses_create_params.input"
    assert raised.value.message == "is required"
    assert [str(issue) for issue in raised.value.issues] == [
        "responses_create_params.input: is required",
        "response.output[0]: expected object, got integer",
        "_ng_task_index: expected integer, got string",
        "agent_ref: is required",
        "_ng_rollout_index: is required",
    ]
    assert str(raised.value) == "responses_create_params.input: is required (and 4 more)"


def test_integer_too_long_for_python_in_arguments() -> None:
    # json.loads refuses integers past 4300 digits with a bare ValueError, which escapes
    # Docent's converter; ours refuses the rollout at the arguments.
    row = in_output(call("c1", arguments='{"n": ' + "9" * 5000 + "}"))
    with pytest.raises(ConversionError) as raised:
        convert_nemogym_rollout_to_agent_run(row)
    assert type(raised.value) is ConversionError
    assert raised.value.json_path == "response.output[0].arguments"
    with pytest.raises(ValueError, match="4300"):
        docent_converts(row)
