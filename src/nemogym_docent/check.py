"""The three-way verdict on a record: converts strictly, only leniently, or not a rollout at all."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from docent.data_models.agent_run import AgentRun

from nemogym_docent.convert import convert_leniently, convert_strictly
from nemogym_docent.errors import ConversionError, Issue
from nemogym_docent.options import ConversionOptions, Detail, RecordOrigin


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
    strict_issues: list[Issue] = field(default_factory=list)
    """Every reason the strict mode refuses the record (empty for ``STRICT``)."""
    lenient_issues: list[Issue] = field(default_factory=list)
    """Every reason the lenient mode refuses it (empty unless ``NOT_A_ROLLOUT``)."""
    losses: list[Issue] = field(default_factory=list)
    """The approximations of the conversion (``LENIENT_ONLY``, or full detail), each with its
    ``loss_kind``."""

    def issues(self, *, strict: bool = True) -> list[Issue]:
        """Why the given mode refuses the record."""
        return self.strict_issues if strict else self.lenient_issues


def check_nemogym_rollout(
    rollout: Any, *, detail: Detail = "docent", origin: RecordOrigin | None = None
) -> RolloutCheck:
    """Check one record in both modes, listing every schema violation where a mode refuses it.

    Each mode validates the record once: the generated models decide, and ``jsonschema`` is
    asked only to explain a refusal. The verdict is the same at either ``detail``; with
    ``detail="full"``, ``losses`` are full detail's (a ``STRICT`` record may have some too).
    """
    options, where = ConversionOptions(detail=detail), origin or RecordOrigin()
    try:
        strict_run = convert_strictly(rollout, options, where)
    except ConversionError as exc:
        strict_issues = list(exc.issues)
    else:
        return RolloutCheck(Verdict.STRICT, losses=_losses(strict_run))
    try:
        run = convert_leniently(rollout, options, where)
    except ConversionError as exc:
        return RolloutCheck(Verdict.NOT_A_ROLLOUT, strict_issues, list(exc.issues))
    return RolloutCheck(Verdict.LENIENT_ONLY, strict_issues, losses=_losses(run))


def _losses(run: AgentRun) -> list[Issue]:
    """The approximations a run declares (none for a strict run at Docent's detail)."""
    conversion = run.metadata.get("conversion", {})
    return [
        Issue(loss["json_path"], loss["message"], loss["kind"])
        for loss in conversion.get("losses", [])
    ]
