"""One JSONL line of a rollout export in, one AgentRun JSON line out, without random ids.

``nemogym-docent convert``, the Ray integration and any other engine go through
``convert_nemogym_jsonl_line``, so equal input lines give equal bytes everywhere.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from docent.data_models.agent_run import AgentRun

from nemogym_docent.converter import Detail, RecordOrigin, convert_nemogym_rollout_to_agent_run
from nemogym_docent.json_lines import BLANK, may_hold_non_finite, read_json_line

# Fields Docent fills with fresh random UUIDs; ``AgentRun.model_validate`` of a line fills them in.
_RANDOM_IDS: Any = {"id": True, "transcripts": {"__all__": {"id"}}}


def convert_nemogym_jsonl_line(
    line: bytes,
    *,
    strict: bool = True,
    detail: Detail = "docent",
    origin: RecordOrigin | None = None,
) -> bytes:
    """The AgentRun JSON line (with its newline) that ``nemogym-docent convert`` writes for one
    line of a rollout export; ``b""`` for a blank line, which ``convert`` skips.

    ``strict=False`` is the lenient mode, ``detail="full"`` the full detail. ``origin`` (the
    file's stem and the line's number) names a run whose identity keys are missing, in the
    lenient mode only, as ``convert`` does.
    Raises ``ConversionError`` (with a JSON path, without file and line) when the line is not
    JSON or does not convert.
    """
    run = convert_jsonl_line_to_agent_run(line, strict=strict, detail=detail, origin=origin)
    return b"" if run is None else dump_agent_run(run, line)


def convert_jsonl_line_to_agent_run(
    line: bytes,
    *,
    strict: bool = True,
    detail: Detail = "docent",
    origin: RecordOrigin | None = None,
) -> AgentRun | None:
    """The run ``convert_nemogym_jsonl_line`` writes (with fresh ids), or None for a blank line."""
    value = read_json_line(line)
    if value is BLANK:
        return None
    return convert_nemogym_rollout_to_agent_run(value, strict=strict, detail=detail, origin=origin)


def dump_agent_run(run: AgentRun, source_line: bytes = b"") -> bytes:
    """One JSON line (with its newline) for a run converted from ``source_line``.

    orjson writes it, except when the run holds what orjson cannot keep (integers past 64 bits,
    NaN or infinities, lone surrogates): then the standard library writes it, as ASCII.
    """
    data = run.model_dump(mode="json", exclude=_RANDOM_IDS)
    if data["transcript_groups"]:
        _number_groups(data)
    if not may_hold_non_finite(source_line):
        try:
            return orjson.dumps(data, option=orjson.OPT_APPEND_NEWLINE)
        except orjson.JSONEncodeError:
            pass
    return json.dumps(data, separators=(",", ":")).encode("ascii") + b"\n"


def _number_groups(data: dict[str, Any]) -> None:
    """Replace the random ids of a dumped run's transcript groups by their positions.

    Equal lines give equal bytes; the references between groups and transcripts still hold (an
    upload gives the groups fresh ids, as Docent requires).
    """
    numbered = {
        group["id"]: f"group-{index}" for index, group in enumerate(data["transcript_groups"])
    }
    for group in data["transcript_groups"]:
        group["id"] = numbered[group["id"]]
        parent = group["parent_transcript_group_id"]
        group["parent_transcript_group_id"] = numbered.get(parent, parent)
    for transcript in data["transcripts"]:
        group_id = transcript["transcript_group_id"]
        transcript["transcript_group_id"] = numbered.get(group_id, group_id)
