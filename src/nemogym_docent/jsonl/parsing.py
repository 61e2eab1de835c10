"""Read JSONL the way Docent's converter does, only faster.

Docent's converter reads files in text mode: ``\\r\\n``, ``\\r`` and ``\\n`` end a line,
``str.strip()`` trims Unicode whitespace, blank lines are skipped and ``json.loads`` parses.
Here lines are read as bytes and parsed with msgspec, which gives the same values (integers of
any size up to Python's digit limit, as ``json.loads``); wherever it refuses what ``json.loads``
may take (NaN, infinities, lone surrogates, odd whitespace, a byte order mark), the text path
decides.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any, Final

import msgspec

from nemogym_docent.errors import ConversionError

_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
# Mapping every digit to "9" and searching for runs of nines is ten times faster than a regex.
_DIGITS_TO_NINES = bytes.maketrans(b"0123456789", b"9" * 10)
_DECODE = msgspec.json.Decoder().decode
_REFUSED_BY_MSGSPEC = (ValueError, RecursionError)
"""What msgspec raises where ``json.loads`` may still parse (or raise its own error): its
``DecodeError`` is a ``ValueError``, as is a string it cannot encode (a lone surrogate)."""

BLANK: Final = object()
"""What ``parse_line`` returns for a line with nothing but whitespace."""


def loads(text: str) -> Any:
    """Parse a JSON text to the values ``json.loads`` gives (and raise what it raises)."""
    try:
        return _DECODE(text)
    except _REFUSED_BY_MSGSPEC:
        return json.loads(text)


_NON_FINITE_NUMBERS = (b"e999", b"E999", b"e+999", b"E+999", b"9" * 309)


def may_hold_non_finite(data: bytes) -> bool:
    """Whether JSON text may parse to NaN or an infinity (``NaN``, ``Infinity``, ``1e400``...).

    ``json.loads`` gives such floats and orjson writes them as ``null``; when this is false,
    orjson writes back every number the text holds.
    """
    if b"NaN" in data or b"Infinity" in data:
        return True
    nines = data.translate(_DIGITS_TO_NINES)
    return any(spelling in nines for spelling in _NON_FINITE_NUMBERS)


def split_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Split a binary file's lines again at ``\\r``, as text mode does."""
    for chunk in chunks:
        if b"\r" not in chunk:
            yield chunk
            continue
        parts = _LINE_BREAK.split(chunk)
        if parts[-1] == b"":
            parts.pop()
        yield from parts


def parse_line(raw: bytes) -> Any:
    """Parse one line, or return ``BLANK``.

    Raises ``UnicodeDecodeError``, ``json.JSONDecodeError``, ``RecursionError`` or
    ``ValueError`` (an integer too long for ``int()``).
    """
    try:  # msgspec skips the JSON whitespace around a value itself
        return _DECODE(raw)
    except _REFUSED_BY_MSGSPEC:
        pass
    text = raw.decode("utf-8").strip()  # text mode's whitespace, then json.loads decides
    return json.loads(text) if text else BLANK


def read_json_line(raw: bytes) -> Any:
    """Parse one line, or return ``BLANK``; ``ConversionError`` (without a location) when the
    line is not UTF-8 or not JSON."""
    try:
        return parse_line(raw)
    except UnicodeDecodeError as exc:
        raise ConversionError(f"not valid UTF-8 ({exc.reason})") from exc
    except json.JSONDecodeError as exc:
        raise ConversionError(f"invalid JSON ({exc.msg}, column {exc.colno})") from exc
    except RecursionError as exc:
        raise ConversionError("JSON nested too deeply") from exc
    except ValueError as exc:  # an integer past Python's digit limit for int()
        raise ConversionError(f"cannot read the JSON ({exc})") from exc


def iter_json_lines(chunks: Iterable[bytes], source: str) -> Iterator[tuple[int, Any]]:
    """Yield ``(line number, value)`` for each non-blank line of a binary stream.

    A line that is not UTF-8 or not JSON raises ``ConversionError`` naming ``source`` and the line.
    """
    for number, raw in enumerate(split_lines(chunks), start=1):
        try:
            value = read_json_line(raw)
        except ConversionError as exc:
            raise exc.at(source, number) from exc.__cause__
        if value is not BLANK:
            yield number, value
