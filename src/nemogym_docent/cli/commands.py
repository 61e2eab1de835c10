"""The commands as the user sees them: their arguments, options and help. Each body is one call
into the module that runs the command, loaded only then, so that ``--help``, ``--version`` and
``schema`` start at once."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from nemogym_docent.cli.options import (
    AnswerKey,
    Conversion,
    DocentCollection,
    Failures,
    HtmlReport,
    Inputs,
    IssueFormat,
    JudgeLeniently,
    MarkdownReport,
    Quiet,
    Selecting,
    Sending,
    Streaming,
    SummaryFormat,
    Where,
    Workers,
    examples,
    grouped,
)
from nemogym_docent.validation.schemas import ROOT_SCHEMA

app = typer.Typer(
    name="nemogym-docent",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


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

    Exit codes: 0 success; 1 invalid records; 2 usage, input, output or server error (a timeout
    too); 130 interrupted (Ctrl-C); 143 terminated (SIGTERM). docs/cli.md has the full reference.
    """


@app.command(
    epilog=examples(
        "nemogym-docent convert results/ -o runs.jsonl",
        "nemogym-docent convert 'runs/*/*.jsonl.gz' --skip-invalid --errors err.jsonl -o out.jsonl",
        "zcat export.jsonl.gz | nemogym-docent convert - --lenient > runs.jsonl",
    )
)
@grouped
def convert(
    inputs: Inputs,
    *,
    output: Annotated[
        str,
        typer.Option(
            "--output", "-o", metavar="OUT", help="Where to write the AgentRuns (- for stdout)."
        ),
    ] = "-",
    conversion: Conversion,
    selecting: Selecting,
) -> None:
    """Convert NeMo Gym rollouts to Docent AgentRuns, one JSON a line, without random ids.

    Strict by default: the first invalid rollout stops it with exit code 1, and OUT is written
    only when the command succeeds.
    """
    from nemogym_docent.cli.convert import run_convert  # noqa: PLC0415 (loads the converter)

    run_convert(inputs, output, conversion, selecting)


@app.command(
    epilog=examples(
        "nemogym-docent validate results/",
        "nemogym-docent validate results/ --format github --quiet",
        "nemogym-docent validate export.jsonl.zst --lenient --max-errors 50",
    )
)
def validate(
    inputs: Inputs,
    output_format: IssueFormat = "text",
    max_errors: Annotated[
        int,
        typer.Option(
            "--max-errors", min=0, metavar="N", help="Stop after reporting N errors (0: no limit)."
        ),
    ] = 0,
    lenient: JudgeLeniently = False,
    allow_empty: Annotated[
        bool,
        typer.Option("--allow-empty", help="Exit 0 for an input without records (default: 1)."),
    ] = False,
    failures: Failures = False,
    workers: Workers = 1,
    quiet: Quiet = False,
    where: Where = None,
) -> None:
    """Check rollouts against the JSON Schemas and the converter's own rules; report every error.

    Issues go to stdout, the summary to stderr. Exit code 0: all records valid; 1: invalid
    records, or no records at all (unless --allow-empty); 2: usage or input error.
    """
    from nemogym_docent.cli.validate import run_validate  # noqa: PLC0415 (loads the converter)

    run_validate(
        inputs,
        output_format=output_format,
        max_errors=max_errors,
        lenient=lenient,
        allow_empty=allow_empty,
        failures=failures,
        workers=workers,
        quiet=quiet,
        where=where,
    )


@app.command(
    epilog=examples(
        "DOCENT_API_KEY=... nemogym-docent upload results/ --collection-name 'math evals'",
        "nemogym-docent upload runs.jsonl --from-agent-runs --collection-id 0f5e2c1a-...",
        "nemogym-docent upload results/ --dry-run --skip-invalid",
    )
)
@grouped
def upload(
    inputs: Inputs,
    *,
    sending: Sending,
    conversion: Conversion,
    selecting: Selecting,
    streaming: Streaming,
) -> None:
    """Convert rollouts and add them to a Docent collection, in batches, with Docent's client.

    The API key comes from DOCENT_API_KEY (or a docent.env file), as Docent's SDK reads it.
    Exit code 0: all sent; 1: invalid records; 2: usage, input or server error, or a timeout.
    """
    from nemogym_docent.cli.upload import UploadOptions, run_upload  # noqa: PLC0415

    run_upload(UploadOptions(inputs, sending, conversion, selecting, streaming))


