"""Links into Docent: a saved filter's URL per view, or the filter and the query to paste."""

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
        "improvements (fail_to_pass): http://docent/filter/2",
    ]
    assert saved[0][0] == {
        "type": "complex",
        "op": "and",
        "filters": [
            {
                "type": "primitive",
                "key_path": ["metadata", "nemogym", "compare", "regressed"],
                "op": "==",
                "value": True,
            }
        ],
    }


def test_a_failing_save_prints_what_to_paste() -> None:
    def refuse(_filter: dict[str, Any], _name: str) -> str:
        raise requests.ConnectionError("down")

    lines = link_lines(upload_views(contrast=True), refuse)
    assert lines[0] == "saving a filter failed (ConnectionError: down): paste these instead"
    assert [line.split(":")[0] for line in lines[1:]] == [
        "failures (reward below 1)",
        "failed attempts",
        "contrasting task groups (rollouts of a task disagree on reward)",
    ]
    assert "DQL:    SELECT id, name, metadata_json->'scores'->>'reward' AS reward" in lines[1]
    assert len(upload_views(contrast=False)) == 2
