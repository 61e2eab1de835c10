"""Choose which rollouts to keep: conditions, a cap per task, contrasting tasks, a seeded sample.

The steps run in that order, over any iterable of rollouts (or of items holding one, with
``rollout_of``), and the kept items come out in input order. Memory stays bounded: the conditions
and the cap per task stream; the sample holds the ``n`` items it keeps; ``contrast`` needs to know
each task's lowest and highest reward before it keeps anything, so it reads the input twice
(``collect_task_rewards`` first), holding two numbers per task, never the rollouts.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from nemogym_docent.analysis.where import Where, compile_conditions, matches_all
from nemogym_docent.identity import numeric_reward, task_key
from nemogym_docent.jsonl.parsing import BLANK, parse_line

T = TypeVar("T")


@dataclass(frozen=True)
class TaskGroup:
    """What a first pass learnt about one task: its rollouts and their reward range."""

    size: int
    reward_min: float | None
    reward_max: float | None

    @property
    def reward_spread(self) -> float | None:
        if self.reward_min is None or self.reward_max is None:
            return None
        return self.reward_max - self.reward_min

    @property
    def contrasting(self) -> bool:
        """At least one rollout was rewarded more than another."""
        spread = self.reward_spread
        return spread is not None and spread > 0


@dataclass
class TaskRewards:
    """Per task: how many rollouts, and the lowest and highest numeric reward (a first pass)."""

    _groups: dict[Hashable, list[Any]] = field(default_factory=dict)

    def add(self, task: Hashable | None, reward: float | None) -> None:
        if task is None:
            return
        group = self._groups.get(task)
        if group is None:
            self._groups[task] = [1, reward, reward]
            return
        group[0] += 1
        if reward is not None:
            group[1] = reward if group[1] is None else min(group[1], reward)
            group[2] = reward if group[2] is None else max(group[2], reward)

    def group(self, task: Hashable) -> TaskGroup | None:
        found = self._groups.get(task)
        return None if found is None else TaskGroup(*found)

    def __len__(self) -> int:
        return len(self._groups)

    def widest(self) -> Hashable | None:
        """The task whose rewards spread the most (the first such, then the largest)."""
        best: tuple[float, int] | None = None
        found: Hashable | None = None
        for task, (size, low, high) in self._groups.items():
            rank = (-1.0 if low is None else high - low, size)
            if best is None or rank > best:
                best, found = rank, task
        return found


@dataclass(frozen=True)
class Selection:
    """Which rollouts to keep; the default keeps all of them.

    - ``where``: expressions that must all hold (see ``nemogym_docent.analysis.where``);
    - ``per_task``: at most this many rollouts of each task, the first ones in input order;
    - ``contrast``: only tasks whose rollouts disagree on reward (two passes over the input);
    - ``sample``: a uniform random sample of this many of the rest, the same for the same
      ``seed``; held in memory until the input ends, then given in input order.
    """

    where: tuple[str, ...] = ()
    sample: int | None = None
    seed: int = 0
    per_task: int | None = None
    contrast: bool = False
    conditions: tuple[Where, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.sample is not None and self.sample < 0:
            raise ValueError("sample must be 0 or more")
        if self.per_task is not None and self.per_task < 1:
            raise ValueError("per_task must be 1 or more")
        object.__setattr__(self, "where", tuple(self.where))
        object.__setattr__(self, "conditions", compile_conditions(self.where))

    @property
    def selects(self) -> bool:
        """Whether anything would be left out."""
        return bool(self.where or self.sample is not None or self.per_task or self.contrast)


def _identity(item: Any) -> Any:
    return item


def collect_task_rewards(
    items: Iterable[T],
    selection: Selection,
    *,
    rollout_of: Callable[[T], Any] = _identity,
    task_of: Callable[[T], Hashable | None] | None = None,
) -> TaskRewards:
    """The first pass: each task's size and reward range, over the items that meet ``where``."""
    tasks = TaskRewards()
    for item in items:
        rollout = rollout_of(item)
        if matches_all(selection.conditions, rollout):
            task = task_of(item) if task_of else task_key(rollout)
            tasks.add(task, numeric_reward(rollout) if isinstance(rollout, dict) else None)
    return tasks


