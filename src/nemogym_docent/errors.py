"""The one exception the converters raise."""

from __future__ import annotations

from pathlib import Path


class ConversionError(ValueError):
    """A rollout (or a line of a file) that does not convert to a Docent AgentRun.

    ``json_path`` is where in the rollout the fault is (``response.output[3].call_id``; empty for
    the rollout as a whole); ``file`` and ``line`` are set when the rollout came from a file.
    """

    def __init__(
        self,
        message: str,
        *,
        json_path: str = "",
        file: str | Path | None = None,
        line: int | None = None,
    ) -> None:
        self.message = message
        self.json_path = json_path
        self.file = None if file is None else str(file)
        self.line = line
        super().__init__(self._render())

    def _render(self) -> str:
        location = []
        if self.file is not None:
            location.append(self.file)
        if self.line is not None:
            location.append(f"line {self.line}")
        if self.json_path:
            location.append(self.json_path)
        return ": ".join([*location, self.message])

    def at(self, file: str | Path, line: int | None) -> ConversionError:
        """The same error, located in ``file`` at ``line``."""
        return ConversionError(self.message, json_path=self.json_path, file=file, line=line)
