"""Talk to Docent through its own client, with timeouts, and turn its failures into one line.

Imported only by the upload command: the Docent client pulls in heavy modules.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from docent import Docent
from requests.adapters import HTTPAdapter

from nemogym_docent.upload.capabilities import Capabilities, detect
from nemogym_docent.upload.faults import (
    RETRY_AFTER_STATUSES,
    ServerRefused,
    ServerTimeout,
    ServerUnavailable,
    UploadError,
    is_retried_status,
    status_reason,
)
from nemogym_docent.upload.keys import held_run_ids, held_runs, held_upload_keys
from nemogym_docent.upload.retry import Retrying, retry_after_seconds

API_KEY_VARIABLE = "DOCENT_API_KEY"
IDS_PER_REQUEST = 1000  # run ids whose metadata one request asks for
JOB_STATUS_LIMIT = 100  # the most job ids the client may ask about at once
_DONE = "completed"
_CANCELED = "canceled"
_ERRNO_REASON = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")
T = TypeVar("T")


class _TimeoutAdapter(HTTPAdapter):
    """Gives every request that sets no timeout of its own a default one."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        return super().send(
            request,
            stream=stream,
            timeout=self._timeout if timeout is None else timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )


class _Client(Docent):
    """Docent's client, whose requests (the key check at construction too) time out."""

    def __init__(self, *, request_timeout: float, **options: Any) -> None:
        self._request_timeout = request_timeout
        super().__init__(**options)

    def _login(self, api_key: str) -> None:
        adapter = _TimeoutAdapter(self._request_timeout)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        super()._login(api_key)


class _StderrHandler(logging.Handler):
    """Writes the client's log records to whatever ``sys.stderr`` is at the time."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(f"docent: {record.getMessage()}\n")


def _route_client_logs(*, quiet: bool) -> None:
    """Docent's client logs to stdout by default; send its warnings to stderr instead."""
    logger = logging.getLogger("docent.sdk._base")
    if not any(isinstance(handler, _StderrHandler) for handler in logger.handlers):
        logger.addHandler(_StderrHandler())
    logger.setLevel(logging.ERROR if quiet else logging.WARNING)
    logger.propagate = False


