"""The commands, their options and their help. Each command loads the converter (and Docent's
models) only when it runs, so ``--help``, ``--version`` and ``schema`` start at once."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal, cast

import typer

from nemogym_docent.cli.reporting import ExitCode, fail
from nemogym_docent.cli.selection_options import (
    Contrast,
    GroupBy,
    PerTask,
    Sample,
    Seed,
    SummaryFormat,
    Where,
)
from nemogym_docent.packaged_schemas import ROOT_SCHEMA

app = typer.Typer(
    name="nemogym-docent",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

FORMATS = ("text", "json", "github")

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
    int,
    typer.Option("--workers", "-j", min=1, metavar="N", help="Worker processes; order is kept."),
]
Quiet = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q", help="No progress, notes or summary on stderr (errors and skips still)."
    ),
]
SkipInvalid = Annotated[
    bool,
    typer.Option(
        "--skip-invalid",
        help="Convert what converts, report the rest, and exit 0 (default: stop at the first). "
        "Unreadable files met in a directory are skipped too.",
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
DetailLevel = Annotated[
    Literal["docent", "full"],
    typer.Option(
        "--detail",
        help="docent: lay runs out as Docent's converter does; full: also every NeMo Gym metric "
        "as a score, and judge and subagent conversations as transcripts (docs/full-detail.md).",
    ),
]
ErrorsPath = Annotated[
    Path | None,
    typer.Option(
        "--errors",
        metavar="FILE",
        help="Write every issue of every failed record to FILE as JSON lines: file, line, "
        "path, message.",
        dir_okay=False,
    ),
]


def _examples(*lines: str) -> str:
    """An epilog of examples, kept as written (``\\b`` stops the help from rewrapping it)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version  # noqa: PLC0415 (takes longer than --help)

        sys.stdout.write(f"nemogym-docent {version('nemogym-docent')}\n")
        raise typer.Exit


