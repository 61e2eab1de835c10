"""``nemogym-docent upload``: convert and send runs to a Docent collection in bounded batches."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer

from nemogym_docent.analysis.task_groups import task_dql
from nemogym_docent.cli.options import Conversion, Selecting, Sending, parse_duration
from nemogym_docent.cli.reporting import ExitCode, fail, say, selection_rows
from nemogym_docent.cli.session import Session, selection_stage
from nemogym_docent.engine.following import FollowedInput, StopOnInterrupt
from nemogym_docent.engine.line_tasks import LineResult, LineTask
from nemogym_docent.engine.selecting import SelectionStage
from nemogym_docent.upload.keys import get_upload_key

if TYPE_CHECKING:
    from docent.data_models.agent_run import AgentRun

    from nemogym_docent.upload.client import DocentUploader

BATCH_BYTES = 64 << 20
T = TypeVar("T")


@dataclass(frozen=True)
class UploadOptions:
    """What the upload command was asked to do."""

    inputs: list[str]
    sending: Sending
    conversion: Conversion
    selecting: Selecting
    from_agent_runs: bool = False
    follow: bool = False
    """Read on as lines are appended, until Ctrl-C (implies ``--resume``)."""
    flush_every: str = "10s"

    @property
    def resume(self) -> bool:
        return self.sending.resume or self.follow


@dataclass
class SentBatch:
    """A batch Docent accepted: its size, where its runs came from, and its jobs."""

    runs: int
    first: str
    last: str
    job_ids: list[str]


@dataclass
class _Batch:
    runs: list[AgentRun] = field(default_factory=list)
    size: int = 0
    first: str = ""
    last: str = ""


def run_upload(options: UploadOptions) -> None:
    """Connect (unless a dry run), then convert and send batch by batch; exits."""
    sending = options.sending
    if sending.collection_id is not None and sending.collection_name is not None:
        fail("give one of --collection-id and --collection-name, not both")
    if sending.collection_id is None and sending.collection_name is None and not sending.dry_run:
        fail("say where the runs go: --collection-id ID or --collection-name NAME")
    flush_seconds = parse_duration(options.flush_every)
    if options.follow and (
        options.selecting.selects or options.from_agent_runs or options.conversion.workers > 1
    ):
        fail(
            "--follow sends rollouts as they arrive: it takes --where, not --sample, "
            "--per-task, --contrast, --group-by, --from-agent-runs or --workers"
        )
    stage = selection_stage(options.selecting)
    uploader = None if options.sending.dry_run else _connect(options)
    upload = _Upload(uploader, options)
    task = LineTask(
        "agent_runs" if options.from_agent_runs else "upload",
        options.conversion.options,
        stop_at_failure=not options.conversion.skip_invalid,
    )
    with StopOnInterrupt(active=options.follow) as stop:
        followed = (
            _followed(options, upload, flush_seconds, stage, stop) if options.follow else None
        )
        chunk_source = (
            (lambda _sources, _read: followed.chunks())
            if followed is not None
            else None
            if stage is None
            else stage.apply
        )
        with Session(
            task,
            options.inputs,
            options.conversion,
            progress_label="uploading",
            when_stopped=upload.what_was_sent,
            chunk_source=chunk_source,
        ) as session:
            for source, result in session.results():
                if result.issues:
                    session.reject(result)
                    continue
                if stage is not None and result.run is not None:
                    stage.group_run(source.name, result.line, result.run)
                upload.add(source.name, result)
            upload.flush()
            if followed is not None:
                _say_what_was_left(followed)
            if uploader is not None and options.sending.wait and upload.sent:
                job_ids = [job for batch in upload.sent for job in batch.job_ids]
                upload.call(lambda: uploader.wait(upload.collection_id or "", job_ids))
            if options.resume and uploader is not None and not options.conversion.quiet:
                say(f"{upload.already:,} runs already in the collection were not sent again")
            verb = "would send" if uploader is None else "sent"
            sent = session.stats.runs - upload.already
            rows = [(verb, f"{sent:,} runs in {upload.batches:,} batch{_es(upload)}")]
            summary = selection_rows(stage, session.stats)
            session.finish("upload", rows + summary)
    if uploader is not None and upload.collection_id is not None:
        typer.echo(uploader.collection_url(upload.collection_id))
        _show_a_task(stage)
    raise typer.Exit(int(ExitCode.OK))


def _show_a_task(stage: SelectionStage | None) -> None:
    """With ``--group-by task``, how to see the runs of one task in Docent."""
    example = stage.example_task() if stage is not None else None
    if example is not None:
        typer.echo(
            f"the runs of one task: filter on metadata nemogym.task_key = {example!r}, "
            f"or with DQL: {task_dql(example)}"
        )


def _followed(
    options: UploadOptions,
    upload: _Upload,
    flush_seconds: float,
    stage: SelectionStage | None,
    stop: threading.Event,
) -> FollowedInput:
    """The lines appended to the inputs, as they come, until Ctrl-C."""
    paths = [Path(argument) for argument in options.inputs]
    for path in paths:
        if str(path) == "-" or not (path.is_dir() or path.suffix == ".jsonl"):
            fail(f"{path}: --follow reads *.jsonl files and folders (not compressed files or -)")
    if not options.conversion.quiet:
        say(f"following {', '.join(map(str, paths))}; Ctrl-C sends what is complete and stops")
    return FollowedInput(
        paths,
        stop,
        upload,
        flush_seconds,
        select=(lambda chunks: chunks) if stage is None else stage.chunks,
    )


def _say_what_was_left(followed: FollowedInput) -> None:
    for path, size in followed.follower.pending():
        say(f"{path}: its last line is incomplete ({size:,} bytes without a line end): not sent")


def _es(upload: _Upload) -> str:
    return "" if upload.batches == 1 else "es"


class _Upload:
    """Gathers converted runs into batches and sends each full batch (counts it in a dry run);
    creates the collection, when asked to, just before the first batch goes."""

    def __init__(self, uploader: DocentUploader | None, options: UploadOptions) -> None:
        self.uploader = uploader
        self.options = options
        self.collection_id = options.sending.collection_id
        # A collection this upload creates holds nothing yet.
        self.check_collection = uploader is not None and options.sending.collection_name is None
        self.already = 0
        """Runs not sent because the collection held them (or this upload sent them before)."""
        self._sent_keys: set[str] = set()
        self.sent: list[SentBatch] = []
        self.batches = 0
        self._batch = _Batch()

    @property
    def gathered(self) -> int:
        """Runs gathered and not sent yet."""
        return len(self._batch.runs)

    def add(self, file: str, result: LineResult) -> None:
        """Take one record's run; send the batch when it is full."""
        assert result.run is not None
        batch = self._batch
        batch.runs.append(result.run)
        batch.size += result.size
        batch.first = batch.first or f"{file}:{result.line}"
        batch.last = f"{file}:{result.line}"
        if len(batch.runs) >= self.options.sending.batch_size or batch.size >= BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        """Send the runs gathered so far, if any."""
        batch, uploader = self._batch, self.uploader
        if not batch.runs:
            return
        self._batch = _Batch()
        runs = batch.runs if uploader is None else self._missing(uploader, batch.runs)
        if not runs:
            return
        self.batches += 1
        if uploader is not None:
            collection_id = self.collection_id or self._create_collection(uploader)
            job_ids = self.call(lambda: uploader.send(collection_id, runs))
            self.sent.append(SentBatch(len(runs), batch.first, batch.last, job_ids))

    def _missing(self, uploader: DocentUploader, runs: list[AgentRun]) -> list[AgentRun]:
        """With ``--resume``, the runs whose keys neither the collection nor this upload holds;
        without, all of them, with a warning the first time the collection holds some."""
        keys = [get_upload_key(run) for run in runs]
        collection_id = self.collection_id or ""
        if not self.options.resume:
            if self.check_collection:
                from nemogym_docent.upload.client import (  # noqa: PLC0415
                    ServerError,
                    ServerTimeout,
                )

                try:
                    held = uploader.held_keys(collection_id, keys)
                except (ServerError, ServerTimeout):  # only a warning is at stake
                    held, self.check_collection = set(), False
                if held:
                    say(
                        f"warning: the collection already holds {len(held):,} of these runs "
                        "(from an earlier upload?); rerun with --resume to send only the "
                        "missing ones"
                    )
                    self.check_collection = False
            return runs
        held = (
            self.call(lambda: uploader.held_keys(collection_id, keys))
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

    def _create_collection(self, uploader: DocentUploader) -> str:
        name = str(self.options.sending.collection_name)
        self.collection_id = self.call(lambda: uploader.create_collection(name))
        url = uploader.collection_url(self.collection_id)
        say(f"created collection {self.collection_id} ({name}): {url}")
        return self.collection_id

    def call(self, action: Callable[[], T]) -> T:
        """Run a server call; on failure say what was already sent, then exit."""
        from nemogym_docent.upload.client import ServerError, ServerTimeout  # noqa: PLC0415

        try:
            return action()
        except (ServerError, ServerTimeout) as exc:
            self._stop(str(exc), ExitCode.ERROR)

    def _stop(self, message: str, code: ExitCode) -> NoReturn:
        fail(message, code, then=self.what_was_sent())

    def what_was_sent(self) -> list[str]:
        """One line: the batches, runs, their origin and job ids sent so far (none in a dry run)."""
        if self.uploader is None:
            return []
        if not self.sent:
            return ["nothing was sent before stopping"]
        runs = sum(batch.runs for batch in self.sent)
        jobs = ", ".join(job for batch in self.sent for job in batch.job_ids) or "no job id"
        batches = f"{len(self.sent)} batch" + ("" if len(self.sent) == 1 else "es")
        return [
            f"sent before stopping: {batches}, {runs:,} runs ({self.sent[0].first} to "
            f"{self.sent[-1].last}) to collection {self.collection_id}; jobs {jobs}"
        ]


def _connect(options: UploadOptions) -> DocentUploader:
    from nemogym_docent.upload.client import DocentUploader, ServerError  # noqa: PLC0415

    try:
        return DocentUploader(
            api_url=options.sending.api_url,
            frontend_url=options.sending.frontend_url,
            timeout=options.sending.timeout,
            quiet=options.conversion.quiet,
        )
    except ServerError as exc:
        fail(str(exc))
