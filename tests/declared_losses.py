"""What the mapping declares it drops or reduces, as rules on a value's place in a rollout.

docs/mapping.md lists the same: empty values; the contents of ``annotations`` and
``logprobs`` (reduced to flags); ``encrypted_content`` (accepted only when empty); and keys
inside items and content parts that the mapping does not read.
"""

from __future__ import annotations

from typing import Any

ITEM_LISTS = (("responses_create_params", "input"), ("response", "output"))
ITEM_KEYS = {
    "message": {"type", "role", "content", "id", "status"},
    "function_call": {"type", "call_id", "name", "arguments", "id", "status"},
    "function_call_output": {"type", "call_id", "output", "id", "status"},
    "reasoning": {"type", "summary", "id", "status"},
}
PART_KEYS = {
    "input_text": {"type", "text"},
    "output_text": {"type", "text"},
    "refusal": {"type", "refusal"},
}
SUMMARY_PART_KEYS = {"type", "text"}
TOP_LEVEL_KEYS = {"responses_create_params", "response", "agent_ref", "reward"}
TOP_LEVEL_KEYS |= {"_ng_task_index", "_ng_rollout_index"}
NAMED_KEYS = {("responses_create_params", "input"), ("response", "output"), ("agent_ref", "name")}

Path = tuple[str | int, ...]


def is_empty(value: Any) -> bool:
    """Whether metadata cleaning drops ``value``: null, ``""``, ``[]``, or an object of such
    values only (arrays keep their elements, so a non-empty array is never empty)."""
    if value is None:
        return True
    if isinstance(value, (str, list)):
        return not value
    if isinstance(value, dict):
        return all(is_empty(child) for child in value.values())
    return False


def is_schema_key(rollout: dict[str, Any], path: Path) -> bool:
    """Whether the last key of ``path`` is one the schemas name (the mapping renames those)."""
    if len(path) == 1:
        return path[0] in TOP_LEVEL_KEYS
    if len(path) == 2:
        return path in NAMED_KEYS
    if path[:2] not in ITEM_LISTS or not isinstance(path[2], int):
        return False
    item = rollout[path[0]][path[1]][path[2]]
    item_type = item.get("type") or "message"
    if len(path) == 4:
        return path[3] in ITEM_KEYS[item_type] | {"encrypted_content"}
    if len(path) == 6 and path[3] in ("content", "summary") and isinstance(path[4], int):
        return path[5] in {"type", "text", "refusal", "annotations", "logprobs"}
    return False


def declared_loss(rollout: dict[str, Any], path: Path) -> str | None:
    """Why the value at ``path`` is allowed to be missing from the AgentRun, or None."""
    for item_list in ITEM_LISTS:
        if path[:2] == item_list and len(path) > 3 and isinstance(path[2], int):
            return _item_loss(rollout[path[0]][path[1]][path[2]], path[3:])
    return None


def _item_loss(item: dict[str, Any], inner: Path) -> str | None:
    item_type = item.get("type") or "message"
    key = inner[0]
    if item_type == "reasoning" and key == "encrypted_content":
        return "encrypted_content (accepted only when empty)"
    if key not in ITEM_KEYS[item_type]:
        return f"key {key!r} of a {item_type} item"
    if len(inner) < 3 or not isinstance(item[key], list):
        return None
    part = item[key][inner[1]]
    part_key = inner[2]
    if key == "summary":
        return None if part_key in SUMMARY_PART_KEYS else f"key {part_key!r} of a summary part"
    if key != "content":
        return None
    if part_key in ("annotations", "logprobs"):
        return f"{part_key} contents (reduced to a flag)"
    if part_key not in PART_KEYS[part["type"]]:
        return f"key {part_key!r} of a {part['type']} part"
    return None
