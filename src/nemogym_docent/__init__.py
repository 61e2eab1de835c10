"""Convert NVIDIA NeMo Gym rollout exports into Docent AgentRuns, strictly and schema-first.

Everything loads on first use, so that importing the package stays quick (the command line's
``--help`` needs none of it) and Ctrl-C is in the command line's hands almost at once.
"""

from __future__ import annotations

from importlib import import_module

TYPE_CHECKING = False  # as typing's, without importing typing before the CLI handles Ctrl-C
if TYPE_CHECKING:
    from typing import Any

    from nemogym_docent.agent_run_lines import convert_nemogym_jsonl_line
    from nemogym_docent.converter import (
        Detail,
        RecordOrigin,
        convert_nemogym_jsonl_file_to_agent_runs,
        convert_nemogym_rollout_to_agent_run,
        iter_nemogym_jsonl_file_to_agent_runs,
    )
    from nemogym_docent.errors import ConversionError
    from nemogym_docent.issues import Issue
    from nemogym_docent.rollout_check import RolloutCheck, Verdict, check_nemogym_rollout
    from nemogym_docent.schema_validation import validate_nemogym_rollout

_LAZY = {
    "ConversionError": "nemogym_docent.errors",
    "Issue": "nemogym_docent.issues",
    "convert_nemogym_jsonl_line": "nemogym_docent.agent_run_lines",
    "convert_nemogym_jsonl_file_to_agent_runs": "nemogym_docent.converter",
    "convert_nemogym_rollout_to_agent_run": "nemogym_docent.converter",
    "iter_nemogym_jsonl_file_to_agent_runs": "nemogym_docent.converter",
    "RolloutCheck": "nemogym_docent.rollout_check",
    "Verdict": "nemogym_docent.rollout_check",
    "check_nemogym_rollout": "nemogym_docent.rollout_check",
    "RecordOrigin": "nemogym_docent.converter",
    "Detail": "nemogym_docent.converter",
    "validate_nemogym_rollout": "nemogym_docent.schema_validation",
}

__all__ = [
    "ConversionError",
    "Detail",
    "Issue",
    "RecordOrigin",
    "RolloutCheck",
    "Verdict",
    "check_nemogym_rollout",
    "convert_nemogym_jsonl_file_to_agent_runs",
    "convert_nemogym_jsonl_line",
    "convert_nemogym_rollout_to_agent_run",
    "iter_nemogym_jsonl_file_to_agent_runs",
    "validate_nemogym_rollout",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
