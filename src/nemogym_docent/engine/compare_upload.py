"""The stage of ``compare --upload``: the lines of the flipped tasks of both runs, each run
marked with its side and its task's flip, grouped by task, keyed once per side."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from docent.data_models.agent_run import AgentRun

from nemogym_docent.analysis.compare import Comparison, TaskFlip
from nemogym_docent.analysis.metrics import agent_label
from nemogym_docent.analysis.task_groups import add_task_group
from nemogym_docent.engine.selection_stage import SelectionStage
from nemogym_docent.identity import task_key
from nemogym_docent.jsonl.chunks import Chunk
from nemogym_docent.jsonl.discovery import Source
from nemogym_docent.jsonl.parsing import parse_line
from nemogym_docent.upload.keys import get_upload_key, set_upload_key

Side = Literal["baseline", "candidate"]


def side_upload_key(key: str, side: Side) -> str:
    """A run's upload key on one side of a comparison: the same rollout line on both sides is
    two runs, and each lands once."""
    return hashlib.sha256(f"nemogym-docent compare 1\n{side}\n{key}".encode()).hexdigest()


def side_name(name: str | None, side: Side) -> str:
    """A run's name on one side of a comparison: the two sides of a task are told apart."""
    return f"{side}: {name}"


def compare_metadata(side: Side, flip: TaskFlip, join_key: str) -> dict[str, Any]:
    """``metadata.compare`` of a run of a flipped task (two levels down, where Docent's page
    offers its fields as filters and columns)."""
    return {
        "side": side,
        "task": flip.task,
        "join_key": join_key,
        "direction": flip.direction,
        "delta": flip.delta,
        "baseline_score": flip.baseline_score,
        "candidate_score": flip.candidate_score,
        "regressed": flip.regressed,
    }


@dataclass
class CompareStage(SelectionStage):
    """Keeps the lines of the tasks ``comparison`` found flipped; ``sides`` names the side of
    each source (by its name)."""

    comparison: Comparison | None = None
    sides: Mapping[str, Side] = field(default_factory=dict)
    _marks: dict[tuple[str, int], tuple[Side, str, TaskFlip]] = field(default_factory=dict)

    @property
    def reads_twice(self) -> bool:
        return False

    def apply(self, sources: list[Source], read: Callable[[], Iterable[Chunk]]) -> Iterator[Chunk]:
        assert self.comparison is not None
        flipped = self.comparison.flipped()
        join = self.comparison.join_key
        self.records_read = 0
        for chunk in read():
            kept = Chunk(chunk.source, [])
            side = self.sides.get(chunk.source.name)
            for number, raw in chunk.numbered():
                if not raw.strip():
                    continue
                self.records_read += 1
                try:
                    record = parse_line(raw)
                except (ValueError, RecursionError):
                    continue
                if side is None or not isinstance(record, dict):
                    continue
                agent = agent_label(record)
                flip = flipped.get((agent, task_key(record, join) or ""))
                if flip is not None:
                    self._marks[(chunk.source.name, number)] = (side, agent, flip)
                    kept.lines.append((number, raw))
                    kept.size += len(raw)
            yield kept

    def group_run(self, file: str, line: int, run: AgentRun) -> None:
        """Mark the run with its side (in its name too) and its task's flip, its task group, and
        its side's key."""
        mark = self._marks.pop((file, line), None)
        if mark is None:
            return
        side, agent, flip = mark
        assert self.comparison is not None
        run.metadata["compare"] = compare_metadata(side, flip, self.comparison.join_key)
        run.name = side_name(run.name, side)
        task = flip.task if flip.task.startswith(f"{agent}/") else f"{agent}/{flip.task}"
        add_task_group(run, task, None)
        set_upload_key(run, side_upload_key(get_upload_key(run), side))

    def example_task(self) -> str | None:
        return None
