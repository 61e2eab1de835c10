"""Build the Docent AgentRun of one validated rollout: transcript, name and metadata."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from docent.data_models.agent_run import AgentRun
from docent.data_models.transcript import Transcript

from nemogym_docent.identity import index_text, read_identity, run_name
from nemogym_docent.json_paths import JsonPath
from nemogym_docent.mapping.cleaning import drop_empty_values, set_unless_empty
from nemogym_docent.mapping.context import MappingContext
from nemogym_docent.mapping.full.detail import add_full_detail
from nemogym_docent.mapping.full.ordering import order_for_docent
from nemogym_docent.mapping.losses import LossKind
from nemogym_docent.mapping.transcript import TranscriptBuilder, take_instructions
from nemogym_docent.models import AgentRef, Item, NemoGymRollout
from nemogym_docent.models.base import given

SOURCE_SCHEMA = "nemo_gym_rollout"
ENVIRONMENT_SERVER = "_ng_environment_server"
_INPUT = JsonPath("responses_create_params", "input")
_OUTPUT = JsonPath("response", "output")
_RESPONSE_SOURCE_KEYS = tuple(
    (key, f"response_{key}") for key in ("id", "model", "created_at", "status")
)
"""The response's keys that describe the transcript (its ``source``), and their names there."""


def build_agent_run(rollout: NemoGymRollout, context: MappingContext) -> AgentRun:
    """Map a validated rollout to an AgentRun.

    Strict: ``rollout`` is a ``Rollout`` and what JSON Schema cannot state raises
    ``ConversionError``. Lenient: approximations are recorded under
    ``metadata["conversion"]["losses"]``. Full detail: see ``full_detail``.

    The transcript is built as plain values, so that Docent's models validate it once, with the
    run (full detail validates it first, to add to it and compare the other transcripts with it).
    """
    request = rollout.responses_create_params
    output_items = flat_output(rollout.response.output, context)

    builder = TranscriptBuilder(context)
    request_fields = request.model_extra or {}
    response_fields = rollout.response.model_extra or {}
    instructions = None
    if context.full:  # the instructions are taken out of copies of the request and response
        request_fields, response_fields = dict(request_fields), dict(response_fields)
        instructions = take_instructions(request_fields, response_fields)
    if instructions is not None:
        builder.add_instructions(instructions)
    if isinstance(request.input, str):
        builder.add_user_text(request.input)
    else:
        builder.add_items(request.input, origin="input", json_path=_INPUT)
    builder.add_items(output_items, origin="output", json_path=_OUTPUT)
    item_messages = len(builder.messages) - (instructions is not None)
    if not item_messages:
        context.refuse_or_record(
            "",
            LossKind.NO_MESSAGES,
            "no messages: responses_create_params.input and response.output are both empty",
        )

    agent_name = _agent_name(rollout, context)
    source: dict[str, Any] = {"schema": SOURCE_SCHEMA}
    for key, shown in _RESPONSE_SOURCE_KEYS:
        set_unless_empty(source, shown, response_fields.get(key))
    input_count = 1 if isinstance(request.input, str) else len(request.input)
    source["input_item_count"] = input_count
    source["output_item_count"] = len(output_items)
    transcript_metadata: dict[str, Any] = {"source": source}
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
    run = AgentRun(name=name, transcripts=transcripts, transcript_groups=groups, metadata=metadata)
    order_for_docent(run)
    return run


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
        name = _identity_name(rollout, agent_name, task, repeat, context)
        if name is None:
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


def _identity_name(
    rollout: NemoGymRollout, agent_name: str, task: Any, repeat: Any, context: MappingContext
) -> str | None:
    """The name by NeMo Gym's identity, where it names the run; None where Docent's name does
    (no environment server, and not full detail)."""
    extra = rollout.model_extra or {}
    if not context.full and extra.get(ENVIRONMENT_SERVER) is None:
        return None
    agent_ref = given(rollout.agent_ref)
    identity = read_identity(
        {
            **extra,
            "agent_ref": {"name": None if agent_ref is None else given(agent_ref.name)},
            "_ng_task_index": task,
            "_ng_rollout_index": repeat,
        }
    )
    server = identity.environment_server
    if context.full or (server is not None and identity.agent == server):
        return run_name(identity, agent_name)
    return None


def _run_metadata(
    rollout: NemoGymRollout, request_fields: dict[str, Any], response_fields: dict[str, Any]
) -> dict[str, Any]:
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
                "benchmark_fields": rollout.model_extra or {},
            },
        },
    }


def _agent_ref_metadata(agent_ref: AgentRef | None) -> dict[str, Any] | None:
    if agent_ref is None:
        return None
    return {"name": given(agent_ref.name), **(agent_ref.model_extra or {})}
