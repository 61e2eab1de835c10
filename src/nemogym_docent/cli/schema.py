"""``nemogym-docent schema``: print a packaged JSON Schema, or its path."""

from __future__ import annotations

import sys

from nemogym_docent.cli.reporting import fail
from nemogym_docent.validation.schemas import schema_names, schema_path


def print_schema(name: str, *, path: bool) -> None:
    """The schema's bytes (or, with ``path``, its file's path) on stdout."""
    try:
        location = schema_path(name)
    except KeyError:
        fail(f"unknown schema {name!r}; choose one of: {', '.join(schema_names())}")
    if path:
        sys.stdout.write(f"{location.resolve()}\n")
    else:
        sys.stdout.buffer.write(location.read_bytes())
        sys.stdout.buffer.flush()
