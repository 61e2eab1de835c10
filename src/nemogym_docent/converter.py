"""The public converters: NeMo Gym rollouts (dicts or JSONL files) to Docent AgentRuns."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from docent.data_models.agent_run import AgentRun
from pydantic import ValidationError

from nemogym_docent.agent_run_mapping import build_agent_run
from nemogym_docent.errors import ConversionError
from nemogym_docent.json_lines import iter_json_lines
from nemogym_docent.json_paths import json_type_name
from nemogym_docent.models import Rollout
from nemogym_docent.schema_validation import validate_nemogym_rollout


def convert_nemogym_rollout_to_agent_run(rollout: dict[str, Any]) -> AgentRun:
    """Convert one parsed rollout; what Docent's converter refuses raises ``ConversionError``."""
    if not isinstance(rollout, dict):
        raise ConversionError(f"a rollout must be a JSON object, not {json_type_name(rollout)}")
    try:
        model = Rollout.model_validate(rollout)
    except ValidationError as exc:
        raise _schema_error(rollout, exc) from exc
    except RecursionError as exc:
        raise ConversionError("nested too deeply to validate") from exc
    try:
        return build_agent_run(model)
    except RecursionError as exc:
        raise ConversionError("nested too deeply to convert") from exc
    except ValidationError as exc:
        raise ConversionError(f"Docent refused the converted run: {exc}") from exc


def iter_nemogym_jsonl_file_to_agent_runs(file_path: str | Path) -> Iterator[AgentRun]:
    """Convert a JSONL export line by line (blank lines skipped), holding one line at a time."""
    path = Path(file_path)
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise ConversionError(f"cannot read the file ({exc.strerror or exc})", file=path) from exc
    with stream:
        for line, value in iter_json_lines(stream, str(path)):
            try:
                yield convert_nemogym_rollout_to_agent_run(value)
            except ConversionError as exc:
                raise exc.at(path, line) from exc


def convert_nemogym_jsonl_file_to_agent_runs(file_path: str | Path) -> list[AgentRun]:
    """Convert a whole JSONL export to a list of AgentRuns (see the iterator for large files)."""
    return list(iter_nemogym_jsonl_file_to_agent_runs(file_path))


def _schema_error(rollout: dict[str, Any], exc: ValidationError) -> ConversionError:
    issues = validate_nemogym_rollout(rollout)
    if not issues:
        first = exc.errors()[0]
        return ConversionError(f"the generated models refused it: {first['msg']} at {first['loc']}")
    first_issue = issues[0]
    more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
    return ConversionError(first_issue.message + more, json_path=first_issue.json_path)
