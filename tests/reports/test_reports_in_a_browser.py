"""Each report in a real browser (headless Chromium through Playwright): it opens with no
request leaving the page and no console error, shows its charts, and its links point at the
runs they name. ``make test-ui`` installs Chromium where it is missing; elsewhere these tests
skip when it is absent."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import made_exports
import pytest
from cli_helpers import run_cli
from playwright.sync_api import Browser, sync_playwright

from nemogym_docent import summarize_jsonl_files
from nemogym_docent.reports.html import summary_html
from nemogym_docent.reports.links import RunLinks, run_url

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (make test-ui installs it)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def open_report(browser: Browser, path: Path) -> tuple[list[str], list[str], int]:
    """The requests the page made, its console errors, and the charts it shows."""
    page = browser.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri(), wait_until="load")
    charts = page.locator(".chart svg").count()
    visible = all(page.locator(".chart svg").nth(i).is_visible() for i in range(charts))
    page.close()
    assert visible
    return requests, errors, charts


def exports(tmp_path: Path) -> tuple[Path, Path]:
    baseline = made_exports.rollouts(
        1, agents={"a": 0.4, "b": 0.6}, tasks=30, repeats=4, masked=0.05
    )
    candidate = made_exports.rollouts(2, agents={"a": 0.6, "b": 0.6}, tasks=30, repeats=4)
    return (
        made_exports.write(tmp_path / "base.jsonl", baseline),
        made_exports.write(tmp_path / "cand.jsonl", candidate),
    )


def test_both_reports_open_offline_with_their_charts(browser: Browser, tmp_path: Path) -> None:
    before, after = exports(tmp_path)
    summary, compare = tmp_path / "summary.html", tmp_path / "compare.html"
    assert run_cli(["summary", str(before), "--html", str(summary), "-q"]).exit_code == 0
    assert (
        run_cli(["compare", str(before), str(after), "--html", str(compare), "-q"]).exit_code == 0
    )
    for path, least in ((summary, 2 * 6), (compare, 2 * 2)):
        requests, errors, charts = open_report(browser, path)
        assert requests == [path.as_uri()]
        assert errors == []
        assert charts >= least


def test_cells_link_to_the_runs_they_name(browser: Browser, tmp_path: Path) -> None:
    before, _ = exports(tmp_path)
    summary = summarize_jsonl_files([before])
    rewards = summary.agents["a"].metrics.task_rewards()
    links = {
        task: [run_url("https://docent.example", "c0", f"run-{task[1]}-{i}") for i in range(len(v))]
        for task, v in rewards.items()
    }
    page_path = tmp_path / "linked.html"
    page_path.write_text(
        summary_html(summary, inputs=[str(before)], links=RunLinks([str(before)], links))
    )
    page = browser.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(page_path.as_uri(), wait_until="load")
    hrefs = page.eval_on_selector_all(
        ".chart svg a",
        "nodes => nodes.map(n => n.getAttribute('href') || n.getAttribute('xlink:href'))",
    )
    page.close()
    assert requests == [page_path.as_uri()]
    assert hrefs
    assert all(
        href.startswith("https://docent.example/dashboard/c0/agent_run/run-") for href in hrefs
    )
    named = {f"run-{task[1]}-{i}" for task, v in rewards.items() for i in range(len(v))}
    assert {href.rsplit("/", 1)[1] for href in hrefs} <= named