class DocentUploader:
    """Connects at construction (``UploadError`` for a missing key or an unreachable server).
    Reads are tried again as ``retrying`` says; sending runs is tried again by the sender, which
    first asks which of the runs arrived (``upload.sending``)."""

    def __init__(
        self,
        *,
        api_url: str | None,
        frontend_url: str | None,
        timeout: float,
        quiet: bool,
        api_key: str | None = None,
        retrying: Retrying | None = None,
    ) -> None:
        self._secrets = [api_key or os.environ.get(API_KEY_VARIABLE) or ""]
        self.timeout = timeout
        self.retrying = retrying or Retrying()
        _route_client_logs(quiet=quiet)

        def connect(_attempt: int) -> _Client:
            with self._server_errors("connecting to Docent"):
                try:
                    return _Client(
                        request_timeout=timeout,
                        api_key=api_key,
                        api_url=api_url,
                        frontend_url=frontend_url,
                    )
                except ValueError as exc:
                    if "api_key" in str(exc):
                        raise UploadError(
                            f"no Docent API key: set {API_KEY_VARIABLE} (or put it in docent.env)"
                        ) from exc
                    raise UploadError(f"Docent client: {self._redact(str(exc))}") from exc

        self._client = self.retrying.call(lambda attempt: _only_if_answered(connect, attempt))
        authorization = str(self._client._session.headers.get("Authorization", ""))
        self._secrets.append(authorization.removeprefix("Bearer "))

    @property
    def server(self) -> str:
        """The server's API URL (what the ledger keeps rows under)."""
        return str(self._client._api_url).rstrip("/")

    def create_collection(self, name: str) -> str:
        """A new collection's id (tried again only when the server said it was busy: a lost
        answer may have made it)."""

        def create(_attempt: int) -> str:
            with self._server_errors("creating the collection"):
                return self._client.create_collection(name=name)

        return self.retrying.call(lambda attempt: _only_if_busy(create, attempt))

    def collections_named(self, name: str) -> list[str]:
        """The ids of the collections of this name that the API key can see."""
        listed = self._read("looking for the collection", "GET", "collections")
        return [str(entry["id"]) for entry in listed if entry.get("name") == name]

    def check_collection(self, collection_id: str) -> None:
        """``ServerRefused`` when the collection does not exist (or the key cannot see it)."""

        def found(_attempt: int) -> bool:
            with self._server_errors("looking for the collection"):
                answer = self._request("GET", f"{collection_id}/collection")
                if is_retried_status(answer.status_code):
                    _check(answer, "looking for the collection")
                return answer.status_code == 200

        if self.retrying.call(found):
            return
        listed = self._read("looking for the collection", "GET", "collections")
        if all(str(entry.get("id")) != collection_id for entry in listed):
            raise ServerRefused(
                f"collection {collection_id} does not exist on {self.server.removesuffix('/rest')}"
                " (or this API key cannot see it)"
            )

    def capabilities(self, collection_id: str) -> Capabilities:
        """Which read endpoints the server answers for the collection."""
        return self.retrying.call(lambda _attempt: detect(_Http(self), collection_id))

    def held_keys(
        self, collection_id: str, keys: Collection[str], capabilities: Capabilities
    ) -> set[str]:
        """Which of these upload keys the collection holds, asked by key (DQL)."""
        if not capabilities.dql:
            return set()

        def held(_attempt: int) -> set[str]:
            with self._server_errors("asking which runs the collection holds"):
                return held_upload_keys(self._client, collection_id, keys)

        return self.retrying.call(held)

    def collection_keys(self, collection_id: str, known: Mapping[str, str]) -> dict[str, str]:
        """Run id -> upload key of every run of the collection (the run-id listing and the
        runs' metadata); the metadata of the runs in ``known`` (id -> key) is not asked for."""
        doing = "asking which runs the collection holds"
        ids = [str(run_id) for run_id in self._read(doing, "GET", f"{collection_id}/agent_run_ids")]
        keys = {run_id: known[run_id] for run_id in ids if run_id in known}
        unknown = [run_id for run_id in ids if run_id not in known]
        for start in range(0, len(unknown), IDS_PER_REQUEST):
            asked = {"agent_run_ids": unknown[start : start + IDS_PER_REQUEST]}
            answer = self._read(doing, "POST", f"{collection_id}/agent_run_metadata", asked)
            for run_id, entry in answer.items():
                key = (entry.get("metadata") or {}).get("upload_key")
                if isinstance(key, str):
                    keys[str(run_id)] = key
        return keys

    def runs_by_key(self, collection_id: str, keys: Collection[str]) -> dict[str, str]:
        """Upload key -> run id of the collection's runs that hold one of these keys (DQL, else
        the run-id listing and the runs' metadata); ``ServerRefused`` when the collection is not
        listed or the server offers neither."""
        doing = "asking which runs the collection holds"
        listed = self._read(doing, "GET", "collections")
        if all(str(entry.get("id")) != collection_id for entry in listed):
            raise ServerRefused(
                f"collection {collection_id} does not exist on {self.server.removesuffix('/rest')}"
                " (or this API key cannot see it)"
            )
        capabilities = self.capabilities(collection_id)
        if capabilities.dql:

            def held(_attempt: int) -> dict[str, str]:
                with self._server_errors(doing):
                    return held_runs(self._client, collection_id, keys)

            return self.retrying.call(held)
        if not capabilities.finds_keys:
            raise ServerRefused(
                "this Docent server cannot say which runs it holds (no DQL, no run-id listing "
                "with run metadata)"
            )
        wanted = set(keys)
        found = self.collection_keys(collection_id, {})
        return {key: run_id for run_id, key in found.items() if key in wanted}

    def stored_run_ids(
        self, collection_id: str, run_ids: Collection[str], capabilities: Capabilities
    ) -> set[str]:
        """Which of these run ids the collection holds (DQL, else the run-id listing)."""
        doing = "asking which runs the collection holds"
        if capabilities.dql:

            def held(_attempt: int) -> set[str]:
                with self._server_errors(doing):
                    return held_run_ids(self._client, collection_id, run_ids)

            return self.retrying.call(held)
        listed = self._read(doing, "GET", f"{collection_id}/agent_run_ids")
        return set(run_ids) & {str(run_id) for run_id in listed}

    def post_runs(self, collection_id: str, body: bytes) -> str | None:
        """Send one gzipped batch (its runs keep their ids), once; the job id when Docent queued
        it, None when it stored the runs before answering."""
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        with self._server_errors("sending runs"):
            answer = self._request(
                "POST", f"{collection_id}/agent_runs", data=body, headers=headers
            )
            _check(answer, "sending runs")
            try:
                result = answer.json() if answer.content.strip() else None
            except ValueError:
                raise UploadError(
                    f"sending runs: unexpected answer from Docent (HTTP {answer.status_code}, "
                    f"not JSON: {answer.text[:80]!r}); is --api-url the Docent API?"
                ) from None
        if result is None:
            return None
        if not isinstance(result, dict):
            raise UploadError(f"sending runs: unexpected answer from Docent: {answer.text[:200]}")
        job = result.get("job_id")
        return None if job is None else str(job)

    def wait(self, collection_id: str, job_ids: list[str], *, poll_interval: float = 1.0) -> None:
        """Poll until every job is done; ``ServerTimeout`` after ``timeout`` seconds,
        ``UploadError`` when Docent cancels a job."""
        deadline = time.monotonic() + self.timeout
        pending = list(dict.fromkeys(job_ids))
        canceled: list[str] = []
        while pending:

            def statuses_of(_attempt: int, asked: list[str] = pending) -> dict[str, str]:
                with self._server_errors("checking the upload jobs"):
                    return {
                        str(status["job_id"]): str(status["status"])
                        for start in range(0, len(asked), JOB_STATUS_LIMIT)
                        for status in self._client.get_agent_run_job_statuses(
                            collection_id, asked[start : start + JOB_STATUS_LIMIT]
                        )
                    }

            statuses = self.retrying.call(statuses_of)
            canceled += [job for job in pending if statuses.get(job) == _CANCELED]
            pending = [job for job in pending if statuses.get(job) not in (_DONE, _CANCELED)]
            if not pending:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ServerTimeout(
                    f"Docent had not finished {len(pending)} job(s) after {self.timeout:g}s: "
                    + ", ".join(pending)
                    + "; raise --timeout to wait longer"
                )
            time.sleep(min(poll_interval, remaining))
        if canceled:
            raise UploadError(
                "Docent canceled job(s): " + ", ".join(canceled) + "; --resume sends their runs"
            )

    def _request(self, method: str, path: str, **arguments: Any) -> requests.Response:
        url = f"{self._client._api_url}/{path}"
        return self._client._session.request(method, url, **arguments)

    def _read(self, doing: str, method: str, path: str, body: Any = None) -> Any:
        """The JSON answer of a request that reads (so may go again) and must succeed."""

        def read(_attempt: int) -> Any:
            with self._server_errors(doing):
                answer = self._request(method, path, json=body)
                _check(answer, doing)
                return answer.json()

        return self.retrying.call(read)

    def save_filter(self, collection_id: str, run_filter: dict[str, Any], name: str) -> str:
        """Save a filter of the collection's runs under ``name``; its URL. The client's own
        errors (``requests.HTTPError`` for a server without saved filters) are not translated."""
        return str(self._client.create_saved_filter(collection_id, run_filter, name=name)["url"])

    def collection_url(self, collection_id: str) -> str:
        """Where the collection is seen in Docent's web app."""
        return f"{self._client.frontend_url}/dashboard/{collection_id}"

    @contextmanager
    def _server_errors(self, doing: str) -> Iterator[None]:
        """Every failure of a call to Docent, as one ``UploadError`` line."""
        try:
            yield
        except UploadError:
            raise
        except requests.Timeout as exc:
            raise ServerTimeout(
                f"{doing}: no answer from {_server(exc)} within {self.timeout:g}s "
                "(--timeout: raise it for a slow server)"
            ) from exc
        except requests.ConnectionError as exc:
            reason = _reason(exc)
            raise ServerUnavailable(
                f"{doing}: cannot reach {_server(exc)} ({reason}); check that the server runs "
                "and --api-url",
                reason=f"no answer ({reason})",
            ) from exc
        except requests.RequestException as exc:
            if exc.response is not None:
                _check(exc.response, doing, redact=self._redact)
            raise UploadError(f"{doing}: {self._redact(str(exc))}") from exc
        except Exception as exc:  # the client failed in a way it does not document
            raise UploadError(
                f"{doing}: unexpected answer from Docent "
                f"({type(exc).__name__}: {self._redact(str(exc))})"
            ) from exc

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "***")
        return text


