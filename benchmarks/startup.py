"""How long do the command line's start-up and the package's import take?

Run from the repository root: ``.venv/bin/python benchmarks/startup.py [--quick]``.
CPU and wall time of ``--help``, ``schema --path`` and a one-line ``convert`` (medians of five
fresh processes), the time of ``import nemogym_docent`` and of importing a converter (medians of
seven fresh interpreters), and whether a conversion loads Docent's SDK client or inspect_ai.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import (
    CLI,
    EXAMPLES,
    REPO,
    Verdict,
    footer,
    header,
    median,
    print_table,
    report_verdicts,
    run_process,
    settings,
)

STARTUP_RUNS = 5
IMPORT_RUNS = 7


def startup(work: Path) -> list[Verdict]:
    one_line = work / "one_line.jsonl"
    one_line.write_bytes(EXAMPLES.read_bytes().splitlines()[0] + b"\n")
    commands = [
        ("nemogym-docent --help", [str(CLI), "--help"], 0.3),
        ("nemogym-docent schema --path", [str(CLI), "schema", "--path"], 0.3),
        (
            "nemogym-docent convert (one line)",
            [str(CLI), "convert", "--quiet", "-o", os.devnull, str(one_line)],
            0.6,
        ),
    ]
    rows, verdicts = [], []
    for label, command, limit in commands:
        runs = [run_process(command) for _ in range(STARTUP_RUNS)]
        cpu = median(run.cpu_seconds for run in runs)
        wall = median(run.seconds for run in runs)
        rows.append([label, f"{cpu:.2f}", f"{wall:.2f}", str(runs[0].returncode)])
        verdicts.append(
            Verdict(f"{label} ≤ {limit} s CPU", f"{cpu:.2f} s (wall {wall:.2f} s)", cpu <= limit)
        )
    print(f"\n### start-up (median of {STARTUP_RUNS} fresh processes)\n")
    print_table(["command", "CPU s", "wall s", "exit"], rows)
    return verdicts


def import_seconds(statement: str) -> float:
    return median(
        run_process([sys.executable, "-c", statement]).seconds for _ in range(IMPORT_RUNS)
    )


def imports() -> Verdict:
    package = import_seconds("import nemogym_docent")
    converter = import_seconds("from nemogym_docent import convert_nemogym_rollout_to_agent_run")
    probe = (
        "import sys, nemogym_docent; "
        "nemogym_docent.convert_nemogym_jsonl_file_to_agent_runs('examples/rollouts.jsonl'); "
        "print(' '.join(m for m in sys.modules if m.startswith(('docent.sdk', 'inspect_ai'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout.split()
    print(f"\n### import (median of {IMPORT_RUNS} fresh interpreters)\n")
    print(f'`python -c "import nemogym_docent"`: {package:.2f} s')
    print(
        '`python -c "from nemogym_docent import convert_nemogym_rollout_to_agent_run"`: '
        f"{converter:.2f} s"
    )
    print(f"Docent SDK client or inspect_ai loaded by a conversion: {' '.join(loaded) or 'none'}")
    return Verdict(
        "import < 0.6 s, without docent.sdk or inspect_ai (package; with converter)",
        f"{package:.2f} s; {converter:.2f} s",
        converter < 0.6 and not loaded,
    )


def main() -> None:
    options = settings(__doc__.splitlines()[0])
    header("Start-up and import", "Fresh processes.")
    with tempfile.TemporaryDirectory(prefix="nemogym-bench-") as work:
        verdicts = startup(Path(work))
    verdicts.append(imports())
    report_verdicts(options, verdicts)
    footer()


if __name__ == "__main__":
    main()
