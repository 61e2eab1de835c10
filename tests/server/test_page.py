"""Against the real Docent server and its own web page (``make test-ui``): one run of each kind,
opened in headless Chromium, reads as a user wants it. It opens on the policy's conversation,
shows the reward and the run's name, puts each extra transcript under a group named for what it
is, and each printed view, entered in the filter bar, selects the runs it names."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from builders import rollout
from cli_helpers import SCRIPT, assert_no_traceback, write_export
from parity import SPEC_EXAMPLES
from real_docent import RealDocent

from nemogym_docent.upload.links import View, compare_views, upload_views

WEB_VARIABLE = "NEMOGYM_DOCENT_WEB"
SHOTS_VARIABLE = "NEMOGYM_DOCENT_SHOTS"
KINDS = {
    "default": ("reward_components.json", ()),
    "full detail, judges": ("judge_evaluations.json", ("--detail", "full")),
    "full detail, subagents": ("ng_trajectory_subagents.json", ("--detail", "full")),
    "nemo_user_sim": ("ng07/nemo_user_sim.json", ("--lenient", "--detail", "full")),
    "failed attempt": ("ng07/rollouts_failures.jsonl", ("--lenient", "--failures")),
}
WAIT_MS = 60_000

pytestmark = pytest.mark.skipif(
    not os.environ.get(WEB_VARIABLE), reason="no Docent web page (make test-ui starts one)"
)


@pytest.fixture(scope="module")
def web() -> str:
    return os.environ[WEB_VARIABLE].rstrip("/")


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get(SHOTS_VARIABLE)
    path = Path(folder) if folder else tmp_path_factory.mktemp("shots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser(real_docent: RealDocent) -> Iterator[Any]:
    """A logged-in page of headless Chromium (Debian's, driven by Playwright)."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 (only make test-ui has it)

    api = real_docent.env["DOCENT_API_URL"]
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=["--no-sandbox"]
        )
        context = chromium.new_context(viewport={"width": 1600, "height": 1000})
        login = context.request.post(
            f"{api}/rest/login", data={"email": "tester@example.com", "password": "tester-password"}
        )
        assert login.ok, login.status
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        yield page
        chromium.close()


def upload(real_docent: RealDocent, *args: str) -> None:
    """Run an upload command with the server's key and URLs (and a ledger of its own)."""
    env = {**os.environ, **real_docent.env}
    env["NEMOGYM_DOCENT_LEDGER"] = str(real_docent.state / f"ledger-{uuid.uuid4().hex}.sqlite")
    done = subprocess.run(
        [str(SCRIPT), *args, "-q"], capture_output=True, timeout=300, check=False, env=env
    )
    assert_no_traceback(done.stderr)
    assert done.returncode == 0, done.stderr.decode()


def example(name: str, folder: Path) -> Path:
    """A spec example as JSONL (a JSON example as one line), in ``folder``."""
    path = SPEC_EXAMPLES / name
    if not path.is_file():
        pytest.skip("../shared/spec/examples is not present")
    target = folder / Path(name).with_suffix(".jsonl").name
    if path.suffix == ".json":
        target.write_text(json.dumps(json.loads(path.read_text("utf-8"))) + "\n", "utf-8")
    else:
        shutil.copyfile(path, target)
    return target


@pytest.fixture(scope="module")
def kinds(
    real_docent: RealDocent, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, dict[str, list[dict[str, Any]]]]:
    """One collection with a run of each kind: the collection, and the stored runs by kind."""
    folder = tmp_path_factory.mktemp("kinds")
    name = f"page-{uuid.uuid4().hex[:8]}"
    collection_id = real_docent.create_collection(name)
    runs: dict[str, list[dict[str, Any]]] = {}
    for kind, (file, options) in KINDS.items():
        before = set(real_docent.run_ids(collection_id))
        upload(
            real_docent,
            "upload",
            str(example(file, folder)),
            "--collection-id",
            collection_id,
            *options,
        )
        runs[kind] = [
            real_docent.call("GET", f"{collection_id}/agent_run?agent_run_id={run_id}")
            for run_id in set(real_docent.run_ids(collection_id)) - before
        ]
        assert runs[kind], kind
    return collection_id, runs