def select_rollouts(
    items: Iterable[T],
    selection: Selection,
    *,
    rollout_of: Callable[[T], Any] = _identity,
    task_of: Callable[[T], Hashable | None] | None = None,
    tasks: TaskRewards | None = None,
    passes: Callable[[T], bool] | None = None,
) -> Iterator[T]:
    """The items whose rollout the selection keeps, in input order.

    ``contrast`` needs ``tasks`` from ``collect_task_rewards`` over the same items, unless
    ``items`` is a collection (a list), which is then read twice. ``task_of`` says which task an
    item belongs to (``task_key`` of its rollout by default); items of no task pass ``per_task``
    and fail ``contrast``. Items for which ``passes`` is true are not selected from: they come
    out as they are, at once (with ``sample``, before the sample, which comes at the end).
    """
    if selection.contrast and tasks is None:
        if not isinstance(items, Collection):
            raise ValueError(
                "contrast reads the input twice: pass tasks=collect_task_rewards(...) "
                "from a first pass, or a list"
            )
        tasks = collect_task_rewards(items, selection, rollout_of=rollout_of, task_of=task_of)
    kept = _filtered(
        items, selection, rollout_of, task_of or _task_of_rollout(rollout_of), tasks, passes
    )
    if selection.sample is None:
        yield from kept
        return
    reservoir: Reservoir[T] = Reservoir(selection.sample, seed=selection.seed)
    for item in kept:
        if passes is not None and passes(item):
            yield item
        else:
            reservoir.offer(item)
    yield from reservoir.items()


def _task_of_rollout(rollout_of: Callable[[T], Any]) -> Callable[[T], Hashable | None]:
    return lambda item: task_key(rollout_of(item))


def _filtered(
    items: Iterable[T],
    selection: Selection,
    rollout_of: Callable[[T], Any],
    task_of: Callable[[T], Hashable | None],
    tasks: TaskRewards | None,
    passes: Callable[[T], bool] | None,
) -> Iterator[T]:
    per_task = selection.per_task
    seen: Counter[Hashable] = Counter()
    for item in items:
        if passes is not None and passes(item):
            yield item
            continue
        if not matches_all(selection.conditions, rollout_of(item)):
            continue
        if not (selection.contrast or per_task):
            yield item
            continue
        task = task_of(item)
        if selection.contrast:
            group = None if task is None or tasks is None else tasks.group(task)
            if group is None or not group.contrasting:
                continue
        if per_task and task is not None:
            if seen[task] >= per_task:
                continue
            seen[task] += 1
        yield item


class Reservoir(Generic[T]):
    """A uniform random sample of ``n`` of the items offered, holding ``n`` at most (reservoir
    sampling, algorithm R); the same seed and items give the same sample."""

    def __init__(self, n: int, *, seed: int = 0) -> None:
        self._n = n
        self._rng = random.Random(seed)
        self._offered = 0
        self._kept: list[tuple[int, T]] = []

    def offer(self, item: T) -> None:
        index = self._offered
        self._offered += 1
        if index < self._n:
            self._kept.append((index, item))
            return
        slot = self._rng.randrange(index + 1)
        if slot < self._n:
            self._kept[slot] = (index, item)

    def items(self) -> list[T]:
        """The sample, in the order the items were offered."""
        return [item for _, item in sorted(self._kept, key=lambda entry: entry[0])]


def sample_in_order(items: Iterable[T], n: int, *, seed: int = 0) -> list[T]:
    """A uniform random sample of ``n`` items (all of them if fewer), in input order."""
    reservoir: Reservoir[T] = Reservoir(n, seed=seed)
    for item in items:
        reservoir.offer(item)
    return reservoir.items()


def _parsed_line(raw: bytes) -> Any:
    """The JSON value of a line; ``None`` for a blank line or one that is not JSON."""
    try:
        value = parse_line(raw)
    except (ValueError, RecursionError):
        return None
    return None if value is BLANK else value


def collect_line_task_rewards(
    lines: Iterable[T], selection: Selection, *, raw_of: Callable[[T], bytes]
) -> TaskRewards:
    """``collect_task_rewards`` over JSONL lines (``raw_of`` gives a line's bytes)."""
    return collect_task_rewards((_parsed_line(raw_of(line)) for line in lines), selection)


def select_jsonl_lines(
    lines: Iterable[T],
    selection: Selection,
    *,
    raw_of: Callable[[T], bytes],
    tasks: TaskRewards | None = None,
) -> Iterator[tuple[T, str | None]]:
    """The JSONL lines the selection keeps, each with its task (``task_key``), in input order.

    A line that is not a JSON object (blank, not JSON, an array...) is not a rollout to select
    from: it passes, with no task, for the converter to report (with ``sample``, at once,
    before the sample). ``contrast`` needs ``tasks`` from ``collect_line_task_rewards``.
    """
    parsed = ((line, _parsed_line(raw_of(line))) for line in lines)
    for line, value in select_rollouts(
        parsed,
        selection,
        rollout_of=lambda pair: pair[1],
        task_of=lambda pair: task_key(pair[1]),
        tasks=tasks,
        passes=lambda pair: not isinstance(pair[1], dict),
    ):
        yield line, task_key(value)
