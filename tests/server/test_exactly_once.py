"""Against the real Docent server: whatever stops an upload, its counts match what the server
holds, and ``--resume`` ends with every run stored exactly once (read back from the server)."""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from builders import rollout, user
from cli_helpers import SCRIPT, assert_no_traceback, output_lines, run_cli, write_export
from fault_proxy import FaultProxy
from real_docent import SERVING, RealDocent

RUNS = 200
BATCH = "25"
_COUNT = r"(no|[\d,]+) runs?"
_ACKNOWLEDGED = re.compile(rf"the server acknowledged {_COUNT}")
_IN_FLIGHT = re.compile(rf"{_COUNT} (?:was|were) in flight")
_FINISH = re.compile(r"finish the upload with: (.+)$", re.MULTILINE)


def heavy_rollouts(count: int, *, start: int = 0, words: int = 1200) -> list[dict[str, Any]]:
    """Rollouts of about 20 KB, so that a batch of 25 keeps the server busy a moment."""
    return [
        rollout([user(f"task {index}: " + "lorem ipsum dolor " * words)], _ng_task_index=index)
        for index in range(start, start + count)
    ]


def number(text: str) -> int:
    return 0 if text == "no" else int(text.replace(",", ""))


def reported(stderr: str) -> tuple[int, int, list[str]]:
    """The runs a stopped upload said the server acknowledged, those in flight, and its
    ``--resume`` command."""
    acknowledged = _ACKNOWLEDGED.search(stderr)
    assert acknowledged is not None, stderr
    in_flight = _IN_FLIGHT.search(stderr)
    finish = _FINISH.search(stderr)
    assert finish is not None, stderr
    return (
        number(acknowledged[1]),
        0 if in_flight is None else number(in_flight[1]),
        shlex.split(finish[1]),
    )


def settled_count(real_docent: RealDocent, collection_id: str) -> int:
    """The collection's run count once it stopped changing (a request the client gave up on
    may still be stored)."""
    last, steady_since = -1, time.monotonic()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        count = len(real_docent.run_ids(collection_id))
        if count != last:
            last, steady_since = count, time.monotonic()
        elif time.monotonic() - steady_since >= 3:
            return count
        time.sleep(0.5)
    return last


