"""Against the real Docent server: a report asked for ``--docent-collection ID`` on a machine whose
upload ledger does not hold the runs links them from what the server holds."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from builders import rollout, user
from cli_helpers import run_cli, write_export
from real_docent import RealDocent


def test_a_report_links_the_runs_the_server_holds(
    real_docent: RealDocent,
    server_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = [
        rollout(
            [user(f"question {task}")],
            _ng_task_index=task,
            _ng_rollout_index=repeat,
            reward=float((task + repeat) % 2),
        )
        for task in range(3)
        for repeat in range(2)
    ]
    export = write_export(tmp_path / "results.jsonl", rows)
    collection = real_docent.create_collection(f"report links {uuid.uuid4()}")
    sent = run_cli(["upload", str(export), "--collection-id", collection, "--lenient", "-q"])
    assert sent.exit_code == 0, sent.stderr
    runs = real_docent.run_ids(collection)
    assert len(runs) == len(rows)
    monkeypatch.setenv("NEMOGYM_DOCENT_LEDGER", str(tmp_path / "another-machine.sqlite"))
    monkeypatch.setenv("DOCENT_FRONTEND_URL", "http://127.0.0.1:1/web")
    page = tmp_path / "report.html"
    made = run_cli(["summary", str(export), "--html", str(page), "--docent-collection", collection])
    assert made.exit_code == 0, made.stderr
    assert f"holds {len(rows)} of the report's {len(rows)} rollouts" in made.stderr
    linked = set(re.findall(r'xlink:href="([^"]+)"', page.read_text("utf-8")))
    prefix = f"http://127.0.0.1:1/web/dashboard/{collection}/agent_run/"
    assert linked == {prefix + run for run in runs}
    absent = str(uuid.uuid4())
    missing = run_cli(["summary", str(export), "--html", str(page), "--docent-collection", absent])
    assert missing.exit_code == 0, missing.stderr
    assert f"collection {absent} does not exist" in missing.stderr
    assert "xlink:href" not in page.read_text("utf-8")
