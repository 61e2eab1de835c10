"""What the benchmarks share: options, data sets, timing, subprocesses, tables and verdicts.

Not a benchmark itself (``run.py`` skips files whose name starts with ``_``). Every benchmark
measures nemogym-docent through its public API (``nemogym_docent.__all__``, the generated models
of ``nemogym_docent.models``) or its command line, and Docent's converter
(``docent.sdk.integrations.nemogym``) in the same run, so that each result is a ratio measured
under the same load.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "rollouts.jsonl"
CORPUS = REPO.parent / "shared" / "corpus"
MB = 1_000_000
CLI = Path(sys.executable).with_name("nemogym-docent")


# --- options ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """The sizes and repetitions of one run; ``--quick`` makes every default small."""

    quick: bool
    mb: float
    repeat: int
    small_mb: float
    big_mb: float
    invalid_mb: float
    verdicts: Path | None


def settings(description: str) -> Settings:
    """Parse the options every benchmark takes (``make bench BENCH_ARGS=...`` passes them)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small inputs, one rough pass")
    parser.add_argument("--mb", type=float, help="size of each in-process data set (50; quick 8)")
    parser.add_argument("--repeat", type=int, help="repetitions of each timing (3; quick 1)")
    parser.add_argument("--small-mb", type=float, help="file for --workers and RSS (100; 20)")
    parser.add_argument("--big-mb", type=float, help="large file for the RSS run (1000; 200)")
    parser.add_argument("--invalid-mb", type=float, help="invalid-heavy export (20; 3)")
    parser.add_argument("--verdicts", type=Path, help="append the targets to FILE (JSON lines)")
    args = parser.parse_args()
    quick = bool(args.quick)
    return Settings(
        quick=quick,
        mb=args.mb or (8 if quick else 50),
        repeat=args.repeat or (1 if quick else 3),
        small_mb=args.small_mb or (20 if quick else 100),
        big_mb=args.big_mb or (200 if quick else 1000),
        invalid_mb=args.invalid_mb or (3 if quick else 20),
        verdicts=args.verdicts,
    )


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as ``uptime`` prints them."""
    return ", ".join(f"{load:.2f}" for load in os.getloadavg())


def header(title: str, what: str) -> None:
    print(f"## {title}\n")
    print(
        f"{what} Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average {load_average()} at the start."
    )


def footer() -> None:
    print(f"\nload average {load_average()} at the end")


# --- data ---------------------------------------------------------------------------------


@dataclass
class Dataset:
    """Records as JSONL bytes in a file, and the same lines."""

    name: str
    path: Path
    lines: list[bytes]

    @property
    def size(self) -> int:
        return sum(len(line) + 1 for line in self.lines)


def example_templates() -> list[dict[str, Any]]:
    with EXAMPLES.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.jsonl")) if CORPUS.is_dir() else []


def docent_accepted(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Every record of ``paths`` that Docent's converter converts (read as its reader reads)."""
    # Docent's SDK takes seconds to import: only the benchmarks that use it pay for it.
    from docent.sdk.integrations import nemogym  # noqa: PLC0415
    from docent.sdk.integrations.util import ConversionError  # noqa: PLC0415

    accepted = []
    for path in paths:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    record = json.loads(line.strip())
                    nemogym.convert_nemogym_rollout_to_agent_run(record)
                except (json.JSONDecodeError, ConversionError):
                    continue
                accepted.append(record)
    return accepted


def replicated_lines(templates: list[dict[str, Any]], min_bytes: int) -> Iterator[bytes]:
    """Copies of ``templates``, each with its own ``_ng_task_index``, until ``min_bytes``."""
    written = 0
    index = 0
    while written < min_bytes:
        for template in templates:
            record = dict(template)
            if "_ng_task_index" in record:
                record["_ng_task_index"] = index
            index += 1
            line = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
            written += len(line) + 1
            yield line


def write_lines(path: Path, lines: Iterable[bytes]) -> list[bytes]:
    kept = []
    with path.open("wb") as out:
        for line in lines:
            out.write(line + b"\n")
            kept.append(line)
    return kept


