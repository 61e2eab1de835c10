"""Turn validated rollout items into Docent chat messages and their per-message details.

An assistant message, a reasoning item and a call gather into the current assistant turn; a
non-assistant message, a call's output or the end of a list emits the turn. In strict mode the
mapping checks what JSON Schema cannot state and raises ``ConversionError``; in lenient mode it
approximates instead and records each loss. Full detail also shows the instructions, reasoning
text and a tool output's parts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, ValidationError

from nemogym_docent.json_paths import JsonPath, json_type_name
from nemogym_docent.jsonl.parsing import loads
from nemogym_docent.mapping.cleaning import drop_empty_values, set_unless_empty
from nemogym_docent.mapping.context import MappingContext
from nemogym_docent.mapping.losses import LossKind
from nemogym_docent.mapping.media import placeholder
from nemogym_docent.mapping.other_calls import view_call
from nemogym_docent.models import (
    AdditionalTools,
    Compaction,
    CompactionTrigger,
    FunctionCall,
    FunctionCallOutput,
    InputFile,
    InputImage,
    InputText,
    InputVideo,
    Item,
    Message,
    MessageContentPart,
    OtherCall,
    OutputText,
    Reasoning,
    Refusal,
    StrictReasoning,
    TokenOnlyMessage,
    TrainingFields,
)
from nemogym_docent.models.base import given

Origin = Literal["input", "output"]
PHASES = ("commentary", "final_answer")
"""The ``phase`` values full detail keeps: each such assistant message stays a message."""
_NOT_ITEM_FIELDS = {"type", *TrainingFields.model_fields}
"""What a lenient-only item's ``item_fields`` leave out: its type, and the training fields (a
declared loss, as on every item)."""
Detail = dict[str, Any]
PlainValue = dict[str, Any]
"""A Docent message, content part or tool call as the plain values its model validates."""


class TranscriptBuilder:
    """Collects messages over the input list, then the output list, sharing one call-id table.

    ``messages`` are plain values, validated once with the transcript; ``details`` come without
    empty values, as Docent's converter lays out metadata.
    """

    def __init__(self, context: MappingContext) -> None:
        self.messages: list[PlainValue] = []
        self.details: list[Detail] = []
        self._context = context
        self._tool_names: dict[str, str] = {}
        self._unanswered_empty_ids: list[str] = []
        self._turn: _AssistantTurn | None = None

    def add_items(self, items: Sequence[Item], *, origin: Origin, json_path: JsonPath) -> None:
        """Convert one list of items; ``json_path`` locates the list for errors and losses."""
        lenient = not self._context.strict
        for index, item in enumerate(items):
            if lenient and isinstance(item, TrainingFields):
                self._note_training_fields(item, json_path / index)
            _add_item_of(type(item))(self, item, origin, json_path, index)
        self._emit_turn(origin)

    def add_user_text(self, text: str) -> None:
        """A request's ``input`` given as a string: one user message."""
        detail: Detail = {"origin": "input", "source_item_type": "message"}
        self._emit({"role": "user", "content": text}, "input", [detail])

    def add_instructions(self, instructions: str) -> None:
        """Full detail: the request's ``instructions`` as the first system message."""
        detail: Detail = {"origin": "input", "source_item_type": "instructions"}
        self._emit({"role": "system", "content": instructions}, "input", [detail])

    def _current_turn(self) -> _AssistantTurn:
        if self._turn is None:
            self._turn = _AssistantTurn()
        return self._turn

    def _emit(self, message: PlainValue, origin: Origin, source_items: list[Detail]) -> None:
        self.messages.append(message)
        self.details.append(
            {
                "role": message["role"],
                "origin": origin,
                "source_item_count": len(source_items),
                "source_item_types": [detail["source_item_type"] for detail in source_items],
                "source_items": source_items,
            }
        )

    def _emit_turn(self, origin: Origin) -> None:
        if self._turn is not None:
            self._emit(self._turn.to_message(), origin, self._turn.source_items)
            if self._turn.phase is not None:
                self.details[-1]["phase"] = self._turn.phase
            self._turn = None

    def _add_message(self, item: Message, origin: Origin, json_path: JsonPath, index: int) -> None:
        role = item.role
        content = item.content
        detail = _item_detail(item, "message", origin)
        if isinstance(content, str):
            text = content
        else:
            text = self._parts_of_message(content, detail, json_path, index)
        if role == "assistant":
            phase = given(item.phase) if self._context.full else None
            if phase in PHASES:
                # Full detail: a commentary or final-answer message begins a message of its own.
                if self._turn is not None and (self._turn.texts or self._turn.tool_calls):
                    self._emit_turn(origin)
                self._current_turn().phase = phase
                detail["phase"] = phase
            turn = self._current_turn()
            turn.texts.append(text)
            turn.source_items.append(detail)
            return
        self._emit_turn(origin)
        if role == "developer":
            detail["original_role"] = "developer"
        self._emit(
            {"role": "user" if role == "user" else "system", "content": text}, origin, [detail]
        )

    def _add_token_only_item(
        self, item: TokenOnlyMessage, origin: Origin, json_path: JsonPath, index: int
    ) -> None:
        """A model call that produced only tokens (lenient mode): left out, as a loss."""
        tokens = item.generation_token_ids
        count = len(tokens) if isinstance(tokens, list) else 0
        self._context.refuse_or_record(
            json_path / index,
            LossKind.TOKEN_ONLY_ITEM,
            f"a model call that produced only tokens ({count} generated, no content) left out",
        )

    def _parts_of_message(
        self,
        content: Sequence[MessageContentPart],
        detail: Detail,
        json_path: JsonPath,
        index: int,
    ) -> str:
        """A message's parts joined into its text; what they hold goes into ``detail``."""
        texts: list[str] = []
        refusal = annotations = logprobs = False
        for part_index, part in enumerate(content):
            if isinstance(part, _TEXT_PARTS):
                texts.append(part.text)
                if not annotations:
                    annotations = bool(given(part.annotations))
                if not logprobs:
                    logprobs = bool(given(part.logprobs))
            elif isinstance(part, Refusal):
                refusal = True
                texts.append(part.refusal)
            else:
                shown = _media_placeholder(part)
                texts.append(shown)
                self._context.record(
                    json_path / index / "content" / part_index,
                    LossKind.MEDIA_PLACEHOLDER,
                    f"{part.type} replaced by the text {shown}",
                )
        if content:
            detail["content_part_types"] = [part.type for part in content]
        detail["contains_refusal_part"] = refusal
        detail["contains_annotations"] = annotations
        detail["contains_logprobs"] = logprobs
        return "".join(texts)

    def _add_reasoning(
        self, item: Reasoning, origin: Origin, json_path: JsonPath, index: int
    ) -> None:
        turn = self._current_turn()
        summary = "\n".join(part.text for part in item.summary if part.text)
        # The strict profile admits only empty values here (wrapped in models, so not falsy).
        blob = None if isinstance(item, StrictReasoning) else given(item.encrypted_content)
        if blob:
            self._context.record(
                json_path / index / "encrypted_content",
                LossKind.ENCRYPTED_REASONING,
                "encrypted reasoning kept as the signature of a redacted reasoning part",
            )
            signature = blob if isinstance(blob, str) else json.dumps(blob, sort_keys=True)
            text = (
                _reasoning_content_text(given(item.content)) or summary or "[encrypted reasoning]"
            )
            turn.reasonings.append(
                {
                    "type": "reasoning",
                    "reasoning": text,
                    "summary": summary or None,
                    "signature": signature,
                    "redacted": True,
                }
            )
        elif self._context.full and (text := _reasoning_content_text(given(item.content))):
            turn.reasonings.append(
                {"type": "reasoning", "reasoning": text, "summary": summary or None}
            )
        else:
            turn.reasonings.append(summary)
        detail = _item_detail(item, "reasoning", origin)
        set_unless_empty(detail, "summary_item_types", [part.type for part in item.summary])
        content_parts = given(item.content)
        if self._context.full and isinstance(content_parts, list):
            content_types = [part.get("type") for part in content_parts if isinstance(part, dict)]
            set_unless_empty(detail, "content_part_types", content_types)
        turn.source_items.append(detail)

    def _add_function_call(
        self, item: FunctionCall, origin: Origin, json_path: JsonPath, index: int
    ) -> None:
        arguments, problem = parse_arguments(item.arguments)
        call_id = item.call_id
        if not call_id:  # lenient only: the strict profile refuses an empty call_id
            call_id = str(json_path / index)
            self._context.refuse_or_record(
                json_path / index / "call_id",
                LossKind.EMPTY_CALL_ID,
                f"empty; the call is named {call_id!r}",
            )
            self._unanswered_empty_ids.append(call_id)
        tool_call = {
            "id": call_id,
            "function": item.name,
            "arguments": arguments,
            "type": "function",
        }
        if problem is not None:
            self._context.refuse_or_record(
                json_path / index / "arguments", LossKind.UNPARSED_ARGUMENTS, problem
            )
            tool_call["parse_error"] = problem
        self._tool_names[call_id] = item.name
        turn = self._current_turn()
        turn.tool_calls.append(tool_call)
        detail = _item_detail(item, "function_call", origin)
        detail["call_id"] = call_id
        detail["tool_name"] = item.name
        if self._context.full or not self._context.strict:
            set_unless_empty(detail, "namespace", given(item.namespace))
        set_unless_empty(detail, "raw_arguments", item.arguments)
        turn.source_items.append(detail)

    def _add_function_call_output(
        self, item: FunctionCallOutput, origin: Origin, json_path: JsonPath, index: int
    ) -> None:
        output = item.output
        detail = _item_detail(item, "function_call_output", origin)
        parts = _output_parts(output) if self._context.full else None
        if parts is not None:
            content = self._parts_text(parts, json_path / index / "output")
            detail["content_part_types"] = [part.type for part in parts]
        else:
            content = output if isinstance(output, str) else json.dumps(output, sort_keys=True)
        call_id = item.call_id
        if not call_id and self._unanswered_empty_ids:  # lenient only, as for calls
            call_id = self._unanswered_empty_ids.pop(0)
            self._context.refuse_or_record(
                json_path / index / "call_id",
                LossKind.EMPTY_CALL_ID,
                f"empty; taken as the answer to the first unanswered call without one, {call_id!r}",
            )
        set_unless_empty(detail, "call_id", call_id)
        self._add_tool_result(call_id, content, detail, origin, json_path, index)

    def _parts_text(self, parts: list[OutputPart], json_path: JsonPath) -> str:
        """Full detail: a tool output's parts as lines of text, media as placeholders."""
        lines = []
        for index, part in enumerate(parts):
            if isinstance(part, InputText):
                lines.append(part.text)
                continue
            shown = _media_placeholder(part)
            lines.append(shown)
            self._context.record(
                json_path / index,
                LossKind.MEDIA_PLACEHOLDER,
                f"{part.type} replaced by the text {shown}",
            )
        return "\n".join(lines)

    def _add_tool_result(
        self,
        call_id: str,
        content: str,
        detail: Detail,
        origin: Origin,
        json_path: JsonPath,
        index: int,
    ) -> None:
        self._emit_turn(origin)
        name = self._tool_names.get(call_id)
        if name is None:
            self._context.refuse_or_record(
                json_path / index / "call_id",
                LossKind.ORPHANED_TOOL_OUTPUT,
                f"no call with call_id {call_id!r} comes before this output",
            )
            detail["orphaned"] = True
        message = {"role": "tool", "content": content, "function": name, "tool_call_id": call_id}
        self._emit(message, origin, [detail])

    def _add_other_call(
        self, item: OtherCall, origin: Origin, json_path: JsonPath, index: int
    ) -> None:
        item_path = json_path / index
        view = view_call(item, fallback_id=str(item_path))
        detail = _item_detail(item, str(item.type), origin)
        set_unless_empty(
            detail,
            "item_fields",
            drop_empty_values(item.model_dump(by_alias=True, exclude=_NOT_ITEM_FIELDS)),
        )
        how = f"the tool call {view.function!r}" if view.call_id else "a tool message"
        self._context.record(item_path, LossKind.CALL_RESHAPED, f"{item.type} shown as {how}")
        if view.call_id is not None:
            self._tool_names[view.call_id] = view.function
            self._current_turn().tool_calls.append(
                {"id": view.call_id, "function": view.function, "arguments": view.arguments}
            )
            detail["call_id"] = view.call_id
            self._current_turn().source_items.append(detail)
            if view.result is not None:
                result_detail = {**detail}
                self._add_tool_result(
                    view.call_id, view.result, result_detail, origin, json_path, index
                )
        else:
            set_unless_empty(detail, "call_id", view.answers)
            answers = view.answers or ""
            self._add_tool_result(answers, view.result or "", detail, origin, json_path, index)

    def _add_context_item(
        self,
        item: Compaction | AdditionalTools | CompactionTrigger,
        origin: Origin,
        json_path: JsonPath,
        index: int,
    ) -> None:
        """Lenient mode: a context item as a placeholder system message, its keys in the
        message's ``item_fields``: a compaction (its text is encrypted), a list of additional
        tools (named), a compaction trigger."""
        if isinstance(item, Compaction):
            text = "[compaction: the conversation so far, encrypted]"
            self._context.record(
                json_path / index,
                LossKind.COMPACTION,
                "an encrypted compaction shown as a placeholder",
            )
        else:
            if isinstance(item, AdditionalTools):
                names = [
                    str(tool.get("name") or tool.get("type") or "?")
                    for tool in item.tools
                    if isinstance(tool, Mapping)
                ]
                text = f"[additional tools: {', '.join(names)}]"
            else:
                text = "[compaction trigger]"
            self._context.record(
                json_path / index,
                LossKind.CONTEXT_ITEM,
                f"{item.type} shown as a placeholder message",
            )
        self._emit_turn(origin)
        detail = _item_detail(item, str(item.type), origin)
        set_unless_empty(
            detail,
            "item_fields",
            drop_empty_values(item.model_dump(by_alias=True, exclude=_NOT_ITEM_FIELDS)),
        )
        self._emit({"role": "system", "content": text}, origin, [detail])

    def _note_training_fields(self, item: TrainingFields, item_path: JsonPath) -> None:
        present = [
            name for name in TrainingFields.model_fields if given(getattr(item, name)) is not None
        ]
        if present:
            self._context.record(
                item_path, LossKind.TRAINING_FIELDS_DROPPED, f"left out: {', '.join(present)}"
            )


