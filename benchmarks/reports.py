"""How long does a report take, how large is it, and how fast does it open in a browser?

Run from the repository root: ``.venv/bin/python benchmarks/reports.py [--quick]``.
A made NeMo Gym 0.7 export of 100,000 rollouts (6,250 tasks × 16, binary rewards, an answer
field, ``ng_perf``, 2% masked; ``--quick``: 625 tasks × 16), and a candidate of the same shape.
Fresh processes, the medians of ``--repeat`` runs (CPU seconds):

- ``summary --format json`` against ``summary --format json --html FILE`` (target: at most 2×);
- ``compare --format json`` against ``compare --format json --html FILE``;
- the sizes of both pages (target: under 5 MB);
- the time each page takes to load in headless Chromium (Debian's ``chromium``, through
  Playwright): from ``goto`` to the ``load`` event, the median of 5 (target: under 2 s).
"""

from __future__ import annotations

import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    CLI,
    Verdict,
    footer,
    header,
    median,
    print_table,
    report_verdicts,
    run_process,
    settings,
)

OPENS = 5


def export(path: Path, tasks: int, skill: float, seed: int) -> None:
    draw = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for task in range(tasks):
            hardness = draw.random()
            for repeat in range(16):
                passed = draw.random() * skill / max(hardness, 0.05) > 0.5
                row: dict[str, Any] = {
                    "agent_ref": {"name": "math_agent"},
                    "_ng_environment_server": "math_agent",
                    "_ng_result_type": "legacy_agent",
                    "_ng_task_index": task,
                    "_ng_rollout_index": repeat,
                    "responses_create_params": {"input": f"question {task}"},
                    "response": {"output": []},
                    "reward": 1.0 if passed else 0.0,
                    "extracted_answer": str(int(passed)),
                    "ng_perf": {"prompt_tokens": 100, "total_latency_ms": 1000 * draw.random()},
                }
                if draw.random() < 0.02:
                    row["mask_sample"] = True
                out.write(json.dumps(row) + "\n")


def cpu(arguments: list[str], repeat: int) -> float:
    runs = [run_process(arguments) for _ in range(repeat)]
    failed = [run for run in runs if run.returncode != 0]
    if failed:
        raise SystemExit(f"{' '.join(arguments)} failed: {failed[0].stderr}")
    return median(run.cpu_seconds for run in runs)


def open_seconds(page: Path) -> tuple[float, list[str]]:
    """The median load time of the page, and every request it made."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    times, requests = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for _ in range(OPENS):
            tab = browser.new_page()
            tab.on("request", lambda request: requests.append(request.url))
            start = time.perf_counter()
            tab.goto(page.as_uri(), wait_until="load")
            times.append(time.perf_counter() - start)
            tab.close()
        browser.close()
    return median(times), sorted(set(requests) - {page.as_uri()})


def main() -> None:
    options = settings(__doc__.splitlines()[0])
    header("Reports at scale", "Fresh processes; CPU seconds, medians.")
    tasks = 625 if options.quick else 6_250
    repeat = max(options.repeat, 1)
    verdicts = []
    with tempfile.TemporaryDirectory(prefix="nemogym-bench-") as work:
        folder = Path(work)
        base, cand = folder / "baseline.jsonl", folder / "candidate.jsonl"
        export(base, tasks, 0.5, 1)
        export(cand, tasks, 0.55, 2)
        rollouts = tasks * 16
        rows = []
        for kind, inputs in (("summary", [str(base)]), ("compare", [str(base), str(cand)])):
            page = folder / f"{kind}.html"
            plain = cpu([str(CLI), kind, *inputs, "--format", "json", "-q"], repeat)
            with_page = cpu(
                [str(CLI), kind, *inputs, "--format", "json", "-q", "--html", str(page)], repeat
            )
            size = page.stat().st_size / 1_000_000
            opened, requests = open_seconds(page)
            ratio = with_page / plain
            rows.append(
                [
                    kind,
                    f"{plain:.2f}",
                    f"{with_page:.2f}",
                    f"{ratio:.2f}×",
                    f"{size:.2f}",
                    f"{opened:.2f}",
                ]
            )
            label = f"{kind} of {rollouts:,} rollouts"
            verdicts += [
                Verdict(f"{label}: with --html ≤ 2× --format json", f"{ratio:.2f}×", ratio <= 2),
                Verdict(f"{label}: page < 5 MB", f"{size:.2f} MB", size < 5),
                Verdict(
                    f"{label}: opens in < 2 s, no request",
                    f"{opened:.2f} s, {len(requests)} requests",
                    opened < 2 and not requests,
                ),
            ]
    print(f"\n### {rollouts:,} rollouts ({tasks:,} tasks × 16)\n")
    print_table(
        ["command", "--format json s", "+ --html s", "ratio", "page MB", "opens in s"], rows
    )
    report_verdicts(options, verdicts)
    footer()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
