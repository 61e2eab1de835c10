"""The kinds of approximation the lenient mode records in ``metadata["conversion"]["losses"]``."""

from __future__ import annotations

from enum import StrEnum


class LossKind(StrEnum):
    """The kinds of approximation; docs/mapping.md explains each."""

    MISSING_IDENTITY = "missing_identity"
    MEDIA_PLACEHOLDER = "media_placeholder"
    ENCRYPTED_REASONING = "encrypted_reasoning"
    CALL_RESHAPED = "call_reshaped"
    ORPHANED_TOOL_OUTPUT = "orphaned_tool_output"
    UNPARSED_ARGUMENTS = "unparsed_arguments"
    SNAPSHOTS_DROPPED = "snapshots_dropped"
    TRAINING_FIELDS_DROPPED = "training_fields_dropped"
    NO_MESSAGES = "no_messages"
    TOKEN_ONLY_ITEM = "token_only_item"
    EMPTY_CALL_ID = "empty_call_id"
    NON_INTEGER_INDEX = "non_integer_index"
    COMPACTION = "compaction"
    CONTEXT_ITEM = "context_item"
    UNKNOWN_RESULT_TYPE = "unknown_result_type"
    ROLLOUT_KEPT_RAW = "rollout_kept_raw"
