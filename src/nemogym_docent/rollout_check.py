"""The three-way verdict on a record: converts strictly, only leniently, or not a rollout at all."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from nemogym_docent.agent_run_mapping import RecordOrigin
from nemogym_docent.converter import convert_rollout
from nemogym_docent.errors import ConversionError
from nemogym_docent.json_paths import json_type_name
from nemogym_docent.schema_validation import SchemaIssue, validate_nemogym_rollout


class Verdict(StrEnum):
    """What can be done with a record."""

    STRICT = "strict"
    """Converts exactly, as Docent's converter converts it."""
    LENIENT_ONLY = "lenient_only"
    """A NeMo Gym rollout that converts only in the lenient mode, with ``losses``."""
    NOT_A_ROLLOUT = "not_a_rollout"
    """Not a NeMo Gym rollout at all."""


@dataclass(frozen=True)
class RolloutCheck:
    """A record's verdict; why each mode refuses it; what the lenient mode approximates."""

    verdict: Verdict
    strict_issues: list[SchemaIssue] = field(default_factory=list)
    """Every reason the strict mode refuses the record (empty for ``STRICT``)."""
    lenient_issues: list[SchemaIssue] = field(default_factory=list)
    """Every reason the lenient mode refuses it (empty unless ``NOT_A_ROLLOUT``)."""
    losses: list[dict[str, str]] = field(default_factory=list)
    """The lenient mode's approximations (``LENIENT_ONLY`` only)."""

    def issues(self, *, strict: bool = True) -> list[SchemaIssue]:
        """Why the given mode refuses the record."""
        return self.strict_issues if strict else self.lenient_issues


def check_nemogym_rollout(rollout: Any, *, origin: RecordOrigin | None = None) -> RolloutCheck:
    """Check one record in both modes, listing every schema violation where a mode refuses it.

    A record that converts strictly is never validated twice: the generated models decide, and
    ``jsonschema`` is asked only to explain a refusal.
    """
    if not isinstance(rollout, dict):
        issue = SchemaIssue("", f"a rollout must be a JSON object, not {json_type_name(rollout)}")
        return RolloutCheck(Verdict.NOT_A_ROLLOUT, [issue], [issue])
    try:
        convert_rollout(rollout, origin=origin)
    except ConversionError as exc:
        strict_issues = _explained(exc, rollout, strict=True)
    else:
        return RolloutCheck(Verdict.STRICT)
    try:
        run = convert_rollout(rollout, strict=False, origin=origin)
    except ConversionError as exc:
        lenient_issues = _explained(exc, rollout, strict=False)
        return RolloutCheck(Verdict.NOT_A_ROLLOUT, strict_issues, lenient_issues)
    losses = run.metadata["conversion"]["losses"]
    return RolloutCheck(Verdict.LENIENT_ONLY, strict_issues, losses=losses)


def _explained(error: ConversionError, rollout: Any, *, strict: bool) -> list[SchemaIssue]:
    """Every schema violation, or the one rule beyond the schemas that ``error`` reports."""
    return validate_nemogym_rollout(rollout, strict=strict) or [
        SchemaIssue(error.json_path, error.message)
    ]
