"""The lenient mode: one test per approximation, and the corpus in both modes."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest
from builders import assistant, call, call_output, reasoning, rollout, user
from parity import comparable, corpus_files, jsonl_records

import nemogym_docent
from nemogym_docent import ConversionError
from nemogym_docent.convert import convert_nemogym_rollout_to_agent_run
from nemogym_docent.options import RecordOrigin

PNG = b"\x89PNG\r\n\x1a\n fake image bytes"
PNG_URI = "data:image/png;base64," + base64.b64encode(PNG).decode()
PNG_SHA = hashlib.sha256(PNG).hexdigest()[:12]
ABC_SHA = hashlib.sha256(b"abc").hexdigest()[:12]


def lenient(row: dict[str, Any], origin: RecordOrigin | None = None) -> dict[str, Any]:
    """The lenient run of a rollout that strict mode refuses."""
    with pytest.raises(ConversionError):
        nemogym_docent.convert_nemogym_rollout_to_agent_run(row)
    return comparable(convert_nemogym_rollout_to_agent_run(row, strict=False, origin=origin))


def messages(run: dict[str, Any]) -> list[dict[str, Any]]:
    return list(run["transcripts"][0]["messages"])


def losses(run: dict[str, Any]) -> list[tuple[str, str]]:
    conversion = run["metadata"]["conversion"]
    assert conversion["mode"] == "lenient"
    return [(loss["json_path"], loss["kind"]) for loss in conversion["losses"]]


def test_missing_identity_names_run_from_file_stem_and_line() -> None:
    row = rollout()
    for key in ("agent_ref", "_ng_task_index", "_ng_rollout_index"):
        del row[key]
    run = lenient(row, RecordOrigin("math_rollouts", 12))
    assert run["name"] == "math_rollouts/line/12"
    assert run["transcripts"][0]["name"] == "math_rollouts"
    assert losses(run) == [
        ("agent_ref", "missing_identity"),
        ("_ng_task_index", "missing_identity"),
        ("_ng_rollout_index", "missing_identity"),
    ]
    assert "nemogym" not in run["metadata"]


def test_agent_name_kept_when_only_indices_are_missing() -> None:
    row = rollout(agent_ref={"name": "swe_agent"})
    del row["_ng_rollout_index"]
    run = lenient(row)
    assert run["name"] == "swe_agent/task/0/rollout/?"
    assert run["metadata"]["nemogym"] == {"task_index": 0, "agent_ref": {"name": "swe_agent"}}
    assert losses(run) == [("_ng_rollout_index", "missing_identity")]


def test_image_part_becomes_placeholder_in_place() -> None:
    content = [
        {"type": "input_text", "text": "What is shown? "},
        {"type": "input_image", "image_url": PNG_URI, "detail": "auto"},
    ]
    run = lenient(rollout([{"role": "user", "content": content}]))
    expected = f"What is shown? [image: image/png, {len(PNG)} bytes, sha256 {PNG_SHA}]"
    assert messages(run)[0]["content"] == expected
    assert losses(run) == [("responses_create_params.input[0].content[1]", "media_placeholder")]


@pytest.mark.parametrize(
    ("part", "shown"),
    [
        (
            {"type": "input_image", "image_url": "https://example.com/cat.png"},
            "[image: https://example.com/cat.png]",
        ),
        ({"type": "input_image", "file_id": "file-1"}, "[image: file-1]"),
        (
            {
                "type": "input_file",
                "filename": "a.txt",
                "file_data": base64.b64encode(b"abc").decode(),
            },
            f"[file: a.txt, application/octet-stream, 3 bytes, sha256 {ABC_SHA}]",
        ),
        (
            {"type": "input_video", "video_url": {"url": "https://example.com/v.mp4"}},
            "[video: https://example.com/v.mp4]",
        ),
    ],
)
def test_media_part_kinds(part: dict[str, Any], shown: str) -> None:
    run = lenient(rollout([{"role": "user", "content": [part]}]))
    assert messages(run)[0]["content"] == shown


def test_encrypted_reasoning_becomes_redacted_reasoning_part() -> None:
    encrypted = reasoning("Plan the search.", encrypted_content="gAAAA-blob")
    run = lenient(rollout(output=[encrypted, assistant("Done.")]))
    assert messages(run)[1]["content"] == [
        {
            "type": "reasoning",
            "reasoning": "Plan the search.",
            "summary": "Plan the search.",
            "signature": "gAAAA-blob",
            "redacted": True,
        },
        {"type": "text", "text": "Done.", "refusal": None},
    ]
    assert losses(run) == [("response.output[0].encrypted_content", "encrypted_reasoning")]


def test_encrypted_reasoning_keeps_reasoning_content_text() -> None:
    item = reasoning(
        encrypted_content="blob", content=[{"type": "reasoning_text", "text": "step 1"}]
    )
    run = lenient(rollout(output=[item, reasoning("plain"), assistant("ok")]))
    parts = messages(run)[1]["content"]
    assert [(part["reasoning"], part["redacted"]) for part in parts[:2]] == [
        ("step 1", True),
        ("plain", False),
    ]


def test_orphaned_tool_output_is_marked() -> None:
    run = lenient(rollout(output=[call_output("call_9", "42"), assistant("ok")]))
    tool = messages(run)[1]
    assert (tool["role"], tool["tool_call_id"], tool["function"], tool["content"]) == (
        "tool",
        "call_9",
        None,
        "42",
    )
    detail = run["transcripts"][0]["metadata"]["message_details"][1]["source_items"][0]
    assert detail["orphaned"] is True
    assert losses(run) == [("response.output[0].call_id", "orphaned_tool_output")]


def test_unparsable_arguments_keep_parse_error() -> None:
    run = lenient(rollout(output=[call("c1", arguments="{not json"), call_output("c1")]))
    tool_call = messages(run)[1]["tool_calls"][0]
    assert tool_call["arguments"] == {}
    assert tool_call["parse_error"].startswith("not valid JSON")
    assert losses(run) == [("response.output[0].arguments", "unparsed_arguments")]


def test_snapshots_keep_the_last() -> None:
    first = [user("q"), call("c1")]
    last = [user("q"), call("c1"), call_output("c1", "4"), assistant("It is 4.")]
    run = lenient(rollout(output=[first, last]))
    assert [message["role"] for message in messages(run)] == [
        "user",
        "user",
        "assistant",
        "tool",
        "assistant",
    ]
    assert run["transcripts"][0]["metadata"]["source"]["output_item_count"] == 4
    assert losses(run) == [("response.output", "snapshots_dropped")]


def test_training_fields_are_declared() -> None:
    message = assistant(
        "x", prompt_token_ids=[1, 2], generation_token_ids=[3], generation_log_probs=[-0.1]
    )
    row = rollout(output=[message])
    del row["agent_ref"]  # training fields alone do not stop the strict mode
    run = lenient(row)
    assert losses(run) == [
        ("response.output[0]", "training_fields_dropped"),
        ("agent_ref", "missing_identity"),
    ]
    details = run["metadata"]["conversion"]["losses"][0]["message"]
    assert details == "left out: prompt_token_ids, generation_token_ids, generation_log_probs"


def test_no_messages_gives_empty_transcript() -> None:
    run = lenient(rollout([], []))
    assert messages(run) == []
    assert losses(run) == [("", "no_messages")]


@pytest.mark.parametrize(
    ("item", "function", "arguments", "result"),
    [
        (
            {
                "type": "web_search_call",
                "id": "ws_1",
                "action": {"type": "search", "query": "nemo"},
                "status": "completed",
            },
            "web_search",
            {"type": "search", "query": "nemo"},
            '{"status": "completed"}',
        ),
        (
            {
                "type": "mcp_call",
                "id": "mcp_1",
                "name": "get_time",
                "arguments": '{"tz": "UTC"}',
                "output": "12:00",
            },
            "get_time",
            {"tz": "UTC"},
            "12:00",
        ),
        (
            {
                "type": "code_interpreter_call",
                "id": "ci_1",
                "container_id": "c",
                "status": "completed",
                "code": "1+1",
                "outputs": [{"type": "logs", "logs": "2"}],
            },
            "code_interpreter",
            {"code": "1+1", "container_id": "c"},
            '[{"logs": "2", "type": "logs"}]',
        ),
        (
            {
                "type": "file_search_call",
                "id": "fs_1",
                "queries": ["q"],
                "status": "completed",
                "results": None,
            },
            "file_search",
            {"queries": ["q"]},
            '{"status": "completed"}',
        ),
    ],
)
def test_hosted_call_becomes_tool_call_and_result(
    item: dict[str, Any], function: str, arguments: dict[str, Any], result: str
) -> None:
    run = lenient(rollout(output=[item, assistant("done")]))
    turn, tool = messages(run)[1], messages(run)[2]
    assert turn["tool_calls"][0]["function"] == function
    assert turn["tool_calls"][0]["arguments"] == arguments
    assert (tool["role"], tool["tool_call_id"], tool["function"], tool["content"]) == (
        "tool",
        item["id"],
        function,
        result,
    )
    assert losses(run) == [("response.output[0]", "call_reshaped")]


def test_custom_and_shell_calls_answered_by_their_outputs() -> None:
    output = [
        {"type": "custom_tool_call", "call_id": "ct_1", "name": "patch", "input": "*** diff"},
        {"type": "custom_tool_call_output", "call_id": "ct_1", "output": "applied"},
        {
            "type": "local_shell_call",
            "id": "ls",
            "call_id": "sh_1",
            "action": {"command": ["ls"]},
            "status": "completed",
        },
        {"type": "local_shell_call_output", "id": "sh_1", "output": "README.md"},
    ]
    run = lenient(rollout(output=output))
    shown = [
        (m["role"], m.get("tool_call_id"), m.get("function"), m["content"])
        for m in messages(run)[1:]
    ]
    assert shown == [
        ("assistant", None, None, ""),
        ("tool", "ct_1", "patch", "applied"),
        ("assistant", None, None, ""),
        ("tool", "sh_1", "local_shell", "README.md"),
    ]
    assert messages(run)[1]["tool_calls"][0]["arguments"] == {"input": "*** diff"}


def test_not_a_rollout_is_still_an_error() -> None:
    with pytest.raises(ConversionError, match="not a NeMo Gym rollout") as raised:
        nemogym_docent.convert_nemogym_rollout_to_agent_run({"policy_response": "x"}, strict=False)
    assert raised.value.json_path == "responses_create_params"


def test_unknown_item_type_is_still_an_error() -> None:
    with pytest.raises(ConversionError) as raised:
        convert_nemogym_rollout_to_agent_run(
            rollout(output=[{"type": "telepathy_call"}]), strict=False
        )
    assert raised.value.json_path == "response.output[0]"


def test_file_converter_takes_strict_keyword(tmp_path: Path) -> None:
    row = rollout()
    del row["agent_ref"]
    path = tmp_path / "old_export.jsonl"
    path.write_text("\n" + __import__("json").dumps(row) + "\n", encoding="utf-8")
    with pytest.raises(ConversionError):
        nemogym_docent.convert_nemogym_jsonl_file_to_agent_runs(path)
    (run,) = nemogym_docent.convert_nemogym_jsonl_file_to_agent_runs(path, strict=False)
    assert run.transcripts[0].name == "old_export"
    assert run.name == "old_export/task/0/rollout/0"


@pytest.mark.parametrize("path", corpus_files(), ids=lambda path: path.name)
def test_corpus_converts_leniently_and_identically_when_strict(path: Path) -> None:
    for number, record in jsonl_records(path):
        is_rollout = isinstance(record, dict) and all(
            isinstance(record.get(key), dict) for key in ("responses_create_params", "response")
        )
        try:
            strict_run = comparable(nemogym_docent.convert_nemogym_rollout_to_agent_run(record))
        except ConversionError:
            strict_run = None
        try:
            lenient_run = comparable(
                convert_nemogym_rollout_to_agent_run(
                    record, strict=False, origin=RecordOrigin(path.stem, number)
                )
            )
        except ConversionError:
            assert not is_rollout, f"line {number} has a request and a response but did not convert"
            continue
        if strict_run is not None:
            assert lenient_run == strict_run, f"line {number} differs between modes"
            assert "conversion" not in lenient_run["metadata"]
        else:
            assert lenient_run["metadata"]["conversion"]["losses"], (
                f"line {number}: no loss declared"
            )


def test_check_says_strict_for_a_strict_rollout() -> None:
    check = nemogym_docent.check_nemogym_rollout(rollout())
    assert check.verdict == nemogym_docent.Verdict.STRICT
    assert (check.strict_issues, check.lenient_issues, check.losses) == ([], [], [])


def test_check_says_lenient_only_with_issues_and_losses() -> None:
    row = rollout(output=[reasoning("x", encrypted_content="blob"), assistant("y")])
    check = nemogym_docent.check_nemogym_rollout(row)
    assert check.verdict == nemogym_docent.Verdict.LENIENT_ONLY
    assert [issue.json_path for issue in check.strict_issues] == [
        "response.output[0].encrypted_content"
    ]
    assert check.lenient_issues == []
    assert [loss.loss_kind for loss in check.losses] == ["encrypted_reasoning"]


def test_check_says_lenient_only_for_a_wiring_fault() -> None:
    check = nemogym_docent.check_nemogym_rollout(rollout(output=[call_output("nope")]))
    assert check.verdict == nemogym_docent.Verdict.LENIENT_ONLY
    assert [issue.json_path for issue in check.strict_issues] == ["response.output[0].call_id"]


@pytest.mark.parametrize(
    "record", [[1, 2], {"policy_response": "x"}, rollout(output=[{"type": "x"}])]
)
def test_check_says_not_a_rollout(record: Any) -> None:
    check = nemogym_docent.check_nemogym_rollout(record)
    assert check.verdict == nemogym_docent.Verdict.NOT_A_ROLLOUT
    assert check.issues(strict=True)
    assert check.issues(strict=False)


@pytest.mark.parametrize(
    ("fields", "absent"),
    [
        ({"_ng_task_index": None}, "_ng_task_index"),
        ({"_ng_rollout_index": None}, "_ng_rollout_index"),
        ({"agent_ref": None}, "agent_ref"),
        ({"agent_ref": {"name": None, "type": "responses_api_agents"}}, "agent_ref.name"),
    ],
    ids=["task-index", "rollout-index", "agent-ref", "agent-name"],
)
def test_null_identity_is_absent_identity(fields: dict[str, Any], absent: str) -> None:
    row = rollout(**fields)
    assert nemogym_docent.validate_nemogym_rollout(row, strict=False) == []
    assert [issue.json_path for issue in nemogym_docent.validate_nemogym_rollout(row)] == [absent]
    run = lenient(row, RecordOrigin("rollouts", 3))
    assert losses(run) == [(absent, "missing_identity")]


def test_null_where_the_format_has_a_list_is_not_a_rollout() -> None:
    row = rollout(output=[{"type": "mcp_list_tools", "id": "l1", "tools": None}])
    issues = nemogym_docent.validate_nemogym_rollout(row, strict=False)
    assert [str(issue) for issue in issues] == [
        "response.output[0].tools: expected array, got null"
    ]
    with pytest.raises(ConversionError) as raised:
        convert_nemogym_rollout_to_agent_run(row, strict=False)
    assert str(raised.value) == (
        "response.output[0].tools: not a NeMo Gym rollout: expected array, got null"
    )
