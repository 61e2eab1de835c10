"""Lenient mode: a NeMo Gym 0.7 environment result that is not a request-and-response rollout.

A ``nemo_user_sim`` result is one run: its main transcript is the policy's conversation
(``usersim_result.conversation_messages``: the simulated user as ``user``, the policy as
``assistant`` with its reasoning and tool calls). A result type nobody knows converts as far as
it is recognisable: its conversation if it has one, else its last ``assistant`` invocation; the
rest stays raw, and the unknown type is a declared loss. Full detail adds each other invocation
(user simulator, judge, summary, ...) as a transcript, grouped by role, the numbers as scores,
and ``verification`` and the simulation's outcome as metadata.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from docent.data_models.agent_run import AgentRun
from docent.data_models.chat import (
    AssistantMessage,
    ChatMessage,
    ContentReasoning,
    ContentText,
    SystemMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from docent.data_models.transcript import Transcript, TranscriptGroup

from nemogym_docent.identity import (
    NEMO_USER_SIM,
    read_identity,
    result_type,
    run_name,
)
from nemogym_docent.json_paths import JsonPath
from nemogym_docent.mapping.cleaning import drop_empty_values
from nemogym_docent.mapping.context import MappingContext
from nemogym_docent.mapping.full.conversation import exchange_transcript
from nemogym_docent.mapping.full.nemogym_fields import (
    finish_full_metadata,
    take_nemogym_fields,
)
from nemogym_docent.mapping.full.ordering import order_for_docent
from nemogym_docent.mapping.losses import LossKind
from nemogym_docent.mapping.transcript import parse_arguments
from nemogym_docent.models import ConversationMessage, EnvironmentResult
from nemogym_docent.models.base import given

ENVIRONMENT_SCHEMA = "nemo_gym_environment_result"
INVOCATION_SCHEMA = "nemo_gym_invocation"
USERSIM = "usersim_result"
CONVERSATION = "conversation_messages"
INVOCATIONS = "invocations"
POLICY_ROLE = "assistant"
_IDENTITY_KEYS = ("_ng_task_index", "_ng_rollout_index", "agent_ref")
VERIFICATION = "verification"
_OUTCOME = "simulation_outcome"


def build_environment_run(
    row: Mapping[str, Any], model: EnvironmentResult, context: MappingContext
) -> AgentRun:
    """Map a validated environment result (lenient mode) to an AgentRun."""
    identity = read_identity(row)
    kind = result_type(row)
    label = identity.agent or context.origin.file_stem or "nemogym"
    fields: dict[str, Any] = {
        key: value for key, value in row.items() if key not in (*_IDENTITY_KEYS, "reward")
    }
    if identity.agent is None:
        context.record(
            "_ng_environment_server",
            LossKind.MISSING_IDENTITY,
            f"no agent_ref.name and no environment server; the agent is named {label!r}",
        )
    if kind != NEMO_USER_SIM:
        context.record(
            "_ng_result_type",
            LossKind.UNKNOWN_RESULT_TYPE,
            f"result type {kind!r} is not known: what is recognisable converts, the rest stays raw",
        )
    main = _main_transcript(model, fields, label, context)
    if not main.messages:
        context.record(
            "", LossKind.NO_MESSAGES, "no messages: neither a conversation nor an invocation"
        )
    nemogym: dict[str, Any] = {
        "task_index": row.get("_ng_task_index"),
        "rollout_index": row.get("_ng_rollout_index"),
        "agent_ref": row.get("agent_ref"),
    }
    transcripts, groups = [main], list[TranscriptGroup]()
    scores: dict[str, Any] = {"reward": row.get("reward")}
    if context.full:
        invocations = _invocation_transcripts(fields, context)
        transcripts.extend(invocations[0])
        groups.extend(invocations[1])
        nemogym.update(take_nemogym_fields(fields, identity))
        if VERIFICATION in fields:
            nemogym[VERIFICATION] = fields.pop(VERIFICATION)
        usersim = fields.get(USERSIM)
        if isinstance(usersim, dict) and _OUTCOME in usersim:
            fields[USERSIM] = usersim = dict(usersim)  # the row itself stays as it was
            nemogym[_OUTCOME] = usersim.pop(_OUTCOME)
        scores = finish_full_metadata(row.get("reward"), fields, nemogym)
    else:
        nemogym.update(
            environment_server=fields.pop("_ng_environment_server", None),
            result_type=fields.pop("_ng_result_type", None),
        )
    metadata = drop_empty_values(
        {
            "scores": scores,
            "nemogym": nemogym,
            "source": {
                "schema": ENVIRONMENT_SCHEMA,
                "rollout_non_trace": {
                    "benchmark_fields": {k: v for k, v in fields.items() if v is not None}
                },
            },
        }
    )
    metadata["conversion"] = context.conversion()
    name = run_name(identity, label)
    run = AgentRun(name=name, transcripts=transcripts, transcript_groups=groups, metadata=metadata)
    order_for_docent(run)
    return run


def _main_transcript(
    model: EnvironmentResult, fields: dict[str, Any], label: str, context: MappingContext
) -> Transcript:
    """The policy's conversation; taken out of ``fields`` once it is the transcript."""
    usersim = given(model.usersim_result)
    conversation = None if usersim is None else given(usersim.conversation_messages)
    if conversation is not None:
        messages, details = _conversation_messages(conversation)
        raw = dict(fields[USERSIM])
        del raw[CONVERSATION]
        fields[USERSIM] = raw
        metadata: dict[str, Any] = {
            "source": {"schema": ENVIRONMENT_SCHEMA, "conversation_item_count": len(messages)}
        }
        if details:
            metadata["message_details"] = details
        return Transcript(name=label, messages=messages, metadata=metadata)
    policy = _last_policy_invocation(fields)
    if policy is not None:
        index, invocation = policy
        transcript = exchange_transcript(
            invocation.get("request"),
            invocation.get("response"),
            request_path=JsonPath(INVOCATIONS, index, "request"),
            response_path=JsonPath(INVOCATIONS, index, "response"),
            name=label,
            schema=INVOCATION_SCHEMA,
            metadata={"invocation": _invocation_metadata(invocation)},
            context=context,
        )
        if transcript is not None:
            return transcript
    return Transcript(name=label, messages=[], metadata={"source": {"schema": ENVIRONMENT_SCHEMA}})


