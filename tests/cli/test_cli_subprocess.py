"""The installed console script and ``python -m nemogym_docent``, run as real processes."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import (
    SCRIPT,
    output_lines,
    run_process,
    valid_rollouts,
    without_agent_ref,
    write_export,
)
from parity import EXAMPLES, comparable

import nemogym_docent
from nemogym_docent.validation.schemas import schema_path

COMMANDS = {"console script": [str(SCRIPT)], "python -m": [sys.executable, "-m", "nemogym_docent"]}


def run(
    command: list[str], *args: str, stdin: bytes | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    return run_process(*args, stdin=stdin, cwd=cwd, command=command)


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_convert_gzip_from_stdin(command: list[str]) -> None:
    result = run(command, "convert", "-", "-q", stdin=gzip.compress(EXAMPLES.read_bytes()))
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    expected = nemogym_docent.convert_nemogym_jsonl_file_to_agent_runs(EXAMPLES)
    assert output_lines(result.stdout) == [comparable(run) for run in expected]


def test_exit_codes_of_the_console_script(tmp_path: Path) -> None:
    command = COMMANDS["console script"]
    good = write_export(tmp_path / "good.jsonl", valid_rollouts(2))
    bad = write_export(tmp_path / "bad.jsonl", [without_agent_ref()])
    assert run(command, "validate", str(good)).returncode == 0
    invalid = run(command, "validate", str(bad))
    assert invalid.returncode == 1
    assert invalid.stdout == f"{bad}:1: agent_ref: is required\n".encode()
    missing = run(command, "validate", str(good), str(tmp_path / "missing.jsonl"))
    assert missing.returncode == 2
    assert (
        missing.stderr
        == f"error: {tmp_path / 'missing.jsonl'}: no such file or directory\n".encode()
    )


def test_workers_2_gives_the_bytes_of_workers_1(tmp_path: Path) -> None:
    records = [*valid_rollouts(40), without_agent_ref(), *valid_rollouts(40, agent="second")]
    export = write_export(tmp_path / "export.jsonl.gz", records)
    outputs = []
    for workers in ("1", "2"):
        result = run(
            COMMANDS["console script"],
            "convert",
            str(export),
            "--skip-invalid",
            "-q",
            "--workers",
            workers,
        )
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    assert len(output_lines(outputs[0])) == 80


def test_github_annotations_from_a_directory(tmp_path: Path) -> None:
    write_export(tmp_path / "exports" / "a.jsonl", [without_agent_ref()])
    write_export(tmp_path / "exports" / "a_materialized_inputs.jsonl", [{}])
    result = run(
        COMMANDS["console script"], "validate", "exports", "--format", "github", cwd=tmp_path
    )
    assert result.returncode == 1
    assert result.stdout == b"::error file=exports/a.jsonl,line=1,title=agent_ref::is required\n"
    assert b"skipped exports/a_materialized_inputs.jsonl" in result.stderr


def test_schema_command_prints_json() -> None:
    result = run(COMMANDS["python -m"], "schema", "strict-rollout")
    assert result.returncode == 0
    assert json.loads(result.stdout) == json.loads(schema_path("strict-rollout").read_text("utf-8"))


def _loaded(imports: str, *modules: str) -> list[str]:
    """Which of ``modules`` a fresh interpreter has loaded after ``import {imports}``."""
    probe = f"import sys, {imports}; print(' '.join(m for m in {modules!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return result.stdout.split()


def test_importing_the_package_loads_neither_the_cli_nor_the_docent_client() -> None:
    client = ("docent.sdk.client", "nemogym_docent.upload.client")
    assert _loaded("nemogym_docent, nemogym_docent.cli", *client) == []
    assert _loaded("nemogym_docent", "nemogym_docent.cli") == []


def test_the_console_script_reaches_its_ctrl_c_handler_before_any_heavy_import() -> None:
    # Until main() installs its handler, Ctrl-C prints Python's traceback: the package and the
    # CLI's entry module import nothing slow (typing alone takes milliseconds) before it.
    slow = ("typing", "dataclasses", "inspect", "nemogym_docent.errors")
    assert _loaded("nemogym_docent.cli", *slow) == []
