"""NeMo Gym 0.7's own reading of a row: who produced it, which rollout it is, its result type,
the verdict on its reward and, for a row of a ``*_failures.jsonl`` file, the failed attempt.

Everything reads the raw row (a parsed JSON object), so that the mapping, ``summary`` and the
failures reader share one reading. The rules are NeMo Gym's (spec: nemogym-0.7.md §1–4).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import orjson

LEGACY_AGENT: Final = "legacy_agent"
SINGLE_AGENT_TURN: Final = "single_agent_turn"
SINGLE_AGENT_TURN_LEGACY: Final = "single_agent_turn_legacy"
NEMO_USER_SIM: Final = "nemo_user_sim"
ROLLOUT_TYPES: Final = frozenset({LEGACY_AGENT, SINGLE_AGENT_TURN, SINGLE_AGENT_TURN_LEGACY})
"""Result types whose rows are rollouts of the older shape (request, response, reward)."""

MAX_ATTEMPTS: Final = 3
"""NeMo Gym's default ``NEMO_GYM_MAX_ROLLOUT_ATTEMPTS``: after this many, a key is final."""

JUDGE_FAILED: Final = "judge_failed"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _integer(value: Any) -> int | None:
    return value if type(value) is int else None


def result_type(row: Mapping[str, Any]) -> str:
    """The row's result type: its ``_ng_result_type`` stamp, else what its shape says.

    Unstamped rows (older files) are ``legacy_agent`` when they hold a request and a response,
    ``nemo_user_sim`` when they hold a simulated-user result; any other stamp is returned as it
    is (a server's own type), and an unstamped row of neither shape is ``""``.
    """
    stamp = _text(row.get("_ng_result_type"))
    if stamp is not None:
        return stamp
    if "responses_create_params" in row or "response" in row:
        return LEGACY_AGENT
    if isinstance(row.get("usersim_result"), Mapping):
        return NEMO_USER_SIM
    return ""


def is_environment_result(row: Mapping[str, Any]) -> bool:
    """Whether a row is an environment result of another shape than a rollout's
    (environment-result.schema.json): no request, no response, and a result type that is not
    one of the rollout types."""
    if "responses_create_params" in row or "response" in row:
        return False
    kind = result_type(row)
    return bool(kind) and kind not in ROLLOUT_TYPES


@dataclass(frozen=True)
class RewardVerdict:
    """The verdict on a row's reward (``mask_sample``, ``failure_kind``, ``failure_reason``)."""

    masked: bool = False
    """True: the reward is not a measurement of the system; leave it out of quality numbers."""
    failure_kind: str | None = None
    failure_reason: str | None = None

    def as_metadata(self) -> dict[str, Any]:
        """The verdict as a run's metadata shows it (``metadata.nemogym.verdict``)."""
        shown: dict[str, Any] = {"mask_sample": self.masked}
        if self.failure_kind is not None:
            shown["failure_kind"] = self.failure_kind
        if self.failure_reason is not None:
            shown["failure_reason"] = self.failure_reason
        return shown


VERDICT_KEYS: Final = ("mask_sample", "failure_kind", "failure_reason")


def read_verdict(row: Mapping[str, Any]) -> RewardVerdict | None:
    """The row's verdict, or None when it carries none of the three keys."""
    if not any(key in row for key in VERDICT_KEYS):
        return None
    return RewardVerdict(
        masked=row.get("mask_sample") is True,
        failure_kind=_text(row.get("failure_kind")),
        failure_reason=_text(row.get("failure_reason")),
    )


def number_of(value: Any) -> float | None:
    """A JSON number, or a boolean as 0 or 1, as a float; ``None`` for anything else and NaN.

    NeMo Gym's rule: its metric code turns booleans into 0 and 1 (``reward_profile``:
    ``int(v) if isinstance(v, bool)``, and its profiler's per-rollout columns), and its
    profiler's means drop NaN (``dropna``). This is the one reading of a numeric reward (and
    of any per-rollout number) for ``summary``, ``compare``, the selection and the counts of
    ``convert`` and ``upload``."""
    if not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


def numeric_reward(row: Mapping[str, Any]) -> float | None:
    """The row's ``reward`` read by ``number_of`` (``true`` is 1, NaN is no reward)."""
    return number_of(row.get("reward"))


def is_masked(row: Mapping[str, Any]) -> bool:
    """Whether the row's reward is masked (``mask_sample: true``)."""
    return row.get("mask_sample") is True


