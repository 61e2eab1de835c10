"""Upload keys: what lets an upload land each run once across reruns and task retries.

A run's key is a digest of its name (its identity), the line it came from and the conversion
options that shaped it, kept in ``metadata["upload_key"]`` (with ``metadata["title"]``, what an
upload adds to what ``convert`` writes; beside the run's own fields, it sorts after the reward in
Docent's run list). Before sending, an uploader asks which keys the collection holds.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING, Any

import orjson

from nemogym_docent.options import ConversionOptions

if TYPE_CHECKING:
    from docent import Docent
    from docent.data_models.agent_run import AgentRun

_SCHEME = b"nemogym-docent upload key 2\n"
_KEY = re.compile(r"[0-9a-f]{64}\Z")
_KEY_PATH = "metadata_json->>'upload_key'"
KEYS_PER_QUERY = 200
ROWS_PER_PAGE = 1000


_DOCENT_LAYOUT = ConversionOptions()


def upload_key(
    line: bytes, conversion: ConversionOptions = _DOCENT_LAYOUT, *, name: str | None
) -> str:
    """The key of the run named ``name`` converted from one line of a rollout export with these
    options: two different runs never share one (the lenient mode may name identical lines of two
    files after their files), and the file's folder does not count.

    Surrounding whitespace and the line ending do not count; options at their defaults are left
    out of the digest, so that a new option does not change the keys of earlier uploads.
    """
    options: dict[str, Any] = {"name": name}
    if not conversion.strict:
        options["strict"] = False
    if conversion.detail != "docent":
        options["detail"] = conversion.detail
    return _digest(line, options)


def agent_run_upload_key(line: bytes) -> str:
    """The key of a run read from a line of AgentRun JSON (``upload --from-agent-runs``; the
    line holds the run's name)."""
    return _digest(line, {"input": "agent_run"})


def _digest(line: bytes, options: dict[str, Any]) -> str:
    digest = hashlib.sha256(_SCHEME)
    digest.update(orjson.dumps(options, option=orjson.OPT_SORT_KEYS))
    digest.update(b"\n")
    digest.update(line.strip())
    return digest.hexdigest()


def set_upload_key(run: AgentRun, key: str) -> None:
    """Put ``key`` in the run's ``metadata["upload_key"]``."""
    run.metadata["upload_key"] = key


def get_upload_key(run: AgentRun) -> str:
    """The key ``set_upload_key`` gave the run."""
    return str(run.metadata["upload_key"])


def held_upload_keys(client: Docent, collection_id: str, keys: Collection[str]) -> set[str]:
    """Which of ``keys`` the collection already holds, asked through Docent's DQL endpoint.

    The answer reflects every write Docent has finished processing (``ensure_latest_results``);
    results cut at the server's row limit are read page by page.
    """
    return set(held_runs(client, collection_id, keys))


def held_runs(client: Docent, collection_id: str, keys: Collection[str]) -> dict[str, str]:
    """Upload key -> run id of the collection's runs that hold one of ``keys`` (DQL)."""
    wanted = sorted(set(keys))
    for key in wanted:
        if not _KEY.match(key):
            raise ValueError(f"not an upload key: {key!r}")
    held: dict[str, str] = {}
    for start in range(0, len(wanted), KEYS_PER_QUERY):
        listed = ", ".join(f"'{key}'" for key in wanted[start : start + KEYS_PER_QUERY])
        for row in _pages(client, collection_id, f"{_KEY_PATH} IN ({listed})"):
            held[str(row["upload_key"])] = str(row["id"])
    return held


def held_run_ids(client: Docent, collection_id: str, run_ids: Collection[str]) -> set[str]:
    """Which of these run ids the collection holds, asked through Docent's DQL endpoint."""
    wanted = sorted(set(run_ids))
    held: set[str] = set()
    for start in range(0, len(wanted), KEYS_PER_QUERY):
        listed = ", ".join(_quoted(run_id) for run_id in wanted[start : start + KEYS_PER_QUERY])
        for row in _pages(client, collection_id, f"id IN ({listed})"):
            held.add(str(row["id"]))
    return held


def _pages(client: Docent, collection_id: str, condition: str) -> Iterator[dict[str, Any]]:
    """Every row of ``agent_runs`` meeting ``condition``, in pages ordered by run id."""
    after = ""
    while True:
        bound = f" AND id > {_quoted(after)}" if after else ""
        query = (
            f"SELECT id, {_KEY_PATH} AS upload_key FROM agent_runs"
            f" WHERE {condition}{bound} ORDER BY id LIMIT {ROWS_PER_PAGE}"
        )
        result = client.execute_dql(collection_id, query, ensure_latest_results=True)
        rows = client.dql_result_to_dicts(result)
        yield from rows
        if not rows or (len(rows) < ROWS_PER_PAGE and not result.get("truncated")):
            return
        after = str(rows[-1]["id"])


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
