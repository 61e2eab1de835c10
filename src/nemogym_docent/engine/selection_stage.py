"""The stage that applies the selection options to the chunks of input lines, before any
conversion, and marks the runs of each task for ``--group-by task``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from docent.data_models.agent_run import AgentRun

from nemogym_docent.analysis.selection import (
    Selection,
    TaskGroup,
    TaskRewards,
    collect_line_task_rewards,
    select_jsonl_lines,
)
from nemogym_docent.analysis.task_groups import add_task_group
from nemogym_docent.jsonl.chunks import CHUNK_BYTES, CHUNK_LINES, Chunk
from nemogym_docent.jsonl.discovery import InputError, Source
from nemogym_docent.jsonl.dumping import dump_agent_run
from nemogym_docent.jsonl.parsing import parse_line


@dataclass
class SelectionStage:
    """Keeps the selected lines of the input chunks and remembers the task of each line kept,
    for ``--group-by task``; lines stay in input order and in chunks of one source."""

    selection: Selection
    group_by_task: bool = False
    tasks: TaskRewards | None = None
    records_read: int = 0
    """Non-blank lines read (in the last pass)."""
    _keys: dict[tuple[str, int], str] = field(default_factory=dict)

    @property
    def reads_twice(self) -> bool:
        return self.selection.contrast or self.group_by_task

    def apply(self, sources: list[Source], read: Callable[[], Iterable[Chunk]]) -> Iterator[Chunk]:
        """The chunks ``read()`` gives, with only the selected lines; the inputs are read twice
        when the stage needs it (which standard input cannot be)."""
        if self.reads_twice:
            if any(source.path is None for source in sources):
                option = "--contrast" if self.selection.contrast else "--group-by task"
                raise InputError(
                    f"{option} reads the inputs twice, and standard input can be read once: "
                    "give files"
                )
            self.first_pass(read())
        return self.chunks(read())

    def first_pass(self, chunks: Iterable[Chunk]) -> None:
        """Learn each task's size and reward range (for ``--contrast`` and ``--group-by``)."""
        lines = (raw for chunk in chunks for _, raw in chunk.numbered())
        self.tasks = collect_line_task_rewards(lines, self.selection, raw_of=_itself)

    def chunks(self, chunks: Iterable[Chunk]) -> Iterator[Chunk]:
        """The chunks again, with only the selected lines (a source none of whose lines is kept
        comes as an empty chunk at the end, so that every source read is counted)."""
        unseen: dict[Source, None] = {}
        lines = self._lines(chunks, unseen)
        current: Chunk | None = None
        for (source, number, raw), key in select_jsonl_lines(
            lines, self.selection, raw_of=_raw, tasks=self.tasks
        ):
            unseen.pop(source, None)
            if key is not None and self.group_by_task:
                self._keys[(source.name, number)] = key
            if current is not None and (
                current.source is not source
                or len(current.lines) >= CHUNK_LINES
                or current.size >= CHUNK_BYTES
            ):
                yield current
                current = None
            if current is None:
                current = Chunk(source, [])
            current.lines.append((number, raw))
            current.size += len(raw)
        if current is not None:
            yield current
        for source in unseen:
            yield Chunk(source, [])

    def _lines(
        self, chunks: Iterable[Chunk], unseen: dict[Source, None]
    ) -> Iterator[tuple[Source, int, bytes]]:
        self.records_read = 0
        for chunk in chunks:
            unseen.setdefault(chunk.source, None)
            for number, raw in chunk.numbered():
                if raw.strip():
                    self.records_read += 1
                yield chunk.source, number, raw

    def group_run(self, file: str, line: int, run: AgentRun) -> None:
        """Give the run of ``file:line`` its task's key and group (``--group-by task``)."""
        key = self._keys.pop((file, line), None)
        if key is not None:
            add_task_group(run, key, self._group(key))

    def group_output(self, file: str, line: int, output: bytes) -> bytes:
        """The AgentRun JSON line of ``file:line`` with its task's key and group."""
        key = self._keys.pop((file, line), None)
        if key is None:
            return output
        run = AgentRun.model_validate(parse_line(output))
        add_task_group(run, key, self._group(key))
        return dump_agent_run(run, output)

    def example_task(self) -> str | None:
        """A task to show in Docent: the one whose rewards spread the most (``--group-by``)."""
        if not self.group_by_task or self.tasks is None:
            return None
        widest = self.tasks.widest()
        return None if widest is None else str(widest)

    def _group(self, key: str) -> TaskGroup | None:
        return None if self.tasks is None else self.tasks.group(key)


def _itself(raw: bytes) -> bytes:
    return raw


def _raw(line: tuple[Source, int, bytes]) -> bytes:
    return line[2]


def stage_for(selection: Selection, *, group_by_task: bool) -> SelectionStage | None:
    """The stage that applies ``selection`` (and groups runs of one task), or None when it selects
    nothing and groups nothing."""
    if not selection.selects and not group_by_task:
        return None
    return SelectionStage(selection, group_by_task=group_by_task)
