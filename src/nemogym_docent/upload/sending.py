"""Send batches to one collection so that each run lands once: what the command line and the Ray
datasink share.

Every run is sent with the id the client gave it, and the ledger writes the id down before the
batch goes. Whether a batch that got no answer arrived is read from the server (which run ids it
holds); the runs it lacks go again *with the same ids*, so that a late copy of the first attempt
and the second cannot both be stored (the id is the server's primary key).
"""

from __future__ import annotations

import gzip
import json
import math
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import orjson

from nemogym_docent.upload.capabilities import Capabilities
from nemogym_docent.upload.ledger import Ledger, LedgerRun

MAX_REQUEST_BYTES = 100 * 1024 * 1024
"""Docent's limit on one request's uncompressed JSON (the SDK's ``MAX_AGENT_RUN_PAYLOAD_BYTES``)."""
_ENVELOPE = (b'{"agent_runs":[', b"]}")
ENVELOPE_BYTES = sum(map(len, _ENVELOPE))
_GZIP_LEVEL = 6
_MAX_BACKOFF = 30.0
_POLL = 0.25


class ServerFault(Exception):
    """A request failed; ``answered`` when the server refused it (4xx), so that nothing of it was
    stored, else it may have been (no answer, ``timed_out``, a 5xx)."""

    def __init__(self, message: str, *, answered: bool = False, timed_out: bool = False) -> None:
        super().__init__(message)
        self.answered = answered
        self.timed_out = timed_out


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


def run_payload(run: object) -> bytes:
    """A run's JSON as an upload sends it (with its ids), compact."""
    from pydantic_core import to_jsonable_python  # noqa: PLC0415

    data = to_jsonable_python(run)
    try:
        return orjson.dumps(data)
    except orjson.JSONEncodeError:  # integers past 64 bits, NaN, lone surrogates
        return json.dumps(data, separators=(",", ":")).encode()


def oversize_message(size: int) -> str | None:
    """Why a run of ``size`` bytes of JSON cannot be sent, or None when it can."""
    if ENVELOPE_BYTES + size <= MAX_REQUEST_BYTES:
        return None
    return (
        f"the run is {size / 2**20:,.1f} MiB of JSON, over Docent's limit of "
        f"{MAX_REQUEST_BYTES / 2**20:,.0f} MiB for one request: Docent refuses it"
    )


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


def request_body(runs: Sequence[Outgoing]) -> bytes:
    """The gzipped JSON of ``POST /{collection}/agent_runs``."""
    body = _ENVELOPE[0] + b",".join(run.payload for run in runs) + _ENVELOPE[1]
    return gzip.compress(body, compresslevel=_GZIP_LEVEL)


@dataclass
class Span:
    """How many runs, and the first and last line they came from."""

    runs: int = 0
    first: str = ""
    last: str = ""

    def add(self, runs: Iterable[Outgoing]) -> None:
        for run in runs:
            self.runs += 1
            self.first = self.first or run.origin
            self.last = run.origin

    def text(self) -> str:
        if not self.runs:
            return "0 runs"
        where = self.first if self.first == self.last else f"{self.first} to {self.last}"
        return f"{self.runs:,} run{'' if self.runs == 1 else 's'} ({where})"


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
    """Sends batches to ``collection_id``, each run once, writing them down in ``ledger``.

    ``attempts`` is how often a batch is tried (None: until it goes, waiting up to
    ``_MAX_BACKOFF`` seconds between tries, as a follower does); ``on_retry`` hears why.
    """

    server: Server
    collection_id: str
    ledger: Ledger
    capabilities: Capabilities
    attempts: int | None = 4
    on_retry: Callable[[str], None] = lambda _message: None
    should_stop: Callable[[], bool] = lambda: False
    """Asked between attempts: True gives up (Ctrl-C while the server is unreachable)."""
    acknowledged: Span = field(default_factory=Span)
    """The runs the server acknowledged (or was found holding) during this upload."""
    in_flight: list[Outgoing] = field(default_factory=list)
    """The batch sent and not answered yet."""
    job_ids: list[str] = field(default_factory=list)
    """The jobs of the batches a server that stores runs asynchronously queued."""
    _reuse: dict[str, str] = field(default_factory=dict)
    """Upload key -> the id an earlier attempt sent it with, for runs found missing."""

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
        server queued them, ``job_ids`` has it); ``ServerFault`` when the server refuses it,
        or after ``attempts`` tries (the runs still in flight stay in ``in_flight``)."""
        runs = [self._reused(run) for run in batch]
        self.ledger.sending([LedgerRun(run.key, run.run_id, run.origin) for run in runs])
        self.in_flight = runs
        tries = 0
        while True:
            tries += 1
            try:
                job = self.server.post_runs(self.collection_id, request_body(self.in_flight))
            except ServerFault as fault:
                if fault.answered:
                    if tries == 1:  # an earlier attempt may still arrive: leave it in flight
                        self.ledger.absent(run.run_id for run in self.in_flight)
                        self.in_flight = []
                    raise
                if fault.timed_out and self.attempts is not None:
                    raise  # the user's deadline passed
                if (self.attempts is not None and tries >= self.attempts) or self.should_stop():
                    raise
                pause = min(2.0 ** (tries - 1), _MAX_BACKOFF)
                self.on_retry(f"{fault}; trying again in {pause:g}s")
                if not self._pause(pause):
                    raise
                self._drop_stored()
                if not self.in_flight:
                    return
                continue
            if job is not None:
                self.job_ids.append(job)
            self._done(self.in_flight)
            return

    def _pause(self, seconds: float) -> bool:
        """Wait, unless asked to stop meanwhile (then False)."""
        steps = max(1, math.ceil(seconds / _POLL))
        for _ in range(steps):
            if self.should_stop():
                return False
            time.sleep(seconds / steps)
        return not self.should_stop()

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
        except ServerFault:
            return  # still unreachable: the next attempt says so
        self._done([run for run in self.in_flight if run.run_id in stored])
        self.in_flight = [run for run in self.in_flight if run.run_id not in stored]

    def _done(self, runs: list[Outgoing]) -> None:
        self.ledger.stored(run.run_id for run in runs)
        self.acknowledged.add(runs)
        done = {run.run_id for run in runs}
        self.in_flight = [run for run in self.in_flight if run.run_id not in done]
