"""Counts over what a command read and made."""

from __future__ import annotations

import functools
import math
import operator
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from nemogym_docent.errors import Issue


@dataclass
class RunStats:
    """Counts over what a command read and made."""

    files: int = 0
    records: int = 0
    runs: int = 0
    failed: int = 0
    messages: int = 0
    tool_calls: int = 0
    lenient_only: int = 0
    losses: Counter[str] = field(default_factory=Counter)
    rewards: int = 0
    reward_sum: float = 0.0
    reward_min: float = math.inf
    reward_max: float = -math.inf

    def add_run(self, messages: int, tool_calls: int, reward: float | None) -> None:
        self.add_runs(1, messages, tool_calls, () if reward is None else (reward,))

    def add_runs(
        self, runs: int, messages: int, tool_calls: int, rewards: tuple[float, ...]
    ) -> None:
        """Count consecutive runs at once; ``rewards`` are their numeric rewards, in input order
        (summed in that order, so the sum is the same however the runs are grouped)."""
        self.runs += runs
        self.messages += messages
        self.tool_calls += tool_calls
        if rewards:
            self.rewards += len(rewards)
            self.reward_sum = functools.reduce(operator.add, rewards, self.reward_sum)
            self.reward_min = min(self.reward_min, *rewards)
            self.reward_max = max(self.reward_max, *rewards)

    def count_lenient(self, losses: Iterable[Issue]) -> None:
        """Count a record that converts only leniently, and its approximations by kind."""
        self.lenient_only += 1
        self.losses.update(str(loss.loss_kind) for loss in losses)

    def reward_text(self) -> str:
        if not self.rewards:
            return "none numeric"
        mean = self.reward_sum / self.rewards
        return f"mean {mean:.3g}, min {self.reward_min:.3g}, max {self.reward_max:.3g}"
