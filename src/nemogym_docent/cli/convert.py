"""``nemogym-docent convert``: rollouts in, one AgentRun JSON a line out, streaming."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated

import typer

from nemogym_docent.cli.exit_codes import ExitCode, fail, note
from nemogym_docent.cli.failures import ErrorsFile, Failure
from nemogym_docent.cli.inputs import InputError
from nemogym_docent.cli.line_tasks import LineResult, LineTask
from nemogym_docent.cli.pipeline import read_chunks, run_task
from nemogym_docent.cli.progress import InputProgress
from nemogym_docent.cli.shared_options import (
    ErrorsPath,
    Inputs,
    Lenient,
    Quiet,
    SkipInvalid,
    Workers,
    find_inputs,
    stderr_is_terminal,
)
from nemogym_docent.cli.summaries import RunStats, print_conversion_summary

FAILURES_SHOWN = 20


def convert_command(
    inputs: Inputs,
    output: Annotated[
        str,
        typer.Option(
            "--output", "-o", metavar="OUT", help="Where to write the AgentRuns (- for stdout)."
        ),
    ] = "-",
    skip_invalid: SkipInvalid = False,
    errors: ErrorsPath = None,
    lenient: Lenient = False,
    workers: Workers = 1,
    quiet: Quiet = False,
) -> None:
    """Convert NeMo Gym rollouts to Docent AgentRuns, one JSON a line, without random ids.

    Strict by default: the first invalid rollout stops it with exit code 1.
    """
    found = find_inputs(inputs, quiet=quiet)
    stats = RunStats(files=len(found.sources))
    errors_file = ErrorsFile(errors)
    progress = InputProgress("converting", enabled=not quiet and stderr_is_terminal())
    try:
        with _output_stream(output) as out, progress:
            chunks = read_chunks(found.sources, count_bytes=progress.count_bytes)
            for source, results in run_task(
                LineTask("convert", strict=not lenient), chunks, workers=workers
            ):
                for result in results:
                    stats.records += 1
                    if result.output is not None:
                        out.write(result.output)
                        stats.add_run(result)
                        continue
                    failures = _failures(source.name, result)
                    for failure in failures:
                        errors_file.write(failure)
                    if not skip_invalid:
                        fail(failures[0].as_text(), ExitCode.INVALID)
                    stats.failed += 1
                    if errors is None and not quiet and stats.failed <= FAILURES_SHOWN:
                        note(failures[0].as_text())
                progress.add_records(len(results))
    except InputError as exc:
        fail(str(exc))
    finally:
        errors_file.close()
    if not quiet:
        if errors is None and stats.failed > FAILURES_SHOWN:
            note(f"... and {stats.failed - FAILURES_SHOWN} more failed records (see --errors)")
        target = "stdout" if output == "-" else output
        print_conversion_summary(stats, title=f"convert → {target}")
    raise typer.Exit(int(ExitCode.OK if skip_invalid or not stats.failed else ExitCode.INVALID))


def _failures(file: str, result: LineResult) -> list[Failure]:
    return [Failure(file, result.line, issue.json_path, issue.message) for issue in result.issues]


@contextmanager
def _output_stream(output: str) -> Iterator[IO[bytes]]:
    """stdout; a device or pipe as it is; else a temporary file next to OUT that replaces OUT
    only when the command succeeds."""
    if output == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    target = Path(output)
    if target.exists() and not target.is_file():  # a device or a pipe: write to it as it is
        try:
            with target.open("wb") as device:
                yield device
        except OSError as exc:
            fail(f"{output}: cannot write ({exc.strerror or exc})")
        return
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        stream = temporary.open("wb", buffering=1 << 20)
    except OSError as exc:
        fail(f"{output}: cannot write ({exc.strerror or exc})")
    succeeded = False
    try:
        with stream:
            yield stream
        succeeded = True
    finally:
        if succeeded:
            temporary.replace(target)
        else:
            temporary.unlink(missing_ok=True)
