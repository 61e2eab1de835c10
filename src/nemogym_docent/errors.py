"""The one exception the converters raise."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nemogym_docent.issues import Issue


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
