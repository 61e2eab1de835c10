"""Write a converted run as one JSON line, without its random ids: equal lines, equal bytes."""

from __future__ import annotations

import json
from typing import Any

import orjson
from docent.data_models.agent_run import AgentRun

from nemogym_docent.jsonl.parsing import may_hold_non_finite

# Fields Docent fills with fresh random UUIDs; ``AgentRun.model_validate`` of a line fills them in.
_RANDOM_IDS: Any = {"id": True, "transcripts": {"__all__": {"id"}}}


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
    upload gives the groups fresh ids, as Docent requires, and names their run again). The
    groups' ``agent_run_id`` (the run's random id) is left out as the run's id is.
    """
    numbered = {
        group["id"]: f"group-{index}" for index, group in enumerate(data["transcript_groups"])
    }
    for group in data["transcript_groups"]:
        group["id"] = numbered[group["id"]]
        parent = group["parent_transcript_group_id"]
        group["parent_transcript_group_id"] = numbered.get(parent, parent)
        group["agent_run_id"] = None
    for transcript in data["transcripts"]:
        group_id = transcript["transcript_group_id"]
        transcript["transcript_group_id"] = numbered.get(group_id, group_id)
