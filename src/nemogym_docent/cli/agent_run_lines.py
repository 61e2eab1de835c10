"""Write AgentRuns as JSON lines without their random ids, so equal input gives equal bytes."""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from docent.data_models.agent_run import AgentRun

# Fields Docent fills with fresh random UUIDs; ``AgentRun.model_validate`` of a line fills them in.
_RANDOM_IDS: Any = {"id": True, "transcripts": {"__all__": {"id"}}}
# Input spellings that parse to non-finite floats, which orjson would write as null.
_NON_FINITE_HINT = re.compile(rb"NaN|Infinity|[0-9][eE]\+?[0-9]{3}|[0-9]{309}")


def dump_agent_run(run: AgentRun, source_line: bytes = b"") -> bytes:
    """One JSON line (with its newline) for a run converted from ``source_line``.

    orjson writes it, except when the run holds what orjson cannot keep (integers past 64 bits,
    NaN or infinities, lone surrogates): then the standard library writes it, as ASCII.
    """
    data = run.model_dump(mode="json", exclude=_RANDOM_IDS)
    if _NON_FINITE_HINT.search(source_line) is None:
        try:
            return orjson.dumps(data, option=orjson.OPT_APPEND_NEWLINE)
        except orjson.JSONEncodeError:
            pass
    return json.dumps(data, separators=(",", ":")).encode("ascii") + b"\n"
