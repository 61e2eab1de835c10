"""The real Docent server that ``scripts/test-server.sh`` started: its API, its processes."""

from __future__ import annotations

import os
import signal
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

STATE_VARIABLE = "DOCENT_SERVER_STATE"
SCRIPTS_VARIABLE = "DOCENT_SERVER_DIR"
SERVING = ("shim",)
"""The process that answers the client (the shim runs the app itself, in-process)."""


def read_env(state: Path) -> dict[str, str]:
    lines = (state / "docent.env").read_text().splitlines()
    return {line.split("=", 1)[0]: line.split("=", 1)[1] for line in lines}


@dataclass
class RealDocent:
    state: Path
    scripts: Path

    @property
    def env(self) -> dict[str, str]:
        """DOCENT_API_KEY, DOCENT_API_URL and DOCENT_FRONTEND_URL of the latest start."""
        return read_env(self.state)

    @property
    def api(self) -> str:
        return self.env["DOCENT_API_URL"] + "/rest"

    def call(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {self.env['DOCENT_API_KEY']}"}
        answer = requests.request(method, f"{self.api}/{path}", json=body, headers=headers,
                                  timeout=120)  # fmt: skip
        answer.raise_for_status()
        return answer.json()

    def create_collection(self, name: str) -> str:
        return str(self.call("POST", "create", {"name": name})["collection_id"])

    def collections_named(self, name: str) -> list[str]:
        return [c["id"] for c in self.call("GET", "collections") if c["name"] == name]

    def run_ids(self, collection_id: str) -> list[str]:
        return list(self.call("GET", f"{collection_id}/agent_run_ids"))

    def upload_keys(self, collection_id: str) -> Counter[str]:
        """How often each upload key is stored in the collection."""
        ids = self.run_ids(collection_id)
        keys: Counter[str] = Counter()
        for start in range(0, len(ids), 500):
            answer = self.call(
                "POST",
                f"{collection_id}/agent_run_metadata",
                {"agent_run_ids": ids[start : start + 500]},
            )
            for entry in answer.values():
                keys[entry["metadata"]["upload_key"]] += 1
        return keys

    def runs(self, collection_id: str) -> list[dict[str, Any]]:
        return [
            self.call("GET", f"{collection_id}/agent_run?agent_run_id={run_id}")
            for run_id in self.run_ids(collection_id)
        ]

    def kill(self, *names: str) -> None:
        """SIGKILL the processes by the PIDs the start script recorded."""
        for name in names:
            pid = int((self.state / "run" / f"{name}.pid").read_text())
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue

    def start(self) -> None:
        """Start what is not running (after ``kill``)."""
        subprocess.run(
            [str(self.scripts / "start.sh"), str(self.state)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "DOCENT_START_APT": "0"},
        )
