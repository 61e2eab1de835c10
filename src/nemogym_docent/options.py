"""How a rollout converts (mode and detail) and where it came from: the values passed down."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Detail = Literal["docent", "full"]
"""How much of a rollout a run shows: ``"docent"`` as Docent's converter, or ``"full"``."""


@dataclass(frozen=True)
class ConversionOptions:
    """How to convert: ``strict`` refuses what Docent's converter refuses; lenient approximates.

    ``detail="docent"`` lays the run out exactly as Docent's converter does; ``"full"`` adds
    every metric as a score, the instructions, reasoning text, structured tool outputs, and the
    judges' and subagents' conversations as transcripts (docs/full-detail.md).
    """

    strict: bool = True
    detail: Detail = "docent"

    def __post_init__(self) -> None:
        if self.detail not in get_args(Detail):
            raise ValueError(f"detail must be 'docent' or 'full', not {self.detail!r}")


@dataclass(frozen=True)
class RecordOrigin:
    """Where a rollout came from; names a run whose identity keys are missing (lenient mode)."""

    file_stem: str | None = None
    line: int | None = None
