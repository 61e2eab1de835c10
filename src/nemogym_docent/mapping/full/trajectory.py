"""Full detail: the agent invocations of ``ng_trajectory`` (subagents) as transcripts and groups.

Each invocation's ``conversation`` converts to a transcript named after its ``invocation_id``,
with the invocation's other keys (parent, spawning tool call id, status, model calls) in its
``invocation`` metadata. The invocation whose conversation gives exactly the rollout's own
messages is the main transcript: it only gains that metadata, so no conversation appears twice.

Groups mirror the invocation tree under one group ``ng_trajectory``: an invocation with
subagents gets a group holding its transcript and theirs; one without sits in its parent's
group. Converted invocations leave ``ng_trajectory.invocations``; the rest of
``ng_trajectory`` (turns, model calls, tool calls, gaps) stays in the raw metadata.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from docent.data_models.chat import ChatMessage
from docent.data_models.transcript import Transcript, TranscriptGroup

from nemogym_docent.json_paths import JsonPath
from nemogym_docent.mapping.context import MappingContext
from nemogym_docent.mapping.full.conversation import conversation_transcript

TRAJECTORY = "ng_trajectory"
INVOCATION_SCHEMA = "ng_trajectory_invocation"


@dataclass
class TrajectoryTranscripts:
    """Subagent transcripts and groups, the main invocation's metadata, and what stays raw."""

    remaining_trajectory: Any
    transcripts: list[Transcript] = field(default_factory=list)
    groups: list[TranscriptGroup] = field(default_factory=list)
    main_invocation: dict[str, Any] | None = None


@dataclass
class _Converted:
    index: int
    invocation_id: str | None
    parent_id: str | None
    transcript: Transcript
    metadata: dict[str, Any]


def trajectory_transcripts(
    trajectory: Any, main_messages: Sequence[ChatMessage], *, context: MappingContext
) -> TrajectoryTranscripts:
    """Convert the invocations of a rollout's ``ng_trajectory`` field."""
    result = TrajectoryTranscripts(trajectory)
    if not isinstance(trajectory, Mapping) or not isinstance(
        invocations := trajectory.get("invocations"), list
    ):
        return result
    staged = MappingContext(context.options, context.origin)
    converted: list[_Converted] = []
    main_index: int | None = None
    main_key = _messages_key(main_messages)
    for index, invocation in enumerate(invocations):
        if not isinstance(invocation, Mapping):
            continue
        facts = {key: value for key, value in invocation.items() if key != "conversation"}
        invocation_id = _text_or_none(invocation.get("invocation_id"))
        transcript = conversation_transcript(
            invocation.get("conversation"),
            json_path=JsonPath(TRAJECTORY, "invocations", index, "conversation"),
            name=invocation_id or f"{TRAJECTORY}.invocations[{index}]",
            metadata={"source": {"schema": INVOCATION_SCHEMA}, "invocation": facts},
            context=staged,
        )
        if transcript is None:
            continue
        if main_index is None and _messages_key(transcript.messages) == main_key:
            main_index = index
            result.main_invocation = facts
            continue
        parent_id = _text_or_none(invocation.get("parent_invocation_id"))
        converted.append(_Converted(index, invocation_id, parent_id, transcript, facts))
    if main_index is None and not converted:
        return result
    context.losses.extend(staged.losses)
    moved = {item.index for item in converted} | ({main_index} if main_index is not None else set())
    result.remaining_trajectory = {
        **trajectory,
        "invocations": [item for index, item in enumerate(invocations) if index not in moved],
    }
    if converted:
        result.groups = _place(converted)
        result.transcripts = [item.transcript for item in converted]
    return result


def _place(converted: list[_Converted]) -> list[TranscriptGroup]:
    """Put each transcript in its group, making the groups of the invocation tree."""
    top = TranscriptGroup(name=TRAJECTORY, metadata={"source": TRAJECTORY})
    by_id = {item.invocation_id: item for item in converted if item.invocation_id is not None}
    parents = {item.parent_id for item in converted if item.parent_id in by_id}
    own_groups = {
        invocation_id: TranscriptGroup(
            name=invocation_id, metadata={"invocation_id": invocation_id}
        )
        for invocation_id in by_id
        if invocation_id in parents
    }

    def container(parent_id: str | None) -> TranscriptGroup:
        return own_groups.get(parent_id, top) if parent_id is not None else top

    for invocation_id, group in own_groups.items():
        parent = container(by_id[invocation_id].parent_id)
        if not _reaches(parent, group, own_groups, by_id):
            group.parent_transcript_group_id = parent.id
        else:  # a cycle in the parent links: hang it from the top instead
            group.parent_transcript_group_id = top.id
    for item in converted:
        own = own_groups.get(item.invocation_id) if item.invocation_id is not None else None
        item.transcript.transcript_group_id = (own or container(item.parent_id)).id
    return [top, *own_groups.values()]


def _reaches(
    start: TranscriptGroup,
    target: TranscriptGroup,
    own_groups: dict[str, TranscriptGroup],
    by_id: dict[str, _Converted],
) -> bool:
    """Whether following parents from ``start`` (as they will be set) comes to ``target``."""
    seen: set[str] = set()
    current: str | None = start.metadata.get("invocation_id")
    while current is not None and current not in seen:
        if own_groups[current] is target:
            return True
        seen.add(current)
        parent_id = by_id[current].parent_id
        current = parent_id if parent_id in own_groups else None
    return False


def _messages_key(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    return [message.model_dump(exclude={"id"}) for message in messages]


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