def take_instructions(
    request_fields: dict[str, Any], response_fields: dict[str, Any]
) -> str | None:
    """Full detail: the request's ``instructions`` (a non-empty string), taken out of its other
    keys, and out of the response's when it repeats them; None when there are none."""
    instructions = request_fields.get("instructions")
    if not isinstance(instructions, str) or not instructions:
        return None
    del request_fields["instructions"]
    if response_fields.get("instructions") == instructions:
        del response_fields["instructions"]
    return instructions


class _AssistantTurn:
    """What gathers into one assistant message."""

    __slots__ = ("phase", "reasonings", "source_items", "texts", "tool_calls")

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.reasonings: list[str | PlainValue] = []
        self.tool_calls: list[PlainValue] = []
        self.source_items: list[Detail] = []
        self.phase: str | None = None
        """Full detail: the ``phase`` of the turn's message (commentary or final answer)."""

    def to_message(self) -> PlainValue:
        text = "".join(self.texts)
        content: str | list[PlainValue] = text
        if self.reasonings:
            content = self._reasoning_parts()
            if content and text:
                content.append({"type": "text", "text": text})
        return {
            "role": "assistant",
            "content": content or text,
            "tool_calls": self.tool_calls or None,
            "metadata": None if self.phase is None else {"phase": self.phase},
        }

    def _reasoning_parts(self) -> list[PlainValue]:
        """Reasoning parts: each one as given when any is a part (redacted, or full detail's
        text), else the non-empty summaries joined into one."""
        if any(isinstance(part, dict) for part in self.reasonings):
            return [
                part if isinstance(part, dict) else {"type": "reasoning", "reasoning": part}
                for part in self.reasonings
                if part
            ]
        reasoning = "\n\n".join(part for part in self.reasonings if isinstance(part, str) and part)
        return [{"type": "reasoning", "reasoning": reasoning}] if reasoning else []


