"""The JSON Schemas that ship inside the package, by name (quick to import: no validator)."""

from __future__ import annotations

from pathlib import Path

from nemogym_docent.identity import is_environment_result

SCHEMA_DIR = Path(__file__).parents[1] / "schemas"
ROOT_SCHEMA = "strict-rollout"
FULL_ROOT_SCHEMA = "nemogym-rollout"
ENVIRONMENT_RESULT_SCHEMA = "environment-result"
"""The full format of a 0.7 row without request and response (``is_environment_result``)."""
FAILED_ATTEMPT_SCHEMA = "failed-attempt"
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


def root_schema(rollout: object, *, strict: bool) -> str:
    """The schema a record is read against: the strict profile, or (lenient) the full format of
    its shape: an environment result of another shape than a rollout's, or a rollout."""
    if not strict and isinstance(rollout, dict) and is_environment_result(rollout):
        return ENVIRONMENT_RESULT_SCHEMA
    return ROOT_SCHEMA if strict else FULL_ROOT_SCHEMA