def compare_rows(rewards: dict[tuple[str, int], list[float]]) -> list[dict[str, Any]]:
    return [
        rollout(
            reward=reward, agent_ref={"name": agent}, _ng_task_index=task, _ng_rollout_index=index
        )
        for (agent, task), values in rewards.items()
        for index, reward in enumerate(values)
    ]


@pytest.fixture(scope="module")
def compared(real_docent: RealDocent, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A compare pair: a binary agent (one task down, one up) and a continuous one (the same)."""
    folder = tmp_path_factory.mktemp("compare")
    base = {("math_agent", 0): [1, 1], ("math_agent", 1): [0, 0], ("math_agent", 2): [1],
            ("judge_agent", 0): [0.8], ("judge_agent", 1): [0.5]}  # fmt: skip
    cand = {("math_agent", 0): [0, 0], ("math_agent", 1): [1, 1], ("math_agent", 2): [1],
            ("judge_agent", 0): [0.3], ("judge_agent", 1): [0.9]}  # fmt: skip
    sides = [
        write_export(folder / "baseline.jsonl", compare_rows(base)),
        write_export(folder / "candidate.jsonl", compare_rows(cand)),
    ]
    name = f"page-compare-{uuid.uuid4().hex[:8]}"
    upload(real_docent, "compare", *map(str, sides), "--upload", "--collection-name", name)
    (collection_id,) = real_docent.collections_named(name)
    return collection_id


def open_page(browser: Any, url: str, ready: str) -> str:
    """The page's text once ``ready`` shows."""
    browser.goto(url, wait_until="load")
    browser.get_by_text(ready, exact=True).first.wait_for()
    browser.wait_for_load_state("networkidle")
    return str(browser.inner_text("body"))


def tree(text: str) -> list[str]:
    """The transcript tree's lines, as the page shows them (between 'Full tree' and the open
    transcript; a run of one transcript has no tree)."""
    lines = [line.strip() for line in text.splitlines()]
    start = lines.index("Full tree") + 1
    return lines[start : lines.index("Transcript", start)]


def docent_tree(run: dict[str, Any]) -> list[str]:
    """The tree the page should show: Docent's order (each level by ``created_at``), groups by
    name, transcripts by id."""
    children: dict[str | None, list[tuple[str, str, str]]] = {}
    for group in run["transcript_groups"]:
        entry = (group["created_at"], "group", group["id"])
        children.setdefault(group["parent_transcript_group_id"], []).append(entry)
    for transcript in run["transcripts"]:
        entry = (transcript["created_at"], "transcript", transcript["id"])
        children.setdefault(transcript["transcript_group_id"], []).append(entry)
    names = {group["id"]: group["name"] for group in run["transcript_groups"]}
    lines: list[str] = []

    def visit(parent: str | None) -> None:
        for _, kind, node in sorted(children.get(parent, [])):
            lines.append(names[node] if kind == "group" else node)
            if kind == "group":
                visit(node)

    visit(None)
    return lines


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_of_run_reads_as_a_user_wants(
    browser: Any,
    web: str,
    shots: Path,
    kinds: tuple[str, dict[str, list[dict[str, Any]]]],
    kind: str,
) -> None:
    collection_id, runs = kinds
    run = min(runs[kind], key=lambda r: r["name"])
    main = next(t for t in run["transcripts"] if t["transcript_group_id"] is None)
    url = f"{web}/dashboard/{collection_id}/agent_run/{run['id']}"
    text = open_page(browser, url, "Transcript")
    browser.screenshot(path=str(shots / f"{re.sub(r'[^a-z]+', '-', kind)}.png"))
    lines = tree(text) if run["transcript_groups"] else [main["id"]]  # one transcript: no tree
    assert lines[0] == main["id"]  # the tree starts with the policy's conversation...
    assert f"Transcript\n{main['id']}" in text  # ...and the page opens on it
    first = str(main["messages"][0]["content"]).splitlines()[0]
    assert first in text
    assert lines == docent_tree(run)  # every other transcript under its group, by name
    group_names = {group["name"] for group in run["transcript_groups"]}
    assert {line for line in lines if not re.fullmatch(r"[0-9a-f-]{36}", line)} == group_names
    assert run["name"] in text  # the title, first in the metadata line
    reward = run["metadata"].get("scores", {}).get("reward")
    if kind == "failed attempt":
        assert reward is None
        assert run["metadata"]["failure"]["class"] in text
    else:
        assert f'"reward": {reward:g}' in text


def enter(browser: Any, view: View) -> None:
    """Enter a view in the run list's filter bar: its field, its operator, its value."""
    field = ".".join(("metadata", *view.path))
    browser.get_by_role("combobox").filter(has_text="Select field").first.click()
    browser.get_by_placeholder("Search fields...").fill(field)
    browser.get_by_role("option", name=field, exact=True).click()
    boxes = browser.get_by_role("combobox")
    boxes.nth(1).click()
    browser.get_by_role("option", name=view.op, exact=True).click()
    if isinstance(view.value, bool):
        boxes.nth(2).click()
        browser.get_by_role("option", name=json.dumps(view.value), exact=True).click()
    else:
        browser.get_by_placeholder(re.compile("e.g.|Enter value")).fill(str(view.value))
        browser.get_by_role("button", name="Add Filter").click()


def selected(browser: Any, web: str, collection_id: str, view: View, expected: int) -> int:
    """How many runs the page says the view selects, once it says ``expected`` or a minute
    passed (the count is polled, not timed)."""
    open_page(browser, f"{web}/dashboard/{collection_id}", "Agent Run List")
    count = browser.get_by_text(re.compile(r"agent runs? matching the current view"))
    browser.get_by_text("metadata.title", exact=True).first.wait_for()  # the table is in
    clear = browser.get_by_text("Clear All", exact=True)
    enter(browser, view)
    shown = -1
    for _ in range(120):
        browser.wait_for_timeout(500)
        shown = int(count.inner_text().split()[0])
        if clear.count() and shown == expected:
            break
    clear.first.click()  # the page keeps a filter for the next visit: the next view starts clean
    clear.wait_for(state="detached")
    return shown


def matches(run: dict[str, Any], view: View) -> bool:
    value: Any = run["metadata"]
    for key in view.path:
        value = value.get(key) if isinstance(value, dict) else None
    if value is None:
        return False
    if view.op == "~*":
        return re.search(str(view.value), str(value), re.IGNORECASE) is not None
    compare = {"==": value == view.value, "<": value < view.value, ">": value > view.value}
    return bool(compare[view.op])


def test_the_printed_views_select_the_runs_they_name(
    browser: Any,
    web: str,
    real_docent: RealDocent,
    kinds: tuple[str, dict[str, list[dict[str, Any]]]],
    compared: str,
) -> None:
    collection_id, runs = kinds
    every = [run for stored in runs.values() for run in stored]
    compare_runs = real_docent.runs(compared)
    for collection, stored, views in (
        (collection_id, every, upload_views(contrast=False)),
        (compared, compare_runs, compare_views()),
    ):
        for view in views:
            expected = sum(matches(run, view) for run in stored)
            assert expected > 0, view.name
            assert selected(browser, web, collection, view, expected) == expected, view.name
    ups = {run["metadata"]["compare"]["direction"] for run in compare_runs
           if run["metadata"]["compare"]["delta"] > 0}  # fmt: skip
    assert ups == {"fail_to_pass", "changed"}  # improvements, binary and continuous


def test_the_two_sides_of_a_compared_task_are_told_apart(
    browser: Any, web: str, real_docent: RealDocent, compared: str, shots: Path
) -> None:
    for run in real_docent.runs(compared):
        side = run["metadata"]["compare"]["side"]
        assert run["name"].startswith(f"{side}: ")
    run = real_docent.runs(compared)[0]
    text = open_page(browser, f"{web}/dashboard/{compared}/agent_run/{run['id']}", "Transcript")
    browser.screenshot(path=str(shots / "compare.png"))
    assert run["name"] in text
