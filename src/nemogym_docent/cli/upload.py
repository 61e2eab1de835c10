"""``nemogym-docent upload``: convert and send runs to a Docent collection in bounded batches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, NoReturn, TypeVar

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
from nemogym_docent.upload_keys import get_upload_key

if TYPE_CHECKING:
    from docent.data_models.agent_run import AgentRun

    from nemogym_docent.cli.docent_upload import DocentUploader

BATCH_BYTES = 64 << 20
T = TypeVar("T")


@dataclass
class SentBatch:
    """A batch Docent accepted: its number, size, where its runs came from, and its jobs."""

    number: int
    runs: int
    first: str
    last: str
    job_ids: list[str]

    def describe(self) -> str:
        jobs = ", ".join(self.job_ids) or "no job id"
        return f"batch {self.number}: {self.runs} runs ({self.first} to {self.last}); job {jobs}"


@dataclass
class _Batch:
    runs: list[AgentRun] = field(default_factory=list)
    size: int = 0
    first: str = ""
    last: str = ""


def upload_command(
    inputs: Inputs,
    collection_id: Annotated[
        str | None,
        typer.Option("--collection-id", metavar="ID", help="Add the runs to this collection."),
    ] = None,
    collection_name: Annotated[
        str | None,
        typer.Option(
            "--collection-name", metavar="NAME", help="Create a collection with this name."
        ),
    ] = None,
    api_url: Annotated[
        str | None,
        typer.Option(
            "--api-url", help="Docent API URL (default: DOCENT_API_URL, docent.env, or Docent's)."
        ),
    ] = None,
    frontend_url: Annotated[
        str | None,
        typer.Option(
            "--frontend-url",
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
        int, typer.Option("--batch-size", min=1, help="Runs sent per request (at most).")
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
    workers: Workers = 1,
    quiet: Quiet = False,
) -> None:
    """Convert rollouts and add them to a Docent collection, in batches, with Docent's client.

    The API key comes from DOCENT_API_KEY (or a docent.env file), as Docent's SDK reads it.
    Exit code 0: all sent; 1: invalid records or a timeout; 2: usage, input or server error.
    """
    if (collection_id is None) == (collection_name is None) and not dry_run:
        fail("give either --collection-id or --collection-name")
    found = find_inputs(inputs, quiet=quiet)
    uploader: DocentUploader | None = None
    if not dry_run:
        uploader = _connect(api_url, frontend_url, timeout, quiet)
        if collection_id is None:
            collection_id = _call(lambda: uploader.create_collection(str(collection_name)), [])
    upload = _Upload(
        uploader,
        collection_id or "",
        batch_size=batch_size,
        resume=resume,
        # A collection created just now holds nothing yet.
        check_collection=collection_name is None,
    )
    upload.stats.files = len(found.sources)
    errors_file = ErrorsFile(errors)
    progress = InputProgress("uploading", enabled=not quiet and stderr_is_terminal())
    task = LineTask("agent_runs" if from_agent_runs else "upload", strict=not lenient)
    try:
        with progress:
            chunks = read_chunks(found.sources, count_bytes=progress.count_bytes)
            for source, results in run_task(task, chunks, workers=workers):
                for result in results:
                    failures = upload.add(source.name, result)
                    for failure in failures:
                        errors_file.write(failure)
                    if failures and not skip_invalid:
                        _stop(failures[0].as_text(), upload.reported, ExitCode.INVALID)
                    if failures and errors is None and not quiet:
                        note(failures[0].as_text())
                progress.add_records(len(results))
            upload.flush()
    except InputError as exc:
        _stop(str(exc), upload.reported, ExitCode.ERROR)
    finally:
        errors_file.close()

    if uploader is not None and wait:
        job_ids = [job for batch in upload.sent for job in batch.job_ids]
        _call(lambda: uploader.wait(upload.collection_id, job_ids), upload.sent)
    if not quiet:
        verb = "would send" if dry_run else "sent"
        batches = f"{upload.batches:,} batch" + ("" if upload.batches == 1 else "es")
        if resume:
            note(f"{upload.already:,} runs already in the collection were not sent again")
        title = f"upload ({verb} {upload.stats.runs - upload.already:,} runs in {batches})"
        print_conversion_summary(upload.stats, title=title)
    if uploader is not None:
        typer.echo(uploader.collection_url(upload.collection_id))
    failed = upload.stats.failed
    raise typer.Exit(int(ExitCode.OK if skip_invalid or not failed else ExitCode.INVALID))


class _Upload:
    """Gathers converted runs into batches and sends each full batch (counts it in a dry run)."""

    def __init__(
        self,
        uploader: DocentUploader | None,
        collection_id: str,
        *,
        batch_size: int,
        resume: bool = False,
        check_collection: bool = True,
    ) -> None:
        self.uploader = uploader
        self.collection_id = collection_id
        self.batch_size = batch_size
        self.resume = resume
        self.check_collection = check_collection and uploader is not None
        self.already = 0
        """Runs not sent because the collection held them (or this upload sent them before)."""
        self._sent_keys: set[str] = set()
        self.stats = RunStats()
        self.sent: list[SentBatch] = []
        self.batches = 0
        self._batch = _Batch()

    @property
    def reported(self) -> list[SentBatch] | None:
        """The batches to list when stopping early (None in a dry run, which sends none)."""
        return None if self.uploader is None else self.sent

    def add(self, file: str, result: LineResult) -> list[Failure]:
        """Take one line's result; returns its failures (empty when it became a run)."""
        self.stats.records += 1
        if result.run is None:
            self.stats.failed += 1
            return [
                Failure(file, result.line, issue.json_path, issue.message)
                for issue in result.issues
            ]
        self.stats.add_run(result)
        batch = self._batch
        batch.runs.append(result.run)
        batch.size += result.size
        batch.first = batch.first or f"{file}:{result.line}"
        batch.last = f"{file}:{result.line}"
        if len(batch.runs) >= self.batch_size or batch.size >= BATCH_BYTES:
            self.flush()
        return []

    def flush(self) -> None:
        """Send the runs gathered so far, if any."""
        batch, uploader = self._batch, self.uploader
        if not batch.runs:
            return
        self._batch = _Batch()
        runs = self._missing(batch.runs) if uploader is not None else batch.runs
        if not runs:
            return
        self.batches += 1
        if uploader is not None:
            job_ids = _call(lambda: uploader.send(self.collection_id, runs), self.sent)
            self.sent.append(SentBatch(self.batches, len(runs), batch.first, batch.last, job_ids))

    def _missing(self, runs: list[AgentRun]) -> list[AgentRun]:
        """With ``--resume``, the runs whose keys neither the collection nor this upload holds;
        without, all of them, with a warning the first time the collection holds some."""
        uploader = self.uploader
        assert uploader is not None
        keys = [get_upload_key(run) for run in runs]
        if not self.resume:
            if self.check_collection:
                from nemogym_docent.cli.docent_upload import (  # noqa: PLC0415
                    ServerError,
                    ServerTimeout,
                )

                try:
                    held = uploader.held_keys(self.collection_id, keys)
                except (ServerError, ServerTimeout):  # only a warning is at stake
                    held, self.check_collection = set(), False
                if held:
                    note(
                        f"warning: the collection already holds {len(held):,} of these runs "
                        "(from an earlier upload?); rerun with --resume to send only the "
                        "missing ones"
                    )
                    self.check_collection = False
            return runs
        held = (
            _call(lambda: uploader.held_keys(self.collection_id, keys), self.sent)
            if self.check_collection
            else set()
        )
        missing = []
        for run, key in zip(runs, keys, strict=True):
            if key in held or key in self._sent_keys:
                self.already += 1
                continue
            self._sent_keys.add(key)
            missing.append(run)
        return missing


