"""Turn validated rollout items into Docent chat messages and their per-message details.

An assistant message, a reasoning item and a function call gather into the current assistant
turn; a non-assistant message, a function call output or the end of a list emits the turn.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

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

from nemogym_docent.errors import ConversionError
from nemogym_docent.json_lines import loads
from nemogym_docent.json_paths import join_json_path, json_type_name
from nemogym_docent.models import (
    FunctionCall,
    FunctionCallOutput,
    InputText,
    Item,
    Message,
    OutputText,
    Reasoning,
    Refusal,
)

Origin = Literal["input", "output"]
Detail = dict[str, Any]


class TranscriptBuilder:
    """Collects messages over the input list, then the output list, sharing one call-id table."""

    def __init__(self) -> None:
        self.messages: list[ChatMessage] = []
        self.details: list[Detail] = []
        self._tool_names: dict[str, str] = {}
        self._turn: _AssistantTurn | None = None

    def add_items(self, items: Sequence[Item], *, origin: Origin, json_path: str) -> None:
        """Convert one list of items; ``json_path`` locates the list for error messages."""
        for index, item in enumerate(items):
            item_path = join_json_path(json_path, index)
            if isinstance(item, Message):
                self._add_message(item, origin)
            elif isinstance(item, FunctionCall):
                self._add_function_call(item, origin, item_path)
            elif isinstance(item, FunctionCallOutput):
                self._add_function_call_output(item, origin, item_path)
            else:
                self._add_reasoning(item, origin)
        self._emit_turn(origin)

    def _current_turn(self) -> _AssistantTurn:
        if self._turn is None:
            self._turn = _AssistantTurn()
        return self._turn

    def _emit(self, message: ChatMessage, origin: Origin, source_items: list[Detail]) -> None:
        self.messages.append(message)
        self.details.append(
            {
                "role": message.role,
                "origin": origin,
                "source_item_count": len(source_items),
                "source_item_types": [detail["source_item_type"] for detail in source_items],
                "source_items": source_items,
            }
        )

    def _emit_turn(self, origin: Origin) -> None:
        if self._turn is not None:
            self._emit(self._turn.to_message(), origin, self._turn.source_items)
            self._turn = None

    def _add_message(self, item: Message, origin: Origin) -> None:
        text, content_detail = _message_text(item.content)
        detail = _item_detail(item, "message", origin) | content_detail
        if item.role == "assistant":
            turn = self._current_turn()
            turn.texts.append(text)
            turn.source_items.append(detail)
            return
        self._emit_turn(origin)
        if item.role == "user":
            message: ChatMessage = UserMessage(content=text)
        else:
            message = SystemMessage(content=text)
            if item.role == "developer":
                detail["original_role"] = "developer"
        self._emit(message, origin, [detail])

    def _add_reasoning(self, item: Reasoning, origin: Origin) -> None:
        turn = self._current_turn()
        turn.reasonings.append("\n".join(part.text for part in item.summary if part.text))
        detail = _item_detail(item, "reasoning", origin)
        detail["summary_item_types"] = [part.type for part in item.summary]
        turn.source_items.append(detail)

    def _add_function_call(self, item: FunctionCall, origin: Origin, item_path: str) -> None:
        arguments = _parse_arguments(item.arguments, join_json_path(item_path, "arguments"))
        self._tool_names[item.call_id] = item.name
        turn = self._current_turn()
        turn.tool_calls.append(
            ToolCall(id=item.call_id, function=item.name, arguments=arguments, type="function")
        )
        detail = _item_detail(item, "function_call", origin)
        detail.update(call_id=item.call_id, tool_name=item.name, raw_arguments=item.arguments)
        turn.source_items.append(detail)

    def _add_function_call_output(
        self, item: FunctionCallOutput, origin: Origin, item_path: str
    ) -> None:
        self._emit_turn(origin)
        name = self._tool_names.get(item.call_id)
        if name is None:
            raise ConversionError(
                f"no function_call with call_id {item.call_id!r} comes before this output",
                json_path=join_json_path(item_path, "call_id"),
            )
        output = item.output
        content = output if isinstance(output, str) else json.dumps(output, sort_keys=True)
        message = ToolMessage(content=content, function=name, tool_call_id=item.call_id)
        detail = _item_detail(item, "function_call_output", origin)
        detail["call_id"] = item.call_id
        self._emit(message, origin, [detail])


class _AssistantTurn:
    """What gathers into one assistant message."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.reasonings: list[str] = []
        self.tool_calls: list[ToolCall] = []
        self.source_items: list[Detail] = []

    def to_message(self) -> AssistantMessage:
        text = "".join(self.texts)
        reasoning = "\n\n".join(part for part in self.reasonings if part)
        content: str | list[ContentReasoning | ContentText] = text
        if reasoning:
            content = [ContentReasoning(reasoning=reasoning)]
            if text:
                content.append(ContentText(text=text))
        return AssistantMessage(content=content, tool_calls=self.tool_calls or None)


def _item_detail(item: Item, kind: str, origin: Origin) -> Detail:
    return {
        "origin": origin,
        "source_item_type": kind,
        "source_item_id": item.id,
        "source_item_status": item.status,
    }


def _message_text(content: str | list[InputText | OutputText | Refusal]) -> tuple[str, Detail]:
    if isinstance(content, str):
        return content, {}
    texts: list[str] = []
    refusal = annotations = logprobs = False
    for part in content:
        if isinstance(part, Refusal):
            refusal = True
            texts.append(part.refusal)
        else:
            texts.append(part.text)
            annotations = annotations or bool(part.annotations)
            logprobs = logprobs or bool(part.logprobs)
    detail = {
        "content_part_types": [part.type for part in content],
        "contains_refusal_part": refusal,
        "contains_annotations": annotations,
        "contains_logprobs": logprobs,
    }
    return "".join(texts), detail


def _parse_arguments(arguments: dict[str, Any] | str, json_path: str) -> dict[str, Any]:
    if isinstance(arguments, dict):
        return arguments
    try:
        parsed = loads(arguments)
    except json.JSONDecodeError as exc:
        raise ConversionError(
            f"not valid JSON ({exc.msg}, column {exc.colno})", json_path=json_path
        ) from exc
    except ValueError as exc:  # an integer past Python's digit limit for int()
        raise ConversionError(f"cannot read the JSON ({exc})", json_path=json_path) from exc
    if not isinstance(parsed, dict):
        raise ConversionError(
            f"must hold a JSON object, not {json_type_name(parsed)}", json_path=json_path
        )
    return parsed
