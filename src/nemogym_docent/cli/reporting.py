"""Everything the commands say: exit codes, ``error:``/``hint:`` lines, issues as text, JSON or
GitHub annotations, the progress line and the summaries."""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from collections.abc import Iterable
from enum import IntEnum
from typing import TYPE_CHECKING, Literal, NoReturn

import orjson
import typer

from nemogym_docent.engine.stats import RunStats
from nemogym_docent.errors import Issue

if TYPE_CHECKING:
    from rich.progress import Progress

    from nemogym_docent.engine.selection_stage import SelectionStage

OutputFormat = Literal["text", "json", "github"]
COMMON_ERRORS_SHOWN = 10


class ExitCode(IntEnum):
    """What a command's exit status means (docs/cli.md lists them)."""

    OK = 0
    INVALID = 1
    """Invalid records (without ``--skip-invalid``), or no records for ``validate``."""
    ERROR = 2
    """Usage, input, output or server error (an upload's timeout included)."""
    INTERRUPTED = 130
    """Ctrl-C."""
    STDOUT_CLOSED = 141
    """Standard output was closed early (``| head``), as for other tools killed by SIGPIPE."""


def fail(
    message: str,
    code: ExitCode = ExitCode.ERROR,
    *,
    hints: Iterable[str] = (),
    then: Iterable[str] = (),
) -> NoReturn:
    """Print ``error: message``, the lines ``then``, and ``hint:`` lines on stderr; exit with
    ``code``."""
    say(f"error: {message}", *then, *(f"hint: {hint}" for hint in hints))
    raise typer.Exit(int(code))


def say(*lines: str) -> None:
    """Print lines on stderr."""
    sys.stderr.write("".join(f"{line}\n" for line in lines))
    sys.stderr.flush()


# Issues: one located problem, or (``loss_kind`` set) one approximation of the lenient mode.


def issue_json(issue: Issue) -> bytes:
    """One JSON line: file, line, json_path, message (and ``"severity": "warning"`` for a loss)."""
    fields: dict[str, object] = {
        "file": issue.file,
        "line": issue.line,
        "json_path": issue.json_path,
        "message": issue.said,
    }
    if issue.loss_kind is not None:
        fields["severity"] = "warning"
    return orjson.dumps(fields, option=orjson.OPT_APPEND_NEWLINE)


def issue_github(issue: Issue) -> str:
    """A GitHub Actions ``::error`` (``::warning`` for a loss) annotating the file and line."""
    properties = [f"file={_escape_property(issue.file or '')}"]
    if issue.line is not None:
        properties.append(f"line={issue.line}")
    if issue.json_path:
        properties.append(f"title={_escape_property(issue.json_path)}")
    severity = "error" if issue.loss_kind is None else "warning"
    return f"::{severity} {','.join(properties)}::{_escape_data(issue.said)}"


def render_issue(issue: Issue, output_format: OutputFormat) -> str:
    """The issue in one of the report formats, with its newline."""
    if output_format == "json":
        return issue_json(issue).decode()
    if output_format == "github":
        return issue_github(issue) + "\n"
    return f"{issue}\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


# Progress