@dataclass(frozen=True)
class Identity:
    """Which rollout a row is, by NeMo Gym's rules (spec §2)."""

    agent: str | None
    """``agent_ref.name``, else ``_ng_environment_server`` (NeMo Gym's rollout agent label)."""
    environment_server: str | None
    task_id: str | None
    """``_ng_task_id`` as ``"{taskset}:{task_id}"``: the durable task id, when present."""
    task_index: Any
    rollout_index: Any
    attempt_index: int | None
    rollout_id: str | None
    """``_ng_rollout_id``, when the input row sets one."""

    @property
    def task(self) -> Any:
        """The task as a run's name shows it (``Task.name``)."""
        return _durable_or_index(self.task_id, self.task_index)

    @property
    def canonical_rollout_id(self) -> str | None:
        """``_ng_rollout_id``, else ``"{task_index}-{rollout_index}"``, plus ``-a{n}``."""
        if self.rollout_id is not None:
            return self.rollout_id
        task, repeat = _integer(self.task_index), _integer(self.rollout_index)
        if task is None or repeat is None:
            return None
        base = f"{task}-{repeat}"
        return f"{base}-a{self.attempt_index}" if self.attempt_index else base

    @property
    def attempt_key(self) -> tuple[Any, ...]:
        """What the attempts of one rollout share: (server or agent, task, rollout)."""
        return (
            self.environment_server or self.agent,
            _hashable(self.task_index),
            _hashable(self.rollout_index),
        )


def _hashable(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | None) else repr(value)


def index_text(index: Any) -> str:
    """An index (or task) as a run's name shows it: ``?`` when absent, a string as it is, any
    other value as its JSON text."""
    if index is None:
        return "?"
    if isinstance(index, str):
        return index
    if type(index) is int:
        return str(index)
    return json.dumps(index, sort_keys=True)


def run_name(identity: Identity, label: str) -> str:
    """A run's name by NeMo Gym's identity: ``{label}/task/{task}/rollout/{rollout}``, then
    ``/attempt/{n}`` for attempt n, then ``@{server}`` when the label is not the server."""
    name = f"{label}/task/{index_text(identity.task)}/rollout/{index_text(identity.rollout_index)}"
    if identity.attempt_index:
        name += f"/attempt/{identity.attempt_index}"
    server = identity.environment_server
    if server is not None and server != label:
        name += f"@{server}"
    return name


def task_id_text(value: Any) -> str | None:
    """``_ng_task_id`` (``{taskset, task_id}``) as one string, or None when it is not one."""
    if not isinstance(value, Mapping):
        return None
    taskset, task_id = value.get("taskset"), value.get("task_id")
    if not isinstance(task_id, str | int) or isinstance(task_id, bool):
        return None
    return f"{taskset}:{task_id}" if isinstance(taskset, str) and taskset else str(task_id)


TASK_INDEX: Final = "_ng_task_index"
TASK_ID: Final = "_ng_task_id"
TASK_KEY: Final = "task_key"
JoinKey = Literal["_ng_task_id", "task_key"]
"""How ``compare`` joins tasks: by ``_ng_task_id``, or by the task key."""
_TASK_NAMES: Final = ("task_id", "problem_id", "instance_id", TASK_INDEX)


@dataclass(frozen=True)
class Task:
    """The one reading of a row's task. A task is one question of the task set; a row names it
    up to three ways, and each command takes the one its rule needs (docs/metrics.md, "Tasks"):

    - ``group``: ``_ng_task_index``, what NeMo Gym's metrics group by (``summary``);
    - ``task_id``: ``_ng_task_id``, the durable id (``compare`` joins by it when all rows have it);
    - ``key``: ``"{agent}/task/{id}"`` (the selection, upload's task groups, ``compare`` else);
    - ``name``: the durable id, else the index (a run's name).
    """

    index: Any
    """``_ng_task_index`` as the row holds it (None when absent)."""
    task_id: str | None
    """``_ng_task_id`` as ``"{taskset}:{task_id}"``, when present."""
    key: str | None
    """``"{agent}/task/{id}"``: ``agent_ref.name`` (no prefix without one) and the first of
    ``task_id``, ``problem_id``, ``instance_id`` and ``_ng_task_index`` that is a string or an
    integer; None when the row names none."""

    @property
    def group(self) -> Hashable:
        """The task NeMo Gym's metrics group a rollout under: ``_ng_task_index``, 0 when it
        has none (or one that cannot be a key)."""
        return self.index if self.index is not None and isinstance(self.index, Hashable) else 0

    @property
    def name(self) -> Any:
        """The durable id when present, else ``_ng_task_index``."""
        return _durable_or_index(self.task_id, self.index)

    def joined(self, by: JoinKey) -> str | None:
        """The task as ``compare`` joins it: by ``_ng_task_id``, or by the task key."""
        return self.task_id if by == TASK_ID else self.key


def _durable_or_index(task_id: str | None, index: Any) -> Any:
    return task_id if task_id is not None else index


def read_task(row: Mapping[str, Any]) -> Task:
    """The row's task (``Task``)."""
    return Task(index=row.get(TASK_INDEX), task_id=task_id_text(row.get(TASK_ID)), key=_key(row))


def task_key(row: Any, by: JoinKey = TASK_KEY) -> str | None:
    """The row's task key (``Task.key``), or its task as ``compare`` joins by ``by``; None for
    a row that is not an object."""
    return read_task(row).joined(by) if isinstance(row, Mapping) else None


def _key(row: Mapping[str, Any]) -> str | None:
    for name in _TASK_NAMES:
        value = row.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool):
            agent_ref = row.get("agent_ref")
            agent = agent_ref.get("name") if isinstance(agent_ref, Mapping) else None
            prefix = f"{agent}/" if isinstance(agent, str) and agent else ""
            return f"{prefix}task/{value}"
    return None


