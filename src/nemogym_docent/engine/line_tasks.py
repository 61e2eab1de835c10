"""What each command does to one line of input; runs in worker processes, so it stays picklable."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from docent.data_models.agent_run import AgentRun
from docent.data_models.chat import AssistantMessage
from docent.data_models.util import clone_agent_run_with_random_ids
from pydantic import ValidationError

from nemogym_docent.convert import (
    convert_failed_attempt,
    convert_nemogym_rollout_to_agent_run,
    convert_rollout,
)
from nemogym_docent.errors import ConversionError, Issue
from nemogym_docent.identity import number_of, read_identity
from nemogym_docent.json_paths import json_type_name, render_json_path
from nemogym_docent.jsonl.chunks import Lines, numbered_lines
from nemogym_docent.jsonl.discovery import Source, sidecar_reason
from nemogym_docent.jsonl.dumping import dump_agent_run
from nemogym_docent.jsonl.parsing import BLANK, read_json_line
from nemogym_docent.options import ConversionOptions, RecordOrigin
from nemogym_docent.upload.keys import agent_run_upload_key, set_upload_key, upload_key
from nemogym_docent.upload.payload import may_be_oversize, oversize_message, run_payload

TaskKind = Literal["convert", "upload", "validate", "agent_runs"]


class LineResult(NamedTuple):
    """The outcome for one non-blank line: an output line or a run, or the issues against it."""

    line: int
    issues: tuple[Issue, ...] = ()
    """Why the line failed (empty when it converted or is valid)."""
    hints: tuple[str, ...] = ()
    """What the user may do about the failure."""
    output: bytes | None = None
    """The AgentRun JSON line, for ``convert``; for ``upload`` and ``agent_runs``, the run's
    JSON as it is sent (with its ids)."""
    run: AgentRun | None = None
    """The run itself, for ``upload`` and ``agent_runs`` (ready to send: its ids are fresh)."""
    size: int = 0
    """The bytes of the input line."""
    messages: int = 0
    tool_calls: int = 0
    reward: float | None = None
    losses: tuple[Issue, ...] | None = None
    """The lenient mode's approximations when the record converts only leniently, else None."""
    warnings: tuple[Issue, ...] = ()
    """For ``validate``: what Docent will refuse of a valid record (a run over its size limit)."""


class Plain(NamedTuple):
    """Consecutive records that need only be counted (and their output lines written)."""

    records: int = 0
    runs: int = 0
    messages: int = 0
    tool_calls: int = 0
    rewards: tuple[float, ...] = ()
    """The numeric rewards of the runs, in input order."""
    output: bytes = b""
    """The output lines of the runs, for ``convert``."""
    shard: str = ""
    """A file holding the output lines instead, which the reader removes (from worker
    processes, so that less goes through the pipe)."""


class ChunkResult(NamedTuple):
    """A chunk's records in input order: ``results`` one at a time, ``between[i]`` the plain
    records before ``results[i]`` and ``between[-1]`` those after the last."""

    results: list[LineResult]
    between: list[Plain]

    @property
    def records(self) -> int:
        return len(self.results) + sum(plain.records for plain in self.between)


def _plain(group: list[LineResult]) -> Plain:
    """The counts and output lines of consecutive records that need nothing else."""
    runs = [result for result in group if result.output is not None]
    return Plain(
        records=len(group),
        runs=len(runs),
        messages=sum(result.messages for result in runs),
        tool_calls=sum(result.tool_calls for result in runs),
        rewards=tuple(result.reward for result in runs if result.reward is not None),
        output=b"".join(result.output or b"" for result in runs),
    )


