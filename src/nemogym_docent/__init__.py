"""Convert NVIDIA NeMo Gym rollout exports into Docent AgentRuns, strictly and schema-first.

Everything loads on first use, so that importing the package stays quick (the command line's
``--help`` needs none of it) and Ctrl-C is in the command line's hands almost at once.
"""

from __future__ import annotations

from importlib import import_module

TYPE_CHECKING = False  # as typing's, without importing typing before the CLI handles Ctrl-C
if TYPE_CHECKING:
    from typing import Any

    from nemogym_docent.analysis.compare import compare_exports, compare_rollouts
    from nemogym_docent.analysis.summary import summarize_jsonl_files, summarize_rollouts
    from nemogym_docent.check import RolloutCheck, Verdict, check_nemogym_rollout
    from nemogym_docent.convert import (
        convert_nemogym_failed_attempt_to_agent_run,
        convert_nemogym_failures_file_to_agent_runs,
        convert_nemogym_jsonl_file_to_agent_runs,
        convert_nemogym_jsonl_line,
        convert_nemogym_rollout_to_agent_run,
        iter_nemogym_failures_file_to_agent_runs,
        iter_nemogym_jsonl_file_to_agent_runs,
    )
    from nemogym_docent.errors import ConversionError, Issue
    from nemogym_docent.options import Detail, RecordOrigin
    from nemogym_docent.validation.validator import validate_nemogym_rollout

_LAZY = {
    "ConversionError": "nemogym_docent.errors",
    "Issue": "nemogym_docent.errors",
    "convert_nemogym_failed_attempt_to_agent_run": "nemogym_docent.convert",
    "convert_nemogym_failures_file_to_agent_runs": "nemogym_docent.convert",
    "iter_nemogym_failures_file_to_agent_runs": "nemogym_docent.convert",
    "convert_nemogym_jsonl_line": "nemogym_docent.convert",
    "convert_nemogym_jsonl_file_to_agent_runs": "nemogym_docent.convert",
    "convert_nemogym_rollout_to_agent_run": "nemogym_docent.convert",
    "iter_nemogym_jsonl_file_to_agent_runs": "nemogym_docent.convert",
    "RolloutCheck": "nemogym_docent.check",
    "Verdict": "nemogym_docent.check",
    "check_nemogym_rollout": "nemogym_docent.check",
    "RecordOrigin": "nemogym_docent.options",
    "Detail": "nemogym_docent.options",
    "validate_nemogym_rollout": "nemogym_docent.validation.validator",
    "summarize_jsonl_files": "nemogym_docent.analysis.summary",
    "summarize_rollouts": "nemogym_docent.analysis.summary",
    "compare_exports": "nemogym_docent.analysis.compare",
    "compare_rollouts": "nemogym_docent.analysis.compare",
}

__all__ = [
    "ConversionError",
    "Detail",
    "Issue",
    "RecordOrigin",
    "RolloutCheck",
    "Verdict",
    "check_nemogym_rollout",
    "compare_exports",
    "compare_rollouts",
    "convert_nemogym_failed_attempt_to_agent_run",
    "convert_nemogym_failures_file_to_agent_runs",
    "convert_nemogym_jsonl_file_to_agent_runs",
    "convert_nemogym_jsonl_line",
    "convert_nemogym_rollout_to_agent_run",
    "iter_nemogym_failures_file_to_agent_runs",
    "iter_nemogym_jsonl_file_to_agent_runs",
    "summarize_jsonl_files",
    "summarize_rollouts",
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
