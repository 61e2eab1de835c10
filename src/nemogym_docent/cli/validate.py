"""``nemogym-docent validate``: every issue of every record, for people or for CI."""

from __future__ import annotations

import sys
from collections import Counter
from typing import cast

import typer

from nemogym_docent.cli.options import Conversion, Selecting
from nemogym_docent.cli.reporting import (
    ExitCode,
    OutputFormat,
    fail,
    lenient_rows,
    print_common_errors,
    render_issue,
    report_to_github,
    say,
)
from nemogym_docent.cli.session import Session, no_records, selection_stage
from nemogym_docent.engine.line_tasks import LineTask
from nemogym_docent.errors import problem_kind
from nemogym_docent.options import ConversionOptions


def run_validate(
    inputs: list[str],
    *,
    output_format: str,
    max_errors: int,
    lenient: bool,
    allow_empty: bool,
    failures: bool = False,
    workers: int,
    quiet: bool,
    where: list[str] | None,
) -> None:
    """Report the issues on stdout and the summary on stderr; exit 0, or 1 for invalid records."""
    form = cast(OutputFormat, output_format)
    kinds: Counter[str] = Counter()
    errors = 0
    stopped = False
    task = LineTask("validate", ConversionOptions(strict=not lenient))
    stage = selection_stage(Selecting(where=where))
    with Session(
        task,
        inputs,
        Conversion(failures=failures, workers=workers, quiet=quiet),
        progress_label="validating",
        chunk_source=None if stage is None else stage.apply,
    ) as s:
        out = sys.stdout
        for _source, result in s.results():
            if not quiet:
                say(*(f"warning: {warning}" for warning in result.warnings))
            if lenient and result.losses:
                out.write("".join(render_issue(loss, form) for loss in result.losses))
            issues = list(result.issues)
            if max_errors:
                issues = issues[: max_errors - errors]
            kinds.update(problem_kind(issue.json_path, issue.message) for issue in issues)
            errors += len(issues)
            out.write("".join(render_issue(issue, form) for issue in issues))
            if issues and not quiet:
                say(*s.new_hints(result.hints))
            if max_errors and errors >= max_errors:
                stopped = True
                break
        out.flush()
        stats = s.stats
        if stopped and not quiet:
            say(f"stopped after {errors} errors (--max-errors {max_errors})")
        rows = [
            ("files read", f"{stats.files:,}"),
            ("records", f"{stats.records:,}"),
            ("valid records", f"{stats.records - stats.failed:,}"),
            ("invalid records", f"{stats.failed:,}"),
            ("errors", f"{errors:,}"),
        ]
        if stage is not None:
            rows.insert(0, ("selected", f"{stats.records:,} of {stage.records_read:,} records"))
        if lenient:
            rows += lenient_rows(stats)
        elif stats.lenient_only:
            rows.append(("invalid records that convert with --lenient", f"{stats.lenient_only:,}"))
        title = "validate --lenient" if lenient else "validate"
        s.finish(title, rows, say_if_empty=False)
        if not quiet:
            print_common_errors(kinds)
        if form == "github":
            counts = {
                "files": stats.files,
                "records": stats.records,
                "valid": stats.records - stats.failed,
                "invalid": stats.failed,
                "errors": errors,
            }
            report_to_github(f"nemogym-docent {title}", rows, kinds, counts)
    if not stats.records and not allow_empty:
        fail(
            no_records(stage, "no records to validate"),
            ExitCode.INVALID,
            hints=["--allow-empty accepts that"],
        )
    raise typer.Exit(int(ExitCode.INVALID if stats.failed else ExitCode.OK))
