"""Open JSONL exports, plain or gzip- or zstandard-compressed, told apart by their first bytes.

One place for how files are read and how a read fault is worded, for the library's file
functions and for the command line alike.
"""

from __future__ import annotations

import gzip
import io
import sys
import zlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, cast

import zstandard

from nemogym_docent.errors import ConversionError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

Compression = Literal["gzip", "zstandard"]
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
READ_SIZE = 1 << 20
_SUFFIXES: dict[str, Compression] = {".gz": "gzip", ".zst": "zstandard"}
EXPORT_SUFFIXES = (".jsonl.gz", ".jsonl.zst", ".jsonl")
"""The names of rollout exports, longest first."""
READ_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error, zstandard.ZstdError)
"""What reading a plain, gzip or zstandard stream raises when it cannot be read."""


def export_stem(name: str) -> str:
    """A file name without ``.jsonl`` (and ``.gz``/``.zst``): names runs that lack an identity
    in the lenient mode."""
    for suffix in EXPORT_SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return Path(name).stem


def compression_of(head: bytes) -> Compression | None:
    """The compression the first bytes of a stream announce (None: plain)."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstandard"
    return None


def compression_named(name: str) -> Compression | None:
    """The compression a file name promises (``.gz``, ``.zst``)."""
    return _SUFFIXES.get(Path(name).suffix)


def describe_read_error(exc: BaseException) -> str:
    """The words for a read fault, the same in every message: ``no such file or directory``,
    ``cannot read (Permission denied)``, ``the compressed stream ends early``..."""
    if isinstance(exc, FileNotFoundError):
        return "no such file or directory"
    if isinstance(exc, IsADirectoryError):
        return "is a directory, not a file"
    if isinstance(exc, EOFError):
        return "the compressed stream ends early"
    if isinstance(exc, gzip.BadGzipFile | zlib.error):
        return f"cannot read (corrupt gzip data: {exc})"
    if isinstance(exc, zstandard.ZstdError):
        return f"cannot read (corrupt zstandard data: {exc})"
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot read ({exc.strerror})"
    return f"cannot read ({exc or type(exc).__name__})"


@contextmanager
def open_export(
    path: Path | None, *, name: str, stdin: IO[bytes] | None = None
) -> Iterator[tuple[IO[bytes], Compression | None]]:
    """The decompressed bytes of a file (or of ``stdin`` when ``path`` is None), and the
    compression found. Faults raise ``ConversionError`` naming ``name``.

    The first bytes decide; a file named ``.gz`` or ``.zst`` that holds plain JSON Lines is read
    as it is, anything else under such a name is refused as not being what it says.
    """
    with ExitStack() as stack:
        try:
            stream: io.BufferedReader
            if path is None:
                raw: Any = stdin if stdin is not None else sys.stdin.buffer
                stream = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)
            else:
                stream = stack.enter_context(io.BufferedReader(io.FileIO(path), READ_SIZE))
            head = stream.peek(4)[:4]
        except READ_ERRORS as exc:
            raise ConversionError(describe_read_error(exc), file=name) from exc
        found = compression_of(head)
        named = compression_named(name) if path is not None else None
        if named and found is None and head.lstrip()[:1] not in (b"{", b"[", b""):
            raise ConversionError(
                f"not {named} data (the name ends in {Path(name).suffix}, "
                f"the content does not start as {named} does)",
                file=name,
            )
        if found == "gzip":
            gzip_file = stack.enter_context(gzip.GzipFile(fileobj=stream, mode="rb"))
            yield cast(IO[bytes], gzip_file), found
        elif found == "zstandard":
            yield io.BufferedReader(_ZstdReader(stream), buffer_size=READ_SIZE), found
        else:
            yield stream, found


def read_export_lines(
    path: Path | None, *, name: str, stdin: IO[bytes] | None = None
) -> Iterator[bytes]:
    """The raw lines of an export (split at ``\\n``), decompressed; faults raise
    ``ConversionError`` naming ``name``."""
    with open_export(path, name=name, stdin=stdin) as (stream, _compression):
        try:
            yield from stream
        except READ_ERRORS as exc:
            raise ConversionError(describe_read_error(exc), file=name) from exc


class _ZstdReader(io.RawIOBase):
    """Decompresses concatenated zstandard frames; a stream that stops inside a frame raises
    ``EOFError`` (zstandard's own stream reader just stops)."""

    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__()
        self._raw = raw
        self._context = zstandard.ZstdDecompressor()
        self._frame = self._context.decompressobj()
        self._in_frame = False
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        while not self._pending:
            data = self._raw.read(READ_SIZE)
            if not data:
                if self._in_frame:
                    raise EOFError("the zstandard stream ends inside a frame")
                return 0
            self._pending = memoryview(self._decompress(data))
        target = memoryview(buffer).cast("B")
        size = min(len(target), len(self._pending))
        target[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def _decompress(self, data: bytes) -> bytes:
        parts = []
        while data:
            self._in_frame = True
            parts.append(self._frame.decompress(data))
            if not self._frame.eof:
                break
            data = self._frame.unused_data
            self._frame = self._context.decompressobj()
            self._in_frame = False
        return b"".join(parts)
