"""NeMo Gym 0.7 results in the lenient mode and full detail: every spec example and real 0.7
file, and hand-made variants (an unknown result type, a merged file, a masked judge failure, a
row holding every new item type)."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import pytest
from declared_losses import CONTENT_KINDS
from docent.data_models.ingestion_sanity import check_ingestion_sanity
from parity import SPEC_EXAMPLES, assert_parity, comparable, zero_point_seven_corpus_files

from nemogym_docent import (
    ConversionError,
    convert_nemogym_rollout_to_agent_run,
    validate_nemogym_rollout,
)

NG07 = SPEC_EXAMPLES / "ng07"
RESULT_EXAMPLES = (
    "legacy_agent.json",
    "single_agent_turn.json",
    "nemo_user_sim.json",
    "merged_shards.jsonl",
)


def rows_of(path: Path) -> list[Any]:
    if path.suffix == ".json":
        return [json.loads(path.read_text("utf-8"))]
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def example(name: str) -> Any:
    path = NG07 / name
    if not path.is_file():
        pytest.skip("../shared/spec/examples/ng07 is not present")
    rows = rows_of(path)
    return rows[0] if path.suffix == ".json" else rows


def full(row: dict[str, Any]) -> dict[str, Any]:
    return comparable(convert_nemogym_rollout_to_agent_run(row, strict=False, detail="full"))


def lenient(row: dict[str, Any]) -> dict[str, Any]:
    return comparable(convert_nemogym_rollout_to_agent_run(row, strict=False))


def losses(run: dict[str, Any]) -> list[tuple[str, str]]:
    return [(loss["json_path"], loss["kind"]) for loss in run["metadata"]["conversion"]["losses"]]


def messages(run: dict[str, Any], transcript: int = 0) -> list[dict[str, Any]]:
    return run["transcripts"][transcript]["messages"]


def text(message: dict[str, Any]) -> str:
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if part["type"] == "text")


@pytest.mark.parametrize("name", RESULT_EXAMPLES)
def test_every_result_row_of_the_examples_converts_leniently_in_full_detail(name: str) -> None:
    rows = example(name)
    for row in rows if isinstance(rows, list) else [rows]:
        before = copy.deepcopy(row)
        for detail in ("docent", "full"):
            run = convert_nemogym_rollout_to_agent_run(row, strict=False, detail=detail)
            assert run.transcripts[0].messages, name
        assert row == before, f"{name}: the row was changed"


def test_every_row_of_every_zero_point_seven_corpus_file_converts_or_is_a_side_file() -> None:
    files = zero_point_seven_corpus_files()
    if not files:
        pytest.skip("../shared/corpus is not present")
    refused = converted = 0
    for path in files:
        for line in path.read_text("utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if path.name.endswith("_materialized_inputs.jsonl"):
                with pytest.raises(ConversionError):
                    convert_nemogym_rollout_to_agent_run(row, strict=False)
                continue
            try:
                convert_nemogym_rollout_to_agent_run(row, strict=False, detail="full")
            except ConversionError:
                refused += 1
            else:
                converted += 1
    assert (refused, converted) == (0, 115)


def test_a_legacy_agent_row_converts_strictly_as_docent_does() -> None:
    row = example("legacy_agent.json")
    assert assert_parity(row) is not None
    for merged in example("merged_shards.jsonl"):
        assert assert_parity(merged) is not None


def test_a_single_agent_turn_row_is_named_after_its_server_and_durable_task() -> None:
    row = example("single_agent_turn.json")
    with pytest.raises(ConversionError):
        convert_nemogym_rollout_to_agent_run(row)
    run = lenient(row)
    assert run["name"] == "codex_tasks_environment/task/codex_tasks:train:hello-py/rollout/3"
    assert run["transcripts"][0]["name"] == "codex_tasks_environment"
    assert not [loss for loss in losses(run) if loss[1] == "missing_identity"]


def test_new_call_items_become_tool_calls_and_tool_messages() -> None:
    run = lenient(example("single_agent_turn.json"))
    calls = [call for m in messages(run) for call in m.get("tool_calls") or []]
    assert [(call["id"], call["function"]) for call in calls] == [
        ("call_a", "apply_patch"),
        ("call_b", "shell"),
    ]
    assert calls[0]["arguments"] == {
        "type": "create_file",
        "path": "hello.py",
        "diff": "+print('hello')\n",
    }
    assert calls[1]["arguments"]["commands"] == ["python hello.py"]
    tools = [m for m in messages(run) if m["role"] == "tool"]
    assert [(m["tool_call_id"], m["function"]) for m in tools] == [
        ("call_a", "apply_patch"),
        ("call_b", "shell"),
    ]
    assert tools[0]["content"] == "created hello.py"
    assert tools[1]["content"] == "hello\n[exit code 0]"
    assert ("response.output[4]", "compaction") in losses(run)


def test_full_detail_scores_ng_perf_and_keeps_the_stamps_in_nemogym_metadata() -> None:
    run = full(example("single_agent_turn.json"))
    scores = run["metadata"]["scores"]
    assert scores["reward"] == 1.0
    assert scores["tests_passed"] == 3
    assert scores["ng_perf/num_turns"] == 3
    assert scores["ng_perf/token_observability_coverage"] == 1.0
    assert scores["ng_perf/total_latency_ms"] == 5120.5
    assert "mask_sample" not in scores
    nemogym = run["metadata"]["nemogym"]
    assert nemogym["environment_server"] == "codex_tasks_environment"
    assert nemogym["result_type"] == "single_agent_turn"
    assert nemogym["task_id"] == {"taskset": "codex_tasks:train", "task_id": "hello-py"}
    assert nemogym["rollout_id"] == "0-3"
    assert nemogym["verdict"] == {"mask_sample": False}
    raw = run["metadata"]["source"]["rollout_non_trace"].get("benchmark_fields", {})
    assert not {"ng_perf", "mask_sample", "_ng_task_id", "_ng_result_type"} & set(raw)


def test_full_detail_keeps_commentary_messages_apart_and_marks_the_final_answer() -> None:
    row = example("legacy_agent.json")
    docent = lenient(row)
    assert [m["role"] for m in messages(docent)] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
    ]
    run = full(row)
    assistants = [m for m in messages(run) if m["role"] == "assistant"]
    assert [(text(m), m["metadata"]) for m in assistants] == [
        ("Running the tests first.", {"phase": "commentary"}),
        ("The day count ignores the century rule.", {"phase": "commentary"}),
        (
            "Fixed: years divisible by 100 but not 400 are not leap years.",
            {"phase": "final_answer"},
        ),
    ]
    assert assistants[0]["tool_calls"][0]["function"] == "run_tests"
    details = run["transcripts"][0]["metadata"]["message_details"]
    assert [d.get("phase") for d in details if d["role"] == "assistant"] == [
        "commentary",
        "commentary",
        "final_answer",
    ]


def test_full_detail_names_merged_shards_apart_even_under_one_agent_name() -> None:
    first, second = example("merged_shards.jsonl")
    second = copy.deepcopy(second)
    second["agent_ref"] = first["agent_ref"]
    docent_names = {lenient(row)["name"] for row in (first, second)}
    assert docent_names == {"dates_repair_agent/task/7/rollout/1"}
    names = {full(row)["name"] for row in (first, second)}
    assert names == {
        "dates_repair_agent/task/7/rollout/1@dates_repair_agent_environment_server",
        "dates_repair_agent/task/7/rollout/1@dates_repair_agent_v2_environment_server",
    }


def test_a_masked_reward_is_not_a_score_in_full_detail() -> None:
    row = copy.deepcopy(example("legacy_agent.json"))
    row.update(reward=0.0, mask_sample=True, failure_kind="judge_failed", failure_reason="no score")
    run = full(row)
    assert "reward" not in run["metadata"].get("scores", {})
    assert run["metadata"]["nemogym"]["verdict"] == {
        "mask_sample": True,
        "failure_kind": "judge_failed",
        "failure_reason": "no score",
        "masked_reward": 0.0,
    }
    assert lenient(row)["metadata"]["scores"] == {"reward": 0.0}


def test_a_nemo_user_sim_result_is_one_run_with_the_policy_conversation() -> None:
    row = example("nemo_user_sim.json")
    with pytest.raises(ConversionError):
        convert_nemogym_rollout_to_agent_run(row)
    assert validate_nemogym_rollout(row, strict=False) == []
    run = lenient(row)
    assert run["name"] == ("nemo_user_sim_environment/task/nemo_user_sim:example:eggs-1/rollout/0")
    assert [(m["role"], text(m)) for m in messages(run)] == [
        ("user", "How long should I boil an egg for a soft yolk?"),
        ("assistant", "About six minutes in boiling water, then cool it in cold water."),
        ("user", "And for a hard one?"),
        ("assistant", "Ten to twelve minutes."),
    ]
    assert messages(run)[1]["content"][0]["reasoning"] == "Soft yolk: 6 min."
    assert run["metadata"]["scores"] == {"reward": 0.75}
    raw = run["metadata"]["source"]["rollout_non_trace"]["benchmark_fields"]
    assert "conversation_messages" not in raw["usersim_result"]
    assert len(raw["invocations"]) == 5


def test_full_detail_shows_each_other_invocation_grouped_by_role() -> None:
    row = example("nemo_user_sim.json")
    before = copy.deepcopy(row)
    run = full(row)
    assert row == before
    names = [t["name"] for t in run["transcripts"]]
    assert names == [
        "nemo_user_sim_environment",
        "invocations[0]",
        "invocations[2]",
        "invocations[4]",
    ]
    groups = {g["id"]: g["name"] for g in run["transcript_groups"]}
    assert sorted(groups.values()) == ["invocations/judge", "invocations/user"]
    assert groups[run["transcripts"][3]["transcript_group_id"]] == "invocations/judge"
    scores = run["metadata"]["scores"]
    assert scores["reward"] == 0.75
    assert scores["quality/conciseness"] == 0.5
    assert scores["participants_completed"] == 1.0
    nemogym = run["metadata"]["nemogym"]
    assert nemogym["verification"]["scenario_completed"] is True
    assert nemogym["simulation_outcome"] == {"ended_by": "user", "turns": 2}
    assert nemogym["verdict"] == {"mask_sample": False}
    raw = run["metadata"]["source"]["rollout_non_trace"]["benchmark_fields"]
    assert [entry["role"] for entry in raw["invocations"]] == ["assistant", "assistant"]
    assert "reward_components" not in raw


def test_a_result_type_nobody_knows_converts_what_it_recognises() -> None:
    row = {
        "_ng_result_type": "tetris_env:episode",
        "_ng_environment_server": "tetris_env",
        "_ng_task_index": 2,
        "_ng_rollout_index": 0,
        "reward": 0.5,
        "board": [[0, 1], [1, 1]],
        "invocations": [
            {
                "sequence": 0,
                "role": "assistant",
                "request": {"input": [{"role": "user", "content": "Place the piece."}]},
                "response": {
                    "output": [
                        {
                            "type": "message",
                            "role": "assistant",
                            "content": [{"type": "output_text", "text": "Left, drop."}],
                        }
                    ]
                },
            }
        ],
    }
    for detail in ("docent", "full"):
        run = comparable(convert_nemogym_rollout_to_agent_run(row, strict=False, detail=detail))
        assert run["name"] == "tetris_env/task/2/rollout/0"
        assert [(m["role"], text(m)) for m in messages(run)] == [
            ("user", "Place the piece."),
            ("assistant", "Left, drop."),
        ]
        assert ("_ng_result_type", "unknown_result_type") in losses(run)
    bare = {"_ng_result_type": "mystery", "reward": 1}
    run = lenient(bare)
    assert messages(run) == []
    assert {kind for _, kind in losses(run)} >= {"unknown_result_type", "no_messages"}
    for not_a_result in ({"verdict": "healthy", "_ng_task_index": 1}, {"task_id": {}}):
        with pytest.raises(ConversionError):
            convert_nemogym_rollout_to_agent_run(not_a_result, strict=False)


EVERY_NEW_ITEM: list[dict[str, Any]] = [
    {
        "type": "additional_tools",
        "role": "developer",
        "tools": [{"type": "function", "name": "grep"}],
    },
    {"role": "user", "content": "Find the bug.", "phase": None},
    {"type": "compaction_trigger"},
]
EVERY_NEW_OUTPUT: list[dict[str, Any]] = [
    {
        "type": "message",
        "role": "assistant",
        "phase": "commentary",
        "content": [{"type": "output_text", "text": "Looking."}],
    },
    {
        "type": "tool_search_call",
        "id": "ts_1",
        "call_id": "call_s",
        "execution": "client",
        "status": "completed",
        "arguments": {"query": "grep"},
    },
    {
        "type": "tool_search_output",
        "id": "tso_1",
        "call_id": "call_s",
        "execution": "client",
        "status": "completed",
        "tools": [{"type": "function", "name": "grep"}],
    },
    {
        "type": "function_call",
        "call_id": "call_g",
        "name": "grep",
        "namespace": "search",
        "arguments": '{"pattern": "bug"}',
    },
    {
        "type": "function_call_output",
        "id": "fco_1",
        "status": "completed",
        "call_id": "call_g",
        "output": "a.py:3: bug",
        "created_by": "tool",
    },
    {
        "type": "shell_call",
        "id": "sc_1",
        "call_id": "call_x",
        "status": "completed",
        "action": {"commands": ["false", "sleep 9"], "timeout_ms": 100},
    },
    {
        "type": "shell_call_output",
        "id": "sco_1",
        "call_id": "call_x",
        "status": "completed",
        "output": [
            {"stdout": "", "stderr": "boom", "outcome": {"type": "exit", "exit_code": 1}},
            {"stdout": "", "stderr": "", "outcome": {"type": "timeout"}},
        ],
    },
    {
        "type": "apply_patch_call",
        "id": "ap_1",
        "call_id": "call_p",
        "status": "completed",
        "operation": {"type": "delete_file", "path": "old.py"},
    },
    {"type": "apply_patch_call_output", "id": "apo_1", "call_id": "call_p", "status": "failed"},
    {"type": "compaction", "id": "cmp_1", "encrypted_content": "opaque"},
    {
        "type": "message",
        "role": "assistant",
        "phase": "final_answer",
        "content": [{"type": "output_text", "text": "Fixed."}],
    },
]


def every_new_item_row() -> dict[str, Any]:
    return {
        "responses_create_params": {"input": EVERY_NEW_ITEM},
        "response": {"id": "r", "output": EVERY_NEW_OUTPUT},
        "reward": 1.0,
        "_ng_task_index": 0,
        "_ng_rollout_index": 0,
        "_ng_environment_server": "bugs_env",
        "_ng_result_type": "single_agent_turn",
    }


def test_a_row_holding_every_new_item_type_converts_leniently() -> None:
    row = every_new_item_row()
    assert validate_nemogym_rollout(row, strict=False) == []
    with pytest.raises(ConversionError):
        convert_nemogym_rollout_to_agent_run(row)
    for detail in ("docent", "full"):
        run = comparable(convert_nemogym_rollout_to_agent_run(row, strict=False, detail=detail))
        calls = [c["function"] for m in messages(run) for c in m.get("tool_calls") or []]
        assert calls == ["tool_search", "grep", "shell", "apply_patch"]
        tools = [(m["function"], m["content"]) for m in messages(run) if m["role"] == "tool"]
        assert tools[0][0] == "tool_search"
        assert "grep" in tools[0][1]
        assert tools[1] == ("grep", "a.py:3: bug")
        assert "boom" in tools[2][1]
        assert "exit code 1" in tools[2][1]
        assert "timed out" in tools[2][1]
        assert tools[3] == ("apply_patch", "failed")
        kinds = {kind for _, kind in losses(run)}
        assert {"call_reshaped", "compaction", "context_item"} <= kinds
        systems = [text(m) for m in messages(run) if m["role"] == "system"]
        assert systems == [
            "[additional tools: grep]",
            "[compaction trigger]",
            "[compaction: the conversation so far, encrypted]",
        ]
        details = run["transcripts"][0]["metadata"]["message_details"]
        grep = [
            item for d in details for item in d["source_items"] if item.get("tool_name") == "grep"
        ]
        assert grep[0]["namespace"] == "search"


def test_the_full_format_schemas_take_every_new_shape() -> None:
    for name in RESULT_EXAMPLES:
        rows = example(name)
        for row in rows if isinstance(rows, list) else [rows]:
            assert validate_nemogym_rollout(row, strict=False) == [], name
    assert validate_nemogym_rollout(every_new_item_row(), strict=False) == []
    assert validate_nemogym_rollout(example("legacy_agent.json")) == []


@pytest.mark.parametrize("detail", ["docent", "full"])
def test_docents_checker_finds_the_lenient_runs_neither_failing_nor_mutating_nor_varying(
    detail: str,
) -> None:
    rows = [
        row
        for name in RESULT_EXAMPLES
        for row in (example(name) if name.endswith(".jsonl") else [example(name)])
    ]
    rows.append(every_new_item_row())
    convert = functools.partial(convert_nemogym_rollout_to_agent_run, strict=False, detail=detail)
    report = check_ingestion_sanity(rows, convert, show_progress=False)
    assert report.record_count == len(rows)
    assert [finding for finding in report.findings if finding.kind not in CONTENT_KINDS] == []
