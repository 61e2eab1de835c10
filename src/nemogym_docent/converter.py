"""The public converters: NeMo Gym rollouts (dicts or JSONL files) to Docent AgentRuns."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from docent.data_models.agent_run import AgentRun
from pydantic import ValidationError

from nemogym_docent.agent_run_mapping import RecordOrigin, build_agent_run
from nemogym_docent.errors import ConversionError
from nemogym_docent.json_lines import iter_json_lines
from nemogym_docent.json_paths import json_type_name
from nemogym_docent.models import NemoGymRollout, Rollout


def convert_nemogym_rollout_to_agent_run(
    rollout: dict[str, Any], *, strict: bool = True
) -> AgentRun:
    """Convert one parsed rollout.

    Strict (the default): exactly what Docent's converter accepts converts, to the same AgentRun;
    anything else raises ``ConversionError``. ``strict=False`` also converts the rest of NeMo
    Gym's format, approximating what Docent cannot store and recording each approximation in
    ``metadata["conversion"]["losses"]``; a rollout that converts strictly converts the same way.
    """
    return convert_rollout(rollout, strict=strict)


def convert_rollout(
    rollout: Any, *, strict: bool = True, origin: RecordOrigin | None = None
) -> AgentRun:
    """``convert_nemogym_rollout_to_agent_run`` for a record read from ``origin`` (file, line)."""
    if not isinstance(rollout, dict):
        raise ConversionError(f"a rollout must be a JSON object, not {json_type_name(rollout)}")
    try:
        run = _convert_strictly(rollout, raise_errors=strict)
        if run is not None:
            return run
        # Lenient: only what the strict profile refuses is converted again, against the full
        # format, so that a rollout that converts strictly converts the same way in both modes.
        try:
            full_model = NemoGymRollout.model_validate(rollout)
        except ValidationError as exc:
            raise _schema_error(rollout, exc, strict=False) from exc
        return build_agent_run(full_model, lenient=origin or RecordOrigin())
    except RecursionError as exc:
        raise ConversionError("nested too deeply to convert") from exc
    except ValidationError as exc:
        raise ConversionError(f"Docent refused the converted run: {exc}") from exc


def _convert_strictly(rollout: dict[str, Any], *, raise_errors: bool) -> AgentRun | None:
    """The strict AgentRun; ``None`` when the strict profile refuses and errors are not raised."""
    try:
        model = Rollout.model_validate(rollout)
    except ValidationError as exc:
        if raise_errors:
            raise _schema_error(rollout, exc, strict=True) from exc
        return None
    try:
        return build_agent_run(model)
    except ConversionError:
        if raise_errors:
            raise
        return None


def iter_nemogym_jsonl_file_to_agent_runs(
    file_path: str | Path, *, strict: bool = True
) -> Iterator[AgentRun]:
    """Convert a JSONL export line by line (blank lines skipped), holding one line at a time."""
    path = Path(file_path)
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise ConversionError(f"cannot read the file ({exc.strerror or exc})", file=path) from exc
    with stream:
        for line, value in iter_json_lines(stream, str(path)):
            try:
                yield convert_rollout(value, strict=strict, origin=RecordOrigin(path.stem, line))
            except ConversionError as exc:
                raise exc.at(path, line) from exc


def convert_nemogym_jsonl_file_to_agent_runs(
    file_path: str | Path, *, strict: bool = True
) -> list[AgentRun]:
    """Convert a whole JSONL export to a list of AgentRuns (see the iterator for large files).

    The cyclic garbage collector is paused while the list fills: the runs hold no reference
    cycles, and rescanning the growing list took half of the time on large files.
    """
    with _cyclic_gc_paused():
        return list(iter_nemogym_jsonl_file_to_agent_runs(file_path, strict=strict))


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _schema_error(
    rollout: dict[str, Any], exc: ValidationError, *, strict: bool
) -> ConversionError:
    # jsonschema loads only when a rollout fails: it takes a third of the converter's import time.
    from nemogym_docent.schema_validation import validate_nemogym_rollout  # noqa: PLC0415

    issues = validate_nemogym_rollout(rollout, strict=strict)
    if not issues:
        first = exc.errors()[0]
        return ConversionError(f"the generated models refused it: {first['msg']} at {first['loc']}")
    first_issue = issues[0]
    more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
    prefix = "" if strict else "not a NeMo Gym rollout: "
    return ConversionError(prefix + first_issue.message + more, json_path=first_issue.json_path)
