"""Links into Docent: a saved filter per useful view of an upload, or the query to paste.

A view is a Docent filter on the runs' metadata (the filter payload Docent's API takes) and the
same selection as a DQL query. Where the server saves filters (the client's
``create_saved_filter``), each view becomes a URL; where it does not, the filter and the query
are printed, with the server's answer as the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import orjson
import requests

SAVED_FILTERS_MISSING: Final = (404, 405, 501)


@dataclass(frozen=True)
class View:
    """Runs worth opening together: a name, a Docent filter, and the same as DQL."""

    name: str
    filter: dict[str, Any]
    dql: str


def _metadata(path: list[str], op: str, value: Any) -> dict[str, Any]:
    """A filter on one metadata value, inside the ``complex`` filter Docent's views take."""
    primitive = {"type": "primitive", "key_path": ["metadata", *path], "op": op, "value": value}
    return {"type": "complex", "op": "and", "filters": [primitive]}


def _dql_path(path: list[str]) -> str:
    """``metadata_json->'a'->>'b'``: the text of a metadata value in DQL."""
    quoted = [f"'{key}'" for key in path]
    return "metadata_json" + "".join(f"->{key}" for key in quoted[:-1]) + f"->>{quoted[-1]}"


def _select(condition: str) -> str:
    reward = "metadata_json->'scores'->>'reward'"
    return f"SELECT id, name, {reward} AS reward FROM agent_runs WHERE {condition}"


COMPARE: Final = ["nemogym", "compare"]


def compare_views() -> list[View]:
    """``compare --upload``: the regressions, both sides of them, and the improvements."""
    direction = [*COMPARE, "direction"]
    regressed = [*COMPARE, "regressed"]
    return [
        View(
            "regressions (both sides of each task that got worse)",
            _metadata(regressed, "==", True),
            _select(f"({_dql_path(regressed)})::boolean"),
        ),
        View(
            "improvements (fail_to_pass)",
            _metadata(direction, "==", "fail_to_pass"),
            _select(f"{_dql_path(direction)} = 'fail_to_pass'"),
        ),
    ]


def upload_views(*, contrast: bool) -> list[View]:
    """``upload``: the runs below full reward, failed attempts, and with ``--contrast`` the task
    groups whose rollouts disagree."""
    reward = ["scores", "reward"]
    failure = ["nemogym", "failure", "class"]
    views = [
        View(
            "failures (reward below 1)",
            _metadata(reward, "<", 1),
            _select(f"({_dql_path(reward)})::float < 1"),
        ),
        View(
            "failed attempts",
            _metadata(failure, "~*", "."),
            _select(f"{_dql_path(failure)} IS NOT NULL"),
        ),
    ]
    if contrast:
        spread = ["nemogym", "task_group", "reward_spread"]
        views.append(
            View(
                "contrasting task groups (rollouts of a task disagree on reward)",
                _metadata(spread, ">", 0),
                _select(f"({_dql_path(spread)})::float > 0"),
            )
        )
    return views


SaveFilter = Callable[[dict[str, Any], str], str]
"""Saves a filter under a name and returns its URL (Docent's ``create_saved_filter``)."""


def link_lines(views: list[View], save: SaveFilter) -> list[str]:
    """A line per view: its URL; or, from the first view the server does not save, one line
    saying why and then each view's filter and DQL query to paste."""
    lines: list[str] = []
    for number, view in enumerate(views):
        try:
            lines.append(f"{view.name}: {save(view.filter, view.name)}")
        except Exception as exc:  # any failure: the views are printed instead
            lines.append(_why(exc))
            lines += [_pasted(v) for v in views[number:]]
            break
    return lines


def _why(exc: Exception) -> str:
    response = exc.response if isinstance(exc, requests.HTTPError) else None
    if response is not None and response.status_code in SAVED_FILTERS_MISSING:
        return (
            f"this Docent server saves no filters (HTTP {response.status_code} to "
            "create_saved_filter): paste a filter into the runs table, or a query into the DQL "
            "editor"
        )
    return f"saving a filter failed ({type(exc).__name__}: {exc}): paste these instead"


def _pasted(view: View) -> str:
    return f"{view.name}:\n  filter: {orjson.dumps(view.filter).decode()}\n  DQL:    {view.dql}"
