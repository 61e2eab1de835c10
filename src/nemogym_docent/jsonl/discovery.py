"""Find the files the command line names and read their lines, decompressing on the fly."""

from __future__ import annotations

import glob
import os
import re
import stat
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from nemogym_docent.errors import ConversionError
from nemogym_docent.jsonl.files import (
    EXPORT_SUFFIXES,
    READ_ERRORS,
    compression_named,
    describe_read_error,
    export_stem,
    open_export,
)

STDIN = "-"
STDIN_NAME = "<stdin>"
_GLOB_CHARS = re.compile(r"[*?\[]")

# Files NeMo Gym writes next to a rollout export that hold no rollouts.
_SIDECARS = (
    (
        re.compile(r"_materialized_inputs\.jsonl(\.gz|\.zst)?\Z"),
        "NeMo Gym materialized inputs (the rows sent to agents, without response or reward)",
    ),
    (
        re.compile(r"_reward_profiling\.jsonl(\.gz|\.zst)?\Z"),
        "NeMo Gym reward profiling (per-task reward statistics)",
    ),
    (re.compile(r"_failures\.jsonl(\.gz|\.zst)?\Z"), "NeMo Gym failed attempts"),
    (re.compile(r"_aggregate_metrics\.json\Z"), "NeMo Gym aggregate metrics"),
)


class InputError(ConversionError):
    """An input that cannot be found or read as a whole (exit code 2), and what to do about it."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class Source:
    """One input: a file, or standard input when ``path`` is None."""

    name: str
    path: Path | None

    @property
    def stem(self) -> str:
        """The file name without ``.jsonl`` (and ``.gz``/``.zst``): names runs that lack an
        identity in lenient mode, as the library's file converter does."""
        return "stdin" if self.path is None else export_stem(self.path.name)


@dataclass
class Discovery:
    """The inputs to read, in order, and one note for each thing left out."""

    sources: list[Source] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _seen: dict[tuple[int, int], str] = field(default_factory=dict)

    def add(self, name: str, path: Path) -> None:
        """Add a file once, however many times it is named or reached."""
        info = path.stat()
        key = (info.st_dev, info.st_ino)
        first = self._seen.get(key)
        if first is not None:
            also = "" if first == name else f" (it is also {first})"
            self.notes.append(f"note: {name} is named more than once; read once{also}")
            return
        self._seen[key] = name
        self.sources.append(Source(name, path))


def sidecar_reason(name: str) -> str | None:
    """What a NeMo Gym file of this name holds instead of rollouts, or None for a rollout file."""
    for pattern, reason in _SIDECARS:
        if pattern.search(name):
            return reason
    return None


def discover(arguments: list[str], *, skip_unreadable: bool) -> Discovery:
    """Expand files, directories, globs and ``-`` into sources; ``InputError`` if one is missing.

    Directories and globs yield every ``*.jsonl``, ``*.jsonl.gz`` and ``*.jsonl.zst`` in sorted
    order, leaving out NeMo Gym's side files; a file named on its own is always read. A file or
    folder met on the way that cannot be read stops it before anything is read, or is left out
    with a note when ``skip_unreadable``.
    """
    found = Discovery()
    for argument in arguments:
        if argument == STDIN:
            if any(source.path is None for source in found.sources):
                raise InputError("- (standard input) is named twice")
            found.sources.append(Source(STDIN_NAME, None))
            continue
        path = Path(argument)
        if path.is_dir():
            _walk_directory(path, found, skip_unreadable=skip_unreadable, argument=argument)
        elif path.is_file():
            _check_readable(path, argument)
            found.add(argument, path)
        elif _GLOB_CHARS.search(argument) and not path.exists():
            matches = sorted(Path(match) for match in glob.glob(argument, recursive=True))
            if not matches:
                raise InputError(f"{argument}: no file matches this pattern")
            for match in matches:
                if match.is_dir():
                    _walk_directory(match, found, skip_unreadable=skip_unreadable)
                else:
                    _take(match, found, skip_unreadable=skip_unreadable)
        elif path.exists():
            raise InputError(f"{argument}: not a regular file")
        else:
            raise InputError(f"{argument}: no such file or directory")
    return found


