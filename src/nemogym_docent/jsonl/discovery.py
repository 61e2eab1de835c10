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
from typing import IO, Any

from nemogym_docent.errors import ConversionError
from nemogym_docent.identity import standing_attempts
from nemogym_docent.jsonl.files import (
    EXPORT_SUFFIXES,
    READ_ERRORS,
    compression_named,
    describe_read_error,
    export_stem,
    open_export,
)
from nemogym_docent.jsonl.parsing import read_json_line, split_lines

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
    (re.compile(r"_repeat_level_metrics\.json\Z"), "NeMo Gym repeat-level metrics"),
    (
        re.compile(r"(\A|/)rollout_verdicts\.jsonl(\.gz|\.zst)?\Z"),
        "NeMo Gym rollout health verdicts (joined onto their runs with --detail full)",
    ),
    (re.compile(r"(\A|/)quality_summary\.json\Z"), "NeMo Gym health summary"),
)
_FAILURES = re.compile(r"_failures\.jsonl(\.gz|\.zst)?\Z")
HEALTH_VERDICTS = "rollout_verdicts.jsonl"
"""The file NeMo Gym writes into every run directory: one health verdict per rollout."""


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
    standing: dict[int, int] | None = field(default=None, compare=False)
    """A ``*_failures.jsonl`` file read as failed attempts: the line of each key's standing
    attempt, and the key's number of attempts (``identity.standing_attempts``)."""
    health: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False)
    """The health verdicts of the run directory, by rollout id (``--detail full``)."""

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
    health: bool = False
    """Whether to join each folder's health verdicts onto its runs (``--detail full``)."""
    _seen: dict[tuple[int, int], str] = field(default_factory=dict)
    _verdicts: dict[Path, dict[str, dict[str, Any]]] = field(default_factory=dict)

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
        standing = None
        if is_failures_file(path.name):
            standing = _standing(path, name)
            superseded = sum(standing.values()) - len(standing)
            if superseded:
                self.notes.append(
                    f"note: {name}: {superseded} earlier failed attempts of the same rollouts; "
                    f"with --lenient only the {len(standing)} standing ones convert"
                )
        self.sources.append(Source(name, path, standing, self._health(path.parent)))

    def _health(self, folder: Path) -> dict[str, dict[str, Any]]:
        if not self.health:
            return {}
        if folder not in self._verdicts:
            self._verdicts[folder] = _health_verdicts(folder / HEALTH_VERDICTS)
        return self._verdicts[folder]


def sidecar_reason(name: str) -> str | None:
    """What a NeMo Gym file of this name holds instead of rollouts, or None for a rollout file."""
    for pattern, reason in _SIDECARS:
        if pattern.search(name):
            return reason
    return None


def is_failures_file(name: str) -> bool:
    """Whether a file of this name holds NeMo Gym's failed attempts (``*_failures.jsonl``)."""
    return _FAILURES.search(name) is not None


def discover(
    arguments: list[str],
    *,
    skip_unreadable: bool,
    failures: bool = False,
    health: bool = False,
) -> Discovery:
    """Expand files, directories, globs and ``-`` into sources; ``InputError`` if one is missing.

    Directories and globs yield every ``*.jsonl``, ``*.jsonl.gz`` and ``*.jsonl.zst`` in sorted
    order, leaving out NeMo Gym's side files (but its failures files when ``failures``); a file
    named on its own is always read, a failures file as failed attempts. A file or folder met on
    the way that cannot be read stops it before anything is read, or is left out with a note
    when ``skip_unreadable``. With ``health``, each source carries its folder's health verdicts.
    """
    found = Discovery(health=health)
    for argument in arguments:
        if argument == STDIN:
            if any(source.path is None for source in found.sources):
                raise InputError("- (standard input) is named twice")
            found.sources.append(Source(STDIN_NAME, None))
            continue
        path = Path(argument)
        if path.is_dir():
            _walk_directory(
                path, found, skip_unreadable=skip_unreadable, argument=argument, failures=failures
            )
        elif path.is_file():
            _check_readable(path, argument)
            reason = sidecar_reason(path.name)
            if reason is not None and not path.name.endswith(EXPORT_SUFFIXES):
                raise InputError(f"{argument} holds {reason}, not rollouts")
            found.add(argument, path)
        elif _GLOB_CHARS.search(argument) and not path.exists():
            matches = sorted(Path(match) for match in glob.glob(argument, recursive=True))
            if not matches:
                raise InputError(f"{argument}: no file matches this pattern")
            for match in matches:
                if match.is_dir():
                    _walk_directory(
                        match, found, skip_unreadable=skip_unreadable, failures=failures
                    )
                else:
                    _take(match, found, skip_unreadable=skip_unreadable, failures=failures)
        elif path.exists():
            raise InputError(f"{argument}: not a regular file")
        else:
            raise InputError(f"{argument}: no such file or directory")
    return found


def _walk_directory(
    root: Path,
    found: Discovery,
    *,
    skip_unreadable: bool,
    argument: str | None = None,
    failures: bool = False,
) -> None:
    def unreadable_folder(exc: OSError) -> None:
        _unreadable(str(exc.filename), exc, found, skip_unreadable=skip_unreadable)

    before = len(found.sources)
    files: list[Path] = []
    for folder, subfolders, names in os.walk(root, onerror=unreadable_folder):
        subfolders.sort()
        files += (Path(folder) / name for name in names)
    for path in sorted(files):
        _take(path, found, skip_unreadable=skip_unreadable, failures=failures)
    if argument is not None and len(found.sources) == before:
        found.notes.append(
            f"note: {argument}: no rollout file inside (*.jsonl, *.jsonl.gz, *.jsonl.zst)"
        )


def _take(path: Path, found: Discovery, *, skip_unreadable: bool, failures: bool) -> None:
    """A file met while expanding a directory or pattern: a rollout file, a side file (a
    failures file is taken when ``failures``), or other."""
    reason = sidecar_reason(path.name)
    if reason is not None and not (failures and is_failures_file(path.name)):
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


def _json_rows(path: Path, name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """The numbered JSON objects of a small side file; other lines are left to the reader."""
    try:
        with open_export(path, name=name, stdin=sys.stdin.buffer) as (stream, _found):
            for number, raw in enumerate(split_lines(stream), start=1):
                try:
                    value = read_json_line(raw)
                except ConversionError:
                    continue
                if isinstance(value, dict):
                    yield number, value
    except ConversionError as exc:
        raise InputError(str(exc)) from exc
    except READ_ERRORS as exc:
        raise InputError(f"{name}: {describe_read_error(exc)}") from exc


def _standing(path: Path, name: str) -> dict[int, int]:
    """The standing attempt of each key of a failures file: its line, and the key's attempts."""
    standing = standing_attempts(_json_rows(path, name))
    return {line: stands.attempts for line, stands in standing.items()}


def _health_verdicts(path: Path) -> dict[str, dict[str, Any]]:
    """A run directory's health verdicts by rollout id (none when the file is absent)."""
    if not path.is_file():
        return {}
    verdicts: dict[str, dict[str, Any]] = {}
    for _, row in _json_rows(path, str(path)):
        rollout_id = row.get("rollout_id")
        if isinstance(rollout_id, str):
            verdicts[rollout_id] = {key: value for key, value in row.items() if key in _HEALTH_KEYS}
    return verdicts


_HEALTH_KEYS = ("verdict", "findings", "unobserved")
