"""Full detail as Docent's server stores it and its page orders it: groups name their run,
times are naive UTC, and the run opens on the policy's conversation (the main transcript)."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

import orjson
import pytest
from docent.data_models.agent_run import AgentRun
from docent.data_models.util import clone_agent_run_with_random_ids
from parity import SPEC_EXAMPLES

from nemogym_docent import convert_nemogym_rollout_to_agent_run
from nemogym_docent.jsonl.dumping import dump_agent_run
from nemogym_docent.upload.payload import run_payload

NG07 = SPEC_EXAMPLES / "ng07"
FULL_EXAMPLES = [
    "judge_evaluations.json",
    "ng_trajectory_subagents.json",
    "ng07/nemo_user_sim.json",
]


def example(name: str) -> dict[str, Any]:
    path = SPEC_EXAMPLES / name
    if not path.is_file():
        pytest.skip("../shared/spec/examples is not present")
    value: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return value


def full(row: dict[str, Any]) -> AgentRun:
    return convert_nemogym_rollout_to_agent_run(row, strict=False, detail="full")


def docent_order(run: AgentRun) -> list[str]:
    """The transcript ids in the order Docent's server gives the page (its canonical tree: the
    children of each group, and of the run, sorted by ``created_at``; depth first)."""
    children: dict[str | None, list[tuple[datetime, str, str]]] = {}
    for group in run.transcript_groups:
        assert group.created_at is not None  # else the server stamps the upload's time
        entry = (group.created_at, "group", group.id)
        children.setdefault(group.parent_transcript_group_id, []).append(entry)
    for transcript in run.transcripts:
        assert transcript.created_at is not None
        entry = (transcript.created_at, "transcript", transcript.id)
        children.setdefault(transcript.transcript_group_id, []).append(entry)
    order: list[str] = []

    def visit(parent: str | None) -> None:
        siblings = sorted(children.get(parent, []), key=lambda entry: entry[0])
        assert len({entry[0] for entry in siblings}) == len(siblings), "a tie: any order"
        for _, kind, node_id in siblings:
            if kind == "group":
                visit(node_id)
            else:
                order.append(node_id)

    visit(None)
    return order


@pytest.mark.parametrize("name", FULL_EXAMPLES)
def test_the_run_opens_on_its_main_transcript_and_keeps_its_order(name: str) -> None:
    run = full(example(name))
    assert len(run.transcripts) > 1
    assert docent_order(run) == [transcript.id for transcript in run.transcripts]


@pytest.mark.parametrize("name", FULL_EXAMPLES)
def test_times_are_naive_utc_and_groups_name_their_run(name: str) -> None:
    run = full(example(name))
    for node in [*run.transcripts, *run.transcript_groups]:
        assert node.created_at is not None
        assert node.created_at.tzinfo is None
    assert {group.agent_run_id for group in run.transcript_groups} == {run.id}


def test_the_main_transcript_keeps_its_response_time_when_it_is_the_earliest() -> None:
    row = example("judge_evaluations.json")
    run = full(row)
    main = run.transcripts[0]
    assert main.created_at == datetime(2026, 8, 20, 11, 8, 21, 500000)
    assert main.metadata["source"]["response_created_at"] == row["response"]["created_at"]
    assert all(t.created_at > main.created_at for t in run.transcripts[1:])  # type: ignore[operator]


def test_invocations_earlier_than_the_policy_still_come_after_it() -> None:
    row = copy.deepcopy(example("ng07/nemo_user_sim.json"))
    for index, invocation in enumerate(row["invocations"]):
        invocation["response"]["created_at"] = 1790000000.0 - 100 * index  # each one earlier
    run = full(row)
    assert docent_order(run)[0] == run.transcripts[0].id
    assert run.transcripts[0].created_at == datetime(2026, 9, 21, 14, 6, 40)  # the earliest


def test_a_run_that_knows_no_time_starts_at_the_epoch() -> None:
    row = copy.deepcopy(example("ng07/nemo_user_sim.json"))
    for invocation in row["invocations"]:
        del invocation["response"]["created_at"]
    run = full(row)
    assert run.transcripts[0].created_at == datetime(1970, 1, 1)
    assert docent_order(run) == [transcript.id for transcript in run.transcripts]


def test_default_detail_sets_no_time() -> None:
    run = convert_nemogym_rollout_to_agent_run(example("judge_evaluations.json"))
    assert [transcript.created_at for transcript in run.transcripts] == [None]


def test_a_dumped_line_leaves_the_run_id_out_and_the_upload_names_the_run_again() -> None:
    run = full(example("ng07/nemo_user_sim.json"))
    line = dump_agent_run(run)
    assert {group["agent_run_id"] for group in orjson.loads(line)["transcript_groups"]} == {None}
    fresh = clone_agent_run_with_random_ids(AgentRun.model_validate(orjson.loads(line)))
    sent = orjson.loads(run_payload(fresh))
    assert {group["agent_run_id"] for group in sent["transcript_groups"]} == {sent["id"]}
    assert all(not transcript["created_at"].endswith("Z") for transcript in sent["transcripts"])
