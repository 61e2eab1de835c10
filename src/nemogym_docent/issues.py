"""One located problem: why a rollout is refused, or what the lenient mode approximated in it."""

from __future__ import annotations

import dataclasses
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

    def __str__(self) -> str:
        location: list[str] = []
        if self.file is not None:
            location.append(self.file)
        if self.line is not None:
            location.append(f"line {self.line}")
        if self.json_path:
            location.append(self.json_path)
        return ": ".join([*location, self.message])
