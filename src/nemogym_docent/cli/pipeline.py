"""The loop convert, validate and upload share: find the inputs, open the outputs, read the lines
in chunks, run a line task on them (in one process or a pool, in input order), count, report
failures, and leave no partial output behind when stopped."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing.context import BaseContext
from pathlib import Path
from types import TracebackType
from typing import IO

import typer

from nemogym_docent.cli import STOPPING_SIGNALS, Interrupted
from nemogym_docent.cli.inputs import Discovery, InputError, Source, discover, read_blocks
from nemogym_docent.cli.line_tasks import (
    Block,
    ChunkResult,
    LineResult,
    Lines,
    LineTask,
    Plain,
    numbered_lines,
)
from nemogym_docent.cli.reporting import (
    ExitCode,
    InputProgress,
    Rows,
    RunStats,
    conversion_rows,
    fail,
    issue_json,
    issue_text,
    print_summary,
    say,
)

CHUNK_LINES = 1024
CHUNK_BYTES = 512 << 10
IN_FLIGHT_PER_WORKER = 4
SHARD_BYTES = 64 << 10
FAILURES_SHOWN = 20
_PRETTY_JSON_STARTS = (b"[", b"{", b"[{")


@dataclass
class Chunk:
    """Consecutive lines of one source, numbered from 1 within the source (none for an empty
    source, so that every source read is seen): ``lines``, or a ``block`` of them as read."""

    source: Source
    lines: list[tuple[int, bytes]] = field(default_factory=list)
    size: int = 0
    block: Block | None = None

    @property
    def work(self) -> Lines:
        """What the line task is given."""
        return self.lines if self.block is None else self.block

    def numbered(self) -> Iterable[tuple[int, bytes]]:
        """Each line and its number."""
        return numbered_lines(self.work)


def read_chunks(
    sources: Iterable[Source],
    *,
    count_bytes: Callable[[int], None] = lambda _: None,
    note: Callable[[str], None] = lambda _: None,
) -> Iterator[Chunk]:
    """Cut every source into blocks of whole lines, at most ``CHUNK_LINES`` lines (split at
    ``\\n``) or about ``CHUNK_BYTES``; a line longer than that is a block of its own.

    Lines are numbered as text mode numbers them (``\\r``, ``\\r\\n`` and ``\\n`` end a line).
    A file that is one pretty-printed JSON document is refused as a whole (``InputError``).
    """
    for source in sources:
        number = 1
        started = False
        start: list[bytes] = []  # the start of a line, in the pieces read so far
        for data in read_blocks(source, CHUNK_BYTES, count_bytes=count_bytes, note=note):
            if b"\n" not in data:
                start.append(data)
                continue
            rest = b"".join([*start, data]) if start else data
            while True:
                end, newlines = _whole_lines(rest)
                if not end:
                    break
                block = Block(number, rest[:end])
                rest = rest[end:]
                started = started or _check_start(source, block)
                number += _line_count(block.data, newlines)
                yield Chunk(source, size=len(block.data), block=block)
            start = [rest] if rest else []
        if start or number == 1:
            block = Block(number, b"".join(start))
            if not started:
                _check_start(source, block)
            yield Chunk(source, size=len(block.data), block=block)


def _whole_lines(data: bytes) -> tuple[int, int]:
    """Where the first ``CHUNK_LINES`` whole lines of ``data`` end (0: no whole line), and
    how many ``\\n`` they hold."""
    newlines = data.count(b"\n")
    if newlines <= CHUNK_LINES:
        return data.rfind(b"\n") + 1, newlines
    end = 0
    for _ in range(CHUNK_LINES):
        end = data.index(b"\n", end) + 1
    return end, CHUNK_LINES


def _line_count(data: bytes, newlines: int) -> int:
    """The lines of ``data``, whole lines holding ``newlines`` ``\\n``, as text mode counts them
    (``\\r`` ends a line too)."""
    if b"\r" in data:
        return newlines + data.count(b"\r") - data.count(b"\r\n")
    return newlines


def _check_start(source: Source, block: Block) -> bool:
    """Whether the source's first record starts in ``block`` (refused if it is pretty JSON)."""
    for _, raw in numbered_lines(block):
        if raw.strip():
            _refuse_pretty_json(source, raw)
            return True
    return False