@app.callback()
def _main(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Convert, validate and upload NVIDIA NeMo Gym rollout exports as Docent AgentRuns.

    Exit codes: 0 success; 1 invalid records (or a timeout); 2 usage, input, output or server
    error; 130 interrupted. docs/cli.md has the full reference.
    """


@app.command(
    epilog=_examples(
        "nemogym-docent convert results/ -o runs.jsonl",
        "nemogym-docent convert 'runs/*/*.jsonl.gz' --skip-invalid --errors err.jsonl -o out.jsonl",
        "zcat export.jsonl.gz | nemogym-docent convert - --lenient > runs.jsonl",
    )
)
def convert(
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
    detail: DetailLevel = "docent",
    workers: Workers = 1,
    quiet: Quiet = False,
    where: Where = None,
    sample: Sample = None,
    seed: Seed = 0,
    per_task: PerTask = None,
    contrast: Contrast = False,
    group_by: GroupBy = None,
) -> None:
    """Convert NeMo Gym rollouts to Docent AgentRuns, one JSON a line, without random ids.

    Strict by default: the first invalid rollout stops it with exit code 1, and OUT is written
    only when the command succeeds.
    """
    from nemogym_docent.cli.line_tasks import LineTask  # noqa: PLC0415 (loads the converter)
    from nemogym_docent.cli.pipeline import Session  # noqa: PLC0415
    from nemogym_docent.cli.selecting import selection_stage  # noqa: PLC0415

    stage = selection_stage(
        where=where,
        sample=sample,
        seed=seed,
        per_task=per_task,
        contrast=contrast,
        group_by=group_by,
    )
    task = LineTask(
        "convert",
        strict=not lenient,
        stop_at_failure=not skip_invalid,
        detail=detail,
        one_by_one=stage is not None and stage.group_by_task,
    )
    with Session(
        task,
        inputs,
        workers=workers,
        quiet=quiet,
        skip_invalid=skip_invalid,
        errors=errors,
        output=output,
        progress_label="converting",
        chunk_source=None if stage is None else stage.apply,
    ) as session:
        assert session.output_file is not None
        out = session.output_file.stream
        for source, result in session.results():
            if result.issues:
                session.reject(result)
            elif result.output is not None and stage is not None:
                out.write(stage.group_output(source.name, result.line, result.output))
            elif result.output is not None:
                out.write(result.output)
        title = f"convert → {'stdout' if output == '-' else Path(output).name}"
        session.finish(title, None if stage is None else stage.rows(session.stats))


def _check_format(value: str) -> str:
    if value not in FORMATS:
        raise typer.BadParameter(f"{value!r} is not a format; choose text, json or github")
    return value


@app.command(
    epilog=_examples(
        "nemogym-docent validate results/",
        "nemogym-docent validate results/ --format github --quiet",
        "nemogym-docent validate export.jsonl.zst --lenient --max-errors 50",
    )
)
def validate(
    inputs: Inputs,
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            callback=_check_format,
            help="text (file:line: path: message), json (one object a line) or github "
            "(::error annotations for GitHub Actions).",
        ),
    ] = "text",
    max_errors: Annotated[
        int,
        typer.Option(
            "--max-errors", min=0, metavar="N", help="Stop after reporting N errors (0: no limit)."
        ),
    ] = 0,
    lenient: Annotated[
        bool,
        typer.Option(
            "--lenient",
            help="Judge by the lenient mode: a record that converts only leniently is valid, "
            "and each approximation is listed as a warning (validate writes no runs).",
        ),
    ] = False,
    allow_empty: Annotated[
        bool,
        typer.Option("--allow-empty", help="Exit 0 for an input without records (default: 1)."),
    ] = False,
    workers: Workers = 1,
    quiet: Quiet = False,
    where: Where = None,
) -> None:
    """Check rollouts against the JSON Schemas and the converter's own rules; report every error.

    Issues go to stdout, the summary to stderr. Exit code 0: all records valid; 1: invalid
    records, or no records at all (unless --allow-empty); 2: usage or input error.
    """
    from collections import Counter  # noqa: PLC0415

    from nemogym_docent.cli.line_tasks import LineTask  # noqa: PLC0415 (loads the converter)
    from nemogym_docent.cli.pipeline import Session  # noqa: PLC0415
    from nemogym_docent.cli.reporting import (  # noqa: PLC0415
        OutputFormat,
        issue_kind,
        lenient_rows,
        print_common_errors,
        render_issue,
        say,
    )

    form = cast(OutputFormat, output_format)
    kinds: Counter[str] = Counter()
    errors = 0
    stopped = False
    task = LineTask("validate", strict=not lenient)
    from nemogym_docent.cli.selecting import selection_stage  # noqa: PLC0415

    stage = selection_stage(where=where, sample=None, seed=0, per_task=None, contrast=False)
    with Session(
        task,
        inputs,
        workers=workers,
        quiet=quiet,
        progress_label="validating",
        chunk_source=None if stage is None else stage.apply,
    ) as s:
        out = sys.stdout
        for _source, result in s.results():
            if lenient and result.losses:
                out.write("".join(render_issue(loss, form) for loss in result.losses))
            issues = list(result.issues)
            if max_errors:
                issues = issues[: max_errors - errors]
            kinds.update(issue_kind(issue) for issue in issues)
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
        s.finish("validate --lenient" if lenient else "validate", rows, say_if_empty=False)
        if not quiet:
            print_common_errors(kinds)
    if not stats.records and not allow_empty:
        fail("no records to validate", ExitCode.INVALID, hints=["--allow-empty accepts that"])
    raise typer.Exit(int(ExitCode.INVALID if stats.failed else ExitCode.OK))


@app.command(
    epilog=_examples(
        "DOCENT_API_KEY=... nemogym-docent upload results/ --collection-name 'math evals'",
        "nemogym-docent upload runs.jsonl --from-agent-runs --collection-id 0f5e2c1a-...",
        "nemogym-docent upload results/ --dry-run --skip-invalid",
    )
)
def upload(
    inputs: Inputs,
    collection_id: Annotated[
        str | None,
        typer.Option("--collection-id", metavar="ID", help="Add the runs to this collection."),
    ] = None,
    collection_name: Annotated[
        str | None,
        typer.Option(
            "--collection-name",
            metavar="NAME",
            help="Create a collection with this name (once the first batch is ready).",
        ),
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option(
            "--api-url",
            metavar="URL",
            help="Docent API URL (default: DOCENT_API_URL, docent.env, or Docent's).",
        ),
    ] = None,
    frontend_url: Annotated[
        str | None,
        typer.Option(
            "--frontend-url",
            metavar="URL",
            help="Docent web app URL (default: DOCENT_FRONTEND_URL, docent.env, or Docent's).",
        ),
    ] = None,
    from_agent_runs: Annotated[
        bool,
        typer.Option(
            "--from-agent-runs", help="Inputs are AgentRun JSON lines (from convert), not rollouts."
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Convert and count, send nothing.")
    ] = False,
    skip_invalid: SkipInvalid = False,
    errors: ErrorsPath = None,
    batch_size: Annotated[
        int,
        typer.Option("--batch-size", min=1, metavar="N", help="Runs sent per request (at most)."),
    ] = 500,
    wait: Annotated[
        bool,
        typer.Option("--wait/--no-wait", help="Wait until Docent has processed every batch."),
    ] = True,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            min=0.001,
            metavar="SECONDS",
            help="Longest wait for any one request, and for Docent to finish processing.",
        ),
    ] = 300.0,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Send only the runs the collection does not hold yet (by their upload keys).",
        ),
    ] = False,
    lenient: Lenient = False,
    detail: DetailLevel = "docent",
    workers: Workers = 1,
    quiet: Quiet = False,
    where: Where = None,
    sample: Sample = None,
    seed: Seed = 0,
    per_task: PerTask = None,
    contrast: Contrast = False,
    group_by: GroupBy = None,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            help="Keep reading: send complete lines as they are appended to the files (and new "
            "*.jsonl files in the folders) until Ctrl-C. Implies --resume.",
        ),
    ] = False,
    flush_every: Annotated[
        str,
        typer.Option(
            "--flush-every",
            metavar="TIME",
            help="With --follow, send what was gathered at least this often (10s, 500ms, 2m).",
        ),
    ] = "10s",
) -> None:
    """Convert rollouts and add them to a Docent collection, in batches, with Docent's client.

    The API key comes from DOCENT_API_KEY (or a docent.env file), as Docent's SDK reads it.
    Exit code 0: all sent; 1: invalid records or a timeout; 2: usage, input or server error.
    """
    if collection_id is not None and collection_name is not None:
        fail("give one of --collection-id and --collection-name, not both")
    if collection_id is None and collection_name is None and not dry_run:
        fail("say where the runs go: --collection-id ID or --collection-name NAME")
    from nemogym_docent.cli.upload import UploadOptions, run_upload  # noqa: PLC0415

    run_upload(
        UploadOptions(
            inputs=inputs,
            collection_id=collection_id,
            collection_name=collection_name,
            api_url=api_url,
            frontend_url=frontend_url,
            from_agent_runs=from_agent_runs,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
            errors=errors,
            batch_size=batch_size,
            wait=wait,
            timeout=timeout,
            resume=resume or follow,
            lenient=lenient,
            detail=detail,
            workers=workers,
            quiet=quiet,
            where=where or [],
            sample=sample,
            seed=seed,
            per_task=per_task,
            contrast=contrast,
            group_by=group_by,
            follow=follow,
            flush_every=flush_every,
        )
    )


@app.command(
    epilog=_examples(
        "nemogym-docent summary results/",
        "nemogym-docent summary results/ --format json --where 'agent_ref.name == \"math_agent\"'",
    )
)
def summary(
    inputs: Inputs,
    output_format: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            callback=_check_summary_format,
            help="text (tables) or json (one object, for scripts).",
        ),
    ] = "text",
    where: Where = None,
    quiet: Quiet = False,
) -> None:
    """Summarize rollouts per file and per agent: tasks, rewards, pass@k, metrics, refusals.

    Reads each input once, holding a few numbers per task, never the rollouts.
    """
    from nemogym_docent.cli.summary import run_summary  # noqa: PLC0415 (loads the converter)

    run_summary(
        inputs, output_format=cast(SummaryFormat, output_format), where=where or [], quiet=quiet
    )


def _check_summary_format(value: str) -> str:
    if value not in ("text", "json"):
        raise typer.BadParameter(f"{value!r} is not a format; choose text or json")
    return value


@app.command(
    epilog=_examples(
        "nemogym-docent schema > rollout.schema.json",
        "nemogym-docent schema items --path",
    )
)
def schema(
    name: Annotated[
        str,
        typer.Argument(help="Which schema; an unknown name lists them."),
    ] = ROOT_SCHEMA,
    path: Annotated[bool, typer.Option("--path", help="Print the file's path instead.")] = False,
) -> None:
    """Print a JSON Schema that ships with the package (the strict rollout schema by default)."""
    from nemogym_docent.packaged_schemas import schema_names, schema_path  # noqa: PLC0415

    try:
        location = schema_path(name)
    except KeyError:
        fail(f"unknown schema {name!r}; choose one of: {', '.join(schema_names())}")
    if path:
        sys.stdout.write(f"{location.resolve()}\n")
    else:
        sys.stdout.buffer.write(location.read_bytes())
        sys.stdout.buffer.flush()
