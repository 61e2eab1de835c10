"""Task groups in Docent: runs of the same task share metadata to filter and group on.

``metadata["nemogym"]["task_key"]`` names the task (``identity.Task.key``: the agent and NeMo
Gym's task id), and ``metadata["task_group"]`` holds what all its runs share: how many there are
and their reward range (two levels down, where Docent's page offers fields as filters). Sizes and
ranges need a first pass over the input (``selection.collect_task_rewards``).
"""

from __future__ import annotations

from typing import Any

from docent.data_models.agent_run import AgentRun

from nemogym_docent.analysis.selection import TaskGroup


def task_group_metadata(group: TaskGroup) -> dict[str, Any]:
    """``size``, and when the task's rollouts have numeric rewards, ``reward_min``,
    ``reward_max`` and ``reward_spread`` (max - min; 0 when they all agree)."""
    metadata: dict[str, Any] = {"size": group.size}
    if group.reward_min is not None and group.reward_max is not None:
        metadata["reward_min"] = group.reward_min
        metadata["reward_max"] = group.reward_max
        metadata["reward_spread"] = group.reward_max - group.reward_min
    return metadata


def add_task_group(run: AgentRun, key: str, group: TaskGroup | None) -> None:
    """Mark a run with its task's key and, when known, its group (in place)."""
    run.metadata.setdefault("nemogym", {})["task_key"] = key
    if group is not None:
        run.metadata["task_group"] = task_group_metadata(group)
