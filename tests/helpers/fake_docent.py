"""A loopback Docent server for upload tests: its REST API as the 0.1.88 client uses it, its DQL
endpoint answering the queries an uploader asks from the runs it stored, and the open-source
server's run-id listing and run metadata (each can be turned off)."""

from __future__ import annotations

import gzip
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from docent.sdk import _base as docent_base
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

API_KEY = "sk-test-0123456789abcdef"
COLLECTION = "col-42"

_QUERY = re.compile(
    r"SELECT (?P<columns>.+?) FROM agent_runs WHERE (?P<where>.+?)"
    r" ORDER BY id LIMIT (?P<limit>\d+)",
    re.DOTALL,
)
_COLUMN = re.compile(r"(?P<expr>.+?)(?: AS (?P<alias>\w+))?")
_JSON_STEP = re.compile(r"(->>?)'([^']*)'")
_STRING = r"'(?:[^']|'')*'"
_IN = re.compile(rf"(?P<expr>.+?) IN \((?P<values>{_STRING}(?:, {_STRING})*)\)")
_AFTER_ID = re.compile(rf"id > (?P<value>{_STRING})")


def _string(literal: str) -> str:
    return literal[1:-1].replace("''", "'")


def _evaluate(expr: str, run: dict[str, Any]) -> Any:
    """``id``, ``name``, or a path into ``metadata_json`` with ``->`` (JSON) and ``->>`` (text)."""
    head, _, path = expr.partition("->")
    if head in ("id", "name") and not path:
        return run[head]
    if head != "metadata_json":
        raise ValueError(f"unknown column {expr!r}")
    value: Any = run.get("metadata", {})
    steps = _JSON_STEP.findall(expr[len(head) :])
    for arrow, key in steps:
        value = value.get(key) if isinstance(value, dict) else None
        if arrow == "->>" and value is not None and not isinstance(value, str):
            value = json.dumps(value)
    return value


