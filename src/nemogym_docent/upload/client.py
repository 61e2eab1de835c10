"""Talk to Docent through its own client, with timeouts, and turn its failures into one line.

Imported only by the upload command: the Docent client pulls in heavy modules.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import requests
from docent import Docent
from docent.data_models.agent_run import AgentRun
from docent.sdk import _collections as docent_collections
from requests.adapters import HTTPAdapter

from nemogym_docent.upload.keys import held_upload_keys

API_KEY_VARIABLE = "DOCENT_API_KEY"
JOB_STATUS_LIMIT = 100  # the most job ids the client may ask about at once
_DONE = "completed"
_CANCELED = "canceled"
_PROGRESS_BAR = "tqdm"  # the progress bar class Docent's collection calls draw
_ERRNO_REASON = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")


class ServerError(Exception):
    """Docent could not be reached or refused a request (exit code 2)."""


class ServerTimeout(Exception):
    """Docent did not answer, or did not finish its jobs, in time (exit code 1)."""


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


@contextmanager
def _without_client_progress_bars() -> Iterator[None]:
    """The client draws a tqdm bar per call; this command draws its own progress."""
    original = getattr(docent_collections, _PROGRESS_BAR)
    setattr(docent_collections, _PROGRESS_BAR, functools.partial(original, disable=True))
    try:
        yield
    finally:
        setattr(docent_collections, _PROGRESS_BAR, original)


class DocentUploader:
    """Connects at construction; ``ServerError`` for a missing key or an unreachable server."""

    def __init__(
        self,
        *,
        api_url: str | None,
        frontend_url: str | None,
        timeout: float,
        quiet: bool,
        api_key: str | None = None,
    ) -> None:
        self._secrets = [api_key or os.environ.get(API_KEY_VARIABLE) or ""]
        self.timeout = timeout
        _route_client_logs(quiet=quiet)
        with self._server_errors("connecting to Docent"):
            try:
                self._client = _Client(
                    request_timeout=timeout,
                    api_key=api_key,
                    api_url=api_url,
                    frontend_url=frontend_url,
                )
            except ValueError as exc:
                if "api_key" in str(exc):
                    raise ServerError(
                        f"no Docent API key: set {API_KEY_VARIABLE} (or put it in docent.env)"
                    ) from exc
                raise ServerError(f"Docent client: {self._redact(str(exc))}") from exc
        authorization = str(self._client._session.headers.get("Authorization", ""))
        self._secrets.append(authorization.removeprefix("Bearer "))

    def create_collection(self, name: str) -> str:
        """A new collection's id."""
        with self._server_errors("creating the collection"):
            return self._client.create_collection(name=name)

    def held_keys(self, collection_id: str, keys: list[str]) -> set[str]:
        """Which of these upload keys the collection already holds."""
        with self._server_errors("asking which runs the collection holds"):
            return held_upload_keys(self._client, collection_id, keys)

    def send(self, collection_id: str, runs: list[AgentRun]) -> list[str]:
        """Send one batch without waiting for Docent to process it; the job ids it started."""
        with self._server_errors("sending runs"), _without_client_progress_bars():
            try:
                result = self._client.add_agent_runs(collection_id, runs, wait=False)
            except ValueError as exc:
                raise ServerError(self._redact(str(exc))) from exc
        return [str(job_id) for job_id in result.get("job_ids", [])]

    def wait(self, collection_id: str, job_ids: list[str], *, poll_interval: float = 1.0) -> None:
        """Poll until every job is done; ``ServerTimeout`` after ``timeout`` seconds,
        ``ServerError`` when Docent cancels a job."""
        deadline = time.monotonic() + self.timeout
        pending = list(dict.fromkeys(job_ids))
        canceled: list[str] = []
        while pending:
            with self._server_errors("checking the upload jobs"):
                statuses = {
                    str(status["job_id"]): str(status["status"])
                    for start in range(0, len(pending), JOB_STATUS_LIMIT)
                    for status in self._client.get_agent_run_job_statuses(
                        collection_id, pending[start : start + JOB_STATUS_LIMIT]
                    )
                }
            canceled += [job for job in pending if statuses.get(job) == _CANCELED]
            pending = [job for job in pending if statuses.get(job) not in (_DONE, _CANCELED)]
            if not pending:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ServerTimeout(
                    f"Docent had not finished {len(pending)} job(s) after {self.timeout:g}s: "
                    + ", ".join(pending)
                )
            time.sleep(min(poll_interval, remaining))
        if canceled:
            raise ServerError("Docent canceled job(s): " + ", ".join(canceled))

    def collection_url(self, collection_id: str) -> str:
        """Where the collection is seen in Docent's web app."""
        return f"{self._client.frontend_url}/dashboard/{collection_id}"

    @contextmanager
    def _server_errors(self, doing: str) -> Iterator[None]:
        """Every failure of a call to Docent, as one ``ServerError``/``ServerTimeout`` line."""
        try:
            yield
        except (ServerError, ServerTimeout):
            raise
        except requests.Timeout as exc:
            raise ServerTimeout(
                f"{doing}: no answer from {_server(exc)} within {self.timeout:g}s"
            ) from exc
        except requests.ConnectionError as exc:
            raise ServerError(f"{doing}: cannot reach {_server(exc)} ({_reason(exc)})") from exc
        except requests.RequestException as exc:
            message = f"{doing}: {self._redact(str(exc))}"
            status = exc.response.status_code if exc.response is not None else None
            if status in (401, 403):
                message += f"; check {API_KEY_VARIABLE} and the server URL (--api-url)"
            raise ServerError(message) from exc
        except Exception as exc:  # the client failed in a way it does not document
            raise ServerError(
                f"{doing}: unexpected answer from Docent "
                f"({type(exc).__name__}: {self._redact(str(exc))})"
            ) from exc

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "***")
        return text


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
