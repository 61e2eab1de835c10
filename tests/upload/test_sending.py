"""Sending batches each run once: ids kept across attempts, evidence read from the server."""

from __future__ import annotations

import gzip
import json
from collections.abc import Collection
from dataclasses import dataclass, field

import pytest

from nemogym_docent.upload.capabilities import Capabilities
from nemogym_docent.upload.faults import OutOfPatience, ServerRefused, ServerUnavailable
from nemogym_docent.upload.ledger import Ledger, LedgerRun
from nemogym_docent.upload.payload import oversize_message
from nemogym_docent.upload.retry import Retrying, RetryPolicy
from nemogym_docent.upload.sending import CollectionSender, Outgoing

LISTS = Capabilities(dql=False, run_ids=True, run_metadata=True)
BLIND = Capabilities(dql=False, run_ids=False, run_metadata=False)


@dataclass
class Server:
    """Stores runs by id as a database would (a second copy of an id is refused whole);
    ``script`` says what each POST does: ``ok``, ``lost`` (stored, no answer), ``down`` (not
    stored, no answer), ``refused`` (a 400)."""

    script: list[str] = field(default_factory=list)
    stored: dict[str, str] = field(default_factory=dict)
    posts: int = 0

    def post_runs(self, collection_id: str, body: bytes) -> str | None:
        self.posts += 1
        what = self.script.pop(0) if self.script else "ok"
        if what == "down":
            raise ServerUnavailable("cannot reach the server", reason="no answer")
        if what == "refused":
            raise ServerRefused("HTTP 400: no", status=400)
        runs = json.loads(gzip.decompress(body))["agent_runs"]
        if any(run["id"] in self.stored for run in runs):
            raise ServerUnavailable("HTTP 500: Internal Server Error", reason="500", status=500)
        self.stored.update({run["id"]: run["name"] for run in runs})
        if what == "lost":
            raise ServerUnavailable("connection reset", reason="no answer (reset)")
        return None

    def stored_run_ids(
        self, collection_id: str, run_ids: Collection[str], capabilities: Capabilities
    ) -> set[str]:
        return set(run_ids) & set(self.stored)


def outgoing(name: str, run_id: str | None = None) -> Outgoing:
    run_id = run_id or f"id-{name}"
    payload = json.dumps({"id": run_id, "name": name}).encode()
    return Outgoing(f"key-{name}", run_id, f"a.jsonl:{name}", payload)


@dataclass
class Clock:
    """Time that passes only by sleeping."""

    now: float = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def sender(server: Server, ledger: Ledger, capabilities: Capabilities = LISTS) -> CollectionSender:
    """Waits 1, 2, 4, 8 s (no jitter) within 10 s of patience: four attempts."""
    clock = Clock()
    policy = RetryPolicy(patience=10, random=lambda: 0.0)
    return CollectionSender(
        server, "c", ledger, capabilities, Retrying(policy, clock=clock, sleep=clock.sleep)
    )


def test_a_batch_stored_without_an_answer_is_not_sent_again() -> None:
    server = Server(["lost"])
    with Ledger(None, server="s", collection="c") as ledger:
        send = sender(server, ledger)
        send.send([outgoing("a"), outgoing("b")])
        assert server.posts == 1
        assert sorted(server.stored.values()) == ["a", "b"]
        assert send.acknowledged.runs == 2
        assert ledger.stored_keys() == {"key-a", "key-b"}
        assert ledger.in_flight() == []


def test_a_batch_that_did_not_arrive_goes_again_with_the_same_ids() -> None:
    server = Server(["down", "down"])
    with Ledger(None, server="s", collection="c") as ledger:
        send = sender(server, ledger)
        send.send([outgoing("a")])
        assert server.posts == 3
        assert server.stored == {"id-a": "a"}


def test_after_the_last_attempt_the_batch_stays_in_flight() -> None:
    server = Server(["down"] * 4)
    with Ledger(None, server="s", collection="c") as ledger:
        send = sender(server, ledger)
        with pytest.raises(OutOfPatience, match="cannot reach"):
            send.send([outgoing("a"), outgoing("b")])
        assert [run.run_id for run in send.in_flight] == ["id-a", "id-b"]
        assert [run.run_id for run in ledger.in_flight()] == ["id-a", "id-b"]


def test_a_refused_batch_is_forgotten() -> None:
    server = Server(["refused"])
    with Ledger(None, server="s", collection="c") as ledger:
        send = sender(server, ledger)
        with pytest.raises(ServerRefused, match="400"):
            send.send([outgoing("a")])
        assert send.in_flight == []
        assert ledger.in_flight() == []


def test_a_later_upload_resolves_what_was_in_flight_from_the_run_ids() -> None:
    server = Server()
    with Ledger(None, server="s", collection="c") as ledger:
        # An upload died with two batches in flight: the first arrived, the second did not.
        ledger.sending([LedgerRun("key-a", "id-a", "a.jsonl:a")])
        server.stored["id-a"] = "a"
        ledger.sending([LedgerRun("key-b", "id-b", "a.jsonl:b")])
        send = sender(server, ledger)
        resolution = send.resolve_in_flight()
        assert (resolution.stored, resolution.resent, resolution.unknown) == (1, 1, [])
        assert ledger.stored_keys() == {"key-a"}
        # The same line converts to a run with a fresh id; it goes with the first id.
        send.send([outgoing("b", run_id="fresh")])
        assert server.stored == {"id-a": "a", "id-b": "b"}


def test_a_late_copy_of_a_resent_run_cannot_double_it() -> None:
    server = Server()
    with Ledger(None, server="s", collection="c") as ledger:
        ledger.sending([LedgerRun("key-b", "id-b", "a.jsonl:b")])
        send = sender(server, ledger)
        assert send.resolve_in_flight().resent == 1
        server.stored["id-b"] = "b"  # the first attempt is stored after all, late
        send.send([outgoing("b", run_id="fresh"), outgoing("c")])
        # The first try is refused whole (id-b exists); then only c goes.
        assert server.stored == {"id-b": "b", "id-c": "c"}
        assert send.acknowledged.runs == 2


def test_a_server_that_lists_no_ids_cannot_resolve() -> None:
    with Ledger(None, server="s", collection="c") as ledger:
        ledger.sending([LedgerRun("key-a", "id-a", "a.jsonl:a")])
        resolution = sender(Server(), ledger, BLIND).resolve_in_flight()
        assert resolution.unknown == [LedgerRun("key-a", "id-a", "a.jsonl:a")]


def test_only_runs_over_the_request_limit_are_refused() -> None:
    assert oversize_message(1000) is None
    message = oversize_message(101 * 2**20)
    assert message == (
        "the run is 101.0 MiB of JSON, over Docent's limit of 100.0 MiB for one request: "
        "Docent refuses it"
    )
