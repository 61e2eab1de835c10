"""The JSON Schemas and the converter built on the generated models accept the same rollouts.

Strict profile: the schema and the strict models. Full profile: the schema and the lenient
converter, which has no rule of its own that refuses (what JSON Schema cannot state is a
declared loss there).
"""

from __future__ import annotations

from typing import Any

import pytest
from builders import reasoning, rollout
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from strategies import Mutation, examples, mutations, one_value_nulled, rollouts

from nemogym_docent import (
    ConversionError,
    convert_nemogym_rollout_to_agent_run,
    validate_nemogym_rollout,
)
from nemogym_docent.models import StrictRollout


def assert_schema_and_models_agree(rollout: Any) -> None:
    if validate_nemogym_rollout(rollout):
        with pytest.raises(ValidationError):
            StrictRollout.model_validate(rollout)
    else:
        StrictRollout.model_validate(rollout)


@settings(max_examples=examples(150))
@given(rollouts())
def test_schemas_and_models_accept_generated_rollouts(rollout: dict[str, Any]) -> None:
    assert not validate_nemogym_rollout(rollout)
    StrictRollout.model_validate(rollout)


NAN_ENCRYPTED = Mutation(
    kind="encrypted",
    path=("response", "output", 0, "encrypted_content"),
    rollout=rollout(output=[reasoning("x", encrypted_content=float("nan"))]),
)


@settings(max_examples=examples(400))
@given(mutations())
@example(NAN_ENCRYPTED)
def test_schemas_and_models_agree_on_faults(mutation: Mutation) -> None:
    assert_schema_and_models_agree(mutation.rollout)


def lenient_converts(rollout: Any) -> bool:
    try:
        convert_nemogym_rollout_to_agent_run(rollout, strict=False)
    except ConversionError:
        return False
    return True


def assert_full_profile_agrees(rollout: Any) -> None:
    issues = validate_nemogym_rollout(rollout, strict=False)
    assert (not issues) == lenient_converts(rollout), issues


@settings(max_examples=examples(200))
@given(mutations())
@example(NAN_ENCRYPTED)
def test_full_schema_and_lenient_converter_agree_on_faults(mutation: Mutation) -> None:
    assert_full_profile_agrees(mutation.rollout)


@st.composite
def nulled(draw: st.DrawFn) -> dict[str, Any]:
    """A generated rollout with one of its values (any field, at any depth) set to null."""
    return one_value_nulled(draw, draw(rollouts()))


@settings(max_examples=examples(150))
@given(nulled())
def test_full_schema_and_lenient_converter_agree_on_every_null(rollout: dict[str, Any]) -> None:
    assert_full_profile_agrees(rollout)
