"""Write AgentRuns as JSON lines without their random ids, so equal input gives equal bytes."""

from __future__ import annotations

import json
from typing import Any

import orjson
from docent.data_models.agent_run import AgentRun

from nemogym_docent.json_lines import may_hold_non_finite

# Fields Docent fills with fresh random UUIDs; ``AgentRun.model_validate`` of a line fills them in.
_RANDOM_IDS: Any = {"id": True, "transcripts": {"__all__": {"id"}}}


def dump_agent_run(run: AgentRun, source_line: bytes = b"") -> bytes:
    """One JSON line (with its newline) for a run converted from ``source_line``.

    orjson writes it, except when the run holds what orjson cannot keep (integers past 64 bits,
    NaN or infinities, lone surrogates): then the standard library writes it, as ASCII.
    """
    data = run.model_dump(mode="json", exclude=_RANDOM_IDS)
    if not may_hold_non_finite(source_line):
        try:
            return orjson.dumps(data, option=orjson.OPT_APPEND_NEWLINE)
        except orjson.JSONEncodeError:
            pass
    return json.dumps(data, separators=(",", ":")).encode("ascii") + b"\n"