@app.command(
    epilog=examples(
        "nemogym-docent summary results/",
        "nemogym-docent summary results/ --format json --where 'agent_ref.name == \"math_agent\"'",
    )
)
def summary(
    inputs: Inputs,
    output_format: SummaryFormat = "text",
    where: Where = None,
    failures: Failures = False,
    answer_key: AnswerKey = None,
    html: HtmlReport = None,
    markdown: MarkdownReport = None,
    docent_collection: DocentCollection = None,
    quiet: Quiet = False,
) -> None:
    """Summarize rollouts per file, per agent and in total: tasks, rewards, NeMo Gym's metrics
    (pass@k, pass@1[avg-of-k], majority@k, coverage), ng_perf, failed attempts, refusals.

    Reads each input once, holding a few numbers per rollout.
    """
    from nemogym_docent.cli.reports import Reports  # noqa: PLC0415
    from nemogym_docent.cli.summary import run_summary  # noqa: PLC0415 (loads the converter)

    run_summary(
        inputs,
        output_format=output_format,
        where=where or [],
        answer_key=answer_key,
        failures=failures,
        quiet=quiet,
        reports=Reports(html, markdown, docent_collection),
    )


@app.command(
    epilog=examples(
        "nemogym-docent compare runs/baseline/ runs/candidate/",
        "nemogym-docent compare base.jsonl cand.jsonl --format json --fail-on-regression",
    )
)
@grouped
def compare(
    baseline: Annotated[str, typer.Argument(help="The baseline export (a file, or a folder).")],
    candidate: Annotated[str, typer.Argument(help="The candidate export (a file, or a folder).")],
    *,
    output_format: SummaryFormat = "text",
    fail_on_regression: Annotated[
        bool,
        typer.Option("--fail-on-regression", help="Exit 1 when any task regressed (for CI)."),
    ] = False,
    answer_key: AnswerKey = None,
    html: HtmlReport = None,
    markdown: MarkdownReport = None,
    docent_collection: DocentCollection = None,
    upload: Annotated[
        bool,
        typer.Option(
            "--upload",
            help="Send both sides of every flipped task to one Docent collection (the upload "
            "options say where), marked with their side and flip, and print links to them.",
        ),
    ] = False,
    sending: Sending,
    conversion: Conversion,
) -> None:
    """Compare two runs agent by agent: NeMo Gym's metrics on both sides, and the tasks that
    flipped (gym eval compare's rules), regressions first.

    Exit code 0; with --fail-on-regression, 1 when a task regressed; 2: usage, input or server
    error.
    """
    from nemogym_docent.cli.compare import run_compare  # noqa: PLC0415
    from nemogym_docent.cli.reporting import fail  # noqa: PLC0415
    from nemogym_docent.cli.reports import Reports  # noqa: PLC0415
    from nemogym_docent.cli.upload import UploadOptions  # noqa: PLC0415

    if not upload and (sending.collection_id or sending.collection_name or sending.dry_run):
        fail("--collection-id, --collection-name and --dry-run go with --upload")
    run_compare(
        baseline,
        candidate,
        output_format=output_format,
        answer_key=answer_key,
        fail_on_regression=fail_on_regression,
        quiet=conversion.quiet,
        reports=Reports(html, markdown, docent_collection),
        upload=(
            UploadOptions([baseline, candidate], sending, conversion, Selecting())
            if upload
            else None
        ),
    )


@app.command(
    epilog=examples(
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
    from nemogym_docent.cli.schema import print_schema  # noqa: PLC0415

    print_schema(name, path=path)
