"""What the mapping declares it drops or reduces, as rules on a value's place in a rollout.

docs/mapping.md lists the same: empty values; the contents of ``annotations`` and
``logprobs`` (reduced to flags); ``encrypted_content`` (accepted only when empty); and keys
inside items and content parts that the mapping does not read. ``detail="full"`` also reads
reasoning ``content``, shows a tool output's image and file parts as placeholders, and converts
the judges' and subagents' item lists by the same rules (``docs/full-detail.md``).
"""

from __future__ import annotations

from typing import Any

MAIN_ITEM_LISTS = (("responses_create_params", "input"), ("response", "output"))
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
FULL_DETAIL_STAMPS = {"_ng_environment_server", "_ng_result_type", "_ng_task_id"}
FULL_DETAIL_STAMPS |= {"_ng_attempt_index", "_ng_rollout_id"}
"""Keys full detail moves, renamed, into ``metadata.nemogym``."""
NAMED_KEYS = {("responses_create_params", "input"), ("response", "output"), ("agent_ref", "name")}
JUDGE_LISTS = ("judge_evaluations",)
JUDGE_OBJECTS = ("judge_evaluation", "quality_judge_evaluation")
MEDIA_PARTS = ("input_image", "input_file")

CONTENT_KINDS = {
    "unobserved_subtree",
    "source_value_not_observed",
    "unobserved_long_value_content",
    "long_value_tail_loss",
}
"""The kinds of Docent's ingestion checker that are leads about content (a value the run may
lack), not a converter that fails, mutates its input or varies."""

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


def item_lists(rollout: dict[str, Any], detail: str = "docent") -> list[Path]:
    """Where the lists of items are that the mapping turns into messages."""
    lists: list[Path] = list(MAIN_ITEM_LISTS)
    if detail == "full":
        lists.extend(_judge_item_lists(rollout, ()))
        trajectory = rollout.get("ng_trajectory")
        invocations = trajectory.get("invocations") if isinstance(trajectory, dict) else None
        for index, _ in enumerate(invocations if isinstance(invocations, list) else []):
            lists.append(("ng_trajectory", "invocations", index, "conversation"))
    return lists


def _judge_item_lists(fields: dict[str, Any], at: Path) -> list[Path]:
    lists: list[Path] = []
    exchanges: list[Path] = [(*at, key) for key in JUDGE_OBJECTS]
    for key in JUDGE_LISTS:
        value = fields.get(key)
        count = len(value) if isinstance(value, list) else 0
        exchanges.extend((*at, key, index) for index in range(count))
    for exchange in exchanges:
        lists.extend([(*exchange, *MAIN_ITEM_LISTS[0]), (*exchange, *MAIN_ITEM_LISTS[1])])
    lists.append((*at, "judge_response_create_params", "input"))
    lists.append((*at, "judge_response", "output"))
    delegated = fields.get("delegated_response")
    if isinstance(delegated, dict):
        lists.extend(_judge_item_lists(delegated, (*at, "delegated_response")))
    return lists


def is_schema_key(rollout: dict[str, Any], path: Path, detail: str = "docent") -> bool:
    """Whether the last key of ``path`` is one the schemas name (the mapping renames those)."""
    lists = item_lists(rollout, detail)
    if detail == "full" and any(path == found[: len(path)] for found in lists):
        return True  # a key on the way to a judge's or a subagent's items
    if len(path) == 1:
        return path[0] in TOP_LEVEL_KEYS or (
            detail == "full" and (path[0] == "reward_components" or path[0] in FULL_DETAIL_STAMPS)
        )
    if len(path) == 2 and path in NAMED_KEYS:
        return True
    for found in lists:
        inner = path[len(found) :]
        if path[: len(found)] != found or not inner or not isinstance(inner[0], int):
            continue
        item = _at(rollout, found)[inner[0]]
        item_type = item.get("type") or "message"
        if len(inner) == 2:
            return inner[1] in ITEM_KEYS.get(item_type, set()) | {"encrypted_content", "content"}
        if len(inner) == 4 and inner[1] in ("content", "summary", "output"):
            return inner[3] in {"type", "text", "refusal", "annotations", "logprobs"}
    return False


def declared_loss(rollout: dict[str, Any], path: Path, detail: str = "docent") -> str | None:
    """Why the value at ``path`` is allowed to be missing from the AgentRun, or None."""
    for found in item_lists(rollout, detail):
        inner = path[len(found) :]
        if path[: len(found)] == found and len(inner) > 1 and isinstance(inner[0], int):
            return _item_loss(_at(rollout, found)[inner[0]], inner[1:], detail)
    return None


def _at(value: Any, path: Path) -> Any:
    for part in path:
        value = value[part]
    return value


def _item_loss(item: dict[str, Any], inner: Path, detail: str) -> str | None:
    item_type = item.get("type") or "message"
    key = inner[0]
    full = detail == "full"
    if item_type not in ITEM_KEYS:
        return f"a {item_type} item (a judge's or subagent's, converted leniently)"
    if item_type == "reasoning" and key == "encrypted_content":
        return "encrypted_content (accepted only when empty)"
    if item_type == "reasoning" and key == "content" and full:
        return _reasoning_content_loss(item["content"], inner[1:])
    if key not in ITEM_KEYS[item_type]:
        return f"key {key!r} of a {item_type} item"
    if len(inner) < 3 or not isinstance(item[key], list):
        return None
    part = item[key][inner[1]]
    part_key = inner[2]
    if key == "summary":
        return None if part_key in SUMMARY_PART_KEYS else f"key {part_key!r} of a summary part"
    if key == "output" and full and _are_output_parts(item[key]):
        if part["type"] in MEDIA_PARTS and part_key != "type":
            return f"{part['type']} shown as a placeholder"
        return None if part_key in PART_KEYS["input_text"] else f"key {part_key!r} of a part"
    if key != "content":
        return None
    if part_key in ("annotations", "logprobs"):
        return f"{part_key} contents (reduced to a flag)"
    if part_key not in PART_KEYS[part["type"]]:
        return f"key {part_key!r} of a {part['type']} part"
    return None


def _reasoning_content_loss(content: Any, inner: Path) -> str | None:
    """Full detail reads the texts of a reasoning's content parts and their types."""
    if not isinstance(content, list):
        return "reasoning content that is not a list of parts"
    if not inner:
        return None
    part = content[inner[0]]
    if not isinstance(part, dict):
        return "a reasoning content part that is not an object"
    if len(inner) == 1 or inner[1] == "type":
        return None
    if inner[1] == "text" and isinstance(part["text"], str):
        return None
    return f"key {inner[1]!r} of a reasoning content part"


def _are_output_parts(output: list[Any]) -> bool:
    """Whether full detail reads a tool output as parts (text, image and file parts only)."""
    return all(
        isinstance(part, dict) and part.get("type") in ("input_text", *MEDIA_PARTS)
        for part in output
    )
