"""The public converters: NeMo Gym rollouts (dicts or JSONL files) to Docent AgentRuns."""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from docent.data_models.agent_run import AgentRun
from pydantic import ValidationError

from nemogym_docent.errors import ConversionError, Issue
from nemogym_docent.identity import is_environment_result, standing_attempts
from nemogym_docent.json_paths import json_type_name
from nemogym_docent.jsonl.dumping import dump_agent_run
from nemogym_docent.jsonl.files import export_stem, read_export_lines
from nemogym_docent.jsonl.parsing import BLANK, iter_json_lines, read_json_line
from nemogym_docent.mapping.agent_run import build_agent_run
from nemogym_docent.mapping.context import MappingContext
from nemogym_docent.mapping.environment_result import build_environment_run
from nemogym_docent.mapping.failed_attempt import build_failed_attempt_run
from nemogym_docent.models import EnvironmentResult, FailedAttemptRow, NemoGymRollout, StrictRollout
from nemogym_docent.options import ConversionOptions, Detail, RecordOrigin
from nemogym_docent.validation.schemas import FAILED_ATTEMPT_SCHEMA


def convert_nemogym_rollout_to_agent_run(
    rollout: dict[str, Any],
    *,
    strict: bool = True,
    detail: Detail = "docent",
    origin: RecordOrigin | None = None,
) -> AgentRun:
    """Convert one parsed rollout.

    Strict (the default): exactly what Docent's converter accepts converts, to the same AgentRun;
    anything else raises ``ConversionError``. ``strict=False`` also converts the rest of NeMo
    Gym's format, approximating what Docent cannot store and recording each approximation in
    ``metadata["conversion"]["losses"]``; a rollout that converts strictly converts the same way.
    ``detail="full"`` shows what Docent's converter leaves out (see ``ConversionOptions``); a
    rollout converts at either detail or at neither. ``origin`` (file stem, line) names the run
    of a rollout that lacks its identity keys.
    """
    return convert_rollout(rollout, _options(strict, detail), origin or _NO_ORIGIN)


def convert_rollout(rollout: Any, options: ConversionOptions, origin: RecordOrigin) -> AgentRun:
    """The run of one parsed rollout under ``options``: what every engine calls."""
    if options.strict:
        return convert_strictly(rollout, options, origin)
    # What the strict profile refuses is converted again, against the full format, so that a
    # rollout that converts strictly converts the same way in both modes.
    return _strict_run_or_none(rollout, options, origin) or convert_leniently(
        rollout, options, origin
    )


def convert_strictly(rollout: Any, options: ConversionOptions, origin: RecordOrigin) -> AgentRun:
    """The strict AgentRun, or ``ConversionError`` with every reason the strict profile refuses."""
    return _convert(rollout, _with_strict(options, strict=True), origin)


def convert_leniently(rollout: Any, options: ConversionOptions, origin: RecordOrigin) -> AgentRun:
    """The lenient AgentRun of a rollout, or ``ConversionError`` when it is not one at all."""
    return _convert(rollout, _with_strict(options, strict=False), origin)


def _with_strict(options: ConversionOptions, *, strict: bool) -> ConversionOptions:
    return options if options.strict is strict else dataclasses.replace(options, strict=strict)


def _strict_run_or_none(
    rollout: Any, options: ConversionOptions, origin: RecordOrigin
) -> AgentRun | None:
    """The strict AgentRun, or ``None`` (unexplained, so cheaply) where strict refuses."""
    try:
        return _convert(rollout, _with_strict(options, strict=True), origin, explain=False)
    except ConversionError:
        return None


def _convert(
    rollout: Any, options: ConversionOptions, origin: RecordOrigin, *, explain: bool = True
) -> AgentRun:
    """Validate against the mode's models, then map; a refusal is explained when ``explain``.

    A non-object, deep nesting and a run Docent refuses are ``ConversionError`` too.
    """
    if not isinstance(rollout, dict):
        raise ConversionError(f"a rollout must be a JSON object, not {json_type_name(rollout)}")
    environment = not options.strict and is_environment_result(rollout)
    models = (
        StrictRollout if options.strict else EnvironmentResult if environment else NemoGymRollout
    )
    try:
        try:
            model = models.model_validate(rollout)
        except ValidationError as exc:
            if not explain:
                raise ConversionError("refused by the generated models") from exc
            raise _schema_error(rollout, exc, strict=options.strict) from exc
        context = MappingContext(options, origin)
        if isinstance(model, EnvironmentResult):
            return build_environment_run(rollout, model, context)
        return build_agent_run(model, context)
    except RecursionError as exc:
        raise ConversionError("nested too deeply to convert") from exc
    except ValidationError as exc:
        raise ConversionError(f"Docent refused the converted run: {exc}") from exc


def convert_nemogym_failed_attempt_to_agent_run(
    row: dict[str, Any],
    *,
    detail: Detail = "docent",
    attempts: int | None = None,
    origin: RecordOrigin | None = None,
) -> AgentRun:
    """Convert one row of a ``*_failures.jsonl`` file (always leniently) to a run marked failed.

    ``attempts`` is the number of failed attempts of its key, when known (the file's rows of the
    same server or agent, task and rollout); the run records it and whether the key is final.
    Raises ``ConversionError`` when the row is not a failed attempt (no ``_ng_failure_class``).
    """
    options = ConversionOptions(strict=False, detail=detail)
    return convert_failed_attempt(row, options, origin or RecordOrigin(), attempts=attempts)


