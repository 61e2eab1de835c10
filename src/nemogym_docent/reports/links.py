"""Where the runs behind a report are in Docent, or the command that would put them there."""

from __future__ import annotations

import os
import shlex
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field

from nemogym_docent.analysis.compare import Comparison


@dataclass(frozen=True)
class RunLinks:
    """Links to runs in Docent's page (``/dashboard/{collection}/agent_run/{run}``), by task and
    rollout, when the runs were uploaded; otherwise none, and the ``upload`` command to run."""

    inputs: list[str]
    by_task: dict[Hashable, list[str | None]] = field(default_factory=dict)
    by_flip: dict[tuple[str, str], tuple[str | None, str | None]] = field(default_factory=dict)
    """(agent, task) of a flip → its baseline and candidate run."""

    @classmethod
    def none(cls, inputs: Sequence[str]) -> RunLinks:
        return cls(list(inputs))

    @property
    def known(self) -> bool:
        return bool(self.by_task or self.by_flip)

    @property
    def upload_command(self) -> str:
        """The command that uploads the inputs, after which a report can link to the runs."""
        files = " ".join(shlex.quote(path) for path in self.inputs)
        return f"nemogym-docent upload {files} --collection-name NAME"

    def for_tasks(
        self, rewards: Mapping[Hashable, Sequence[float | None]]
    ) -> dict[Hashable, list[str | None]]:
        return {task: self.by_task[task] for task in rewards if task in self.by_task}

    def for_flip(self, agent: str, task: str) -> tuple[str | None, str | None]:
        return self.by_flip.get((agent, task), (None, None))


def frontend_url() -> str:
    """Docent's web page: ``$DOCENT_FRONTEND_URL``, else ``https://$DOCENT_DOMAIN`` (Docent's
    client reads the same variables; its default domain is ``docent.transluce.org``)."""
    given = os.environ.get("DOCENT_FRONTEND_URL")
    if given:
        return given.rstrip("/")
    return f"https://{os.environ.get('DOCENT_DOMAIN') or 'docent.transluce.org'}"


def task_links(
    inputs: Sequence[str],
    collection: str,
    origins: Mapping[Hashable, Sequence[str | None]],
    runs: Mapping[str, str],
) -> RunLinks:
    """Links for each task's rollouts whose lines (``origins``) have a run in ``collection``
    (``runs``: line → run id, from the upload ledger or the server)."""
    base = frontend_url()
    by_task = {
        task: [
            run_url(base, collection, runs[origin])
            if origin is not None and origin in runs
            else None
            for origin in task_origins
        ]
        for task, task_origins in origins.items()
    }
    return RunLinks(list(inputs), {task: urls for task, urls in by_task.items() if any(urls)})


def comparison_links(
    sides: Sequence[str], collection: str, comparison: Comparison, runs: Mapping[str, str]
) -> RunLinks:
    """Links for both sides of every flip: each side's first rollout of the task that has a run
    in ``collection`` (``runs``: line → run id)."""
    base = frontend_url()

    def first(origins: Sequence[str]) -> str | None:
        found = next((runs[origin] for origin in origins if origin in runs), None)
        return None if found is None else run_url(base, collection, found)

    by_flip = {}
    for agent in comparison.agents:
        for task, (before, after) in agent.flip_origins.items():
            pair = (first(before), first(after))
            if any(pair):
                by_flip[(agent.agent, task)] = pair
    return RunLinks(list(sides), by_flip=by_flip)


def run_url(frontend: str, collection: str, run_id: str) -> str:
    """A run's page in Docent."""
    return f"{frontend.rstrip('/')}/dashboard/{collection}/agent_run/{run_id}"
