"""Lenient mode: a failed attempt (a row of ``*_failures.jsonl``) as a run marked failed.

The run is named by NeMo Gym's identity, attempt included. ``metadata.failure`` holds
the class, stage, message, whether it is terminal or final, and the number of attempts. A
failed attempt has no reward score: a ``judge_failed`` row is a whole rollout whose masked
reward stays in its verdict, and converts as a rollout; otherwise the partial response, when
there is one, is the run's transcript.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from docent.data_models.agent_run import AgentRun
from docent.data_models.transcript import Transcript
from pydantic import ValidationError

from nemogym_docent.identity import (
    FAILURE_KEYS,
    FailedAttempt,
    is_final,
    read_failed_attempt,
    read_identity,
    read_verdict,
    run_name,
)
from nemogym_docent.json_paths import JsonPath
from nemogym_docent.mapping.agent_run import build_agent_run, flat_output
from nemogym_docent.mapping.cleaning import drop_empty_values
from nemogym_docent.mapping.context import MappingContext
from nemogym_docent.mapping.full.nemogym_fields import MASKED_REWARD, take_nemogym_fields
from nemogym_docent.mapping.losses import LossKind
from nemogym_docent.mapping.transcript import TranscriptBuilder
from nemogym_docent.models import FailedAttemptRow, NemoGymRollout
from nemogym_docent.models.base import given

FAILURE_SCHEMA = "nemo_gym_failed_attempt"
PARTIAL_RESPONSE = "_ng_failure_partial_response"
_IDENTITY_KEYS = ("_ng_task_index", "_ng_rollout_index", "agent_ref")


def build_failed_attempt_run(
    row: Mapping[str, Any],
    model: FailedAttemptRow,
    context: MappingContext,
    *,
    attempts: int | None = None,
) -> AgentRun:
    """Map a validated failed attempt; ``attempts`` is how many its key had, when known."""
    attempt = read_failed_attempt(row)
    if attempt is None:  # the schema requires the class; kept for the type checker
        raise ValueError("not a failed attempt: no _ng_failure_class")
    identity = read_identity(row)
    label = identity.agent or context.origin.file_stem or "nemogym"
    rest = {key: value for key, value in row.items() if key not in FAILURE_KEYS}
    run = _rollout_run(rest, context) or _partial_run(row, rest, model, label, context)
    run.name = run_name(identity, label)
    _mark_failed(run, row, attempt, attempts)
    return run


def _rollout_run(rest: dict[str, Any], context: MappingContext) -> AgentRun | None:
    """The run of a failed attempt that holds a whole rollout (``judge_failed``), or None."""
    if "responses_create_params" not in rest or "response" not in rest:
        return None
    try:
        rollout = NemoGymRollout.model_validate(rest)
    except (ValidationError, RecursionError):
        context.record(
            "", LossKind.ROLLOUT_KEPT_RAW, "its rollout is not a NeMo Gym rollout; kept raw"
        )
        return None
    return build_agent_run(rollout, context)


def _partial_run(
    row: Mapping[str, Any],
    rest: dict[str, Any],
    model: FailedAttemptRow,
    label: str,
    context: MappingContext,
) -> AgentRun:
    builder = TranscriptBuilder(context)
    partial = given(model.ng_failure_partial_response)
    source: dict[str, Any] = {"schema": FAILURE_SCHEMA}
    if partial is not None:
        output = flat_output(partial.output, context)
        builder.add_items(output, origin="output", json_path=JsonPath(PARTIAL_RESPONSE, "output"))
        fields = partial.model_extra or {}
        source.update(
            response_id=fields.get("id"),
            response_model=fields.get("model"),
            response_created_at=fields.get("created_at"),
            output_item_count=len(output),
            response=dict(fields),
        )
    transcript_metadata: dict[str, Any] = {"source": drop_empty_values(source)}
    if builder.details:
        transcript_metadata["message_details"] = builder.details
    transcript = Transcript(name=label, messages=builder.messages, metadata=transcript_metadata)
    nemogym = {key.removeprefix("_ng_"): row.get(key) for key in _IDENTITY_KEYS}
    fields = {key: value for key, value in rest.items() if key not in _IDENTITY_KEYS}
    if context.full:
        nemogym.update(take_nemogym_fields(fields, read_identity(row)))
    metadata = drop_empty_values(
        {
            "nemogym": nemogym,
            "source": {
                "schema": FAILURE_SCHEMA,
                "rollout_non_trace": {
                    "benchmark_fields": {k: v for k, v in fields.items() if v is not None}
                },
            },
        }
    )
    metadata["conversion"] = context.conversion()
    return AgentRun(name=label, transcripts=[transcript], metadata=metadata)


def _mark_failed(
    run: AgentRun, row: Mapping[str, Any], attempt: FailedAttempt, attempts: int | None
) -> None:
    """The failure, and no reward score (a masked reward stays in the verdict)."""
    metadata = run.metadata
    nemogym = metadata.setdefault("nemogym", {})
    failure = attempt.as_metadata(attempts)
    if attempts is not None:
        failure["final"] = is_final(attempt, attempts)
    metadata["failure"] = failure
    scores = metadata.get("scores")
    reward = scores.pop("reward", None) if isinstance(scores, dict) else None
    if isinstance(scores, dict) and not scores:
        del metadata["scores"]
    verdict = read_verdict(row)
    if verdict is not None and "verdict" not in nemogym:
        nemogym["verdict"] = verdict.as_metadata()
        raw = metadata.get("source", {}).get("rollout_non_trace", {}).get("benchmark_fields", {})
        for key in ("mask_sample", "failure_kind", "failure_reason"):
            raw.pop(key, None)
    if verdict is not None and verdict.masked and reward is not None:
        nemogym["verdict"].setdefault(MASKED_REWARD, reward)