class InputProgress:
    """Records and MB read, drawn on stderr only when ``enabled`` (a terminal, not --quiet).

    rich loads only then; the display starts at the first chunk, after worker processes forked.
    """

    def __init__(self, description: str, *, enabled: bool) -> None:
        self.description = description
        self.enabled = enabled
        self.bytes_read = 0
        self.records = 0
        self._progress: Progress | None = None
        self._started = 0.0

    def count_bytes(self, size: int) -> None:
        """Called for every line read (uncompressed size)."""
        self.bytes_read += size

    def add_records(self, count: int) -> None:
        """Called after each chunk of lines is processed."""
        self.records += count
        if not self.enabled:
            return
        if self._progress is None:
            self._progress = _start_progress(self.description)
            self._started = time.monotonic()
        elapsed = max(time.monotonic() - self._started, 1e-9)
        megabytes = self.bytes_read / 1e6
        rates = (
            f"{self.records:,} records  {megabytes:,.1f} MB  "
            f"{self.records / elapsed:,.0f} records/s  {megabytes / elapsed:,.1f} MB/s"
        )
        self._progress.update(self._progress.task_ids[0], rates=rates)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _start_progress(description: str) -> Progress:
    from rich.console import Console  # noqa: PLC0415 (only when drawn)
    from rich.progress import (  # noqa: PLC0415
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.fields[rates]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    progress.add_task(description, total=None, rates="")
    progress.start()
    return progress


# Summaries


Rows = list[tuple[str, str]]


def print_rows(title: str, rows: Rows) -> None:
    """A title and aligned ``name  value`` rows on stderr, with no trailing spaces."""
    width = max((len(name) for name, _ in rows), default=0)
    value_width = max((len(value) for _, value in rows), default=0)
    lines = [title]
    lines += [f"  {name.ljust(width)}  {value.rjust(value_width)}" for name, value in rows]
    say(*lines)


def conversion_rows(stats: RunStats) -> Rows:
    """Files, records, runs, failures, messages, tool calls, rewards, what was approximated."""
    rows = [
        ("files read", f"{stats.files:,}"),
        ("records", f"{stats.records:,}"),
        ("runs", f"{stats.runs:,}"),
        ("failed records", f"{stats.failed:,}"),
    ]
    if stats.runs and stats.messages:
        rows += [
            ("messages", f"{stats.messages:,}"),
            ("tool calls", f"{stats.tool_calls:,}"),
            ("reward", stats.reward_text()),
        ]
    return rows + lenient_rows(stats)


def lenient_rows(stats: RunStats) -> Rows:
    """Records converted only leniently, then the approximations by kind."""
    if not stats.lenient_only:
        return []
    rows = [
        ("records lenient only", f"{stats.lenient_only:,}"),
        ("approximations", f"{sum(stats.losses.values()):,}"),
    ]
    return rows + [(f"  {kind}", f"{count:,}") for kind, count in stats.losses.most_common()]


def print_common_errors(kinds: Counter[str]) -> None:
    """The most common kinds of error, each on one line: count, then the error."""
    if not kinds:
        return
    common = kinds.most_common(COMMON_ERRORS_SHOWN)
    width = max(len(f"{count:,}") for _, count in common)
    say("most common errors", *(f"  {count:>{width},}  {kind}" for kind, count in common))


def report_to_github(title: str, rows: Rows, kinds: Counter[str], counts: dict[str, int]) -> None:
    """Under GitHub Actions (``--format github``): the summary and the most common errors as
    markdown in ``$GITHUB_STEP_SUMMARY``, and ``counts`` as the step's outputs in
    ``$GITHUB_OUTPUT``; each only where GitHub sets its variable."""
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        lines = [f"### {title}", "", "| | |", "| --- | ---: |"]
        lines += [f"| {_cell(name)} | {_cell(value)} |" for name, value in rows]
        if kinds:
            lines += ["", "| count | most common errors |", "| ---: | --- |"]
            common = kinds.most_common(COMMON_ERRORS_SHOWN)
            lines += [f"| {count:,} | {_cell(kind)} |" for kind, count in common]
        with open(summary_file, "a", encoding="utf-8") as summary:
            summary.write("\n".join(lines) + "\n\n")
    output_file = os.environ.get("GITHUB_OUTPUT")
    if output_file:
        with open(output_file, "a", encoding="utf-8") as outputs:
            outputs.write("".join(f"{name}={value}\n" for name, value in counts.items()))


def _cell(text: str) -> str:
    """Text inside a markdown table cell."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def selection_rows(stage: SelectionStage | None, stats: RunStats) -> Rows:
    """The conversion rows, led by how many records were selected when the options select."""
    rows = conversion_rows(stats)
    if stage is None or not stage.selection.selects:
        return rows
    return [("selected", f"{stats.records:,} of {stage.records_read:,} records"), *rows]
