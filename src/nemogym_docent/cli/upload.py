"""``nemogym-docent upload``: convert and send runs to a Docent collection in bounded batches."""

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

from nemogym_docent.analysis.task_groups import task_dql
from nemogym_docent.cli.options import (
    Conversion,
    Selecting,
    Sending,
    option_words,
    parse_duration,
)
from nemogym_docent.cli.reporting import ExitCode, fail, say, selection_rows
from nemogym_docent.cli.session import Session, selection_stage
from nemogym_docent.engine.following import FollowedInput, StopOnInterrupt
from nemogym_docent.engine.line_tasks import LineResult, LineTask
from nemogym_docent.engine.selecting import SelectionStage
from nemogym_docent.engine.stopping import STOPPING_SIGNALS, Interrupted
from nemogym_docent.upload.keys import get_upload_key
from nemogym_docent.upload.ledger import Ledger, default_ledger_path
from nemogym_docent.upload.links import View, link_lines, upload_views
from nemogym_docent.upload.payload import ENVELOPE_BYTES, MAX_REQUEST_BYTES, run_payload
from nemogym_docent.upload.sending import CollectionSender, Outgoing, Span

if TYPE_CHECKING:
    from nemogym_docent.upload.client import DocentUploader

BATCH_BYTES = 64 << 20
ATTEMPTS = 4
_STOPPING = "stopping once Docent answers the batch in flight (Ctrl-C again to stop at once)"
"""How often a batch is tried before the upload stops (``--follow``: until it goes)."""
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
class _Batch:
    runs: list[Outgoing] = field(default_factory=list)
    size: int = 0


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
    flush_seconds = parse_duration(options.flush_every)
    if options.follow and (
        options.selecting.selects or options.from_agent_runs or options.conversion.workers > 1
    ):
        fail(
            "--follow sends rollouts as they arrive: it takes --where, not --sample, "
            "--per-task, --contrast, --group-by, --from-agent-runs or --workers"
        )
    own_stage = stage is not None  # another command's (compare): its command line finishes it
    stage = stage if stage is not None else selection_stage(options.selecting)
    uploader = None if options.sending.dry_run else _connect(options)
    upload = _Upload(uploader, options, rerun_as_upload=not own_stage)
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
            upload.flush()
            if followed is not None:
                _say_what_was_left(followed)
            job_ids = [] if upload.sender is None else upload.sender.job_ids
            if uploader is not None and options.sending.wait and job_ids:
                upload.call(lambda: uploader.wait(upload.collection_id or "", job_ids))
            if uploader is not None and not options.conversion.quiet:
                _say_what_was_not_sent(upload, resume=options.resume)
            verb = "would send" if uploader is None else "sent"
            sent = session.stats.runs if uploader is None else upload.acknowledged.runs
            rows = [(verb, f"{sent:,} runs in {upload.batches:,} batch{_es(upload)}")]
            summary = selection_rows(stage, session.stats)
            session.finish("upload", rows + summary)
    if uploader is not None and upload.collection_id is not None:
        typer.echo(uploader.collection_url(upload.collection_id))
        _show_a_task(stage)
        collection_id = upload.collection_id
        if views is None and stage is not None and stage.reads_twice:
            views = upload_views(contrast=stage.selection.contrast)
        for line in link_lines(views or [], lambda f, n: uploader.save_filter(collection_id, f, n)):
            typer.echo(line)
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


def _say_what_was_not_sent(upload: _Upload, *, resume: bool) -> None:
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


def _es(upload: _Upload) -> str:
    return "" if upload.batches == 1 else "es"


