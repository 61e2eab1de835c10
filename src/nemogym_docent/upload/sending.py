"""Send batches to one collection so that each run lands once: what the command line and the Ray
datasink share.

Every run is sent with the id the client gave it, and the ledger writes the id down before the
batch goes. Whether a batch that got no answer arrived is read from the server (which run ids it
holds); the runs it lacks go again *with the same ids*, so that a late copy of the first attempt
and the second cannot both be stored (the id is the server's primary key).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from nemogym_docent.upload.capabilities import Capabilities
from nemogym_docent.upload.faults import ServerRefused, UploadError
from nemogym_docent.upload.ledger import Ledger, LedgerRun
from nemogym_docent.upload.payload import request_body
from nemogym_docent.upload.retry import Retrying


class Server(Protocol):
    """What sending needs from a Docent server (``upload.client.DocentUploader``)."""

    def post_runs(self, collection_id: str, body: bytes) -> str | None:
        """POST the gzipped body; the job id when the server stores runs asynchronously."""
        ...

    def stored_run_ids(
        self, collection_id: str, run_ids: Collection[str], capabilities: Capabilities
    ) -> set[str]:
        """Which of these run ids the collection holds."""
        ...

    def held_keys(
        self, collection_id: str, keys: Collection[str], capabilities: Capabilities
    ) -> set[str]:
        """Which of these upload keys the collection holds, asked by key (DQL)."""
        ...

    def collection_keys(self, collection_id: str, known: Mapping[str, str]) -> dict[str, str]:
        """Run id -> upload key of every run of the collection (``known`` is not asked for)."""
        ...


@dataclass(frozen=True)
class Outgoing:
    """One run to send: its upload key, its id, where it came from and its JSON (with the id)."""

    key: str
    run_id: str
    origin: str
    payload: bytes

    def with_id(self, run_id: str) -> Outgoing:
        """The same run under another id (the one an earlier, cut-off attempt used)."""
        old, new = f'"{self.run_id}"'.encode(), f'"{run_id}"'.encode()
        return Outgoing(self.key, run_id, self.origin, self.payload.replace(old, new, 1))


@dataclass
class Span:
    """How many runs, and the first and last line they came from."""

    runs: int = 0
    first: str = ""
    last: str = ""

    def add(self, origins: Iterable[str]) -> None:
        for origin in origins:
            self.runs += 1
            self.first = self.first or origin
            self.last = origin

    def text(self) -> str:
        """``N runs (FIRST to LAST)``."""
        return f"{self.count()} ({self.where()})"

    def count(self) -> str:
        return f"{self.runs:,} run{'' if self.runs == 1 else 's'}"

    def where(self) -> str:
        return self.first if self.first == self.last else f"{self.first} to {self.last}"


@dataclass
class Resolution:
    """What the ledger's runs in flight turned out to be, asked at the start of an upload."""

    stored: int = 0
    """Found on the server: counted as stored."""
    resent: int = 0
    """Not on the server: they go again, with the ids they were first sent with."""
    unknown: list[LedgerRun] = field(default_factory=list)
    """The server cannot say (it lists no run ids)."""


