"""Records that failed: where (file, line, JSON path), why, and how to print them."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Literal

import orjson

OutputFormat = Literal["text", "json", "github"]
_INDEX = re.compile(r"\[\d+\]")


@dataclass(frozen=True)
class Failure:
    """One reason one record failed, or (a ``warning``) one loss the lenient mode accepts."""

    file: str
    line: int | None
    path: str
    message: str
    severity: Literal["error", "warning"] = "error"

    def as_text(self) -> str:
        """``file:line: json.path: message`` (parts that are unknown are left out)."""
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"

    def as_json(self) -> bytes:
        """One JSON line: file, line, path, message (and severity, for a warning)."""
        fields = asdict(self)
        if self.severity == "error":
            del fields["severity"]
        return orjson.dumps(fields, option=orjson.OPT_APPEND_NEWLINE)

    def as_github(self) -> str:
        """A GitHub Actions ``::error`` (or ``::warning``) command, annotating the file and line."""
        properties = [f"file={_escape_property(self.file)}"]
        if self.line is not None:
            properties.append(f"line={self.line}")
        if self.path:
            properties.append(f"title={_escape_property(self.path)}")
        return f"::{self.severity} {','.join(properties)}::{_escape_data(self.message)}"

    def render(self, output_format: OutputFormat) -> str:
        """The failure in one of the report formats, without a trailing newline."""
        if output_format == "json":
            return self.as_json().decode().rstrip("\n")
        if output_format == "github":
            return self.as_github()
        return self.as_text()

    def kind(self) -> str:
        """The failure with array indices generalised, to count how often each kind occurs."""
        path = _INDEX.sub("[*]", self.path)
        return f"{path}: {self.message}" if path else self.message


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


class ErrorsFile:
    """Writes failures as JSON lines to a file (``--errors FILE``), or nowhere."""

    def __init__(self, path: Path | None) -> None:
        self._stream: IO[bytes] | None = None if path is None else path.open("wb")

    def write(self, failure: Failure) -> None:
        if self._stream is not None:
            self._stream.write(failure.as_json())

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()


class FailureTally:
    """Counts failed records and the most common kinds of failure."""

    def __init__(self) -> None:
        self.records = 0
        self.kinds: Counter[str] = Counter()

    def add(self, failures: list[Failure]) -> None:
        self.records += 1
        self.kinds.update(failure.kind() for failure in failures)
