"""Task groups: the metadata runs of one task share, and the view that finds them."""

from __future__ import annotations

from builders import rollout

from nemogym_docent import convert_nemogym_rollout_to_agent_run
from nemogym_docent.analysis.selection import Selection, collect_task_rewards
from nemogym_docent.analysis.task_groups import add_task_group
from nemogym_docent.identity import task_key
from nemogym_docent.upload.links import task_view


def test_runs_of_a_task_share_its_key_size_and_reward_spread() -> None:
    rollouts = [
        rollout(reward=reward, _ng_task_index=task, _ng_rollout_index=index)
        for task, rewards in enumerate([[0.0, 1.0, 0.5], [1.0], [None, None]])
        for index, reward in enumerate(rewards)
    ]
    tasks = collect_task_rewards(rollouts, Selection())
    groups = {}
    for record in rollouts:
        run = convert_nemogym_rollout_to_agent_run(record)
        key = task_key(record)
        assert key is not None
        add_task_group(run, key, tasks.group(key))
        nemogym = run.metadata["nemogym"]
        assert nemogym["task_index"] == record["_ng_task_index"]  # what was there stays
        groups.setdefault(nemogym["task_key"], []).append(run.metadata["task_group"])
    assert groups == {
        "agent/task/0": [{"size": 3, "reward_min": 0.0, "reward_max": 1.0, "reward_spread": 1.0}]
        * 3,
        "agent/task/1": [{"size": 1, "reward_min": 1.0, "reward_max": 1.0, "reward_spread": 0.0}],
        "agent/task/2": [{"size": 2}] * 2,
    }


def test_the_task_view_is_a_condition_for_the_filter_bar() -> None:
    view = task_view("a'b/task/1")
    assert view.condition == "metadata.nemogym.task_key == a'b/task/1"
    assert view.filter["filters"][0]["key_path"] == ["metadata", "nemogym", "task_key"]