def _refuse_pretty_json(source: Source, first_line: bytes) -> None:
    start = first_line.strip()
    if start not in _PRETTY_JSON_STARTS:
        return
    name = source.name if source.path is not None else "-"
    what, program = ("an array", ".[]") if start.startswith(b"[") else ("an object", ".")
    raise InputError(
        f"{source.name}: this is JSON ({what} over several lines), not JSON Lines "
        "(one record a line)",
        hint=f"jq -c '{program}' {name} > records.jsonl writes it as JSON Lines",
    )


def run_task(
    task: LineTask, chunks: Iterable[Chunk], *, workers: int
) -> Iterator[tuple[Source, ChunkResult]]:
    """Apply ``task`` to every chunk; results come back in input order whatever ``workers`` is.

    With several workers at most ``IN_FLIGHT_PER_WORKER`` chunks per worker are in flight, so
    memory stays bounded however large the input is; an input that cannot be read stops it
    after the chunks read before, as in one process. Workers ignore Ctrl-C: the parent stops.
    """
    if workers <= 1:
        for chunk in chunks:
            yield chunk.source, task(chunk.source, chunk.work)
        return
    shards: str | None = None  # without a temporary folder, output lines take the pipe
    with contextlib.suppress(OSError):
        shards = tempfile.mkdtemp(prefix="nemogym-docent-")
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=_process_context(), initializer=_ignore_interrupts
    )
    pending: deque[tuple[Source, Future[ChunkResult]]] = deque()
    unreadable: InputError | None = None
    try:
        try:
            for chunk in chunks:
                with _interrupts_held(first=not pending):
                    future = pool.submit(_run_chunk, task, chunk.source, chunk.work, shards)
                pending.append((chunk.source, future))
                if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                    source, future = pending.popleft()
                    yield source, future.result()
        except InputError as exc:
            unreadable = exc
        while pending:
            source, future = pending.popleft()
            yield source, future.result()
        if unreadable is not None:
            raise unreadable
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if shards is not None:
            shutil.rmtree(shards, ignore_errors=True)


def _run_chunk(task: LineTask, source: Source, lines: Lines, shards: str | None) -> ChunkResult:
    """In a worker: the task on one chunk, its large blocks of output lines left in files."""
    chunk = task(source, lines)
    if shards is None:
        return chunk
    return chunk._replace(between=[_to_shard(plain, shards) for plain in chunk.between])


def _to_shard(plain: Plain, shards: str) -> Plain:
    if len(plain.output) < SHARD_BYTES:
        return plain
    try:
        handle, path = tempfile.mkstemp(dir=shards)
        with open(handle, "wb") as shard:
            shard.write(plain.output)
    except OSError:
        return plain  # the pipe still takes it
    return plain._replace(output=b"", shard=path)


def _append_file(path: str, stream: IO[bytes]) -> None:
    """Copy a file to the end of ``stream`` (within the kernel where it can), and remove it."""
    stream.flush()
    with open(path, "rb") as shard:
        size = os.fstat(shard.fileno()).st_size
        sent = 0
        try:
            while sent < size:
                count = os.sendfile(stream.fileno(), shard.fileno(), sent, size - sent)
                if not count:
                    break
                sent += count
        except OSError as exc:
            if isinstance(exc, BrokenPipeError):
                raise
            shard.seek(sent)
            shutil.copyfileobj(shard, stream)
    os.unlink(path)


class _interrupts_held:
    """Holds Ctrl-C and SIGTERM back while the first chunk is submitted (when the workers are
    forked), so that a worker never starts with the parent's handler; the parent then receives
    them."""

    def __init__(self, *, first: bool) -> None:
        self._active = first and hasattr(signal, "pthread_sigmask")

    def __enter__(self) -> None:
        if self._active:
            signal.pthread_sigmask(signal.SIG_BLOCK, STOPPING_SIGNALS)

    def __exit__(self, *_: object) -> None:
        if self._active:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPPING_SIGNALS)


