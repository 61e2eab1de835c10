"""A run as an upload sends it, and Docent's limit on the size of one request."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable

import orjson
from docent.data_models.agent_run import AgentRun
from pydantic_core import to_jsonable_python

MAX_REQUEST_BYTES = 100 * 1024 * 1024
"""Docent's limit on one request's uncompressed JSON (the SDK's ``MAX_AGENT_RUN_PAYLOAD_BYTES``)."""
_ENVELOPE = (b'{"agent_runs":[', b"]}")
ENVELOPE_BYTES = sum(map(len, _ENVELOPE))
_GZIP_LEVEL = 6
TITLE = "title"


def run_payload(run: AgentRun) -> bytes:
    """The run's JSON as an upload sends it (with its ids), compact.

    Its groups name the run: Docent's server refuses a group without ``agent_run_id`` (which a
    clone leaves out). ``metadata.title`` is the run's name: Docent's page shows the name
    nowhere, and shows the run's metadata in the order its database keeps the keys (shorter
    first), so the title comes first on the run's page, before the scores.
    """
    data = to_jsonable_python(run)
    for group in data["transcript_groups"]:
        group["agent_run_id"] = data["id"]
    data["metadata"] = {TITLE: data["name"], **data["metadata"]}
    try:
        return orjson.dumps(data)
    except orjson.JSONEncodeError:  # integers past 64 bits, NaN, lone surrogates
        return json.dumps(data, separators=(",", ":")).encode()


def oversize_message(size: int) -> str | None:
    """Why a run of ``size`` bytes of JSON cannot be sent, or None when it can."""
    if ENVELOPE_BYTES + size <= MAX_REQUEST_BYTES:
        return None
    return (
        f"the run is {_size(size)} of JSON, over Docent's limit of {_size(MAX_REQUEST_BYTES)} "
        "for one request: Docent refuses it"
    )


def _size(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB" if size >= 2**20 else f"{size:,} bytes"


def may_be_oversize(line_size: int) -> bool:
    """Whether the run of a line of ``line_size`` bytes may be over the limit (a quarter of it
    or more: a run is not four times its line)."""
    return line_size >= MAX_REQUEST_BYTES // 4


def request_body(payloads: Iterable[bytes]) -> bytes:
    """The gzipped JSON of ``POST /{collection}/agent_runs`` for these runs."""
    body = _ENVELOPE[0] + b",".join(payloads) + _ENVELOPE[1]
    return gzip.compress(body, compresslevel=_GZIP_LEVEL)
