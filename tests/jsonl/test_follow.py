"""Following files as they are written: complete lines once each, partial lines waited for."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from builders import rollout

from nemogym_docent.jsonl import follow
from nemogym_docent.jsonl.follow import Follower


def _lines(count: int) -> list[bytes]:
    return [
        json.dumps(rollout(_ng_task_index=n, padding="x" * (n * 37 % 500))).encode() + b"\n"
        for n in range(count)
    ]


def test_lines_written_at_random_split_points_come_out_whole_and_once(tmp_path: Path) -> None:
    path = tmp_path / "rollouts.jsonl"
    data = b"".join(_lines(60))
    rng = random.Random(4)
    follower = Follower([path])
    seen = list(follower.poll())  # the file does not exist yet
    written = 0
    with path.open("wb") as out:
        while written < len(data):
            step = rng.randint(1, 700)
            out.write(data[written : written + step])
            out.flush()
            written += step
            seen.extend(follower.poll())
            # Never a partial line: every line given out ends where the writer ended a line.
            assert all(line.raw.endswith(b"\n") for line in seen)
    seen.extend(follower.poll())
    assert [line.raw for line in seen] == data.splitlines(keepends=True)
    assert [line.line for line in seen] == list(range(1, 61))
    assert follower.pending() == []


def test_a_truncated_last_line_is_pending_never_given_out(tmp_path: Path) -> None:
    path = tmp_path / "rollouts.jsonl"
    lines = _lines(3)
    path.write_bytes(b"".join(lines) + lines[0][:25])
    follower = Follower([path])
    assert [line.raw for line in follower.poll()] == lines
    assert list(follower.poll()) == []
    assert follower.pending() == [(path, 25)]
    with path.open("ab") as out:
        out.write(lines[0][25:])
    assert [(line.line, line.raw) for line in follower.poll()] == [(4, lines[0])]


def test_new_files_in_a_folder_are_picked_up_and_side_files_left_out(tmp_path: Path) -> None:
    follower = Follower([tmp_path])
    (tmp_path / "a.jsonl").write_bytes(b"1\n")
    assert [(line.file.name, line.raw) for line in follower.poll()] == [("a.jsonl", b"1\n")]
    (tmp_path / "step2").mkdir()
    (tmp_path / "step2" / "b.jsonl").write_bytes(b"2\n")
    (tmp_path / "b_materialized_inputs.jsonl").write_bytes(b"{}\n")
    (tmp_path / "notes.txt").write_bytes(b"x\n")
    with (tmp_path / "a.jsonl").open("ab") as out:
        out.write(b"3\r\n4\r5\n")
    polled = [(line.file.name, line.line, line.raw) for line in follower.poll()]
    assert polled == [
        ("a.jsonl", 2, b"3\r\n"),
        ("a.jsonl", 3, b"4\r"),
        ("a.jsonl", 4, b"5\n"),
        ("b.jsonl", 1, b"2\n"),
    ]


def test_a_file_that_shrinks_is_read_again_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "rollouts.jsonl"
    path.write_bytes(b"1\n2\n")
    follower = Follower([path])
    assert len(list(follower.poll())) == 2
    path.write_bytes(b"9\n")
    assert [(line.line, line.raw) for line in follower.poll()] == [(1, b"9\n")]
    assert follower.shrunk == [path]


def test_a_large_backlog_is_read_in_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(follow, "_READ_SIZE", 100)
    path = tmp_path / "rollouts.jsonl"
    lines = _lines(20)
    path.write_bytes(b"".join(lines))
    assert [line.raw for line in Follower([path]).poll()] == lines