def start_upload(export: Path, collection_id: str, *options: str) -> subprocess.Popen[bytes]:
    command = [str(SCRIPT), "upload", str(export), "--collection-id", collection_id, "-q"]
    return subprocess.Popen(
        [*command, "--batch-size", BATCH, *options],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def when_stored(real_docent: RealDocent, collection_id: str, runs: int) -> None:
    deadline = time.monotonic() + 120
    while len(real_docent.run_ids(collection_id)) < runs:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def finish(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    _, stderr = process.communicate(timeout=180)
    text = stderr.decode()
    assert_no_traceback(text)
    return process.returncode, text


def assert_stored_once(real_docent: RealDocent, collection_id: str, names: list[str]) -> None:
    keys = real_docent.upload_keys(collection_id)
    assert [key for key, count in keys.items() if count > 1] == []
    assert sum(keys.values()) == len(names)


def names_of(export: Path, *options: str) -> list[str]:
    converted = run_cli(["convert", str(export), "-q", *options])
    return sorted(run["name"] for run in output_lines(converted.stdout_bytes))


def resume(command: list[str]) -> str:
    assert command[:2] == ["nemogym-docent", "upload"]
    done = subprocess.run(
        [str(SCRIPT), *command[1:]], capture_output=True, timeout=300, check=False
    )
    assert_no_traceback(done.stderr)
    assert done.returncode == 0, done.stderr.decode()
    return done.stderr.decode()


def assert_resumed_once(
    real_docent: RealDocent,
    collection_id: str,
    export: Path,
    acknowledged: int,
    in_flight: int,
    command: list[str],
) -> None:
    """The stop's counts bound what the server holds, and its resume command stores every run
    of ``export`` exactly once."""
    assert acknowledged <= settled_count(real_docent, collection_id) <= acknowledged + in_flight
    resume(command)
    assert_stored_once(real_docent, collection_id, names_of(export))


@pytest.fixture
def export(tmp_path: Path) -> Path:
    return write_export(tmp_path / "export.jsonl", heavy_rollouts(RUNS))


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_batch_waits_for_the_answer_and_counts_exactly(
    real_docent: RealDocent, server_env: dict[str, str], export: Path, stop: signal.Signals
) -> None:
    collection = real_docent.create_collection(f"signal {stop.name}")
    process = start_upload(export, collection)
    when_stored(real_docent, collection, 1)  # the first batch is in; the second is being sent
    process.send_signal(stop)
    code, stderr = finish(process)
    assert code == 128 + stop
    acknowledged, in_flight, command = reported(stderr)
    assert in_flight == 0
    assert acknowledged == settled_count(real_docent, collection) > 0
    resume(command)
    assert_stored_once(real_docent, collection, names_of(export))


def test_a_second_signal_stops_at_once_and_says_what_was_in_flight(
    real_docent: RealDocent, server_env: dict[str, str], export: Path
) -> None:
    collection = real_docent.create_collection("two signals")
    process = start_upload(export, collection)
    when_stored(real_docent, collection, 1)
    process.send_signal(signal.SIGINT)
    time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    code, stderr = finish(process)
    assert code == 130
    acknowledged, in_flight, command = reported(stderr)
    assert_resumed_once(real_docent, collection, export, acknowledged, in_flight, command)


def test_a_timeout_says_what_was_in_flight_and_resume_finishes(
    real_docent: RealDocent, server_env: dict[str, str], export: Path, proxy: FaultProxy
) -> None:
    collection = real_docent.create_collection("timeout")
    # The proxy answers the second batch 8 s after the server stored it.
    proxy.mode, proxy.every, proxy.wait_seconds = "slow", 2, 8
    process = start_upload(export, collection, "--timeout", "4", "--api-url", proxy.url)
    code, stderr = finish(process)
    assert code == 2, stderr
    assert f"error: sending runs: no answer from {proxy.url} within 4s" in stderr
    acknowledged, in_flight, command = reported(stderr)
    assert (acknowledged, in_flight) == (int(BATCH), int(BATCH))
    proxy.mode = "none"
    assert_resumed_once(real_docent, collection, export, acknowledged, in_flight, command)


def test_a_killed_server_then_resume_stores_every_run_once(
    real_docent: RealDocent, server_env: dict[str, str], export: Path
) -> None:
    collection = real_docent.create_collection("killed server")
    process = start_upload(export, collection, "--patience", "2s")  # the server stays down
    when_stored(real_docent, collection, 1)
    real_docent.kill(*SERVING)
    try:
        code, stderr = finish(process)
        assert code == 2, stderr
        acknowledged, in_flight, command = reported(stderr)
    finally:
        real_docent.start()
    assert_resumed_once(real_docent, collection, export, acknowledged, in_flight, command)


def test_a_follower_survives_a_server_restart(
    real_docent: RealDocent, server_env: dict[str, str], tmp_path: Path
) -> None:
    collection = real_docent.create_collection("follower")
    followed = write_export(tmp_path / "followed.jsonl", heavy_rollouts(30))
    command = [str(SCRIPT), "upload", str(followed), "--collection-id", collection, "--follow"]
    process = subprocess.Popen(
        [*command, "--flush-every", "200ms", "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    when_stored(real_docent, collection, 30)
    real_docent.kill(*SERVING)
    with followed.open("a") as stream:
        stream.write("".join(json.dumps(r) + "\n" for r in heavy_rollouts(30, start=30)))
    time.sleep(2)  # the follower tries, and fails, to send them
    real_docent.start()
    with followed.open("a") as stream:
        stream.write("".join(json.dumps(r) + "\n" for r in heavy_rollouts(30, start=60)))
    when_stored(real_docent, collection, 90)
    process.send_signal(signal.SIGINT)
    code, stderr = finish(process)
    assert code == 0, stderr
    assert_stored_once(real_docent, collection, names_of(followed))


def test_a_clean_upload_stores_what_convert_writes(
    real_docent: RealDocent, server_env: dict[str, str], tmp_path: Path
) -> None:
    export = write_export(tmp_path / "export.jsonl", heavy_rollouts(12))
    name = f"clean {uuid.uuid4().hex}"
    done = run_cli(["upload", str(export), "--collection-name", name, "--batch-size", "5"])
    assert done.exit_code == 0, done.stderr
    (collection,) = real_docent.collections_named(name)
    stored = sorted((_comparable(run) for run in real_docent.runs(collection)), key=_name)
    converted = output_lines(run_cli(["convert", str(export), "-q"]).stdout_bytes)
    assert stored == sorted(map(_comparable, converted), key=_name)


def test_a_collection_name_with_resume_is_reused(
    real_docent: RealDocent, server_env: dict[str, str], tmp_path: Path
) -> None:
    export = write_export(tmp_path / "export.jsonl", heavy_rollouts(6))
    name = f"reused {uuid.uuid4().hex}"
    for _ in range(2):
        done = run_cli(["upload", str(export), "--collection-name", name, "--resume"])
        assert done.exit_code == 0, done.stderr
    (collection,) = real_docent.collections_named(name)
    assert "6 runs already in the collection were not sent again" in done.stderr
    assert_stored_once(real_docent, collection, names_of(export))


def test_a_missing_collection_id_is_one_line_before_any_conversion(
    server_env: dict[str, str], tmp_path: Path
) -> None:
    export = write_export(tmp_path / "export.jsonl", [{"not": "a rollout"}])
    missing = "00000000-0000-0000-0000-000000000000"
    done = run_cli(["upload", str(export), "--collection-id", missing])
    assert done.exit_code == 2
    assert done.stderr.splitlines() == [
        f"error: collection {missing} does not exist on {server_env['DOCENT_API_URL']} "
        "(or this API key cannot see it)"
    ]


def test_identical_lines_of_two_files_are_two_runs(
    real_docent: RealDocent, server_env: dict[str, str], tmp_path: Path
) -> None:
    record = rollout()
    del record["agent_ref"]
    first = write_export(tmp_path / "first.jsonl", [record])
    second = write_export(tmp_path / "second.jsonl", [record])
    name = f"identical {uuid.uuid4().hex}"
    done = run_cli(
        ["upload", str(first), str(second), "--lenient", "--collection-name", name, "--resume"]
    )
    assert done.exit_code == 0, done.stderr
    (collection,) = real_docent.collections_named(name)
    assert sorted(run["name"] for run in real_docent.runs(collection)) == [
        "first/task/0/rollout/0",
        "second/task/0/rollout/0",
    ]


def _name(run: dict[str, Any]) -> str:
    return str(run["name"])


def _comparable(run: dict[str, Any]) -> dict[str, Any]:
    """What the server keeps of a run as it was sent: its name, its metadata (without the upload
    key) and each transcript's messages (role and content); the server adds its own fields."""
    metadata = json.loads(json.dumps(run["metadata"]))
    metadata.pop("upload_key", None)
    metadata.pop("title", None)
    return {
        "name": run["name"],
        "metadata": metadata,
        "messages": [
            [(message["role"], message["content"]) for message in transcript["messages"]]
            for transcript in run["transcripts"]
        ],
    }
