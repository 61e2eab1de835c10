"""Convert NVIDIA NeMo Gym rollout exports into Docent AgentRuns, strictly and schema-first."""

from nemogym_docent.converter import (
    convert_nemogym_jsonl_file_to_agent_runs,
    convert_nemogym_rollout_to_agent_run,
    iter_nemogym_jsonl_file_to_agent_runs,
)
from nemogym_docent.errors import ConversionError
from nemogym_docent.schema_validation import SchemaIssue, validate_nemogym_rollout

__all__ = [
    "ConversionError",
    "SchemaIssue",
    "convert_nemogym_jsonl_file_to_agent_runs",
    "convert_nemogym_rollout_to_agent_run",
    "iter_nemogym_jsonl_file_to_agent_runs",
    "validate_nemogym_rollout",
]
