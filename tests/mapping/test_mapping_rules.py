"""One focused test per mapping rule; every run is also compared with Docent's converter."""

from __future__ import annotations

from typing import Any

import pytest
from builders import assistant, call, call_output, reasoning, rollout, user
from parity import assert_parity


def convert(row: dict[str, Any]) -> dict[str, Any]:
    """The run (ids dropped) after checking that Docent's converter gives the same one."""
    run = assert_parity(row)
    assert run is not None
    return run


def messages(run: dict[str, Any]) -> list[dict[str, Any]]:
    return list(run["transcripts"][0]["messages"])


def details(run: dict[str, Any]) -> list[dict[str, Any]]:
    return list(run["transcripts"][0]["metadata"]["message_details"])


def source_items(run: dict[str, Any], index: int) -> list[dict[str, Any]]:
    return list(details(run)[index]["source_items"])


def roles(run: dict[str, Any]) -> list[str]:
    return [message["role"] for message in messages(run)]


# Messages


def test_developer_becomes_system_with_original_role() -> None:
    run = convert(rollout([{"role": "developer", "content": "Be brief."}, user("Hi")]))
    first = messages(run)[0]
    assert (first["role"], first["content"]) == ("system", "Be brief.")
    assert source_items(run, 0) == [
        {"origin": "input", "source_item_type": "message", "original_role": "developer"}
    ]
    assert details(run)[0]["role"] == "system"


def test_system_message_has_no_original_role() -> None:
    run = convert(rollout([{"role": "system", "content": "Rules."}, user("Hi")]))
    assert messages(run)[0]["role"] == "system"
    assert "original_role" not in source_items(run, 0)[0]


def test_string_input_is_one_user_message() -> None:
    run = convert(rollout("What is 2+2?"))
    first = messages(run)[0]
    assert (first["role"], first["content"]) == ("user", "What is 2+2?")
    assert run["transcripts"][0]["metadata"]["source"]["input_item_count"] == 1
    assert source_items(run, 0) == [{"origin": "input", "source_item_type": "message"}]


def test_null_type_with_role_is_a_message() -> None:
    run = convert(rollout([{"type": None, "role": "user", "content": "Hi"}]))
    assert (messages(run)[0]["role"], messages(run)[0]["content"]) == ("user", "Hi")
    assert source_items(run, 0)[0]["source_item_type"] == "message"


def test_content_parts_join_with_nothing_between() -> None:
    parts = [{"type": "input_text", "text": "Hel"}, {"type": "output_text", "text": "lo"}]
    run = convert(rollout([{"role": "user", "content": parts}]))
    assert messages(run)[0]["content"] == "Hello"
    assert source_items(run, 0)[0]["content_part_types"] == ["input_text", "output_text"]


def test_string_content_carries_no_part_flags() -> None:
    run = convert(rollout([user("Hi")]))
    assert source_items(run, 0) == [{"origin": "input", "source_item_type": "message"}]


def test_list_content_carries_false_flags_even_when_empty() -> None:
    run = convert(rollout([{"role": "user", "content": []}]))
    assert messages(run)[0]["content"] == ""
    assert source_items(run, 0) == [
        {
            "origin": "input",
            "source_item_type": "message",
            "contains_refusal_part": False,
            "contains_annotations": False,
            "contains_logprobs": False,
        }
    ]


def test_refusal_part_text_joins_and_sets_the_flag() -> None:
    content = [
        {"type": "output_text", "text": "Sorry: "},
        {"type": "refusal", "refusal": "I cannot help with that."},
    ]
    run = convert(rollout(output=[assistant("", content=content)]))
    assert messages(run)[1]["content"] == "Sorry: I cannot help with that."
    item = source_items(run, 1)[0]
    assert item["contains_refusal_part"] is True
    assert item["content_part_types"] == ["output_text", "refusal"]


@pytest.mark.parametrize(
    ("part_extras", "annotations", "logprobs"),
    [
        ({"annotations": [{"type": "url_citation"}]}, True, False),
        ({"logprobs": [{"token": "a", "logprob": -0.1}]}, False, True),
        ({"annotations": [], "logprobs": []}, False, False),
        ({"annotations": None, "logprobs": {}}, False, False),
    ],
    ids=["annotations", "logprobs", "empty-lists", "null-and-empty-object"],
)
def test_annotations_and_logprobs_become_flags(
    part_extras: dict[str, Any], annotations: bool, logprobs: bool
) -> None:
    content = [{"type": "output_text", "text": "Hi", **part_extras}]
    run = convert(rollout(output=[assistant("", content=content)]))
    item = source_items(run, 1)[0]
    assert (item["contains_annotations"], item["contains_logprobs"]) == (annotations, logprobs)
    assert "annotations" not in item
    assert "logprobs" not in item


