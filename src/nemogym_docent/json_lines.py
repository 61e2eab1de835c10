"""Read JSONL the way Docent's converter does, only faster.

Docent's converter reads files in text mode: ``\\r\\n``, ``\\r`` and ``\\n`` end a line,
``str.strip()`` trims Unicode whitespace, blank lines are skipped and ``json.loads`` parses.
Here lines are read as bytes and parsed with orjson, falling back to that text path whenever
orjson could answer differently (integers past 64 bits, NaN, lone surrogates, odd whitespace).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any, Final

import orjson

from nemogym_docent.errors import ConversionError

_LINE_BREAK = re.compile(rb"\r\n|\r|\n")
# orjson turns integers past 64 bits into floats; any run of 19 digits goes the slow way.
# Mapping every digit to "9" and searching for nineteen of them is ten times faster than a regex.
_DIGITS_TO_NINES = bytes.maketrans(b"0123456789", b"9" * 10)
_LONG_DIGIT_RUN = b"9" * 19
_BOM: Final = b"\xef\xbb\xbf"

BLANK: Final = object()
"""What ``parse_line`` returns for a line with nothing but whitespace."""


def loads(text: str) -> Any:
    """Parse a JSON text to the values ``json.loads`` gives (and raise what it raises)."""
    if not _has_long_digit_run(text.encode("utf-8", "surrogatepass")):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def _has_long_digit_run(data: bytes) -> bool:
    return _LONG_DIGIT_RUN in data.translate(_DIGITS_TO_NINES)


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
    data = raw.strip()
    if not data:
        return BLANK
    if not data.startswith(_BOM) and not _has_long_digit_run(data):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    text = data.decode("utf-8").strip()
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
