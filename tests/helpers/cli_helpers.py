"""Shared helpers for the command-line tests: writing exports and running the command, in this
process or as a real one. Both runners check that no Python traceback reaches the user."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from builders import call_output, rollout
from typer.testing import CliRunner, Result

from nemogym_docent.cli import app
from nemogym_docent.convert import convert_rollout
from nemogym_docent.options import ConversionOptions, RecordOrigin
from nemogym_docent.upload.keys import upload_key

SCRIPT = Path(sys.executable).with_name("nemogym-docent")


def assert_no_traceback(stderr: str | bytes) -> None:
    """No Python traceback may ever reach a user of the command line."""
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
    assert "Traceback" not in text, text


def run_cli(args: Sequence[str], stdin: bytes | None = None) -> Result:
    """Invoke the app in this process, stdout and stderr kept apart."""
    result = CliRunner().invoke(app, list(args), input=stdin, catch_exceptions=False)
    assert_no_traceback(result.stderr)
    return result


def run_process(
    *args: str,
    stdin: bytes | None = None,
    cwd: Path | None = None,
    command: Sequence[str] = (str(SCRIPT),),
) -> subprocess.CompletedProcess[bytes]:
    """Run the installed ``nemogym-docent`` as a process of its own."""
    result = subprocess.run(
        [*command, *args], input=stdin, capture_output=True, timeout=120, check=False, cwd=cwd
    )
    assert_no_traceback(result.stderr)
    return result


def jsonl(records: Sequence[Any]) -> bytes:
    """Records as JSONL bytes (strings are written as they are, for broken lines)."""
    return b"".join(
        (record.encode() if isinstance(record, str) else json.dumps(record).encode()) + b"\n"
        for record in records
    )


def write_export(path: Path, records: Sequence[Any]) -> Path:
    """Write records as JSONL, gzip-compressed when the name ends in ``.gz``."""
    data = jsonl(records)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def valid_rollouts(count: int, *, agent: str = "agent") -> list[dict[str, Any]]:
    """Distinct valid rollouts: one task each, rewards alternating 1.0 and 0.0."""
    return [
        rollout(
            agent_ref={"name": agent},
            _ng_task_index=index,
            reward=float(index % 2 == 0),
        )
        for index in range(count)
    ]


def without_agent_ref() -> dict[str, Any]:
    """Invalid by the schema: ``agent_ref`` is required."""
    record = rollout()
    del record["agent_ref"]
    return record


def orphan_output() -> dict[str, Any]:
    """Schema-valid but refused by the converter: the output answers no call."""
    return rollout(output=[call_output("call_missing")])


def output_lines(data: bytes) -> list[dict[str, Any]]:
    """The AgentRun JSON lines a convert run wrote."""
    return [orjson.loads(line) for line in data.splitlines()]


_SUMMARY_ROW = re.compile(r"^\s+(\S.*?)\s{2,}(\S.*?)\s*$")


def summary_rows(stderr: str) -> dict[str, str]:
    """The name/value rows of the summary tables printed on stderr."""
    return {
        match.group(1): match.group(2)
        for match in map(_SUMMARY_ROW.match, stderr.splitlines())
        if match is not None
    }


def run_key(
    line: bytes, options: ConversionOptions | None = None, origin: RecordOrigin | None = None
) -> str:
    """The upload key of the run ``upload`` makes of a rollout line (at ``origin``)."""
    options = options or ConversionOptions()
    run = convert_rollout(json.loads(line), options, origin or RecordOrigin())
    return upload_key(line, options, name=run.name)
