"""``detail="full"``: what a run gains beyond Docent's converter, and what leaves its raw metadata.

Given the run as ``detail="docent"`` lays it out, full detail adds every per-rollout metric as a
score (``rollout_scores``), one transcript per judge exchange (``judge_transcripts``) and per
subagent invocation (``trajectory_transcripts``), and moves each of these out of
``metadata.source.rollout_non_trace.benchmark_fields``. The main transcript stays first.
"""

from __future__ import annotations

from typing import Any

from docent.data_models.transcript import Transcript, TranscriptGroup

from nemogym_docent.identity import read_identity
from nemogym_docent.mapping.cleaning import drop_empty_values
from nemogym_docent.mapping.context import MappingContext
from nemogym_docent.mapping.full.conversation import created_at
from nemogym_docent.mapping.full.judges import judge_transcripts
from nemogym_docent.mapping.full.nemogym_fields import finish_full_metadata, take_nemogym_fields
from nemogym_docent.mapping.full.trajectory import TRAJECTORY, trajectory_transcripts
from nemogym_docent.models import NemoGymRollout
from nemogym_docent.models.base import given


def add_full_detail(
    rollout: NemoGymRollout,
    main: Transcript,
    metadata: dict[str, Any],
    context: MappingContext,
) -> tuple[list[Transcript], list[TranscriptGroup]]:
    """The run's transcripts (``main`` first) and groups; ``metadata`` and ``main`` are updated
    in place (scores, what stays raw, the main invocation, the time of the response)."""
    judges = judge_transcripts(rollout.model_extra or {}, context=context)
    fields = judges.remaining_fields
    transcripts = [main, *judges.transcripts]
    groups = list(judges.groups)
    if TRAJECTORY in fields:
        trajectory = trajectory_transcripts(fields[TRAJECTORY], main.messages, context=context)
        fields[TRAJECTORY] = trajectory.remaining_trajectory
        if trajectory.main_invocation is not None:
            main.metadata["invocation"] = drop_empty_values(trajectory.main_invocation)
        transcripts.extend(trajectory.transcripts)
        groups.extend(trajectory.groups)
    main.created_at = created_at(main)

    nemogym = metadata.setdefault("nemogym", {})
    identity = read_identity(
        {
            **fields,
            "_ng_task_index": given(rollout.ng_task_index),
            "_ng_rollout_index": given(rollout.ng_rollout_index),
        }
    )
    nemogym.update(take_nemogym_fields(fields, identity))
    trajectory_fields = fields.get(TRAJECTORY)
    if isinstance(trajectory_fields, dict) and "gaps" in trajectory_fields:
        trajectory_fields = dict(trajectory_fields)
        nemogym["trajectory_gaps"] = trajectory_fields.pop("gaps")
        fields[TRAJECTORY] = trajectory_fields
    scores = finish_full_metadata(given(rollout.reward), fields, nemogym)
    metadata["nemogym"] = drop_empty_values(nemogym)
    benchmark_fields = drop_empty_values(
        {key: value for key, value in fields.items() if value is not None}
    )
    raw = metadata["source"].pop("rollout_non_trace", {})
    raw.pop("benchmark_fields", None)
    if benchmark_fields:
        raw["benchmark_fields"] = benchmark_fields
    if raw:
        metadata["source"]["rollout_non_trace"] = raw
    rest = {key: value for key, value in metadata.items() if key != "scores"}
    metadata.clear()
    metadata.update(drop_empty_values({"scores": scores}), **rest)
    return transcripts, groups
