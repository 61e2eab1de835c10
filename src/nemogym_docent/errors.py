"""The located problem and the one exception the converters raise."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Issue:
    """A problem at ``json_path`` (``response.output[3].call_id``; empty for the whole record).

    ``loss_kind`` is ``None`` for a refusal and names the approximation (a ``LossKind``) for what
    the lenient mode converted anyway. ``file`` and ``line`` are set for a record read from a file.
    """

    json_path: str
    message: str
    loss_kind: str | None = None
    file: str | None = None
    line: int | None = None

    def at(self, file: str | Path | None, line: int | None) -> Issue:
        """The same issue, located in ``file`` at ``line``."""
        return dataclasses.replace(self, file=None if file is None else str(file), line=line)

    def as_loss(self) -> dict[str, Any]:
        """The entry of ``metadata["conversion"]["losses"]`` for an approximation."""
        return {"json_path": self.json_path, "kind": self.loss_kind, "message": self.message}

    @property
    def said(self) -> str:
        """The message as reported: an approximation is prefixed ``lenient: KIND:``."""
        if self.loss_kind is None:
            return self.message
        return f"lenient: {self.loss_kind}: {self.message}"

    def __str__(self) -> str:
        """``file:line: json.path: message``, the parts that are unknown left out."""
        where = self.file or ""
        if self.line is not None:
            where = f"{where}:{self.line}"
        body = f"{self.json_path}: {self.said}" if self.json_path else self.said
        return f"{where}: {body}" if where else body


class ConversionError(ValueError):
    """A rollout (or a line of a file) that does not convert to a Docent AgentRun.

    ``issues`` lists every reason found (at least one); ``message`` and ``json_path`` are the
    first one's (``json_path`` is where in the rollout, ``response.output[3].call_id``, empty for
    the rollout as a whole); ``file`` and ``line`` are set when the rollout came from a file.
    """

    def __init__(
        self,
        message: str,
        *,
        json_path: str = "",
        file: str | Path | None = None,
        line: int | None = None,
        issues: Sequence[Issue] = (),
    ) -> None:
        first = Issue(json_path, message).at(file, line)
        self.issues: tuple[Issue, ...] = tuple(
            issue.at(file, line) if file is not None or line is not None else issue
            for issue in issues
        ) or (first,)
        self.message = message
        self.json_path = json_path
        self.file = first.file
        self.line = line
        more = len(self.issues) - 1
        super().__init__(str(first) + (f" (and {more} more)" if more else ""))

    def at(self, file: str | Path, line: int | None) -> ConversionError:
        """The same error, located in ``file`` at ``line``."""
        return ConversionError(
            self.message, json_path=self.json_path, file=file, line=line, issues=self.issues
        )


_INDEX = re.compile(r"\[\d+\]")
_MORE = re.compile(r" \(and \d+ more\)\Z")


def problem_kind(json_path: str, message: str) -> str:
    """A problem as a kind to count (validate's most common errors, summary's refusals): array
    indices generalised to ``[*]``, a trailing "(and N more)" cut."""
    path = _INDEX.sub("[*]", json_path)
    message = _MORE.sub("", message)
    return f"{path}: {message}" if path else message
