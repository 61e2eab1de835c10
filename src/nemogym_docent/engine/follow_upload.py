"""``upload --follow``: send complete lines as NeMo Gym appends them, until Ctrl-C."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Protocol

from nemogym_docent.jsonl.chunks import CHUNK_LINES, Chunk
from nemogym_docent.jsonl.discovery import Source
from nemogym_docent.jsonl.follow import FollowedLine, Follower

POLL_SECONDS = 0.25


class Batches(Protocol):
    """What gathers runs and sends them: ``flush`` sends the ``gathered`` ones."""

    def flush(self) -> None: ...

    @property
    def gathered(self) -> int: ...


@dataclass
class FollowedInput:
    """Chunks of the complete lines appended to ``paths``, as they come, until ``stop`` is set.

    After each round of reading, once the chunks given out so far were processed, ``batches``
    are flushed if ``flush_every`` seconds passed since the last flush (and always at the end).
    ``select`` keeps the selected lines of each chunk, on its own.
    """

    paths: list[Path]
    stop: threading.Event
    batches: Batches
    flush_every: float
    select: Callable[[Iterable[Chunk]], Iterable[Chunk]] = lambda chunks: chunks
    follower: Follower = field(init=False)

    def __post_init__(self) -> None:
        self.follower = Follower(self.paths)

    def chunks(self) -> Iterator[Chunk]:
        sources: dict[Path, Source] = {}
        last_flush = time.monotonic()
        while True:
            stopping = self.stop.is_set()  # what was complete by then is still sent
            read_any = False
            for chunk in _chunks(self.follower.poll(), sources):
                read_any = True
                yield from self.select([chunk])
            now = time.monotonic()
            if not self.batches.gathered:
                last_flush = now
            elif stopping or now - last_flush >= self.flush_every:
                self.batches.flush()
                last_flush = now
            if stopping:
                return
            if not read_any:
                self.stop.wait(POLL_SECONDS)


def _chunks(lines: Iterable[FollowedLine], sources: dict[Path, Source]) -> Iterator[Chunk]:
    chunk: Chunk | None = None
    for line in lines:
        source = sources.setdefault(line.file, Source(str(line.file), line.file))
        if chunk is not None and (chunk.source is not source or len(chunk.lines) >= CHUNK_LINES):
            yield chunk
            chunk = None
        if chunk is None:
            chunk = Chunk(source, [])
        chunk.lines.append((line.line, line.raw))
        chunk.size += len(line.raw)
    if chunk is not None:
        yield chunk


class StopOnInterrupt:
    """While active, the first Ctrl-C (or SIGTERM) sets ``stop`` instead of raising; a second
    one interrupts at once. Inactive, it changes nothing."""

    def __init__(self, *, active: bool = True) -> None:
        self.stop = threading.Event()
        self._active = active
        self._previous: dict[int, object] = {}

    def __enter__(self) -> threading.Event:
        if self._active:
            for number in (signal.SIGINT, signal.SIGTERM):
                self._previous[number] = signal.signal(number, self._handle)
        return self.stop

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if not self.stop.is_set():
            self.stop.set()
            return
        previous = self._previous.get(number)
        if callable(previous):
            previous(number, frame)
        raise KeyboardInterrupt

    def __exit__(self, *_: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)  # type: ignore[arg-type]
