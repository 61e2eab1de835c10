"""What the mapping of one rollout is given (options, origin) and what it collects (losses)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nemogym_docent.errors import ConversionError, Issue
from nemogym_docent.mapping.losses import LossKind

if TYPE_CHECKING:
    from nemogym_docent.json_paths import JsonPath
    from nemogym_docent.options import ConversionOptions, RecordOrigin


class MappingContext:
    """One rollout's conversion in progress: the mode it runs in, and its approximations."""

    def __init__(self, options: ConversionOptions, origin: RecordOrigin) -> None:
        self.options = options
        self.origin = origin
        self.losses: list[Issue] = []
        self.strict = options.strict
        """Whether a rule beyond the schemas refuses the rollout instead of approximating."""
        self.full = options.detail == "full"
        """Whether the run shows what Docent's converter leaves out (``detail="full"``)."""

    def refuse_or_record(self, json_path: JsonPath | str, kind: LossKind, message: str) -> None:
        """Refuse the rollout (strict) or record the approximation (lenient)."""
        if self.strict:
            raise ConversionError(message, json_path=str(json_path))
        self.record(json_path, kind, message)

    def record(self, json_path: JsonPath | str, kind: LossKind, message: str) -> None:
        """Record an approximation that only the lenient mode's input (or full detail) needs."""
        self.losses.append(Issue(str(json_path), message, kind.value))

    def conversion(self) -> dict[str, Any]:
        """``metadata["conversion"]``: the mode, the detail when full, and the losses."""
        return {
            "mode": "strict" if self.strict else "lenient",
            **({"detail": "full"} if self.full else {}),
            "losses": [loss.as_loss() for loss in self.losses],
        }
