"""``detail="full"``: what a run gains beyond Docent's converter, and what leaves its raw metadata.

Given the run as ``detail="docent"`` lays it out, full detail adds every per-rollout metric as a
score (``rollout_scores``), one transcript per judge exchange (``judge_transcripts``) and per
subagent invocation (``trajectory_transcripts``), and moves each of these out of
``metadata.source.rollout_non_trace.benchmark_fields``. The main transcript stays first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from docent.data_models.transcript import Transcript, TranscriptGroup

from nemogym_docent.cleaning import drop_empty_values
from nemogym_docent.conversation_transcript import created_at
from nemogym_docent.judge_transcripts import judge_transcripts
from nemogym_docent.losses import LossLog
from nemogym_docent.models import NemoGymRollout
from nemogym_docent.rollout_scores import rollout_scores
from nemogym_docent.trajectory_transcripts import TRAJECTORY, trajectory_transcripts


@dataclass
class FullDetail:
    """The run's transcripts (the main one first) and groups in full detail."""

    transcripts: list[Transcript]
    groups: list[TranscriptGroup]


def add_full_detail(
    rollout: NemoGymRollout,
    main: Transcript,
    metadata: dict[str, Any],
    losses: LossLog,
) -> FullDetail:
    """Update ``metadata`` (scores, benchmark fields) and ``main`` in place; list the rest."""
    fields = dict(rollout.model_extra or {})
    judges = judge_transcripts(fields, losses=losses)
    fields = judges.remaining_fields
    transcripts = [main]
    groups = list(judges.groups)
    if TRAJECTORY in fields:
        trajectory = trajectory_transcripts(fields[TRAJECTORY], main.messages, losses=losses)
        fields[TRAJECTORY] = trajectory.remaining_trajectory
        if trajectory.main_invocation is not None:
            main.metadata["invocation"] = drop_empty_values(trajectory.main_invocation)
        transcripts.extend(judges.transcripts)
        transcripts.extend(trajectory.transcripts)
        groups.extend(trajectory.groups)
    else:
        transcripts.extend(judges.transcripts)
    scores = rollout_scores(rollout.reward, fields)
    cleaned = drop_empty_values({"scores": scores.scores})
    metadata.pop("scores", None)
    metadata.update(cleaned)
    raw = metadata["source"]["rollout_non_trace"]
    benchmark_fields = drop_empty_values(
        {key: value for key, value in scores.remaining_fields.items() if value is not None}
    )
    raw.pop("benchmark_fields", None)
    if benchmark_fields:
        raw["benchmark_fields"] = benchmark_fields
    main.created_at = created_at(main)
    return FullDetail(transcripts, groups)
