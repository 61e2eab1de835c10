"""The JSON Schemas that ship inside the package, by name (quick to import: no validator)."""

from __future__ import annotations

from pathlib import Path

SCHEMA_DIR = Path(__file__).parents[1] / "schemas"
ROOT_SCHEMA = "strict-rollout"
FULL_ROOT_SCHEMA = "nemogym-rollout"
SCHEMA_SUFFIX = ".schema.json"


def schema_names() -> list[str]:
    """The packaged schemas, by name (``rollout``, ``items``, ...)."""
    return sorted(
        path.name.removesuffix(SCHEMA_SUFFIX) for path in SCHEMA_DIR.glob(f"*{SCHEMA_SUFFIX}")
    )


def schema_path(name: str) -> Path:
    """The file of a packaged schema; ``KeyError`` for an unknown name."""
    if name not in schema_names():
        raise KeyError(name)
    return SCHEMA_DIR / f"{name}{SCHEMA_SUFFIX}"
