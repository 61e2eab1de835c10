"""Drop empty values from metadata, as Docent's converter lays metadata out."""

from __future__ import annotations

from typing import Any


def drop_empty_values(value: Any) -> Any:
    """Return a copy without object members that are null, ``""``, ``[]`` or ``{}`` once cleaned.

    ``0`` and ``false`` stay; array elements are cleaned but never dropped.
    """
    kind = type(value)
    if kind is dict:
        cleaned: dict[str, Any] = {}
        for key, child in value.items():
            kept = drop_empty_values(child)
            if kept is None or ((type(kept) in _EMPTIABLE) and not kept):
                continue
            cleaned[key] = kept
        return cleaned
    if kind is list:
        return [drop_empty_values(child) for child in value]
    return value


_EMPTIABLE = (str, list, dict)
