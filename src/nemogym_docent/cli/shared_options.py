"""Command-line arguments and options that several commands take, and what they share."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from nemogym_docent.cli.exit_codes import fail, note
from nemogym_docent.cli.inputs import Discovery, InputError, discover

Inputs = Annotated[
    list[str],
    typer.Argument(
        metavar="INPUT...",
        help="Files, directories (every *.jsonl, *.jsonl.gz, *.jsonl.zst inside), globs, "
        "or - for stdin.",
        show_default=False,
    ),
]
Workers = Annotated[
    int, typer.Option("--workers", "-j", min=1, help="Worker processes; output order is kept.")
]
Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress, notes or summary on stderr.")
]
SkipInvalid = Annotated[
    bool,
    typer.Option(
        "--skip-invalid",
        help="Convert what converts, report the rest, and exit 0 (default: stop at the first).",
    ),
]
Lenient = Annotated[
    bool,
    typer.Option(
        "--lenient",
        help="Also convert what Docent's converter refuses, approximating it and recording "
        "each approximation in the run's metadata (conversion.losses).",
    ),
]
ErrorsPath = Annotated[
    Path | None,
    typer.Option(
        "--errors",
        metavar="FILE",
        help="Write each failure to FILE as a JSON line: file, line, path, message.",
        dir_okay=False,
    ),
]


def find_inputs(arguments: list[str], *, quiet: bool) -> Discovery:
    """Discover the inputs, say which files were skipped; exit 2 when there is nothing to read."""
    try:
        found = discover(arguments)
    except InputError as exc:
        fail(str(exc))
    if not quiet:
        for skipped in found.skipped:
            note(f"skipped {skipped.path}: {skipped.reason}, not rollouts")
    if not found.sources:
        fail("no input files: " + " ".join(arguments))
    return found


def stderr_is_terminal() -> bool:
    """Whether progress can be drawn."""
    return sys.stderr.isatty()
