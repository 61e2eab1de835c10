"""Small hand-written rollouts for focused tests."""

from __future__ import annotations

from typing import Any


def rollout(
    input_items: str | list[Any] | None = None,
    output: list[Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A minimal valid rollout: one user message in, one assistant message out."""
    row: dict[str, Any] = {
        "responses_create_params": {
            "input": [user("Hi")] if input_items is None else input_items,
        },
        "response": {
            "id": "resp_1",
            "model": "test-model",
            "output": [assistant("Hello")] if output is None else output,
        },
        "reward": 1.0,
        "agent_ref": {"name": "agent"},
        "_ng_task_index": 0,
        "_ng_rollout_index": 0,
    }
    row.update(fields)
    return row


def user(text: str, **fields: Any) -> dict[str, Any]:
    return {"role": "user", "content": text, **fields}


def assistant(text: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "role": "assistant",
        "id": "msg_1",
        "status": "completed",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
        **fields,
    }


def call(call_id: str, name: str = "lookup", arguments: Any = '{"q": "x"}') -> dict[str, Any]:
    return {"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments}


def call_output(call_id: str, output: Any = "result") -> dict[str, Any]:
    return {"type": "function_call_output", "call_id": call_id, "output": output}


def reasoning(*texts: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "reasoning",
        "id": "rs_1",
        "summary": [{"type": "summary_text", "text": text} for text in texts],
        **fields,
    }