def test_unknown_keys_of_items_and_parts_are_not_kept() -> None:
    part = {"type": "input_text", "text": "Hi", "cache_control": {"type": "ephemeral"}}
    run = convert(rollout([{"role": "user", "content": [part], "name": "alice"}]))
    assert messages(run)[0]["content"] == "Hi"
    assert set(source_items(run, 0)[0]) == {
        "origin",
        "source_item_type",
        "content_part_types",
        "contains_refusal_part",
        "contains_annotations",
        "contains_logprobs",
    }


# Assistant turns


def test_assistant_items_gather_into_one_turn() -> None:
    output = [reasoning("Think."), assistant("Calling."), call("c1", "search")]
    run = convert(rollout(output=output))
    assert roles(run) == ["user", "assistant"]
    assert details(run)[1]["source_item_types"] == ["reasoning", "message", "function_call"]
    assert details(run)[1]["source_item_count"] == 3
    assert details(run)[1]["origin"] == "output"


def test_assistant_texts_of_a_turn_join_with_nothing_between() -> None:
    run = convert(rollout(output=[assistant("Hel"), assistant("lo")]))
    assert messages(run)[1]["content"] == "Hello"


def test_non_assistant_message_emits_the_turn() -> None:
    output = [assistant("One"), user("Next"), assistant("Two")]
    run = convert(rollout(output=output))
    assert roles(run) == ["user", "assistant", "user", "assistant"]
    assert [message["content"] for message in messages(run)[1:]] == ["One", "Next", "Two"]


def test_function_call_output_emits_the_turn() -> None:
    output = [call("c1"), call_output("c1"), assistant("Done")]
    run = convert(rollout(output=output))
    assert roles(run) == ["user", "assistant", "tool", "assistant"]
    assert messages(run)[1]["tool_calls"][0]["id"] == "c1"
    assert messages(run)[1]["content"] == ""


def test_end_of_each_list_emits_the_turn() -> None:
    run = convert(rollout([user("Hi"), assistant("Earlier")], [assistant("Later")]))
    assert roles(run) == ["user", "assistant", "assistant"]
    assert [detail["origin"] for detail in details(run)] == ["input", "input", "output"]
    assert messages(run)[2]["content"] == "Later"


def test_reasoning_summary_joins_with_newline_inside_an_item() -> None:
    run = convert(rollout(output=[reasoning("First.", "", "Second.")]))
    assert messages(run)[1]["content"][0]["reasoning"] == "First.\nSecond."


def test_reasoning_items_join_with_blank_line_and_skip_empty_ones() -> None:
    output = [reasoning("A1", "A2"), reasoning(""), reasoning("B")]
    run = convert(rollout(output=output))
    assert messages(run)[1]["content"][0]["reasoning"] == "A1\nA2\n\nB"
    assert details(run)[1]["source_item_types"] == ["reasoning", "reasoning", "reasoning"]


def test_summary_part_types_are_recorded() -> None:
    item = {
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": "a"}, {"type": "text", "text": "b"}],
    }
    run = convert(rollout(output=[item]))
    assert messages(run)[1]["content"][0]["reasoning"] == "a\nb"
    assert source_items(run, 1)[0]["summary_item_types"] == ["summary_text", "text"]


def test_reasoning_part_comes_first_then_text_part() -> None:
    run = convert(rollout(output=[assistant("Answer."), reasoning("Because.")]))
    content = messages(run)[1]["content"]
    assert [(part["type"], part.get("reasoning"), part.get("text")) for part in content] == [
        ("reasoning", "Because.", None),
        ("text", None, "Answer."),
    ]


def test_reasoning_without_text_gives_only_a_reasoning_part() -> None:
    run = convert(rollout(output=[reasoning("Hmm."), call("c1")]))
    content = messages(run)[1]["content"]
    assert [part["type"] for part in content] == ["reasoning"]


