"""The tables commands print on stderr when they finish."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rich import box
from rich.console import Console
from rich.table import Table

from nemogym_docent.cli.line_tasks import LineResult

COMMON_ERRORS_SHOWN = 10


@dataclass
class RunStats:
    """Counts over the records read and the runs made."""

    files: int = 0
    records: int = 0
    runs: int = 0
    failed: int = 0
    messages: int = 0
    tool_calls: int = 0
    lenient_only: int = 0
    losses: Counter[str] = field(default_factory=Counter)
    _reward_count: int = 0
    _reward_sum: float = 0.0
    _reward_min: float | None = None
    _reward_max: float | None = None

    def add_run(self, result: LineResult) -> None:
        self.runs += 1
        self.messages += result.messages
        self.tool_calls += result.tool_calls
        self.count_lenient(result)
        if result.reward is not None:
            reward = result.reward
            self._reward_count += 1
            self._reward_sum += reward
            self._reward_min = reward if self._reward_min is None else min(self._reward_min, reward)
            self._reward_max = reward if self._reward_max is None else max(self._reward_max, reward)

    def count_lenient(self, result: LineResult) -> None:
        """Count a record that converts only leniently, and its approximations by kind."""
        if result.lenient_only:
            self.lenient_only += 1
            self.losses.update(str(loss.loss_kind) for loss in result.losses)

    def reward_text(self) -> str:
        if not self._reward_count:
            return "none numeric"
        mean = self._reward_sum / self._reward_count
        return f"mean {mean:.3g}, min {self._reward_min:.3g}, max {self._reward_max:.3g}"


def _console() -> Console:
    return Console(stderr=True, highlight=False)


def _table(title: str) -> Table:
    table = Table(title=title, box=box.SIMPLE, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    return table


def print_conversion_summary(stats: RunStats, *, title: str) -> None:
    """Files, records, runs, failures, messages, tool calls and rewards."""
    table = _table(title)
    table.add_row("files", f"{stats.files:,}")
    table.add_row("records", f"{stats.records:,}")
    table.add_row("runs", f"{stats.runs:,}")
    table.add_row("failed", f"{stats.failed:,}")
    if stats.runs and stats.messages:
        table.add_row("messages", f"{stats.messages:,}")
        table.add_row("tool calls", f"{stats.tool_calls:,}")
        table.add_row("reward", stats.reward_text())
    _add_lenient_rows(table, stats)
    _console().print(table)


def _add_lenient_rows(table: Table, stats: RunStats) -> None:
    if stats.lenient_only:
        table.add_row("lenient only", f"{stats.lenient_only:,}")
        for kind, count in stats.losses.most_common():
            table.add_row(f"  {kind}", f"{count:,}")


def print_validation_summary(
    *, stats: RunStats, invalid: int, errors: int, kinds: Counter[str], strict: bool
) -> None:
    """Records, valid, invalid, errors, what converts only leniently, the most common errors."""
    table = _table("validate" if strict else "validate --lenient")
    table.add_row("files", f"{stats.files:,}")
    table.add_row("records", f"{stats.records:,}")
    table.add_row("valid", f"{stats.records - invalid:,}")
    table.add_row("invalid", f"{invalid:,}")
    table.add_row("errors", f"{errors:,}")
    if strict and stats.lenient_only:
        table.add_row("of which convert with --lenient", f"{stats.lenient_only:,}")
    elif not strict:
        _add_lenient_rows(table, stats)
    console = _console()
    console.print(table)
    if kinds:
        common = Table(title="most common errors", box=box.SIMPLE, title_justify="left")
        common.add_column("count", justify="right")
        common.add_column("error", overflow="fold")
        for kind, count in kinds.most_common(COMMON_ERRORS_SHOWN):
            common.add_row(f"{count:,}", kind)
        console.print(common)
