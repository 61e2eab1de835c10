"""``detail="full"``: scores, the instructions, reasoning text, structured tool outputs, and the
judges' and subagents' transcripts, each moved out of the raw metadata."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from typing import Any

import pytest
from builders import assistant, call, call_output, reasoning, rollout, user
from parity import REPO, SPEC_EXAMPLES, comparable

import nemogym_docent
from nemogym_docent import ConversionError

PNG = b"\x89PNG\r\n\x1a\n fake image bytes"
PNG_URI = "data:image/png;base64," + base64.b64encode(PNG).decode()
PNG_SHA = hashlib.sha256(PNG).hexdigest()[:12]


def full(row: dict[str, Any], *, strict: bool = True) -> dict[str, Any]:
    run = nemogym_docent.convert_nemogym_rollout_to_agent_run(row, strict=strict, detail="full")
    return comparable(run)


def raw_fields(run: dict[str, Any]) -> dict[str, Any]:
    return dict(run["metadata"]["source"]["rollout_non_trace"].get("benchmark_fields", {}))


def texts(transcript: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(message["role"], message["content"]) for message in transcript["messages"]]


def loss_kinds(run: dict[str, Any]) -> list[tuple[str, str]]:
    return [(loss["json_path"], loss["kind"]) for loss in run["metadata"]["conversion"]["losses"]]


def judge(prompt: str, verdict_text: str, **fields: Any) -> dict[str, Any]:
    return {
        "responses_create_params": {"input": [user(prompt)], "temperature": 0.0},
        "response": {"id": "resp_j", "model": "judge", "output": [assistant(verdict_text)]},
        **fields,
    }


def test_the_default_detail_is_docent() -> None:
    row = rollout(correctness=1.0, judge_evaluations=[judge("Same?", "[[A=B]]")])
    default = comparable(nemogym_docent.convert_nemogym_rollout_to_agent_run(row))
    explicit = nemogym_docent.convert_nemogym_rollout_to_agent_run(row, detail="docent")
    assert comparable(explicit) == default
    assert default["metadata"]["scores"] == {"reward": 1.0}
    assert len(default["transcripts"]) == 1
    assert "conversion" not in default["metadata"]


def test_an_unknown_detail_is_refused() -> None:
    with pytest.raises(ValueError, match="detail"):
        nemogym_docent.convert_nemogym_rollout_to_agent_run(rollout(), detail="everything")  # type: ignore[arg-type]


def test_full_detail_says_so_in_the_run() -> None:
    run = full(rollout())
    assert run["metadata"]["conversion"] == {"mode": "strict", "detail": "full", "losses": []}
    lenient = full(rollout(agent_ref={}), strict=False)
    assert lenient["metadata"]["conversion"]["mode"] == "lenient"
    assert lenient["metadata"]["conversion"]["detail"] == "full"


def test_metrics_and_components_are_scores_moved_out_of_the_raw_fields() -> None:
    row = rollout(
        reward=2.0,
        reward_components={"correctness": 1.0, "format": 0.0},
        correctness=1.0,
        format=0.0,
        resolved=True,
        expected_answer="42",
        _ng_attempt_index=2,
    )
    run = full(row)
    assert run["metadata"]["scores"] == {
        "reward": 2.0,
        "correctness": 1.0,
        "format": 0.0,
        "resolved": True,
    }
    assert raw_fields(run) == {"expected_answer": "42"}
    assert run["metadata"]["nemogym"]["attempt_index"] == 2
    assert run["name"] == "agent/task/0/rollout/0/attempt/2"


def test_the_instructions_are_the_first_system_message() -> None:
    row = rollout(input_items=[user("Name a colour.")])
    row["responses_create_params"]["instructions"] = "Be terse."
    row["responses_create_params"]["temperature"] = 0.7
    row["response"]["instructions"] = "Be terse."
    run = full(row)
    transcript = run["transcripts"][0]
    assert texts(transcript)[:2] == [("system", "Be terse."), ("user", "Name a colour.")]
    assert transcript["metadata"]["message_details"][0]["source_item_types"] == ["instructions"]
    non_trace = run["metadata"]["source"]["rollout_non_trace"]
    assert non_trace["request"] == {"temperature": 0.7}
    assert "instructions" not in non_trace.get("response", {})


def test_instructions_the_response_does_not_echo_stay_in_its_metadata() -> None:
    row = rollout()
    row["responses_create_params"]["instructions"] = "Be terse."
    row["response"]["instructions"] = "Be verbose."
    run = full(row)
    assert run["metadata"]["source"]["rollout_non_trace"]["response"]["instructions"] == (
        "Be verbose."
    )


def test_reasoning_text_content_becomes_the_reasoning() -> None:
    item = reasoning("short summary")
    item["content"] = [{"type": "reasoning_text", "text": "17 is odd, so"}]
    run = full(rollout(output=[item, assistant("Yes.")]))
    reasoning_part, text_part = run["transcripts"][0]["messages"][-1]["content"]
    assert reasoning_part["reasoning"] == "17 is odd, so"
    assert reasoning_part["summary"] == "short summary"
    assert text_part["text"] == "Yes."
    docent_run = nemogym_docent.convert_nemogym_rollout_to_agent_run(rollout(output=[item]))
    assert comparable(docent_run)["transcripts"][0]["messages"][-1]["content"] == [
        {
            "type": "reasoning",
            "reasoning": "short summary",
            "summary": None,
            "signature": None,
            "redacted": False,
        }
    ]


def test_a_structured_tool_output_is_text_with_placeholders() -> None:
    parts = [
        {"type": "input_text", "text": "Screenshot taken."},
        {"type": "input_image", "detail": "low", "image_url": PNG_URI},
    ]
    row = rollout(output=[call("call_1", "screenshot"), call_output("call_1", parts)])
    run = full(row)
    tool = run["transcripts"][0]["messages"][-1]
    image = f"[image: image/png, {len(PNG)} bytes, sha256 {PNG_SHA}]"
    assert tool["content"] == f"Screenshot taken.\n{image}"
    assert loss_kinds(run) == [("response.output[1].output[1]", "media_placeholder")]
    details = run["transcripts"][0]["metadata"]["message_details"][-1]["source_items"][0]
    assert details["content_part_types"] == ["input_text", "input_image"]


def test_an_output_list_that_is_not_parts_stays_json() -> None:
    row = rollout(output=[call("call_1"), call_output("call_1", [1, {"a": 2}])])
    run = full(row)
    assert run["transcripts"][0]["messages"][-1]["content"] == '[1, {"a": 2}]'
    assert run["metadata"]["conversion"]["losses"] == []


def test_each_judge_exchange_is_a_transcript_in_its_sources_group() -> None:
    first = judge("Same? A", "[[A=B]]", verdict_label="[[A=B]]")
    second = judge("Same? B", "[[A!=B]]", verdict_label="[[A!=B]]")
    row = rollout(judge_evaluations=[first, second], expected_answer="Mercury")
    run = full(row)
    main, *judges = run["transcripts"]
    assert main["name"] == "agent"
    assert main["transcript_group_id"] is None
    assert [transcript["name"] for transcript in judges] == [
        "judge_evaluations[0]",
        "judge_evaluations[1]",
    ]
    assert texts(judges[1]) == [("user", "Same? B"), ("assistant", "[[A!=B]]")]
    assert judges[0]["metadata"]["judge"] == {"verdict_label": "[[A=B]]"}
    assert judges[0]["metadata"]["source"]["request"] == {"temperature": 0.0}
    [group] = run["transcript_groups"]
    assert group["name"] == "judge_evaluations"
    assert {transcript["transcript_group_id"] for transcript in judges} == {group["id"]}
    assert raw_fields(run) == {"expected_answer": "Mercury"}


def test_other_judge_sources_and_a_delegated_verifier() -> None:
    row = rollout(
        judge_evaluation={**judge("Harmful?", "[[SAFE]]"), "prompt_harm": "no"},
        judge_response={"id": "resp_x", "output": [assistant("Correct.")]},
        judge_response_create_params={"input": [user("Grade it.")]},
        delegated_response={"reward": 1.0, "judge_evaluations": [judge("Equal?", "yes")]},
    )
    run = full(row)
    names = [transcript["name"] for transcript in run["transcripts"][1:]]
    assert names == [
        "judge_evaluation",
        "judge_response",
        "delegated_response.judge_evaluations[0]",
    ]
    assert run["transcripts"][1]["metadata"]["judge"] == {"prompt_harm": "no"}
    assert texts(run["transcripts"][2]) == [("user", "Grade it."), ("assistant", "Correct.")]
    groups = {group["name"]: group for group in run["transcript_groups"]}
    nested = groups["delegated_response.judge_evaluations"]
    assert nested["parent_transcript_group_id"] == groups["delegated_response"]["id"]
    assert raw_fields(run) == {"delegated_response": {"reward": 1.0}}


def test_a_judge_source_that_does_not_convert_stays_raw() -> None:
    broken = {"responses_create_params": {"input": [{"type": "no_such_item"}]}, "response": None}
    row = rollout(judge_evaluations=[judge("Same?", "yes"), broken])
    run = full(row)
    assert len(run["transcripts"]) == 1
    kept = raw_fields(run)["judge_evaluations"][1]
    assert kept == {"responses_create_params": broken["responses_create_params"]}


def invocation(
    invocation_id: str, parent: str | None, spawned_by: str | None, *conversation: Any
) -> dict[str, Any]:
    return {
        "kind": "agent_invocation",
        "invocation_id": invocation_id,
        "parent_invocation_id": parent,
        "spawned_by_tool_call_id": spawned_by,
        "status": "completed",
        "duration_ms": None,
        "error_type": None,
        "model_calls": [],
        "conversation": list(conversation),
    }


def trajectory_rollout(*invocations: dict[str, Any]) -> dict[str, Any]:
    trajectory = {
        "schema_version": "1.0",
        "task_id": "0",
        "rollout_id": "0-0",
        "invocations": list(invocations),
        "turns": [],
        "model_calls": [],
        "tool_calls": [],
        "gaps": [{"code": "turns_unavailable", "invocation_id": None, "detail": None}],
    }
    return rollout(
        input_items=[user("Hi")],
        output=[call("call_a", "delegate"), call_output("call_a", "done"), assistant("Hello")],
        ng_trajectory=trajectory,
    )


ROOT = invocation(
    "root",
    None,
    None,
    user("Hi"),
    call("call_a", "delegate"),
    call_output("call_a", "done"),
    assistant("Hello"),
)


def test_subagents_are_transcripts_in_groups_mirroring_the_invocation_tree() -> None:
    child = invocation("root.child-1", "root", "call_a", user("Look up"), assistant("Found"))
    grandchild = invocation("root.child-1.child-1", "root.child-1", "call_b", user("Deeper"))
    sibling = invocation("root.child-2", "root", "call_c", user("Other"))
    run = full(trajectory_rollout(ROOT, child, grandchild, sibling))
    main, *subagents = run["transcripts"]
    assert main["metadata"]["invocation"]["invocation_id"] == "root"
    assert [transcript["name"] for transcript in subagents] == [
        "root.child-1",
        "root.child-1.child-1",
        "root.child-2",
    ]
    assert subagents[0]["metadata"]["invocation"]["spawned_by_tool_call_id"] == "call_a"
    assert texts(subagents[0]) == [("user", "Look up"), ("assistant", "Found")]
    groups = {group["name"]: group for group in run["transcript_groups"]}
    assert set(groups) == {"ng_trajectory", "root.child-1"}
    top, child_group = groups["ng_trajectory"], groups["root.child-1"]
    assert top["parent_transcript_group_id"] is None
    assert child_group["parent_transcript_group_id"] == top["id"]
    assert [transcript["transcript_group_id"] for transcript in subagents] == [
        child_group["id"],
        child_group["id"],
        top["id"],
    ]
    left = raw_fields(run)["ng_trajectory"]
    assert "invocations" not in left
    assert "gaps" not in left
    assert run["metadata"]["nemogym"]["trajectory_gaps"] == [{"code": "turns_unavailable"}]


def test_without_a_matching_invocation_every_invocation_is_a_transcript() -> None:
    other_root = invocation("root", None, None, user("Something else"))
    run = full(trajectory_rollout(other_root))
    assert [transcript["name"] for transcript in run["transcripts"]] == ["agent", "root"]
    assert "invocation" not in run["transcripts"][0]["metadata"]


def test_a_cycle_of_parents_still_makes_a_tree() -> None:
    first = invocation("a", "b", None, user("A"))
    second = invocation("b", "a", None, user("B"))
    run = full(trajectory_rollout(ROOT, first, second))
    groups = {group["id"]: group for group in run["transcript_groups"]}
    for group in groups.values():
        seen = set()
        current: str | None = group["id"]
        while current is not None:
            assert current not in seen
            seen.add(current)
            current = groups[current]["parent_transcript_group_id"]


def test_invocations_that_do_not_convert_stay_raw() -> None:
    empty = invocation("root.child-1", "root", None)
    run = full(trajectory_rollout(ROOT, empty))
    assert len(run["transcripts"]) == 1
    assert [item["invocation_id"] for item in raw_fields(run)["ng_trajectory"]["invocations"]] == [
        "root.child-1"
    ]


@pytest.mark.skipif(not SPEC_EXAMPLES.is_dir(), reason="../shared/spec is not present")
@pytest.mark.parametrize(
    "name", ["judge_evaluations", "reward_components", "ng_trajectory_subagents"]
)
def test_spec_examples_in_full_detail(name: str) -> None:
    row = json.loads((SPEC_EXAMPLES / f"{name}.json").read_text("utf-8"))
    docent = comparable(nemogym_docent.convert_nemogym_rollout_to_agent_run(copy.deepcopy(row)))
    run = full(row)
    assert run["transcripts"][0]["messages"] == docent["transcripts"][0]["messages"]
    assert len(run["transcripts"]) == 2 if name != "reward_components" else 1


def test_strict_full_refuses_what_strict_refuses() -> None:
    row = rollout(output=[call_output("call_missing")], correctness=1.0)
    with pytest.raises(ConversionError):
        full(row)


def test_a_full_detail_line_is_the_same_bytes_every_time() -> None:
    row = trajectory_rollout(ROOT, invocation("root.child-1", "root", "call_a", user("Look up")))
    row["judge_evaluations"] = [judge("Same?", "yes")]
    line = json.dumps(row).encode()
    first = nemogym_docent.convert_nemogym_jsonl_line(line, detail="full")
    assert nemogym_docent.convert_nemogym_jsonl_line(line, detail="full") == first
    dumped = json.loads(first)
    group_ids = [group["id"] for group in dumped["transcript_groups"]]
    assert group_ids == ["group-0", "group-1"]
    assert [transcript["transcript_group_id"] for transcript in dumped["transcripts"]] == [
        None,
        "group-0",
        "group-1",
    ]


def test_the_documented_example() -> None:
    """docs/full-detail.md shows this run of examples/judged_rollout.json."""
    row = json.loads((REPO / "examples" / "judged_rollout.json").read_text("utf-8"))
    docent = nemogym_docent.convert_nemogym_rollout_to_agent_run(row)
    assert docent.metadata["scores"] == {"reward": 2.0}
    assert str(docent.transcripts[0].messages[-2].content).startswith('[{"text": "3.10686"')
    run = nemogym_docent.convert_nemogym_rollout_to_agent_run(row, detail="full")
    assert run.metadata["scores"] == {
        "reward": 2.0,
        "correctness": 1.0,
        "format": 1.0,
        "is_correct": True,
    }
    assert run.metadata["source"]["rollout_non_trace"]["benchmark_fields"] == {
        "expected_answer": "3.11"
    }
    image = "[image: image/png, 8 bytes, sha256 4c4b6a3be131]"
    assert run.metadata["conversion"]["losses"] == [
        {
            "json_path": "response.output[2].output[1]",
            "kind": "media_placeholder",
            "message": f"input_image replaced by the text {image}",
        }
    ]
    assert [(t.name, len(t.messages)) for t in run.transcripts] == [
        ("unit_convert_agent", 5),
        ("judge_evaluations[0]", 2),
    ]
    assert [(m.role, m.text) for m in run.transcripts[0].messages] == [
        ("system", "Answer with one convert_units call, then the result in one sentence."),
        ("user", "How many miles is 5 km?"),
        ("assistant", ""),
        ("tool", f"3.10686\n{image}"),
        ("assistant", "5 km is about 3.11 miles."),
    ]
    assert run.transcripts[1].metadata["judge"] == {"verdict_label": "[[A=B]]"}
    assert [(g.name, g.metadata) for g in run.transcript_groups] == [
        ("judge_evaluations", {"source": "judge_evaluations"})
    ]
    assert run.transcripts[1].transcript_group_id == run.transcript_groups[0].id


def test_instructions_alone_do_not_make_an_empty_rollout_convert() -> None:
    row = rollout(input_items=[], output=[])
    row["responses_create_params"]["instructions"] = "Be terse."
    with pytest.raises(ConversionError, match="no messages"):
        full(row)
    run = full(row, strict=False)
    assert texts(run["transcripts"][0]) == [("system", "Be terse.")]
    assert loss_kinds(run) == [("", "no_messages")]


def test_a_judges_instructions_are_its_first_message() -> None:
    exchange = judge("Same?", "yes")
    exchange["responses_create_params"]["instructions"] = "You are a strict grader."
    run = full(rollout(judge_evaluations=[exchange]))
    assert texts(run["transcripts"][1])[0] == ("system", "You are a strict grader.")
    assert run["transcripts"][1]["metadata"]["source"]["request"] == {"temperature": 0.0}