def _ignore_interrupts() -> None:
    """In a worker: Ctrl-C is the parent's to handle; SIGTERM ends the worker at once."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPPING_SIGNALS)


def _process_context() -> BaseContext:
    """Fork on Linux (workers start at once, with the modules already imported); spawn elsewhere.

    Forking happens at the first submitted chunk, before the progress display starts its thread.
    """
    return multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")


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


ChunkSource = Callable[[list[Source], Callable[[], Iterable[Chunk]]], Iterable[Chunk]]
"""Given the sources and a way to read them (again), the chunks to run the task on."""


@dataclass
class Session:
    """One command's run over its inputs: what the three commands share.

    Used as a context manager around the loop over ``results()``: on success every output is
    put in place; when a record stops the command only ``--errors`` is; on Ctrl-C or any other
    fault nothing is left behind.
    """

    task: LineTask
    inputs: list[str]
    workers: int = 1
    quiet: bool = False
    skip_invalid: bool = False
    errors: Path | None = None
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
            self._found = discover(self.inputs, skip_unreadable=self.skip_invalid)
        except InputError as exc:
            fail(str(exc), hints=[exc.hint] if exc.hint else [])
        if not self.quiet:
            say(*self._found.notes)
        self._refuse_overwriting_inputs()
        try:
            if self.output is not None:
                self.output_file = OutputFile(self.output)
            if self.errors is not None:
                self._errors_file = OutputFile(str(self.errors))
        except BaseException:
            if self.output_file is not None:
                self.output_file.close(keep=False)
            raise
        return self

    def _refuse_overwriting_inputs(self) -> None:
        outputs = {"-o": self.output, "--errors": None if self.errors is None else str(self.errors)}
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
            self.progress_label, enabled=not self.quiet and sys.stderr.isatty()
        )
        stats = self.stats
        current: Source | None = None
        try:
            sources = self._found.sources

            def read() -> Iterable[Chunk]:
                return read_chunks(sources, count_bytes=progress.count_bytes, note=self._note)

            chunks = read() if self.chunk_source is None else self.chunk_source(sources, read)
            for source, chunk in run_task(self.task, chunks, workers=self.workers):
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
                _append_file(plain.shard, self.output_file.stream)
            else:
                self.output_file.stream.write(plain.output)

    def reject(self, result: LineResult) -> None:
        """A record that failed: into ``--errors``; then stop the command, or (with
        ``--skip-invalid``) say so on stderr, the first ``FAILURES_SHOWN`` times."""
        if self._errors_file is not None:
            self._errors_file.stream.write(b"".join(issue_json(i) for i in result.issues))
        first = result.issues[0]
        more = len(result.issues) - 1
        text = issue_text(first) + (f" (and {more} more)" if more else "")
        if not self.skip_invalid:
            where = first.file if first.file and first.file != "<stdin>" else "INPUT"
            fail(
                text,
                ExitCode.INVALID,
                then=self.when_stopped(),
                hints=[
                    *result.hints,
                    f"see every issue with: nemogym-docent validate {where}; "
                    "--skip-invalid goes on with the other records",
                ],
            )
        if self.errors is None and not self.quiet and self.stats.failed <= FAILURES_SHOWN:
            say(text, *self.new_hints(result.hints))

    def new_hints(self, hints: Iterable[str]) -> list[str]:
        """``hint:`` lines for the hints not given yet in this run."""
        fresh = [hint for hint in hints if hint not in self._hints_given]
        self._hints_given.update(fresh)
        return [f"hint: {hint}" for hint in fresh]

    def _note(self, message: str) -> None:
        if not self.quiet:
            say(message)

    def finish(self, title: str, rows: Rows | None = None, *, say_if_empty: bool = True) -> None:
        """Say what was skipped (even when quiet), that there were no records, and the summary."""
        stats = self.stats
        if stats.failed and self.skip_invalid:
            if self.quiet or self.errors is not None:
                where = f"; details in {self.errors}" if self.errors is not None else ""
                say(f"skipped {stats.failed:,} invalid record{_s(stats.failed)}{where}")
            elif stats.failed > FAILURES_SHOWN:
                say(
                    f"... and {stats.failed - FAILURES_SHOWN:,} more invalid records (see --errors)"
                )
        if not stats.records and say_if_empty:
            say("no records in the input")
        if not self.quiet:
            print_summary(title, rows if rows is not None else conversion_rows(stats))


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _silence_stdout() -> None:
    """After the reader of stdout went away: later flushes must not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
