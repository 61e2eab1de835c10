"""``nemogym-docent upload``: the command line of an upload (options, messages, exit codes);
the upload itself is ``upload.pipeline``."""

from __future__ import annotations

import dataclasses
import shlex
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, TypeVar

import typer

from nemogym_docent.cli.options import (
    Conversion,
    Selecting,
    Sending,
    Streaming,
    option_words,
    parse_duration,
)
from nemogym_docent.cli.reporting import ExitCode, fail, say, selection_rows
from nemogym_docent.cli.session import Session, selection_stage
from nemogym_docent.engine.follow_upload import FollowedInput, StopOnInterrupt
from nemogym_docent.engine.line_tasks import LineResult, LineTask
from nemogym_docent.engine.selection_stage import SelectionStage
from nemogym_docent.engine.stopping import STOPPING_SIGNALS, Interrupted
from nemogym_docent.upload.faults import UploadError
from nemogym_docent.upload.keys import get_upload_key
from nemogym_docent.upload.links import View, link_lines, task_view, upload_views
from nemogym_docent.upload.payload import run_payload
from nemogym_docent.upload.pipeline import Destination, Upload
from nemogym_docent.upload.retry import Retrying, RetryPolicy
from nemogym_docent.upload.sending import Outgoing

if TYPE_CHECKING:
    from nemogym_docent.upload.client import DocentUploader

_STOPPING = "stopping once Docent answers the batch in flight (Ctrl-C again to stop at once)"
T = TypeVar("T")


@dataclass(frozen=True)
class UploadOptions:
    """What the upload command was asked to do: its inputs and its option groups (the
    ``--resume`` command is made of them)."""

    inputs: list[str]
    sending: Sending
    conversion: Conversion
    selecting: Selecting
    streaming: Streaming = field(default_factory=Streaming)

    @property
    def resume(self) -> bool:
        return self.sending.resume or self.streaming.follow

    @property
    def follow(self) -> bool:
        return self.streaming.follow

    @property
    def from_agent_runs(self) -> bool:
        return self.streaming.from_agent_runs


def run_upload(
    options: UploadOptions,
    *,
    stage: SelectionStage | None = None,
    views: list[View] | None = None,
) -> None:
    """Connect (unless a dry run), then convert and send batch by batch; exits. A command of its
    own may choose the lines and mark the runs (``stage``), and name views to link to."""
    sending = options.sending
    if sending.collection_id is not None and sending.collection_name is not None:
        fail("give one of --collection-id and --collection-name, not both")
    if sending.collection_id is None and sending.collection_name is None and not sending.dry_run:
        fail("say where the runs go: --collection-id ID or --collection-name NAME")
    flush_seconds = parse_duration(options.streaming.flush_every)
    patience = None if options.follow and sending.patience is None else sending.patience_seconds
    if options.follow and (
        options.selecting.selects or options.from_agent_runs or options.conversion.workers > 1
    ):
        fail(
            "--follow sends rollouts as they arrive: it takes --where, not --sample, "
            "--per-task, --contrast, --group-by, --from-agent-runs or --workers"
        )
    own_stage = stage is not None  # another command's (compare): its command line finishes it
    stage = stage if stage is not None else selection_stage(options.selecting)
    upload = _Upload(options, patience=patience, rerun_as_upload=not own_stage)
    uploader = upload.uploader
    upload.prepare()  # before any conversion: the collection, and what an earlier upload left
    task = LineTask(
        "agent_runs" if options.from_agent_runs else "upload",
        options.conversion.options,
        stop_at_failure=not options.conversion.skip_invalid,
    )
    with StopOnInterrupt(active=options.follow) as stop:
        upload.stop = stop if options.follow else None
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
                assert result.run is not None
                payload = result.output
                if stage is not None:
                    stage.group_run(source.name, result.line, result.run)
                    payload = None  # the group went into the run's metadata
                upload.add(source.name, result, payload)
            upload.finish()
            if followed is not None:
                _say_what_was_left(followed)
            if uploader is not None and not options.conversion.quiet:
                _say_what_was_not_sent(upload.pipeline, resume=options.resume)
            verb = "would send" if uploader is None else "sent"
            sent = session.stats.runs if uploader is None else upload.pipeline.acknowledged.runs
            batches = upload.pipeline.batches
            rows = [(verb, f"{sent:,} runs in {batches:,} batch{'' if batches == 1 else 'es'}")]
            summary = selection_rows(stage, session.stats)
            session.finish("upload", rows + summary, stage=stage)
    collection_id = upload.pipeline.collection_id
    if uploader is not None and collection_id is not None:
        typer.echo(uploader.collection_url(collection_id))
        _show_a_task(stage)
        if views is None and stage is not None and stage.reads_twice:
            views = upload_views(contrast=stage.selection.contrast)
        for line in link_lines(views or [], lambda f, n: uploader.save_filter(collection_id, f, n)):
            typer.echo(line)
    raise typer.Exit(int(ExitCode.OK))


def _show_a_task(stage: SelectionStage | None) -> None:
    """With ``--group-by task``, how to see the runs of one task in Docent."""
    example = stage.example_task() if stage is not None else None
    if example is not None:
        view = task_view(example)
        typer.echo(f"{view.name}: enter in the run list's filter bar {view.condition}")


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
        if str(path) != "-" and not path.exists():
            fail(f"{path}: no such file or directory")
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


def _say_what_was_not_sent(upload: Upload, *, resume: bool) -> None:
    if resume:
        say(f"{upload.already:,} runs already in the collection were not sent again")
    if upload.repeated:
        say(
            f"{upload.repeated:,} lines repeat a run given before in this upload (the same line "
            "under the same name): each such run was sent once"
        )