class _Upload:
    """Gathers converted runs into batches and sends each full batch (counts it in a dry run);
    creates the collection, when asked to, just before the first batch goes. What was sent is
    written down in the upload ledger (docs/uploads-once.md)."""

    def __init__(
        self, uploader: DocentUploader | None, options: UploadOptions, *, rerun_as_upload: bool
    ) -> None:
        self.uploader = uploader
        self.options = options
        self.rerun_as_upload = rerun_as_upload
        self.collection_id = options.sending.collection_id
        self.sender: CollectionSender | None = None
        self.batches = 0
        self._batch = _Batch()
        self._warn = True
        """Whether to look for runs of these files in the collection (without ``--resume``)."""
        self._stop_asked: list[int] = []
        self.stop: threading.Event | None = None
        """With ``--follow``: set by the first Ctrl-C."""

    @property
    def gathered(self) -> int:
        """Runs gathered and not sent yet."""
        return len(self._batch.runs)

    @property
    def already(self) -> int:
        """Runs not sent because the collection held them."""
        return 0 if self.sender is None else self.sender.already

    @property
    def repeated(self) -> int:
        """Runs not sent because this upload sent them before (the same line, the same name)."""
        return 0 if self.sender is None else self.sender.repeated

    @property
    def acknowledged(self) -> Span:
        return Span() if self.sender is None else self.sender.acknowledged

    def prepare(self) -> None:
        """Find the collection (``--collection-id`` must exist; ``--collection-name`` with
        ``--resume`` is the one of that name, if any) and resolve what an earlier upload into
        it left in flight."""
        uploader, sending = self.uploader, self.options.sending
        if uploader is None:
            return
        if self.collection_id is not None:
            from nemogym_docent.upload.client import ServerError  # noqa: PLC0415

            try:
                uploader.check_collection(self.collection_id)
            except ServerError as exc:
                fail(str(exc))  # nothing was sent, nothing to finish
            self._open(self.collection_id, new=False)
            return
        if not self.options.resume:
            return
        name = str(sending.collection_name)
        found = self.call(lambda: uploader.collections_named(name))
        if len(found) > 1:
            fail(
                f"{len(found):,} collections are named {name!r} ({', '.join(found)}); "
                "choose one with --collection-id"
            )
        if found:
            self.collection_id = found[0]
            if not self.options.conversion.quiet:
                say(f"reusing collection {found[0]} ({name}): {uploader.collection_url(found[0])}")
            self._open(found[0], new=False)

    def _open(self, collection_id: str, *, new: bool) -> CollectionSender:
        assert self.uploader is not None
        uploader = self.uploader
        capabilities = self.call(lambda: uploader.capabilities(collection_id))
        ledger = Ledger(
            self.options.sending.ledger or default_ledger_path(),
            server=uploader.server,
            collection=collection_id,
        )
        sender = CollectionSender(
            uploader,
            collection_id,
            ledger,
            capabilities,
            attempts=None if self.options.follow else ATTEMPTS,
            on_retry=self._retrying,
            should_stop=self._stop_requested,
        )
        self.sender = sender
        self._warn = not new
        if not new:
            self._resolve(sender)
        return sender

    def _resolve(self, sender: CollectionSender) -> None:
        resolution = self.call(sender.resolve_in_flight)
        quiet = self.options.conversion.quiet
        if (resolution.stored or resolution.resent) and not quiet:
            say(
                f"an earlier upload left {resolution.stored + resolution.resent:,} runs in "
                f"flight: {resolution.stored:,} are in the collection, {resolution.resent:,} "
                "go again (with the ids they were sent with)"
            )
        if not resolution.unknown:
            return
        span = Span()
        span.add(run.origin for run in resolution.unknown)
        if not self.options.sending.resend_in_flight:
            fail(
                f"an earlier upload left {span.text()} in flight, and "
                f"{self.uploader.server if self.uploader else 'the server'} cannot say whether "
                "it holds them (no DQL, no run-id listing); --resend-in-flight sends them "
                "again, and they may then be stored twice"
            )
        say(f"warning: {span.text()} may be stored twice (--resend-in-flight)")
        sender.accept_unknown(resolution.unknown)

    def add(self, file: str, result: LineResult, payload: bytes | None) -> None:
        """Take one record's run; send the batch when it is full."""
        run = result.run
        assert run is not None
        body = run_payload(run) if payload is None else payload
        if self._batch.runs and self._batch.size + len(body) + ENVELOPE_BYTES > MAX_REQUEST_BYTES:
            self.flush()
        batch = self._batch
        batch.runs.append(Outgoing(get_upload_key(run), run.id, f"{file}:{result.line}", body))
        batch.size += len(body) + 1
        if len(batch.runs) >= self.options.sending.batch_size or batch.size >= BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        """Send the runs gathered so far, if any."""
        batch, uploader = self._batch, self.uploader
        if not batch.runs:
            return
        self._batch = _Batch()
        if uploader is None:
            self.batches += 1
            return
        sender = self.sender or self._open(self._create_collection(uploader), new=True)
        resume = self.options.resume
        runs = self.call(lambda: sender.unsent(batch.runs, ask=resume))
        if not resume and self._warn:
            self._warn_if_held(sender, runs)
        if not runs:
            return
        self.batches += 1
        with self._answer_first():
            self.call(lambda: sender.send(runs))

    def _warn_if_held(self, sender: CollectionSender, runs: list[Outgoing]) -> None:
        """Without ``--resume``: warn, once, that the collection holds some of these runs."""
        from nemogym_docent.upload.client import ServerError  # noqa: PLC0415

        try:
            held = sender.held([run.key for run in runs])
        except ServerError:  # only a warning is at stake
            held, self._warn = set(), False
        if held:
            say(
                f"warning: the collection already holds {len(held):,} of these runs "
                "(from an earlier upload?); rerun with --resume to send only the missing ones"
            )
            self._warn = False

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

    def _retrying(self, message: str) -> None:
        if not self.options.conversion.quiet:
            say(f"warning: {message}")

    def _create_collection(self, uploader: DocentUploader) -> str:
        name = str(self.options.sending.collection_name)
        collection_id = self.call(lambda: uploader.create_collection(name))
        self.collection_id = collection_id
        say(
            f"created collection {collection_id} ({name}): {uploader.collection_url(collection_id)}"
        )
        return collection_id

    def call(self, action: Callable[[], T]) -> T:
        """Run a server call; on failure say what the server holds, then exit."""
        from nemogym_docent.upload.client import ServerError  # noqa: PLC0415

        try:
            return action()
        except ServerError as exc:
            fail(str(exc), ExitCode.ERROR, then=self.what_was_sent())

    def what_was_sent(self) -> list[str]:
        """What the server acknowledged, what was in flight, and the command that finishes the
        upload (nothing in a dry run)."""
        if self.uploader is None:
            return []
        if self.collection_id is None:
            return ["nothing was sent before stopping"]
        acknowledged = self.acknowledged
        said = "no runs" if not acknowledged.runs else acknowledged.text()
        lines = [f"the server acknowledged {said} in collection {self.collection_id}"]
        in_flight = Span()
        if self.sender is not None:
            in_flight.add(run.origin for run in self.sender.in_flight)
        if in_flight.runs:
            verb, them = ("was", "it") if in_flight.runs == 1 else ("were", "them")
            lines.append(
                f"{in_flight.count()} {verb} in flight ({in_flight.where()}): Docent may hold "
                f"{them}; --resume finds out"
            )
        if self.rerun_as_upload:
            finish = resume_command(self.options, self.collection_id)
            lines.append(f"finish the upload with: {finish}")
        else:
            lines.append(
                "finish the upload: run this command again with "
                f"--collection-id {self.collection_id} --resume"
            )
        return lines


def resume_command(options: UploadOptions, collection_id: str) -> str:
    """The command that sends what an upload into ``collection_id`` did not."""
    sending = dataclasses.replace(
        options.sending, collection_id=None, collection_name=None, resume=False
    )
    words = ["nemogym-docent", "upload", *options.inputs, "--collection-id", collection_id]
    words += option_words(sending) + option_words(options.conversion)
    words += option_words(options.selecting)
    if options.from_agent_runs:
        words.append("--from-agent-runs")
    if options.follow:
        words.append("--follow")
        if options.flush_every != UploadOptions.flush_every:
            words += ["--flush-every", options.flush_every]
    else:
        words.append("--resume")
    return shlex.join(words)


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