@dataclass(frozen=True)
class LineTask:
    """Convert rollouts to JSON lines (``convert``) or to runs to send (``upload``), validate
    them, or read lines of AgentRun JSON into runs to send (``agent_runs``).

    ``options`` are the mode and the detail. With ``stop_at_failure`` a chunk stops at
    its first failure, which says whether the lenient mode would convert the record.
    Records that convert (or are valid) without approximation come back as ``Plain`` counts and
    output, unless ``one_by_one``; runs to send always come one by one.
    """

    kind: TaskKind
    options: ConversionOptions
    stop_at_failure: bool = False
    one_by_one: bool = False

    def __call__(self, source: Source, lines: Lines) -> ChunkResult:
        chunk = ChunkResult([], [])
        group: list[LineResult] = []
        for number, raw in numbered_lines(lines):
            result = self._line(source, number, raw)
            if result is None:
                continue
            if (
                not self.one_by_one
                and not result.issues
                and result.losses is None
                and result.run is None
                and not result.warnings
            ):
                group.append(result)
                continue
            chunk.between.append(_plain(group))
            chunk.results.append(result)
            group = []
            if self.stop_at_failure and result.issues:
                break
        chunk.between.append(_plain(group))
        return chunk

    def _line(self, source: Source, number: int, raw: bytes) -> LineResult | None:
        try:
            value = read_json_line(raw)
        except ConversionError as exc:
            truncated = not raw.endswith((b"\n", b"\r"))
            hint = "the last line looks truncated: was the file cut short?" if truncated else None
            return _failed(source, number, _issues(exc), hint)
        if value is BLANK:
            return None
        if not isinstance(value, dict):
            what = "an AgentRun" if self.kind == "agent_runs" else "a rollout"
            message = f"{what} must be a JSON object, not {json_type_name(value)}"
            hint = None
            if isinstance(value, list):
                hint = (
                    "this line is a JSON array; JSON Lines holds one object a line "
                    f"(jq -c '.[]' {source.name} gives that)"
                )
            return _failed(source, number, [Issue("", message)], hint)
        origin = RecordOrigin(source.stem, number)
        if self.kind == "agent_runs":
            return _agent_run(source, number, raw, value)
        if source.standing is not None and not self.options.strict:
            return self._failed_attempt(source, origin, raw, value)
        if self.kind == "validate":
            return self._validated(source, origin, value, raw)
        try:  # the two steps of convert_nemogym_jsonl_line, the run kept for the counts
            run = convert_rollout(value, self.options, origin)
        except ConversionError as exc:
            return _failed(source, number, _issues(exc), *self._hints(value))
        return self._finish(source, number, raw, value, run)

    def _failed_attempt(
        self, source: Source, origin: RecordOrigin, raw: bytes, value: dict[str, Any]
    ) -> LineResult | None:
        """A line of a failures file (lenient mode): the standing attempt of its key is a run;
        an earlier attempt of the same key is left out, as a blank line is."""
        number = origin.line or 0
        attempts = (source.standing or {}).get(number)
        if attempts is None:
            return None
        try:
            run = convert_failed_attempt(value, self.options, origin, attempts=attempts)
        except ConversionError as exc:
            return _failed(source, number, _issues(exc))
        if self.kind == "validate":
            return LineResult(number, losses=_losses(run, source.name, number))
        return self._finish(source, number, raw, value, run)

    def _finish(
        self, source: Source, number: int, raw: bytes, value: dict[str, Any], run: AgentRun
    ) -> LineResult:
        """The line's result once its run is made: the health verdict joined in full detail."""
        if source.health and self.options.detail == "full":
            verdict = source.health.get(read_identity(value).canonical_rollout_id or "")
            if verdict is not None:
                run.metadata.setdefault("nemogym", {})["health"] = verdict
        if self.kind != "upload":
            return _converted(number, run, raw)
        set_upload_key(run, upload_key(raw, self.options, name=run.name))
        payload = run_payload(run)
        too_big = oversize_message(len(payload))
        if too_big is not None:
            return _failed(source, number, [Issue("", too_big)])
        return _converted(number, run, raw, payload=payload)

    def _validated(
        self, source: Source, origin: RecordOrigin, value: Any, raw: bytes
    ) -> LineResult:
        # jsonschema, which explains refusals, loads only for validate.
        from nemogym_docent.check import Verdict, check_nemogym_rollout  # noqa: PLC0415

        check = check_nemogym_rollout(value, origin=origin)
        number = origin.line or 0
        losses = None
        if check.verdict == Verdict.LENIENT_ONLY:
            losses = tuple(loss.at(source.name, number) for loss in check.losses)
        issues = check.issues(strict=self.options.strict)
        if not issues:
            warnings = _size_warnings(value, raw, self.options, origin)
            located = tuple(warning.at(source.name, number) for warning in warnings)
            return LineResult(number, losses=losses, warnings=located)
        hints = _notes(source, _not_a_rollout_hints(value, self.kind))
        located = tuple(issue.at(source.name, number) for issue in issues)
        return LineResult(number, located, hints, losses=losses)

    def _hints(self, value: dict[str, Any]) -> list[str | None]:
        hints: list[str | None] = list(_not_a_rollout_hints(value, self.kind))
        if self.stop_at_failure and self.options.strict and not hints:
            try:
                convert_nemogym_rollout_to_agent_run(value, strict=False)
            except ConversionError:
                pass
            else:
                hints.append("it converts with --lenient, which approximates what Docent refuses")
        return hints


def _not_a_rollout_hints(value: dict[str, Any], kind: str) -> tuple[str, ...]:
    if "task_input" in value and "task_id" in value and "response" not in value:
        return ("this line is a NeMo Gym materialized task (task_id, task_input), not a result",)
    if "verdict" in value and "findings" in value and "response" not in value:
        return ("this line is a NeMo Gym health verdict (rollout_verdicts.jsonl), not a result",)
    if "transcripts" in value and "responses_create_params" not in value:
        if kind == "upload":
            return ("this line is a Docent AgentRun; upload such lines with --from-agent-runs",)
        return ("this line is already a Docent AgentRun (as convert writes), not a rollout",)
    return ()


