"""How the command line cuts its input into chunks for worker processes and puts their results
back together: the same lines, numbers, output and counts however the input is cut, with one
worker or two."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from cli_helpers import (
    SCRIPT,
    assert_no_traceback,
    jsonl,
    run_cli,
    summary_rows,
    valid_rollouts,
    without_agent_ref,
)

from nemogym_docent.cli.reporting import RunStats
from nemogym_docent.engine import pool
from nemogym_docent.jsonl import chunks
from nemogym_docent.jsonl.discovery import Source, read_blocks

CUTS = [(1, 1), (7, 2), (300, 3), (chunks.CHUNK_BYTES, chunks.CHUNK_LINES)]
"""(CHUNK_BYTES, CHUNK_LINES): reads of one byte put a cut between every ``\\r`` and ``\\n``."""


def _mixed_line_ends(tmp_path: Path) -> Path:
    """Records ended by ``\\r\\n``, ``\\r`` and ``\\n``, blank lines, invalid records, and a
    truncated last line."""
    good = [line.rstrip(b"\n") for line in jsonl(valid_rollouts(6)).splitlines(keepends=True)]
    bad = json.dumps(without_agent_ref()).encode()
    data = b"".join(
        [
            good[0] + b"\r\n",
            bad + b"\r\n",
            b"\r\n",
            good[1] + b"\r",
            good[2] + b"\r\r\n",
            bad + b"\r",
            b"  \n",
            good[3] + b"\n",
            b"[1, 2]\r\n",
            good[4] + b"\r\n",
            good[5][:40],
        ]
    )
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(data)
    return path


def _text_mode_lines(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline=None) as text:
        return [line.rstrip("\n") for line in text]


@pytest.mark.parametrize("command", ["convert", "validate"])
def test_lines_are_numbered_as_text_mode_numbers_them_however_the_input_is_cut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    path = _mixed_line_ends(tmp_path)
    lines = _text_mode_lines(path)
    bad = json.dumps(without_agent_ref())
    assert [number for number, line in enumerate(lines, 1) if line == bad] == [2, 7]
    assert (len(lines), lines[9], lines[11]) == (12, "[1, 2]", lines[-1])
    expected = [2, 7, 10, 12]  # without agent_ref twice, the array, the truncated line
    seen = []
    for chunk_bytes, chunk_lines in CUTS:
        monkeypatch.setattr(chunks, "CHUNK_BYTES", chunk_bytes)
        monkeypatch.setattr(chunks, "CHUNK_LINES", chunk_lines)
        for workers in ("1", "2"):
            errors = tmp_path / "errors.jsonl"
            args = ["--skip-invalid", "--errors", str(errors), "-o", str(tmp_path / "out.jsonl")]
            if command == "validate":
                args = ["--format", "json"]
            result = run_cli([command, str(path), "--workers", workers, *args])
            report = errors.read_text() if command == "convert" else result.stdout
            failed = sorted({json.loads(line)["line"] for line in report.splitlines()})
            assert failed == expected, (chunk_bytes, chunk_lines, workers)
            output = (tmp_path / "out.jsonl").read_bytes() if command == "convert" else b""
            seen.append((result.exit_code, report, result.stderr, output))
    assert all(one == seen[0] for one in seen)
    if command == "validate":  # convert --errors gives no hints
        assert "the last line looks truncated" in seen[0][2]


def test_a_record_longer_than_a_chunk_is_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "export.jsonl"
    path.write_bytes(jsonl(valid_rollouts(5)))
    monkeypatch.setattr(chunks, "CHUNK_BYTES", 16)
    outputs = {run_cli(["convert", str(path), "--workers", w]).stdout for w in ("1", "2")}
    (output,) = outputs
    assert len(output.splitlines()) == 5


@pytest.mark.parametrize("first", ["invalid", "valid"])
def test_an_unreadable_input_stops_after_the_records_before_it_with_any_workers(
    tmp_path: Path, first: str
) -> None:
    records = [*valid_rollouts(3), without_agent_ref()] if first == "invalid" else valid_rollouts(3)
    before = tmp_path / "a.jsonl"
    before.write_bytes(jsonl(records))
    pretty = tmp_path / "b.jsonl"
    pretty.write_text('[\n  {"a": 1}\n]\n')
    results = [
        run_cli(["convert", str(before), str(pretty), "--workers", w, "-o", os.devnull])
        for w in ("1", "2")
    ]
    assert results[0].exit_code == results[1].exit_code == (1 if first == "invalid" else 2)
    assert results[0].stderr == results[1].stderr
    reported = "a.jsonl:4: agent_ref" if first == "invalid" else "b.jsonl: this is JSON"
    assert reported in results[0].stderr


def test_two_workers_write_the_same_output_to_a_file_a_pipe_and_leave_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    export = tmp_path / "export.jsonl"
    export.write_bytes(jsonl([*valid_rollouts(300), without_agent_ref(), *valid_rollouts(50)]))
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    monkeypatch.setattr(chunks, "CHUNK_LINES", 40)
    monkeypatch.setattr(pool, "SHARD_BYTES", 1)  # every block of output through a file
    common = ["convert", str(export), "--skip-invalid"]
    one = run_cli([*common, "-o", str(tmp_path / "one.jsonl")])
    two = run_cli([*common, "--workers", "2", "-o", str(tmp_path / "two.jsonl")])
    stdout = run_cli([*common, "--workers", "2"])
    piped = subprocess.run(
        [str(SCRIPT), *common, "--workers", "2", "-q"],
        capture_output=True,
        env={**os.environ, "TMPDIR": str(temporary)},
        check=False,
        timeout=120,
    )
    assert_no_traceback(piped.stderr)
    assert one.stderr.replace("one.jsonl", "two.jsonl") == two.stderr
    assert summary_rows(two.stderr)["runs"] == "350"
    expected = (tmp_path / "one.jsonl").read_bytes()
    assert len(expected.splitlines()) == 350
    assert (tmp_path / "two.jsonl").read_bytes() == expected
    assert stdout.stdout_bytes == piped.stdout == expected
    assert list(temporary.iterdir()) == []


@pytest.mark.parametrize(
    "rewards",
    [[1.0, 1e16, -1e16, 0.5, 0.1, 0.2], [0.5, float("nan"), 0.25, -1.0, 2.0, 0.0]],
    ids=["order-sensitive sum", "nan"],
)
def test_counting_runs_together_sums_rewards_as_one_by_one(rewards: list[float]) -> None:
    one_by_one, together = RunStats(), RunStats()
    for reward in rewards:
        one_by_one.add_run(2, 1, reward)
    together.add_run(2, 1, rewards[0])
    together.add_runs(3, 6, 3, tuple(rewards[1:4]))  # 1e16 - 1e16 + 0.5 is not 1 + ... - 1e16
    together.add_runs(2, 4, 2, tuple(rewards[4:]))
    assert repr(together) == repr(one_by_one)  # repr: nan is not equal to itself


@pytest.mark.parametrize("refused", ["mkdtemp", "mkstemp"], ids=["no folder", "no file"])
def test_output_takes_the_pipe_when_no_temporary_file_can_be_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refused: str
) -> None:
    export = tmp_path / "export.jsonl"
    export.write_bytes(jsonl(valid_rollouts(120)))
    monkeypatch.setattr(chunks, "CHUNK_LINES", 25)
    monkeypatch.setattr(pool, "SHARD_BYTES", 1)
    one = run_cli(["convert", str(export)])

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, refused, refuse)  # in the parent, or in the forked workers
    two = run_cli(["convert", str(export), "--workers", "2"])
    assert two.exit_code == 0, two.stderr
    assert len(one.stdout_bytes.splitlines()) == 120
    assert two.stdout_bytes == one.stdout_bytes


def test_blocks_shrink_toward_the_end_of_a_plain_file_and_lose_no_byte(tmp_path: Path) -> None:
    data = jsonl(valid_rollouts(400))
    plain, packed = tmp_path / "export.jsonl", tmp_path / "export.jsonl.gz"
    plain.write_bytes(data)
    packed.write_bytes(gzip.compress(data))
    size = len(data) // 20

    def blocks(path: Path) -> list[bytes]:
        source = Source(path.name, path)
        return list(read_blocks(source, size, count_bytes=lambda _: None, note=print))

    shrinking, even = blocks(plain), blocks(packed)
    assert b"".join(shrinking) == b"".join(even) == data
    assert {len(block) for block in even[:-1]} == {size}  # the decompressed size is unknown
    assert len(shrinking[0]) == size
    assert max(map(len, shrinking[-8:])) <= size // 2
    assert min(map(len, shrinking[:-1])) == size // 16


def test_a_line_far_longer_than_a_block_is_one_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    long = json.dumps({"text": "x" * 200_000}).encode()
    path = tmp_path / "long.jsonl"
    path.write_bytes(b"{}\n" + long + b"\n" + long)
    monkeypatch.setattr(chunks, "CHUNK_BYTES", 1000)
    found = list(chunks.read_chunks([Source(path.name, path)]))
    assert [(chunk.block.first, chunk.block.data) for chunk in found if chunk.block] == [
        (1, b"{}\n"),
        (2, long + b"\n"),
        (3, long),
    ]
