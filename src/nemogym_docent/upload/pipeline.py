"""One upload into one collection, as ``upload``, ``upload --follow``, ``compare --upload`` and the
Ray datasink all do it: runs gathered into batches by count and by bytes under Docent's request
limit (a run over it is located and skipped), the collection found or created, what an earlier
upload left in flight resolved, each batch sent once through the ledger (``upload.sending``), and
on a stop, what the server acknowledged and what was in flight.

The caller says what happens (``notes``) and turns ``UploadError`` into its own stop.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from nemogym_docent.upload.capabilities import Capabilities
from nemogym_docent.upload.faults import UploadError
from nemogym_docent.upload.ledger import Ledger, default_ledger_path
from nemogym_docent.upload.payload import ENVELOPE_BYTES, MAX_REQUEST_BYTES, oversize_message
from nemogym_docent.upload.retry import Retrying
from nemogym_docent.upload.sending import CollectionSender, Outgoing, Server, Span

BATCH_BYTES = 64 << 20
"""A batch goes once it holds this much JSON, whatever its count (well under the limit)."""


class Docent(Server, Protocol):
    """What an upload needs from a Docent server beyond sending (``upload.client``)."""

    retrying: Retrying

    @property
    def server(self) -> str: ...

    def check_collection(self, collection_id: str) -> None: ...

    def collections_named(self, name: str) -> list[str]: ...

    def create_collection(self, name: str) -> str: ...

    def capabilities(self, collection_id: str) -> Capabilities: ...

    def collection_url(self, collection_id: str) -> str: ...

    def wait(self, collection_id: str, job_ids: list[str]) -> None: ...


def _quiet(_message: str) -> None:
    return None


@dataclass
class Destination:
    """Where the runs go, and how an upload treats what the collection may already hold."""

    collection_id: str | None = None
    collection_name: str | None = None
    """Created when the first batch is ready (with ``resume``: the one of that name, if any)."""
    resume: bool = False
    """Send only the runs the collection does not hold (asked by upload key)."""
    resend_in_flight: bool = False
    """Send again what an earlier upload left in flight when the server cannot say."""
    ledger: Path | None = None
    """The ledger file (None: ``default_ledger_path()``)."""
    batch_size: int = 500


@dataclass
class Upload:
    """Batches of runs into one collection; ``server=None`` only counts (a dry run)."""

    server: Docent | None
    destination: Destination
    notes: Callable[[str], None] = _quiet
    """Hears what the upload finds (a reused collection, runs in flight, held runs)."""
    sending_guard: Callable[[], AbstractContextManager[None]] = nullcontext
    """Entered around each send (the command line's first Ctrl-C waits for the answer)."""
    capabilities: Capabilities | None = None
    """What the server offers, when already known (the datasink asks once for every task)."""
    collection_id: str | None = field(init=False, default=None)
    sender: CollectionSender | None = field(init=False, default=None)
    batches: int = field(init=False, default=0)
    oversize: int = field(init=False, default=0)
    """Runs left out because they are over Docent's request limit on their own."""
    _batch: list[Outgoing] = field(init=False, default_factory=list)
    _size: int = field(init=False, default=0)
    _warn: bool = field(init=False, default=True)

    def __post_init__(self) -> None:
        self.collection_id = self.destination.collection_id

    @property
    def gathered(self) -> int:
        """Runs gathered and not sent yet."""
        return len(self._batch)

    @property
    def already(self) -> int:
        """Runs not sent because the collection held them."""
        return 0 if self.sender is None else self.sender.already

    @property
    def repeated(self) -> int:
        """Runs not sent because this upload took them before (the same line, the same name)."""
        return 0 if self.sender is None else self.sender.repeated

    @property
    def acknowledged(self) -> Span:
        return Span() if self.sender is None else self.sender.acknowledged

    @property
    def job_ids(self) -> list[str]:
        return [] if self.sender is None else self.sender.job_ids

    def prepare(self, *, check: bool = True) -> None:
        """Find the collection (an id must exist, unless ``check`` is off: it was checked; a
        name with ``resume`` is the one of that name, if any) and resolve what an earlier upload
        into it left in flight."""
        server, destination = self.server, self.destination
        if server is None:
            return
        if self.collection_id is not None:
            if check:
                server.check_collection(self.collection_id)
            self._open(self.collection_id, new=False)
            return
        if not destination.resume:
            return
        name = str(destination.collection_name)
        found = server.collections_named(name)
        if len(found) > 1:
            raise UploadError(
                f"{len(found):,} collections are named {name!r} ({', '.join(found)}); "
                "choose one with --collection-id"
            )
        if found:
            self.collection_id = found[0]
            self.notes(f"reusing collection {found[0]} ({name}): {server.collection_url(found[0])}")
            self._open(found[0], new=False)

    def add(self, run: Outgoing) -> str | None:
        """Take one run; send the batch when it is full. A run over the request limit on its
        own is left out: the message says why."""
        too_big = oversize_message(len(run.payload))
        if too_big is not None:
            self.oversize += 1
            return too_big
        if self._batch and self._size + len(run.payload) + ENVELOPE_BYTES > MAX_REQUEST_BYTES:
            self.flush()
        self._batch.append(run)
        self._size += len(run.payload) + 1
        if len(self._batch) >= self.destination.batch_size or self._size >= BATCH_BYTES:
            self.flush()
        return None

    def flush(self) -> None:
        """Send the runs gathered so far, if any."""
        batch, server = self._batch, self.server
        if not batch:
            return
        self._batch, self._size = [], 0
        if server is None:
            self.batches += 1
            return
        sender = self.sender or self._open(self._create_collection(server), new=True)
        resume = self.destination.resume
        runs = sender.unsent(batch, ask=resume)
        if not resume and self._warn:
            self._warn_if_held(sender, runs)
        if not runs:
            return
        self.batches += 1
        with self.sending_guard():
            sender.send(runs)

    def finish(self) -> None:
        """Send what is gathered and wait until Docent has processed every batch it queued."""
        self.flush()
        if self.server is not None and self.collection_id is not None and self.job_ids:
            self.server.wait(self.collection_id, self.job_ids)

    def close(self) -> None:
        if self.sender is not None:
            self.sender.ledger.close()

    def stopped(self) -> list[str]:
        """What the server acknowledged and what was in flight, when the upload stops."""
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
        return lines

    def _open(self, collection_id: str, *, new: bool) -> CollectionSender:
        server = self.server
        assert server is not None
        capabilities = self.capabilities or server.capabilities(collection_id)
        ledger = Ledger(
            self.destination.ledger or default_ledger_path(),
            server=server.server,
            collection=collection_id,
        )
        sender = CollectionSender(server, collection_id, ledger, capabilities, server.retrying)
        self.sender = sender
        self._warn = not new
        if not new:
            self._resolve(sender)
        return sender

    def _resolve(self, sender: CollectionSender) -> None:
        resolution = sender.resolve_in_flight()
        if resolution.stored or resolution.resent:
            self.notes(
                f"an earlier upload left {resolution.stored + resolution.resent:,} runs in "
                f"flight: {resolution.stored:,} are in the collection, {resolution.resent:,} "
                "go again (with the ids they were sent with)"
            )
        if not resolution.unknown:
            return
        span = Span()
        span.add(run.origin for run in resolution.unknown)
        if not self.destination.resend_in_flight:
            raise UploadError(
                f"an earlier upload left {span.text()} in flight, and "
                f"{sender.ledger.server} cannot say whether it holds them (no DQL, no run-id "
                "listing); --resend-in-flight sends them again, and they may then be stored twice"
            )
        self.notes(f"warning: {span.text()} may be stored twice (--resend-in-flight)")
        sender.accept_unknown(resolution.unknown)

    def _warn_if_held(self, sender: CollectionSender, runs: list[Outgoing]) -> None:
        """Without ``resume``: warn, once, that the collection holds some of these runs."""
        try:
            held = sender.held([run.key for run in runs])
        except UploadError:  # only a warning is at stake
            held, self._warn = set(), False
        if held:
            self.notes(
                f"warning: the collection already holds {len(held):,} of these runs "
                "(from an earlier upload?); rerun with --resume to send only the missing ones"
            )
            self._warn = False

    def _create_collection(self, server: Docent) -> str:
        name = str(self.destination.collection_name)
        collection_id = server.create_collection(name)
        self.collection_id = collection_id
        self.notes(
            f"created collection {collection_id} ({name}): {server.collection_url(collection_id)}"
        )
        return collection_id
