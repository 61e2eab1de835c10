"""Build the Docent AgentRun of one validated rollout: transcript, name and metadata."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from docent.data_models.agent_run import AgentRun
from docent.data_models.transcript import Transcript

from nemogym_docent.identity import index_text, read_identity, run_name
from nemogym_docent.json_paths import JsonPath
from nemogym_docent.mapping.cleaning import drop_empty_values
from nemogym_docent.mapping.context import MappingContext
from nemogym_docent.mapping.full.detail import add_full_detail
from nemogym_docent.mapping.losses import LossKind
from nemogym_docent.mapping.transcript import TranscriptBuilder, take_instructions
from nemogym_docent.models import AgentRef, Item, Message, NemoGymRollout
from nemogym_docent.models.base import given

SOURCE_SCHEMA = "nemo_gym_rollout"
ENVIRONMENT_SERVER = "_ng_environment_server"


def build_agent_run(rollout: NemoGymRollout, context: MappingContext) -> AgentRun:
    """Map a validated rollout to an AgentRun.

    Strict: ``rollout`` is a ``Rollout`` and what JSON Schema cannot state raises
    ``ConversionError``. Lenient: approximations are recorded under
    ``metadata["conversion"]["losses"]``. Full detail: see ``full_detail``.

    The transcript is built as plain values, so that Docent's models validate it once, with the
    run (full detail validates it first, to add to it and compare the other transcripts with it).
    """
    request = rollout.responses_create_params
    input_items: Sequence[Item] = (
        [Message(type="message", role="user", content=request.input)]
        if isinstance(request.input, str)
        else request.input
    )
    output_items = flat_output(rollout.response.output, context)

    builder = TranscriptBuilder(context)
    request_fields = dict(request.model_extra or {})
    response_fields = dict(rollout.response.model_extra or {})
    instructions = take_instructions(request_fields, response_fields) if context.full else None
    if instructions is not None:
        builder.add_instructions(instructions)
    builder.add_items(
        input_items, origin="input", json_path=JsonPath("responses_create_params", "input")
    )
    builder.add_items(output_items, origin="output", json_path=JsonPath("response", "output"))
    item_messages = len(builder.messages) - (instructions is not None)
    if not item_messages:
        context.refuse_or_record(
            "",
            LossKind.NO_MESSAGES,
            "no messages: responses_create_params.input and response.output are both empty",
        )

    agent_name = _agent_name(rollout, context)
    transcript_metadata: dict[str, Any] = {
        "source": drop_empty_values(
            {
                "schema": SOURCE_SCHEMA,
                "response_id": response_fields.get("id"),
                "response_model": response_fields.get("model"),
                "response_created_at": response_fields.get("created_at"),
                "response_status": response_fields.get("status"),
                "input_item_count": len(input_items),
                "output_item_count": len(output_items),
            }
        )
    }
    if builder.details:
        transcript_metadata["message_details"] = builder.details
    transcript = {"name": agent_name, "messages": builder.messages, "metadata": transcript_metadata}
    metadata = drop_empty_values(_run_metadata(rollout, request_fields, response_fields))
    name = _run_name(rollout, agent_name, context)
    if not context.full:
        if not context.strict:
            _add_conversion(metadata, context)
        return AgentRun.model_validate(
            {"name": name, "transcripts": [transcript], "metadata": metadata}
        )
    main = Transcript.model_validate(transcript)
    transcripts, groups = add_full_detail(rollout, main, metadata, context)
    _add_conversion(metadata, context)
    return AgentRun(name=name, transcripts=transcripts, transcript_groups=groups, metadata=metadata)


def _add_conversion(metadata: dict[str, Any], context: MappingContext) -> None:
    metadata["conversion"] = context.conversion()


def flat_output(
    output: Sequence[Item] | Sequence[Sequence[Item]], context: MappingContext
) -> Sequence[Item]:
    """The output items; of cumulative snapshots (a list of lists, lenient only), the last one."""
    if not output or not isinstance(output[0], list):
        return output  # type: ignore[return-value]
    context.record(
        "response.output",
        LossKind.SNAPSHOTS_DROPPED,
        f"kept the last of {len(output)} cumulative snapshots of the output",
    )
    return output[-1]  # type: ignore[return-value]


def _agent_name(rollout: NemoGymRollout, context: MappingContext) -> str:
    """NeMo Gym's agent label: ``agent_ref.name``, else the environment server (a 0.7 row
    without ``agent_ref``); else, as a loss, the file's stem."""
    agent_ref = given(rollout.agent_ref)
    name = None if agent_ref is None else given(agent_ref.name)
    if name is not None:
        return name
    server = (rollout.model_extra or {}).get(ENVIRONMENT_SERVER)
    if isinstance(server, str) and server:
        return server
    name = context.origin.file_stem or "nemogym"
    where = "agent_ref" if agent_ref is None else "agent_ref.name"
    context.record(where, LossKind.MISSING_IDENTITY, f"absent; the agent is named {name!r}")
    return name


def _run_name(rollout: NemoGymRollout, agent_name: str, context: MappingContext) -> str:
    """Docent's name (``{agent}/task/{i}/rollout/{j}``); by NeMo Gym's identity in full detail,
    and for a row named after its environment server (``identity.run_name``)."""
    task, repeat = given(rollout.ng_task_index), given(rollout.ng_rollout_index)
    if task is not None and repeat is not None:
        agent_ref = given(rollout.agent_ref)
        identity = read_identity(
            {
                **(rollout.model_extra or {}),
                "agent_ref": {"name": None if agent_ref is None else given(agent_ref.name)},
                "_ng_task_index": task,
                "_ng_rollout_index": repeat,
            }
        )
        server = identity.environment_server
        if context.full or (server is not None and identity.agent == server):
            name = run_name(identity, agent_name)
        else:
            name = f"{agent_name}/task/{index_text(task)}/rollout/{index_text(repeat)}"
        for key, index in (("_ng_task_index", task), ("_ng_rollout_index", repeat)):
            if type(index) is not int:  # lenient only: the strict profile wants integers
                shown = index_text(index)
                context.refuse_or_record(
                    key,
                    LossKind.NON_INTEGER_INDEX,
                    f"not an integer; kept as given, shown as {shown!r} in the run's name",
                )
        return name
    line = context.origin.line
    if line is not None:
        name = f"{agent_name}/line/{line}"
    else:
        name = f"{agent_name}/task/{index_text(task)}/rollout/{index_text(repeat)}"
    for key, value in (("_ng_task_index", task), ("_ng_rollout_index", repeat)):
        if value is None:
            context.record(key, LossKind.MISSING_IDENTITY, f"absent; the run is named {name!r}")
    return name


def _run_metadata(
    rollout: NemoGymRollout, request_fields: dict[str, Any], response_fields: dict[str, Any]
) -> dict[str, Any]:
    benchmark_fields = {
        key: value for key, value in (rollout.model_extra or {}).items() if value is not None
    }
    return {
        "scores": {"reward": given(rollout.reward)},
        "nemogym": {
            "task_index": given(rollout.ng_task_index),
            "rollout_index": given(rollout.ng_rollout_index),
            "agent_ref": _agent_ref_metadata(given(rollout.agent_ref)),
        },
        "source": {
            "schema": SOURCE_SCHEMA,
            "rollout_non_trace": {
                "request": request_fields,
                "response": response_fields,
                "benchmark_fields": benchmark_fields,
            },
        },
    }


def _agent_ref_metadata(agent_ref: AgentRef | None) -> dict[str, Any] | None:
    if agent_ref is None:
        return None
    return {"name": given(agent_ref.name), **(agent_ref.model_extra or {})}