def test_empty_reasoning_leaves_content_a_string() -> None:
    run = convert(rollout(output=[reasoning(""), assistant("Plain.")]))
    assert messages(run)[1]["content"] == "Plain."


# Tool calls and tool messages


def test_tool_call_fields() -> None:
    run = convert(rollout(output=[call("call_7", "get_weather", '{"city": "Paris"}')]))
    tool_call = messages(run)[1]["tool_calls"][0]
    assert {key: tool_call[key] for key in ("id", "function", "arguments", "type")} == {
        "id": "call_7",
        "function": "get_weather",
        "arguments": {"city": "Paris"},
        "type": "function",
    }
    assert source_items(run, 1)[0] == {
        "origin": "output",
        "source_item_type": "function_call",
        "call_id": "call_7",
        "tool_name": "get_weather",
        "raw_arguments": '{"city": "Paris"}',
    }


def test_object_arguments_are_kept_whole_but_cleaned_in_details() -> None:
    arguments = {"query": "", "filters": {}, "limit": 0}
    run = convert(rollout(output=[call("c1", "search", arguments)]))
    assert messages(run)[1]["tool_calls"][0]["arguments"] == arguments
    assert source_items(run, 1)[0]["raw_arguments"] == {"limit": 0}


def test_tool_message_fields() -> None:
    run = convert(rollout(output=[call("c1", "search"), call_output("c1", "3 results")]))
    tool = messages(run)[2]
    assert {key: tool[key] for key in ("role", "function", "tool_call_id", "content")} == {
        "role": "tool",
        "function": "search",
        "tool_call_id": "c1",
        "content": "3 results",
    }
    assert source_items(run, 2) == [
        {"origin": "output", "source_item_type": "function_call_output", "call_id": "c1"}
    ]


@pytest.mark.parametrize(
    ("output", "content"),
    [
        ({"b": 1, "a": "é"}, '{"a": "\\u00e9", "b": 1}'),
        ([1, "x", None], '[1, "x", null]'),
        (None, "null"),
        (0, "0"),
        (False, "false"),
        (2.5, "2.5"),
        ({"z": {"y": [], "x": "😀"}}, '{"z": {"x": "\\ud83d\\ude00", "y": []}}'),
        ("", ""),
    ],
    ids=["object", "array", "null", "zero", "false", "float", "nested-astral", "empty-string"],
)
def test_non_string_outputs_become_sorted_ascii_json(output: Any, content: str) -> None:
    run = convert(rollout(output=[call("c1"), call_output("c1", output)]))
    assert messages(run)[2]["content"] == content


def test_call_in_input_is_answered_in_output() -> None:
    run = convert(rollout([user("Hi"), call("c1", "lookup")], [call_output("c1", "ok")]))
    assert roles(run) == ["user", "assistant", "tool"]
    assert messages(run)[2]["function"] == "lookup"
    assert [detail["origin"] for detail in details(run)] == ["input", "input", "output"]


def test_duplicate_call_id_takes_the_later_name() -> None:
    output = [call("c1", "first"), call("c1", "second"), call_output("c1")]
    run = convert(rollout(output=output))
    assert [tool_call["function"] for tool_call in messages(run)[1]["tool_calls"]] == [
        "first",
        "second",
    ]
    assert messages(run)[2]["function"] == "second"


# The run, its transcript and their metadata


def test_run_name_and_transcript_name() -> None:
    run = convert(rollout(agent_ref={"name": "math_agent"}, _ng_task_index=3, _ng_rollout_index=1))
    assert run["name"] == "math_agent/task/3/rollout/1"
    assert run["transcripts"][0]["name"] == "math_agent"


def test_empty_agent_name() -> None:
    run = convert(rollout(agent_ref={"name": ""}, _ng_task_index=3, _ng_rollout_index=1))
    assert run["name"] == "/task/3/rollout/1"
    assert run["transcripts"][0]["name"] == ""
    assert "agent_ref" not in run["metadata"]["nemogym"]


def test_huge_and_negative_indices_are_kept_exact() -> None:
    run = convert(rollout(_ng_task_index=2**70, _ng_rollout_index=-1))
    assert run["name"] == f"agent/task/{2**70}/rollout/-1"
    assert run["metadata"]["nemogym"]["task_index"] == 2**70


