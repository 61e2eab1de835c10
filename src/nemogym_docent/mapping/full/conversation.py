"""Full detail: a conversation besides the rollout's own (a judge's, a subagent's) as a transcript.

Such a conversation goes through the same item mapping as the rollout, always leniently: it is
not what Docent's converter reads, so a fault in it never refuses the rollout. A conversation
that does not validate against NeMo Gym's format, or yields no message, gives no transcript
and stays in the raw metadata; its approximations are recorded only when it converts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from docent.data_models.transcript import Transcript
from pydantic import ValidationError

from nemogym_docent.errors import ConversionError
from nemogym_docent.json_paths import JsonPath
from nemogym_docent.mapping.cleaning import drop_empty_values
from nemogym_docent.mapping.context import MappingContext
from nemogym_docent.mapping.full.ordering import stored_time
from nemogym_docent.mapping.transcript import TranscriptBuilder, take_instructions
from nemogym_docent.models import Item, Message, Response, ResponsesCreateParams


def exchange_transcript(
    request: Any,
    response: Any,
    *,
    request_path: JsonPath,
    response_path: JsonPath,
    name: str,
    schema: str,
    metadata: dict[str, Any],
    context: MappingContext,
) -> Transcript | None:
    """A Responses API request and its response (which may be null) as one transcript.

    The transcript's ``source`` describes the pair as the rollout's transcript describes the
    rollout, and also holds the request's and the response's other keys.
    """
    try:
        request_model = ResponsesCreateParams.model_validate(request)
        response_model = None if response is None else Response.model_validate(response)
    except (ValidationError, RecursionError):
        return None
    input_items: Sequence[Item] = (
        [Message(type="message", role="user", content=request_model.input)]
        if isinstance(request_model.input, str)
        else request_model.input
    )
    output: Sequence[Any] = [] if response_model is None else response_model.output
    if output and isinstance(output[0], list):  # cumulative snapshots: not a judge's shape
        return None
    response_fields = {} if response_model is None else dict(response_model.model_extra or {})
    request_fields = dict(request_model.model_extra or {})
    instructions = take_instructions(request_fields, response_fields)
    source = {
        "schema": schema,
        "response_id": response_fields.get("id"),
        "response_model": response_fields.get("model"),
        "response_created_at": response_fields.get("created_at"),
        "response_status": response_fields.get("status"),
        "input_item_count": len(input_items),
        "output_item_count": len(output),
        "request": request_fields,
        "response": response_fields,
    }
    return _transcript(
        [
            (input_items, "input", request_path / "input"),
            (output, "output", response_path / "output"),
        ],
        name=name,
        metadata={"source": source, **metadata},
        context=context,
        instructions=instructions,
    )


def conversation_transcript(
    conversation: Any,
    *,
    json_path: JsonPath,
    name: str,
    metadata: dict[str, Any],
    context: MappingContext,
) -> Transcript | None:
    """A model-visible history (a list of input items) as one transcript."""
    if not isinstance(conversation, list):
        return None
    try:
        items = ResponsesCreateParams.model_validate({"input": conversation}).input
    except (ValidationError, RecursionError):
        return None
    return _transcript([(items, "input", json_path)], name=name, metadata=metadata, context=context)


def _transcript(
    item_lists: list[tuple[Sequence[Item] | str, str, JsonPath]],
    *,
    name: str,
    metadata: dict[str, Any],
    context: MappingContext,
    instructions: str | None = None,
) -> Transcript | None:
    own = MappingContext(dataclasses.replace(context.options, strict=False), context.origin)
    builder = TranscriptBuilder(own)
    if instructions is not None:
        builder.add_instructions(instructions)
    try:
        for items, origin, json_path in item_lists:
            builder.add_items(items, origin=origin, json_path=json_path)  # type: ignore[arg-type]
        if not builder.messages:
            return None
        cleaned = drop_empty_values(metadata)
        if builder.details:
            cleaned["message_details"] = builder.details
        transcript = Transcript.model_validate(
            {"name": name, "messages": builder.messages, "metadata": cleaned}
        )
    except (ConversionError, ValidationError, RecursionError):
        return None
    context.losses.extend(own.losses)
    transcript.created_at = created_at(transcript)
    return transcript


def created_at(transcript: Transcript) -> datetime | None:
    """When the transcript's response was made (its ``response_created_at``), as Docent stores
    times, if known (``ordering`` then orders the run by these times)."""
    return stored_time(transcript.metadata.get("source", {}).get("response_created_at"))
