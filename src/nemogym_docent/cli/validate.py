"""``nemogym-docent validate``: every error of every record, for people and for CI."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from nemogym_docent.cli.exit_codes import ExitCode, fail, note
from nemogym_docent.cli.failures import Failure, FailureTally, OutputFormat
from nemogym_docent.cli.inputs import InputError
from nemogym_docent.cli.line_tasks import LineTask
from nemogym_docent.cli.pipeline import read_chunks, run_task
from nemogym_docent.cli.progress import InputProgress
from nemogym_docent.cli.shared_options import (
    Inputs,
    Lenient,
    Quiet,
    Workers,
    find_inputs,
    stderr_is_terminal,
)
from nemogym_docent.cli.summaries import RunStats, print_validation_summary


def validate_command(
    inputs: Inputs,
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            "-f",
            help="text: file:line: path: message; json: one JSON object a line; "
            "github: ::error annotations for GitHub Actions.",
        ),
    ] = "text",
    max_errors: Annotated[
        int,
        typer.Option(
            "--max-errors", min=0, metavar="N", help="Stop after reporting N errors (0: no limit)."
        ),
    ] = 0,
    lenient: Lenient = False,
    workers: Workers = 1,
    quiet: Quiet = False,
) -> None:
    """Check rollouts against the JSON Schemas and the converter's own rules; report every error.

    Exit code 0: all records valid; 1: invalid records found; 2: usage or I/O error.
    """
    found = find_inputs(inputs, quiet=quiet)
    tally = FailureTally()
    stats = RunStats(files=len(found.sources))
    errors = 0
    stopped = False
    progress = InputProgress("validating", enabled=not quiet and stderr_is_terminal())
    try:
        with progress:
            chunks = read_chunks(found.sources, count_bytes=progress.count_bytes)
            for source, results in run_task(
                LineTask("validate", strict=not lenient), chunks, workers=workers
            ):
                for result in results:
                    stats.records += 1
                    stats.count_lenient(result)
                    if lenient and result.losses:
                        warnings = [
                            Failure(
                                source.name,
                                result.line,
                                loss.json_path,
                                f"lenient: {loss.loss_kind}: {loss.message}",
                                severity="warning",
                            )
                            for loss in result.losses
                        ]
                        sys.stdout.write("".join(f"{w.render(output_format)}\n" for w in warnings))
                    if not result.issues:
                        continue
                    failures = [
                        Failure(source.name, result.line, issue.json_path, issue.message)
                        for issue in result.issues
                    ]
                    if max_errors:
                        failures = failures[: max_errors - errors]
                    tally.add(failures)
                    errors += len(failures)
                    sys.stdout.write("".join(f"{f.render(output_format)}\n" for f in failures))
                    if max_errors and errors >= max_errors:
                        stopped = True
                        break
                progress.add_records(len(results))
                if stopped:
                    break
    except InputError as exc:
        fail(str(exc))
    sys.stdout.flush()
    if not quiet:
        if stopped:
            note(f"stopped after {errors} errors (--max-errors {max_errors})")
        print_validation_summary(
            stats=stats, invalid=tally.records, errors=errors, kinds=tally.kinds, strict=not lenient
        )
    raise typer.Exit(int(ExitCode.INVALID if tally.records else ExitCode.OK))