def valid_datasets(work: Path, size_mb: float) -> list[Dataset]:
    """The bundled examples replicated to ``size_mb``, and the corpus records that Docent's
    converter accepts, replicated likewise (when ``../shared/corpus`` exists)."""
    examples = work / "examples.jsonl"
    lines = write_lines(examples, replicated_lines(example_templates(), int(size_mb * MB)))
    datasets = [Dataset("examples/rollouts.jsonl, replicated", examples, lines)]
    accepted = docent_accepted(corpus_files())
    if accepted:
        corpus = work / "corpus.jsonl"
        lines = write_lines(corpus, replicated_lines(accepted, int(size_mb * MB)))
        name = f"../shared/corpus, the {len(accepted)} records Docent accepts, replicated"
        datasets.append(Dataset(name, corpus, lines))
    else:
        print("\n(../shared/corpus is absent: corpus rows skipped)")
    return datasets


# --- timing -------------------------------------------------------------------------------


@dataclass
class Timing:
    """CPU and wall seconds of one measurement over its repetitions."""

    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        """The least CPU time: the shared machine's load disturbs it far less than wall time."""
        return min(self.cpu)


def timed(action: Callable[[], object], timing: Timing) -> None:
    """Run ``action`` once between two full collections, adding its times to ``timing``."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = action()
    timing.cpu.append(time.process_time() - cpu)
    timing.wall.append(time.perf_counter() - wall)
    del result
    gc.collect()


def interleaved(runs: dict[str, Callable[[], object]], repeat: int) -> dict[str, Timing]:
    """Every action ``repeat`` times, alternating the order of each round."""
    timings = {name: Timing() for name in runs}
    order = list(runs)
    for round_number in range(repeat):
        for name in order if round_number % 2 == 0 else reversed(order):
            timed(runs[name], timings[name])
            print(".", end="", flush=True, file=sys.stderr)
    print(file=sys.stderr)
    return timings


@contextmanager
def frozen_inputs() -> Iterator[None]:
    """Keep what the harness holds (lines, parsed records) out of the collector's scans."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.collect()


@dataclass
class ProcessRun:
    """One subprocess: wall and CPU seconds, peak RSS of its largest process, exit code."""

    seconds: float
    peak_rss_mb: float
    returncode: int
    stderr: str
    cpu_seconds: float = 0.0


# Runs a command and prints the peak RSS (KiB) of its largest process. A child forked from the
# (large) benchmark process would inherit its peak in ru_maxrss; one forked from this small
# wrapper does not.
_PEAK_RSS_WRAPPER = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(usage.ru_maxrss, code, usage.ru_utime + usage.ru_stime, file=sys.stderr)
"""


def run_process(arguments: list[str]) -> ProcessRun:
    """Run a command (its output discarded); its times and peak RSS."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS_WRAPPER, *arguments],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        cwd=REPO,
        check=False,
    )
    elapsed = time.perf_counter() - start
    stderr = result.stderr.decode(errors="replace").rstrip().splitlines()
    peak_kib, code, cpu = stderr[-1].split()
    return ProcessRun(elapsed, int(peak_kib) / 1024, int(code), "\n".join(stderr[:-1]), float(cpu))


def median(values: Iterable[float]) -> float:
    return statistics.median(values)


# --- report -------------------------------------------------------------------------------


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |")


@dataclass
class Verdict:
    """One target: what was measured, and whether it is met (None: not measured)."""

    target: str
    measured: str
    met: bool | None


def report_verdicts(options: Settings, verdicts: list[Verdict]) -> None:
    """Print the targets of one benchmark; append them to ``--verdicts`` for ``run.py``."""
    print("\nTargets:\n")
    print_table(["target", "measured", "met"], [verdict_row(v) for v in verdicts])
    if options.verdicts is not None:
        with options.verdicts.open("a", encoding="utf-8") as out:
            for verdict in verdicts:
                out.write(json.dumps(asdict(verdict)) + "\n")


def verdict_row(verdict: Verdict) -> list[str]:
    met = "n/a" if verdict.met is None else ("yes" if verdict.met else "NO")
    return [verdict.target, verdict.measured, met]
