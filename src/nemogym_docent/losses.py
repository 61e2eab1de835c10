"""What the lenient mode approximates, recorded in ``metadata["conversion"]["losses"]``."""

from __future__ import annotations

from enum import StrEnum


class LossKind(StrEnum):
    """The kinds of approximation; the README's "strict vs lenient" table explains each."""

    MISSING_IDENTITY = "missing_identity"
    MEDIA_PLACEHOLDER = "media_placeholder"
    ENCRYPTED_REASONING = "encrypted_reasoning"
    CALL_RESHAPED = "call_reshaped"
    ORPHANED_TOOL_OUTPUT = "orphaned_tool_output"
    UNPARSED_ARGUMENTS = "unparsed_arguments"
    SNAPSHOTS_DROPPED = "snapshots_dropped"
    TRAINING_FIELDS_DROPPED = "training_fields_dropped"
    NO_MESSAGES = "no_messages"


class LossLog:
    """The approximations made while converting one rollout, in order."""

    def __init__(self) -> None:
        self.entries: list[dict[str, str]] = []

    def add(self, json_path: str, kind: LossKind, detail: str) -> None:
        """Record one approximation at ``json_path``."""
        self.entries.append({"path": json_path, "kind": kind.value, "detail": detail})
