"""``nemogym-docent schema``: print a packaged JSON Schema, or where it is installed."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from nemogym_docent.cli.exit_codes import fail
from nemogym_docent.schema_validation import ROOT_SCHEMA, schema_names, schema_path


def schema_command(
    name: Annotated[
        str,
        typer.Argument(help="Which schema: " + ", ".join(schema_names()) + "."),
    ] = ROOT_SCHEMA,
    path: Annotated[bool, typer.Option("--path", help="Print the file's path instead.")] = False,
) -> None:
    """Print a JSON Schema that ships with the package (the rollout schema by default)."""
    try:
        location = schema_path(name)
    except KeyError:
        fail(f"unknown schema {name!r}; choose one of: {', '.join(schema_names())}")
    if path:
        sys.stdout.write(f"{location.resolve()}\n")
    else:
        sys.stdout.buffer.write(location.read_bytes())
        sys.stdout.buffer.flush()
