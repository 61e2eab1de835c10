"""Follow rollout files while NeMo Gym writes them: complete lines only, new files too.

A ``Follower`` remembers, per file, the byte offset just past the last complete line it gave
out. Each ``poll`` reads what was appended since, gives out the lines that end in ``\\n`` and
leaves a partial last line in the file, to be read again once it is complete. Folders are
searched again on each poll for new ``*.jsonl`` files (NeMo Gym's side files left out).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

FOLLOWED_SUFFIX = ".jsonl"
_SIDE_FILE_ENDINGS = ("_materialized_inputs.jsonl", "_reward_profiling.jsonl", "_failures.jsonl")
_READ_SIZE = 4 << 20


class FollowedLine(NamedTuple):
    """A complete line of a followed file; ``line`` counts as text mode counts (from 1)."""

    file: Path
    line: int
    raw: bytes


@dataclass
class _Position:
    offset: int = 0
    lines: int = 0


@dataclass
class Follower:
    """Tails files and folders; ``poll()`` returns the complete lines appended since last time.

    ``paths`` are files (followed even before they exist) and folders (every ``*.jsonl`` in them
    and their subfolders, as they appear).
    """

    paths: list[Path]
    positions: dict[Path, _Position] = field(default_factory=dict)
    shrunk: list[Path] = field(default_factory=list)
    """Files found shorter than what was read of them (replaced or truncated): read again from
    the start. Cleared by the caller."""

    def files(self) -> list[Path]:
        """The files followed now, in a stable order."""
        found: dict[Path, None] = {}
        for path in self.paths:
            if path.is_dir():
                for child in sorted(path.rglob(f"*{FOLLOWED_SUFFIX}")):
                    if child.is_file() and not child.name.endswith(_SIDE_FILE_ENDINGS):
                        found[child] = None
            else:
                found[path] = None
        return list(found)

    def poll(self) -> Iterator[FollowedLine]:
        """Every complete line appended to any followed file since the last poll, read a few
        megabytes at a time."""
        for path in self.files():
            yield from self._read_new(path)

    def pending(self) -> list[tuple[Path, int]]:
        """Files ending in a partial line (no ``\\n`` yet), with the size of that partial line."""
        partial = []
        for path in self.files():
            position = self.positions.get(path, _Position())
            try:
                size = path.stat().st_size
            except OSError:
                continue
            if size > position.offset:
                partial.append((path, size - position.offset))
        return partial

    def _read_new(self, path: Path) -> Iterator[FollowedLine]:
        position = self.positions.setdefault(path, _Position())
        try:
            stream = path.open("rb")
        except FileNotFoundError:
            return
        with stream:
            size = stream.seek(0, 2)
            if size < position.offset:
                self.shrunk.append(path)
                position.offset = position.lines = 0
            stream.seek(position.offset)
            carried = b""
            while position.offset + len(carried) < size:
                block = stream.read(min(_READ_SIZE, size - position.offset - len(carried)))
                if not block:
                    break
                block = carried + block
                end = block.rfind(b"\n") + 1
                carried = block[end:]
                for raw in block[:end].splitlines(keepends=True):
                    position.offset += len(raw)
                    position.lines += 1
                    yield FollowedLine(path, position.lines, raw)