def read_identity(row: Mapping[str, Any]) -> Identity:
    """The row's identity; absent parts are None."""
    agent_ref = row.get("agent_ref")
    agent = _text(agent_ref.get("name")) if isinstance(agent_ref, Mapping) else None
    server = _text(row.get("_ng_environment_server"))
    task = read_task(row)
    return Identity(
        agent=agent if agent is not None else server,
        environment_server=server,
        task_id=task.task_id,
        task_index=task.index,
        rollout_index=row.get("_ng_rollout_index"),
        attempt_index=_integer(row.get("_ng_attempt_index")),
        rollout_id=_text(row.get("_ng_rollout_id")),
    )


@dataclass(frozen=True)
class FailedAttempt:
    """One row of a ``*_failures.jsonl`` file: an attempt that failed (spec §4)."""

    failure_class: str
    """``agent_run_error``, ``agent_request_failed``, ``environment_server_failed``,
    ``judge_failed`` or a harness's own class."""
    stage: str | None
    message: str | None
    terminal: bool
    attempt_index: int
    """n on an attempt dispatched again after n failed ones (0 for the first)."""
    http_status: int | None = None
    failure_type: str | None = None
    judge_error: str | None = None
    response_body: Any = None

    def as_metadata(self, attempts: int | None = None) -> dict[str, Any]:
        """The failure as a run's metadata shows it (``metadata.failure``)."""
        shown: dict[str, Any] = {"class": self.failure_class}
        for key, value in (
            ("stage", self.stage),
            ("message", self.message),
            ("http_status", self.http_status),
            ("type", self.failure_type),
            ("judge_error", self.judge_error),
            ("response_body", self.response_body),
        ):
            if value is not None:
                shown[key] = value
        shown["terminal"] = self.terminal
        shown["attempt_index"] = self.attempt_index
        if attempts is not None:
            shown["attempts"] = attempts
        return shown


FAILURE_CLASS: Final = "_ng_failure_class"
FAILURE_KEYS: Final = frozenset(
    {
        FAILURE_CLASS,
        "_ng_failure_type",
        "_ng_failure_message",
        "_ng_failure_http_status",
        "_ng_failure_response_body",
        "_ng_failure_terminal",
        "_ng_failure_stage",
        "_ng_failure_partial_response",
        "_ng_failure_judge_error",
    }
)
"""The keys a failed attempt adds to a row."""


def read_failed_attempt(row: Mapping[str, Any]) -> FailedAttempt | None:
    """The failed attempt a row records, or None when it has no ``_ng_failure_class``."""
    failure_class = _text(row.get(FAILURE_CLASS))
    if failure_class is None:
        return None
    return FailedAttempt(
        failure_class=failure_class,
        stage=_text(row.get("_ng_failure_stage")),
        message=_text(row.get("_ng_failure_message")),
        terminal=row.get("_ng_failure_terminal") is True,
        attempt_index=_integer(row.get("_ng_attempt_index")) or 0,
        http_status=_integer(row.get("_ng_failure_http_status")),
        failure_type=_text(row.get("_ng_failure_type")),
        judge_error=_text(row.get("_ng_failure_judge_error")),
        response_body=row.get("_ng_failure_response_body"),
    )


@dataclass(frozen=True)
class Standing:
    """Where a key's standing attempt is, and how many attempts the key had."""

    position: int
    """The position (line number, or index) of the key's last row: the attempt that stands."""
    attempts: int
    """Rows of the key: one per failed attempt."""


def standing_attempts(rows: Iterable[tuple[int, Mapping[str, Any]]]) -> dict[int, Standing]:
    """Of the rows of a failures file (with their positions), the standing attempt of each key.

    NeMo Gym writes one row per failed attempt, so a key repeats; its last row stands. The
    answer maps that row's position to its ``Standing``; the other rows stand for nothing.
    """
    last: dict[tuple[Any, ...], int] = {}
    counts: dict[tuple[Any, ...], int] = {}
    for position, row in rows:
        key = read_identity(row).attempt_key
        last[key] = position
        counts[key] = counts.get(key, 0) + 1
    return {position: Standing(position, counts[key]) for key, position in last.items()}


def is_final(attempt: FailedAttempt, attempts: int, max_attempts: int = MAX_ATTEMPTS) -> bool:
    """Whether a standing failure is final: terminal, or out of attempts."""
    return attempt.terminal or attempts >= max_attempts


def input_digest(row: Mapping[str, Any]) -> str | None:
    """A digest of the row's request input (``responses_create_params.input``, its keys sorted),
    or ``None`` when it has none: two rows joined as one task hold the same question when their
    digests agree (NeMo Gym's own review of ``gym eval compare``, NVIDIA-NeMo/Gym#2531)."""
    params = row.get("responses_create_params")
    if not isinstance(params, Mapping) or "input" not in params:
        return None
    try:
        text = orjson.dumps(params["input"], option=orjson.OPT_SORT_KEYS)
    except TypeError:
        text = repr(params["input"]).encode()
    return hashlib.blake2b(text, digest_size=16).hexdigest()