@pytest.mark.parametrize(
    "reward", [0, False, 0.25, -1, "pass", [0], {"accuracy": 1.0}, [None]], ids=repr
)
def test_reward_is_stored_as_it_is(reward: Any) -> None:
    run = convert(rollout(reward=reward))
    assert run["metadata"]["scores"] == {"reward": reward}


@pytest.mark.parametrize("reward", [None, "", [], {}, {"a": None}], ids=repr)
def test_empty_reward_removes_scores(reward: Any) -> None:
    run = convert(rollout(reward=reward))
    assert "scores" not in run["metadata"]


def test_absent_reward_removes_scores() -> None:
    row = rollout()
    del row["reward"]
    assert "scores" not in convert(row)["metadata"]


def test_nemogym_metadata() -> None:
    agent_ref = {"name": "agent", "type": "responses_api_agents", "notes": ""}
    run = convert(rollout(agent_ref=agent_ref, _ng_task_index=7, _ng_rollout_index=2))
    assert run["metadata"]["nemogym"] == {
        "task_index": 7,
        "rollout_index": 2,
        "agent_ref": {"name": "agent", "type": "responses_api_agents"},
    }


def test_rollout_non_trace_request_response_and_benchmark_fields() -> None:
    row = rollout(
        expected_answer="4",
        verifier={"passed": True, "details": None},
        skipped=None,
        empty_list=[],
    )
    row["responses_create_params"].update(model="m", temperature=0, tools=[], metadata={})
    row["response"].update(status="completed", usage={"input_tokens": 3, "cached": None})
    run = convert(row)
    assert run["metadata"]["source"] == {
        "schema": "nemo_gym_rollout",
        "rollout_non_trace": {
            "request": {"model": "m", "temperature": 0},
            "response": {
                "id": "resp_1",
                "model": "test-model",
                "status": "completed",
                "usage": {"input_tokens": 3},
            },
            "benchmark_fields": {"expected_answer": "4", "verifier": {"passed": True}},
        },
    }


def test_key_literally_named_ng_task_index_is_a_benchmark_field() -> None:
    run = convert(rollout(ng_task_index=99, ng_rollout_index=98))
    assert run["metadata"]["source"]["rollout_non_trace"]["benchmark_fields"] == {
        "ng_task_index": 99,
        "ng_rollout_index": 98,
    }
    assert run["metadata"]["nemogym"]["task_index"] == 0


def test_transcript_source_metadata() -> None:
    row = rollout([user("a"), user("b")], [assistant("c")])
    row["response"].update(created_at=1700000000, status="completed")
    run = convert(row)
    assert run["transcripts"][0]["metadata"]["source"] == {
        "schema": "nemo_gym_rollout",
        "response_id": "resp_1",
        "response_model": "test-model",
        "response_created_at": 1700000000,
        "response_status": "completed",
        "input_item_count": 2,
        "output_item_count": 1,
    }


def test_transcript_source_keeps_a_zero_item_count() -> None:
    run = convert(rollout(output=[]))
    assert run["transcripts"][0]["metadata"]["source"]["output_item_count"] == 0


def test_message_details_name_the_source_items() -> None:
    run = convert(rollout(output=[assistant("Hi", id="msg_9", status="in_progress")]))
    assert details(run)[1] == {
        "role": "assistant",
        "origin": "output",
        "source_item_count": 1,
        "source_item_types": ["message"],
        "source_items": [
            {
                "origin": "output",
                "source_item_type": "message",
                "source_item_id": "msg_9",
                "source_item_status": "in_progress",
                "content_part_types": ["output_text"],
                "contains_refusal_part": False,
                "contains_annotations": False,
                "contains_logprobs": False,
            }
        ],
    }


def test_cleaning_keeps_zero_and_false_and_never_drops_array_elements() -> None:
    fields = {
        "zero": 0,
        "false": False,
        "empty_string": "",
        "null_inside": {"a": None},
        "array": [None, "", [], {}, {"x": None, "y": 0}, [{"z": ""}]],
        "deep": {"a": {"b": {"c": []}}},
    }
    run = convert(rollout(**fields))
    assert run["metadata"]["source"]["rollout_non_trace"]["benchmark_fields"] == {
        "zero": 0,
        "false": False,
        "array": [None, "", [], {}, {"y": 0}, [{}]],
    }