def convert_failed_attempt(
    row: Any, options: ConversionOptions, origin: RecordOrigin, *, attempts: int | None
) -> AgentRun:
    """``convert_nemogym_failed_attempt_to_agent_run`` given the options as one value."""
    if not isinstance(row, dict):
        raise ConversionError(f"a failed attempt must be a JSON object, not {json_type_name(row)}")
    options = _with_strict(options, strict=False)
    try:
        try:
            model = FailedAttemptRow.model_validate(row)
        except ValidationError as exc:
            raise _schema_error(row, exc, strict=False, root=FAILED_ATTEMPT_SCHEMA) from exc
        context = MappingContext(options, origin)
        return build_failed_attempt_run(row, model, context, attempts=attempts)
    except RecursionError as exc:
        raise ConversionError("nested too deeply to convert") from exc
    except ValidationError as exc:
        raise ConversionError(f"Docent refused the converted run: {exc}") from exc


def iter_nemogym_failures_file_to_agent_runs(
    file_path: str | Path, *, detail: Detail = "docent"
) -> Iterator[AgentRun]:
    """Convert a ``*_failures.jsonl`` file: one run per standing attempt (the last row of each
    key), in the order of those rows. The file is read twice; it holds one row per failure."""
    path = Path(file_path)
    stem = export_stem(path.name)
    standing = standing_attempts(
        (line, value)
        for line, value in iter_json_lines(read_export_lines(path, name=str(path)), str(path))
        if isinstance(value, dict)
    )
    options = ConversionOptions(strict=False, detail=detail)
    for line, value in iter_json_lines(read_export_lines(path, name=str(path)), str(path)):
        stands = standing.get(line)
        if stands is None and isinstance(value, dict):
            continue
        try:
            yield convert_failed_attempt(
                value,
                options,
                RecordOrigin(stem, line),
                attempts=None if stands is None else stands.attempts,
            )
        except ConversionError as exc:
            raise exc.at(path, line) from exc


def convert_nemogym_failures_file_to_agent_runs(
    file_path: str | Path, *, detail: Detail = "docent"
) -> list[AgentRun]:
    """The runs of ``iter_nemogym_failures_file_to_agent_runs`` as a list."""
    return list(iter_nemogym_failures_file_to_agent_runs(file_path, detail=detail))


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
    return convert_jsonl_line(line, _options(strict, detail), origin or _NO_ORIGIN)


def convert_jsonl_line(line: bytes, options: ConversionOptions, origin: RecordOrigin) -> bytes:
    """``convert_nemogym_jsonl_line`` given the options as one value (what engines call)."""
    value = read_json_line(line)
    if value is BLANK:
        return b""
    return dump_agent_run(convert_rollout(value, options, origin), line)


def iter_nemogym_jsonl_file_to_agent_runs(
    file_path: str | Path, *, strict: bool = True, detail: Detail = "docent"
) -> Iterator[AgentRun]:
    """Convert a JSONL export line by line (blank lines skipped), holding one line at a time.

    ``.jsonl.gz`` and ``.jsonl.zst`` files are decompressed (the first bytes decide), as the
    command line does; a file that cannot be read raises ``ConversionError`` in its words.
    """
    path = Path(file_path)
    stem = export_stem(path.name)
    options = _options(strict, detail)
    for line, value in iter_json_lines(read_export_lines(path, name=str(path)), str(path)):
        try:
            yield convert_rollout(value, options, RecordOrigin(stem, line))
        except ConversionError as exc:
            raise exc.at(path, line) from exc


def convert_nemogym_jsonl_file_to_agent_runs(
    file_path: str | Path, *, strict: bool = True, detail: Detail = "docent"
) -> list[AgentRun]:
    """Convert a whole JSONL export to a list of AgentRuns (see the iterator for large files).

    The runs are built with the cyclic garbage collector paused, then join its oldest
    generation (see ``_built_as_long_lived``): they hold no reference cycles, and scanning them
    took a third of the time.
    """
    with _built_as_long_lived():
        runs = iter_nemogym_jsonl_file_to_agent_runs(file_path, strict=strict, detail=detail)
        return list(runs)


def _options(strict: bool, detail: Detail) -> ConversionOptions:
    """The options of the public functions' arguments, made once per pair: a frozen dataclass
    takes microseconds to make, a sizeable share of a small record's conversion."""
    try:
        return _made_options(strict, detail)
    except TypeError:  # an unhashable argument: refused in ConversionOptions' own words
        return ConversionOptions(strict=strict, detail=detail)


@cache
def _made_options(strict: bool, detail: Detail) -> ConversionOptions:
    return ConversionOptions(strict=strict, detail=detail)


_NO_ORIGIN = RecordOrigin()


@contextmanager
def _built_as_long_lived() -> Iterator[None]:
    """Pause the cyclic collector; on success, move what it tracks to its oldest generation.

    Resuming the collector would otherwise scan every object made while it was paused (the
    runs: 47 tracked objects each) in a young collection, then again in the next generation,
    before they reach the oldest one, which they would reach anyway. ``gc.freeze()`` then
    ``gc.unfreeze()`` moves them there unscanned; it is skipped when the process has frozen
    objects of its own (unfreezing would release them).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
    finally:
        if was_enabled:
            gc.enable()


def _schema_error(
    rollout: dict[str, Any], exc: ValidationError, *, strict: bool, root: str | None = None
) -> ConversionError:
    """Every reason the schemas give for what the generated models refused."""
    # jsonschema loads only when a rollout fails: it takes a third of the converter's import time.
    from nemogym_docent.validation.refusal import explain_refusal  # noqa: PLC0415

    issues = explain_refusal(rollout, strict=strict, root=root)
    if not issues:
        first = exc.errors()[0]
        issues = [Issue("", f"the generated models refused it: {first['msg']} at {first['loc']}")]
    prefix = "" if strict else "not a NeMo Gym rollout: "
    return ConversionError(prefix + issues[0].message, json_path=issues[0].json_path, issues=issues)
