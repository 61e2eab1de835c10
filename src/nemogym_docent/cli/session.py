"""One command's run over its inputs: find them, open the outputs, run the line task over
their chunks, count, report failures, and leave no partial output behind when stopped."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

import typer

from nemogym_docent.analysis.where import WhereError
from nemogym_docent.cli.options import Conversion, Selecting
from nemogym_docent.cli.reporting import (
    ExitCode,
    InputProgress,
    Rows,
    conversion_rows,
    fail,
    issue_json,
    print_rows,
    say,
)
from nemogym_docent.engine import selection_stage as stages
from nemogym_docent.engine.line_tasks import LineResult, LineTask, Plain
from nemogym_docent.engine.pool import append_shard, run_task
from nemogym_docent.engine.stats import RunStats
from nemogym_docent.engine.stopping import Interrupted
from nemogym_docent.jsonl.chunks import Chunk, ChunkSource, read_chunks
from nemogym_docent.jsonl.discovery import Discovery, InputError, Source, discover

FAILURES_SHOWN = 20


class OutputFile:
    """An output the command writes (``-o``, ``--errors``): stdout for ``-``; a pipe or device
    as it is; otherwise a temporary file beside it that replaces it only when kept."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._temporary: Path | None = None
        self.stream: IO[bytes]
        if target == "-":
            self.stream = sys.stdout.buffer
            return
        path = Path(target)
        try:
            if path.exists() and not path.is_file():
                self.stream = path.open("wb")
            else:
                self._temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
                self.stream = self._temporary.open("wb", buffering=1 << 20)
        except OSError as exc:
            fail(f"{target}: cannot write ({exc.strerror or exc})")

    def close(self, *, keep: bool) -> None:
        """Close; put the file in place when ``keep``, else leave nothing behind."""
        if self.target == "-":
            self.stream.flush()
            return
        try:
            self.stream.close()
        finally:
            if self._temporary is not None:
                if keep:
                    self._temporary.replace(self.target)
                else:
                    self._temporary.unlink(missing_ok=True)


def _same_file(first: Path, second: Path) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:
        return first.resolve() == second.resolve()


