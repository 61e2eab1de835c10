"""``--detail full`` on ``convert`` and ``upload``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from builders import assistant, rollout, user
from cli_helpers import output_lines, run_cli, run_key, summary_rows, write_export
from fake_docent import API_KEY, COLLECTION, FakeDocent, isolate_docent_config
from pytest_httpserver import HTTPServer

import nemogym_docent


def judged(index: int) -> dict[str, Any]:
    exchange = {
        "responses_create_params": {"input": [user("Same?")]},
        "response": {"id": "resp_j", "output": [assistant("[[A=B]]")]},
        "verdict_label": "[[A=B]]",
    }
    return rollout(_ng_task_index=index, correctness=1.0, judge_evaluations=[exchange])


@pytest.fixture
def docent(httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeDocent:
    isolate_docent_config(tmp_path, monkeypatch)
    fake = FakeDocent(httpserver)
    fake.install()
    return fake


def test_convert_writes_the_full_detail_line(tmp_path: Path) -> None:
    records = [judged(0), judged(1)]
    export = write_export(tmp_path / "export.jsonl", records)
    result = run_cli(["convert", str(export), "--detail", "full"])
    assert result.exit_code == 0, result.stderr
    expected = [
        nemogym_docent.convert_nemogym_jsonl_line(json.dumps(record).encode(), detail="full")
        for record in records
    ]
    assert result.stdout_bytes == b"".join(expected)
    runs = output_lines(result.stdout_bytes)
    assert runs[0]["metadata"]["scores"] == {"reward": 1.0, "correctness": 1.0}
    assert [t["name"] for t in runs[0]["transcripts"]] == ["agent", "judge_evaluations[0]"]
    summary = summary_rows(result.stderr)
    assert (summary["runs"], summary["messages"]) == ("2", "4")
    assert "lenient only" not in summary


def test_the_default_detail_is_docent(tmp_path: Path) -> None:
    export = write_export(tmp_path / "export.jsonl", [judged(0)])
    default = run_cli(["convert", str(export), "-q"])
    explicit = run_cli(["convert", str(export), "-q", "--detail", "docent"])
    assert default.stdout_bytes == explicit.stdout_bytes
    assert len(output_lines(default.stdout_bytes)[0]["transcripts"]) == 1


def test_an_unknown_detail_is_a_usage_error(tmp_path: Path) -> None:
    export = write_export(tmp_path / "export.jsonl", [judged(0)])
    result = run_cli(["convert", str(export), "--detail", "everything"])
    assert result.exit_code == 2
    assert "--detail" in result.stderr


def test_upload_sends_full_detail_runs_with_fresh_group_ids(
    docent: FakeDocent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCENT_API_KEY", API_KEY)
    export = write_export(tmp_path / "export.jsonl", [judged(0), judged(1)])
    urls = ["--api-url", docent.server.url_for("/"), "--frontend-url", "http://127.0.0.1:1/web"]
    result = run_cli(
        ["upload", str(export), "--collection-id", COLLECTION, "--detail", "full", *urls]
    )
    assert result.exit_code == 0, result.stderr
    assert len(docent.runs) == 2
    for run in docent.runs:
        [group] = run["transcript_groups"]
        assert group["name"] == "judge_evaluations"
        assert not group["id"].startswith("group-")
        assert run["transcripts"][1]["transcript_group_id"] == group["id"]
    keys = {run["metadata"]["upload_key"] for run in docent.runs}
    docent_keys = {run_key(json.dumps(record).encode()) for record in (judged(0), judged(1))}
    assert keys.isdisjoint(docent_keys)
