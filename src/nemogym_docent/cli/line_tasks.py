"""What each command does to one line of input; runs in worker processes, so it stays picklable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

from docent.data_models.agent_run import AgentRun
from docent.data_models.chat import AssistantMessage
from docent.data_models.util import clone_agent_run_with_random_ids
from pydantic import ValidationError

from nemogym_docent.agent_run_lines import convert_jsonl_line_to_agent_run, dump_agent_run
from nemogym_docent.cli.inputs import Source
from nemogym_docent.converter import RecordOrigin
from nemogym_docent.errors import ConversionError
from nemogym_docent.issues import Issue
from nemogym_docent.json_lines import BLANK, read_json_line
from nemogym_docent.json_paths import render_json_path
from nemogym_docent.rollout_check import RolloutCheck, Verdict, check_nemogym_rollout
from nemogym_docent.upload_keys import agent_run_upload_key, set_upload_key, upload_key

TaskKind = Literal["convert", "upload", "validate", "agent_runs"]


class LineResult(NamedTuple):
    """The outcome for one non-blank line: an output line or a run, or the issues against it."""

    line: int
    output: bytes | None
    issues: tuple[Issue, ...]
    run: AgentRun | None = None
    """The run itself, for ``upload`` and ``agent_runs`` (ready to send: its ids are fresh, its
    upload key set)."""
    size: int = 0
    """The bytes of the input line."""
    messages: int = 0
    tool_calls: int = 0
    reward: float | None = None
    lenient_only: bool = False
    """The record converts only in the lenient mode (its ``losses`` are the approximations)."""
    losses: tuple[Issue, ...] = ()
    """The approximations the lenient mode made (or would make, for ``validate``)."""


@dataclass(frozen=True)
class LineTask:
    """Convert rollouts to JSON lines (``convert``) or to runs to send (``upload``), validate
    them, or read lines of AgentRun JSON into runs to send (``agent_runs``).

    ``strict=False`` is the converter's lenient mode.
    """

    kind: TaskKind
    strict: bool = True

    def __call__(self, source: Source, lines: list[tuple[int, bytes]]) -> list[LineResult]:
        stem = source.stem
        results: list[LineResult] = []
        for number, raw in lines:
            try:
                result = self._one(RecordOrigin(stem, number), raw)
            except ConversionError as exc:
                result = LineResult(number, None, exc.issues)
            if result is not None:
                results.append(result)
        return results

    def _one(self, origin: RecordOrigin, raw: bytes) -> LineResult | None:
        """The line's result (None for a blank line); ``ConversionError`` when it fails."""
        number = origin.line or 0
        if self.kind in ("convert", "upload"):
            run = convert_jsonl_line_to_agent_run(raw, strict=self.strict, origin=origin)
            if run is None:
                return None
            if self.kind == "upload":
                set_upload_key(run, upload_key(raw, strict=self.strict))
            return _converted(number, run, raw, self.kind == "upload")
        value = read_json_line(raw)
        if value is BLANK:
            return None
        if self.kind == "validate":
            return _validated(number, check_nemogym_rollout(value, origin=origin), self.strict)
        try:
            run = AgentRun.model_validate(value)
        except ValidationError as exc:
            return LineResult(number, None, _pydantic_issues(exc))
        # Docent refuses runs whose ids were set by the caller, as a dumped run's are.
        fresh = clone_agent_run_with_random_ids(run)
        set_upload_key(fresh, agent_run_upload_key(raw))
        return LineResult(number, None, (), run=fresh, size=len(raw))


def _validated(number: int, check: RolloutCheck, strict: bool) -> LineResult:
    lenient_only = check.verdict == Verdict.LENIENT_ONLY
    issues = tuple(check.issues(strict=strict))
    return LineResult(number, None, issues, lenient_only=lenient_only, losses=tuple(check.losses))


def _converted(number: int, run: AgentRun, raw: bytes, keep_run: bool) -> LineResult:
    messages = run.transcripts[0].messages
    tool_calls = sum(
        len(message.tool_calls or ())
        for message in messages
        if isinstance(message, AssistantMessage)
    )
    reward = run.metadata.get("scores", {}).get("reward")
    conversion = run.metadata.get("conversion")
    losses = conversion["losses"] if conversion else []
    numeric = isinstance(reward, int | float) and not isinstance(reward, bool)
    return LineResult(
        number,
        # convert_nemogym_jsonl_line's bytes: the same two steps, the run kept for the counts.
        None if keep_run else dump_agent_run(run, raw),
        (),
        run=run if keep_run else None,
        size=len(raw),
        messages=len(messages),
        tool_calls=tool_calls,
        reward=float(reward) if numeric else None,
        lenient_only=conversion is not None,
        losses=tuple(Issue(loss["json_path"], loss["message"], loss["kind"]) for loss in losses),
    )


def _pydantic_issues(exc: ValidationError) -> tuple[Issue, ...]:
    return tuple(
        Issue(render_json_path(part for part in error["loc"]), error["msg"])
        for error in exc.errors(include_url=False)
    )
