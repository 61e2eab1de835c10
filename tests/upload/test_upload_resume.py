"""Uploads that land once: upload keys, ``upload --resume`` and the warning without it, against
a loopback Docent server that answers DQL from the runs it stored."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from cli_helpers import jsonl, output_lines, run_cli, run_key, valid_rollouts, write_export
from fake_docent import COLLECTION, FakeDocent, urls, without_ids

from nemogym_docent.options import ConversionOptions
from nemogym_docent.upload.keys import agent_run_upload_key, upload_key

REPEATED = (
    "{} lines repeat a run given before in this upload (the same line under the same name): "
    "each such run was sent once"
)


def upload(docent: FakeDocent, *args: str) -> Any:
    return run_cli(
        ["upload", *args, "--collection-id", COLLECTION, "--batch-size", "5", *urls(docent.server)]
    )


def expected_runs(*exports: Path) -> list[dict[str, Any]]:
    converted = run_cli(["convert", *map(str, exports), "-q"])
    assert converted.exit_code == 0, converted.stderr
    return output_lines(converted.stdout_bytes)


def stored_once(docent: FakeDocent) -> list[dict[str, Any]]:
    """The stored runs as ``convert`` writes them, in key order; fails on a key stored twice."""
    counts = Counter(docent.upload_keys())
    assert [key for key, count in counts.items() if count > 1] == []
    return in_order([without_ids(run) for run in docent.runs])


def flat(text: str) -> str:
    """Text with its line breaks and runs of spaces as single spaces (the summary wraps)."""
    return " ".join(text.split())


def in_order(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(runs, key=lambda run: (run["metadata"]["nemogym"]["task_index"], run["name"]))


def test_the_key_is_a_digest_of_the_name_the_trimmed_line_and_the_options() -> None:
    line = jsonl(valid_rollouts(1))
    name = "agent/task/0/rollout/0"
    key = upload_key(line, name=name)
    assert len(key) == 64
    assert int(key, 16) >= 0
    assert upload_key(b"  " + line.rstrip(b"\n") + b"\r\n", name=name) == key
    assert upload_key(line, ConversionOptions(strict=True, detail="docent"), name=name) == key
    others = {
        upload_key(line, name="first/line/1"),
        upload_key(line, ConversionOptions(strict=False), name=name),
        upload_key(line, ConversionOptions(detail="full"), name=name),
        upload_key(line, ConversionOptions(strict=False, detail="full"), name=name),
        agent_run_upload_key(line),
        upload_key(jsonl(valid_rollouts(2)[1:]), name=name),
    }
    assert key not in others
    assert len(others) == 6


def test_a_server_error_after_two_batches_then_resume_stores_every_run_once(
    docent: FakeDocent, tmp_path: Path
) -> None:
    export = write_export(tmp_path / "export.jsonl", valid_rollouts(23))
    docent.fail_after_batches = 2
    stopped = upload(docent, str(export))
    assert stopped.exit_code == 2
    assert "collection is read-only" in stopped.stderr
    assert docent.batches == [5, 5]

    docent.fail_after_batches = None
    resumed = upload(docent, str(export), "--resume")
    assert resumed.exit_code == 0, resumed.stderr
    assert resumed.stderr.startswith("10 runs already in the collection were not sent again\n")
    assert "sent 13 runs in 3 batches" in flat(resumed.stderr)
    assert docent.batches == [5, 5, 5, 5, 3]
    assert stored_once(docent) == in_order(expected_runs(export))
    # The server cut results at 3 rows: the 5 keys held per batch were read in pages.
    assert all(query["ensure_latest_results"] for query in docent.queries)
    assert any("AND id > '" in query["dql"] for query in docent.queries)


def test_a_killed_upload_then_resume_stores_every_run_once(
    docent: FakeDocent, tmp_path: Path
) -> None:
    export = write_export(tmp_path / "export.jsonl.gz", valid_rollouts(23))
    command = [sys.executable, "-m", "nemogym_docent", "upload", str(export), "-q"]
    command += ["--collection-id", COLLECTION, "--batch-size", "5", *urls(docent.server)]
    process = subprocess.Popen(
        command, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    killed = threading.Event()

    def kill_at_the_third(stored: int, _request: object) -> None:
        # The third batch is stored, and the process dies before hearing that it was.
        if stored == 3:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            killed.set()

    docent.on_batch = kill_at_the_third
    try:
        assert process.wait(timeout=120) == -signal.SIGKILL
    finally:
        process.kill()
    assert killed.wait(timeout=30)
    assert docent.batches == [5, 5, 5]
    docent.on_batch = None

    resumed = upload(docent, str(export), "--resume")
    assert resumed.exit_code == 0, resumed.stderr
    # The ledger had the third batch in flight; the server's run ids say it arrived.
    assert resumed.stderr.startswith(
        "an earlier upload left 5 runs in flight: 5 are in the collection, 0 go again "
        "(with the ids they were sent with)\n"
        "15 runs already in the collection were not sent again\n"
    )
    assert "sent 8 runs in 2 batches" in flat(resumed.stderr)
    assert stored_once(docent) == in_order(expected_runs(export))


def test_overlapping_uploads_with_resume_store_the_union_once(
    docent: FakeDocent, tmp_path: Path
) -> None:
    rollouts = valid_rollouts(15)
    first = write_export(tmp_path / "first.jsonl", rollouts[:10])
    second = write_export(tmp_path / "second.jsonl", rollouts[5:])
    assert upload(docent, str(first), "--resume").exit_code == 0
    again = upload(docent, str(second), "--resume")
    assert again.exit_code == 0, again.stderr
    assert again.stderr.startswith("5 runs already in the collection were not sent again\n")
    assert "sent 5 runs in 1 batch" in flat(again.stderr)
    union = write_export(tmp_path / "union.jsonl", rollouts)
    assert stored_once(docent) == in_order(expected_runs(union))


def test_one_upload_of_overlapping_inputs_with_resume_sends_each_run_once(
    docent: FakeDocent, tmp_path: Path
) -> None:
    rollouts = valid_rollouts(8)
    first = write_export(tmp_path / "a.jsonl", rollouts[:6])
    second = write_export(tmp_path / "b.jsonl", [*rollouts[2:], {}])
    result = upload(docent, str(first), str(second), "--resume", "--skip-invalid")
    assert result.exit_code == 0, result.stderr
    assert "\n0 runs already in the collection were not sent again\n" in result.stderr
    assert REPEATED.format(4) in flat(result.stderr)
    assert "sent 8 runs in 3 batches" in flat(result.stderr)
    union = write_export(tmp_path / "union.jsonl", rollouts)
    assert stored_once(docent) == in_order(expected_runs(union))


def test_without_resume_a_repeated_line_is_one_run_as_a_resume_counts_it(
    docent: FakeDocent, tmp_path: Path
) -> None:
    rollouts = valid_rollouts(3)
    first = write_export(tmp_path / "a.jsonl", rollouts)
    second = write_export(tmp_path / "b.jsonl", rollouts[1:])
    result = upload(docent, str(first), str(second))
    assert result.exit_code == 0, result.stderr
    assert REPEATED.format(2) in flat(result.stderr)
    assert "sent 3 runs in 1 batch" in flat(result.stderr)
    assert stored_once(docent) == in_order(expected_runs(first))
    again = upload(docent, str(first), str(second), "--resume")
    assert again.exit_code == 0, again.stderr
    assert again.stderr.startswith("3 runs already in the collection were not sent again\n")
    assert REPEATED.format(2) in flat(again.stderr)
    assert len(docent.runs) == 3


def test_without_resume_a_collection_holding_the_keys_gets_a_warning(
    docent: FakeDocent, tmp_path: Path
) -> None:
    export = write_export(tmp_path / "export.jsonl", valid_rollouts(7))
    first = upload(docent, str(export))
    assert first.exit_code == 0, first.stderr
    assert "--resume" not in first.stderr
    again = upload(docent, str(export))
    assert again.exit_code == 0, again.stderr
    warnings = [line for line in again.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: the collection already holds 5 of these runs (from an earlier upload?); "
        "rerun with --resume to send only the missing ones"
    ]
    assert len(docent.runs) == 14  # sent as asked


def test_resume_works_without_dql_from_the_run_ids_and_metadata(
    docent: FakeDocent, tmp_path: Path
) -> None:
    docent.dql_available = False
    export = write_export(tmp_path / "export.jsonl", valid_rollouts(7))
    docent.fail_after_batches = 1
    assert upload(docent, str(export)).exit_code == 2
    docent.fail_after_batches = None
    (tmp_path / "home").rename(tmp_path / "elsewhere")  # another machine: no ledger
    resumed = upload(docent, str(export), "--resume")
    assert resumed.exit_code == 0, resumed.stderr
    assert resumed.stderr.startswith("5 runs already in the collection were not sent again\n")
    assert stored_once(docent) == in_order(expected_runs(export))
    assert docent.queries == []


def test_resume_works_on_a_server_that_lists_nothing_from_the_ledger(
    docent: FakeDocent, tmp_path: Path
) -> None:
    docent.dql_available = False
    docent.listing_available = False
    export = write_export(tmp_path / "export.jsonl", valid_rollouts(7))
    docent.fail_after_batches = 1
    assert upload(docent, str(export)).exit_code == 2
    docent.fail_after_batches = None
    again = upload(docent, str(export))
    assert again.exit_code == 0, again.stderr
    assert "warning: the collection already holds 5 of these runs" in again.stderr
    resumed = upload(docent, str(export), "--resume")
    assert resumed.exit_code == 0, resumed.stderr
    assert resumed.stderr.startswith("7 runs already in the collection were not sent again\n")
    assert len(docent.runs) == 12  # the second upload sent all 7 again, as asked


def test_runs_from_agent_run_lines_carry_keys_and_resume(
    docent: FakeDocent, tmp_path: Path
) -> None:
    export = write_export(tmp_path / "export.jsonl", valid_rollouts(6))
    runs_file = tmp_path / "runs.jsonl"
    assert run_cli(["convert", str(export), "-o", str(runs_file), "-q"]).exit_code == 0
    lines = runs_file.read_bytes().splitlines(keepends=True)
    assert upload(docent, str(runs_file), "--from-agent-runs", "--resume").exit_code == 0
    assert docent.upload_keys() == [agent_run_upload_key(line) for line in lines]
    again = upload(docent, str(runs_file), "--from-agent-runs", "--resume")
    assert again.stderr.startswith("6 runs already in the collection were not sent again\n")
    assert "sent 0 runs in 0 batches" in flat(again.stderr)
    assert len(docent.runs) == 6
    assert [without_ids(run) for run in docent.runs] == output_lines(runs_file.read_bytes())


def test_the_key_is_the_one_field_upload_adds(docent: FakeDocent, tmp_path: Path) -> None:
    export = write_export(tmp_path / "export.jsonl", valid_rollouts(2))
    assert upload(docent, str(export), "--lenient").exit_code == 0
    lines = export.read_bytes().splitlines()
    assert docent.upload_keys() == [
        run_key(line, ConversionOptions(strict=False)) for line in lines
    ]
    stored = [json.loads(json.dumps(run)) for run in docent.runs]
    assert [without_ids(run) for run in stored] == expected_runs(export)