@dataclass
class Session:
    """One command's run over its inputs: what the three commands share.

    Used as a context manager around the loop over ``results()``: on success every output is
    put in place; when a record stops the command only ``--errors`` is; on Ctrl-C or any other
    fault nothing is left behind.
    """

    task: LineTask
    inputs: list[str]
    conversion: Conversion = field(default_factory=Conversion)
    """Workers, quietness, ``--skip-invalid`` and ``--errors`` (the mode is the task's)."""
    output: str | None = None
    progress_label: str = "reading"
    when_stopped: Callable[[], list[str]] = list
    """Lines to say after the error when the command stops early (upload: what it sent)."""
    chunk_source: ChunkSource | None = None
    """Where the chunks come from instead of reading the inputs once (selection, following)."""
    stats: RunStats = field(default_factory=RunStats)
    output_file: OutputFile | None = None
    _errors_file: OutputFile | None = None
    _found: Discovery = field(default_factory=Discovery)
    _hints_given: set[str] = field(default_factory=set)

    def __enter__(self) -> Session:
        try:
            self._found = discover(
                self.inputs,
                skip_unreadable=self.conversion.skip_invalid,
                failures=self.conversion.failures,
                health=self.task.options.detail == "full",
            )
        except InputError as exc:
            fail(str(exc), hints=[exc.hint] if exc.hint else [])
        if not self.conversion.quiet:
            say(*self._found.notes)
        self._refuse_overwriting_inputs()
        try:
            if self.output is not None:
                self.output_file = OutputFile(self.output)
            if self.conversion.errors is not None:
                self._errors_file = OutputFile(str(self.conversion.errors))
        except BaseException:
            if self.output_file is not None:
                self.output_file.close(keep=False)
            raise
        return self

    def _refuse_overwriting_inputs(self) -> None:
        outputs = {
            "-o": self.output,
            "--errors": None if self.conversion.errors is None else str(self.conversion.errors),
        }
        named = {
            option: Path(target) for option, target in outputs.items() if target not in (None, "-")
        }
        for option, target in named.items():
            for source in self._found.sources:
                if source.path is not None and _same_file(target, source.path):
                    fail(
                        f"{target}: {option} names an input file; writing it would destroy "
                        "the input (choose another file)"
                    )
        if len(named) == 2 and _same_file(named["-o"], named["--errors"]):
            fail(f"{named['-o']}: -o and --errors name the same file (give two files)")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        stopped = isinstance(exc, typer.Exit)
        if isinstance(exc, Interrupted):
            say(*self.when_stopped())  # upload: what was sent, to rerun with --resume
        if self.output_file is not None:
            self.output_file.close(keep=exc is None)
        if self._errors_file is not None:
            self._errors_file.close(keep=exc is None or (stopped and self.stats.failed > 0))
        if isinstance(exc, BrokenPipeError):
            _silence_stdout()
            raise typer.Exit(int(ExitCode.STDOUT_CLOSED)) from None

    def results(self) -> Iterator[tuple[Source, LineResult]]:
        """The result of every record the task gives one by one, in input order; every record
        counted in ``stats``, and the output lines of plain records written as they come."""
        progress = InputProgress(
            self.progress_label, enabled=not self.conversion.quiet and sys.stderr.isatty()
        )
        stats = self.stats
        current: Source | None = None
        try:
            sources = self._found.sources

            def read() -> Iterable[Chunk]:
                return read_chunks(sources, count_bytes=progress.count_bytes, note=self._note)

            chunks = read() if self.chunk_source is None else self.chunk_source(sources, read)
            for source, chunk in run_task(self.task, chunks, workers=self.conversion.workers):
                if source is not current:
                    current = source
                    stats.files += 1
                for plain, result in zip(chunk.between, chunk.results, strict=False):
                    self._count(plain)
                    stats.records += 1
                    if result.losses is not None:
                        stats.count_lenient(result.losses)
                    if result.issues:
                        stats.failed += 1
                    elif result.output is not None or result.run is not None:
                        stats.add_run(result.messages, result.tool_calls, result.reward)
                    yield source, result
                self._count(chunk.between[-1])
                progress.add_records(chunk.records)
        except InputError as exc:
            progress.stop()
            fail(str(exc), hints=[exc.hint] if exc.hint else [], then=self.when_stopped())
        except BrokenProcessPool:
            progress.stop()
            fail(
                "a worker process stopped unexpectedly (killed, or out of memory?)",
                then=self.when_stopped(),
                hints=["run the command again, with fewer --workers if memory is short"],
            )
        finally:
            progress.stop()

    def _count(self, plain: Plain) -> None:
        """Count plain records; write their output lines."""
        if plain.records:
            self.stats.records += plain.records
            self.stats.add_runs(plain.runs, plain.messages, plain.tool_calls, plain.rewards)
        if plain.output or plain.shard:
            assert self.output_file is not None
            if plain.shard:
                append_shard(plain.shard, self.output_file.stream)
            else:
                self.output_file.stream.write(plain.output)

    def reject(self, result: LineResult) -> None:
        """A record that failed: into ``--errors``; then stop the command, or (with
        ``--skip-invalid``) say so on stderr, the first ``FAILURES_SHOWN`` times."""
        if self._errors_file is not None:
            self._errors_file.stream.write(b"".join(issue_json(i) for i in result.issues))
        first = result.issues[0]
        more = len(result.issues) - 1
        text = str(first) + (f" (and {more} more)" if more else "")
        if not self.conversion.skip_invalid:
            where = first.file if first.file and first.file != "<stdin>" else "INPUT"
            fail(
                text,
                ExitCode.INVALID,
                then=self.when_stopped(),
                hints=[
                    *result.hints,
                    # A line that is not a JSON object has no more to show than this error.
                    f"see every issue with: nemogym-docent validate {where}; "
                    "--skip-invalid goes on with the other records"
                    if first.json_path
                    else "--skip-invalid goes on with the other records",
                ],
            )
        if (
            self.conversion.errors is None
            and not self.conversion.quiet
            and self.stats.failed <= FAILURES_SHOWN
        ):
            say(text, *self.new_hints(result.hints))

    def new_hints(self, hints: Iterable[str]) -> list[str]:
        """``hint:`` lines for the hints not given yet in this run."""
        fresh = [hint for hint in hints if hint not in self._hints_given]
        self._hints_given.update(fresh)
        return [f"hint: {hint}" for hint in fresh]

    def _note(self, message: str) -> None:
        if not self.conversion.quiet:
            say(message)

    def finish(
        self,
        title: str,
        rows: Rows | None = None,
        *,
        say_if_empty: bool = True,
        stage: stages.SelectionStage | None = None,
    ) -> None:
        """Say what was skipped (even when quiet), that there were no records (or that the
        selection of ``stage`` kept none), and the summary."""
        stats = self.stats
        if stats.failed and self.conversion.skip_invalid:
            if self.conversion.quiet or self.conversion.errors is not None:
                where = (
                    f"; details in {self.conversion.errors}"
                    if self.conversion.errors is not None
                    else ""
                )
                say(f"skipped {stats.failed:,} invalid record{_s(stats.failed)}{where}")
            elif stats.failed > FAILURES_SHOWN:
                say(
                    f"... and {stats.failed - FAILURES_SHOWN:,} more invalid records (see --errors)"
                )
        if not stats.records and say_if_empty:
            say(no_records(stage))
        if not self.conversion.quiet:
            print_rows(title, rows if rows is not None else conversion_rows(stats))


def no_records(stage: stages.SelectionStage | None, empty: str = "no records in the input") -> str:
    """There are no records: none in the input (``empty``), or none that the selection kept."""
    if stage is not None and stage.records_read:
        read = stage.records_read
        return f"the selection kept none of the {read:,} record{_s(read)} read"
    return empty


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _silence_stdout() -> None:
    """After the reader of stdout went away: later flushes must not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def selection_stage(options: Selecting) -> stages.SelectionStage | None:
    """The stage that applies the selection options, or None when they select and group nothing;
    a malformed ``--where`` stops the command (exit 2) before anything is read."""
    try:
        return stages.stage_for(options.selection(), group_by_task=options.group_by == "task")
    except WhereError as exc:
        fail(f"--where: {exc}")
