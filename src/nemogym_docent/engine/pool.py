"""Run a line task over chunks, in this process or a pool of workers, results in input order."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing.context import BaseContext
from typing import IO

from nemogym_docent.engine.line_tasks import ChunkResult, LineTask, Plain
from nemogym_docent.engine.stopping import STOPPING_SIGNALS
from nemogym_docent.jsonl.chunks import Chunk, Lines
from nemogym_docent.jsonl.discovery import InputError, Source

IN_FLIGHT_PER_WORKER = 4
SHARD_BYTES = 64 << 10


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


def append_shard(path: str, stream: IO[bytes]) -> None:
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
