"""Why an upload cannot go on: one tree of exceptions, each a one-line message that says what to
do next (the command line prints it and exits 2)."""

from __future__ import annotations

RETRIED_STATUSES = frozenset({408, 429})
"""Statuses below 500 that mean "later", not "no" (every 5xx does too)."""
RETRY_AFTER_STATUSES = frozenset({429, 503})
"""Statuses whose ``Retry-After`` header is honoured."""


class UploadError(Exception):
    """An upload stopped: the server could not be used, refused, or kept failing."""


class ServerRefused(UploadError):
    """The server answered with a refusal (a 4xx other than 408 and 429): nothing of the
    request was stored, and sending it again would not help."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ServerUnavailable(UploadError):
    """No answer, or an answer that means "later" (408, 429, 5xx): the request may have been
    stored, and may go again. ``retry_after``: the seconds the server asked to wait."""

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        """A few words for progress: ``server busy (HTTP 429)``, ``no answer (reset)``."""
        self.status = status
        self.retry_after = retry_after


class ServerTimeout(ServerUnavailable):
    """No answer within ``--timeout`` (the user's own limit: not tried again)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, reason="no answer in time")


class OutOfPatience(ServerUnavailable):
    """The server kept failing for longer than the patience allows."""


def is_retried_status(status: int) -> bool:
    """Whether an HTTP status says "try again later"."""
    return status in RETRIED_STATUSES or status >= 500


def status_reason(status: int) -> str:
    """A few words on a status that is tried again, for progress lines."""
    if status in RETRY_AFTER_STATUSES:
        return f"server busy (HTTP {status})"
    if status == 408:
        return "the server gave up waiting for the request (HTTP 408)"
    return f"server error (HTTP {status})"
