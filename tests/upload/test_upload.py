"""``nemogym-docent upload`` end to end, against a loopback server speaking Docent's REST API."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from cli_helpers import (
    output_lines,
    run_cli,
    summary_rows,
    valid_rollouts,
    without_agent_ref,
    write_export,
)
from fake_docent import API_KEY, COLLECTION, FakeDocent, isolate_docent_config, urls, without_ids
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from nemogym_docent.cli.options import Conversion, Selecting, Sending, Streaming
from nemogym_docent.cli.upload import UploadOptions, resume_command
from nemogym_docent.upload.client import DocentUploader
from nemogym_docent.upload.retry import Retrying


@pytest.fixture
def docent(httpserver: HTTPServer) -> FakeDocent:
    fake = FakeDocent(httpserver)
    fake.install()
    return fake


@pytest.fixture(autouse=True)
def isolated_docent_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_docent_config(tmp_path, monkeypatch)


def upload_args(docent: FakeDocent, export: Path, *options: str) -> list[str]:
    """``upload EXPORT --collection-id COLLECTION OPTIONS`` against the loopback Docent."""
    return ["upload", str(export), "--collection-id", COLLECTION, *options, *urls(docent.server)]


def expected_runs(export: Path) -> list[dict[str, Any]]:
    converted = run_cli(["convert", str(export), "-q", "--skip-invalid"])
    return output_lines(converted.stdout_bytes)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_every_run_arrives_exactly_once_across_batches(
    docent: FakeDocent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: str
) -> None:
    monkeypatch.setenv("DOCENT_API_KEY", API_KEY)
    export = write_export(tmp_path / "export.jsonl.gz", valid_rollouts(23))
    result = run_cli(
        [
            "upload",
            str(export),
            "--collection-name",
            "evals",
            "--batch-size",
            "5",
            "--workers",
            workers,
            *urls(docent.server),
        ]
    )
    assert result.exit_code == 0, result.stderr
    assert docent.batches == [5, 5, 5, 5, 3]
    assert [without_ids(run) for run in docent.runs] == expected_runs(export)
    assert len({run["id"] for run in docent.runs}) == 23
    assert docent.created == [{"collection_id": None, "name": "evals", "description": None}]
    assert result.stdout == f"http://127.0.0.1:1/web/dashboard/{COLLECTION}\n"
    assert API_KEY not in result.stdout + result.stderr
    assert docent.status_requests >= 1


def test_a_500_once_then_success_loses_and_duplicates_nothing(
    docent: FakeDocent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCENT_API_KEY", API_KEY)
    docent.failures_left = 1
    export = write_export(tmp_path / "export.jsonl", valid_rollouts(7))
    result = run_cli(upload_args(docent, export, "--batch-size", "3"))
    assert result.exit_code == 0, result.stderr
    assert docent.failures_left == 0
    assert docent.batches == [3, 3, 1]
    assert [without_ids(run) for run in docent.runs] == expected_runs(export)
    assert "server error (HTTP 500), retrying in 1 s\n" in result.stderr


def test_skip_invalid_uploads_the_valid_runs_and_writes_errors(
    docent: FakeDocent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCENT_API_KEY", API_KEY)
    good = valid_rollouts(3)
    export = write_export(tmp_path / "export.jsonl", [good[0], without_agent_ref(), *good[1:]])
    errors = tmp_path / "errors.jsonl"
    args = upload_args(docent, export)
    strict = run_cli(args)
    assert strict.exit_code == 1
    assert f"error: {export}:2: agent_ref: is required" in strict.stderr
    assert docent.runs == []
    lenient = run_cli([*args, "--skip-invalid", "--errors", str(errors)])
    assert lenient.exit_code == 0, lenient.stderr
    assert [without_ids(run) for run in docent.runs] == expected_runs(export)
    assert json.loads(errors.read_text())["line"] == 2


def test_from_agent_runs_gets_fresh_ids(
    docent: FakeDocent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCENT_API_KEY", API_KEY)
    export = write_export(tmp_path / "export.jsonl", valid_rollouts(4))
    runs_file = tmp_path / "runs.jsonl"
    assert run_cli(["convert", str(export), "-o", str(runs_file), "-q"]).exit_code == 0
    with_ids = tmp_path / "with-ids.jsonl"
    lines = [orjson.loads(line) for line in runs_file.read_bytes().splitlines()]
    lines[0]["id"] = "caller-set"
    lines[0]["transcripts"][0]["id"] = "caller-set-too"
    with_ids.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    result = run_cli(
        [
            "upload",
            str(with_ids),
            "--from-agent-runs",
            "--collection-id",
            COLLECTION,
            *urls(docent.server),
        ]
    )
    assert result.exit_code == 0, result.stderr
    assert [without_ids(run) for run in docent.runs] == output_lines(runs_file.read_bytes())
    assert "caller-set" not in json.dumps(docent.runs)


def test_dry_run_sends_nothing(docent: FakeDocent, tmp_path: Path) -> None:
    export = write_export(tmp_path / "export.jsonl", valid_rollouts(6))
    result = run_cli(["upload", str(export), "--dry-run", "--batch-size", "4"])
    assert result.exit_code == 0, result.stderr
    assert docent.server.log == []
    assert result.stdout == ""
    assert summary_rows(result.stderr)["would send"] == "6 runs in 2 batches"


def test_a_missing_api_key_is_one_line_and_exit_2(docent: FakeDocent, tmp_path: Path) -> None:
    export = write_export(tmp_path / "export.jsonl", valid_rollouts(1))
    result = run_cli(upload_args(docent, export))
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("error: ")
    assert "DOCENT_API_KEY" in result.stderr


def test_a_wrong_api_key_is_one_line_and_exit_2(
    docent: FakeDocent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCENT_API_KEY", "sk-wrong-key")
    export = write_export(tmp_path / "export.jsonl", valid_rollouts(1))
    result = run_cli(upload_args(docent, export))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: connecting to Docent: HTTP 401: Invalid API key; "
        "check DOCENT_API_KEY and the server URL (--api-url)"
    ]


def test_an_unreachable_server_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCENT_API_KEY", API_KEY)
    export = write_export(tmp_path / "export.jsonl", valid_rollouts(1))
    result = run_cli(
        [
            "upload",
            str(export),
            "--collection-id",
            COLLECTION,
            "--api-url",
            "http://127.0.0.1:1",
            "--frontend-url",
            "http://127.0.0.1:1",
        ]
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: connecting to Docent: cannot reach http://127.0.0.1:1 (Connection refused); "
        "check that the server runs and --api-url"
    ]


def test_jobs_that_never_finish_time_out_naming_the_sent_batches(
    docent: FakeDocent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCENT_API_KEY", API_KEY)
    docent.job_status = "running"
    export = write_export(tmp_path / "export.jsonl", valid_rollouts(3))
    args = upload_args(docent, export, "--batch-size", "2")
    result = run_cli([*args, "--timeout", "0.2"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[:2] == [
        "error: Docent had not finished 2 job(s) after 0.2s: job-1, job-2; raise --timeout to "
        "wait longer",
        f"the server acknowledged 3 runs ({export}:1 to {export}:3) in collection {COLLECTION}",
    ]
    assert lines[2] == "finish the upload with: " + shlex.join(
        [
            "nemogym-docent", "upload", str(export), "--collection-id", COLLECTION,
            *urls(docent.server), "--batch-size", "2", "--timeout", "0.2", "--resume",
        ]
    )  # fmt: skip
    assert len(lines) == 3
    no_wait = run_cli([*args, "--no-wait", "-q"])
    assert no_wait.exit_code == 0
    assert no_wait.stdout == f"http://127.0.0.1:1/web/dashboard/{COLLECTION}\n"


def test_collection_options_are_required_and_exclusive(tmp_path: Path) -> None:
    export = write_export(tmp_path / "export.jsonl", valid_rollouts(1))
    neither = run_cli(["upload", str(export)])
    assert neither.exit_code == 2
    assert neither.stderr == (
        "error: say where the runs go: --collection-id ID or --collection-name NAME\n"
    )
    both = run_cli(["upload", str(export), "--collection-id", "a", "--collection-name", "b"])
    assert both.exit_code == 2
    assert both.stderr == "error: give one of --collection-id and --collection-name, not both\n"


def test_a_server_that_does_not_answer_times_out(
    docent: FakeDocent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCENT_API_KEY", API_KEY)
    docent.stall_seconds = 1.0
    export = write_export(tmp_path / "export.jsonl", valid_rollouts(2))
    result = run_cli(upload_args(docent, export, "--timeout", "0.2"))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[:3] == [
        f"error: sending runs: no answer from {docent.server.url_for('/').rstrip('/')} within 0.2s"
        " (--timeout: raise it for a slow server)",
        f"the server acknowledged no runs in collection {COLLECTION}",
        f"2 runs were in flight ({export}:1 to {export}:2): Docent may hold them; "
        "--resume finds out",
    ]


def test_the_collection_is_created_only_when_a_batch_is_ready_and_named_at_once(
    docent: FakeDocent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCENT_API_KEY", API_KEY)
    invalid_only = write_export(tmp_path / "invalid.jsonl", [without_agent_ref()])
    args = ["--collection-name", "evals", *urls(docent.server)]
    nothing = run_cli(["upload", str(invalid_only), "--skip-invalid", "-q", *args])
    assert nothing.exit_code == 0, nothing.stderr
    assert docent.created == []
    assert nothing.stdout == ""

    docent.failures_left = 100  # every batch fails, after the client's retries
    export = write_export(tmp_path / "export.jsonl", valid_rollouts(2))
    failed = run_cli(["upload", str(export), "-q", "--patience", "2s", *args])
    assert failed.exit_code == 2
    assert len(docent.created) == 1
    lines = failed.stderr.splitlines()
    assert lines[0] == (
        f"created collection {COLLECTION} (evals): http://127.0.0.1:1/web/dashboard/{COLLECTION}"
    )
    assert lines[-4].startswith("error: sending runs: HTTP 500: boom; still failing after ")
    assert lines[-4].endswith(" (--patience 2s: raise it to wait longer)")
    assert lines[-3:-1] == [
        f"the server acknowledged no runs in collection {COLLECTION}",
        f"2 runs were in flight ({export}:1 to {export}:2): Docent may hold them; "
        "--resume finds out",
    ]
    assert lines[-1].startswith("finish the upload with: nemogym-docent upload ")


def test_an_unexpected_answer_is_one_line_naming_what_was_stored(
    docent: FakeDocent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCENT_API_KEY", API_KEY)
    docent.garbled_after = 1
    export = write_export(tmp_path / "export.jsonl", valid_rollouts(5))
    result = run_cli(upload_args(docent, export, "--batch-size", "2", "-q"))
    assert result.exit_code == 2
    assert docent.batches == [2]
    error, stored, in_flight, finish = result.stderr.splitlines()
    assert error.startswith("error: sending runs: unexpected answer from Docent (")
    assert stored == (
        f"the server acknowledged 2 runs ({export}:1 to {export}:2) in collection {COLLECTION}"
    )
    assert in_flight.startswith(f"2 runs were in flight ({export}:3 to {export}:4)")
    assert finish.startswith("finish the upload with: ")


def test_ctrl_c_while_sending_says_what_was_sent(docent: FakeDocent, tmp_path: Path) -> None:
    export = write_export(tmp_path / "export.jsonl", valid_rollouts(40))
    command = [
        sys.executable,
        "-m",
        "nemogym_docent",
        *upload_args(docent, export, "--batch-size", "2"),
    ]
    docent.on_batch = lambda _stored, _request: threading.Event().wait(0.2)  # a slow server
    process = subprocess.Popen(
        command,
        env={**os.environ, "DOCENT_API_KEY": API_KEY},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while len(docent.batches) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    lines = stderr.decode().splitlines()
    assert lines[0] == (
        "stopping once Docent answers the batch in flight (Ctrl-C again to stop at once)"
    )
    assert lines[-1] == "interrupted"
    sent = re.fullmatch(
        rf"the server acknowledged (\d+) runs \({re.escape(str(export))}:1 to "
        rf"{re.escape(str(export))}:(\d+)\) in collection {COLLECTION}",
        lines[-3],
    )
    assert sent is not None, lines
    runs, last = map(int, sent.groups())
    assert runs == last == len(docent.runs)  # the batch in flight was answered: exact
    assert lines[-2].startswith("finish the upload with: nemogym-docent upload ")
    assert lines[-2].endswith(" --batch-size 2 --resume")


def test_the_resume_command_is_made_of_every_option_group_given() -> None:
    options = UploadOptions(
        ["a.jsonl", "b dir"],
        Sending(collection_name="x", batch_size=7, patience="1m", ledger=Path("l.sqlite")),
        Conversion(lenient=True, detail="full", skip_invalid=True),
        Selecting(where=["reward < 1"], group_by="task"),
        Streaming(from_agent_runs=True, flush_every="2s"),
    )
    assert shlex.split(resume_command(options, "c1")) == [
        "nemogym-docent", "upload", "a.jsonl", "b dir", "--collection-id", "c1",
        "--batch-size", "7", "--resume", "--ledger", "l.sqlite", "--patience", "1m",
        "--skip-invalid", "--lenient", "--detail", "full",
        "--where", "reward < 1", "--group-by", "task",
        "--from-agent-runs", "--flush-every", "2s",
    ]  # fmt: skip
    following = UploadOptions(
        ["a.jsonl"], Sending(), Conversion(), Selecting(), Streaming(follow=True)
    )
    assert "--resume" not in resume_command(following, "c1")  # --follow implies it


def test_a_busy_server_is_waited_out_while_connecting(httpserver: HTTPServer) -> None:
    answers = [Response('{"detail": "restarting"}', status=503, headers={"Retry-After": "0"})]

    def key_test(_request: Request) -> Response:
        return answers.pop(0) if answers else Response('{"ok": true}', status=200)

    httpserver.expect_request("/rest/api-keys/test").respond_with_handler(key_test)
    said: list[str] = []
    DocentUploader(
        api_url=httpserver.url_for("/"),
        frontend_url="http://127.0.0.1:1/web",
        timeout=5,
        quiet=True,
        api_key=API_KEY,
        retrying=Retrying(on_wait=said.append),
    )
    assert said == ["server busy (HTTP 503), retrying in 0 s"]
    assert answers == []
