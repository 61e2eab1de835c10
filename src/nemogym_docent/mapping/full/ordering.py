"""Full detail: a run's transcripts and groups as Docent's server stores and orders them.

Docent's server refuses a transcript group that does not name its run (``agent_run_id``), and
stores times as naive UTC. Its page orders the transcripts and groups under each group (and at
the top of the run) by ``created_at``, and opens a run on the first transcript of that order;
what has no time gets the time of the upload, groups before transcripts.

So every transcript and group of a run with several gets a time, strictly increasing in the
run's own order: the main transcript first, then each group followed by what it holds, in the
order the transcripts were made (invocation or document order). The main transcript's time is
the earliest known in the run (its response's, unless another is earlier); each later one keeps
its own time when that comes after the one before, and otherwise gets that time + 1 ms (the
page compares times in milliseconds). A run that knows no time starts at the Unix epoch. The
times only order: each response's own time stays in ``metadata.source.response_created_at``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from docent.data_models.agent_run import AgentRun
from docent.data_models.transcript import Transcript, TranscriptGroup

STEP = timedelta(milliseconds=1)
EPOCH = datetime(1970, 1, 1)
"""The main transcript's time when the run knows none (naive UTC, as Docent stores times)."""


def stored_time(timestamp: Any) -> datetime | None:
    """A Unix time (a response's ``created_at``) as Docent stores it: naive UTC; None when it is
    not a finite number or out of range."""
    if type(timestamp) not in (int, float) or not math.isfinite(timestamp):
        return None
    try:
        return datetime.fromtimestamp(timestamp, UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return None


def order_for_docent(run: AgentRun) -> None:
    """Name the run in its groups and time its transcripts and groups (in place); the first
    transcript is the main one."""
    for group in run.transcript_groups:
        group.agent_run_id = run.id
    if len(run.transcripts) < 2:
        return
    order = _preorder(run.transcripts, run.transcript_groups)
    known = [node.created_at for node in order if node.created_at is not None]
    previous = min(known, default=EPOCH)
    order[0].created_at = previous
    for node in order[1:]:
        own = node.created_at
        previous = own if own is not None and own > previous else previous + STEP
        node.created_at = previous


def _preorder(
    transcripts: list[Transcript], groups: list[TranscriptGroup]
) -> list[Transcript | TranscriptGroup]:
    """The main transcript, then each group followed by what it holds; siblings in the order of
    the first transcript each holds (empty groups last, in list order)."""
    group_ids = {group.id for group in groups}
    children: dict[str | None, list[Transcript | TranscriptGroup]] = {}
    for group in groups:
        parent = group.parent_transcript_group_id
        children.setdefault(parent if parent in group_ids else None, []).append(group)
    for transcript in transcripts:
        parent = transcript.transcript_group_id
        children.setdefault(parent if parent in group_ids else None, []).append(transcript)
    position = {transcript.id: index for index, transcript in enumerate(transcripts)}
    first: dict[str, float] = {}

    def first_held(node: Transcript | TranscriptGroup, seen: frozenset[str]) -> float:
        if isinstance(node, Transcript):
            return position[node.id]
        if node.id not in first:
            below = [first_held(c, seen | {node.id}) for c in children.get(node.id, [])
                     if c.id not in seen]  # fmt: skip
            first[node.id] = min(below, default=math.inf)
        return first[node.id]

    order: list[Transcript | TranscriptGroup] = []
    visited: set[str] = set()

    def visit(parent: str | None) -> None:
        for node in sorted(children.get(parent, []), key=lambda n: first_held(n, frozenset())):
            if node.id in visited:
                continue
            visited.add(node.id)
            order.append(node)
            if isinstance(node, TranscriptGroup):
                visit(node.id)

    visit(None)
    return order