def _item_detail(item: Any, kind: str, origin: Origin) -> Detail:
    """The details of one source item, already without empty values (as metadata has them)."""
    detail: Detail = {"origin": origin, "source_item_type": kind}
    set_unless_empty(detail, "source_item_id", given(getattr(item, "id", None)))
    set_unless_empty(detail, "source_item_status", given(getattr(item, "status", None)))
    return detail


_TEXT_PARTS = (OutputText, InputText)

_AddItem = Callable[[TranscriptBuilder, Any, Origin, JsonPath, int], None]
_HANDLERS: tuple[tuple[type | tuple[type, ...], _AddItem], ...] = (
    (Message, TranscriptBuilder._add_message),
    (FunctionCall, TranscriptBuilder._add_function_call),
    (FunctionCallOutput, TranscriptBuilder._add_function_call_output),
    (Reasoning, TranscriptBuilder._add_reasoning),
    (TokenOnlyMessage, TranscriptBuilder._add_token_only_item),
    ((Compaction, AdditionalTools, CompactionTrigger), TranscriptBuilder._add_context_item),
)


@cache
def _add_item_of(kind: type) -> _AddItem:
    """How an item of class ``kind`` is added: by the first handler of a class it derives from,
    else as another call."""
    return next(
        (add for base, add in _HANDLERS if issubclass(kind, base)),
        TranscriptBuilder._add_other_call,
    )


