"""Benchmark nemogym-docent against Docent's own NeMo Gym converter on this machine.

Run from the repository root: ``.venv/bin/python scripts/bench.py`` (or ``make bench``);
``--quick`` uses small inputs for a rough run in about a minute. Generated data goes to a
temporary directory that is removed at the end.

In one process, on the same records, interleaved and repeated (best run kept), it times:
``orjson.loads`` alone (the floor), converting parsed dicts, converting a JSONL file to a list
of AgentRuns, and ``validate_nemogym_rollout``; then where the time of one record goes, step
by step, against the time the 4.5× target leaves. Then, as subprocesses: peak RSS of
``nemogym-docent convert`` on a large and a small file, ``--workers 2`` against ``--workers 1``,
``nemogym-docent validate`` and ``convert --skip-invalid`` on an invalid-heavy export, start-up,
and the time of ``import nemogym_docent``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from docent.data_models.agent_run import AgentRun
from docent.sdk.integrations import nemogym as docent_nemogym
from docent.sdk.integrations.util import ConversionError as DocentConversionError

import nemogym_docent
from nemogym_docent.jsonl.parsing import parse_line
from nemogym_docent.mapping.cleaning import drop_empty_values
from nemogym_docent.models import StrictRollout

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "rollouts.jsonl"
CORPUS = REPO.parent / "shared" / "corpus"
MB = 1_000_000
CLI = Path(sys.executable).with_name("nemogym-docent")
WORKER_RUNS = 3


@dataclass
class Dataset:
    """Records as JSONL bytes in a file, and the same records parsed."""

    name: str
    path: Path
    lines: list[bytes]
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(len(line) + 1 for line in self.lines)


@dataclass
class Timing:
    """Best and median wall time of one measurement over the repetitions."""

    seconds: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


# --- data -------------------------------------------------------------------------------


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


def write_lines(path: Path, lines: Iterator[bytes] | list[bytes]) -> list[bytes]:
    kept = []
    with path.open("wb") as out:
        for line in lines:
            out.write(line + b"\n")
            kept.append(line)
    return kept


def write_big_file(path: Path, templates: list[dict[str, Any]], min_bytes: int) -> int:
    """Stream replicated records to ``path`` without holding them; returns the size."""
    size = 0
    with path.open("wb") as out:
        for line in replicated_lines(templates, min_bytes):
            out.write(line + b"\n")
            size += len(line) + 1
    return size


def example_templates() -> list[dict[str, Any]]:
    with EXAMPLES.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def docent_accepted_corpus_records() -> list[dict[str, Any]]:
    """Every corpus record that Docent's converter converts (read as its file reader reads)."""
    accepted = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    record = json.loads(line.strip())
                    docent_nemogym.convert_nemogym_rollout_to_agent_run(record)
                except (json.JSONDecodeError, DocentConversionError):
                    continue
                accepted.append(record)
    return accepted


def make_dataset(name: str, path: Path, lines: list[bytes]) -> Dataset:
    return Dataset(name, path, lines, [orjson.loads(line) for line in lines])


# --- in-process timings -------------------------------------------------------------------


