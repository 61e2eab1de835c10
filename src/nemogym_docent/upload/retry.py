"""The one retry policy of every upload (command line, ``--follow``, ``compare --upload``, Ray).

What is tried again: 408, 429, every 5xx and a lost connection (``ServerUnavailable``), but not
``--timeout`` (the user's own limit) and not another 4xx (``ServerRefused``: stops at once). How
long it waits: what ``Retry-After`` asks on a 429 or 503 (seconds or an HTTP date), else an
exponential backoff with jitter (about 1, 2, 4, 8 s, then 15 s at most). For how long: one
patience budget, the time since the request first failed; when the next wait would pass it, the
upload stops as it does on any fault (what was acknowledged, what is in flight, how to resume).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from nemogym_docent.upload.faults import (
    OutOfPatience,
    ServerTimeout,
    ServerUnavailable,
    UploadError,
)

DEFAULT_PATIENCE = 300.0
"""Seconds an upload keeps trying a request that fails, from its first failure."""
FIRST_PAUSE = 1.0
LONGEST_PAUSE = 15.0
JITTER = 0.25
"""A backoff pause is shortened by up to this fraction, at random, so that clients spread out."""
_POLL = 0.25
T = TypeVar("T")


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """The seconds a ``Retry-After`` header asks for (``120`` or an HTTP date); None when it is
    absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def should_retry(fault: UploadError) -> bool:
    """Whether a request that failed so may go again."""
    return isinstance(fault, ServerUnavailable) and not isinstance(fault, ServerTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before a failed request goes again.

    ``patience``: seconds from the first failure of a request after which it is not tried again
    (None: no limit, as ``upload --follow`` waits).
    """

    patience: float | None = DEFAULT_PATIENCE
    random: Callable[[], float] = field(default=random.random, compare=False)

    def backoff(self, attempt: int) -> float:
        """The pause after failed attempt number ``attempt`` (1, 2, ...) when the server named
        none."""
        pause = min(FIRST_PAUSE * 2.0 ** min(attempt - 1, 16), LONGEST_PAUSE)
        return pause * (1.0 - JITTER * self.random())

    def pause(self, fault: UploadError, attempt: int, failing_for: float) -> float | None:
        """How long to wait before trying again after ``fault`` ended attempt ``attempt``, the
        request having failed for ``failing_for`` seconds; None: stop."""
        if not should_retry(fault):
            return None
        assert isinstance(fault, ServerUnavailable)
        asked = fault.retry_after
        pause = asked if asked is not None else self.backoff(attempt)
        if self.patience is not None and failing_for + pause > self.patience:
            return None
        return pause


def _never() -> bool:
    return False


def _ignore(_message: str) -> None:
    return None


@dataclass
class Retrying:
    """Runs requests under a ``RetryPolicy``: says why it waits (``on_wait``) and gives up early
    when ``should_stop`` says so (Ctrl-C during a wait)."""

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    on_wait: Callable[[str], None] = _ignore
    should_stop: Callable[[], bool] = _never
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _depth: int = field(default=0, init=False)

    def call(self, action: Callable[[int], T]) -> T:
        """``action(attempt)`` until it returns; the last fault when the policy stops, as
        ``OutOfPatience`` when only the patience did. A call made inside another one is tried
        once: the outer one waits and tries again, within its own patience."""
        if self._depth:
            return action(1)
        attempt, first_failure = 0, None
        while True:
            attempt += 1
            self._depth += 1
            try:
                return action(attempt)
            except UploadError as fault:
                now = self.clock()
                first_failure = now if first_failure is None else first_failure
                failing_for = now - first_failure
                pause = self.policy.pause(fault, attempt, failing_for)
                if pause is None:
                    if should_retry(fault):
                        raise self._out_of_patience(fault, failing_for) from fault
                    raise
                self.on_wait(f"{waiting_reason(fault)}, retrying in {_seconds(pause)}")
                if not self._wait(pause):
                    raise
            finally:
                self._depth -= 1

    def _out_of_patience(self, fault: UploadError, failing_for: float) -> OutOfPatience:
        assert isinstance(fault, ServerUnavailable)
        patience = self.policy.patience or 0.0
        asked = fault.retry_after
        why = (
            f"the server asked to wait {_seconds(asked)}, past the patience left"
            if asked is not None and asked > patience - failing_for
            else f"still failing after {_seconds(failing_for)}"
        )
        return OutOfPatience(
            f"{fault}; {why} (--patience {patience:g}s: raise it to wait longer)",
            reason=fault.reason,
            status=fault.status,
            retry_after=asked,
        )

    def _wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` at least, unless asked to stop meanwhile (then False)."""
        deadline = self.clock() + seconds
        while True:
            if self.should_stop():
                return False
            left = deadline - self.clock()
            if left <= 0:
                return True
            self.sleep(min(left, _POLL))


def waiting_reason(fault: UploadError) -> str:
    return fault.reason if isinstance(fault, ServerUnavailable) else str(fault)


def _seconds(seconds: float) -> str:
    """``2 s``: whole seconds, rounded up (a wait is never said shorter)."""
    return f"{math.ceil(seconds)} s"
