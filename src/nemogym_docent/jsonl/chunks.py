"""Cut sources into chunks of whole, numbered lines: what every engine works on."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from nemogym_docent.jsonl.discovery import InputError, Source, read_blocks
from nemogym_docent.jsonl.parsing import split_lines

CHUNK_LINES = 1024
CHUNK_BYTES = 512 << 10
_PRETTY_JSON_STARTS = (b"[", b"{", b"[{")


class Block(NamedTuple):
    """Lines of a source as read, each ending in ``\\n`` but the source's last, the first of
    them numbered ``first``; split into lines (at ``\\r`` too, as text mode) where they are
    converted."""

    first: int
    data: bytes


Lines = list[tuple[int, bytes]] | Block
"""A chunk of a source's lines: numbered lines, or a block of them."""


def numbered_lines(lines: Lines) -> Iterable[tuple[int, bytes]]:
    """Each line of the chunk and its number."""
    if isinstance(lines, Block):
        return enumerate(split_lines(io.BytesIO(lines.data)), lines.first)
    return lines


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


ChunkSource = Callable[[list[Source], Callable[[], Iterable[Chunk]]], Iterable[Chunk]]
"""Given the sources and a way to read them (again), the chunks to run the task on."""