@dataclass
class FakeDocent:
    """Docent's endpoints as the 0.1.88 client uses them; records what arrives."""

    server: HTTPServer
    runs: list[dict[str, Any]] = field(default_factory=list)
    batches: list[int] = field(default_factory=list)
    created: list[dict[str, Any]] = field(default_factory=list)
    queries: list[dict[str, Any]] = field(default_factory=list)
    failures_left: int = 0
    fail_after_batches: int | None = None
    """Answer 400 to every batch once this many were stored (a server that stops accepting)."""
    garbled_after: int | None = None
    """Answer what is not JSON to every batch once this many were stored."""
    on_batch: Callable[[int, Request], None] | None = None
    """Called after each batch is stored with the number stored so far and the request."""
    job_status: str = "completed"
    status_requests: int = 0
    stall_seconds: float = 0.0
    dql_row_limit: int = 3
    """The server's DQL row limit: results past it come back cut, ``truncated``."""
    dql_available: bool = True
    """False: the DQL endpoint answers 404, as a server without it would."""
    listing_available: bool = True
    """False: the run-id listing and run metadata answer 404 (the hosted server's case)."""
    jobs: bool = True
    """False: batches are stored before the answer, which is JSON ``null`` (the open-source
    server's way)."""
    collections: dict[str, str] = field(default_factory=lambda: {COLLECTION: "evals"})
    """Id -> name of the collections the key sees (``/rest/create`` makes ``COLLECTION``)."""
    saves_filters: bool = False
    """True: ``POST /rest/{collection}/filters`` saves a filter (``saved_filters``); else 404."""
    saved_filters: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self) -> None:
        routes: list[tuple[str | re.Pattern[str], str, Any]] = [
            ("/rest/api-keys/test", "GET", self._key_test),
            ("/rest/create", "POST", self._create),
            (f"/rest/{COLLECTION}/agent_runs/jobs/batch_status", "POST", self._status),
            (f"/rest/{COLLECTION}/agent_runs", "POST", self._add_runs),
            (f"/rest/dql/{COLLECTION}/execute", "POST", self._dql),
            ("/rest/collections", "GET", self._collections),
            (re.compile(r"/rest/[^/]+/collection"), "GET", self._collection),
            (f"/rest/{COLLECTION}/agent_run_ids", "GET", self._run_ids),
            (f"/rest/{COLLECTION}/agent_run_metadata", "POST", self._metadata),
            (f"/rest/{COLLECTION}/filters", "POST", self._save_filter),
        ]
        for path, method, handler in routes:
            self.server.expect_request(path, method=method).respond_with_handler(handler)

    def _collections(self, _request: Request) -> Response:
        return self._json([{"id": key, "name": name} for key, name in self.collections.items()])

    def upload_keys(self) -> list[str]:
        """The upload key of every stored run, in arrival order."""
        return [run["metadata"]["upload_key"] for run in self.runs]

    def _key_test(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return Response(json.dumps({"detail": "Invalid API key"}), status=401)
        return Response(json.dumps({"ok": True}), content_type="application/json")

    def _create(self, request: Request) -> Response:
        self.created.append(json.loads(request.get_data()))
        self.collections[COLLECTION] = self.created[-1]["name"]
        return Response(json.dumps({"collection_id": COLLECTION}), content_type="application/json")

    def _json(self, value: Any, status: int = 200) -> Response:
        return Response(json.dumps(value), status=status, content_type="application/json")

    def _collection(self, request: Request) -> Response:
        collection = request.path.split("/")[2]
        if collection not in self.collections:
            return self._json({"detail": f"Collection {collection} not found"}, 404)
        return self._json({"name": self.collections[collection]})

    def _run_ids(self, _request: Request) -> Response:
        if not self.listing_available:
            return self._json({"detail": "Not Found"}, 404)
        with self.lock:
            return self._json([run["id"] for run in self.runs])

    def _metadata(self, request: Request) -> Response:
        if not self.listing_available:
            return self._json({"detail": "Not Found"}, 404)
        wanted = set(json.loads(request.get_data())["agent_run_ids"])
        with self.lock:
            found = {
                run["id"]: {"agent_run_id": run["id"], "metadata": run["metadata"]}
                for run in self.runs
                if run["id"] in wanted
            }
        return self._json(found)

    def _add_runs(self, request: Request) -> Response:
        if self.stall_seconds:
            threading.Event().wait(self.stall_seconds)  # time.sleep is patched out
            return Response("late", status=500)
        if self.failures_left:
            self.failures_left -= 1
            return Response("boom", status=500)
        if self.garbled_after is not None and len(self.batches) >= self.garbled_after:
            return Response("<html>", status=202, content_type="text/html")
        if self.fail_after_batches is not None and len(self.batches) >= self.fail_after_batches:
            return Response(json.dumps({"detail": "collection is read-only"}), status=400)
        assert request.headers.get("Content-Encoding") == "gzip"
        payload = json.loads(gzip.decompress(request.get_data()))
        with self.lock:
            held = {run["id"] for run in self.runs}
            if any(run["id"] in held for run in payload["agent_runs"]):  # a primary key
                return Response("Internal Server Error", status=500)
            self.runs.extend(payload["agent_runs"])
            self.batches.append(len(payload["agent_runs"]))
            stored = len(self.batches)
        if self.on_batch is not None:
            self.on_batch(stored, request)
        if not self.jobs:
            return self._json(None)
        return self._json({"job_id": f"job-{stored}"}, 202)

    def _status(self, request: Request) -> Response:
        self.status_requests += 1
        jobs = json.loads(request.get_data())["job_ids"]
        body = {"jobs": [{"job_id": job, "status": self.job_status} for job in jobs]}
        return Response(json.dumps(body), content_type="application/json")

    def _save_filter(self, request: Request) -> Response:
        if not self.saves_filters:
            return Response(json.dumps({"detail": "Not Found"}), status=404)
        self.saved_filters.append(json.loads(request.get_data()))
        body = {"id": f"filter-{len(self.saved_filters)}", **self.saved_filters[-1]}
        return Response(json.dumps(body), content_type="application/json")

    def _dql(self, request: Request) -> Response:
        if not self.dql_available:
            return Response(json.dumps({"detail": "Not Found"}), status=404)
        body = json.loads(request.get_data())
        self.queries.append(body)
        try:
            result = self._answer(body["dql"])
        except ValueError as exc:
            return Response(json.dumps({"detail": f"DQL: {exc}"}), status=400)
        return Response(json.dumps(result), content_type="application/json")

    def _answer(self, query: str) -> dict[str, Any]:
        """The subset of DQL uploads ask: columns, ``IN`` lists and ``id >`` joined by ``AND``,
        ordered by id, with a limit; cut at ``dql_row_limit``."""
        match = _QUERY.fullmatch(query.strip())
        if match is None:
            raise ValueError(f"unsupported query {query!r}")
        columns = []
        for column in match["columns"].split(", "):
            parts = _COLUMN.fullmatch(column)
            assert parts is not None
            columns.append((parts["expr"], parts["alias"] or parts["expr"]))
        conditions: list[Callable[[dict[str, Any]], bool]] = []
        for condition in match["where"].split(" AND "):
            if (listed := _IN.fullmatch(condition)) is not None:
                values = {_string(value) for value in re.findall(_STRING, listed["values"])}
                expr = listed["expr"]
                conditions.append(lambda run, e=expr, v=values: _evaluate(e, run) in v)
            elif (after := _AFTER_ID.fullmatch(condition)) is not None:
                bound = _string(after["value"])
                conditions.append(lambda run, b=bound: run["id"] > b)
            else:
                raise ValueError(f"unsupported condition {condition!r}")
        with self.lock:
            matching = sorted(
                (run for run in self.runs if all(test(run) for test in conditions)),
                key=lambda run: run["id"],
            )
        limit = int(match["limit"])
        cut = len(matching) > self.dql_row_limit and self.dql_row_limit < limit
        rows = matching[: min(limit, self.dql_row_limit)]
        return {
            "columns": [alias for _, alias in columns],
            "rows": [[_evaluate(expr, run) for expr, _ in columns] for run in rows],
            "truncated": cut,
            "applied_limit": self.dql_row_limit if cut else None,
        }


def isolate_docent_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No docent.env from the machine, a ledger of the test's own (under ``HOME``); no real
    sleeping between the client's retries."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    names = ("DOCENT_API_KEY", "DOCENT_API_URL", "DOCENT_FRONTEND_URL", "DOCENT_DOMAIN")
    for name in (*names, "NEMOGYM_DOCENT_LEDGER", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(docent_base.time, "sleep", lambda _seconds: None)


def urls(server: HTTPServer) -> list[str]:
    return ["--api-url", server.url_for("/"), "--frontend-url", "http://127.0.0.1:1/web"]


def without_ids(run: dict[str, Any]) -> dict[str, Any]:
    """The run as ``convert`` writes it: without its ids, its upload key and its title."""
    run = json.loads(json.dumps(run))
    run.pop("id")
    assert re.fullmatch("[0-9a-f]{64}", run["metadata"].pop("upload_key"))
    assert run["metadata"].pop("title") == run["name"]
    run["transcripts"] = [
        {key: value for key, value in t.items() if key != "id"} for t in run["transcripts"]
    ]
    return run