def _only_if_answered(action: Callable[[int], T], attempt: int) -> T:
    """``action``, its faults tried again only when the server answered (busy, or a gateway
    whose server restarts): no answer at all when connecting is most likely a wrong URL."""
    try:
        return action(attempt)
    except ServerUnavailable as fault:
        if fault.status is not None:
            raise
        raise UploadError(str(fault)) from fault


def _only_if_busy(action: Callable[[int], T], attempt: int) -> T:
    """``action``, its faults tried again only when the server said it did nothing (429)."""
    try:
        return action(attempt)
    except ServerUnavailable as fault:
        if fault.status == 429:
            raise
        raise UploadError(str(fault)) from fault


def _check(
    answer: requests.Response, doing: str, *, redact: Callable[[str], str] = lambda text: text
) -> None:
    """Raise the fault an answer of 400 or more stands for."""
    status = answer.status_code
    if status < 400:
        return
    detail = redact(_detail(answer))
    if is_retried_status(status):
        asked = (
            retry_after_seconds(answer.headers.get("Retry-After"))
            if status in RETRY_AFTER_STATUSES
            else None
        )
        raise ServerUnavailable(
            f"{doing}: HTTP {status}: {detail}", reason=status_reason(status), status=status,
            retry_after=asked,
        )  # fmt: skip
    message = f"{doing}: HTTP {status}: {detail}"
    if status in (401, 403):
        message += f"; check {API_KEY_VARIABLE} and the server URL (--api-url)"
    elif status == 413:
        message += "; send fewer runs per request (--batch-size)"
    raise ServerRefused(message, status=status)