def _walk_directory(
    root: Path, found: Discovery, *, skip_unreadable: bool, argument: str | None = None
) -> None:
    def unreadable_folder(exc: OSError) -> None:
        _unreadable(str(exc.filename), exc, found, skip_unreadable=skip_unreadable)

    before = len(found.sources)
    files: list[Path] = []
    for folder, subfolders, names in os.walk(root, onerror=unreadable_folder):
        subfolders.sort()
        files += (Path(folder) / name for name in names)
    for path in sorted(files):
        _take(path, found, skip_unreadable=skip_unreadable)
    if argument is not None and len(found.sources) == before:
        found.notes.append(
            f"note: {argument}: no rollout file inside (*.jsonl, *.jsonl.gz, *.jsonl.zst)"
        )


def _take(path: Path, found: Discovery, *, skip_unreadable: bool) -> None:
    """A file met while expanding a directory or pattern: a rollout file, a side file, or other."""
    reason = sidecar_reason(path.name)
    if reason is not None:
        found.notes.append(f"skipped {path}: {reason}, not rollouts")
        return
    if not path.name.endswith(EXPORT_SUFFIXES):
        return
    try:
        _check_readable(path, str(path))
    except InputError as exc:
        if not skip_unreadable:
            raise
        found.notes.append(f"skipped {exc}")
        return
    found.add(str(path), path)


def _check_readable(path: Path, name: str) -> None:
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise InputError(f"{name}: {describe_read_error(exc)}") from exc


def _unreadable(name: str, exc: OSError, found: Discovery, *, skip_unreadable: bool) -> None:
    message = f"{name}: {describe_read_error(exc)}"
    if not skip_unreadable:
        raise InputError(message)
    found.notes.append(f"skipped {message}")


def read_lines(
    source: Source, *, count_bytes: Callable[[int], None], note: Callable[[str], None]
) -> Iterator[bytes]:
    """The raw lines of a source (split at ``\\n`` only), decompressed; read faults raise
    ``InputError``. ``count_bytes`` is told how many uncompressed bytes each line had; ``note``
    hears when the file's name and content disagree about compression."""
    for line in _read(source, lambda stream, _plain: iter(stream), note=note):
        count_bytes(len(line))
        yield line


def read_blocks(
    source: Source, size: int, *, count_bytes: Callable[[int], None], note: Callable[[str], None]
) -> Iterator[bytes]:
    """The decompressed bytes of a source in blocks of ``size``, cut anywhere; otherwise as
    ``read_lines``. Toward the end of an uncompressed file the blocks shrink (to an eighth of
    what is left, at least ``size // 16``), so that workers given one each finish together."""

    def blocks(stream: IO[bytes], plain: bool) -> Iterator[bytes]:
        left = _size_left(stream) if plain else None
        smallest = max(1, size // 16)
        while True:
            step = size if left is None else max(smallest, min(size, left // 8))
            block = stream.read(step)
            if not block:
                return
            if left is not None:
                left -= len(block)
            yield block

    for block in _read(source, blocks, note=note):
        count_bytes(len(block))
        yield block


def _size_left(stream: IO[bytes]) -> int | None:
    """The bytes left to read in a regular file (None for a pipe or a terminal)."""
    try:
        info = os.fstat(stream.fileno())
        return info.st_size - stream.tell() if stat.S_ISREG(info.st_mode) else None
    except (OSError, ValueError):
        return None


def _read(
    source: Source,
    pieces: Callable[[IO[bytes], bool], Iterator[bytes]],
    *,
    note: Callable[[str], None],
) -> Iterator[bytes]:
    """``pieces`` of the decompressed stream (told whether the stream is the file's own bytes)."""
    try:
        with open_export(source.path, name=source.name, stdin=sys.stdin.buffer) as (
            stream,
            found,
        ):
            named = compression_named(source.name)
            if source.path is not None and found != named:
                note(
                    f"note: {source.name}: not {named} data; read as plain JSON Lines"
                    if found is None
                    else f"note: {source.name}: looks like {found} data; read decompressed"
                )
            yield from pieces(stream, found is None)
    except ConversionError as exc:
        raise InputError(str(exc)) from exc
    except READ_ERRORS as exc:
        raise InputError(f"{source.name}: {describe_read_error(exc)}") from exc
