"""Render locations inside a rollout as readable JSON paths: ``response.output[3].call_id``."""

from __future__ import annotations

import re
from collections.abc import Iterable

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def render_json_path(parts: Iterable[str | int]) -> str:
    """Join keys and indices; keys that are not identifiers are quoted in brackets."""
    rendered = ""
    for part in parts:
        if isinstance(part, int):
            rendered += f"[{part}]"
        elif _IDENTIFIER.match(part):
            rendered += f".{part}" if rendered else part
        else:
            rendered += f"[{part!r}]"
    return rendered


def join_json_path(prefix: str, *parts: str | int) -> str:
    """Extend an already rendered path."""
    tail = render_json_path(parts)
    if not prefix or tail.startswith("["):
        return prefix + tail
    return f"{prefix}.{tail}" if tail else prefix


_JSON_TYPE_NAMES = {
    type(None): "null",
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}


def json_type_name(value: object) -> str:
    """The JSON name of a parsed value's type (``object``, ``array``, ...)."""
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


class JsonPath:
    """A location that is rendered only when an error or a loss names it."""

    __slots__ = ("_parts",)

    def __init__(self, *parts: str | int) -> None:
        self._parts = parts

    def __truediv__(self, part: str | int) -> JsonPath:
        return JsonPath(*self._parts, part)

    def __str__(self) -> str:
        return render_json_path(self._parts)
