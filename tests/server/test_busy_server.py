"""Against the real Docent server behind a loopback proxy that misbehaves on every ``every``-th
request adding runs: the upload waits out each fault and ends with exit 0 and every run stored
exactly once, never coming back before the ``Retry-After`` it was given; when patience runs out,
it stops as honestly as on any fault, and ``--resume`` finishes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from cli_helpers import SCRIPT, assert_no_traceback, write_export
from fault_proxy import FaultProxy, Mode, RetryAfter
from real_docent import SERVING, RealDocent
from test_exactly_once import (
    assert_stored_once,
    heavy_rollouts,
    names_of,
    reported,
    resume,
    when_stored,
)

RUNS = 30
BATCH = "5"  # 6 batches: 2 faults at every third request, 3 at every second
REPORT_VARIABLE = "NEMOGYM_FAULT_REPORT"
"""A file to which each test appends what it measured, one JSON line (for the closing note)."""


@pytest.fixture
def export(tmp_path: Path) -> Path:
    return write_export(tmp_path / "export.jsonl", heavy_rollouts(RUNS, words=100))


def upload(proxy: FaultProxy, export: Path, collection: str, *options: str) -> tuple[int, str]:
    command = [str(SCRIPT), "upload", str(export), "--collection-id", collection]
    command += ["--api-url", proxy.url, "--batch-size", BATCH, *options]
    done = subprocess.run(command, capture_output=True, timeout=600, check=False)
    stderr = done.stderr.decode()
    assert_no_traceback(stderr)
    return done.returncode, stderr


def report(case: str, real_docent: RealDocent, collection: str, **measured: object) -> None:
    keys = real_docent.upload_keys(collection)
    line = {
        "case": case,
        "stored": sum(keys.values()),
        "duplicates": sum(count - 1 for count in keys.values()),
        **measured,
    }
    path = os.environ.get(REPORT_VARIABLE)
    if path:
        with open(path, "a") as out:
            out.write(json.dumps(line) + "\n")


BUSY = [
    (mode, retry_after) for mode in ("429", "503") for retry_after in ("seconds", "date", "absent")
]


@pytest.mark.parametrize("every", [3, 2])
@pytest.mark.parametrize(("mode", "retry_after"), BUSY)
def test_a_busy_server_is_waited_out_never_early(
    real_docent: RealDocent,
    server_env: dict[str, str],
    proxy: FaultProxy,
    export: Path,
    mode: Mode,
    retry_after: RetryAfter,
    every: int,
) -> None:
    proxy.mode, proxy.retry_after, proxy.every = mode, retry_after, every
    collection = real_docent.create_collection(f"busy {mode} {retry_after} {every}")
    started = time.monotonic()
    code, stderr = upload(proxy, export, collection)
    took = time.monotonic() - started
    assert code == 0, stderr
    assert_stored_once(real_docent, collection, names_of(export))
    faults = proxy.faults()
    assert len(faults) >= RUNS // int(BATCH) // every
    assert proxy.early() == []
    waits = re.findall(rf"server busy \(HTTP {mode}\), retrying in (\d+) s", stderr)
    assert len(waits) == len(faults), stderr
    if retry_after == "seconds":
        assert set(waits) == {"2"}
    elif retry_after == "date":
        assert set(waits) <= {"1", "2"}  # an HTTP date counts whole seconds
    report(
        f"{mode} Retry-After {retry_after}, every {every}",
        real_docent,
        collection,
        faults=len(faults),
        seconds=round(took, 1),
        early=len(proxy.early()),
        exit=code,
    )


@pytest.mark.parametrize("every", [3, 2])
@pytest.mark.parametrize("mode", ["lost", "slow", "reset"])
def test_lost_slow_and_cut_answers_store_every_run_once(
    real_docent: RealDocent,
    server_env: dict[str, str],
    proxy: FaultProxy,
    export: Path,
    mode: Mode,
    every: int,
) -> None:
    proxy.mode, proxy.every, proxy.wait_seconds = mode, every, 3
    collection = real_docent.create_collection(f"{mode} {every}")
    started = time.monotonic()
    code, stderr = upload(proxy, export, collection)
    took = time.monotonic() - started
    assert code == 0, stderr
    assert_stored_once(real_docent, collection, names_of(export))
    faults = proxy.faults()
    assert len(faults) >= RUNS // int(BATCH) // every
    retries = re.findall(r"no answer \((.+)\), retrying in \d+ s", stderr)
    if mode == "slow":  # late, within --timeout: nothing to try again
        assert retries == [], stderr
    else:
        assert len(retries) == len(faults), stderr
    report(
        f"{mode}, every {every}",
        real_docent,
        collection,
        faults=len(faults),
        seconds=round(took, 1),
        early=0,
        exit=code,
    )


def test_a_server_restart_mid_upload_is_waited_out(
    real_docent: RealDocent, server_env: dict[str, str], proxy: FaultProxy, tmp_path: Path
) -> None:
    export = write_export(tmp_path / "export.jsonl", heavy_rollouts(200))
    collection = real_docent.create_collection("restart")
    command = [str(SCRIPT), "upload", str(export), "--collection-id", collection]
    command += ["--api-url", proxy.url, "--batch-size", "25"]
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        when_stored(real_docent, collection, 1)
        real_docent.kill(*SERVING)
    finally:
        real_docent.start()
    _, err = process.communicate(timeout=600)
    took = time.monotonic() - started
    stderr = err.decode()
    assert_no_traceback(stderr)
    assert process.returncode == 0, stderr
    assert_stored_once(real_docent, collection, names_of(export))
    assert re.search(r"retrying in \d+ s", stderr), stderr
    report("server restart", real_docent, collection, seconds=round(took, 1), early=0, exit=0)


def test_when_patience_runs_out_the_stop_says_what_to_do(
    real_docent: RealDocent, server_env: dict[str, str], proxy: FaultProxy, export: Path
) -> None:
    proxy.mode, proxy.every, proxy.retry_after = "429", 1, "seconds"
    collection = real_docent.create_collection("patience")
    code, stderr = upload(proxy, export, collection, "--patience", "3s")
    assert code == 2, stderr
    assert "server busy (HTTP 429), retrying in 2 s" in stderr
    assert re.search(
        r"error: sending runs: HTTP 429: busy; the server asked to wait 2 s, past the patience "
        r"left \(--patience 3s: raise it to wait longer\)",
        stderr,
    ), stderr
    acknowledged, in_flight, command = reported(stderr)
    assert (acknowledged, in_flight) == (0, int(BATCH))
    assert proxy.early() == []
    assert command[-2:] == ["--patience", "3s"]
    proxy.mode = "none"
    resume(command)
    assert_stored_once(real_docent, collection, names_of(export))