def _conversation_messages(
    conversation: list[ConversationMessage],
) -> tuple[list[ChatMessage], list[dict[str, Any]]]:
    messages: list[ChatMessage] = []
    details: list[dict[str, Any]] = []
    for message in conversation:
        text = _text(given(message.content))
        role = message.role
        if role == "user":
            chat: ChatMessage = UserMessage(content=text)
        elif role == "assistant":
            chat = _assistant(message, text)
        elif role == "tool":
            tool_call_id = message.tool_call_id if isinstance(message.tool_call_id, str) else None
            name = message.name if isinstance(message.name, str) else None
            chat = ToolMessage(content=text, tool_call_id=tool_call_id, function=name)
        else:
            chat = SystemMessage(content=text)
        messages.append(chat)
        detail: dict[str, Any] = {
            "role": chat.role,
            "origin": f"{USERSIM}.{CONVERSATION}",
            "source_item_type": "conversation_message",
        }
        if role == "developer":
            detail["original_role"] = role
        details.append(detail)
    return messages, details


def _assistant(message: ConversationMessage, text: str) -> AssistantMessage:
    reasoning = message.reasoning_content
    content: str | list[ContentReasoning | ContentText] = text
    if isinstance(reasoning, str) and reasoning:
        content = [ContentReasoning(reasoning=reasoning)]
        if text:
            content.append(ContentText(text=text))
    calls = (
        [call for entry in message.tool_calls or [] if (call := _tool_call(entry)) is not None]
        if isinstance(message.tool_calls, list)
        else []
    )
    return AssistantMessage(content=content, tool_calls=calls or None)


def _tool_call(entry: Any) -> ToolCall | None:
    """A chat-style tool call (``{id, function: {name, arguments}}``) as Docent's."""
    if not isinstance(entry, Mapping):
        return None
    function = entry.get("function")
    function = function if isinstance(function, Mapping) else entry
    name, call_id = function.get("name"), entry.get("id")
    if not isinstance(name, str):
        return None
    raw = function.get("arguments", {})
    arguments, problem = parse_arguments(raw) if isinstance(raw, str | Mapping) else ({}, None)
    call = ToolCall(
        id=call_id if isinstance(call_id, str) else "",
        function=name,
        arguments=arguments,
        type="function",
    )
    if problem is not None:
        call.parse_error = problem
    return call


def _text(content: Any) -> str:
    if content is None:
        return ""
    return content if isinstance(content, str) else json.dumps(content, sort_keys=True)


def _last_policy_invocation(fields: Mapping[str, Any]) -> tuple[int, Mapping[str, Any]] | None:
    invocations = fields.get(INVOCATIONS)
    if not isinstance(invocations, list):
        return None
    for index in range(len(invocations) - 1, -1, -1):
        entry = invocations[index]
        if isinstance(entry, Mapping) and entry.get("role") == POLICY_ROLE:
            return index, entry
    return None


def _invocation_metadata(invocation: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in invocation.items() if key not in ("request", "response")}


def _invocation_transcripts(
    fields: dict[str, Any], context: MappingContext
) -> tuple[list[Transcript], list[TranscriptGroup]]:
    """Full detail: each invocation but the policy's as a transcript, one group per role.

    Converted invocations leave ``fields[INVOCATIONS]``; the policy's stay raw (its
    conversation is the main transcript).
    """
    invocations = fields.get(INVOCATIONS)
    if not isinstance(invocations, list):
        return [], []
    groups: dict[str, TranscriptGroup] = {}
    transcripts: list[Transcript] = []
    remaining: list[Any] = []
    for index, invocation in enumerate(invocations):
        role = invocation.get("role") if isinstance(invocation, Mapping) else None
        if not isinstance(invocation, Mapping) or role == POLICY_ROLE:
            remaining.append(invocation)
            continue
        role_name = role if isinstance(role, str) and role else "unknown"
        group = groups.get(role_name) or TranscriptGroup(
            name=f"{INVOCATIONS}/{role_name}",
            metadata={"source": INVOCATIONS, "role": role_name},
        )
        transcript = exchange_transcript(
            invocation.get("request"),
            invocation.get("response"),
            request_path=JsonPath(INVOCATIONS, index, "request"),
            response_path=JsonPath(INVOCATIONS, index, "response"),
            name=f"{INVOCATIONS}[{index}]",
            schema=INVOCATION_SCHEMA,
            metadata={"invocation": _invocation_metadata(invocation)},
            context=context,
        )
        if transcript is None:
            remaining.append(invocation)
            continue
        groups[role_name] = group
        transcript.transcript_group_id = group.id
        transcripts.append(transcript)
    if remaining:
        fields[INVOCATIONS] = remaining
    else:
        del fields[INVOCATIONS]
    return transcripts, list(groups.values())
