"""The JSON Schemas and the models generated from them accept exactly the same rollouts."""

from __future__ import annotations

from typing import Any

import pytest
from builders import reasoning, rollout
from hypothesis import example, given, settings
from pydantic import ValidationError
from strategies import Mutation, examples, mutations, rollouts

from nemogym_docent import validate_nemogym_rollout
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