def _failed(source: Source, number: int, issues: list[Issue], *hints: str | None) -> LineResult:
    located = tuple(issue.at(source.name, number) for issue in issues)
    return LineResult(number, located, _notes(source, hints))


def _notes(source: Source, hints: Iterable[str | None]) -> tuple[str, ...]:
    """The hints, and what a NeMo Gym side file named on its own holds."""
    reason = sidecar_reason(source.name)
    notes = [hint for hint in hints if hint]
    if source.standing is not None:
        notes.append(f"{source.name} holds {reason}: with --lenient, one run per standing attempt")
    elif reason is not None:
        notes.append(f"{source.name} holds {reason}, not rollouts")
    return tuple(notes)


def _issues(exc: ConversionError) -> list[Issue]:
    """Every issue of a refusal; the first as the error words it (``not a NeMo Gym rollout:``)."""
    return [Issue(exc.json_path, exc.message), *exc.issues[1:]]


def _agent_run(source: Source, number: int, raw: bytes, value: dict[str, Any]) -> LineResult:
    try:
        run = AgentRun.model_validate(value)
    except ValidationError as exc:
        hint = None
        if "responses_create_params" in value:
            hint = "this line is a NeMo Gym rollout; leave out --from-agent-runs to upload it"
        issues = [
            Issue(render_json_path(error["loc"]), _plain_words(error))
            for error in exc.errors(include_url=False)
        ]
        return _failed(source, number, issues, hint)
    # Docent refuses runs whose ids were set by the caller, as a dumped run's are.
    fresh = clone_agent_run_with_random_ids(run)
    set_upload_key(fresh, agent_run_upload_key(raw))
    payload = run_payload(fresh)
    too_big = oversize_message(len(payload))
    if too_big is not None:
        return _failed(source, number, [Issue("", too_big)])
    return LineResult(number, run=fresh, output=payload, size=len(raw))


def _size_warnings(
    value: dict[str, Any], raw: bytes, options: ConversionOptions, origin: RecordOrigin
) -> tuple[Issue, ...]:
    """That the record's run will be over Docent's request limit (only lines that may be are
    converted to find out)."""
    if not may_be_oversize(len(raw)):
        return ()
    try:
        run = convert_rollout(value, ConversionOptions(strict=False, detail=options.detail), origin)
    except ConversionError:
        return ()
    too_big = oversize_message(len(run_payload(run)))
    return () if too_big is None else (Issue("", too_big),)


_TYPE_WORDS = {
    "string": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "dict": "an object",
    "model": "an object",
    "list": "an array",
}


def _plain_words(error: Any) -> str:
    """A pydantic error said as the rest of the tool says it."""
    kind = str(error["type"])
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not allowed"
    for prefix, words in _TYPE_WORDS.items():
        if kind.startswith(f"{prefix}_"):
            return f"must be {words}, not {json_type_name(error.get('input'))}"
    if kind == "literal_error":
        return f"must be {error.get('ctx', {}).get('expected', 'one of the allowed values')}"
    return f"is not valid ({str(error['msg'])[:1].lower()}{str(error['msg'])[1:]})"


def _converted(number: int, run: AgentRun, raw: bytes, payload: bytes | None = None) -> LineResult:
    """The counts of a converted record, and its output line; with the ``payload`` of a run to
    send, that and the run instead."""
    messages = run.transcripts[0].messages
    tool_calls = sum(
        len(message.tool_calls or ())
        for message in messages
        if isinstance(message, AssistantMessage)
    )
    reward = run.metadata.get("scores", {}).get("reward")
    conversion = run.metadata.get("conversion")
    return LineResult(
        number,
        output=dump_agent_run(run, raw) if payload is None else payload,
        run=None if payload is None else run,
        size=len(raw),
        messages=len(messages),
        tool_calls=tool_calls,
        reward=number_of(reward),
        losses=None
        if conversion is None or conversion["mode"] != "lenient"
        else tuple(
            Issue(loss["json_path"], loss["message"], loss["kind"]) for loss in conversion["losses"]
        ),
    )


def _losses(run: AgentRun, name: str, number: int) -> tuple[Issue, ...]:
    """A lenient run's approximations, located at its line."""
    conversion = run.metadata.get("conversion", {})
    return tuple(
        Issue(loss["json_path"], loss["message"], loss["kind"]).at(name, number)
        for loss in conversion.get("losses", [])
    )
