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
    """Not a NeMo Gym rollout at all (``issues`` say why)."""


@dataclass(frozen=True)
class RolloutCheck:
    """A record's verdict, why strict mode refuses it (``issues``) and what lenient mode loses."""

    verdict: Verdict
    issues: list[SchemaIssue] = field(default_factory=list)
    losses: list[dict[str, str]] = field(default_factory=list)


def check_nemogym_rollout(rollout: Any, *, origin: RecordOrigin | None = None) -> RolloutCheck:
    """Check one record against both profiles, listing every schema violation of the strict one."""
    if not isinstance(rollout, dict):
        issue = SchemaIssue("", f"a rollout must be a JSON object, not {json_type_name(rollout)}")
        return RolloutCheck(Verdict.NOT_A_ROLLOUT, [issue])
    issues = validate_nemogym_rollout(rollout)
    if not issues:
        try:
            convert_rollout(rollout, origin=origin)
        except ConversionError as exc:
            issues = [SchemaIssue(exc.json_path, exc.message)]
        else:
            return RolloutCheck(Verdict.STRICT)
    full_issues = validate_nemogym_rollout(rollout, strict=False)
    if full_issues:
        return RolloutCheck(Verdict.NOT_A_ROLLOUT, full_issues)
    try:
        run = convert_rollout(rollout, strict=False, origin=origin)
    except ConversionError as exc:
        return RolloutCheck(Verdict.NOT_A_ROLLOUT, [SchemaIssue(exc.json_path, exc.message)])
    return RolloutCheck(Verdict.LENIENT_ONLY, issues, run.metadata["conversion"]["losses"])
