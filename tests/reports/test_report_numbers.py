"""The reports hold the numbers of ``--format json``: the HTML embeds them whole and shows them
in its tables (each cell's ``data-value``), the markdown shows the headline ones."""

from __future__ import annotations

import html.parser
import json
import re
from pathlib import Path
from typing import Any

import altair as alt
import made_exports
import pytest
from cli_helpers import run_cli
from fake_docent import COLLECTION, FakeDocent, urls

from nemogym_docent import summarize_jsonl_files
from nemogym_docent.reports.charts import summary_charts
from nemogym_docent.reports.html import headline_names, number
from nemogym_docent.upload.ledger import default_ledger_path, stored_runs

REPORT_DATA = re.compile(r'<script type="application/json" id="report-data">(.*?)</script>', re.S)


class Cells(html.parser.HTMLParser):
    """Every (table class, agent, metric, data-value) of the HTML's metric tables, and every
    link."""

    def __init__(self) -> None:
        super().__init__()
        self.table: tuple[str, str] | None = None
        self.row_metric: str | None = None
        self.values: list[tuple[str, str, str, str]] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table" and "metrics" in (found.get("class") or ""):
            self.table = (found["class"] or "", found.get("data-agent") or "")
        if tag == "tr" and found.get("data-metric"):
            self.row_metric = found["data-metric"]
        if tag in ("td", "span") and self.table and "data-value" in found:
            metric = found.get("data-metric") or self.row_metric or ""
            self.values.append((self.table[0], self.table[1], metric, found["data-value"] or ""))
        if tag == "a" and found.get("href"):
            self.links.append(found["href"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.table = None


def embedded(page: str) -> Any:
    found = REPORT_DATA.search(page)
    assert found is not None
    return json.loads(found.group(1).replace("<\\/", "</"))


def made(tmp_path: Path) -> list[str]:
    """Binary and continuous rewards, masked rollouts, failed attempts, several agents."""
    binary = made_exports.rollouts(
        1, agents={"math_agent": 0.5, "code_agent": 0.3}, tasks=12, repeats=4, masked=0.1
    )
    continuous = made_exports.rollouts(
        2, agents={"judge": 0.5}, tasks=6, repeats=3, continuous=True
    )
    return [
        str(made_exports.write(tmp_path / "binary.jsonl", binary)),
        str(
            made_exports.write(
                tmp_path / "binary_failures.jsonl", made_exports.failed_attempts("math_agent", 3)
            )
        ),
        str(made_exports.write(tmp_path / "continuous.jsonl", continuous)),
    ]


def summary_reports(tmp_path: Path, inputs: list[str]) -> tuple[Any, str, str]:
    page, markdown = tmp_path / "report.html", tmp_path / "report.md"
    result = run_cli(
        ["summary", *inputs, "--format", "json", "--html", str(page), "--markdown", str(markdown)]
    )
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout), page.read_text("utf-8"), markdown.read_text("utf-8")


def check_summary(data: Any, page: str, markdown: str) -> None:
    assert embedded(page) == data
    cells = Cells()
    cells.feed(page)
    shown = 0
    for table, agent, metric, value in cells.values:
        if "headline" in table or "all" in table:
            assert json.loads(value) == data["agents"][agent]["metrics"][metric]
            shown += 1
    every = sum(len(group["metrics"]) for group in data["agents"].values())
    headline = sum(len(headline_names(group["metrics"])) for group in data["agents"].values())
    assert shown == every + headline
    for agent, group in data["agents"].items():
        for metric in headline_names(group["metrics"]):
            assert f"| {metric} | {number(group['metrics'][metric])} |" in markdown, (agent, metric)
    # Tasks solved and coverage always; the others where there is something to draw.
    assert page.count("<svg") >= 2 * len(data["agents"])


def test_summary_reports_of_made_exports(tmp_path: Path) -> None:
    data, page, markdown = summary_reports(tmp_path, made(tmp_path))
    assert set(data["agents"]) == {"math_agent", "code_agent", "judge"}
    assert data["agents"]["math_agent"]["failures"]["attempts"] == 3
    assert data["agents"]["math_agent"]["metrics"]["coverage/masked_rollouts"] > 0
    check_summary(data, page, markdown)
    assert "```mermaid\nxychart-beta" in markdown
    assert "failed: agent_request_failed" in page  # the coverage chart names each failure class


def test_summary_reports_of_every_corpus_file(tmp_path: Path, corpus_dir: Path) -> None:
    for path in sorted(corpus_dir.glob("*.jsonl")):
        data, page, markdown = summary_reports(tmp_path, [str(path)])
        if data["agents"]:
            check_summary(data, page, markdown)


def test_compare_reports(tmp_path: Path) -> None:
    baseline = made_exports.rollouts(
        1, agents={"a": 0.4, "b": 0.5}, tasks=20, repeats=4, masked=0.05
    )
    candidate = made_exports.rollouts(2, agents={"a": 0.6, "b": 0.5}, tasks=20, repeats=4)
    for row in candidate:
        if row["_ng_task_index"] < 3:  # another question under the same index
            row["responses_create_params"] = {"input": f"other {row['_ng_task_index']}"}
    before = made_exports.write(tmp_path / "base.jsonl", baseline)
    after = made_exports.write(tmp_path / "cand.jsonl", candidate)
    page, markdown = tmp_path / "c.html", tmp_path / "c.md"
    result = run_cli(
        [
            "compare",
            str(before),
            str(after),
            "--format",
            "json",
            "--html",
            str(page),
            "--markdown",
            str(markdown),
        ]
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    text, md = page.read_text("utf-8"), markdown.read_text("utf-8")
    assert embedded(text) == data
    cells = Cells()
    cells.feed(text)
    rows = {
        (agent["agent"], row["metric"]): row for agent in data["agents"] for row in agent["metrics"]
    }
    checked = 0
    for _table, agent, metric, value in cells.values:
        row = rows[(agent, metric)]
        assert json.loads(value) in [row[key] for key in row if key != "metric"]
        checked += 1
    assert checked > 0
    for agent in data["agents"]:
        flips = agent["flips"]
        assert flips["input_mismatch_count"] == 3
        # Every flip is in the page, not ten.
        for flip in flips["flips"]:
            assert f'data-task="{flip["task"]}"' in text
        mean = next(row for row in agent["metrics"] if row["metric"] == "mean/reward")
        assert mean["delta_ci_low"] is not None
        assert f"[{number(mean['delta_ci_low'])}, {number(mean['delta_ci_high'])}]" in md
        assert f"| mean/reward | {number(mean['baseline'])} | {number(mean['candidate'])} |" in md


def test_an_unwritable_report_path_fails_in_one_line(tmp_path: Path) -> None:
    inputs = made(tmp_path)
    result = run_cli(["summary", *inputs, "--html", str(tmp_path / "missing" / "r.html")])
    assert result.exit_code == 2
    assert "error: cannot write" in result.stderr
    assert not list(tmp_path.glob("missing*"))


def test_without_links_the_page_offers_the_upload_command(tmp_path: Path) -> None:
    inputs = made(tmp_path)
    _, page, _ = summary_reports(tmp_path, inputs)
    assert "nemogym-docent upload " in page
    assert "--collection-name NAME" in page


def test_library_users_get_the_charts_as_objects(tmp_path: Path) -> None:
    charts = summary_charts(summarize_jsonl_files(made(tmp_path)))
    assert set(charts) == {"math_agent", "code_agent", "judge"}
    assert all(isinstance(chart, alt.TopLevelMixin) for chart in charts["math_agent"].values())
    assert {"reward_distribution", "pass_at_k", "task_grid"} <= set(charts["math_agent"])


def test_cells_link_to_the_runs_the_upload_ledger_holds(
    tmp_path: Path, docent: FakeDocent, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = made_exports.rollouts(3, agents={"math_agent": 0.5}, tasks=4, repeats=3)
    for row in rows:  # rollouts Docent's converter takes, so that upload sends every one
        row.pop("ng_perf")
        row["response"] = {
            "output": [],
            "id": "r",
            "created_at": 0,
            "model": "m",
            "object": "response",
            "parallel_tool_calls": False,
            "tool_choice": "auto",
            "tools": [],
        }
    export = made_exports.write(tmp_path / "results.jsonl", rows)
    sent = run_cli(
        ["upload", str(export), "--collection-name", "evals", "--lenient", *urls(docent.server)]
    )
    assert sent.exit_code == 0, sent.stderr
    monkeypatch.setenv("DOCENT_FRONTEND_URL", "http://127.0.0.1:1/web")
    page = tmp_path / "linked.html"
    made_page = run_cli(
        ["summary", str(export), "--html", str(page), "--docent-collection", COLLECTION]
    )
    assert made_page.exit_code == 0, made_page.stderr
    runs = stored_runs(default_ledger_path(), COLLECTION)
    assert len(runs) == len(rows)
    cells = Cells()
    cells.feed(page.read_text("utf-8"))
    hrefs = set(re.findall(r'xlink:href="([^"]+)"', page.read_text("utf-8")))
    expected = {
        f"http://127.0.0.1:1/web/dashboard/{COLLECTION}/agent_run/{run}" for run in runs.values()
    }
    assert hrefs == expected
    assert "--docent-collection ID" not in page.read_text("utf-8")
    # A collection the ledger does not know: the server does not have it either; no links, the
    # upload command instead, and a note.
    monkeypatch.setenv("DOCENT_API_URL", docent.server.url_for("/").rstrip("/"))
    other = run_cli(["summary", str(export), "--html", str(page), "--docent-collection", "other"])
    assert "holds no run of these files" in other.stderr
    assert "collection other does not exist" in other.stderr
    assert "xlink:href" not in page.read_text("utf-8")


def test_flips_link_to_both_sides_runs(
    tmp_path: Path, docent: FakeDocent, monkeypatch: pytest.MonkeyPatch
) -> None:
    sides = []
    for name, skill in (("base", 0.3), ("cand", 0.7)):
        rows = made_exports.rollouts(
            4 if name == "base" else 5, agents={"a": skill}, tasks=6, repeats=2
        )
        sides.append(str(made_exports.write(tmp_path / f"{name}.jsonl", rows)))
    sent = run_cli(
        [
            "compare",
            *sides,
            "--upload",
            "--collection-name",
            "flips",
            "--lenient",
            *urls(docent.server),
        ]
    )
    assert sent.exit_code == 0, sent.stderr
    monkeypatch.setenv("DOCENT_FRONTEND_URL", "http://127.0.0.1:1/web")
    page = tmp_path / "compare.html"
    made_page = run_cli(["compare", *sides, "--html", str(page), "--docent-collection", COLLECTION])
    assert made_page.exit_code == 0, made_page.stderr
    text = page.read_text("utf-8")
    flips = [flip["task"] for flip in embedded(text)["agents"][0]["flips"]["flips"]]
    assert flips
    runs = set(stored_runs(default_ledger_path(), COLLECTION).values())
    cells = Cells()
    cells.feed(text)
    prefix = f"http://127.0.0.1:1/web/dashboard/{COLLECTION}/agent_run/"
    assert cells.links
    assert all(link.startswith(prefix) and link[len(prefix) :] in runs for link in cells.links)
    assert len(cells.links) == 2 * len(flips)  # both sides of every flip


def _uploadable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in rows:  # rollouts Docent's converter takes, so that upload sends every one
        row.pop("ng_perf")
        row["response"] = {
            "output": [],
            "id": "r",
            "created_at": 0,
            "model": "m",
            "object": "response",
            "parallel_tool_calls": False,
            "tool_choice": "auto",
            "tools": [],
        }
    return rows


@pytest.mark.parametrize("dql", [True, False])
def test_without_the_ledger_the_server_names_the_runs(
    tmp_path: Path, docent: FakeDocent, monkeypatch: pytest.MonkeyPatch, dql: bool
) -> None:
    rows = _uploadable(made_exports.rollouts(3, agents={"math_agent": 0.5}, tasks=4, repeats=3))
    export = made_exports.write(tmp_path / "results.jsonl", rows)
    sent = run_cli(["upload", str(export), "--collection-name", "evals", *urls(docent.server)])
    assert sent.exit_code == 0, sent.stderr
    expected = {
        f"http://127.0.0.1:1/web/dashboard/{COLLECTION}/agent_run/{run['id']}"
        for run in docent.runs
    }
    assert len(expected) == len(rows)
    docent.dql_available = dql  # the open-source server has no DQL: the listing and metadata
    monkeypatch.setenv("NEMOGYM_DOCENT_LEDGER", str(tmp_path / "another-machine.sqlite"))
    monkeypatch.setenv("DOCENT_API_URL", docent.server.url_for("/").rstrip("/"))
    monkeypatch.setenv("DOCENT_FRONTEND_URL", "http://127.0.0.1:1/web")
    page = tmp_path / "linked.html"
    made_page = run_cli(
        ["summary", str(export), "--html", str(page), "--docent-collection", COLLECTION]
    )
    assert made_page.exit_code == 0, made_page.stderr
    assert f"holds {len(rows)} of the report's {len(rows)} rollouts" in made_page.stderr
    assert set(re.findall(r'xlink:href="([^"]+)"', page.read_text("utf-8"))) == expected
    # A collection the server does not have, and a server that does not answer: a note each.
    absent = run_cli(["summary", str(export), "--html", str(page), "--docent-collection", "nope"])
    assert absent.exit_code == 0, absent.stderr
    assert "collection nope does not exist" in absent.stderr
    assert "xlink:href" not in page.read_text("utf-8")
    monkeypatch.setenv("DOCENT_API_URL", "http://127.0.0.1:1")
    away = run_cli(["summary", str(export), "--html", str(page), "--docent-collection", COLLECTION])
    assert away.exit_code == 0, away.stderr
    assert "cannot reach http://127.0.0.1:1" in away.stderr
    assert "Traceback" not in absent.stderr + away.stderr
