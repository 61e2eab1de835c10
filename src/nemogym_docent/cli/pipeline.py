"""Stream input lines through a line task in chunks, in one process or a pool, in input order."""

from __future__ import annotations

import multiprocessing
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.context import BaseContext

from nemogym_docent.cli.inputs import Source, read_lines
from nemogym_docent.cli.line_tasks import LineResult, LineTask
from nemogym_docent.json_lines import split_lines

CHUNK_LINES = 256
CHUNK_BYTES = 4 << 20
IN_FLIGHT_PER_WORKER = 4


@dataclass
class Chunk:
    """Consecutive lines of one source, numbered from 1 within the source."""

    source: Source
    lines: list[tuple[int, bytes]]
    size: int = 0


def read_chunks(
    sources: Iterable[Source], *, count_bytes: Callable[[int], None] = lambda _: None
) -> Iterator[Chunk]:
    """Cut every source into chunks of at most ``CHUNK_LINES`` lines or about ``CHUNK_BYTES``.

    Lines are numbered as text mode numbers them (``\\r``, ``\\r\\n`` and ``\\n`` end a line).
    """
    for source in sources:
        chunk = Chunk(source, [])
        for number, raw in enumerate(split_lines(read_lines(source, count_bytes=count_bytes)), 1):
            chunk.lines.append((number, raw))
            chunk.size += len(raw)
            if len(chunk.lines) >= CHUNK_LINES or chunk.size >= CHUNK_BYTES:
                yield chunk
                chunk = Chunk(source, [])
        if chunk.lines:
            yield chunk


def run_task(
    task: LineTask, chunks: Iterable[Chunk], *, workers: int
) -> Iterator[tuple[Source, list[LineResult]]]:
    """Apply ``task`` to every chunk; results come back in input order whatever ``workers`` is.

    With several workers at most ``IN_FLIGHT_PER_WORKER`` chunks per worker are in flight, so
    memory stays bounded however large the input is.
    """
    if workers <= 1:
        for chunk in chunks:
            yield chunk.source, task(chunk.source, chunk.lines)
        return
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_process_context())
    pending: deque[tuple[Source, Future[list[LineResult]]]] = deque()
    try:
        for chunk in chunks:
            pending.append((chunk.source, pool.submit(task, chunk.source, chunk.lines)))
            if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                source, future = pending.popleft()
                yield source, future.result()
        while pending:
            source, future = pending.popleft()
            yield source, future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _process_context() -> BaseContext:
    """Fork on Linux (workers start at once, with the modules already imported); spawn elsewhere.

    Forking happens at the first submitted chunk, before the progress display starts its thread.
    """
    return multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