def timed(action: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - start
    del result
    gc.collect()
    return elapsed


def parse_all(data: Dataset) -> None:
    loads = orjson.loads
    for line in data.lines:
        loads(line)


def convert_each(convert: Callable[[dict[str, Any]], object], records: list[Any]) -> None:
    for record in records:
        convert(record)


def measure_in_process(data: Dataset, repeat: int, validate_records: int) -> dict[str, Timing]:
    """Interleave every measurement ``repeat`` times, alternating which converter goes first."""
    subset = data.records[:validate_records]
    runs: dict[str, Callable[[], object]] = {
        "orjson.loads": lambda: parse_all(data),
        "ours dicts": lambda: convert_each(
            nemogym_docent.convert_nemogym_rollout_to_agent_run, data.records
        ),
        "docent dicts": lambda: convert_each(
            docent_nemogym.convert_nemogym_rollout_to_agent_run, data.records
        ),
        "ours file": lambda: nemogym_docent.convert_nemogym_jsonl_file_to_agent_runs(data.path),
        "docent file": lambda: docent_nemogym.convert_nemogym_jsonl_file_to_agent_runs(data.path),
        "ours file, streamed": lambda: sum(
            1 for _ in nemogym_docent.iter_nemogym_jsonl_file_to_agent_runs(data.path)
        ),
        "ours validate": lambda: convert_each(nemogym_docent.validate_nemogym_rollout, subset),
    }
    timings = {name: Timing() for name in runs}
    order = list(runs)
    for round_number in range(repeat):
        for name in order if round_number % 2 == 0 else reversed(order):
            timings[name].seconds.append(timed(runs[name]))
            print(".", end="", flush=True, file=sys.stderr)
    print(file=sys.stderr)
    return timings


# --- where the time goes -------------------------------------------------------------------

SPLIT_RECORDS = 1500


def time_split(data: Dataset, repeat: int) -> dict[str, float]:
    """Microseconds per record of each step of a conversion, both converters, same records.

    The steps the schema-first design and the output require, whatever the code around them:
    parsing, validating against the generated models, Docent's data models (built once from
    plain values: the cheapest way to build an AgentRun) and dropping empty values from the
    request and response kept as metadata (Docent's layout).
    """
    lines, records = data.lines[:SPLIT_RECORDS], data.records[:SPLIT_RECORDS]
    runs = [nemogym_docent.convert_nemogym_rollout_to_agent_run(record) for record in records]
    dumps = [run.model_dump() for run in runs]
    kept = [
        {
            "request": _without(record["responses_create_params"], "input"),
            "response": _without(record["response"], "output"),
            "benchmark_fields": _without(record, "responses_create_params", "response"),
        }
        for record in records
    ]
    steps: dict[str, Callable[[], object]] = {
        "Docent: json.loads": lambda: [json.loads(line) for line in lines],
        "Docent: convert": lambda: convert_each(
            docent_nemogym.convert_nemogym_rollout_to_agent_run, records
        ),
        "ours: parse": lambda: [parse_line(line) for line in lines],
        "ours: convert": lambda: convert_each(
            nemogym_docent.convert_nemogym_rollout_to_agent_run, records
        ),
        "validate (StrictRollout)": lambda: [StrictRollout.model_validate(r) for r in records],
        "AgentRun built once": lambda: [AgentRun.model_validate(dump) for dump in dumps],
        "drop empty values": lambda: [drop_empty_values(fields) for fields in kept],
    }
    best = {name: min(timed(step) for _ in range(repeat)) for name, step in steps.items()}
    return {name: seconds / len(records) * 1e6 for name, seconds in best.items()}


def _without(value: Any, *keys: str) -> Any:
    return {k: v for k, v in value.items() if k not in keys} if isinstance(value, dict) else value


def report_time_split(name: str, split: dict[str, float]) -> None:
    docent = split["Docent: json.loads"] + split["Docent: convert"]
    ours = split["ours: parse"] + split["ours: convert"]
    floor = (
        split["ours: parse"]
        + split["validate (StrictRollout)"]
        + split["AgentRun built once"]
        + split["drop empty values"]
    )
    print(f"\nWhere the time goes, {name} (µs per record, first {SPLIT_RECORDS:,} records):\n")
    print_table(["step", "µs"], [[step, f"{us:.0f}"] for step, us in split.items()])
    print(
        f"\nDocent parses and converts a record in {docent:.0f} µs; 4.5× that speed leaves "
        f"{docent / 4.5:.0f} µs. Ours takes {ours:.0f} µs ({docent / ours:.2f}×). The required "
        f"steps alone (parse, validate, AgentRun built once, drop empty values) take "
        f"{floor:.0f} µs: at most {docent / floor:.2f}× with no other work at all."
    )


# --- subprocess timings -------------------------------------------------------------------


@dataclass
class ProcessRun:
    seconds: float
    peak_rss_mb: float
    returncode: int
    stderr: str
    cpu_seconds: float = 0.0


# Runs a command and prints the peak RSS (KiB) of its largest process. A child forked from this
# (large) benchmark process would inherit its peak in ru_maxrss; one forked from this small
# wrapper does not.
_PEAK_RSS_WRAPPER = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(usage.ru_maxrss, code, usage.ru_utime + usage.ru_stime, file=sys.stderr)
"""


def run_process(arguments: list[str]) -> ProcessRun:
    """Run a command; its wall time and peak RSS (largest single process, in MB)."""
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


def cli_options(command: str) -> str | None:
    """The help text of ``nemogym-docent COMMAND``, or None when the CLI or command is missing."""
    if not CLI.exists():
        return None
    result = subprocess.run(
        [str(CLI), command, "--help"], capture_output=True, text=True, cwd=REPO, check=False
    )
    return result.stdout if result.returncode == 0 else None


def import_times(statement: str, repeat: int) -> tuple[list[float], list[str]]:
    """Wall times of ``python -c STATEMENT``; heavy modules loaded after it and a conversion."""
    seconds = [run_process([sys.executable, "-c", statement]).seconds for _ in range(repeat)]
    probe = (
        f"import sys; {statement}; import nemogym_docent; "
        "nemogym_docent.convert_nemogym_jsonl_file_to_agent_runs('examples/rollouts.jsonl'); "
        "print(' '.join(m for m in sys.modules if m.startswith(('docent.sdk', 'inspect_ai'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout.split()
    return seconds, loaded


# --- report -------------------------------------------------------------------------------


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |")


def report_in_process(data: Dataset, timings: dict[str, Timing], validate_records: int) -> None:
    records, size = len(data.lines), data.size
    print(f"\n### {data.name}: {records:,} records, {size / MB:.1f} MB\n")

    def speed(seconds: float, count: int = records, nbytes: int = size) -> str:
        return f"{count / seconds:,.0f} ({nbytes / MB / seconds:.1f})"

    floor = timings["orjson.loads"].best
    docent_file = timings["docent file"].best
    rows = [["orjson.loads alone (the floor)", speed(floor), "", "", "1.0×"]]
    for label, ours, docent in [
        ("dicts → AgentRuns", "ours dicts", "docent dicts"),
        ("JSONL file → list of AgentRuns", "ours file", "docent file"),
    ]:
        ours_s, docent_s = timings[ours].best, timings[docent].best
        rows.append(
            [
                label,
                speed(ours_s),
                speed(docent_s),
                f"{docent_s / ours_s:.2f}×",
                f"{ours_s / floor:.1f}×",
            ]
        )
    streamed = timings["ours file, streamed"].best
    rows.append(
        [
            "JSONL file → AgentRuns, streamed (iterator)",
            speed(streamed),
            "(list, as above)",
            f"{docent_file / streamed:.2f}×",
            f"{streamed / floor:.1f}×",
        ]
    )
    validate_size = sum(len(line) + 1 for line in data.lines[:validate_records])
    rows.append(
        [
            f"validate_nemogym_rollout (first {validate_records:,} records)",
            speed(timings["ours validate"].best, validate_records, validate_size),
            "",
            "",
            "",
        ]
    )
    print_table(
        ["what", "ours: records/s (MB/s)", "Docent: records/s (MB/s)", "ours/Docent", "÷ orjson"],
        rows,
    )


@dataclass
class Verdict:
    target: str
    measured: str
    met: bool | None  # None: not measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs, one rough pass")
    parser.add_argument("--mb", type=float, help="size of each in-process data set (default 50)")
    parser.add_argument("--repeat", type=int, help="repetitions of each timing (default 3)")
    parser.add_argument("--big-mb", type=float, help="large file for the RSS run (default 1000)")
    parser.add_argument("--small-mb", type=float, help="small file for RSS and --workers (100)")
    parser.add_argument("--invalid-mb", type=float, help="invalid-heavy export (default 20)")
    parser.add_argument("--no-cli", action="store_true", help="skip the subprocess runs")
    args = parser.parse_args()
    size_mb = args.mb or (8 if args.quick else 50)
    repeat = args.repeat or (1 if args.quick else 3)
    big_mb = args.big_mb or (200 if args.quick else 1000)
    small_mb = args.small_mb or (20 if args.quick else 100)
    invalid_mb = args.invalid_mb or (3 if args.quick else 20)

    print(f"# nemogym-docent benchmark ({'quick' if args.quick else 'full'})\n")
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f} at the start; best of {repeat} interleaved runs; "
        "records/s count records, MB/s count JSONL bytes."
    )
    with tempfile.TemporaryDirectory(prefix="nemogym-bench-") as tmp:
        work = Path(tmp)
        templates = example_templates()
        verdicts = in_process_section(work, templates, size_mb, repeat, args.quick)
        if not args.no_cli:
            verdicts += invalid_heavy_section(work, templates, invalid_mb, repeat)
            verdicts += startup_section(work)
            verdicts += cli_section(work, templates, big_mb, small_mb)
    verdicts.append(import_section())

    print("\n### targets\n")
    print_table(
        ["target", "measured", "met"],
        [
            [v.target, v.measured, "n/a" if v.met is None else ("yes" if v.met else "NO")]
            for v in verdicts
        ],
    )
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


def in_process_section(
    work: Path, templates: list[dict[str, Any]], size_mb: float, repeat: int, quick: bool
) -> list[Verdict]:
    """Time both converters in this process, on valid records."""
    examples = work / "examples.jsonl"
    datasets = [
        make_dataset(
            "examples/rollouts.jsonl, replicated",
            examples,
            write_lines(examples, replicated_lines(templates, int(size_mb * MB))),
        )
    ]
    corpus = docent_accepted_corpus_records() if CORPUS.is_dir() else []
    if corpus:
        corpus_file = work / "corpus.jsonl"
        datasets.append(
            make_dataset(
                f"../shared/corpus, the {len(corpus)} records Docent accepts, replicated",
                corpus_file,
                write_lines(corpus_file, replicated_lines(corpus, int(size_mb * MB))),
            )
        )
    else:
        print("\n(../shared/corpus is absent: corpus rows skipped)")
    # The parsed inputs belong to the harness, not to the converters: keep them out of GC scans.
    gc.collect()
    gc.freeze()
    file_ratios, streamed_ratios, floor_ratios, validate_rates, docent_rates = [], [], [], [], []
    for data in datasets:
        validate_records = max(1, min(len(data.lines), 3 if quick else 200))
        timings = measure_in_process(data, repeat, validate_records)
        report_in_process(data, timings, validate_records)
        report_time_split(data.name, time_split(data, repeat))
        ours_file, docent_file = timings["ours file"].best, timings["docent file"].best
        file_ratios.append(docent_file / ours_file)
        streamed_ratios.append(docent_file / timings["ours file, streamed"].best)
        floor_ratios.append(ours_file / timings["orjson.loads"].best)
        validate_size = sum(len(line) + 1 for line in data.lines[:validate_records])
        validate_rates.append(validate_size / MB / timings["ours validate"].best)
        docent_rates.append(data.size / MB / timings["docent dicts"].best)
    del datasets
    gc.unfreeze()
    gc.collect()
    pairs = list(zip(validate_rates, docent_rates, strict=True))
    verdicts = [
        Verdict(
            "valid records, file → AgentRuns ≥ 4.5× Docent's converter (list; streamed)",
            ", ".join(
                f"{listed:.2f}× ({streamed:.2f}×)"
                for listed, streamed in zip(file_ratios, streamed_ratios, strict=True)
            ),
            all(ratio >= 4.5 for ratio in file_ratios),
        ),
        Verdict(
            "file → AgentRuns within 3× of orjson.loads alone",
            ", ".join(f"{ratio:.1f}× its time" for ratio in floor_ratios),
            all(ratio <= 3 for ratio in floor_ratios),
        ),
    ]
    print(
        "\nvalidate_nemogym_rollout (python-jsonschema, the reference) against Docent's converter: "
        + ", ".join(f"{ours:.2f} vs {theirs:.1f} MB/s" for ours, theirs in pairs)
        + ". `nemogym-docent validate` asks it only to explain the records the generated models"
        " refuse; its own speed is measured below."
    )
    return verdicts


def import_section() -> Verdict:
    """Time ``import nemogym_docent`` (lazy) and importing a converter (loads Docent's models)."""
    package, loaded = import_times("import nemogym_docent", 7)
    converter, _ = import_times(
        "from nemogym_docent import convert_nemogym_rollout_to_agent_run", 7
    )
    print("\n### import (median of 7 fresh interpreters)\n")
    print(f'`python -c "import nemogym_docent"`: {statistics.median(package):.2f} s')
    print(
        '`python -c "from nemogym_docent import convert_nemogym_rollout_to_agent_run"`: '
        f"{statistics.median(converter):.2f} s"
    )
    print(f"Docent SDK client or inspect_ai loaded by a conversion: {' '.join(loaded) or 'none'}")
    return Verdict(
        "import < 0.6 s, without docent.sdk or inspect_ai (package; with converter)",
        f"{statistics.median(package):.2f} s; {statistics.median(converter):.2f} s",
        statistics.median(converter) < 0.6 and not loaded,
    )


# --- invalid-heavy export and start-up (subprocesses) ---------------------------------------

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


def invalid_heavy_lines(templates: list[dict[str, Any]]) -> tuple[str, list[bytes]]:
    """Real example exports as they are (most refused strictly), or the bundled examples with
    two refused variants each (no identity keys, as older exports; output as snapshots)."""
    if CORPUS.is_dir():
        lines = [
            line
            for path in sorted(CORPUS.glob("*.jsonl"))
            for line in path.read_bytes().splitlines()
        ]
        return "../shared/corpus, every line of every file", lines
    lines = []
    for template in templates:
        older = {
            key: value
            for key, value in template.items()
            if not key.startswith(("_ng", "agent_ref"))
        }
        snapshots = {
            **template,
            "response": {**template["response"], "output": [template["response"]["output"]]},
        }
        lines += [json.dumps(record).encode() for record in (template, older, snapshots)]
    return "examples/rollouts.jsonl with two refused variants of each record", lines


def invalid_heavy_section(
    work: Path, templates: list[dict[str, Any]], size_mb: float, repeat: int
) -> list[Verdict]:
    """``validate`` and ``convert --skip-invalid`` against Docent's converter on the same lines."""
    what, lines = invalid_heavy_lines(templates)
    path = work / "invalid_heavy.jsonl"
    size = 0
    with path.open("wb") as out:
        while size < size_mb * MB:
            for line in lines:
                out.write(line + b"\n")
                size += len(line) + 1
    runs: dict[str, list[ProcessRun]] = {"Docent's converter": [], "validate": [], "convert": []}
    commands = {
        "Docent's converter": [sys.executable, "-c", _DOCENT_EVERY_LINE, str(path)],
        "validate": [str(CLI), "validate", "--quiet", str(path)],
        "convert": [str(CLI), "convert", "--quiet", "--skip-invalid", "-o", os.devnull, str(path)],
    }
    for round_number in range(repeat):
        order = list(commands) if round_number % 2 == 0 else list(reversed(commands))
        for name in order:
            runs[name].append(run_process(commands[name]))
    # Docent's converter is timed without its imports; nemogym-docent with its start-up.
    for run in runs["Docent's converter"]:
        run.seconds, run.cpu_seconds = map(float, run.stderr.split()[-2:])
    best = {name: min(timed, key=lambda run: run.cpu_seconds) for name, timed in runs.items()}
    converted, refused = best["Docent's converter"].stderr.split()[-4:-2]
    share = int(refused) / (int(converted) + int(refused))
    print(f"\n### invalid-heavy export: {what}, repeated to {size / MB:.1f} MB\n")
    total = int(converted) + int(refused)
    print(
        f"Docent's converter refuses {share:.0%} of the lines ({refused} of {total}). Its times"
        " leave out its imports (seconds: Docent's SDK client); nemogym-docent's include its"
        " start-up. The verdict compares CPU time, which the shared machine's load disturbs"
        " far less than wall time.\n"
    )
    docent = best["Docent's converter"]
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
    return [
        Verdict(
            f"invalid-heavy: {label} ≤ 2× Docent's converter's CPU time",
            f"{best[name].cpu_seconds / docent.cpu_seconds:.2f}× "
            f"({best[name].cpu_seconds:.2f} vs {docent.cpu_seconds:.2f} s; "
            f"wall {best[name].seconds / docent.seconds:.2f}×)",
            best[name].cpu_seconds <= 2 * docent.cpu_seconds,
        )
        for name, label in (("validate", "validate"), ("convert", "convert --skip-invalid"))
    ]


STARTUP_RUNS = 5


def startup_section(work: Path) -> list[Verdict]:
    """CPU and wall time of commands that do (almost) no work; medians of fresh processes."""
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
        cpu = statistics.median(run.cpu_seconds for run in runs)
        wall = statistics.median(run.seconds for run in runs)
        rows.append([label, f"{cpu:.2f}", f"{wall:.2f}", str(runs[0].returncode)])
        verdicts.append(
            Verdict(f"{label} ≤ {limit} s CPU", f"{cpu:.2f} s (wall {wall:.2f} s)", cpu <= limit)
        )
    print(f"\n### start-up (median of {STARTUP_RUNS} fresh processes)\n")
    print_table(["command", "CPU s", "wall s", "exit"], rows)
    return verdicts


# Every example record has a reward of at least 0, so the condition keeps them all: the row
# shows what evaluating it costs, not what converting fewer records saves.
SELECTIONS = (
    ("--where 'reward >= 0' (keeps all)", ["--where", "reward >= 0"]),
    ("--where 'reward < 1' (keeps 1/3)", ["--where", "reward < 1"]),
    ("--sample 1000", ["--sample", "1000"]),
)


def selection_rows(
    convert_help: str, convert: list[str], path: Path, size: int
) -> list[tuple[str, int, ProcessRun]]:
    """``convert`` with each selection option on the same file, fastest of a few runs."""
    if "--where" not in convert_help:
        print("--where is not an option of `nemogym-docent convert` yet: skipped")
        return []
    rows = []
    for label, options in SELECTIONS:
        runs = [run_process([*convert, *options, str(path)]) for _ in range(WORKER_RUNS)]
        rows.append((f"convert {label}", size, min(runs, key=lambda run: run.seconds)))
    return rows


def cli_section(
    work: Path, templates: list[dict[str, Any]], big_mb: float, small_mb: float
) -> list[Verdict]:
    """Peak RSS and ``--workers`` of ``nemogym-docent convert``."""
    print("\n### nemogym-docent convert / validate (subprocesses)\n")
    verdicts: list[Verdict] = []
    convert_help = cli_options("convert")
    if convert_help is None:
        print("skipped: `nemogym-docent convert` is not available yet")
        return [
            Verdict("convert peak RSS < 150 MB, flat", "CLI missing", None),
            Verdict("--workers 2 ≥ 1.7× --workers 1", "CLI missing", None),
        ]
    small = work / "small.jsonl"
    big = work / "big.jsonl"
    small_size = write_big_file(small, templates, int(small_mb * MB))
    convert = [str(CLI), "convert", "--output", os.devnull]
    quiet = ["--quiet"] if "--quiet" in convert_help else []
    rows: list[tuple[str, int, ProcessRun]] = []
    workers = "--workers" in convert_help
    ones: list[ProcessRun] = []
    twos: list[ProcessRun] = []
    for _ in range(WORKER_RUNS):  # interleaved, the fastest of each kept: the machine is shared
        ones.append(run_process([*convert, *quiet, str(small)]))
        if workers:
            twos.append(run_process([*convert, *quiet, "--workers", "2", str(small)]))
    one = min(ones, key=lambda run: run.seconds)
    rows.append(("convert", small_size, one))
    rows += selection_rows(convert_help, [*convert, *quiet], small, small_size)
    two = min(twos, key=lambda run: run.seconds) if twos else None
    if two is not None:
        rows.append(("convert --workers 2", small_size, two))
    big_size = write_big_file(big, templates, int(big_mb * MB))
    large = run_process([*convert, *quiet, str(big)])
    rows.append(("convert", big_size, large))
    big.unlink()
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
    for _, _, run in rows:
        if run.returncode != 0:
            print(f"\nnon-zero exit; stderr:\n{run.stderr[-2000:]}")
    peak = max(one.peak_rss_mb, large.peak_rss_mb)
    verdicts.append(
        Verdict(
            "convert peak RSS < 150 MB and flat (small vs large file)",
            f"{one.peak_rss_mb:.0f} MB vs {large.peak_rss_mb:.0f} MB",
            peak < 150 and large.peak_rss_mb < one.peak_rss_mb * 1.2 + 10,
        )
    )
    if two is not None:
        verdicts.append(
            Verdict(
                "--workers 2 ≥ 1.7× faster than --workers 1",
                f"{one.seconds / two.seconds:.2f}×",
                one.seconds / two.seconds >= 1.7,
            )
        )
    else:
        print("\n--workers is not an option of `nemogym-docent convert` yet: skipped")
        verdicts.append(Verdict("--workers 2 ≥ 1.7× --workers 1", "option missing", None))
    return verdicts


if __name__ == "__main__":
    main()
