"""Find the files the command line names and read their lines, decompressing on the fly."""

from __future__ import annotations

import glob
import gzip
import io
import re
import sys
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

STDIN = "-"
STDIN_NAME = "<stdin>"
ROLLOUT_SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst")
_GLOB_CHARS = re.compile(r"[*?\[]")
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_READ_SIZE = 1 << 20

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


class InputError(Exception):
    """An input that cannot be found or read (exit code 2)."""


@dataclass(frozen=True)
class Source:
    """One input: a file, or standard input when ``path`` is None."""

    name: str
    path: Path | None

    @property
    def stem(self) -> str:
        """The file name without ``.jsonl`` (and ``.gz``/``.zst``): names runs that lack an
        identity in lenient mode, as the library's file converter does."""
        if self.path is None:
            return "stdin"
        name = self.path.name
        for suffix in sorted(ROLLOUT_SUFFIXES, key=len, reverse=True):
            if name.endswith(suffix):
                return name.removesuffix(suffix)
        return self.path.stem


@dataclass(frozen=True)
class Skipped:
    """A file found while walking a directory that was left out, and why."""

    path: Path
    reason: str


@dataclass
class Discovery:
    """The inputs to read, in order, and the files that were left out."""

    sources: list[Source]
    skipped: list[Skipped]


def sidecar_reason(name: str) -> str | None:
    """Why a file of this name holds no rollouts, or None for a rollout file."""
    for pattern, reason in _SIDECARS:
        if pattern.search(name):
            return reason
    return None


def discover(arguments: list[str]) -> Discovery:
    """Expand files, directories, globs and ``-`` into sources; ``InputError`` if one is missing.

    Directories and globs yield every ``*.jsonl``, ``*.jsonl.gz`` and ``*.jsonl.zst`` in sorted
    order, leaving out NeMo Gym's side files; a file named on its own is always read.
    """
    found = Discovery([], [])
    for argument in arguments:
        if argument == STDIN:
            found.sources.append(Source(STDIN_NAME, None))
            continue
        path = Path(argument)
        if path.is_dir():
            _walk(sorted(child for child in path.rglob("*") if child.is_file()), found)
        elif path.is_file():
            found.sources.append(Source(argument, path))
        elif _GLOB_CHARS.search(argument):
            matches = sorted(Path(match) for match in glob.glob(argument, recursive=True))
            if not matches:
                raise InputError(f"{argument}: no file matches this pattern")
            for match in matches:
                if match.is_dir():
                    _walk(sorted(child for child in match.rglob("*") if child.is_file()), found)
                else:
                    _walk([match], found)
        elif path.exists():
            raise InputError(f"{argument}: not a regular file")
        else:
            raise InputError(f"{argument}: no such file or directory")
    return found


def _walk(files: list[Path], found: Discovery) -> None:
    for path in files:
        reason = sidecar_reason(path.name)
        if reason is not None:
            found.skipped.append(Skipped(path, reason))
        elif path.name.endswith(ROLLOUT_SUFFIXES):
            found.sources.append(Source(str(path), path))


def read_lines(source: Source, *, count_bytes: Callable[[int], None]) -> Iterator[bytes]:
    """The raw lines of a source (split at ``\\n`` only), decompressed; read faults raise
    ``InputError``. ``count_bytes`` is told how many uncompressed bytes each line had."""
    read_errors = _read_errors()
    try:
        with ExitStack() as stack:
            for line in _open(source, stack):
                count_bytes(len(line))
                yield line
    except InputError:
        raise
    except read_errors as exc:
        raise InputError(f"{source.name}: cannot read ({_describe(exc)})") from exc


def _open(source: Source, stack: ExitStack) -> IO[bytes]:
    stream: io.BufferedReader
    if source.path is None:
        raw: Any = sys.stdin.buffer
        stream = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)
        magic = stream.peek(4)[:4]
    else:
        file = stack.enter_context(io.FileIO(source.path, "r"))
        stream = io.BufferedReader(file, buffer_size=_READ_SIZE)
        name = source.path.name
        if name.endswith(".gz"):
            magic = _GZIP_MAGIC
        elif name.endswith(".zst"):
            magic = _ZSTD_MAGIC
        else:
            magic = stream.peek(4)[:4]
    if magic.startswith(_GZIP_MAGIC):
        return cast(IO[bytes], stack.enter_context(gzip.GzipFile(fileobj=stream, mode="rb")))
    if magic.startswith(_ZSTD_MAGIC):
        try:
            import zstandard  # noqa: PLC0415 (optional dependency)
        except ImportError as exc:
            raise InputError(
                f"{source.name}: reading zstandard files needs the zstandard package"
            ) from exc
        reader: Any = zstandard.ZstdDecompressor().stream_reader(stream, read_across_frames=True)
        return stack.enter_context(io.BufferedReader(reader, buffer_size=_READ_SIZE))
    return stream


def _read_errors() -> tuple[type[BaseException], ...]:
    """What reading a plain, gzip or zstandard file raises when it cannot be read."""
    errors: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error)
    try:
        import zstandard  # noqa: PLC0415 (optional dependency)
    except ImportError:
        return errors
    return (*errors, zstandard.ZstdError)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, EOFError):
        return "the compressed stream ends early"
    return str(exc) or type(exc).__name__
