"""Links into Docent: a saved filter per useful view of an upload, or the condition to enter.

A view is one condition on the runs' metadata. Where the server saves filters (the client's
``create_saved_filter``), each view becomes a URL; where it does not, the condition is printed
as Docent's filter bar takes it (field, operator, value), with the server's answer as the reason.
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
    """Runs worth opening together: a name, and one condition on a metadata field as Docent's
    filter bar takes it (field, operator, value). The field sits at most two levels below
    ``metadata``: the page offers no deeper field."""

    name: str
    path: tuple[str, ...]
    op: str
    value: Any

    @property
    def filter(self) -> dict[str, Any]:
        """The filter Docent's API takes (a ``complex`` filter of one condition)."""
        primitive = {
            "type": "primitive",
            "key_path": ["metadata", *self.path],
            "op": self.op,
            "value": self.value,
        }
        return {"type": "complex", "op": "and", "filters": [primitive]}

    @property
    def condition(self) -> str:
        """The field, the operator and the value, as the filter bar shows them."""
        value = orjson.dumps(self.value).decode() if isinstance(self.value, bool) else self.value
        return f"{'.'.join(('metadata', *self.path))} {self.op} {value}"


def compare_views() -> list[View]:
    """``compare --upload``: the regressions, both sides of them, and the improvements (the
    tasks whose reward went up, on binary and continuous rewards alike)."""
    return [
        View(
            "regressions (both sides of each task that got worse)",
            ("compare", "regressed"),
            "==",
            True,
        ),
        View(
            "improvements (both sides of each task whose reward went up)",
            ("compare", "delta"),
            ">",
            0,
        ),
    ]


def upload_views(*, contrast: bool) -> list[View]:
    """``upload``: the runs below full reward, failed attempts, and with ``--contrast`` the task
    groups whose rollouts disagree."""
    views = [
        View("failures (reward below 1)", ("scores", "reward"), "<", 1),
        View("failed attempts", ("failure", "class"), "~*", "."),
    ]
    if contrast:
        views.append(
            View(
                "contrasting task groups (rollouts of a task disagree on reward)",
                ("task_group", "reward_spread"),
                ">",
                0,
            )
        )
    return views


def task_view(key: str) -> View:
    """The runs of one task (``--group-by task``)."""
    return View("the runs of one task", ("nemogym", "task_key"), "==", key)


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
            "create_saved_filter): enter a view in the run list's filter bar (field, operator, "
            "value)"
        )
    return f"saving a filter failed ({type(exc).__name__}: {exc}): enter these in the filter bar"


def _pasted(view: View) -> str:
    return f"{view.name}: {view.condition}"
