"""How fast are `validate` and `convert --skip-invalid` on an export that is mostly refused?

Run from the repository root: ``.venv/bin/python benchmarks/invalid_heavy.py [--quick]``.
Every line of every ``../shared/corpus`` file (real NeMo Gym example files, most refused
strictly; without the corpus, the bundled examples with two refused variants of each), repeated
to ``--invalid-mb``: ``nemogym-docent validate`` and ``convert --skip-invalid`` against Docent's
converter run over every line of the same file, writing each refusal's message. Docent's time
leaves out its imports (seconds: its SDK client loads); ours include the command's start-up.
The verdict compares CPU time, which the shared machine's load disturbs far less than wall time.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import (
    CLI,
    MB,
    ProcessRun,
    Verdict,
    corpus_files,
    example_templates,
    footer,
    header,
    print_table,
    report_verdicts,
    run_process,
    settings,
)

LIMIT = 2.0

# Docent's converter over every line of a file, as its file reader reads one, keeping going past
# a refused line and writing each refusal's message (its file reader stops at the first). It
# reports its own time without its imports, which take seconds (Docent's SDK client).
_DOCENT_EVERY_LINE = """
import json, sys, time
from docent.sdk.integrations.nemogym import convert_nemogym_rollout_to_agent_run
from docent.sdk.integrations.util import ConversionError
start, cpu = time.perf_counter(), time.process_time()
path, converted, refused = sys.argv[1], 0, []
with open(path, encoding="utf-8") as lines:
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            refused.append(f"{path}: invalid JSON on line {number} ({exc.msg})")
            continue
        try:
            convert_nemogym_rollout_to_agent_run(record)
            converted += 1
        except (ConversionError, AttributeError, TypeError) as exc:
            refused.append(f"{path}: line {number}: {exc}")
sys.stdout.write("\\n".join(refused))
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
print(converted, len(refused), elapsed, cpu, file=sys.stderr)
"""


def invalid_heavy_lines() -> tuple[str, list[bytes]]:
    """Real example exports as they are, or the bundled examples with two refused variants
    each (no identity keys, as older exports; the output as cumulative snapshots)."""
    files = corpus_files()
    if files:
        lines = [line for path in files for line in path.read_bytes().splitlines()]
        return "../shared/corpus, every line of every file", lines
    lines = []
    for template in example_templates():
        older = {k: v for k, v in template.items() if not k.startswith(("_ng", "agent_ref"))}
        output = template["response"]["output"]
        snapshots: dict[str, Any] = {**template, "response": {**template["response"]}}
        snapshots["response"]["output"] = [output]
        lines += [json.dumps(record).encode() for record in (template, older, snapshots)]
    return "examples/rollouts.jsonl with two refused variants of each record", lines


def main() -> None:
    options = settings(__doc__.splitlines()[0])
    header(
        "Invalid-heavy export: validate and convert --skip-invalid",
        f"Best of {options.repeat} interleaved runs (CPU time), subprocesses.",
    )
    what, lines = invalid_heavy_lines()
    with tempfile.TemporaryDirectory(prefix="nemogym-bench-") as work:
        path = Path(work) / "invalid_heavy.jsonl"
        size = 0
        with path.open("wb") as out:
            while size < options.invalid_mb * MB:
                for line in lines:
                    out.write(line + b"\n")
                    size += len(line) + 1
        commands = {
            "Docent's converter": [sys.executable, "-c", _DOCENT_EVERY_LINE, str(path)],
            "validate": [str(CLI), "validate", "--quiet", str(path)],
            "convert": [
                *(str(CLI), "convert", "--quiet", "--skip-invalid", "-o", os.devnull, str(path))
            ],
        }
        runs: dict[str, list[ProcessRun]] = {name: [] for name in commands}
        for round_number in range(options.repeat):
            order = list(commands) if round_number % 2 == 0 else list(reversed(commands))
            for name in order:
                runs[name].append(run_process(commands[name]))
    for run in runs["Docent's converter"]:  # timed by itself, without its imports
        run.seconds, run.cpu_seconds = map(float, run.stderr.split()[-2:])
    best = {name: min(timed, key=lambda run: run.cpu_seconds) for name, timed in runs.items()}
    docent = best["Docent's converter"]
    converted, refused = map(int, docent.stderr.split()[-4:-2])
    print(f"\n### {what}, repeated to {size / MB:.1f} MB\n")
    print(
        f"Docent's converter refuses {refused / (converted + refused):.0%} of the lines "
        f"({refused} of {converted + refused}).\n"
    )
    print_table(
        ["command", "CPU s (best)", "CPU s (all)", "wall s", "÷ Docent (CPU)", "÷ Docent (wall)"],
        [
            [
                name if name.startswith("Docent") else f"nemogym-docent {name}",
                f"{best[name].cpu_seconds:.2f}",
                ", ".join(f"{run.cpu_seconds:.2f}" for run in runs[name]),
                f"{best[name].seconds:.2f}",
                f"{best[name].cpu_seconds / docent.cpu_seconds:.2f}×",
                f"{best[name].seconds / docent.seconds:.2f}×",
            ]
            for name in commands
        ],
    )
    for name, timed in runs.items():
        if any(run.returncode not in (0, 1) for run in timed):
            print(f"\n{name}: unexpected exit code; stderr:\n{timed[-1].stderr[-2000:]}")
    report_verdicts(
        options,
        [
            Verdict(
                f"invalid-heavy: {label} ≤ {LIMIT:g}× Docent's converter's CPU time",
                f"{best[name].cpu_seconds / docent.cpu_seconds:.2f}× "
                f"({best[name].cpu_seconds:.2f} vs {docent.cpu_seconds:.2f} s; "
                f"wall {best[name].seconds / docent.seconds:.2f}×)",
                best[name].cpu_seconds <= LIMIT * docent.cpu_seconds,
            )
            for name, label in (("validate", "validate"), ("convert", "convert --skip-invalid"))
        ],
    )
    footer()


if __name__ == "__main__":
    main()
