"""A progress line on stderr (records, records/s, MB/s) while a command reads its input."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text


class _RatesColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        records = int(task.fields.get("records", 0))
        megabytes = task.completed / 1e6
        elapsed = task.elapsed or 0.0
        if elapsed <= 0:
            return Text(f"{records:,} records  {megabytes:,.1f} MB")
        return Text(
            f"{records:,} records  {megabytes:,.1f} MB  "
            f"{records / elapsed:,.0f} records/s  {megabytes / elapsed:,.1f} MB/s"
        )


class InputProgress:
    """Counts bytes and records; drawn only when ``enabled`` (stderr is a terminal, not --quiet)."""

    def __init__(self, description: str, *, enabled: bool) -> None:
        self.bytes_read = 0
        self.records = 0
        self._progress: Progress | None = None
        self._started = False
        if enabled:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                _RatesColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._task = self._progress.add_task(description, total=None, records=0)

    def count_bytes(self, size: int) -> None:
        """Called for every line read (uncompressed size)."""
        self.bytes_read += size

    def add_records(self, count: int) -> None:
        """Called after each chunk of lines is processed; the display starts at the first call,
        so that worker processes are forked before its refresh thread exists."""
        self.records += count
        if self._progress is not None:
            if not self._started:
                self._progress.start()
                self._started = True
            self._progress.update(self._task, completed=self.bytes_read, records=self.records)

    def __enter__(self) -> InputProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
