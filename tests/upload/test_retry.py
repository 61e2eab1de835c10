"""The one retry policy: which faults go again, how long each wait is, when patience is out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from nemogym_docent.upload.faults import (
    OutOfPatience,
    ServerRefused,
    ServerTimeout,
    ServerUnavailable,
    UploadError,
    is_retried_status,
)
from nemogym_docent.upload.retry import Retrying, RetryPolicy, retry_after_seconds, should_retry

NOW = datetime(2026, 12, 7, 23, 0, 0, tzinfo=UTC)


def unavailable(status: int | None = 503, retry_after: float | None = None) -> ServerUnavailable:
    return ServerUnavailable(
        f"HTTP {status}", reason="busy", status=status, retry_after=retry_after
    )


@pytest.mark.parametrize(
    ("status", "retried"),
    [(400, False), (401, False), (404, False), (408, True), (409, False), (413, False),
     (422, False), (429, True), (500, True), (502, True), (503, True), (504, True)],
)  # fmt: skip
def test_which_statuses_go_again(status: int, retried: bool) -> None:
    assert is_retried_status(status) is retried


def test_which_faults_go_again() -> None:
    assert should_retry(unavailable(None))  # a lost connection
    assert should_retry(unavailable(429))
    assert not should_retry(ServerTimeout("no answer within 1s"))  # the user's own limit
    assert not should_retry(ServerRefused("HTTP 400", status=400))
    assert not should_retry(UploadError("not JSON"))


def test_retry_after_in_seconds_and_as_an_http_date() -> None:
    assert retry_after_seconds("2") == 2.0
    assert retry_after_seconds(" 0 ") == 0.0
    assert retry_after_seconds("1.5") == 1.5
    date = format_datetime(NOW + timedelta(seconds=7), usegmt=True)
    assert date.endswith("GMT")
    assert retry_after_seconds(date, now=NOW) == 7.0
    past = format_datetime(NOW - timedelta(seconds=30), usegmt=True)
    assert retry_after_seconds(past, now=NOW) == 0.0
    for unreadable in (None, "", "soon", "nan", "inf"):
        assert retry_after_seconds(unreadable, now=NOW) is None


def test_the_backoff_doubles_up_to_its_ceiling_shortened_by_jitter() -> None:
    steady = RetryPolicy(random=lambda: 0.0)
    assert [steady.backoff(attempt) for attempt in range(1, 8)] == [1, 2, 4, 8, 15, 15, 15]
    shortest = RetryPolicy(random=lambda: 1.0)
    assert [shortest.backoff(attempt) for attempt in (1, 5)] == [0.75, 11.25]
    assert RetryPolicy().backoff(10_000) <= 15


def test_retry_after_is_waited_as_asked_and_only_backoff_is_jittered() -> None:
    policy = RetryPolicy(patience=60, random=lambda: 1.0)
    assert policy.pause(unavailable(429, retry_after=2), attempt=1, failing_for=0) == 2
    assert policy.pause(unavailable(503, retry_after=30), attempt=3, failing_for=10) == 30
    assert policy.pause(unavailable(503), attempt=1, failing_for=0) == 0.75


def test_patience_bounds_the_waiting() -> None:
    policy = RetryPolicy(patience=10, random=lambda: 0.0)
    assert policy.pause(unavailable(), attempt=3, failing_for=5) == 4
    assert policy.pause(unavailable(), attempt=4, failing_for=5) is None  # 5 + 8 > 10
    assert policy.pause(unavailable(retry_after=11), attempt=1, failing_for=0) is None
    endless = RetryPolicy(patience=None)
    assert endless.pause(unavailable(retry_after=3600), attempt=99, failing_for=1e6) == 3600
    assert policy.pause(ServerRefused("HTTP 400"), attempt=1, failing_for=0) is None


@dataclass
class Script:
    """Faults to raise, one per attempt, then a result; time passes only by sleeping."""

    faults: list[UploadError]
    now: float = 0.0
    attempts: list[float] = field(default_factory=list)
    said: list[str] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def action(self, _attempt: int) -> str:
        self.attempts.append(self.now)
        if self.faults:
            raise self.faults.pop(0)
        return "stored"

    def retrying(self, patience: float | None = 60) -> Retrying:
        policy = RetryPolicy(patience=patience, random=lambda: 0.0)
        return Retrying(policy, on_wait=self.said.append, clock=self.clock, sleep=self.sleep)


def test_each_attempt_waits_what_the_server_asked_and_says_so() -> None:
    script = Script([unavailable(429, retry_after=2), unavailable(503), unavailable(None)])
    assert script.retrying().call(script.action) == "stored"
    assert script.attempts == [0, 2, 4, 8]  # the backoff counts attempts: 2 s, then 4 s
    assert script.said == [
        "busy, retrying in 2 s",
        "busy, retrying in 2 s",
        "busy, retrying in 4 s",
    ]


def test_when_patience_is_out_the_last_fault_says_so() -> None:
    script = Script([unavailable(503)] * 10)
    with pytest.raises(OutOfPatience) as stopped:
        script.retrying(patience=10).call(script.action)
    assert script.attempts == [0, 1, 3, 7]
    assert str(stopped.value) == (
        "HTTP 503; still failing after 7 s (--patience 10s: raise it to wait longer)"
    )
    asked_too_much = Script([unavailable(429, retry_after=120)])
    with pytest.raises(OutOfPatience, match="the server asked to wait 120 s, past the patience"):
        asked_too_much.retrying(patience=60).call(asked_too_much.action)
    assert asked_too_much.attempts == [0]


def test_a_refusal_stops_at_once() -> None:
    script = Script([ServerRefused("HTTP 422: bad run", status=422)])
    with pytest.raises(ServerRefused, match="bad run"):
        script.retrying().call(script.action)
    assert script.attempts == [0]
    assert script.said == []


def test_a_call_inside_a_call_is_tried_once_and_the_outer_one_waits() -> None:
    script = Script([unavailable(503), unavailable(503)])
    retrying = script.retrying()
    inner: list[str] = []

    def outer(_attempt: int) -> str:
        try:
            inner.append(retrying.call(script.action))
        except ServerUnavailable:
            inner.append("failed")
            raise
        return "done"

    assert retrying.call(outer) == "done"
    assert inner == ["failed", "failed", "stored"]
    assert script.attempts == [0, 1, 3]


def test_a_stop_during_a_wait_ends_it() -> None:
    script = Script([unavailable(429, retry_after=30)])
    retrying = script.retrying()
    retrying.should_stop = lambda: script.now >= 1
    with pytest.raises(ServerUnavailable):
        retrying.call(script.action)
    assert script.now < 2
