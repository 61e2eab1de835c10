"""``upload --follow``: lines appended at random split points, a restart in the middle and a
truncated last line; every complete line lands once, against a loopback Docent server."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from builders import rollout
from cli_helpers import run_cli, run_key
from fake_docent import COLLECTION, FakeDocent, urls

WAIT_SECONDS = 60


def _lines(start: int, count: int) -> list[bytes]:
    return [
        json.dumps(rollout(reward=n % 2, _ng_task_index=n, note="x" * (n * 53 % 400))).encode()
        + b"\n"
        for n in range(start, start + count)
    ]


def _follow(docent: FakeDocent, folder: Path, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "nemogym_docent", "upload", "--follow", str(folder)]
    command += ["--collection-id", COLLECTION, "--batch-size", "4", "--flush-every", "200ms"]
    command += urls(docent.server)
    with log.open("ab") as stderr:
        return subprocess.Popen(
            command, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=stderr
        )


def _until(condition: Callable[[], bool], process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert process.poll() is None, "the follower stopped early"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _interrupt(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=WAIT_SECONDS)
    finally:
        process.kill()


def _write_in_pieces(path: Path, data: bytes, rng: random.Random) -> None:
    with path.open("ab") as out:
        written = 0
        while written < len(data):
            step = rng.randint(1, 900)
            out.write(data[written : written + step])
            out.flush()
            written += step
            time.sleep(rng.choice([0, 0, 0.01]))


def test_every_complete_line_lands_once_across_a_restart(
    docent: FakeDocent, tmp_path: Path
) -> None:
    rng = random.Random(8)
    folder = tmp_path / "results"
    folder.mkdir()
    log = tmp_path / "follow.log"
    first, later, other = _lines(0, 13), _lines(100, 9), _lines(200, 6)

    follower = _follow(docent, folder, log)
    _write_in_pieces(folder / "math_rollouts.jsonl", b"".join(first), rng)
    _until(lambda: len(docent.runs) == len(first), follower)
    assert _interrupt(follower) == 0

    # Restarted: it reads the file from the start again, and sends only what is new.
    follower = _follow(docent, folder, log)
    _write_in_pieces(folder / "math_rollouts.jsonl", b"".join(later), rng)
    (folder / "math_rollouts_materialized_inputs.jsonl").write_bytes(b"{}\n")
    _write_in_pieces(folder / "tools_rollouts.jsonl", b"".join(other) + other[0][:40], rng)
    expected = {run_key(line) for line in first + later + other}
    _until(lambda: set(docent.upload_keys()) == expected, follower)
    assert _interrupt(follower) == 0

    assert sorted(Counter(docent.upload_keys()).values()) == [1] * len(expected)
    stderr = log.read_text()
    assert "Traceback" not in stderr
    assert f"{folder / 'tools_rollouts.jsonl'}: its last line is incomplete (40 bytes" in stderr
    assert f"{len(first)} runs already in the collection were not sent again" in stderr


def test_ctrl_c_sends_what_is_complete_before_the_next_flush(
    docent: FakeDocent, tmp_path: Path
) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    log = tmp_path / "follow.log"
    command = [sys.executable, "-m", "nemogym_docent", "upload", "--follow", str(folder)]
    command += ["--collection-id", COLLECTION, "--flush-every", "1h", *urls(docent.server)]
    with log.open("ab") as stderr:
        follower = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr)
    _until(lambda: "following" in log.read_text(), follower)
    lines = _lines(0, 3)
    (folder / "rollouts.jsonl").write_bytes(b"".join(lines))
    time.sleep(1.0)  # read, converted and gathered; the flush is an hour away
    assert docent.runs == []
    assert _interrupt(follower) == 0
    assert docent.upload_keys() == [run_key(line) for line in lines]
    assert follower.stdout is not None
    assert follower.stdout.read().decode().startswith("http://127.0.0.1:1/web/dashboard/")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--sample", "3"], "--follow sends rollouts as they arrive"),
        (["--flush-every", "soon"], "'soon' is not a duration"),
    ],
)
def test_follow_refuses_what_needs_the_whole_input(
    docent: FakeDocent, tmp_path: Path, options: list[str], message: str
) -> None:
    arguments = ["upload", "--follow", str(tmp_path), *options, "--collection-id", COLLECTION]
    result = run_cli([*arguments, *urls(docent.server)])
    assert result.exit_code == 2
    assert message in result.stderr
