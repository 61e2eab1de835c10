"""Generated rollouts and single faults: ours decides and converts exactly as Docent's converter."""

from __future__ import annotations

from typing import Any

import pytest
from docent.data_models.agent_run import AgentRun
from docent.sdk.integrations import nemogym as docent_nemogym
from hypothesis import given, settings
from parity import comparable
from strategies import Mutation, examples, full_rollouts, mutations, rollouts

import nemogym_docent
from nemogym_docent import ConversionError
from nemogym_docent.identity import read_identity, run_name
from nemogym_docent.json_paths import render_json_path


def docent_result(rollout: Any) -> dict[str, Any] | None:
    """Docent's AgentRun, or None when its converter refuses the rollout by raising anything."""
    try:
        return comparable(docent_nemogym.convert_nemogym_rollout_to_agent_run(rollout))
    except Exception:
        return None


def is_within(inner: str, outer: str) -> bool:
    """Whether the rendered JSON path ``inner`` is ``outer`` or lies below it."""
    return inner == outer or not outer or inner.startswith((f"{outer}.", f"{outer}["))


@settings(max_examples=examples(200))
@given(rollouts())
def test_generated_rollouts_convert_as_docent_does(rollout: dict[str, Any]) -> None:
    expected = docent_result(rollout)
    assert expected is not None, "the generator made a rollout Docent's converter refuses"
    assert comparable(nemogym_docent.convert_nemogym_rollout_to_agent_run(rollout)) == expected


@settings(max_examples=examples(400))
@given(mutations())
def test_a_fault_is_refused_exactly_when_docent_refuses_it(mutation: Mutation) -> None:
    expected = docent_result(mutation.rollout)
    if expected is None:
        with pytest.raises(ConversionError) as refused:
            nemogym_docent.convert_nemogym_rollout_to_agent_run(mutation.rollout)
        assert_names_the_fault(refused.value, mutation)
    else:
        run = nemogym_docent.convert_nemogym_rollout_to_agent_run(mutation.rollout)
        assert comparable(run) == expected


def assert_names_the_fault(exc: ConversionError, mutation: Mutation) -> None:
    """The error's JSON path is where the fault was planted, inside it, or one of its parents.

    Two faults show elsewhere: broken call-id wiring shows at the output naming the missing call,
    and an item whose ``type`` changed is read as another kind of item, faulted at its own keys.
    """
    assert exc.json_path in str(exc)
    if exc.message.startswith("no messages"):
        return
    assert exc.json_path, f"no JSON path in {exc}"
    planted = mutation.json_path
    retyped_item = render_json_path(mutation.path[:-1]) if mutation.path[-1] == "type" else None
    assert (
        exc.json_path.endswith(".call_id")
        or is_within(exc.json_path, planted)
        or is_within(planted, exc.json_path)
        or (retyped_item is not None and is_within(exc.json_path, retyped_item))
    ), f"{mutation.kind} at {planted!r}, error at {exc.json_path!r}: {exc}"


@settings(max_examples=examples(150))
@given(full_rollouts())
def test_full_detail_converts_what_docent_converts(rollout: dict[str, Any]) -> None:
    docent = docent_result(rollout)
    assert docent is not None, "the generator made a rollout Docent's converter refuses"
    assert comparable(nemogym_docent.convert_nemogym_rollout_to_agent_run(rollout)) == docent
    for strict in (True, False):
        run = nemogym_docent.convert_nemogym_rollout_to_agent_run(
            rollout, strict=strict, detail="full"
        )
        AgentRun.model_validate(run.model_dump())
        label = docent["transcripts"][0]["name"]
        assert run.name == run_name(read_identity(rollout), label)
        assert run.transcripts[0].name == label


@settings(max_examples=examples(300))
@given(mutations())
def test_full_detail_refuses_exactly_what_docent_detail_refuses(mutation: Mutation) -> None:
    for strict in (True, False):
        docent_detail = refusal(mutation.rollout, strict=strict, detail="docent")
        assert refusal(mutation.rollout, strict=strict, detail="full") == docent_detail


def refusal(rollout: Any, **options: Any) -> str | None:
    """Where converting refuses the rollout (its error's JSON path), or None when it converts."""
    try:
        nemogym_docent.convert_nemogym_rollout_to_agent_run(rollout, **options)
    except ConversionError as exc:
        return exc.json_path
    return None
