"""Full detail: each judge exchange of a rollout as a transcript, grouped per source field.

The sources are the verifier's fields that hold a judge's own request and response:
``judge_evaluations`` (a list), ``judge_evaluation`` and ``quality_judge_evaluation`` (one
each), ``judge_response`` with ``judge_response_create_params``, and the same fields inside
``delegated_response`` (another verifier's whole response). A source is moved out of the raw
fields only when every exchange in it converts; its other keys (``verdict_label``, ``error``,
...) go to the transcript's ``judge`` metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from docent.data_models.transcript import Transcript, TranscriptGroup

from nemogym_docent.json_paths import JsonPath, render_json_path
from nemogym_docent.mapping.context import MappingContext
from nemogym_docent.mapping.full.conversation import exchange_transcript

JUDGE_SCHEMA = "nemo_gym_judge_exchange"
REQUEST = "responses_create_params"
RESPONSE = "response"
LIST_SOURCES = ("judge_evaluations",)
SINGLE_SOURCES = ("judge_evaluation", "quality_judge_evaluation")
JUDGE_RESPONSE = "judge_response"
JUDGE_REQUEST = "judge_response_create_params"
DELEGATED = "delegated_response"


@dataclass
class JudgeTranscripts:
    """The judges' transcripts and groups, and the raw fields left once they are moved out."""

    remaining_fields: dict[str, Any]
    transcripts: list[Transcript] = field(default_factory=list)
    groups: list[TranscriptGroup] = field(default_factory=list)


def judge_transcripts(
    fields: Mapping[str, Any],
    *,
    context: MappingContext,
    at: tuple[str, ...] = (),
    parent_group: TranscriptGroup | None = None,
) -> JudgeTranscripts:
    """Convert the judge exchanges among a rollout's top-level ``fields`` (found at ``at``)."""
    result = JudgeTranscripts(dict(fields))
    for key in (*LIST_SOURCES, *SINGLE_SOURCES, JUDGE_RESPONSE):
        value = fields.get(key)
        exchanges = _exchanges(key, value, fields.get(JUDGE_REQUEST))
        if not exchanges:
            continue
        group = TranscriptGroup(
            name=render_json_path((*at, key)),
            parent_transcript_group_id=None if parent_group is None else parent_group.id,
            metadata={"source": render_json_path((*at, key))},
        )
        converted = _convert(exchanges, at=at, group=group, context=context)
        if converted is None:
            continue
        result.transcripts.extend(converted)
        result.groups.append(group)
        del result.remaining_fields[key]
        if key == JUDGE_RESPONSE:
            result.remaining_fields.pop(JUDGE_REQUEST, None)
    delegated = fields.get(DELEGATED)
    if isinstance(delegated, Mapping):
        group = TranscriptGroup(
            name=render_json_path((*at, DELEGATED)),
            parent_transcript_group_id=None if parent_group is None else parent_group.id,
            metadata={"source": render_json_path((*at, DELEGATED))},
        )
        inner = judge_transcripts(
            delegated, context=context, at=(*at, DELEGATED), parent_group=group
        )
        if inner.transcripts:
            result.remaining_fields[DELEGATED] = inner.remaining_fields
            result.transcripts.extend(inner.transcripts)
            result.groups.extend([group, *inner.groups])
    return result


@dataclass(frozen=True)
class _Exchange:
    path: tuple[str | int, ...]
    request: Any
    request_path: tuple[str | int, ...]
    response: Any
    response_path: tuple[str | int, ...]
    judge: dict[str, Any]


def _exchanges(key: str, value: Any, judge_request: Any) -> list[_Exchange] | None:
    """The exchanges a source holds; ``None`` when it is empty or not shaped as exchanges."""
    if key == JUDGE_RESPONSE:
        if not isinstance(value, Mapping) or not isinstance(value.get("output"), list):
            return None
        has_request = isinstance(judge_request, Mapping)
        return [
            _Exchange(
                (key,),
                judge_request if has_request else {"input": []},
                (JUDGE_REQUEST,),
                value,
                (key,),
                {},
            )
        ]
    if key in SINGLE_SOURCES:
        entries: list[tuple[tuple[str | int, ...], Any]] = [((key,), value)]
    elif isinstance(value, list):
        entries = [((key, index), entry) for index, entry in enumerate(value) if entry is not None]
    else:
        return None
    exchanges = []
    for path, entry in entries:
        if not isinstance(entry, Mapping) or REQUEST not in entry:
            return None
        judge = {name: item for name, item in entry.items() if name not in (REQUEST, RESPONSE)}
        exchanges.append(
            _Exchange(
                path,
                entry[REQUEST],
                (*path, REQUEST),
                entry.get(RESPONSE),
                (*path, RESPONSE),
                judge,
            )
        )
    return exchanges or None


def _convert(
    exchanges: list[_Exchange],
    *,
    at: tuple[str, ...],
    group: TranscriptGroup,
    context: MappingContext,
) -> list[Transcript] | None:
    staged = MappingContext(context.options, context.origin)
    transcripts = []
    for exchange in exchanges:
        path = (*at, *exchange.path)
        transcript = exchange_transcript(
            exchange.request,
            exchange.response,
            request_path=JsonPath(*at, *exchange.request_path),
            response_path=JsonPath(*at, *exchange.response_path),
            name=render_json_path(path),
            schema=JUDGE_SCHEMA,
            metadata={"judge": exchange.judge},
            context=staged,
        )
        if transcript is None:
            return None
        transcript.transcript_group_id = group.id
        transcripts.append(transcript)
    context.losses.extend(staged.losses)
    return transcripts