@dataclass
class CollectionSender:
    """Sends batches to ``collection_id``, each run once, writing them down in ``ledger``; a
    batch that fails goes again as ``retrying`` says (``upload.retry``)."""

    server: Server
    collection_id: str
    ledger: Ledger
    capabilities: Capabilities
    retrying: Retrying = field(default_factory=Retrying)
    acknowledged: Span = field(default_factory=Span)
    """The runs the server acknowledged (or was found holding) during this upload."""
    in_flight: list[Outgoing] = field(default_factory=list)
    """The batch sent and not answered yet."""
    job_ids: list[str] = field(default_factory=list)
    """The jobs of the batches a server that stores runs asynchronously queued."""
    already: int = 0
    """Runs ``unsent`` left out because the collection held them."""
    repeated: int = 0
    """Runs ``unsent`` left out because this sender took them before: the same line under the
    same name, given again (one run, by its upload key)."""
    _reuse: dict[str, str] = field(default_factory=dict)
    """Upload key -> the id an earlier attempt sent it with, for runs found missing."""
    _taken: set[str] = field(default_factory=set)
    _collection_keys: set[str] | None = None

    def held(self, keys: Collection[str]) -> set[str]:
        """Which of these keys the collection holds: the ledger's, and the server's by key (DQL)
        or from the metadata of its runs (read once, those the ledger knows left out)."""
        wanted = set(keys)
        held = self.ledger.stored_keys() & wanted
        if self.capabilities.dql:
            return held | self.server.held_keys(self.collection_id, wanted, self.capabilities)
        if self.capabilities.finds_keys:
            if self._collection_keys is None:
                known = self.ledger.keys_by_run_id()
                found = self.server.collection_keys(self.collection_id, known)
                self._collection_keys = set(found.values())
            held |= self._collection_keys & wanted
        return held

    def unsent(self, batch: Sequence[Outgoing], *, ask: bool = True) -> list[Outgoing]:
        """The runs of the batch that this sender has not taken before and (when ``ask``) the
        collection does not hold; the others are counted in ``repeated`` and ``already``."""
        held = self.held([run.key for run in batch]) if ask else set()
        missing = []
        for run in batch:
            if run.key in self._taken:
                self.repeated += 1
                continue
            self._taken.add(run.key)
            if run.key in held:
                self.already += 1
            else:
                missing.append(run)
        return missing

    def resolve_in_flight(self) -> Resolution:
        """Ask the server about the runs an earlier upload left in flight (ledger)."""
        waiting = self.ledger.in_flight()
        resolution = Resolution()
        if not waiting:
            return resolution
        if not self.capabilities.finds_ids:
            resolution.unknown = waiting
            return resolution
        stored = self.server.stored_run_ids(
            self.collection_id, [run.run_id for run in waiting], self.capabilities
        )
        self.ledger.stored(stored)
        resolution.stored = len(stored)
        for run in waiting:
            if run.run_id not in stored:
                self._reuse[run.upload_key] = run.run_id
                resolution.resent += 1
        return resolution

    def accept_unknown(self, runs: Iterable[LedgerRun]) -> None:
        """Send these in-flight runs again (asked for: the server could not say)."""
        for run in runs:
            self._reuse[run.upload_key] = run.run_id

    def send(self, batch: Sequence[Outgoing]) -> None:
        """Send the batch until the server acknowledged every run of it (a job id counts: the
        server queued them, ``job_ids`` has it). Before each new attempt, the runs the server
        turns out to hold are taken out. ``UploadError`` when the server refuses it or the
        retry policy gives up (the runs still in flight stay in ``in_flight``)."""
        runs = [self._reused(run) for run in batch]
        self.ledger.sending([LedgerRun(run.key, run.run_id, run.origin) for run in runs])
        self.in_flight = runs

        def attempt(number: int) -> bool:
            if number > 1:
                self._drop_stored()
                if not self.in_flight:
                    return True
            try:
                job = self.server.post_runs(
                    self.collection_id, request_body(run.payload for run in self.in_flight)
                )
            except ServerRefused:
                if number == 1:  # an earlier attempt may still arrive: leave it in flight
                    self.ledger.absent(run.run_id for run in self.in_flight)
                    self.in_flight = []
                raise
            if job is not None:
                self.job_ids.append(job)
            return True

        self.retrying.call(attempt)
        self._done(self.in_flight)

    def _reused(self, run: Outgoing) -> Outgoing:
        earlier = self._reuse.pop(run.key, None)
        return run if earlier is None else run.with_id(earlier)

    def _drop_stored(self) -> None:
        """Count the runs of the batch in flight that the server holds; keep the rest in flight.
        A server that lists no ids cannot say: the batch goes again as it is (same ids)."""
        if not self.capabilities.finds_ids:
            return
        try:
            stored = self.server.stored_run_ids(
                self.collection_id, [run.run_id for run in self.in_flight], self.capabilities
            )
        except UploadError:
            return  # still unreachable: the next attempt says so
        self._done([run for run in self.in_flight if run.run_id in stored])
        self.in_flight = [run for run in self.in_flight if run.run_id not in stored]

    def _done(self, runs: list[Outgoing]) -> None:
        self.ledger.stored(run.run_id for run in runs)
        self.acknowledged.add(run.origin for run in runs)
        done = {run.run_id for run in runs}
        self.in_flight = [run for run in self.in_flight if run.run_id not in done]
