"""How fast is `nemogym-docent convert` on large files, with how much memory, and with two workers?

Run from the repository root: ``.venv/bin/python benchmarks/cli_convert.py [--quick]``.
``convert`` on a ``--small-mb`` and a ``--big-mb`` file of replicated example records (wall time
and the peak RSS of its largest process), the selection options on the small one, and
``--workers 2`` against ``--workers 1`` (interleaved runs, the fastest of each kept).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from _common import (
    CLI,
    MB,
    ProcessRun,
    Verdict,
    example_templates,
    footer,
    header,
    print_table,
    replicated_lines,
    report_verdicts,
    run_process,
    settings,
)

WORKER_RUNS = 3
# Every example record has a reward of at least 0, so the first condition keeps them all: the
# row shows what evaluating it costs, not what converting fewer records saves.
SELECTIONS = (
    ("--where 'reward >= 0' (keeps all)", ["--where", "reward >= 0"]),
    ("--where 'reward < 1' (keeps 1/3)", ["--where", "reward < 1"]),
    ("--sample 1000", ["--sample", "1000"]),
)


def write_file(path: Path, size_mb: float) -> int:
    size = 0
    with path.open("wb") as out:
        for line in replicated_lines(example_templates(), int(size_mb * MB)):
            out.write(line + b"\n")
            size += len(line) + 1
    return size


def fastest(runs: list[ProcessRun]) -> ProcessRun:
    return min(runs, key=lambda run: run.seconds)


def main() -> None:
    options = settings(__doc__.splitlines()[0])
    header("nemogym-docent convert on large files", "Subprocesses, wall time.")
    convert = [str(CLI), "convert", "--quiet", "--output", os.devnull]
    rows: list[tuple[str, int, ProcessRun]] = []
    with tempfile.TemporaryDirectory(prefix="nemogym-bench-") as work:
        small, big = Path(work) / "small.jsonl", Path(work) / "big.jsonl"
        small_size = write_file(small, options.small_mb)
        ones, twos = [], []
        for _ in range(WORKER_RUNS):  # interleaved: the machine is shared
            ones.append(run_process([*convert, str(small)]))
            twos.append(run_process([*convert, "--workers", "2", str(small)]))
        one, two = fastest(ones), fastest(twos)
        rows.append(("convert", small_size, one))
        for label, selection in SELECTIONS:
            runs = [run_process([*convert, *selection, str(small)]) for _ in range(WORKER_RUNS)]
            rows.append((f"convert {label}", small_size, fastest(runs)))
        rows.append(("convert --workers 2", small_size, two))
        big_size = write_file(big, options.big_mb)
        large = run_process([*convert, str(big)])
        rows.append(("convert", big_size, large))
    print()
    print_table(
        ["nemogym-docent", "input MB", "wall s", "MB/s", "ms per MB", "peak RSS MB", "exit"],
        [
            [
                label,
                f"{nbytes / MB:.0f}",
                f"{run.seconds:.1f}",
                f"{nbytes / MB / run.seconds:.1f}",
                f"{run.seconds * 1000 / (nbytes / MB):.0f}",
                f"{run.peak_rss_mb:.0f}",
                str(run.returncode),
            ]
            for label, nbytes, run in rows
        ],
    )
    for label, _, run in rows:
        if run.returncode != 0:
            print(f"\n{label}: exit {run.returncode}; stderr:\n{run.stderr[-2000:]}")
    peak = max(one.peak_rss_mb, large.peak_rss_mb)
    report_verdicts(
        options,
        [
            Verdict(
                "convert peak RSS < 150 MB and flat (small vs large file)",
                f"{one.peak_rss_mb:.0f} MB vs {large.peak_rss_mb:.0f} MB",
                peak < 150 and large.peak_rss_mb < one.peak_rss_mb * 1.2 + 10,
            ),
            Verdict(
                "--workers 2 ≥ 1.7× faster than --workers 1",
                f"{one.seconds / two.seconds:.2f}× ({one.seconds:.1f} s → {two.seconds:.1f} s)",
                one.seconds / two.seconds >= 1.7,
            ),
        ],
    )
    footer()


if __name__ == "__main__":
    main()