def _media_placeholder(part: InputImage | InputFile | InputVideo) -> str:
    if isinstance(part, InputImage):
        image_url, file_id = given(part.image_url), given(part.file_id)
        return placeholder("image", url=image_url or None, name=file_id or "")
    if isinstance(part, InputFile):
        name = given(part.filename) or given(part.file_id) or ""
        file_data = given(part.file_data)
        if file_data and file_data.startswith("data:"):
            return placeholder("file", url=file_data, name=name)
        return placeholder("file", url=given(part.file_url), data=file_data, name=name)
    video = given(part.video_url)
    if video is None:
        video = given(part.video)
    if isinstance(video, Mapping):
        video = video.get("url")
    return placeholder("video", url=video if isinstance(video, str) else None)


OutputPart = InputText | InputImage | InputFile
_OUTPUT_PARTS: TypeAdapter[list[OutputPart]] = TypeAdapter(
    list[Annotated[OutputPart, Field(discriminator="type")]]
)


def _output_parts(output: Any) -> list[OutputPart] | None:
    """A tool output given as a non-empty list of text, image and file parts, or None."""
    if not isinstance(output, list) or not output:
        return None
    try:
        return _OUTPUT_PARTS.validate_python(output)
    except ValidationError:
        return None


def _reasoning_content_text(content: Any) -> str:
    if not isinstance(content, list):
        return ""
    texts = [part.get("text") for part in content if isinstance(part, dict)]
    return "\n".join(text for text in texts if isinstance(text, str) and text)


def parse_arguments(arguments: Mapping[str, Any] | str) -> tuple[dict[str, Any], str | None]:
    """The arguments as a dict, and what was wrong with them (None when nothing was)."""
    if not isinstance(arguments, str):
        return dict(arguments), None
    try:
        parsed = loads(arguments)
    except json.JSONDecodeError as exc:
        return {}, f"not valid JSON ({exc.msg}, column {exc.colno})"
    except (ValueError, RecursionError) as exc:  # an integer past Python's digit limit for int()
        return {}, f"cannot read the JSON ({exc})"
    if not isinstance(parsed, dict):
        return {}, f"must hold a JSON object, not {json_type_name(parsed)}"
    return parsed, None
