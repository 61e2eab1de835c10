"""What a Docent server can tell an uploader about a collection, found by asking it.

Servers differ: the hosted one answers DQL and processes uploads as jobs; the open-source one has
neither, but lists a collection's run ids and reads runs' metadata by id. An uploader uses the
strongest evidence the server offers and says what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


class Http(Protocol):
    """A GET and a POST of JSON relative to the server's API URL; each gives the status code and
    the decoded answer (``None`` when it is not JSON)."""

    def get(self, path: str) -> tuple[int, Any]: ...

    def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]: ...


@dataclass(frozen=True)
class Capabilities:
    """Which of the read endpoints an uploader can use answer for a collection."""

    dql: bool
    """``POST /dql/{collection}/execute``: runs found by upload key and by id."""
    run_ids: bool
    """``GET /{collection}/agent_run_ids``: every run id the collection holds."""
    run_metadata: bool
    """``POST /{collection}/agent_run_metadata``: runs' metadata (so their upload keys) by id."""

    @property
    def finds_ids(self) -> bool:
        """Whether the server can say which run ids it holds."""
        return self.dql or self.run_ids

    @property
    def finds_keys(self) -> bool:
        """Whether the server can say which upload keys it holds."""
        return self.dql or (self.run_ids and self.run_metadata)


def detect(http: Http, collection_id: str) -> Capabilities:
    """Ask the server, for an existing collection, which read endpoints it answers."""
    status, _ = http.post(
        f"dql/{collection_id}/execute",
        {
            "dql": "SELECT id FROM agent_runs WHERE id > '' ORDER BY id LIMIT 1",
            "source": "endpoint",
            "surface": "sdk",
            "ensure_latest_results": True,
        },
    )
    dql = status == 200
    status, answer = http.get(f"{collection_id}/agent_run_ids")
    run_ids = status == 200 and isinstance(answer, list)
    status, answer = http.post(f"{collection_id}/agent_run_metadata", {"agent_run_ids": []})
    run_metadata = status == 200 and isinstance(answer, dict)
    return Capabilities(dql=dql, run_ids=run_ids, run_metadata=run_metadata)
