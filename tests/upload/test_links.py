"""Links into Docent: a saved filter's URL per view, or the condition to enter in the filter bar."""

from __future__ import annotations

from typing import Any

import requests

from nemogym_docent.upload.links import compare_views, link_lines, upload_views


def test_each_view_becomes_its_saved_filters_url() -> None:
    saved: list[tuple[dict[str, Any], str]] = []

    def save(run_filter: dict[str, Any], name: str) -> str:
        saved.append((run_filter, name))
        return f"http://docent/filter/{len(saved)}"

    lines = link_lines(compare_views(), save)
    assert lines == [
        "regressions (both sides of each task that got worse): http://docent/filter/1",
        "improvements (both sides of each task whose reward went up): http://docent/filter/2",
    ]
    assert saved[0][0] == {
        "type": "complex",
        "op": "and",
        "filters": [
            {
                "type": "primitive",
                "key_path": ["metadata", "compare", "regressed"],
                "op": "==",
                "value": True,
            }
        ],
    }


def test_a_failing_save_prints_what_to_enter() -> None:
    def refuse(_filter: dict[str, Any], _name: str) -> str:
        raise requests.ConnectionError("down")

    lines = link_lines(upload_views(contrast=True), refuse)
    assert lines[0] == (
        "saving a filter failed (ConnectionError: down): enter these in the filter bar"
    )
    assert lines[1:] == [
        "failures (reward below 1): metadata.scores.reward < 1",
        "failed attempts: metadata.failure.class ~* .",
        "contrasting task groups (rollouts of a task disagree on reward): "
        "metadata.task_group.reward_spread > 0",
    ]
    assert len(upload_views(contrast=False)) == 2
