"""Lenient mode: how calls other than function calls appear as Docent tool calls and tool messages.

Each item becomes a ``CallView``: the tool call it opens (id, function name, arguments), the
result shown right after it (hosted calls carry their own result), or the call it answers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nemogym_docent.jsonl.parsing import loads
from nemogym_docent.mapping.media import placeholder
from nemogym_docent.models import (
    ApplyPatchCall,
    ApplyPatchCallOutput,
    CodeInterpreterCall,
    ComputerCall,
    ComputerCallOutput,
    CustomToolCall,
    CustomToolCallOutput,
    FileSearchCall,
    LocalShellCall,
    LocalShellCallOutput,
    McpApprovalRequest,
    McpApprovalResponse,
    McpCall,
    McpListTools,
    OtherCall,
    ShellCall,
    ShellCallOutput,
    ToolSearchCall,
    ToolSearchOutput,
    WebSearchCall,
)
from nemogym_docent.models.base import given


@dataclass
class CallView:
    """A call item seen as Docent sees calls."""

    function: str
    call_id: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    result: str | None = None
    answers: str | None = None


def view_call(item: OtherCall, fallback_id: str) -> CallView:
    """The tool call and/or tool message an item becomes; ``fallback_id`` names id-less calls."""
    item_id = given(item.id)
    call_id = item_id if isinstance(item_id, str) and item_id else fallback_id
    if isinstance(item, McpCall):
        output, error = given(item.output), given(item.error)
        result = output if output is not None else error
        return CallView(item.name, call_id, _json_object(item.arguments), _text(result))
    if isinstance(item, McpListTools):
        return CallView(
            "mcp_list_tools",
            call_id,
            _present(server_label=given(item.server_label)),
            _text(given(item.tools) if given(item.error) is None else given(item.error)),
        )
    if isinstance(item, McpApprovalRequest):
        return CallView(item.name, call_id, _json_object(item.arguments))
    if isinstance(item, McpApprovalResponse):
        verdict = "approved" if item.approve else "denied"
        reason = f": {item.reason}" if given(item.reason) else ""
        return CallView("mcp_approval", result=verdict + reason, answers=item.approval_request_id)
    if isinstance(item, CustomToolCall):
        return CallView(item.name, item.call_id, {"input": item.input})
    if isinstance(item, CustomToolCallOutput):
        return CallView("", result=_text(item.output), answers=item.call_id)
    if isinstance(item, ComputerCall):
        return CallView("computer", item.call_id, dict(item.action))
    if isinstance(item, ComputerCallOutput):
        return CallView("computer", result=_screenshot(item.output), answers=item.call_id)
    if isinstance(item, LocalShellCall):
        return CallView("local_shell", item.call_id, dict(item.action))
    if isinstance(item, LocalShellCallOutput):
        return CallView("local_shell", result=item.output, answers=item.id)
    if isinstance(item, ShellCall):
        return CallView("shell", item.call_id, dict(item.action))
    if isinstance(item, ShellCallOutput):
        return CallView("shell", result=_shell_output(item.output), answers=item.call_id)
    if isinstance(item, ApplyPatchCall):
        return CallView("apply_patch", item.call_id, dict(item.operation))
    if isinstance(item, ApplyPatchCallOutput):
        output = given(item.output)
        result = output if output is not None else given(item.status)
        return CallView("apply_patch", result=_text(result), answers=item.call_id)
    if isinstance(item, ToolSearchCall):
        own = given(item.call_id)
        arguments = given(item.arguments)
        shown = dict(arguments) if isinstance(arguments, Mapping) else _present(query=arguments)
        return CallView("tool_search", own if isinstance(own, str) and own else call_id, shown)
    if isinstance(item, ToolSearchOutput):
        answers = given(item.call_id)
        return CallView(
            "tool_search",
            result=_text(given(item.tools)),
            answers=answers if isinstance(answers, str) and answers else None,
        )
    if isinstance(item, WebSearchCall):
        action = dict(item.action) if isinstance(item.action, Mapping) else {"action": item.action}
        return CallView("web_search", call_id, action, _text(_present(status=item.status)))
    if isinstance(item, FileSearchCall):
        results = given(item.results)
        result = results if results is not None else _present(status=item.status)
        return CallView("file_search", call_id, {"queries": list(item.queries)}, _text(result))
    if isinstance(item, CodeInterpreterCall):
        arguments = _present(code=given(item.code), container_id=item.container_id)
        outputs = given(item.outputs)
        result = outputs if outputs is not None else _present(status=item.status)
        return CallView("code_interpreter", call_id, arguments, _text(result))
    image = (
        placeholder("image", data=image)
        if (image := given(item.result))
        else _text({"status": item.status})
    )
    return CallView("image_generation", call_id, {}, image)


def _json_object(arguments: str) -> dict[str, Any]:
    try:
        parsed = loads(arguments)
    except (ValueError, RecursionError):
        return {"arguments": arguments}
    return parsed if isinstance(parsed, dict) else {"arguments": parsed}


def _present(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _shell_output(output: Any) -> str:
    """Each command's stdout and stderr, then how it ended (exit code or time-out)."""
    if not isinstance(output, list):
        return _text(output)
    lines: list[str] = []
    for entry in output:
        if not isinstance(entry, Mapping):
            lines.append(_text(entry))
            continue
        lines.extend(
            text.rstrip("\n")
            for key in ("stdout", "stderr")
            if isinstance(text := entry.get(key), str) and text
        )
        outcome = entry.get("outcome")
        if isinstance(outcome, Mapping) and outcome.get("type") == "timeout":
            lines.append("[timed out]")
        elif isinstance(outcome, Mapping) and "exit_code" in outcome:
            lines.append(f"[exit code {outcome['exit_code']}]")
    return "\n".join(lines)


def _screenshot(output: Mapping[str, Any]) -> str:
    image_url = output.get("image_url")
    if isinstance(image_url, str):
        return placeholder("screenshot", url=image_url)
    return _text(dict(output))