def _say_what_was_left(followed: FollowedInput) -> None:
    for path, size in followed.follower.pending():
        say(f"{path}: its last line is incomplete ({size:,} bytes without a line end): not sent")


class _Upload:
    """The pipeline as the command line runs it: its notes said, a fault a stop that says what
    the server holds and how to finish, and Ctrl-C during a send waiting for the answer
    (docs/uploads-once.md)."""

    def __init__(
        self, options: UploadOptions, *, patience: float | None, rerun_as_upload: bool
    ) -> None:
        self.options = options
        self.rerun_as_upload = rerun_as_upload
        self.stop: threading.Event | None = None
        """With ``--follow``: set by the first Ctrl-C."""
        self._stop_asked: list[int] = []
        retrying = Retrying(
            RetryPolicy(patience), on_wait=self._waiting, should_stop=self._stop_requested
        )
        sending = options.sending
        self.uploader = None if sending.dry_run else _connect(options, retrying)
        destination = Destination(
            collection_id=sending.collection_id,
            collection_name=sending.collection_name,
            resume=options.resume,
            resend_in_flight=sending.resend_in_flight,
            ledger=sending.ledger,
            batch_size=sending.batch_size,
        )
        self.pipeline = Upload(
            self.uploader, destination, notes=self._note, sending_guard=self._answer_first
        )

    @property
    def gathered(self) -> int:
        return self.pipeline.gathered

    def prepare(self) -> None:
        """Find the collection and resolve what an earlier upload left in flight, before any
        conversion."""
        try:
            self.pipeline.prepare()
        except UploadError as exc:
            if self.pipeline.sender is None:
                fail(str(exc))  # nothing was sent, nothing to finish
            fail(str(exc), ExitCode.ERROR, then=self.what_was_sent())

    def add(self, file: str, result: LineResult, payload: bytes | None) -> None:
        """Take one record's run; the batch goes when it is full."""
        run = result.run
        assert run is not None
        body = run_payload(run) if payload is None else payload
        origin = f"{file}:{result.line}"
        left_out = self._call(
            lambda: self.pipeline.add(Outgoing(get_upload_key(run), run.id, origin, body))
        )
        if left_out is not None:
            say(f"warning: {origin}: {left_out}: not sent")

    def flush(self) -> None:
        self._call(self.pipeline.flush)

    def finish(self) -> None:
        self._call(self.pipeline.finish if self.options.sending.wait else self.pipeline.flush)

    def what_was_sent(self) -> list[str]:
        """What the server acknowledged, what was in flight, and the command that finishes the
        upload (nothing in a dry run)."""
        if self.uploader is None:
            return []
        lines = self.pipeline.stopped()
        collection_id = self.pipeline.collection_id
        if collection_id is None:
            return lines
        if self.rerun_as_upload:
            lines.append(f"finish the upload with: {resume_command(self.options, collection_id)}")
        else:
            lines.append(
                "finish the upload: run this command again with "
                f"--collection-id {collection_id} --resume"
            )
        return lines

    def _call(self, action: Callable[[], T]) -> T:
        try:
            return action()
        except UploadError as exc:
            fail(str(exc), ExitCode.ERROR, then=self.what_was_sent())

    def _note(self, message: str) -> None:
        if message.startswith(("warning:", "created collection")) or not self._quiet:
            say(message)

    def _waiting(self, message: str) -> None:
        if not self._quiet:
            say(message)

    @property
    def _quiet(self) -> bool:
        return self.options.conversion.quiet

    @contextmanager
    def _answer_first(self) -> Iterator[None]:
        """While a batch is in flight, the first Ctrl-C (or SIGTERM) stops once the server has
        answered, so that the counts are exact; a second one stops at once. (``--follow`` has
        its own: the first Ctrl-C ends the follow.)"""
        if self.options.follow or threading.current_thread() is not threading.main_thread():
            yield
            return
        asked = self._stop_asked

        def handle(number: int, _frame: FrameType | None) -> None:
            asked.append(number)
            if len(asked) == 1:
                say(_STOPPING)
                return
            raise Interrupted(number)

        previous = {number: signal.signal(number, handle) for number in STOPPING_SIGNALS}
        try:
            yield
        finally:
            for number, handler in previous.items():
                # Stopping, as main does on a signal: nothing may cut the clean-up.
                signal.signal(number, signal.SIG_IGN if asked else handler)
        if asked:
            raise Interrupted(asked[0])

    def _stop_requested(self) -> bool:
        return bool(self._stop_asked) or (self.stop is not None and self.stop.is_set())


def resume_command(options: UploadOptions, collection_id: str) -> str:
    """The command that sends what an upload into ``collection_id`` did not: the inputs and
    every option group of ``options`` as given (``--follow`` implies ``--resume``)."""
    sending = dataclasses.replace(
        options.sending, collection_id=None, collection_name=None, resume=not options.follow
    )
    words = ["nemogym-docent", "upload", *options.inputs, "--collection-id", collection_id]
    for option in dataclasses.fields(options):
        if option.name == "inputs":
            continue
        group = sending if option.name == "sending" else getattr(options, option.name)
        words += option_words(group)
    return shlex.join(words)


def _connect(options: UploadOptions, retrying: Retrying) -> DocentUploader:
    from nemogym_docent.upload.client import DocentUploader  # noqa: PLC0415

    try:
        return DocentUploader(
            api_url=options.sending.api_url,
            frontend_url=options.sending.frontend_url,
            timeout=options.sending.timeout,
            quiet=options.conversion.quiet,
            retrying=retrying,
        )
    except UploadError as exc:
        fail(str(exc))