def _connect(
    api_url: str | None, frontend_url: str | None, timeout: float, quiet: bool
) -> DocentUploader:
    from nemogym_docent.cli.docent_upload import DocentUploader, ServerError  # noqa: PLC0415

    try:
        return DocentUploader(
            api_url=api_url, frontend_url=frontend_url, timeout=timeout, quiet=quiet
        )
    except ServerError as exc:
        fail(str(exc))


def _call(action: Callable[[], T], sent: list[SentBatch] | None) -> T:
    """Run a server call; on failure say which batches were already sent, then exit."""
    from nemogym_docent.cli.docent_upload import ServerError, ServerTimeout  # noqa: PLC0415

    try:
        return action()
    except ServerTimeout as exc:
        _stop(str(exc), sent, ExitCode.INVALID)
    except ServerError as exc:
        _stop(str(exc), sent, ExitCode.ERROR)


def _stop(message: str, sent: list[SentBatch] | None, code: ExitCode) -> NoReturn:
    """Say which batches were sent (None: a dry run sends none), then exit with ``code``."""
    if sent is None:
        pass
    elif sent:
        note(f"{len(sent)} batch(es) were sent before stopping:")
        for batch in sent:
            note(f"  {batch.describe()}")
    else:
        note("no batch was sent")
    fail(message, code)
