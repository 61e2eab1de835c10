"""Drop empty values from metadata, as Docent's converter lays metadata out."""

from __future__ import annotations

from typing import Any


def drop_empty_values(value: Any) -> Any:
    """Return a copy without object members that are null, ``""``, ``[]`` or ``{}`` once cleaned.

    ``0`` and ``false`` stay; array elements are cleaned but never dropped. Objects and arrays
    are new; strings and numbers are shared with ``value``.
    """
    kind = type(value)
    if kind is dict:
        return _clean_object(value)
    if kind is list:
        return _clean_array(value)
    return value


def set_unless_empty(target: dict[str, Any], key: str, value: Any) -> None:
    """``target[key] = drop_empty_values(value)``, unless that is empty, as cleaning would do."""
    kind = type(value)
    if kind is str:  # the usual case, first
        if value:
            target[key] = value
        return
    if kind is dict:
        value = _clean_object(value)
    elif kind is list:
        value = _clean_array(value) if value else value
    if value is None or (not value and type(value) in (str, list, dict)):
        return
    target[key] = value


def _clean_object(value: dict[str, Any]) -> dict[str, Any]:
    # A copy, then its empty members deleted: most members are kept as they are, and copying a
    # dict at once is faster than inserting them one by one (the order stays the same).
    cleaned = value.copy()
    for key, child in value.items():
        kind = type(child)
        if kind is dict:
            kept = _clean_object(child) if child else child
            if kept:
                cleaned[key] = kept
            else:
                del cleaned[key]
        elif kind is list:
            if child:
                cleaned[key] = _clean_array(child)
            else:
                del cleaned[key]
        elif child is None or (kind is str and not child):
            del cleaned[key]
    return cleaned


def _clean_array(value: list[Any]) -> list[Any]:
    kinds = set(map(type, value))
    if dict not in kinds and list not in kinds:
        return value.copy()
    return [
        _clean_object(child)
        if type(child) is dict
        else _clean_array(child)
        if type(child) is list
        else child
        for child in value
    ]
