"""Run every benchmark, each in a fresh process, and end with one table of their targets.

``make bench`` runs this; ``make bench BENCH_ARGS=--quick`` passes ``--quick`` (and any other
option of ``_common.settings``) to each benchmark. ``--only NAME[,NAME...]`` runs some of them.
``server_upload.py`` runs only when a Docent server is configured (``DOCENT_API_KEY`` and
``DOCENT_API_URL``, as ``../shared/docent-server/start.sh`` writes them); otherwise one line
says it is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, Verdict, load_average, print_table, verdict_row

HERE = Path(__file__).resolve().parent
ORDER = (
    "valid_records",
    "where_time_goes",
    "nemogym_07",
    "invalid_heavy",
    "startup",
    "cli_convert",
    "ray_convert",
    "server_upload",
)
SERVER = ("DOCENT_API_KEY", "DOCENT_API_URL")


def benchmarks() -> list[str]:
    """Every benchmark file: those of ``ORDER`` first, in that order, then any other."""
    present = {path.stem for path in HERE.glob("*.py") if not path.stem.startswith("_")}
    present.discard("run")
    return [name for name in ORDER if name in present] + sorted(present - set(ORDER))


def command(name: str, options: list[str], verdicts: Path) -> list[str] | None:
    """How to run one benchmark, or None (with the reason printed) when it cannot run here."""
    script = str(HERE / f"{name}.py")
    if name == "server_upload":
        if not all(os.environ.get(variable) for variable in SERVER):
            print(f"server_upload: skipped (no Docent server: set {' and '.join(SERVER)})")
            return None
        return [sys.executable, script, *(["--runs", "100"] if "--quick" in options else [])]
    return [sys.executable, script, *options, "--verdicts", str(verdicts)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated benchmark names (default: all)")
    args, options = parser.parse_known_args()
    names = benchmarks()
    if args.only:
        names = [name for name in names if name in args.only.split(",")]
    quick = "--quick" in options
    print(f"# nemogym-docent benchmarks ({'quick' if quick else 'full'})\n")
    print(f"load average {load_average()} at the start; {', '.join(names)}\n")
    started = time.perf_counter()
    failed = []
    with tempfile.TemporaryDirectory(prefix="nemogym-bench-") as work:
        verdicts = Path(work) / "verdicts.jsonl"
        verdicts.touch()
        for name in names:
            arguments = command(name, options, verdicts)
            if arguments is None:
                continue
            sys.stdout.flush()
            if subprocess.run(arguments, cwd=REPO, check=False).returncode != 0:
                failed.append(name)
            print()
        rows = [
            verdict_row(Verdict(**json.loads(line)))
            for line in verdicts.read_text(encoding="utf-8").splitlines()
        ]
    print("# targets\n")
    print_table(["target", "measured", "met"], rows)
    minutes = (time.perf_counter() - started) / 60
    print(f"\nload average {load_average()} at the end; {minutes:.1f} minutes")
    if failed:
        print(f"failed: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