class _Http:
    """The uploader's session as ``capabilities.Http``: any status is an answer, but one that
    means "later", which is a fault to try again."""

    def __init__(self, uploader: DocentUploader) -> None:
        self._uploader = uploader

    def get(self, path: str) -> tuple[int, Any]:
        with self._uploader._server_errors("asking what the server offers"):
            return _status_and_json(self._uploader._request("GET", path))

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        with self._uploader._server_errors("asking what the server offers"):
            return _status_and_json(self._uploader._request("POST", path, json=body))


def _status_and_json(answer: requests.Response) -> tuple[int, Any]:
    if is_retried_status(answer.status_code) and answer.status_code != 500:
        _check(answer, "asking what the server offers")
    try:
        return answer.status_code, answer.json()
    except ValueError:
        return answer.status_code, None


def _detail(answer: requests.Response) -> str:
    """What a refusal says: its JSON ``detail``, else its text (cut), else the reason."""
    try:
        detail = answer.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    text = str(detail) if detail else answer.text.strip()[:300]
    return text or answer.reason


def _server(exc: requests.RequestException) -> str:
    url = exc.request.url if exc.request is not None and exc.request.url else ""
    parts = urlsplit(str(url))
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else "the Docent server"


def _reason(exc: BaseException) -> str:
    """Why a connection failed, in the system's words (``Connection refused``, ``Name or
    service not known``), else the innermost cause."""
    match = _ERRNO_REASON.search(str(exc))
    if match:
        return match.group(1).strip()
    cause: BaseException = exc
    while cause.__cause__ is not None or cause.__context__ is not None:
        cause = cause.__cause__ or cause.__context__  # type: ignore[assignment]
    text = str(cause).rsplit(": ", 1)[-1].strip(" '\")")
    return text or type(exc).__name__
