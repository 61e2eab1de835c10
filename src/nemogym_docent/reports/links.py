"""Where the runs behind a report are in Docent, or the command that would put them there."""

from __future__ import annotations

import shlex
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RunLinks:
    """Links to runs in Docent's page (``/dashboard/{collection}/agent_run/{run}``), by task and
    rollout, when the runs were uploaded; otherwise none, and the ``upload`` command to run."""

    inputs: list[str]
    by_task: dict[Hashable, list[str | None]] = field(default_factory=dict)
    by_joined_task: dict[tuple[str, str], str] = field(default_factory=dict)

    @classmethod
    def none(cls, inputs: Sequence[str]) -> RunLinks:
        return cls(list(inputs))

    @property
    def known(self) -> bool:
        return bool(self.by_task or self.by_joined_task)

    @property
    def upload_command(self) -> str:
        """The command that uploads the inputs, after which a report can link to the runs."""
        files = " ".join(shlex.quote(path) for path in self.inputs)
        return f"nemogym-docent upload {files} --collection-name NAME"

    def for_tasks(
        self, rewards: Mapping[Hashable, Sequence[float | None]]
    ) -> dict[Hashable, list[str | None]]:
        return {task: self.by_task[task] for task in rewards if task in self.by_task}

    def for_joined_task(self, agent: str, task: str) -> str | None:
        return self.by_joined_task.get((agent, task))


def run_url(frontend: str, collection: str, run_id: str) -> str:
    """A run's page in Docent."""
    return f"{frontend.rstrip('/')}/dashboard/{collection}/agent_run/{run_id}"
