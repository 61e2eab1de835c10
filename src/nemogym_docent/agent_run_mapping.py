"""Build the Docent AgentRun of one validated rollout: transcript, name and metadata."""

from __future__ import annotations

from typing import Any

from docent.data_models.agent_run import AgentRun
from docent.data_models.transcript import Transcript

from nemogym_docent.cleaning import drop_empty_values
from nemogym_docent.errors import ConversionError
from nemogym_docent.models import Item, Message, Rollout
from nemogym_docent.transcript_mapping import TranscriptBuilder

SOURCE_SCHEMA = "nemo_gym_rollout"


def build_agent_run(rollout: Rollout) -> AgentRun:
    """Map a rollout that the generated models accepted; wiring faults raise ``ConversionError``."""
    request = rollout.responses_create_params
    response = rollout.response
    input_items: list[Item] = (
        [Message(type="message", role="user", content=request.input)]
        if isinstance(request.input, str)
        else request.input
    )

    builder = TranscriptBuilder()
    builder.add_items(input_items, origin="input", json_path="responses_create_params.input")
    builder.add_items(response.output, origin="output", json_path="response.output")
    if not builder.messages:
        raise ConversionError(
            "no messages: responses_create_params.input and response.output are both empty"
        )

    response_fields = response.model_extra or {}
    agent_name = rollout.agent_ref.name
    transcript = Transcript(
        name=agent_name,
        messages=builder.messages,
        metadata=drop_empty_values(
            {
                "source": {
                    "schema": SOURCE_SCHEMA,
                    "response_id": response_fields.get("id"),
                    "response_model": response_fields.get("model"),
                    "response_created_at": response_fields.get("created_at"),
                    "response_status": response_fields.get("status"),
                    "input_item_count": len(input_items),
                    "output_item_count": len(response.output),
                },
                "message_details": builder.details,
            }
        ),
    )
    return AgentRun(
        name=f"{agent_name}/task/{rollout.ng_task_index}/rollout/{rollout.ng_rollout_index}",
        transcripts=[transcript],
        metadata=drop_empty_values(_run_metadata(rollout)),
    )


def _run_metadata(rollout: Rollout) -> dict[str, Any]:
    benchmark_fields = {
        key: value for key, value in (rollout.model_extra or {}).items() if value is not None
    }
    return {
        "scores": {"reward": rollout.reward},
        "nemogym": {
            "task_index": rollout.ng_task_index,
            "rollout_index": rollout.ng_rollout_index,
            "agent_ref": {"name": rollout.agent_ref.name, **(rollout.agent_ref.model_extra or {})},
        },
        "source": {
            "schema": SOURCE_SCHEMA,
            "rollout_non_trace": {
                "request": rollout.responses_create_params.model_extra,
                "response": rollout.response.model_extra,
                "benchmark_fields": benchmark_fields,
            },
        },
    }
