"""The seven ways uploads went wrong on a real Docent server, each against the loopback server
behaving as that one does (no DQL, no job ids, a run-id listing; a second copy of a run id is
refused): every run lands once, and every stop says what the server holds."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from builders import rollout, user
from cli_helpers import run_cli, valid_rollouts, write_export
from fake_docent import COLLECTION, FakeDocent, urls
from test_upload import upload_args
from test_upload_follow import _interrupt, _until

from nemogym_docent.upload import payload


@pytest.fixture
def open_source(docent: FakeDocent) -> FakeDocent:
    """The fake server as the open-source Docent answers: no DQL, runs stored synchronously."""
    docent.dql_available = False
    docent.jobs = False
    return docent


def once(docent: FakeDocent) -> Counter[str]:
    keys = Counter(docent.upload_keys())
    assert [key for key, count in keys.items() if count > 1] == []
    return keys


def test_1_resume_and_the_rerun_warning_work_without_dql(
    open_source: FakeDocent, tmp_path: Path
) -> None:
    export = write_export(tmp_path / "export.jsonl", valid_rollouts(12))
    open_source.fail_after_batches = 1
    assert run_cli(upload_args(open_source, export, "--batch-size", "5")).exit_code == 2
    open_source.fail_after_batches = None
    resumed = run_cli(upload_args(open_source, export, "--batch-size", "5", "--resume"))
    assert resumed.exit_code == 0, resumed.stderr
    assert "5 runs already in the collection were not sent again" in resumed.stderr
    assert sum(once(open_source).values()) == 12
    again = run_cli(upload_args(open_source, export, "-q"))
    assert again.exit_code == 0, again.stderr
    assert "warning: the collection already holds 12 of these runs" in again.stderr


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_2_a_signal_mid_batch_counts_what_the_server_holds(
    open_source: FakeDocent, tmp_path: Path, stop: signal.Signals
) -> None:
    export = write_export(tmp_path / "export.jsonl", valid_rollouts(40))
    sending = threading.Event()

    def slow(_stored: int, _request: object) -> None:
        sending.set()
        threading.Event().wait(0.5)  # stored; the answer comes late

    open_source.on_batch = slow
    arguments = upload_args(open_source, export, "--batch-size", "5")
    process = subprocess.Popen(
        [sys.executable, "-m", "nemogym_docent", *arguments],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    assert sending.wait(timeout=60)
    os.killpg(process.pid, stop)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + stop
    said = stderr.decode()
    assert f"the server acknowledged {len(open_source.runs)} runs" in said
    assert len(open_source.runs) < 40
    assert "were in flight" not in said


def test_3_identical_lines_of_two_files_are_two_runs_and_all_go(
    open_source: FakeDocent, tmp_path: Path
) -> None:
    record = rollout()
    del record["agent_ref"]
    first = write_export(tmp_path / "first.jsonl", [record])
    second = write_export(tmp_path / "second.jsonl", [record])
    done = run_cli(
        [
            *("upload", str(first), str(second), "--lenient", "--resume"),
            *("--collection-name", "n", *urls(open_source.server)),
        ]
    )
    assert done.exit_code == 0, done.stderr
    assert "0 runs already in the collection were not sent again" in done.stderr
    assert sorted(run["name"] for run in open_source.runs) == [
        "first/task/0/rollout/0",
        "second/task/0/rollout/0",
    ]
    assert len(once(open_source)) == 2


def test_4_a_collection_name_with_resume_is_the_same_collection(
    open_source: FakeDocent, tmp_path: Path
) -> None:
    open_source.collections = {}
    export = write_export(tmp_path / "export.jsonl", valid_rollouts(3))
    arguments = ["upload", str(export), "--resume", "--collection-name", "evals"]
    for _ in range(2):
        done = run_cli([*arguments, *urls(open_source.server)])
        assert done.exit_code == 0, done.stderr
    assert len(open_source.created) == 1
    assert f"reusing collection {COLLECTION} (evals)" in done.stderr
    assert sum(once(open_source).values()) == 3
    open_source.collections["other"] = "evals"
    twice = run_cli([*arguments, *urls(open_source.server)])
    assert twice.exit_code == 2
    assert twice.stderr == (
        f"error: 2 collections are named 'evals' ({COLLECTION}, other); "
        "choose one with --collection-id\n"
    )


def test_5_a_run_over_the_request_limit_is_one_located_issue(
    open_source: FakeDocent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(payload, "MAX_REQUEST_BYTES", 4000)
    big = rollout([user("x" * 5000)], _ng_task_index=9)
    export = write_export(
        tmp_path / "export.jsonl", [*valid_rollouts(2), big, *valid_rollouts(3)[2:]]
    )
    arguments = ["upload", str(export), "--collection-name", "evals", *urls(open_source.server)]
    stopped = run_cli(arguments)
    assert stopped.exit_code == 1
    first = stopped.stderr.splitlines()[0]
    assert re.fullmatch(
        rf"error: {re.escape(str(export))}:3: the run is [\d,]+ bytes of JSON, over Docent's "
        "limit of 4,000 bytes for one request: Docent refuses it",
        first,
    ), first
    assert open_source.created == []  # no empty collection left behind
    skipped = run_cli([*arguments, "--skip-invalid", "-q"])
    assert skipped.exit_code == 0, skipped.stderr
    assert len(open_source.runs) == 3
    validated = run_cli(["validate", str(export)])
    assert validated.exit_code == 0
    assert f"warning: {export}:3: the run is " in validated.stderr


def test_6_a_missing_collection_id_is_one_line_before_any_conversion(
    open_source: FakeDocent, tmp_path: Path
) -> None:
    export = write_export(tmp_path / "export.jsonl", [{"not": "a rollout"}])
    result = run_cli(["upload", str(export), "--collection-id", "nope", *urls(open_source.server)])
    assert result.exit_code == 2
    server = open_source.server.url_for("/").rstrip("/")
    assert result.stderr == (
        f"error: collection nope does not exist on {server} (or this API key cannot see it)\n"
    )


def test_7_a_follower_rides_out_a_failing_server(open_source: FakeDocent, tmp_path: Path) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    command = [sys.executable, "-m", "nemogym_docent", "upload", "--follow", str(folder)]
    command += ["--collection-id", COLLECTION, "--flush-every", "100ms", *urls(open_source.server)]
    log = tmp_path / "follow.log"
    with log.open("ab") as stderr:
        follower = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
    _until(lambda: "following" in log.read_text(), follower)
    open_source.failures_left = 3  # 1 + 2 + 4 seconds of 500s
    lines = [json.dumps(record) + "\n" for record in valid_rollouts(6)]
    (folder / "rollouts.jsonl").write_text("".join(lines[:3]))
    _until(lambda: len(open_source.runs) == 3, follower)
    with (folder / "rollouts.jsonl").open("a") as out:
        out.write("".join(lines[3:]))
    _until(lambda: len(open_source.runs) == 6, follower)
    assert _interrupt(follower) == 0
    assert open_source.failures_left == 0
    assert re.search(r"server error \(HTTP 500\), retrying in [34] s", log.read_text())
    assert sum(once(open_source).values()) == 6
